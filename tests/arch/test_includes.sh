#!/usr/bin/env bash
# tests/arch/test_includes.sh — checks the house plan of docs/ARCHITECTURE.md on the source tree and
# the built libraries. Each failure names its rule and its file:
#
#   room-include    a file includes a header of a room its own room may not use (table ALLOWED)
#   private-header  a file outside room R includes R's *_internal.h
#   include-cycle   header files include each other in a circle
#   call-cycle      .c files of the library (or of the server) call each other's functions in a
#                   circle; read from `nm` of libpagedvk.a and libpagedvk_server.a in BUILD_DIR
#   getenv          getenv outside runtime/base/env.c in runtime/ or tools/ (tests may set and read)
#   pipeline-name   snprintf/sprintf building a pipeline or shader name in runtime/ops or runtime/vk
#   error-idiom     another spelling of "first error wins" in runtime/ than runtime/base/base.h's
#                   `if (!rc) rc = f(...)`: `rc = rc ? rc : f(...)`, `return rc ? rc : f(...)`,
#                   `if (rc == PAGEDVK_OK) rc = ...`, `if (rc == 0) rc = ...`
#   room-readme     a runtime room without a README.md, or whose README's "May include:" line names
#                   other rooms than its row of the table (include/pagedvk.h counts as allowed)
#
# Usage: test_includes.sh [BUILD_DIR [SHARED_DIR]]   (ctest passes both; SHARED_DIR is not used)
#        test_includes.sh --self-test                 (each rule fires on a small tree made for it)
# Without BUILD_DIR the call-cycle rule is left out (and says so). Quoted includes that name no file
# of the tree (generated headers in the build dir) belong to no room and are not checked. ctest
# runs the self-test first, so a rule that stopped firing fails the test too.
set -uo pipefail

# Known violations that work in progress removes: "rule path" (a cycle passes when every file in
# it is listed for its rule). The lead empties this list when the remodel (#17) lands; an entry
# that no longer matches anything is reported as stale, without failing.
ALLOW=(
)

# Which rooms a room's files may include (besides its own headers). A room is runtime/<name>,
# tools/<name>, or `api` (include/pagedvk.h, the one door into the library; it includes nothing of
# the project, and base.h takes its status codes from it, so every runtime room may include it).
declare -A ALLOWED=(
  [api]=""
  [base]="api"
  [vk]="api base"
  [gguf]="api base"
  [text]="api base gguf"
  [kv]="api base vk"
  [ops]="api base vk gguf"
  [model]="api base vk gguf ops"
  [sched]="api base kv"
  [sample]="api base text"
  [engine]="api base vk gguf text kv ops model sched sample"
  [server]="api"
  [tools/pagedvk]="api tools/bench" # the `bench kernels` verb calls the kernel bench's entry
  [tools/examples]="api"
  # dev tools: may use the library's internals and the dev kit
  [tools/bench]="api base vk gguf text kv ops model sched sample engine tools/devkit"
  [tools/mkmodel]="api base vk gguf text kv ops model sched sample engine tools/devkit"
  [tools/devkit]="api base vk gguf text kv ops model sched sample engine"
)

FAILS=0
declare -A ALLOW_USED=()

# report RULE FILE MESSAGE: a violation, unless allow-listed.
report() {
  local rule=$1 file=$2 msg=$3
  if allowed "$rule" "$file"; then
    ALLOW_USED["$rule $file"]=1
    echo "allowed  [$rule] $file: $msg"
    return
  fi
  echo "FAIL     [$rule] $file: $msg"
  FAILS=$((FAILS + 1))
}

allowed() {
  local e
  for e in "${ALLOW[@]}"; do [[ "$e" == "$1 $2" ]] && return 0; done
  return 1
}

# room_of PATH (relative to the tree): the room, or empty for files outside the checked folders.
room_of() {
  case $1 in
    include/*) echo api ;;
    runtime/*/*) local r=${1#runtime/}; echo "${r%%/*}" ;;
    tools/*/*) local r=${1#tools/}; echo "tools/${r%%/*}" ;;
    *) echo "" ;;
  esac
}

# resolve SRC FILE INC: the tree-relative path a quoted include names, or empty when none. The
# search follows the build's include paths: the file's folder, runtime/, include/, tools/, and a
# tool's own folder (tools/*/NAME).
resolve() {
  local src=$1 file=$2 inc=$3 d cand
  d=$(dirname "$file")
  for cand in "$d/$inc" "runtime/$inc" "include/$inc" "tools/$inc"; do
    [[ -f "$src/$cand" ]] && { realpath -m --relative-to="$src" "$src/$cand"; return; }
  done
  local hits=("$src"/tools/*/"$inc")
  [[ ${#hits[@]} -eq 1 && -f "${hits[0]}" ]] && realpath -m --relative-to="$src" "${hits[0]}"
}

# sources SRC: the checked files, tree-relative.
sources() {
  (cd "$1" && find runtime tools include -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
}

# cycles: reads "A B" edges (A depends on B) on stdin, prints each circle (a strongly connected
# component of two or more files, or a file that depends on itself) as one line of its members.
cycles() {
  awk '
    { if (!($1 in seen)) { seen[$1] = 1; nodes[++n] = $1 }
      if (!($2 in seen)) { seen[$2] = 1; nodes[++n] = $2 }
      out[$1, ++deg[$1]] = $2; if ($1 == $2) self[$1] = 1 }
    function visit(v,   i, w, line) {
      idx[v] = low[v] = ++counter; stack[++sp] = v; on[v] = 1
      for (i = 1; i <= deg[v]; i++) {
        w = out[v, i]
        if (!(w in idx)) { visit(w); if (low[w] < low[v]) low[v] = low[w] }
        else if (on[w] && idx[w] < low[v]) low[v] = idx[w]
      }
      if (low[v] == idx[v]) {
        line = ""; k = 0
        do { w = stack[sp--]; on[w] = 0; line = line (k++ ? " " : "") w } while (w != v)
        if (k > 1 || (v in self)) print line
      }
    }
    END { for (i = 1; i <= n; i++) if (!(nodes[i] in idx)) visit(nodes[i]) }'
}

# report_cycles RULE: reads circles (one per line) and reports each, allowed when all its files are.
report_cycles() {
  local rule=$1 line f all
  while read -r line; do
    [[ -z "$line" ]] && continue
    all=1
    for f in $line; do allowed "$rule" "$f" && ALLOW_USED["$rule $f"]=1 || all=0; done
    local first=${line%% *}
    if ((all)); then
      echo "allowed  [$rule] $first: circle: $line"
    else
      echo "FAIL     [$rule] $first: circle: $line"
      FAILS=$((FAILS + 1))
    fi
  done
}

check_includes() {
  local src=$1 file inc target from to edges=""
  while read -r file; do
    from=$(room_of "$file")
    while read -r inc; do
      [[ -z "$inc" ]] && continue
      target=$(resolve "$src" "$file" "$inc")
      [[ -z "$target" ]] && continue
      [[ "$file" == *.h && "$target" == *.h ]] && edges+="$file $target"$'\n'
      to=$(room_of "$target")
      [[ -z "$to" || "$to" == "$from" ]] && continue
      if [[ ! -v "ALLOWED[$from]" ]]; then
        report room-include "$file" "room '$from' has no row in the table of allowed includes"
        continue
      fi
      if [[ " ${ALLOWED[$from]} " != *" $to "* ]]; then
        report room-include "$file" "includes $target: '$from' may not use '$to'"
      elif [[ "$target" == *_internal.h ]]; then
        report private-header "$file" "includes $target, private to '$to'"
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src/$file")
  done < <(sources "$src")
  report_cycles include-cycle < <(printf '%s' "$edges" | cycles)
}

# call_edges LIB SRC: "a.c b.c" when an object of LIB uses a symbol another object defines, with
# the members named by their path in the tree (member names are file names; the library's file
# names are unique).
call_edges() {
  local lib=$1 src=$2
  nm -A --defined-only "$lib" 2>/dev/null | awk -F': *' '{ split($NF, f, " "); if (f[2] ~ /^[TDBRC]$/) print "D", $(NF-1), f[3] }' >"$TMP/defs"
  nm -A -u "$lib" 2>/dev/null | awk -F': *' '{ n = split($NF, f, " "); print "U", $(NF-1), f[n] }' >"$TMP/undefs"
  (cd "$src" && find runtime -name '*.c' | awk -F/ '{ print $NF".o", $0 }') >"$TMP/paths"
  awk 'FILENAME == ARGV[1] { path[$1] = $2; next }
       FILENAME == ARGV[2] { def[$3] = $2; next }
       ($3 in def) && def[$3] != $2 {
         a = ($2 in path) ? path[$2] : $2; b = (def[$3] in path) ? path[def[$3]] : def[$3]
         print a, b }' "$TMP/paths" "$TMP/defs" "$TMP/undefs" | sort -u
}

check_calls() {
  local src=$1 build=$2 lib found=0
  if [[ -z "$build" ]]; then
    echo "note     [call-cycle] no build dir given: not checked"
    return
  fi
  for lib in "$build/libpagedvk.a" "$build/libpagedvk_server.a"; do
    [[ -f "$lib" ]] || continue
    found=1
    report_cycles call-cycle < <(call_edges "$lib" "$src" | cycles)
  done
  ((found)) || report call-cycle "$build" "no libpagedvk.a there: build first"
}

check_getenv() {
  local src=$1 hit
  while read -r hit; do
    [[ "${hit%%:*}" == runtime/base/env.c ]] && continue
    report getenv "${hit%%:*}" "line ${hit#*:}"
  done < <(cd "$src" && grep -rnE --include='*.c' --include='*.h' '\b(secure_)?getenv[[:space:]]*\(' runtime tools 2>/dev/null |
    cut -d: -f1,2)
}

# A printf-family call (joined up to its `;`) in runtime/ops or runtime/vk whose arguments name a
# shader (a shaders/*.comp stem followed by _ or %), or a shader, suffix, variant, specialization
# value (spec[...]) or key.
check_pipeline_names() {
  local src=$1 stems file hit
  stems=$(cd "$src" && find shaders -maxdepth 1 -name '*.comp' -printf '%f\n' 2>/dev/null | sed 's|\.comp$||' |
    sort | paste -sd'|')
  [[ -z "$stems" ]] && stems=matmul
  for file in $(cd "$src" && find runtime/ops runtime/vk -maxdepth 1 -name "*.c" 2>/dev/null | sort); do
    while read -r hit; do
      report pipeline-name "$file" "line $hit"
    done < <(awk -v stems="$stems" '
      /(^|[^a-z_])(v?s?n?printf|strcat)[[:space:]]*\(/ { call = $0; at = FNR; open = 1 }
      open && FNR > at { call = call " " $0 }
      open && /;/ {
        open = 0
        low = tolower(call)
        if (low ~ ("\"(" stems ")[_%]") || low ~ /(shader|suffix|variant|spec\[|(^|[^a-z_])key([^a-z_]|$))/)
          print at ": " call
      }' "$src/$file" | sed 's/[[:space:]]\+/ /g')
  done
}

# The house's one spelling of "first error wins" is `if (!rc) rc = f(...)` (runtime/base/base.h);
# the others that runtime/ had are reported with their line (for a status variable: rc..., ret,
# status; `x = x ? x : default` elsewhere is a default, not an error chain).
check_error_idiom() {
  local src=$1 hit
  while read -r hit; do
    report error-idiom "${hit%%:*}" "line ${hit#*:}: write it 'if (!rc) rc = ...'"
  done < <(cd "$src" && grep -rnE --include='*.c' --include='*.h' \
    -e '\b(rc[a-z_0-9]*|ret|status) = \1 \? \1 :' -e 'return (rc[a-z_0-9]*|ret|status) \? \1 :' \
    -e '\((rc[a-z_0-9]*|ret|status) == (PAGEDVK_OK|0)\) \1 =' runtime 2>/dev/null | cut -d: -f1,2)
}

# Every runtime room opens with a README.md; its "May include:" line (when it has one) names the
# rooms of its row in ALLOWED (the words that are room names count; `api` is left out of both).
check_readmes() {
  local src=$1 dir room line word named want
  for dir in "$src"/runtime/*/; do
    room=$(basename "$dir")
    if [[ ! -f "$dir/README.md" ]]; then
      report room-readme "runtime/$room" "no README.md saying what the room owns and may include"
      continue
    fi
    line=$(sed -n 's/^May include:[[:space:]]*//p' "$dir/README.md" | head -n 1)
    [[ -z "$line" || ! -v "ALLOWED[$room]" ]] && continue
    named=""
    for word in $(tr -c 'a-z_/\n' ' ' <<<"$line"); do
      [[ "$word" != api && -v "ALLOWED[$word]" && " $named " != *" $word "* ]] && named+=" $word"
    done
    want=$(tr ' ' '\n' <<<"${ALLOWED[$room]}" | grep -v -e '^api$' -e '^$' | sort | paste -sd' ')
    named=$(tr ' ' '\n' <<<"$named" | grep -v '^$' | sort | paste -sd' ')
    [[ "$named" == "$want" ]] ||
      report room-readme "runtime/$room/README.md" "May include: names '$named', the table says '$want'"
  done
}

check_tree() {
  local src=$1 build=${2:-}
  check_includes "$src"
  check_readmes "$src"
  check_calls "$src" "$build"
  check_getenv "$src"
  check_pipeline_names "$src"
  check_error_idiom "$src"
}

report_stale() {
  local e
  for e in "${ALLOW[@]}"; do
    [[ -v "ALLOW_USED[$e]" ]] || echo "stale    allow-list entry '$e' matches nothing now: remove it"
  done
}

# ---- self-test: a small tree with one violation for each rule ----

self_test() {
  local t=$TMP/tree rc=0 out
  mkdir -p "$t"/runtime/{base,vk,kv,ops,text,server} "$t"/include "$t"/tools/pagedvk "$t"/shaders "$t/build"
  touch "$t/include/pagedvk.h" "$t/shaders/matmul.comp"
  echo '#include "pagedvk.h"' >"$t/runtime/base/base.h"
  echo '#include "kv/kv.h"' >"$t/runtime/vk/vk.h"                 # room-include: vk -> kv
  echo '#include "kv/b.h"' >"$t/runtime/kv/kv.h"                 # include-cycle kv.h -> b.h -> kv.h
  echo '#include "kv/kv.h"' >"$t/runtime/kv/b.h"
  echo 'struct x;' >"$t/runtime/kv/kv_internal.h"
  mkdir -p "$t/runtime/engine"
  echo '#include "kv/kv_internal.h"' >"$t/runtime/engine/e.c"      # private-header
  printf 'static char n[9];\nvoid f(const char *s) { snprintf(n, 9,\n "matmul_%%s", s); }\n' >"$t/runtime/ops/names.c"
  echo 'const char *g(void) { return getenv("X"); }' >"$t/runtime/text/env.c"
  printf 'int f(int);\nint g(void) {\n  int rc = f(1);\n  rc = rc ? rc : f(2);\n  return rc;\n}\n' >"$t/runtime/kv/chain.c"
  echo '#include "base/base.h"' >"$t/tools/pagedvk/main.c"         # room-include: CLI -> base
  local r
  for r in base vk kv ops text server engine; do echo "May include: ${ALLOWED[$r]}" >"$t/runtime/$r/README.md"; done
  echo 'May include: base, vk, model' >"$t/runtime/ops/README.md"  # room-readme: not the table's row
  rm "$t/runtime/server/README.md"                                 # room-readme: missing
  ALLOW=()
  local cc=${CC:-cc}
  if command -v "$cc" >/dev/null && command -v ar >/dev/null; then
    echo 'void b(void); void a(void) { b(); }' >"$t/runtime/server/a.c"
    echo 'void a(void); void b(void) { a(); }' >"$t/runtime/server/b.c"
    (cd "$t/build" && "$cc" -c ../runtime/server/a.c -o a.c.o && "$cc" -c ../runtime/server/b.c -o b.c.o && ar rc libpagedvk.a a.c.o b.c.o) >/dev/null 2>&1
  fi
  out=$(check_tree "$t" "$t/build")
  local want
  for want in "[room-include] runtime/vk/vk.h" "[room-include] tools/pagedvk/main.c" \
    "[private-header] runtime/engine/e.c" "[include-cycle] runtime/kv/" "[getenv] runtime/text/env.c" \
    "[pipeline-name] runtime/ops/names.c" "[call-cycle] runtime/server/" \
    "[room-readme] runtime/ops/README.md" "[room-readme] runtime/server:" "[error-idiom] runtime/kv/chain.c: line 4"; do
    if [[ "$out" != *"FAIL     $want"* ]]; then
      echo "self-test: rule did not fire: $want"
      rc=1
    fi
  done
  local n
  n=$(grep -c '^FAIL' <<<"$out")
  if ((n != 10)); then
    echo "self-test: expected 10 failures, got $n:"
    echo "$out"
    rc=1
  fi
  ((rc == 0)) && echo "self-test: every rule fires on its example"
  return $rc
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SRC=$(cd "$(dirname "$0")/../.." && pwd)

if [[ "${1:-}" == "--self-test" ]]; then
  self_test
  exit $?
fi

(self_test) || exit 1
check_tree "$SRC" "${1:-}"
report_stale
if ((FAILS)); then
  echo "$FAILS violation(s) of the house plan (docs/ARCHITECTURE.md)"
  exit 1
fi
echo "house plan: no violations outside the allow-list"
