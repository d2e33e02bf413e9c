//! A datapath without the daemon, driven step by step: for tests and benchmarks.
//!
//! # What
//! [`TestSwitch`] wires up what `rvs-vswitchd` would, minus threads, sockets and the config
//! store: one bridge ([`BridgeDp`] with its OpenFlow tables, MAC table and translation
//! configuration), N in-memory ports ([`MemoryPort`], each with its [`MemoryHandle`]), the
//! datapath port map, and one [`Pmd`] (or several, [`TestSwitchBuilder::pmds`]) whose transmit
//! handles are attached through [`PmdCommand`]s and whose receive queues are placed by the
//! switch's own scheduler ([`RxqScheduler`]), exactly as the switch does it. Nothing runs on its
//! own: the caller runs PMD iterations ([`TestSwitch::run`], each PMD in turn), revalidation
//! passes ([`TestSwitch::revalidate`]) and, for scheduling tests, the end of load measurement
//! intervals ([`TestSwitch::end_interval`]; the kit's PMDs never end one by the clock) on its
//! own thread, so a test is deterministic and a benchmark measures only the packet path.
//!
//! # Numbering
//! Port `i` (0-based, in the order given to the builder) has OpenFlow number `i + 1`, so the
//! rule `in_port=1,actions=output:2` sends from port 0 to port 1. Its datapath number is
//! `i + 1 + DP_PORT_OFFSET`: on purpose different from the OpenFlow number, so that a test
//! would catch a translation that confuses the two.
//!
//! # Ports
//! Each port is set up by a [`PortSetup`]: what it receives ([`PortRx`]: frames injected
//! through its handle, a replayed set of frames as DPDK's `net_pcap` with `infinite_rx`, or
//! nothing, in which case the PMD does not even poll it), what it does with transmitted packets
//! ([`MemoryTx`]: capture for inspection, or discard), whether it takes partial checksums as
//! they are (`tx_offload`), and its VLAN configuration for `NORMAL`.
//!
//! # Typical use
//! ```
//! use rvs_dataplane::testkit::{anchor_udp_frame, TestSwitch};
//! let mut sw = TestSwitch::new(2);
//! sw.add_flow_str("in_port=1,actions=output:2").unwrap();
//! sw.publish();
//! let frame = anchor_udp_frame([172, 16, 0, 1], [10, 0, 0, 1], 1024, 5000);
//! sw.port(0).inject(&frame);
//! sw.run(1);
//! let out = sw.captured(1);
//! assert_eq!(out.len(), 1);
//! assert_eq!(out[0].data(), &frame[..]);
//! assert_eq!(sw.counters().upcalls, 1);
//! ```
//!
//! # Costs
//! [`TestSwitch::run`] is [`Pmd::iteration`] in a loop, nothing more, so benchmarks built on it
//! measure the PMD: receive (a copy into a pooled buffer for memory ports), classification,
//! actions, transmit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use crossbeam_channel::Receiver;
use rvs_flowcache::mac_learning::{MacTable, DEFAULT_AGING_MS, DEFAULT_MAX_ENTRIES};
use rvs_flowcache::megaflow::Megaflow;
use rvs_flowcache::ofp::ALL_TABLES;
use rvs_flowcache::xlate::{VlanConfig, XPort, XlateBridge};
use rvs_flowcache::{FlowMod, FlowModCommand, FlowModError, FlowModOutcome, FlowTableWriter, OfPort};
use rvs_packet::PacketBuf;
use rvs_pmd::memory::MemoryOptions;
use rvs_pmd::{MemoryHandle, MemoryPort, MemoryRx, MemoryTx, Port, PortStats};

use crate::datapath::{BridgeDp, DatapathShared, DpPortInfo, DpPortMap, PacketIn, XlateConf};
use crate::pmd_loop::{Pmd, PmdCommand, PmdConfig, PmdShared, RxqHandoff};
use crate::pmd_sched::{PortSchedInfo, RxqScheduler, SchedSettings};
use crate::pmd_stats::PmdCounters;
use crate::revalidator::{RevalidatorCore, RevalidatorStats};

/// Datapath port number of port `i` is `i + 1 + DP_PORT_OFFSET` (its OpenFlow number is
/// `i + 1`).
pub const DP_PORT_OFFSET: u32 = 10;

/// Iterations [`TestSwitch::run_until_idle`] runs at most before giving up.
pub const IDLE_LIMIT: u64 = 1_000_000;

/// What a test port receives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PortRx {
    /// Frames injected through [`TestPort::inject`], each delivered once.
    #[default]
    Queue,
    /// These frames, looped over forever (a copy into a pooled buffer per packet, as DPDK's
    /// `net_pcap` with `infinite_rx`).
    Replay(Vec<Vec<u8>>),
    /// Nothing: the PMD does not poll the port (a transmit-only sink, as `net_null` with
    /// `no-rx`).
    None,
}

/// How to set up one port of a [`TestSwitch`].
#[derive(Clone, Debug)]
pub struct PortSetup {
    /// What it receives.
    pub rx: PortRx,
    /// What it does with transmitted packets.
    pub tx: MemoryTx,
    /// Takes partial checksums (and GSO super-frames) as they are; otherwise they are completed
    /// in software before capture, like a device without offload.
    pub tx_offload: bool,
    /// VLAN configuration for `NORMAL`.
    pub vlan: VlanConfig,
}

impl Default for PortSetup {
    /// Injected frames in, captured packets out, offload-capable, a trunk of every VLAN.
    fn default() -> Self {
        PortSetup { rx: PortRx::Queue, tx: MemoryTx::Capture, tx_offload: true, vlan: VlanConfig::default() }
    }
}

impl PortSetup {
    /// A port that replays `frames` forever and discards what it is sent.
    pub fn replay(frames: Vec<Vec<u8>>) -> Self {
        PortSetup { rx: PortRx::Replay(frames), tx: MemoryTx::Discard, ..Default::default() }
    }

    /// A port that receives nothing and discards what it is sent.
    pub fn sink() -> Self {
        PortSetup { rx: PortRx::None, tx: MemoryTx::Discard, ..Default::default() }
    }
}

/// One port of a [`TestSwitch`].
pub struct TestPort {
    name: String,
    port: Arc<MemoryPort>,
    handle: MemoryHandle,
    ofport: OfPort,
    dp_port: u32,
    vlan: VlanConfig,
}

impl TestPort {
    /// Queues a copy of `frame` for reception (injecting ports only).
    pub fn inject(&self, frame: &[u8]) {
        self.handle.inject(frame);
    }

    /// Queues a packet with its metadata (offload state, for example) for reception.
    pub fn inject_packet(&self, packet: PacketBuf) {
        self.handle.inject_packet(packet);
    }

    /// Takes the packets captured so far, oldest first.
    pub fn take_captured(&self) -> Vec<PacketBuf> {
        self.handle.take_captured()
    }

    /// The port's memory handle (replay set, capture mode, carrier).
    pub fn handle(&self) -> &MemoryHandle {
        &self.handle
    }

    /// The port's counters (receive, transmit, offload work done in software).
    pub fn stats(&self) -> PortStats {
        self.port.stats()
    }

    /// OpenFlow port number.
    pub fn ofport(&self) -> OfPort {
        self.ofport
    }

    /// Datapath port number.
    pub fn dp_port(&self) -> u32 {
        self.dp_port
    }

    /// Interface name (unique in the process).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Builds a [`TestSwitch`] port by port.
#[derive(Clone, Debug, Default)]
pub struct TestSwitchBuilder {
    ports: Vec<PortSetup>,
    pmd: PmdConfig,
    n_pmds: usize,
}

impl TestSwitchBuilder {
    /// Adds a port (OpenFlow number: its position, from 1).
    pub fn port(mut self, setup: PortSetup) -> Self {
        self.ports.push(setup);
        self
    }

    /// Adds `n` ports set up alike.
    pub fn ports(mut self, n: usize, setup: PortSetup) -> Self {
        self.ports.extend(std::iter::repeat_n(setup, n));
        self
    }

    /// PMD settings (EMC insertion probability, flow limit).
    pub fn pmd_config(mut self, config: PmdConfig) -> Self {
        self.pmd = config;
        self
    }

    /// Number of PMDs (default 1). PMD `i` stands for core `i` in assignments.
    pub fn pmds(mut self, n: usize) -> Self {
        self.n_pmds = n;
        self
    }

    /// Builds the switch: bridge, ports, PMD with its queues attached. Its tables are empty
    /// (every packet is dropped until rules are added and published).
    pub fn build(self) -> TestSwitch {
        static SWITCHES: AtomicU64 = AtomicU64::new(0);
        let id = SWITCHES.fetch_add(1, Ordering::Relaxed);
        let (packet_in_tx, packet_in_rx) = crossbeam_channel::bounded(crate::switch::PACKET_IN_QUEUE);
        let dp = Arc::new(DatapathShared::new(packet_in_tx));
        let writer = FlowTableWriter::new();
        let bridge = Arc::new(BridgeDp {
            name: format!("br-test{id}"),
            tables: writer.reader(),
            xlate: ArcSwap::from_pointee(XlateConf::default()),
            macs: Mutex::new(MacTable::new(DEFAULT_AGING_MS, DEFAULT_MAX_ENTRIES)),
        });
        let config = PmdConfig { interval_ms: 0, ..self.pmd };
        let (mut pmd, pmd_shared) = Pmd::new(0, None, dp.clone(), config);
        let mut extra = Vec::new();
        let mut shareds = vec![pmd_shared.clone()];
        for id in 1..self.n_pmds.max(1) {
            let (p, s) = Pmd::new(id, None, dp.clone(), config);
            extra.push(p);
            shareds.push(s);
        }
        let pmds = Arc::new(ArcSwap::from_pointee(shareds.clone()));
        let mut sched = RxqScheduler::default();
        let mut map = DpPortMap::default();
        let mut ports = Vec::with_capacity(self.ports.len());
        for (i, setup) in self.ports.into_iter().enumerate() {
            let name = format!("ts{id}p{i}");
            let ofport = OfPort(i as u32 + 1);
            let dp_port = ofport.0 + DP_PORT_OFFSET;
            let rx = match &setup.rx {
                PortRx::Replay(frames) => MemoryRx::Replay(frames.clone()),
                PortRx::Queue | PortRx::None => MemoryRx::Queue,
            };
            let opts = MemoryOptions { tx_offload: setup.tx_offload, ..MemoryOptions::default() };
            let (port, handle) = MemoryPort::with_options(&name, rx, setup.tx, opts);
            // As the switch does: transmit handles first, then receive queues.
            for s in &shareds {
                let txq = port.open_txq().expect("a memory port always opens a transmit handle");
                s.send(PmdCommand::AddTxq { dp_port, txq });
            }
            if setup.rx != PortRx::None {
                let rxq = port.open_rxq(0).expect("queue 0 of a fresh memory port is free");
                sched.park(RxqHandoff::new(dp_port, 0, rxq));
            }
            map = map.with(DpPortInfo { dp_port, name: name.clone(), bridge: bridge.clone(), ofport });
            ports.push(TestPort { name, port, handle, ofport, dp_port, vlan: setup.vlan });
        }
        dp.ports.store(Arc::new(map));
        pmd.apply_pending_commands();
        settle(&mut pmd, &mut extra);
        let infos = port_infos(&ports);
        sched.reschedule(&shareds, &infos, &mut || settle(&mut pmd, &mut extra));
        let revalidator = RevalidatorCore::new(dp.clone(), pmds);
        let mut sw = TestSwitch {
            dp,
            bridge,
            writer,
            xlate_generation: 0,
            ports,
            pmd,
            pmd_shared,
            extra,
            shareds,
            sched,
            revalidator,
            revalidator_stats: RevalidatorStats::default(),
            packet_in_rx,
        };
        sw.refresh_xlate();
        sw
    }
}

/// A bridge, its memory ports and one PMD, run synchronously. See the module documentation.
pub struct TestSwitch {
    dp: Arc<DatapathShared>,
    bridge: Arc<BridgeDp>,
    writer: FlowTableWriter,
    xlate_generation: u64,
    ports: Vec<TestPort>,
    pmd: Pmd,
    pmd_shared: Arc<PmdShared>,
    /// PMDs 1.. (PMD 0 is `pmd`).
    extra: Vec<Pmd>,
    /// Every PMD's handle, PMD 0 first.
    shareds: Vec<Arc<PmdShared>>,
    sched: RxqScheduler,
    revalidator: RevalidatorCore,
    revalidator_stats: RevalidatorStats,
    packet_in_rx: Receiver<PacketIn>,
}

impl TestSwitch {
    /// A switch with `n_ports` ports that take injected frames and capture what they are sent
    /// ([`PortSetup::default`]), and the default PMD settings.
    pub fn new(n_ports: usize) -> TestSwitch {
        Self::builder().ports(n_ports, PortSetup::default()).build()
    }

    /// A builder, to choose each port's setup and the PMD settings.
    pub fn builder() -> TestSwitchBuilder {
        TestSwitchBuilder::default()
    }

    /// Port `i` (0-based; OpenFlow number `i + 1`).
    pub fn port(&self, i: usize) -> &TestPort {
        &self.ports[i]
    }

    /// Number of ports.
    pub fn n_ports(&self) -> usize {
        self.ports.len()
    }

    // --- OpenFlow rules

    /// Applies a flow-mod to the bridge's tables; PMDs see it after [`TestSwitch::publish`].
    pub fn add_flow(&mut self, fm: &FlowMod) -> Result<FlowModOutcome, FlowModError> {
        let now = self.dp.now_ms();
        self.writer.apply(fm, now)
    }

    /// Applies flow-mods in order, stopping at the first refused one.
    pub fn add_flows<'a>(&mut self, fms: impl IntoIterator<Item = &'a FlowMod>) -> Result<(), FlowModError> {
        for fm in fms {
            self.add_flow(fm)?;
        }
        Ok(())
    }

    /// Parses a line in `ovs-ofctl add-flows` syntax (`priority=10,udp,actions=output:2`, or
    /// with a leading `modify`/`delete`/`..._strict` command) and applies it. Without `table=`
    /// an add or modify goes to table 0, as `ovs-ofctl` sends it. Not published yet.
    pub fn add_flow_str(&mut self, line: &str) -> Result<FlowModOutcome, String> {
        let parsed = rvs_openflow::text::parse_flow_line(line, None).map_err(|e| format!("{line}: {e}"))?;
        let mut fm = parsed.flow_mod;
        if fm.table_id == ALL_TABLES && !matches!(fm.command, FlowModCommand::Delete | FlowModCommand::DeleteStrict) {
            fm.table_id = 0;
        }
        self.add_flow(&fm).map_err(|e| format!("{line}: {e}"))
    }

    /// Applies every line with [`TestSwitch::add_flow_str`], then publishes. Panics with the
    /// offending line if one is refused (a test kit convenience).
    pub fn flows(&mut self, lines: &[&str]) {
        for line in lines {
            if let Err(e) = self.add_flow_str(line) {
                panic!("flow refused: {e}");
            }
        }
        self.publish();
    }

    /// Publishes the pending rule changes to the datapath (one new pipeline version). Returns
    /// whether there was anything to publish. Megaflows already cached keep forwarding by the
    /// old rules until a revalidation pass ([`TestSwitch::revalidate`]) deletes them.
    pub fn publish(&mut self) -> bool {
        if !self.writer.has_unpublished() {
            return false;
        }
        self.writer.publish();
        true
    }

    /// The bridge's OpenFlow tables, writer side.
    pub fn writer(&mut self) -> &mut FlowTableWriter {
        &mut self.writer
    }

    // --- ports and bridge configuration

    /// Changes the VLAN configuration of port `i` for `NORMAL` (a new configuration
    /// generation: megaflows translated under the old one are revalidated).
    pub fn set_port_vlan(&mut self, i: usize, vlan: VlanConfig) {
        self.ports[i].vlan = vlan;
        self.refresh_xlate();
    }

    fn refresh_xlate(&mut self) {
        let mut xb = XlateBridge { name: self.bridge.name.clone(), ..Default::default() };
        for p in &self.ports {
            xb.ports.insert(
                p.ofport,
                XPort {
                    ofport: p.ofport,
                    dp_port: p.dp_port,
                    name: p.name.clone(),
                    vlan: p.vlan.clone(),
                    no_flood: false,
                    no_fwd: false,
                },
            );
        }
        self.xlate_generation += 1;
        self.bridge.xlate.store(Arc::new(XlateConf { bridge: xb, generation: self.xlate_generation }));
    }

    /// The bridge as the datapath sees it (tables reader, translation configuration, MAC
    /// table).
    pub fn bridge(&self) -> &Arc<BridgeDp> {
        &self.bridge
    }

    /// The datapath state shared with the PMD.
    pub fn datapath(&self) -> &Arc<DatapathShared> {
        &self.dp
    }

    // --- running

    /// Runs `iterations` PMD iterations: each polls every receiving port once (up to one burst
    /// of 32 packets each), processes what came in, flushes transmit buffers, and applies
    /// pending commands.
    #[inline]
    pub fn run(&mut self, iterations: u64) {
        for _ in 0..iterations {
            self.pmd.iteration();
            for p in &mut self.extra {
                p.iteration();
            }
        }
    }

    /// Runs iterations until one receives nothing; returns how many ran. Panics after
    /// [`IDLE_LIMIT`] iterations (a replaying port never goes idle).
    pub fn run_until_idle(&mut self) -> u64 {
        for n in 1..=IDLE_LIMIT {
            let received = |sw: &Self| sw.pmd.counters().rx_packets + sw.extra.iter().map(|p| p.counters().rx_packets).sum::<u64>();
            let before = received(self);
            self.run(1);
            if received(self) == before {
                return n;
            }
        }
        panic!("the PMD still received packets after {IDLE_LIMIT} iterations (a replaying port?)");
    }

    /// Takes what port `i` captured so far, oldest first.
    pub fn captured(&self, i: usize) -> Vec<PacketBuf> {
        self.ports[i].take_captured()
    }

    /// The PMD's counters, live (cumulative since the switch was built).
    pub fn counters(&self) -> &PmdCounters {
        self.pmd.counters()
    }

    /// The PMD itself, for what the kit does not wrap.
    pub fn pmd_mut(&mut self) -> &mut Pmd {
        &mut self.pmd
    }

    /// Sends the PMD a command and has it applied now.
    pub fn command(&mut self, cmd: PmdCommand) {
        self.pmd_shared.send(cmd);
        self.pmd.apply_pending_commands();
    }

    /// New PMD settings, applied now.
    pub fn configure_pmd(&mut self, config: PmdConfig) {
        self.command(PmdCommand::Configure(config));
    }

    /// Empties the PMD's caches (megaflows and exact-match cache), as
    /// `rvs-appctl dpctl/del-flows` does.
    pub fn flush_caches(&mut self) {
        self.command(PmdCommand::FlushFlows);
    }

    // --- caches and revalidation

    /// Number of megaflows the PMD holds.
    pub fn n_megaflows(&self) -> usize {
        self.pmd.n_megaflows()
    }

    /// Number of deleted megaflows the PMD keeps to set up new ones in.
    pub fn n_pooled_megaflows(&self) -> usize {
        self.pmd.n_pooled_megaflows()
    }

    /// Number of the PMD's exact-match cache entries holding a live megaflow.
    pub fn n_emc_entries(&self) -> usize {
        self.pmd.n_emc_entries()
    }

    /// The PMD's installed megaflows (its registry, as the revalidator sees it).
    pub fn megaflows(&self) -> Vec<Arc<Megaflow>> {
        let reg = self.pmd_shared.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut flows: Vec<Arc<Megaflow>> = reg.values().cloned().collect();
        flows.sort_by_key(|f| f.id);
        flows
    }

    /// Runs one revalidation pass on this thread (the revalidator's own code,
    /// [`RevalidatorCore::pass`]): credits rule counters, deletes idle megaflows and those the
    /// current tables and configuration no longer produce; then has the PMD apply the
    /// deletions. Returns the pass's counts.
    pub fn revalidate(&mut self) -> RevalidatorStats {
        let pass = self.revalidator.pass(false);
        settle(&mut self.pmd, &mut self.extra);
        self.revalidator_stats.add(&pass);
        pass
    }

    /// Sets the revalidator's `max-idle` (milliseconds).
    pub fn set_max_idle(&mut self, ms: u64) {
        self.revalidator.set_max_idle(ms);
    }

    /// Counts of every revalidation pass so far.
    pub fn revalidator_stats(&self) -> &RevalidatorStats {
        &self.revalidator_stats
    }

    /// Takes the packet-ins the PMD queued for the control thread.
    pub fn packet_ins(&self) -> Vec<PacketIn> {
        self.packet_in_rx.try_iter().collect()
    }
}

/// Makes every PMD apply the commands sent to it so far.
fn settle(pmd: &mut Pmd, extra: &mut [Pmd]) {
    pmd.apply_pending_commands();
    for p in extra {
        p.apply_pending_commands();
    }
}

/// What scheduling needs of the kit's ports.
fn port_infos(ports: &[TestPort]) -> HashMap<u32, PortSchedInfo> {
    ports.iter().map(|p| (p.dp_port, PortSchedInfo { name: p.name.clone(), numa: None, affinity: Default::default() })).collect()
}

/// Receive queue scheduling with several PMDs ([`TestSwitchBuilder::pmds`]).
impl TestSwitch {
    /// Number of PMDs.
    pub fn n_pmds(&self) -> usize {
        self.shareds.len()
    }

    /// PMD `i`'s handle (published counters, queues, measurement rings).
    pub fn pmd_shared(&self, i: usize) -> &Arc<PmdShared> {
        &self.shareds[i]
    }

    /// PMD `i`'s live counters.
    pub fn counters_of(&self, i: usize) -> &PmdCounters {
        if i == 0 {
            self.pmd.counters()
        } else {
            self.extra[i - 1].counters()
        }
    }

    /// The PMD polling port `i`'s receive queue, if one does.
    pub fn pmd_of_port(&self, i: usize) -> Option<usize> {
        let dp_port = self.ports[i].dp_port;
        self.shareds.iter().position(|s| s.rxqs.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|e| e.dp_port == dp_port))
    }

    /// Ends the current load measurement interval of every PMD.
    pub fn end_interval(&mut self) {
        self.pmd.end_interval();
        for p in &mut self.extra {
            p.end_interval();
        }
    }

    /// New scheduling settings (assignment algorithm, isolation, auto load balance).
    pub fn set_sched_settings(&mut self, settings: SchedSettings) {
        self.sched.settings = settings;
    }

    /// Assigns the queues afresh from the measurements, as `pmd-rxq-rebalance`; returns how
    /// many moved.
    pub fn rebalance(&mut self) -> usize {
        let infos = port_infos(&self.ports);
        let TestSwitch { sched, shareds, pmd, extra, .. } = self;
        sched.reschedule(shareds, &infos, &mut || settle(pmd, extra))
    }

    /// The auto load balance check as it runs once its interval has passed (overload, dry
    /// run, re-balance); `Some(moved)` if it re-balanced.
    pub fn auto_lb_check(&mut self) -> Option<usize> {
        let infos = port_infos(&self.ports);
        let TestSwitch { sched, shareds, pmd, extra, .. } = self;
        sched.check_and_rebalance(shareds, &infos, &mut || settle(pmd, extra))
    }

    /// What the last assignment or check decided, in OVS's log wording.
    pub fn sched_log(&self) -> &[String] {
        &self.sched.log
    }
}

/// A 60-byte Ethernet/IPv4/UDP frame (64 bytes on the wire with the FCS) exactly as
/// `anchor-bench/gen_pcaps.py` builds them: MACs 02:00:00:00:00:01 -> 02:00:00:00:00:02, IPv4
/// with DF, TTL 64, id 0 and a valid header checksum, UDP checksum 0 (none), 18 zero bytes of
/// payload.
pub fn anchor_udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    const PAYLOAD: usize = 18;
    let ulen = (8 + PAYLOAD) as u16;
    let total = 20 + ulen;
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let csum = rvs_packet::checksum::finish(rvs_packet::checksum::sum(&ip, 0));
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&ulen.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(60, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_frame_matches_gen_pcaps() {
        // flow1.pcap's frame, as gen_pcaps.py writes it (bytes from the script's output).
        let expected = concat!(
            "020000000002", "020000000001", "0800",
            "45000 02e 0000 4000 4011 84ad ac100001 0a000001",
            "0400 1388 001a 0000",
            "000000000000000000000000000000000000",
        )
        .replace(' ', "");
        let f = anchor_udp_frame([172, 16, 0, 1], [10, 0, 0, 1], 1024, 5000);
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn ports_are_numbered_and_wired() {
        let mut sw = TestSwitch::builder().port(PortSetup::default()).port(PortSetup::sink()).build();
        assert_eq!((sw.port(0).ofport(), sw.port(0).dp_port()), (OfPort(1), 1 + DP_PORT_OFFSET));
        sw.flows(&["in_port=1,actions=output:2"]);
        sw.port(0).inject(&anchor_udp_frame([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
        assert_eq!(sw.run_until_idle(), 2);
        assert_eq!(sw.port(1).stats().tx_packets, 1);
        assert_eq!(sw.n_megaflows(), 1);
        assert_eq!(sw.megaflows()[0].key.in_port, sw.port(0).dp_port());
    }
}
