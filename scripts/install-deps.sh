#!/usr/bin/env bash
# Installs every Debian package tailfleet's build, tests and benchmarks need,
# skipping those already present. Safe to run again. Needs root (or sudo).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make pkg-config clang-14 libclang-rt-14-dev
  # libraries
  libcaf-dev libsodium-dev liblwip-dev libmsgpack-cxx-dev libspdlog-dev
  libsqlite3-dev libb2-dev libssl-dev libabsl-dev libcli11-dev
  nlohmann-json3-dev libcpp-httplib-dev libjwt-dev
  # tools the tests drive for real
  curl iproute2 iputils-ping
  # WireGuard interop test (scripts/wg-peer-netns.sh)
  wireguard-go wireguard-tools python3
  # bench/throughput's wireguard-go reference case
  iperf3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
