#!/usr/bin/env bash
# veth-bench.sh: rvs against the Linux bridge and Open vSwitch's userspace datapath, on veth
# pairs between network namespaces (a benchmark, not a test; run as root from the repository).
#
#   benches/scripts/veth-bench.sh [-s rvs-afxdp,rvs-afpacket,bridge,ovs] [-n RUNS] [-d SECONDS]
#                                 [-t IPERF_SECONDS] [-f FLOWS] [-c CSV] [-R]
#
# Topology, built afresh for every (run, system) in throw-away namespaces named vb<PID>...:
#
#   [gen ns] vb<PID>g ==veth== vb<PID>w1 [switch ns: SWITCH] vb<PID>w2 ==veth== vb<PID>s [sink ns]
#            10.99.0.1/24                                                     10.99.0.2/24
#
# SWITCH is one of:
#   rvs-afxdp     rvs-vswitchd, ports type=afxdp (native XDP, copy mode: veth has no zero-copy)
#   rvs-afpacket  rvs-vswitchd, ports of the default type (AF_PACKET)
#   bridge        the Linux bridge (static FDB entry for the sink's MAC; RPS steers the ingress
#                 veth's receive work to CPU 1, so that the bridge, like the PMDs, has that core;
#                 -R: no RPS, the bridge then forwards on CPU 0 in the generator's transmit)
#   ovs           Debian's ovs-vswitchd (datapath_type=netdev) on private paths, ports
#                 type=afxdp when its build lists afxdp in iface_types, else type=system
# rvs and OVS: one PMD on CPU 1 (pmd-cpu-mask=0x2, pmd-sleep-max=0 for rvs and OVS 3.1's
# default: it never sleeps), the daemons' other threads unpinned (both daemons refuse a PMD mask
# outside their own affinity), rules in_port=1,actions=output:2 and back. The generator, the
# daemons and iperf3 run at nice -20 (as rvs-bench's), and so do their scheduler autogroups, so
# that builds sharing the machine take little from them; the PMD's on-CPU share (oncpu) shows
# what they still took.
#
# Traffic per run: rvs-udpgen (benches/src/bin/rvs-udpgen.rs; the kernel here has no pktgen),
# pinned to CPU 0, sends 64-byte UDP frames (FLOWS source ports, 1 by default) as fast as it
# can through an AF_PACKET socket (sendmmsg, qdisc bypass). Their destination MAC is not the
# sink's, so the sink's stack drops them at its first check (PACKET_OTHERHOST), after the
# interface counted them. After a 2 s warm-up, counters are read at both ends of a D-second
# window:
#   offered   frames the generator's veth transmitted / s
#   fwd       frames the sink's veth received / s  (the forwarding rate)
#   sw_ns     ns the switch's threads ran (/proc/PID/task/*/schedstat, exact) / forwarded frame
#   sirq_ns   ns of softirq (/proc/stat, tick-sampled at CONFIG_HZ) on the CPUs the switch's
#             threads do not account for / forwarded frame: CPU 0 for rvs and OVS (there the
#             generator's transmit delivers into the switch's ingress veth: the XDP program and
#             its copy into the UMEM, or AF_PACKET's copy into the ring; softirq on CPU 1 runs
#             in the PMD's own context and is already in sw_ns), both CPUs for the bridge (all
#             of its work is softirq: RPS on CPU 1, plus the generator's side on CPU 0)
#   cpu_ns    sw_ns + sirq_ns: what forwarding one frame cost the machine
#   busy_ns   the PMDs' own count of processing cycles (pmd-stats-show, the same layout in rvs
#             and OVS; TSC cycles, idle polls excluded) in ns / forwarded frame. Both count a
#             whole iteration as processing when it received anything, so below saturation
#             (small batches) busy_ns approaches sw_ns: it is the cost per frame only when the
#             PMD is saturated
#   busycpu   busy_ns + sirq_ns (the bridge: sirq_ns): the cost without idle polling
#   oncpu     share of the window the PMD thread ran (1 = it had its core to itself)
# A PMD that polls without sleeping runs 100% of its core whether busy or not, so its sw_ns is
# 1 core / fwd: the cost per frame at the rate reached, exact only when the PMD is the
# bottleneck (compare offered with fwd). Then TCP: iperf3 -t IPERF_SECONDS from gen to sink
# (default offloads on the hosts; for OVS AF_XDP the hosts' tx checksum offload is turned off,
# as OVS's AF_XDP documentation requires, since OVS does not complete partial checksums).
#
# Output: a line per run, then a table of medians with the ratios rvs/bridge and rvs/OVS, and
# CSV (CSV: one row per system, medians; CSV with -runs.csv: one row per run).
# Everything it creates (namespaces, daemons, directories) is removed on exit and on failure.
# VB_DEBUG=1 prints the interfaces' counters and pmd-stats-show after each window (where frames
# were lost).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "veth-bench.sh: run as root (network namespaces)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "veth-bench.sh: needs 2 CPUs (generator on 0, switch on 1)" >&2; exit 1; }

systems="rvs-afxdp,rvs-afpacket,bridge,ovs"
runs=3
dur=10
iperf_t=5
flows=1
csv="veth-bench.csv"
rps=1
while [ $# -gt 0 ]; do
    case "$1" in
        -s) systems="$2"; shift 2 ;;
        -n) runs="$2"; shift 2 ;;
        -d) dur="$2"; shift 2 ;;
        -t) iperf_t="$2"; shift 2 ;;
        -f) flows="$2"; shift 2 ;;
        -c) csv="$2"; shift 2 ;;
        -R) rps=0; shift ;;
        *) echo "usage: $0 [-s rvs-afxdp,rvs-afpacket,bridge,ovs] [-n RUNS] [-d SECONDS] [-t IPERF_SECONDS (0: none)] [-f FLOWS] [-c CSV] [-R]" >&2; exit 2 ;;
    esac
done
WARMUP=2

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p rvs-dataplane -p rvs-ctl --bins
cargo build --release -q -p rvs-benches --bin rvs-udpgen
BIN="$CARGO_TARGET_DIR/release"

P="vb$$"
GEN="${P}gen" SW="${P}sw" SINK="${P}sink"
IG="${P}g" IW1="${P}w1" IW2="${P}w2" IS="${P}s"
GEN_MAC=02:99:00:00:00:01 SINK_MAC=02:99:00:00:00:02 FRAME_DST=02:99:00:00:00:99
W=$(mktemp -d /tmp/rvs-vethbench.XXXXXX)
pids=""   # processes of the current system (switch daemons), stopped by pid
aux=""    # generator / iperf3 server of the current run
holders="" gen_holder="" sink_holder=""  # a process in the gen and the sink namespace each

stop_pids() {
    for p in $aux $pids; do kill "$p" 2>/dev/null || true; done
    for p in $aux $pids; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null || true; done
    aux="" pids=""
}
teardown() {
    stop_pids
    for p in $holders; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    holders=""
    for ns in "$GEN" "$SW" "$SINK"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$W/rvs" "$W/ovs"
}
cleanup() {
    teardown
    [ -n "${own_group_nice:-}" ] && echo "$own_group_nice" >/proc/$$/autogroup 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# With CONFIG_SCHED_AUTOGROUP (Debian's default), nice only weighs within a session's group: a
# daemon that detaches (setsid) gets a group of its own at nice 0, and shares its core evenly
# with every other busy session. boost gives the group of process $1 the weight of nice -20.
boost() { [ -w "/proc/$1/autogroup" ] && echo -20 >"/proc/$1/autogroup" 2>/dev/null || true; }
now() { date +%s.%N; }
# A packet counter of an interface, read through /proc/PID/net/dev of a process in its namespace
# (a read of a file, no process started: the window's ends stay sharp on a loaded machine).
# counter HOLDER_PID IFNAME rx|tx
counter() {
    awk -v i="$2:" -v d="$3" '$1 == i { print (d == "rx") ? $3 : $11 }' "/proc/$1/net/dev"
}
# softirq ticks (USER_HZ) of CPU $1, or of all CPUs with "all"
softirq() { awk -v c="$1" '($1 == "cpu" c) || (c == "all" && $1 ~ /^cpu[0-9]+$/) { s += $8 } END { print s }' /proc/stat; }
# ns the threads of process $1 have run (0 for none)
proc_ns() { [ -z "$1" ] && { echo 0; return; }; cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# ns the PMD threads (name pmd...) of process $1 have run (empty for none)
pmd_ns() {
    [ -z "$1" ] && return
    local t
    for t in /proc/"$1"/task/*; do
        case "$(cat "$t/comm" 2>/dev/null)" in pmd*) cat "$t/schedstat" ;; esac
    done | awk '{ s += $1; n++ } END { if (n) printf "%.0f\n", s }'
}
USER_HZ=$(getconf CLK_TCK)
# TSC rate, for the PMDs' own cycle counts (as rvs-bench: the kernel's "tsc: Detected" line)
TSC_HZ=$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -1)
TSC_HZ=$(awk -v m="${TSC_HZ:-0}" 'BEGIN { if (m > 0) printf "%.0f", m * 1e6; else print "" }')
[ -n "$TSC_HZ" ] || TSC_HZ=$(awk -F': ' '/^cpu MHz/ { printf "%.0f", $2 * 1e6; exit }' /proc/cpuinfo)
printf 'in_port=1,actions=output:2\nin_port=2,actions=output:1\n' >"$W/flows.txt"

topology() {
    ip netns add "$GEN"; ip netns add "$SW"; ip netns add "$SINK"
    for ns in "$GEN" "$SW" "$SINK"; do ip -n "$ns" link set lo up; done
    ip link add "$IG" netns "$GEN" address "$GEN_MAC" type veth peer name "$IW1" netns "$SW"
    ip link add "$IS" netns "$SINK" address "$SINK_MAC" type veth peer name "$IW2" netns "$SW"
    ip -n "$GEN" addr add 10.99.0.1/24 dev "$IG"
    ip -n "$SINK" addr add 10.99.0.2/24 dev "$IS"
    for i in "$IW1" "$IW2"; do ip -n "$SW" link set "$i" up; done
    ip -n "$GEN" link set "$IG" up
    ip -n "$SINK" link set "$IS" up
    ip netns exec "$GEN" sleep 100000 & gen_holder=$!
    ip netns exec "$SINK" sleep 100000 & sink_holder=$!
    holders="$gen_holder $sink_holder"
}

# --- switches. Each sets $switch_pid (the process whose threads are the switch, or empty),
# $pmd_cpu (the CPU whose softirq its threads account for, or empty) and $port_kind.
start_rvs() { # PORT_TYPE (afxdp or empty)
    local d="$W/rvs"; mkdir -p "$d"
    export RVS_RUNDIR="$d" RVS_DBDIR="$d" RVS_LOGDIR="$d"
    nsx "$SW" nice -n -20 "$BIN/rvs-vswitchd" --detach --pidfile --log-file
    switch_pid=$(cat "$d/rvs-vswitchd.pid"); pids="$switch_pid"; boost "$switch_pid"
    "$BIN/rvs-vsctl" set Open_vSwitch . other_config:pmd-cpu-mask=0x2 other_config:pmd-sleep-max=0
    "$BIN/rvs-vsctl" add-br br0 -- set bridge br0 datapath_type=netdev
    local n=1 i
    for i in "$IW1" "$IW2"; do
        if [ -n "$1" ]; then
            "$BIN/rvs-vsctl" add-port br0 "$i" -- set Interface "$i" type="$1" ofport_request=$n
        else
            "$BIN/rvs-vsctl" add-port br0 "$i" -- set Interface "$i" ofport_request=$n
        fi
        n=$((n + 1))
    done
    "$BIN/rvs-ofctl" del-flows br0
    "$BIN/rvs-ofctl" add-flows br0 "$W/flows.txt"
    pmd_ctl() { "$BIN/rvs-appctl" "$@"; }
    port_kind=$("$BIN/rvs-appctl" dpif/show | sed -n "s/^ *$IW1 [0-9/]*: //p")
    pmd_cpu=1
}

ovs_port_type=""
ovs_start() {
    local d="$W/ovs"; mkdir -p "$d"
    export OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" OVS_SYSCONFDIR="$d"
    ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    taskset -c 0 ovsdb-server -vconsole:off "$d/conf.db" --remote="punix:$d/db.sock" --unixctl="$d/ovsdb-server.ctl" \
        --log-file="$d/ovsdb-server.log" --pidfile="$d/ovsdb-server.pid" --detach
    pids="$(cat "$d/ovsdb-server.pid")"
    ovsctl() { ovs-vsctl --db="unix:$d/db.sock" --timeout=30 "$@"; }
    ovsctl --no-wait init
    ovsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=0x2
    nsx "$SW" nice -n -20 ovs-vswitchd -vconsole:off "unix:$d/db.sock" --unixctl="$d/ovs-vswitchd.ctl" \
        --log-file="$d/ovs-vswitchd.log" --pidfile="$d/ovs-vswitchd.pid" --detach
    switch_pid=$(cat "$d/ovs-vswitchd.pid"); pids="$pids $switch_pid"; boost "$switch_pid"
    ovsctl add-br br0 -- set bridge br0 datapath_type=netdev
    if [ -z "$ovs_port_type" ]; then
        if ovsctl get Open_vSwitch . iface_types | grep -qw afxdp; then ovs_port_type=afxdp; else ovs_port_type=system; fi
    fi
    local n=1 i
    for i in "$IW1" "$IW2"; do
        ovsctl add-port br0 "$i" -- set Interface "$i" type="$ovs_port_type" ofport_request=$n
        n=$((n + 1))
    done
    local err
    err=$(ovsctl --columns=name,error find Interface "error!=[]" || true)
    [ -z "$err" ] || { echo "ovs: port errors: $err" >&2; tail -20 "$d/ovs-vswitchd.log" >&2; exit 1; }
    ovs-ofctl del-flows "unix:$d/br0.mgmt"
    ovs-ofctl add-flows "unix:$d/br0.mgmt" "$W/flows.txt"
    if [ "$ovs_port_type" = afxdp ]; then
        # OVS's AF_XDP ports do not complete partial checksums: its documentation has the
        # hosts turn tx checksum offload off (for TCP; the generator's frames are complete).
        nsx "$GEN" ethtool -K "$IG" tx off >/dev/null
        nsx "$SINK" ethtool -K "$IS" tx off >/dev/null
    fi
    pmd_ctl() { ovs-appctl -t "$W/ovs/ovs-vswitchd.ctl" "$@"; }
    port_kind="type=$ovs_port_type $(ovs-appctl -t "$d/ovs-vswitchd.ctl" dpif-netdev/pmd-rxq-show | grep -c "port: " | tr -d ' ') rxqs on $(ovs-appctl -t "$d/ovs-vswitchd.ctl" dpif-netdev/pmd-rxq-show | sed -n 's/^pmd thread numa_id [0-9]* core_id \([0-9]*\):.*/core \1/p' | head -1)"
    pmd_cpu=1
}

start_bridge() {
    nsx "$SW" ip link add br0 type bridge stp_state 0
    nsx "$SW" ip link set "$IW1" master br0
    nsx "$SW" ip link set "$IW2" master br0
    nsx "$SW" ip link set br0 up
    nsx "$SW" bridge fdb replace "$FRAME_DST" dev "$IW2" master static
    nsx "$SW" bridge fdb replace "$SINK_MAC" dev "$IW2" master static
    nsx "$SW" bridge fdb replace "$GEN_MAC" dev "$IW1" master static
    pmd_ctl() { :; }
    switch_pid="" pmd_cpu="" port_kind="Linux bridge, no RPS"
    if [ "$rps" = 1 ]; then
        nsx "$SW" sh -c "echo 2 > /sys/class/net/$IW1/queues/rx-0/rps_cpus; echo 2 > /sys/class/net/$IW2/queues/rx-0/rps_cpus"
        port_kind="Linux bridge, RPS to CPU 1"
    fi
}

start_system() {
    case "$1" in
        rvs-afxdp) start_rvs afxdp ;;
        rvs-afpacket) start_rvs "" ;;
        bridge) start_bridge ;;
        ovs) ovs_start ;;
        *) echo "unknown system $1" >&2; exit 2 ;;
    esac
}

# Waits until the sink sees frames forwarded (flows installed, ports up); fails after 20 s.
wait_forwarding() {
    local c0 c1
    c0=$(counter "$sink_holder" "$IS" rx)
    for _ in $(seq 40); do
        nsx "$GEN" ping -c1 -W1 10.99.0.2 >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    c1=$(counter "$sink_holder" "$IS" rx)
    echo "$1: nothing forwarded to the sink after 20 s (sink rx $c0 -> $c1)" >&2
    exit 1
}

# processing cycles of the PMD threads (pmd-stats-show, the same layout in rvs and OVS), or empty
pmd_busy() {
    pmd_ctl dpif-netdev/pmd-stats-show | awk '/^pmd thread/ { in_pmd = 1; next } /^[^ ]/ { in_pmd = 0 }
        in_pmd && $1 == "processing" && $2 == "cycles:" { s += $3; n++ } END { if (n) printf "%.0f\n", s }'
}

measure_udp() { # SYSTEM RUN -> appends to runs csv, prints a line
    local sys=$1 run=$2 out="$W/gen.out"
    nsx "$GEN" nice -n -20 "$BIN/rvs-udpgen" --iface "$IG" --cpu 0 --seconds $((WARMUP + dur + 1)) --flows "$flows" \
        --src-mac "$GEN_MAC" --dst-mac "$FRAME_DST" --src-ip 10.99.0.1 --dst-ip 10.99.0.2 >"$out" &
    aux="$!"
    sleep "$WARMUP"
    local t0 t1 g0 g1 s0 s1 p0 p1 q0 q1 k0 k1
    local cpus="all"; [ -n "$pmd_cpu" ] && cpus=0
    local b0 b1
    b0=$(pmd_busy)
    t0=$(now); g0=$(counter "$gen_holder" "$IG" tx); s0=$(counter "$sink_holder" "$IS" rx)
    k0=$(pmd_ns "$switch_pid"); p0=$(proc_ns "$switch_pid"); q0=$(softirq "$cpus")
    sleep "$dur"
    t1=$(now); g1=$(counter "$gen_holder" "$IG" tx); s1=$(counter "$sink_holder" "$IS" rx)
    k1=$(pmd_ns "$switch_pid"); p1=$(proc_ns "$switch_pid"); q1=$(softirq "$cpus")
    b1=$(pmd_busy)
    if [ -n "${VB_DEBUG:-}" ]; then
        { nsx "$SW" ip -s link show "$IW1"; nsx "$SW" ip -s link show "$IW2"; nsx "$SINK" ip -s link show "$IS"
          nsx "$SW" ethtool -S "$IW1" | grep -v ': 0$'; pmd_ctl dpif-netdev/pmd-stats-show
          grep -hi xdp "$W"/ovs/ovs-vswitchd.log "$W"/rvs/rvs-vswitchd.log 2>/dev/null | tail -8; } >&2 || true
    fi
    local busy="" pmd=""
    # (a PMD's counters can restart, e.g. when OVS reloads its PMD: no figure then)
    [ -n "$b0" ] && [ -n "$b1" ] && [ "$b1" -ge "$b0" ] && busy=$((b1 - b0))
    [ -n "$k0" ] && [ -n "$k1" ] && pmd=$((k1 - k0))
    wait "$aux" || { echo "$sys: generator failed" >&2; cat "$out" >&2; exit 1; }
    aux=""
    awk -v sys="$sys" -v run="$run" -v t0="$t0" -v t1="$t1" -v g="$((g1 - g0))" -v s="$((s1 - s0))" \
        -v p="$((p1 - p0))" -v q="$((q1 - q0))" -v hz="$USER_HZ" -v busy="$busy" -v tsc="$TSC_HZ" -v pmd="$pmd" 'BEGIN {
        secs = t1 - t0
        oncpu = (pmd == "") ? "" : sprintf("%.2f", pmd / 1e9 / secs)
        if (s <= 0) { printf "%s,%d,%.4f,0,,,,,,%s", sys, run, g / secs / 1e6, oncpu; exit }
        sw = p / s; si = q * 1e9 / hz / s
        if (busy != "") { b = busy * 1e9 / tsc / s; bs = sprintf("%.1f", b); bt = sprintf("%.1f", b + si) }
        else if (p == 0) { bs = ""; bt = sprintf("%.1f", si) }
        printf "%s,%d,%.4f,%.4f,%.1f,%.1f,%.1f,%s,%s,%s", sys, run, g / secs / 1e6, s / secs / 1e6, sw, si, sw + si, bs, bt, oncpu
    }' >>"$W/udp.line"
}

measure_tcp() { # -> prints Gbit/s or empty
    [ "$iperf_t" -gt 0 ] || { echo ""; return; }
    nsx "$SINK" nice -n -20 timeout $((iperf_t + 30)) iperf3 -s -1 -B 10.99.0.2 >/dev/null 2>&1 &
    aux="$!"
    sleep 0.5
    local json
    json=$(nsx "$GEN" nice -n -20 timeout $((iperf_t + 20)) iperf3 -c 10.99.0.2 -t "$iperf_t" -J 2>/dev/null || true)
    wait "$aux" 2>/dev/null || true
    aux=""
    python3 -c 'import json,sys
try: print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("")' <<<"$json"
}

IFS=, read -r -a syslist <<<"$systems"
# The generator and iperf3 run in this script's session group.
own_group_nice=$(sed -n 's/.* nice \(-*[0-9]*\)$/\1/p' /proc/$$/autogroup 2>/dev/null || true)
boost $$
runs_csv="${csv%.csv}-runs.csv"
echo "system,run,offered_mpps,fwd_mpps,switch_ns_per_pkt,softirq_ns_per_pkt,cpu_ns_per_pkt,pmd_busy_ns_per_pkt,busy_cpu_ns_per_pkt,pmd_oncpu,tcp_gbps" >"$runs_csv"
echo "veth-bench: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r), $(ovs-vswitchd --version | head -1)"
echo "  $runs runs x $dur s per system, 64-byte UDP, $flows flow(s); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %4s %8s %8s %7s %7s %7s %7s %7s %5s %6s  %s\n' system run offered fwd sw_ns sirq_ns cpu_ns busy_ns busycpu oncpu tcp "(Mpps; ns per forwarded frame; Gbit/s)"
for run in $(seq "$runs"); do
    for sys in "${syslist[@]}"; do
        topology
        start_system "$sys"
        wait_forwarding "$sys"
        : >"$W/udp.line"
        measure_udp "$sys" "$run"
        tcp=$(measure_tcp)
        line="$(cat "$W/udp.line"),$tcp"
        echo "$line" >>"$runs_csv"
        IFS=, read -r _ _ off fwd sw si cpu bz bc oc _ <<<"$line"
        printf '%-13s %4s %8s %8s %7s %7s %7s %7s %7s %5s %6s  %s\n' "$sys" "$run" "$off" "$fwd" "$sw" "$si" "$cpu" "${bz:--}" "$bc" "${oc:--}" "${tcp:--}" "$port_kind"
        teardown
    done
done

python3 - "$runs_csv" "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = ["offered_mpps", "fwd_mpps", "switch_ns_per_pkt", "softirq_ns_per_pkt", "cpu_ns_per_pkt",
        "pmd_busy_ns_per_pkt", "busy_cpu_ns_per_pkt", "pmd_oncpu", "tcp_gbps"]
order, med = [], {}
for r in rows:
    if r["system"] not in order:
        order.append(r["system"])
def median(sysname, col):
    v = [float(r[col]) for r in rows if r["system"] == sysname and r[col] not in ("", None)]
    return statistics.median(v) if v else None
for s in order:
    med[s] = {c: median(s, c) for c in cols}
    v = [float(r["fwd_mpps"]) for r in rows if r["system"] == s]
    med[s]["fwd_min"], med[s]["fwd_max"] = min(v), max(v)
f = lambda x, p=3: "-" if x is None else f"{x:.{p}f}"
print("\nMedians (Mpps; ns per forwarded frame; Gbit/s):")
print(f"{'system':13} {'offered':>8} {'fwd':>7} {'fwd min-max':>13} {'switch':>7} {'softirq':>7} {'CPU':>7} {'PMD busy':>8} {'busy CPU':>8} {'PMD oncpu':>9} {'TCP':>6}")
for s in order:
    m = med[s]
    print(f"{s:13} {f(m['offered_mpps']):>8} {f(m['fwd_mpps']):>7} {f(m['fwd_min'])+'-'+f(m['fwd_max']):>13} "
          f"{f(m['switch_ns_per_pkt'],0):>7} {f(m['softirq_ns_per_pkt'],0):>7} {f(m['cpu_ns_per_pkt'],0):>7} "
          f"{f(m['pmd_busy_ns_per_pkt'],0):>8} {f(m['busy_cpu_ns_per_pkt'],0):>8} {f(m['pmd_oncpu'],2):>9} {f(m['tcp_gbps'],2):>6}")
ratio = lambda a, b: None if a is None or b in (None, 0) else a / b
lines = []
for r in [s for s in order if s.startswith("rvs")]:
    for o in [s for s in ("bridge", "ovs") if s in order]:
        a, b = med[r], med[o]
        lines.append(f"{r+'/'+o:20} fwd x{f(ratio(a['fwd_mpps'], b['fwd_mpps']), 2):>5}   CPU/pkt x{f(ratio(a['cpu_ns_per_pkt'], b['cpu_ns_per_pkt']), 2):>5}"
                     f"   busy CPU/pkt x{f(ratio(a['busy_cpu_ns_per_pkt'], b['busy_cpu_ns_per_pkt']), 2):>5}   TCP x{f(ratio(a['tcp_gbps'], b['tcp_gbps']), 2):>5}")
if lines:
    print("\nRatios of medians (fwd, TCP: above 1 is better for rvs; CPU per frame: below 1 is better):")
    print("\n".join(lines))
with open(sys.argv[2], "w") as out:
    w = csv.writer(out)
    w.writerow(["system"] + [c + "_median" for c in cols] + ["fwd_mpps_min", "fwd_mpps_max", "runs"])
    for s in order:
        m = med[s]
        w.writerow([s] + ["" if m[c] is None else f"{m[c]:.4f}" for c in cols] + [f"{m['fwd_min']:.4f}", f"{m['fwd_max']:.4f}", sum(r["system"] == s for r in rows)])
print(f"\nCSV: {sys.argv[2]} (medians), {sys.argv[1]} (runs)")
EOF
