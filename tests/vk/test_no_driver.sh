#!/usr/bin/env bash
# Without any Vulkan driver, `pagedvk info` fails with exactly one line on stderr that says so
# (no loader or layer noise), and the binary does not link libvulkan (it is opened at run time).
set -u
build=$1
bin=$build/pagedvk
[ -x "$bin" ] || { echo "no $bin"; exit 1; }

if readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED.*libvulkan'; then
  echo "FAIL: $bin links libvulkan at link time"; exit 1
fi

err=$(mktemp)
trap 'rm -f "$err"' EXIT
VK_DRIVER_FILES=/nonexistent VK_ICD_FILENAMES=/nonexistent "$bin" info >/dev/null 2>"$err"
rc=$?
lines=$(wc -l <"$err")
echo "exit $rc, stderr ($lines lines):"; cat "$err"
[ "$rc" -ne 0 ] || { echo "FAIL: exit status 0 without a driver"; exit 1; }
[ "$lines" -eq 1 ] || { echo "FAIL: expected exactly one line on stderr"; exit 1; }
grep -q "no Vulkan device" "$err" || { echo "FAIL: the line does not say 'no Vulkan device'"; exit 1; }
echo PASS
