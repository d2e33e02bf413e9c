#!/usr/bin/env bash
# rvs-bench in one command: rvs, OVS-DPDK and dpdk-testpmd io forwarding side by side.
#   sudo ./ci/bench.sh                                  # all scenarios, 3 runs x 10 s each
#   sudo ./ci/bench.sh --csv bench.csv --plot bench.svg --runs 5
#   sudo ./ci/bench.sh --scenario 1flow --systems rvs,testpmd --duration 5
# Installs what it needs (Debian 12), builds rvs with DPDK ports (release), runs
# target/release/rvs-bench with the arguments given (see rvs-bench --help).
#
# Packages: libdpdk-dev + pkg-config (rvs's DPDK ports), dpdk-dev (dpdk-testpmd),
# openvswitch-switch-dpdk (OVS 3.1 built with DPDK: /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk).
# openvswitch-switch-dpdk registers ovs-vswitchd-dpdk as an alternative for /usr/sbin/ovs-vswitchd
# with priority 50, below the plain build's 100, so in auto mode /usr/sbin/ovs-vswitchd stays the
# plain OVS the interoperability tests use; rvs-bench runs the DPDK binary by its full path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "ci/bench.sh: needs root (hugepages, network namespaces)" >&2
    exit 1
fi
need=()
for p in libdpdk-dev pkg-config clang dpdk-dev openvswitch-switch openvswitch-common openvswitch-switch-dpdk iproute2; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "ci/bench.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi
plain=/usr/lib/openvswitch-switch/ovs-vswitchd
if [ -e "$plain" ] && [ "$(readlink -f /usr/sbin/ovs-vswitchd)" != "$plain" ]; then
    echo "ci/bench.sh: note: /usr/sbin/ovs-vswitchd points to $(readlink -f /usr/sbin/ovs-vswitchd), not the plain" \
         "OVS; 'update-alternatives --auto ovs-vswitchd' restores it (rvs-bench does not need it either way)" >&2
fi
command -v cargo >/dev/null || { echo "ci/bench.sh: cargo not found: install Rust (rustup) first" >&2; exit 1; }
cargo build --release -p rvs-dataplane -p rvs-ctl -p rvs-benches --features rvs-dataplane/dpdk --bins
exec "${CARGO_TARGET_DIR:-target}/release/rvs-bench" "$@"
