//! Benchmarks of rvs.
//!
//! * [`anchor`]: the frames and rules of `anchor-bench/gen_pcaps.py`, generated in Rust, so that
//!   the numbers here compare with the anchor measurements of testpmd and OVS-DPDK
//!   (`shared/tools/anchor-bench/RESULTS.md`).
//! * [`scenario`]: the PMD pipeline on in-memory ports (replay -> PMD -> discard, one core, no
//!   thread) in the four anchor scenarios, ready to time.
//! * [`pcap`]: those frames as pcap files, for DPDK's `net_pcap`.
//! * [`harness`]: `rvs-bench`, rvs against OVS-DPDK and `dpdk-testpmd` end to end, with the same
//!   DPDK vdevs and traffic (`ci/bench.sh` builds with `--features rvs-dataplane/dpdk` and runs it).
//!
//! Two ways to run them:
//!
//! ```text
//! # criterion, one group per scenario, throughput in packets (elements) per second
//! CARGO_TARGET_DIR=/work/targets/perf cargo bench -p rvs-benches --bench pmd_pipeline
//! CARGO_TARGET_DIR=/work/targets/perf cargo bench -p rvs-benches --bench pmd_pipeline -- 1flow
//! # quick table: ns/packet and Mpps by wall and thread CPU time, cache hit shares
//! CARGO_TARGET_DIR=/work/targets/perf cargo run --release -p rvs-benches --bin rvs-pmd-bench -- -r 5 -d 2
//! ```
//!
//! With `RVS_BENCH_CLOCK=cpu` criterion times the benchmark thread's CPU time instead of wall
//! time: on a shared machine that leaves out the time other jobs took from it (the anchor's
//! `mpps_norm`).
#![warn(missing_docs)]

pub mod anchor;
pub mod harness;
pub mod pcap;
pub mod scenario;
