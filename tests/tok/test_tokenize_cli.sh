#!/usr/bin/env bash
# test_tokenize_cli.sh BUILD_DIR SHARED_DIR — `pagedvk tokenize` on the shared vocabularies: its
# one-line JSON must equal the expected ids of the .out vectors (no BOS, via --no-bos) and start
# with BOS by default where the vocabulary asks for one. Exit 77 (skip) without the shared folder.
set -u
build=$1
shared=${2:-}
[ -n "$shared" ] && [ -d "$shared/vocab" ] ||
  { echo "skip: pagedvk tokenize against llama.cpp's ids on real vocabularies (no $shared/vocab: an outside oracle)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: needs python3 (tools/deps.sh installs it)"; exit 77; }
cli="$build/pagedvk"
fail=0

# The n-th input (0-based) of a .inp file (inputs end with "\n__ggml_vocab_test__\n").
nth_input() {
  python3 - "$1" "$2" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read().split(b'\n__ggml_vocab_test__\n')
sys.stdout.buffer.write(data[int(sys.argv[2])])
PY
}

# The n-th line of a .out file as a JSON array.
nth_expected() {
  sed -n "$(( $2 + 1 ))p" "$1" | python3 -c 'import sys; print("[" + ", ".join(sys.stdin.read().split()) + "]")'
}

check() { # name got want
  if [ "$2" != "$3" ]; then
    echo "FAIL $1"; echo "  want: $3"; echo "  got:  $2"; fail=1
  else
    echo "ok   $1: $2"
  fi
}

for vocab in llama-spm llama-bpe qwen2; do
  f="$shared/vocab/ggml-vocab-$vocab.gguf"
  for i in 11 14 20 22 28 32 40; do # words, spaces, Cyrillic, emoji, newlines, mixed, digits
    text=$(nth_input "$f.inp" "$i"; printf x)
    text=${text%x}
    got=$("$cli" tokenize -m "$f" -p "$text" --no-bos 2>/dev/null)
    check "$vocab #$i" "$got" "$(nth_expected "$f.out" "$i")"
  done
done

# BOS by default where the vocabulary wants it (SentencePiece, Llama 3), not for Qwen2.
check "spm bos" "$("$cli" tokenize -m "$shared/vocab/ggml-vocab-llama-spm.gguf" -p "Hello world" 2>/dev/null)" "[1, 15043, 3186]"
check "llama3 bos" "$("$cli" tokenize -m "$shared/vocab/ggml-vocab-llama-bpe.gguf" -p "Hello world" 2>/dev/null)" "[128000, 9906, 1917]"
check "qwen2 no bos" "$("$cli" tokenize -m "$shared/vocab/ggml-vocab-qwen2.gguf" -p "Hello world" 2>/dev/null)" "[9707, 1879]"
check "parse special" "$("$cli" tokenize -m "$shared/vocab/ggml-vocab-qwen2.gguf" -p "<|im_end|>" --parse-special 2>/dev/null)" "[151645]"

"$cli" tokenize --help | grep -q -- "--no-bos" || { echo "FAIL --help"; fail=1; }
if "$cli" tokenize -m "$shared/vocab/ggml-vocab-qwen2.gguf" 2>/dev/null; then echo "FAIL: missing -p accepted"; fail=1; fi
if "$cli" tokenize -m /nonexistent.gguf -p x 2>/dev/null; then echo "FAIL: missing file accepted"; fail=1; fi
exit $fail
