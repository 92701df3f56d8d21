# make_models.cmake — the test models, made by the project's own mkmodel (deterministic: the same
# arguments and the same mkmodel give the same bytes). Run by the ctest fixture `models` (see
# tests/CMakeLists.txt) before every test that needs one, and by the fuzz build:
#   cmake -DMKMODEL=path/to/mkmodel [-DEMULATOR="qemu-aarch64;-L;…"] -DOUT=build/tests/models -P make_models.cmake
# A model is made again only when it is missing, when its arguments changed, or when mkmodel is
# newer than it (OUT/NAME.args holds the arguments it was made with).
#
# The names and shapes are those of the synthetic models in ../shared/models (README there), so
# that the tests that compare the engine with the CPU reference (tests/engine, reliability,
# portability, server) run the same shapes without ../shared; they differ in their vocabulary:
# mkmodel's built-in SentencePiece vocabulary padded to Llama 2's 32000 rows (--vocab-size), not
# Llama 2's own. Comparisons with llama.cpp's outputs (../shared/oracle) keep using ../shared.

# NAME|mkmodel arguments
set(PV_TEST_MODELS
  # llama, 2 layers, embedding 256, 4 heads / 2 KV heads (head 64), feed-forward 512; Q4_K weights
  # and token embedding, Q6_K output, F32 norms. The server, reliability and engine tests' model.
  "syn-llama-q4k|--arch llama --n-embd 256 --n-head 4 --n-head-kv 2 --n-ff 512 --n-layer 2 --ctx 2048 --type Q4_K --type-output Q6_K --vocab-size 32000 --seed 1"
  # qwen2 (q/k/v biases), 2 layers, embedding 128, 4 heads / 2 KV heads (head 32), feed-forward 256,
  # F16, tied embedding.
  "syn-qwen2-f16|--arch qwen2 --n-embd 128 --n-head 4 --n-head-kv 2 --n-ff 256 --n-layer 2 --ctx 2048 --tied --vocab-size 32000 --seed 2"
  # gemma2, 2 layers, embedding 64, 2 heads / 1 KV head of 32, feed-forward 256 (GELU), layer 0
  # local with window 8, attention softcap 5, final softcap 100, tied.
  "syn-gemma2|--arch gemma2 --n-embd 64 --n-head 2 --n-head-kv 1 --head-dim 32 --n-ff 256 --n-layer 2 --ctx 2048 --sliding-window 8 --attn-softcap 5 --final-softcap 100 --rms-eps 1e-6 --tied --vocab-size 32000 --seed 3"
  # The shape of llama-2-tiny-random: llama, 1 layer, embedding 8, 2 heads (head 4), feed-forward
  # 32, context 4096, F16 with F32 norms, separate output.
  "tiny-llama-f16|--arch llama --n-embd 8 --n-head 2 --n-ff 32 --n-layer 1 --ctx 4096 --vocab-size 32000 --seed 4"
)

cmake_minimum_required(VERSION 3.18)
if(NOT MKMODEL OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DMKMODEL=… -DOUT=… [-DEMULATOR=…] [-DONLY=name;…] -P make_models.cmake")
endif()
if(NOT EXISTS "${MKMODEL}")
  message(FATAL_ERROR "make_models: ${MKMODEL} is not built")
endif()
file(MAKE_DIRECTORY "${OUT}")

foreach(entry ${PV_TEST_MODELS})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 name)
  list(GET parts 1 args)
  if(ONLY AND NOT name IN_LIST ONLY)
    continue()
  endif()
  set(file "${OUT}/${name}.gguf")
  set(stamp "${OUT}/${name}.args")
  set(have "")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" have)
  endif()
  if(EXISTS "${file}" AND have STREQUAL args AND NOT "${MKMODEL}" IS_NEWER_THAN "${file}")
    message(STATUS "${name}.gguf: up to date")
    continue()
  endif()
  separate_arguments(argv UNIX_COMMAND "${args}")
  execute_process(COMMAND ${EMULATOR} "${MKMODEL}" ${argv} -o "${file}.tmp"
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    file(REMOVE "${file}.tmp")
    message(FATAL_ERROR "make_models: mkmodel ${args}: ${err}")
  endif()
  file(RENAME "${file}.tmp" "${file}")
  file(WRITE "${stamp}" "${args}")
  message(STATUS "${name}.gguf: made (mkmodel ${args})")
endforeach()
