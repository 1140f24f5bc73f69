#!/usr/bin/env bash
# wg-peer-netns.sh: one unmodified wireguard-go in a network namespace of its
# own, for tailfleet's WireGuard interop test
# (tests/integration/wg_handshake_interop_test.cpp). The test talks to it from
# the root namespace over a veth pair with a plain UDP socket.
#
#   root namespace                          namespace NAME
#   NAMEr 198.51.100.(4I+1)/30  <-- veth -->  NAMEn 198.51.100.(4I+2)/30
#   (the test's UDP socket)                    wireguard-go on NAMEw, UDP 51820,
#                                              TUNNEL_IP/32, kernel answers ICMP
#
# Usage (as root):
#   wg-peer-netns.sh probe                    exit 0 when namespaces can be made
#   wg-peer-netns.sh up NAME INDEX TUNNEL_IP [OWNER_PID]
#                                             start; prints WG_* lines (below);
#                                             with OWNER_PID, a watchdog runs
#                                             `down NAME` once that pid is gone
#   wg-peer-netns.sh peer NAME PUBKEY CIDR [HOST:PORT]
#                                             add a peer (and a route to CIDR)
#   wg-peer-netns.sh show NAME                `wg show` of the interface
#   wg-peer-netns.sh down NAME                stop and delete everything of NAME
#
# `up` prints WG_PUBKEY=<base64>, WG_ENDPOINT=<ip>:51820, WG_LOCAL_IP=<root
# side address>, WG_NETNS=<name>. It exits 3 when the /30 of INDEX is in use.
#
# Notes: TEST-NET-2 (198.51.100.0/24) because the root namespace of the
# development machines already uses 192.0.2.0/24 for its uplink. wireguard-go's
# control socket lives in the shared /var/run/wireguard, so NAME must be
# unique machine-wide; NAME is at most 12 characters (interface names). Only
# the pids recorded by `up` (wireguard-go, the watchdog) are ever killed.
# Nothing else in the root namespace changes.
set -euo pipefail

PORT=51820
STATE_ROOT=/run/tailfleet-wg

die() {
  echo "wg-peer-netns: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root"
}

names() {  # NAME -> globals
  NAME="$1"
  [[ "$NAME" =~ ^[a-z0-9]{1,12}$ ]] || die "bad name '$NAME' (a-z0-9, at most 12)"
  NS="$NAME"; VETH_ROOT="${NAME}r"; VETH_NS="${NAME}n"; WGIF="${NAME}w"
  STATE="$STATE_ROOT/$NAME"; SOCK="/var/run/wireguard/${WGIF}.sock"
}

cmd_probe() {
  need_root
  local ns="tfwgprobe$$"
  ip netns add "$ns" 2>/dev/null || exit 1
  ip netns del "$ns"
}

cmd_up() {
  need_root
  [ $# -ge 3 ] && [ $# -le 4 ] || die "usage: up NAME INDEX TUNNEL_IP [OWNER_PID]"
  names "$1"
  local index="$2" tunnel_ip="$3" owner="${4:-}"
  [[ "$index" =~ ^[0-9]+$ ]] && [ "$index" -le 63 ] || die "INDEX must be 0..63"
  command -v wireguard-go >/dev/null || die "wireguard-go missing (scripts/install-deps.sh)"
  command -v wg >/dev/null || die "wg missing (scripts/install-deps.sh)"
  local net="198.51.100.$((4 * index))"
  local root_ip="198.51.100.$((4 * index + 1))" ns_ip="198.51.100.$((4 * index + 2))"
  if ip -4 route show | grep -q "^${net}/30 "; then
    echo "wg-peer-netns: ${net}/30 already in use" >&2
    exit 3
  fi
  [ -e "$STATE" ] && die "$STATE exists: run 'down $NAME' first"
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  trap 'cmd_down "$NAME" >/dev/null 2>&1 || true' ERR

  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip link add "$VETH_ROOT" type veth peer name "$VETH_NS" netns "$NS"
  ip addr add "$root_ip/30" dev "$VETH_ROOT"
  ip link set "$VETH_ROOT" up
  ip -n "$NS" addr add "$ns_ip/30" dev "$VETH_NS"
  ip -n "$NS" link set "$VETH_NS" up

  (umask 077 && wg genkey >"$STATE/private.key")
  wg pubkey <"$STATE/private.key" >"$STATE/public.key"

  # -f keeps wireguard-go in the foreground; `ip netns exec` and `env` both
  # exec(), so $! is wireguard-go itself.
  ip netns exec "$NS" env LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 \
    wireguard-go -f "$WGIF" >"$STATE/wireguard-go.log" 2>&1 &
  echo $! >"$STATE/wireguard-go.pid"
  local i
  for i in $(seq 100); do
    [ -S "$SOCK" ] && break
    kill -0 "$(cat "$STATE/wireguard-go.pid")" 2>/dev/null \
      || { cat "$STATE/wireguard-go.log" >&2; false; }
    sleep 0.05
  done
  [ -S "$SOCK" ] || { echo "wg-peer-netns: no control socket $SOCK" >&2; false; }

  ip netns exec "$NS" wg set "$WGIF" private-key "$STATE/private.key" listen-port "$PORT"
  ip -n "$NS" addr add "$tunnel_ip/32" dev "$WGIF"
  ip -n "$NS" link set "$WGIF" mtu 1420 up
  if [ -n "$owner" ]; then
    # Cleans up even when the owner crashes or aborts. Detached, with no
    # inherited stdio, so nobody waits for it; `down` stops it by its pid.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; exec "$2" down "$3"' \
      _ "$owner" "$(readlink -f "$0")" "$NAME" </dev/null >/dev/null 2>&1 &
    echo $! >"$STATE/watchdog.pid"
  fi
  trap - ERR

  echo "WG_PUBKEY=$(cat "$STATE/public.key")"
  echo "WG_ENDPOINT=$ns_ip:$PORT"
  echo "WG_LOCAL_IP=$root_ip"
  echo "WG_NETNS=$NS"
}

cmd_peer() {
  need_root
  [ $# -ge 3 ] && [ $# -le 4 ] || die "usage: peer NAME PUBKEY CIDR [HOST:PORT]"
  names "$1"
  local args=(peer "$2" allowed-ips "$3")
  [ $# = 4 ] && args+=(endpoint "$4")
  ip netns exec "$NS" wg set "$WGIF" "${args[@]}"
  ip -n "$NS" route replace "$3" dev "$WGIF"
}

cmd_show() {
  names "$1"
  ip netns exec "$NS" wg show "$WGIF"
}

cmd_down() {
  need_root
  names "$1"
  local pidfile="$STATE/wireguard-go.pid" pid i
  if [ -f "$STATE/watchdog.pid" ]; then
    pid="$(cat "$STATE/watchdog.pid")"
    # The watchdog itself ends up here (exec keeps its pid): never kill $$.
    if [ "$pid" != "$$" ] && kill -0 "$pid" 2>/dev/null \
        && grep -qa wg-peer-netns "/proc/$pid/cmdline"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null && grep -qa wireguard-go "/proc/$pid/cmdline"; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
      done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$SOCK"
  if ip netns list | grep -qw "^$NS"; then
    ip netns del "$NS"  # takes the namespace end of the veth, and so both ends
  fi
  ip link del "$VETH_ROOT" 2>/dev/null || true
  rm -rf "$STATE"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  probe) cmd_probe ;;
  up) cmd_up "$@" ;;
  peer) cmd_peer "$@" ;;
  show) cmd_show "$@" ;;
  down) [ $# = 1 ] || die "usage: down NAME"; cmd_down "$1" ;;
  *) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
