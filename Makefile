# The two commands of the README. Both set up what they need first (tools/deps.sh).
#   make demo — install dependencies, build, run the showcase on the default Vulkan device
#   make test — install dependencies, build the normal and the sanitizer configuration, run ctest in both,
#               the GPU-free tests of the aarch64 cross build under qemu-user, and each libFuzzer
#               target for FUZZ_SECONDS (tools/fuzz --all); the sanitizer ctest runs last. Every test
#               runs at least once: the server's scripts only under the sanitizers, the llama.cpp
#               comparisons and the engine's forced-kernel and embedded reruns only in the normal
#               build (NORMAL_CTEST_EXCLUDE_LABEL, ASAN_CTEST_EXCLUDE below: CI must fit 25 min on 2 cores)
#   make cross-aarch64 — cross-build library, CLI and tests for aarch64 (cmake/toolchain-aarch64.cmake)
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# 30 s each in `make test` (CI must stay under 25 min on 2 cores); longer runs: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 30

.PHONY: all deps build build-asan cross-aarch64 demo test test-normal test-asan test-aarch64 fuzz clean

all: build

deps:
	@bash tools/deps.sh

build: deps
	cmake -S . -B build -DPAGEDVK_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DPAGEDVK_WERROR=ON -DPAGEDVK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j $(JOBS)

cross-aarch64: deps
	cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DPAGEDVK_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-aarch64 -j $(JOBS)

# GPU-free tests of the cross build, each run by qemu-aarch64 (the toolchain's emulator). Tests that
# start the project's programs need binfmt_misc to run an aarch64 child; without it they are left out.
test-aarch64: cross-aarch64
	@if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then \
	  cd build-aarch64 && ctest --output-on-failure -j $(JOBS) -L nogpu; \
	else \
	  echo "test-aarch64: no binfmt_misc entry for aarch64: tests labelled exec are left out"; \
	  cd build-aarch64 && ctest --output-on-failure -j $(JOBS) -L nogpu -LE exec; \
	fi

demo: build
	bash tools/demo.sh build

# The two comparisons with llama.cpp's outputs (engine_oracle_engine, portability_embedded_oracle)
# check numbers, which the normal build does; their code paths run under the sanitizers in
# engine_engine, engine_archs and the ops tests. Under ASan they took ~530 s of ctest time (CI 2026-12-07).
# The engine suite's forced-kernel reruns (engine_*_gpu_paths) and its embedded-profile subset
# (engine_embedded_*) run the host code of engine_engine, engine_split and portability_embedded_kv,
# which the sanitizers check, with other kernels and limits: their numbers are the normal build's.
ASAN_CTEST_EXCLUDE ?= ^(engine_oracle_engine|portability_embedded_oracle|engine_engine_gpu_paths|engine_split_gpu_paths|engine_embedded_.*)$$
# Tests that make test runs in the sanitizer build only (label asan_run: the server's scripts).
NORMAL_CTEST_EXCLUDE_LABEL ?= ^asan_run$$

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS) -E '$(ASAN_CTEST_EXCLUDE)'

# libFuzzer targets (clang, build-fuzz): each runs FUZZ_SECONDS, two at a time; a finding fails.
fuzz: deps
	bash tools/fuzz --all $(FUZZ_SECONDS)

test-normal: build
	cd build && ctest --output-on-failure -j $(JOBS) -LE '$(NORMAL_CTEST_EXCLUDE_LABEL)'

# The normal configuration runs first: lavapipe compiles each shader variant with LLVM and keeps the
# result in Mesa's disk cache (~/.cache/mesa_shader_cache), so the sanitizer run, whose compiles are
# about twice as slow under ASan's allocator, finds them compiled (CI: 540 s -> 377 s for that ctest).
# The sanitizer run goes last so that output ends with a ctest summary.
test: test-normal test-aarch64 fuzz test-asan

clean:
	rm -rf build build-asan build-aarch64 build-fuzz
