#!/usr/bin/env bash
# Installs what building and testing rvs needs on Debian 12 (run as root).
# Rust itself is expected (rustup); everything else comes from Debian.
set -euo pipefail
# clang: AF_XDP ports (rvs-dataplane's default feature af-xdp) compile pmd/bpf/xsk_redirect.bpf.c
# (Debian's clang 14 works); the kernel UAPI headers come from linux-libc-dev, which the C
# toolchain already pulls in. No libbpf/libxdp packages are needed.
# libdpdk-dev + pkg-config: DPDK ports (feature dpdk; pmd/build.rs compiles pmd/dpdk/shim.c with
# `pkg-config --cflags libdpdk` and links DPDK's shared libraries; no bindgen/libclang needed).
# The DPDK tests need no hugepages: without free ones EAL runs with --no-huge.
need=()
for p in libdpdk-dev pkg-config clang iproute2 iputils-ping iperf3 tcpdump python3 python3-venv ethtool jq openvswitch-switch openvswitch-common; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "ci/setup.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# The Debian package starts nothing here (no systemd in containers), but make sure no
# system ovs-vswitchd holds veths we create.
if pgrep -x ovs-vswitchd >/dev/null 2>&1; then
    echo "ci/setup.sh: note: a system ovs-vswitchd is running; rvs tests use private namespaces and do not touch it"
fi
# os-ken, the OpenFlow library Neutron uses, for the controller test (ci/tests/controller_osken.rs).
# 3.1.0 is the last release that ships osken-manager. The test looks here (or in
# $RVS_OSKEN_VENV) and otherwise installs it into a temporary environment of its own.
osken_venv="${RVS_OSKEN_VENV:-/opt/rvs/osken-venv}"
if [ ! -x "$osken_venv/bin/osken-manager" ]; then
    echo "ci/setup.sh: installing os-ken 3.1.0 into $osken_venv"
    rm -rf "$osken_venv"
    python3 -m venv "$osken_venv"
    "$osken_venv/bin/pip" install -q os-ken==3.1.0
fi
command -v cargo >/dev/null || { echo "ci/setup.sh: cargo not found: install Rust (rustup) first" >&2; exit 1; }
