#!/usr/bin/env bash
# Installs the Debian packages pagedvk needs, and only those that are missing.
# Idempotent: a second run installs nothing. Runs apt-get as root, or through sudo.
# Every package is named once, here.
set -euo pipefail

PACKAGES=(
  # build
  cmake make gcc clang pkg-config
  # Vulkan: loader headers, shader compiler, SPIR-V validator, CPU driver (lavapipe), validation layer
  libvulkan-dev glslang-tools spirv-tools mesa-vulkan-drivers vulkan-validationlayers
  # tests
  libcmocka-dev
  # server, hashing, BPE pre-tokenizer regexes
  libmicrohttpd-dev libcjson-dev libxxhash-dev libpcre2-dev
  # fuzzing runtime for clang's libFuzzer; memcheck for the reliability tests
  libclang-rt-14-dev valgrind
  # server integration tests use curl and jq (and Node's npm for the openai client, see below);
  # the outside-oracle comparisons run ../shared/tools/check-oracle, a Python 3 script
  curl jq python3
  # structured-output and tool-call tests validate responses against their JSON schemas
  python3-jsonschema
  # the replicas-behind-a-router test (tests/server/test_replicas_nginx.sh) runs Debian's nginx binary
  # with its own config on loopback ports; the package's service is kept from starting (below)
  nginx
  # benchmark plots; aarch64 cross-build and its test runner; binfmt_misc registration of qemu so
  # that the cross tests labelled `exec` can start aarch64 children (registered on a host or VM;
  # the packages leave binfmt alone inside a container, where test-aarch64 says what it left out)
  gnuplot-nox gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-binfmt binfmt-support
  # aarch64 libraries for the cross-build (Debian multiarch; the Vulkan headers are shared)
  libpcre2-dev:arm64 libxxhash-dev:arm64 libcjson-dev:arm64 libcmocka-dev:arm64 libmicrohttpd-dev:arm64
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js may come from another packaging (nodesource ships npm inside nodejs): ask for
# Debian's nodejs+npm only when the commands are absent.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages named pkg:arch need that architecture known to dpkg before apt-get update reads its lists.
for p in "${missing[@]}"; do
  case "$p" in
    *:*) arch=${p##*:}
         if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
           echo "deps: adding dpkg architecture $arch"
           $SUDO dpkg --add-architecture "$arch"
         fi ;;
  esac
done
# Debian's nginx package starts (and binds port 80) as a service when installed: a policy-rc.d
# that denies every start keeps it stopped, only while this script installs (an existing one is
# left as it is). The tests run the binary themselves.
POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [[ " ${missing[*]} " == *" nginx "* ]] && [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# tools/deps.sh: no service starts while packages install\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  made_policy=1
fi
drop_policy() { if [ "$made_policy" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap drop_policy EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# On a host run by systemd the unit was enabled for the next boot: not wanted for a test tool.
if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
echo "deps: done"
