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
#                                             (a peer or a pair); safe to repeat
#   wg-peer-netns.sh pair-up NAME [OWNER_PID] two wireguard-go peers (below)
#   wg-peer-netns.sh http-serve TARGET PORT DIR
#                                             python3 -m http.server for DIR on
#                                             TARGET's tunnel address; prints
#                                             WG_HTTP_URL=; `down` stops it
#   wg-peer-netns.sh curl TARGET URL [CURL_ARGS...]
#                                             curl run inside TARGET's namespace:
#                                             prints the body, exits as curl
#
# `up` prints WG_PUBKEY=<base64>, WG_ENDPOINT=<ip>:51820, WG_LOCAL_IP=<root
# side address>, WG_NETNS=<name>. It exits 3 when the /30 of INDEX is in use.
#
# `pair-up` (the reference case of bench/throughput) puts nothing in the root
# namespace: namespaces NAME-a and NAME-b, a veth between them (10.98.0.1/30
# and 10.98.0.2/30), wireguard-go on NAME-aw / NAME-bw with tunnel addresses
# 10.99.0.1 (a) and 10.99.0.2 (b), MTU 1420. It checks one ping through the
# tunnel and prints WG_NETNS_A=, WG_NETNS_B=, WG_TUNNEL_IP_A=, WG_TUNNEL_IP_B=,
# WG_PID_A=, WG_PID_B= (the wireguard-go pids), WG_UNDERLAY_IP_A=,
# WG_UNDERLAY_IP_B= (the bare veth). The '-' keeps pair names apart
# from peer names, so runs with distinct NAMEs never clash.
#
# TARGET is a peer NAME, or NAME-a / NAME-b of a pair.
#
# Notes: TEST-NET-2 (198.51.100.0/24) because the root namespace of the
# development machines already uses 192.0.2.0/24 for its uplink. wireguard-go's
# control socket lives in the shared /var/run/wireguard, so NAME must be
# unique machine-wide; NAME is at most 12 characters (interface names). Only
# the pids recorded here (wireguard-go, http.server, the watchdog) and processes
# left inside the namespaces made here are ever killed.
# Nothing else in the root namespace changes. Background processes never keep
# the caller's stdout open (a caller reading it to EOF would hang).
set -euo pipefail

PORT=51820
STATE_ROOT=/run/tailfleet-wg
PAIR_TUNNEL_A=10.99.0.1
PAIR_TUNNEL_B=10.99.0.2

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

ns_exists() {
  [ -e "/var/run/netns/$1" ]
}

need_tools() {
  local t
  for t in wireguard-go wg; do
    command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh)"
  done
}

# start_wg NS IFACE TAG: wireguard-go -f on IFACE inside NS; records its pid in
# $STATE/TAG.pid and waits for its control socket.
start_wg() {
  local ns="$1" ifc="$2" tag="$3" sock="/var/run/wireguard/$2.sock" i
  # -f keeps wireguard-go in the foreground; `ip netns exec` and `env` both
  # exec(), so $! is wireguard-go itself.
  ip netns exec "$ns" env LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 \
    wireguard-go -f "$ifc" </dev/null >"$STATE/$tag.log" 2>&1 &
  echo $! >"$STATE/$tag.pid"
  for i in $(seq 100); do
    [ -S "$sock" ] && break
    kill -0 "$(cat "$STATE/$tag.pid")" 2>/dev/null \
      || { cat "$STATE/$tag.log" >&2; return 1; }
    sleep 0.05
  done
  [ -S "$sock" ] || { echo "wg-peer-netns: no control socket $sock" >&2; return 1; }
}

# start_watchdog OWNER_PID: runs `down $NAME` once OWNER_PID is gone, even when
# the owner crashes or aborts. Detached, with no inherited stdio, so nobody
# waits for it; `down` stops it by its pid.
start_watchdog() {
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; exec "$2" down "$3"' \
    _ "$1" "$(readlink -f "$0")" "$NAME" </dev/null >/dev/null 2>&1 &
  echo $! >"$STATE/watchdog.pid"
}

# running PID: the process exists and is no zombie (an exited daemon whose
# parent has not reaped it yet must not stall `down`).
running() {
  local st
  st="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# stop_recorded PIDFILE WANT: TERM (then KILL) the recorded pid, but only while
# its command line still contains WANT (pids are reused).
stop_recorded() {
  local pid i
  [ -f "$1" ] || return 0
  pid="$(cat "$1")"
  if [ -n "$pid" ] && running "$pid" && grep -qa -- "$2" "/proc/$pid/cmdline"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 40); do
      running "$pid" || break
      sleep 0.05
    done
    running "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
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
  need_tools
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

  start_wg "$NS" "$WGIF" wireguard-go

  ip netns exec "$NS" wg set "$WGIF" private-key "$STATE/private.key" listen-port "$PORT"
  ip -n "$NS" addr add "$tunnel_ip/32" dev "$WGIF"
  ip -n "$NS" link set "$WGIF" mtu 1420 up
  echo "$tunnel_ip" >"$STATE/tunnel_ip"
  if [ -n "$owner" ]; then
    start_watchdog "$owner"
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
  if [ -f "$STATE/pair" ]; then
    ip netns exec "${NAME}-a" wg show "${NAME}-aw"
    ip netns exec "${NAME}-b" wg show "${NAME}-bw"
  else
    ip netns exec "$NS" wg show "$WGIF"
  fi
}

cmd_down() {
  need_root
  names "$1"
  local pid f ns
  if [ -f "$STATE/watchdog.pid" ]; then
    pid="$(cat "$STATE/watchdog.pid")"
    # The watchdog itself ends up here (exec keeps its pid): never kill $$.
    if [ "$pid" != "$$" ] && kill -0 "$pid" 2>/dev/null \
        && grep -qa wg-peer-netns "/proc/$pid/cmdline"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  fi
  for f in "$STATE"/http-*.pid; do
    stop_recorded "$f" http.server
  done
  for f in "$STATE"/wireguard-go*.pid; do
    stop_recorded "$f" wireguard-go
  done
  rm -f "$SOCK" "/var/run/wireguard/${NAME}-aw.sock" "/var/run/wireguard/${NAME}-bw.sock"
  for ns in "$NS" "${NAME}-a" "${NAME}-b"; do
    if ns_exists "$ns"; then
      # Whatever still runs in a namespace made here (an iperf3 of a crashed
      # benchmark) is ours too.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        [ "$pid" != "$$" ] && kill -KILL "$pid" 2>/dev/null || true
      done
      ip netns del "$ns"  # takes the veth ends inside it, and so both ends
    fi
  done
  ip link del "$VETH_ROOT" 2>/dev/null || true
  rm -rf "$STATE"
}

# -- pair: two wireguard-go peers, nothing in the root namespace ---------------

# pair_side SIDE MY_IP PEER_IP PEER_PUB: configures wireguard-go of SIDE (a|b).
pair_side() {
  local ns="${NAME}-$1" ifc="${NAME}-$1w" peer_ul
  [ "$1" = a ] && peer_ul=10.98.0.2 || peer_ul=10.98.0.1
  ip netns exec "$ns" wg set "$ifc" private-key "$STATE/$1.key" listen-port "$PORT" \
    peer "$4" allowed-ips "$3/32" endpoint "$peer_ul:$PORT"
  ip -n "$ns" addr add "$2/32" dev "$ifc"
  ip -n "$ns" link set "$ifc" mtu 1420 up
  ip -n "$ns" route add "$3/32" dev "$ifc"
}

cmd_pair_up() {
  need_root
  [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: pair-up NAME [OWNER_PID]"
  names "$1"
  local owner="${2:-}" s i
  need_tools
  [ -e "$STATE" ] && die "$STATE exists: run 'down $NAME' first"
  for s in a b; do
    ns_exists "${NAME}-$s" && die "namespace ${NAME}-$s exists: run 'down $NAME' first"
    [ -e "/var/run/wireguard/${NAME}-${s}w.sock" ] && die "stale socket of ${NAME}-${s}w"
  done
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  touch "$STATE/pair"
  trap 'cmd_down "$NAME" >/dev/null 2>&1 || true' ERR

  for s in a b; do
    ip netns add "${NAME}-$s"
    ip -n "${NAME}-$s" link set lo up
    (umask 077 && wg genkey >"$STATE/$s.key")
    wg pubkey <"$STATE/$s.key" >"$STATE/$s.pub"
  done
  ip -n "${NAME}-a" link add "${NAME}-av" type veth peer name "${NAME}-bv" netns "${NAME}-b"
  ip -n "${NAME}-a" addr add 10.98.0.1/30 dev "${NAME}-av"
  ip -n "${NAME}-b" addr add 10.98.0.2/30 dev "${NAME}-bv"
  ip -n "${NAME}-a" link set "${NAME}-av" up
  ip -n "${NAME}-b" link set "${NAME}-bv" up
  if [ -n "$owner" ]; then
    start_watchdog "$owner"
  fi
  start_wg "${NAME}-a" "${NAME}-aw" wireguard-go-a
  start_wg "${NAME}-b" "${NAME}-bw" wireguard-go-b
  pair_side a "$PAIR_TUNNEL_A" "$PAIR_TUNNEL_B" "$(cat "$STATE/b.pub")"
  pair_side b "$PAIR_TUNNEL_B" "$PAIR_TUNNEL_A" "$(cat "$STATE/a.pub")"
  if command -v ping >/dev/null; then
    for i in $(seq 5); do
      ip netns exec "${NAME}-a" ping -c 1 -W 2 -q "$PAIR_TUNNEL_B" >/dev/null 2>&1 && break
      [ "$i" = 5 ] && { echo "wg-peer-netns: no ping through the tunnel" >&2; false; }
    done
  fi
  trap - ERR

  echo "WG_NETNS_A=${NAME}-a"
  echo "WG_NETNS_B=${NAME}-b"
  echo "WG_TUNNEL_IP_A=$PAIR_TUNNEL_A"
  echo "WG_TUNNEL_IP_B=$PAIR_TUNNEL_B"
  echo "WG_PID_A=$(cat "$STATE/wireguard-go-a.pid")"
  echo "WG_PID_B=$(cat "$STATE/wireguard-go-b.pid")"
  echo "WG_UNDERLAY_IP_A=10.98.0.1"
  echo "WG_UNDERLAY_IP_B=10.98.0.2"
}

# -- HTTP over the tunnel (for the HTTP interop test) -------------------------

# target TARGET -> globals T_NS, T_IP, T_TAG (and those of names()).
target() {
  if [[ "$1" =~ ^([a-z0-9]{1,12})-([ab])$ ]]; then
    T_TAG="${BASH_REMATCH[2]}"  # names() overwrites BASH_REMATCH
    names "${BASH_REMATCH[1]}"
    [ -f "$STATE/pair" ] || die "no pair $NAME (pair-up first)"
    T_NS="$1"
    [ "$T_TAG" = a ] && T_IP="$PAIR_TUNNEL_A" || T_IP="$PAIR_TUNNEL_B"
  else
    names "$1"
    [ -f "$STATE/tunnel_ip" ] || die "no peer $1 (up first)"
    T_NS="$NS"; T_TAG=peer; T_IP="$(cat "$STATE/tunnel_ip")"
  fi
}

cmd_http_serve() {
  need_root
  [ $# = 3 ] || die "usage: http-serve TARGET PORT DIR"
  target "$1"
  local port="$2" dir py=python3 i
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad PORT '$port'"
  [ -d "$3" ] || die "no directory '$3'"
  dir="$(readlink -f "$3")"
  # Debian's python3 rather than a pyenv shim: `exec` keeps $! its pid.
  [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  local base="$STATE/http-$T_TAG-$port"
  [ -e "$base.pid" ] && die "already serving on $T_IP:$port"
  ip netns exec "$T_NS" "$py" -m http.server --bind "$T_IP" --directory "$dir" "$port" \
    </dev/null >"$base.log" 2>&1 &
  echo $! >"$base.pid"
  for i in $(seq 100); do
    ip netns exec "$T_NS" ss -Htln "src $T_IP:$port" | grep -q . && break
    kill -0 "$(cat "$base.pid")" 2>/dev/null || { cat "$base.log" >&2; rm -f "$base.pid"; die "http.server exited"; }
    sleep 0.05
  done
  ip netns exec "$T_NS" ss -Htln "src $T_IP:$port" | grep -q . \
    || { stop_recorded "$base.pid" http.server; rm -f "$base.pid"; die "http.server did not listen"; }
  echo "WG_HTTP_URL=http://$T_IP:$port/"
}

cmd_curl() {
  [ $# -ge 2 ] || die "usage: curl TARGET URL [CURL_ARGS...]"
  target "$1"
  local url="$2"
  shift 2
  exec ip netns exec "$T_NS" curl -sS --max-time 10 "$@" "$url"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  probe) cmd_probe ;;
  up) cmd_up "$@" ;;
  peer) cmd_peer "$@" ;;
  show) cmd_show "$@" ;;
  down) [ $# = 1 ] || die "usage: down NAME"; cmd_down "$1" ;;
  pair-up) cmd_pair_up "$@" ;;
  http-serve) cmd_http_serve "$@" ;;
  curl) cmd_curl "$@" ;;
  *) sed -n '2,53p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
