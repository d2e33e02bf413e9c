#!/usr/bin/env bash
# flowmod-scale.sh: the flow-mod scale benchmark of rvs against a real ovs-vswitchd (a benchmark,
# not a test; run as root from the repository).
#
#   benches/scripts/flowmod-scale.sh [-n "100000 1000000"] [-s rvs,ovs] [-f 50000] [--no-traffic]
#
# For each rule count N and each switch it:
#   1. starts the switch on private paths (rvs-vswitchd inside a throw-away network namespace;
#      ovsdb-server + ovs-vswitchd --enable-dummy with a datapath_type=netdev bridge), with two
#      ports and no traffic;
#   2. times `ovs-ofctl add-flows br0 FILE` of N distinct rules (the same client and the same
#      file for both switches; like every ovs-ofctl flow-mod command it sends each flow-mod
#      followed by a barrier, so the time is the switch's per-rule latency, round trips
#      included), and for rvs also `rvs-ofctl add-flows`, after a `del-flows`;
#   3. reads the switch's resident memory (VmRSS) before and after, and prints time and memory
#      per rule.
# Then (unless --no-traffic) PMD throughput while flow-mods land, for rvs: a memory port replays
# 64-byte UDP frames of 100,000 flows through 1,000 rules (the megaflow scenario of rvs-pmd-bench)
# into a discarding port on one PMD; the tx rate is read from `dump-ports` over a quiet window,
# then over the window in which 50,000 further flow-mods (TCP rules, disjoint from the traffic;
# each one publishes a new table version and, at its barrier, re-validates the megaflows) land.
#
# Rules: `priority=P,tcp,nw_src=A,nw_dst=B,tp_dst=C,actions=output:2` style, three match shapes
# (three classifier subtables), all distinct. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "flowmod-scale.sh: run as root (network namespaces)" >&2; exit 1; }

counts="100000 1000000"
systems="rvs,ovs"
traffic=1
storm=50000
while [ $# -gt 0 ]; do
    case "$1" in
        -n) counts="$2"; shift 2 ;;
        -s) systems="$2"; shift 2 ;;
        -f) storm="$2"; shift 2 ;;
        --no-traffic) traffic=0; shift ;;
        *) echo "usage: $0 [-n \"COUNTS\"] [-s rvs,ovs] [-f STORM_FLOW_MODS] [--no-traffic]" >&2; exit 2 ;;
    esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p rvs-dataplane -p rvs-ctl --bins
BIN="$CARGO_TARGET_DIR/release"

W=$(mktemp -d /tmp/rvs-fmscale.XXXXXX)
NS="rvsfm$$"
rvs_pid="" ovs_pids=""
cleanup() {
    [ -n "$rvs_pid" ] && kill "$rvs_pid" 2>/dev/null && sleep 0.5
    for p in $ovs_pids; do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }

# Rule files: N distinct rules in three shapes; a second, disjoint set for the traffic window.
gen_rules() { # N FILE OFFSET
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
n, path, off = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    for i in range(off, off + n):
        a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
        s = i % 3
        if s == 0:
            f.write(f"priority=100,tcp,nw_dst=172.{16 + a % 16}.{b}.{c},tp_dst={1 + (i // 65536) % 60000},actions=output:2\n")
        elif s == 1:
            f.write(f"priority=200,udp,nw_src=192.{a}.{b}.{c},actions=output:2\n")
        else:
            f.write(f"priority=300,ip,nw_src=10.{a}.{b}.{c},nw_dst=10.{c}.{b}.{a},actions=output:2\n")
EOF
}

# --- rvs
rvs_start() {
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    export RVS_RUNDIR="$W/rvs/run" RVS_DBDIR="$W/rvs/db" RVS_LOGDIR="$W/rvs/log"
    mkdir -p "$RVS_RUNDIR" "$RVS_DBDIR" "$RVS_LOGDIR"
    ip netns exec "$NS" "$BIN/rvs-vswitchd" --detach --pidfile --log-file
    rvs_pid=$(cat "$RVS_RUNDIR/rvs-vswitchd.pid")
    "$BIN/rvs-vsctl" set Open_vSwitch . other_config:pmd-sleep-max="${1:-1000}"
    "$BIN/rvs-vsctl" add-br br0
}
rvs_stop() {
    kill "$rvs_pid"; while kill -0 "$rvs_pid" 2>/dev/null; do sleep 0.1; done
    rvs_pid=""
    ip netns del "$NS"
    rm -rf "$W/rvs"
}

# --- Open vSwitch (its own userspace datapath with dummy ports; no traffic)
ovs_start() {
    local d="$W/ovs"
    mkdir -p "$d"
    export OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" OVS_SYSCONFDIR="$d"
    ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server -vconsole:off "$d/conf.db" --remote="punix:$d/db.sock" --unixctl="$d/ovsdb-server.ctl" \
        --log-file="$d/ovsdb-server.log" --pidfile="$d/ovsdb-server.pid" --detach
    ovs-vsctl --db="unix:$d/db.sock" --no-wait init
    ovs-vswitchd -vconsole:off --enable-dummy=override --disable-system "unix:$d/db.sock" --unixctl="$d/ovs-vswitchd.ctl" \
        --log-file="$d/ovs-vswitchd.log" --pidfile="$d/ovs-vswitchd.pid" --detach
    ovs_pids="$(cat "$d/ovsdb-server.pid") $(cat "$d/ovs-vswitchd.pid")"
    ovs-vsctl --db="unix:$d/db.sock" --timeout=30 add-br br0 -- set bridge br0 datapath_type=netdev \
        -- add-port br0 p1 -- set interface p1 type=dummy ofport_request=1 \
        -- add-port br0 p2 -- set interface p2 type=dummy ofport_request=2
}
ovs_stop() {
    for p in $ovs_pids; do kill "$p" 2>/dev/null || true; done
    for p in $ovs_pids; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    ovs_pids=""
    rm -rf "$W/ovs"
}

# time_add SWITCH_PID CLIENT SOCKET FILE N LABEL: prints one result line
time_add() {
    local pid=$1 client=$2 sock=$3 file=$4 n=$5 label=$6
    "$client" del-flows "unix:$sock"
    sleep 1
    local r0 t0 t1 r1
    r0=$(rss_kb "$pid")
    t0=$(now)
    "$client" add-flows "unix:$sock" "$file"
    t1=$(now)
    sleep 2   # let background work (rvs's store writer, OVS's revalidators) settle
    r1=$(rss_kb "$pid")
    local got
    got=$("$client" dump-aggregate "unix:$sock" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p')
    [ "$got" -ge "$n" ] || { echo "$label: only $got of $n flows installed" >&2; exit 1; }
    local secs us_per kb_per
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    us_per=$(awk -v s="$secs" -v n="$n" 'BEGIN { print s * 1e6 / n }')
    kb_per=$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN { print (b - a) * 1024 / n }')
    printf '%-34s %9d rules  %8s s  %7s us/rule  %9s rules/s  RSS %7s -> %7s MiB  %6s B/rule\n' \
        "$label" "$n" "$(fmt "$secs")" "$(fmt "$us_per")" "$(fmt "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')")" \
        "$(fmt "$(awk -v k="$r0" 'BEGIN { print k / 1024 }')")" "$(fmt "$(awk -v k="$r1" 'BEGIN { print k / 1024 }')")" "$(fmt "$kb_per")"
}

echo "flow-mod scale: $(nproc) CPUs, $(uname -r), $(ovs-vswitchd --version | head -1)"
for n in $counts; do
    gen_rules "$n" "$W/rules-$n.txt" 0
    if [[ ",$systems," == *,rvs,* ]]; then
        # A fresh daemon per client, so that both memory figures start from the same state.
        for client in ovs-ofctl "$BIN/rvs-ofctl"; do
            rvs_start 1000
            for i in 1 2; do "$BIN/rvs-vsctl" add-port br0 "m$i" -- set Interface "m$i" type=memory; done
            time_add "$rvs_pid" "$client" "$RVS_RUNDIR/br0.mgmt" "$W/rules-$n.txt" "$n" "rvs  (client $(basename "$client"))"
            rvs_stop
        done
    fi
    if [[ ",$systems," == *,ovs,* ]]; then
        ovs_start
        time_add "$(awk '{print $2}' <<<"$ovs_pids")" ovs-ofctl "$W/ovs/br0.mgmt" "$W/rules-$n.txt" "$n" "ovs-vswitchd (client ovs-ofctl)"
        ovs_stop
    fi
    rm -f "$W/rules-$n.txt"
done

[ "$traffic" = 1 ] && [[ ",$systems," == *,rvs,* ]] || exit 0

# --- PMD throughput while 50,000 flow-mods land (rvs)
python3 - "$W/megaflow.pcap" "$W/base-rules.txt" <<'EOF'
import struct, sys
pcap, rules = sys.argv[1], sys.argv[2]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
with open(pcap, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(100000):
        r = i % 1000                     # the rule this flow hits
        dst = bytes([10, 1, r >> 8, r & 255])
        src = bytes([10, 0, (i >> 8) & 255, i & 255])
        udp = struct.pack("!HHHH", 1024 + (i % 50000), 5000 + r % 16, 26, 0) + bytes(18)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, 0, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = bytes.fromhex("000000000002000000000001") + b"\x08\x00"
        frame = eth + ip + udp
        f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
with open(rules, "w") as f:
    for r in range(1000):
        f.write(f"priority=10,udp,nw_dst=10.1.{r >> 8}.{r & 255},tp_dst={5000 + r % 16},actions=output:2\n")
EOF
gen_rules "$storm" "$W/storm.txt" 0
# The storm's rules are TCP: disjoint from the UDP traffic, so they leave its megaflows' masks
# alone (rules that overlap it, like nw_src=10.0.0.0/16 here, would legitimately widen every
# megaflow to the source address and turn 1,000 megaflows into 100,000).
sed -i 's/,udp,/,tcp,/; s/,ip,/,tcp,/' "$W/storm.txt"
rvs_start 0
"$BIN/rvs-vsctl" add-port br0 m1 -- set Interface m1 type=memory options:rx_pcap="$W/megaflow.pcap"
"$BIN/rvs-vsctl" add-port br0 m2 -- set Interface m2 type=memory options:tx=discard
"$BIN/rvs-ofctl" del-flows br0
"$BIN/rvs-ofctl" add-flows br0 "$W/base-rules.txt"
tx_pkts() { "$BIN/rvs-ofctl" dump-ports br0 2 | sed -n 's/.*tx pkts=\([0-9]*\).*/\1/p'; }
rate() { # T0 P0 T1 P1
    awk -v t0="$1" -v p0="$2" -v t1="$3" -v p1="$4" 'BEGIN { printf "%.2f", (p1 - p0) / (t1 - t0) / 1e6 }'
}
sleep 3
t0=$(now); p0=$(tx_pkts); sleep 5; t1=$(now); p1=$(tx_pkts)
quiet=$(rate "$t0" "$p0" "$t1" "$p1")
t0=$(now); p0=$(tx_pkts)
ovs-ofctl add-flows "unix:$RVS_RUNDIR/br0.mgmt" "$W/storm.txt"
t1=$(now); p1=$(tx_pkts)
during=$(rate "$t0" "$p0" "$t1" "$p1")
fm_rate=$(awk -v n="$storm" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN { printf "%.0f", n / s }')
echo "rvs PMD (1 core, 1k rules / 100k flows, 64 B UDP, memory ports, release build):"
echo "  quiet:                         $quiet Mpps"
echo "  while $storm flow-mods land:   $during Mpps   (flow-mods at $fm_rate/s over $(fmt "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')") s)"
"$BIN/rvs-appctl" dpif-netdev/pmd-stats-show | sed 's/^/  /'
