#!/usr/bin/env bash
# The demo: installs what is needed, builds rvs, and shows its main job. Two hosts in
# network namespaces talk through rvs-vswitchd's bridge br0 (AF_PACKET ports on veth pairs,
# checksum offload left on); then the flows, the megaflows, a trace and the PMD counters.
# Everything it creates (namespaces, daemon, /tmp/rvs-demo) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
bash ci/setup.sh
cargo build --workspace --bins
BIN="$PWD/target/debug"

D=/tmp/rvs-demo
export RVS_RUNDIR=$D/run RVS_DBDIR=$D/db RVS_LOGDIR=$D/log
cleanup() {
    [ -f $D/run/rvs-vswitchd.pid ] && kill "$(cat $D/run/rvs-vswitchd.pid)" 2>/dev/null && sleep 1
    for ns in rvsdemo-sw rvsdemo-h1 rvsdemo-h2; do ip netns del $ns 2>/dev/null || true; done
    rm -rf $D
}
trap cleanup EXIT
cleanup
mkdir -p $D
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

for ns in rvsdemo-sw rvsdemo-h1 rvsdemo-h2; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add sw-h1 netns rvsdemo-sw type veth peer name eth0 netns rvsdemo-h1
ip link add sw-h2 netns rvsdemo-sw type veth peer name eth0 netns rvsdemo-h2
for i in 1 2; do
    ip -n rvsdemo-sw link set sw-h$i up
    ip -n rvsdemo-h$i addr add 10.0.0.$i/24 dev eth0
    ip -n rvsdemo-h$i link set eth0 up
done

# The daemon runs inside rvsdemo-sw, so that its bridge interface br0 stays private.
ip netns exec rvsdemo-sw "$BIN/rvs-vswitchd" --detach --pidfile --log-file
step "$BIN/rvs-vsctl" set Open_vSwitch . other_config:pmd-sleep-max=500
step "$BIN/rvs-vsctl" add-br br0
step "$BIN/rvs-vsctl" add-port br0 sw-h1
step "$BIN/rvs-vsctl" add-port br0 sw-h2
step "$BIN/rvs-vsctl" show
step ip netns exec rvsdemo-h1 ping -c 3 -i 0.2 10.0.0.2
step "$BIN/rvs-ofctl" dump-flows br0
step "$BIN/rvs-appctl" dpctl/dump-flows
step "$BIN/rvs-appctl" fdb/show br0
step "$BIN/rvs-appctl" ofproto/trace br0 in_port=1,icmp,dl_src=$(ip netns exec rvsdemo-h1 cat /sys/class/net/eth0/address),dl_dst=$(ip netns exec rvsdemo-h2 cat /sys/class/net/eth0/address),nw_src=10.0.0.1,nw_dst=10.0.0.2
echo; echo "Now with explicit flows instead of NORMAL:"
step "$BIN/rvs-ofctl" del-flows br0
step "$BIN/rvs-ofctl" add-flow br0 in_port=1,actions=output:2
step "$BIN/rvs-ofctl" add-flow br0 in_port=2,actions=output:1
step ip netns exec rvsdemo-h1 ping -c 3 -i 0.2 10.0.0.2
step "$BIN/rvs-ofctl" dump-flows br0
step "$BIN/rvs-appctl" dpif/show
step "$BIN/rvs-appctl" dpif-netdev/pmd-stats-show
echo; echo "demo: done (everything it created is being removed)"
