#!/usr/bin/env bash
# test_text_layers.sh — the files of runtime/text include one another only downward (README.md
# there): a file may include the headers of lower layers and its own header, nothing else of the
# room; chat_template stands alone. A file missing from the table below fails too, so a new file
# has to be placed. Calls follow includes (-Werror rejects undeclared functions), so this keeps
# the room free of circles.
set -u
dir=$(cd "$(dirname "$0")/../../runtime/text" && pwd)
declare -A layer=([utf8]=0 [bytelevel]=1 [pretok]=1 [vocab]=2 [vocab_gguf]=2 [spm]=3 [bpe]=3 [detok]=3
                  [tokenizer]=4 [chat_template]=-1)
fail=0
for f in "$dir"/*.c "$dir"/*.h; do
  base=$(basename "$f"); name=${base%.*}
  if [ -z "${layer[$name]+x}" ]; then echo "FAIL $base: not in the layer table"; fail=1; continue; fi
  for inc in $(sed -n 's|^#include "text/\([a-z_0-9]*\)\.h".*|\1|p' "$f"); do
    [ "$inc" = "$name" ] && continue
    [ "$inc" = vocab ] && [ "$name" = vocab_gguf ] && continue
    if [ -z "${layer[$inc]+x}" ]; then echo "FAIL $base includes text/$inc.h, not in the layer table"; fail=1
    elif [ "${layer[$name]}" -lt 0 ] || [ "${layer[$inc]}" -lt 0 ] || [ "${layer[$inc]}" -ge "${layer[$name]}" ]; then
      echo "FAIL $base (layer ${layer[$name]}) includes text/$inc.h (layer ${layer[$inc]})"; fail=1
    fi
  done
done
[ $fail = 0 ] && echo "ok: runtime/text includes only downward"
exit $fail
