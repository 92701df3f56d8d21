# The two commands of the README. Both set up what they need first (tools/deps.sh).
#   make demo — install dependencies, build, run the showcase on the default Vulkan device
#   make test — install dependencies, build the normal and the sanitizer configuration, run ctest in both,
#               run each libFuzzer target for FUZZ_SECONDS (tools/fuzz --all)
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan demo test test-asan fuzz clean

all: build

deps:
	@bash tools/deps.sh

build: deps
	cmake -S . -B build -DPAGEDVK_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DPAGEDVK_WERROR=ON -DPAGEDVK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j $(JOBS)

demo: build
	bash tools/demo.sh build

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (clang, build-fuzz): each runs FUZZ_SECONDS, two at a time; a finding fails.
fuzz: deps
	bash tools/fuzz --all $(FUZZ_SECONDS)

# The sanitizer run and the fuzzers go first so that the normal configuration's ctest summary is
# printed last.
test: build build-asan test-asan fuzz
	cd build && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-asan build-fuzz
