#!/usr/bin/env bash
# Debian's cross toolchains for opforge's edge targets, and the user-mode emulator for the
# emulated aarch64 board (scripts/edge/aarch64_board.sh).
#
#   scripts/edge/install_toolchains.sh           # compilers only (aarch64, armv7)
#   scripts/edge/install_toolchains.sh --board   # also qemu-user-static and debootstrap
#
# Idempotent: packages already installed are left as they are. Needs root (or sudo).
set -euo pipefail

packages=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf g++-riscv64-linux-gnu)
if [[ "${1:-}" == "--board" ]]; then
  packages+=(qemu-user-static debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "edge toolchains: all installed (${packages[*]})"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
for cc in aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do
  command -v "$cc" >/dev/null || { echo "install_toolchains: $cc missing after install" >&2; exit 1; }
done
echo "edge toolchains: installed ${missing[*]}"
