#!/usr/bin/env bash
# test_text_layers.sh — the files of runtime/text include one another only downward (README.md
# there): a file may include the headers of lower layers and its own header, nothing else of the
# room; chat_builtin (the built-in chat template texts) stands alone. A file missing from the table below fails too, so a new file
# has to be placed. Calls follow includes (-Werror rejects undeclared functions), so this keeps
# the room free of circles.
#
# The sub-room runtime/text/jinja/ (the Jinja interpreter) has its own layer table and the same
# rule among its files; of the rest of runtime/text it may include only utf8.h, and no file of
# runtime/text outside it includes it (its callers are in other rooms). A folder of runtime/text
# with no table fails.
set -u
dir=$(cd "$(dirname "$0")/../../runtime/text" && pwd)
declare -A layer=([utf8]=0 [bytelevel]=1 [pretok]=1 [vocab]=2 [vocab_gguf]=2 [spm]=3 [bpe]=3 [detok]=3
                  [tokenizer]=4 [chat_builtin]=-1)
declare -A jlayer=([jinja_value]=0 [jinja_ast]=1 [jinja_builtins]=1 [jinja_lex]=2 [jinja_parse]=2
                   [jinja_ops]=2 [jinja_filters]=2 [jinja_eval]=3 [jinja]=4)
fail=0
for sub in "$dir"/*/; do
  [ "$(basename "$sub")" = jinja ] || { echo "FAIL runtime/text/$(basename "$sub")/: a folder with no layer table"; fail=1; }
done
for f in "$dir"/*.c "$dir"/*.h; do
  base=$(basename "$f"); name=${base%.*}
  if [ -z "${layer[$name]+x}" ]; then echo "FAIL $base: not in the layer table"; fail=1; continue; fi
  if grep -q '^#include "text/jinja/' "$f"; then echo "FAIL $base includes the jinja sub-room"; fail=1; fi
  for inc in $(sed -n 's|^#include "text/\([a-z_0-9]*\)\.h".*|\1|p' "$f"); do
    [ "$inc" = "$name" ] && continue
    [ "$inc" = vocab ] && [ "$name" = vocab_gguf ] && continue
    if [ -z "${layer[$inc]+x}" ]; then echo "FAIL $base includes text/$inc.h, not in the layer table"; fail=1
    elif [ "${layer[$name]}" -lt 0 ] || [ "${layer[$inc]}" -lt 0 ] || [ "${layer[$inc]}" -ge "${layer[$name]}" ]; then
      echo "FAIL $base (layer ${layer[$name]}) includes text/$inc.h (layer ${layer[$inc]})"; fail=1
    fi
  done
done
for f in "$dir"/jinja/*.c "$dir"/jinja/*.h; do
  [ -e "$f" ] || continue
  base=$(basename "$f"); name=${base%.*}
  if [ -z "${jlayer[$name]+x}" ]; then echo "FAIL jinja/$base: not in the jinja layer table"; fail=1; continue; fi
  for inc in $(sed -n 's|^#include "text/\([a-z_0-9]*\)\.h".*|\1|p' "$f"); do
    [ "$inc" = utf8 ] || { echo "FAIL jinja/$base includes text/$inc.h (only utf8.h of the room is allowed)"; fail=1; }
  done
  for inc in $(sed -n 's|^#include "text/jinja/\([a-z_0-9]*\)\.h".*|\1|p' "$f"); do
    [ "$inc" = "$name" ] && continue
    if [ -z "${jlayer[$inc]+x}" ]; then echo "FAIL jinja/$base includes text/jinja/$inc.h, not in the table"; fail=1
    elif [ "${jlayer[$inc]}" -ge "${jlayer[$name]}" ]; then
      echo "FAIL jinja/$base (layer ${jlayer[$name]}) includes text/jinja/$inc.h (layer ${jlayer[$inc]})"; fail=1
    fi
  done
done
[ $fail = 0 ] && echo "ok: runtime/text includes only downward"
exit $fail
