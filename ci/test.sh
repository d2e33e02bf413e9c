#!/usr/bin/env bash
# The test command of rvs.
#   ci/test.sh            unit and property tests, then integration tests (root)
#   ci/test.sh unit       only the fast unit and property tests (no root needed)
#   ci/test.sh integration
# Integration tests need root (network namespaces). Without root they print
# "SKIPPED" and are reported as skipped below, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if [ "$mode" = all ] || [ "$mode" = unit ]; then
    echo "== unit and property tests"
    cargo test --workspace --exclude rvs-ci
    echo "== DPDK ports (feature dpdk: pmd vdev tests, daemon built with DPDK)"
    cargo test -p rvs-pmd -p rvs-dataplane --features rvs-pmd/dpdk,rvs-dataplane/dpdk
fi

if [ "$mode" = all ] || [ "$mode" = integration ]; then
    echo "== integration tests (namespaces, veth, iperf3; one at a time on this machine)"
    # The daemon is built with DPDK ports, so that tests/dpdk.rs can use them.
    cargo build --workspace --bins --features rvs-dataplane/dpdk
    skips="$(mktemp)"
    trap 'rm -f "$skips"' EXIT
    RVS_SKIP_LOG="$skips" cargo test -p rvs-ci --features dpdk -- --test-threads=1
    if [ -s "$skips" ]; then
        echo "== SKIPPED (need root), not passed:"
        sed 's/^/   /' "$skips"
        if [ "$(id -u)" = 0 ]; then exit 1; fi
    fi
fi
echo "== all requested tests passed"
