//! The switch as the control thread owns it: bridges, ports, PMD threads, and their wiring.
//!
//! # Numbering
//! * Datapath ports are numbered from 1 across all bridges (0 is the datapath itself, as in
//!   OVS's `ovs-netdev`), lowest free number first.
//! * OpenFlow ports are per bridge: `ofport_request` if set and free, else the number the port
//!   had before (kept in the config so numbers survive restarts), else the lowest free number
//!   from 1 in the order ports are added. The bridge's own internal port is `LOCAL` (65534).
//!
//! # Placement
//! Each PMD thread runs on one CPU of `other_config:pmd-cpu-mask` (default: the last CPU),
//! pinned to it. Receive queues are spread over PMDs by [`crate::pmd_sched`] (OVS's
//! `pmd-rxq-assign`, `pmd-rxq-affinity`, `pmd-auto-lb`) whenever ports, PMDs or those settings
//! change. Every PMD gets its own transmit handle for every port, and the control thread one
//! more (packet-out).
//!
//! # Changing things
//! Port and bridge changes update the datapath port map (one atomic swap) and the bridge's
//! translation configuration (new generation, so the revalidator re-translates megaflows that
//! depended on the old one), then tell the PMDs, waiting for them where removal requires it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::thread;

use arc_swap::ArcSwap;
use rvs_flowcache::mac_learning::{MacTable, DEFAULT_AGING_MS, DEFAULT_MAX_ENTRIES};
use rvs_flowcache::xlate::{VlanConfig, VlanMode, XPort, XlateBridge};
use rvs_flowcache::{FlowMod, FlowModCommand, FlowTableWriter, OfAction, OfPort};
use rvs_pmd::{open_port, Port, PortKind, PortSpec, TxQueue};

use crate::config::{parse_cpu_mask, parse_datapath_id, BridgeConfig, PortConfig, SwitchConfig};
use crate::dpdk_init;
use crate::vlog;
use crate::datapath::{BridgeDp, DatapathShared, DpPortInfo, PacketIn, XlateConf};
use crate::pmd_loop::{Pmd, PmdCommand, PmdConfig, PmdShared, RxqHandoff};
use crate::pmd_sched::RxqScheduler;
use crate::revalidator::{Revalidator, DEFAULT_MAX_IDLE_MS};
use crate::store::{self, FlowSaver, Paths};

/// OpenFlow `OFPPC_*` port configuration bits (set by port-mod).
pub mod port_config {
    /// Port is administratively down.
    pub const PORT_DOWN: u32 = 1 << 0;
    /// Drop all packets received by the port.
    pub const NO_RECV: u32 = 1 << 2;
    /// Drop packets forwarded to the port.
    pub const NO_FWD: u32 = 1 << 5;
    /// Do not send packet-in messages for the port.
    pub const NO_PACKET_IN: u32 = 1 << 6;
    /// Do not include the port when flooding (OpenFlow 1.0 bit).
    pub const NO_FLOOD: u32 = 1 << 4;
}

/// One port of a bridge.
pub struct BridgePort {
    /// Name.
    pub name: String,
    /// OpenFlow number.
    pub ofport: OfPort,
    /// Datapath number.
    pub dp_port: u32,
    /// The open port.
    pub port: Arc<dyn Port>,
    /// `OFPPC_*` bits.
    pub config: u32,
    /// When the port was added (for the duration in port statistics).
    pub added: std::time::Instant,
}

/// One bridge.
pub struct Bridge {
    /// Name.
    pub name: String,
    /// What the datapath sees.
    pub dp: Arc<BridgeDp>,
    /// The OpenFlow tables, writer side.
    pub writer: FlowTableWriter,
    /// Ports by OpenFlow number.
    pub ports: BTreeMap<OfPort, BridgePort>,
    /// Datapath id.
    pub datapath_id: u64,
    /// Fail-open: switch everything with `NORMAL` (set by the OpenFlow server).
    pub fail_open: bool,
    /// Send table misses to the controller, as OpenFlow 1.0 does (set by the OpenFlow server).
    pub miss_to_controller: bool,
    /// OpenFlow groups by number ([`crate::groups`]).
    pub groups: BTreeMap<u32, Arc<rvs_flowcache::group::Group>>,
    xlate_generation: u64,
}

impl Bridge {
    /// The port called `name`.
    pub fn port_by_name(&self, name: &str) -> Option<&BridgePort> {
        self.ports.values().find(|p| p.name == name)
    }

    /// The port with datapath number `dp_port`.
    pub fn port_by_dp(&self, dp_port: u32) -> Option<&BridgePort> {
        self.ports.values().find(|p| p.dp_port == dp_port)
    }
}

/// Errors of configuration changes, worded for `rvs-vsctl` users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// The switch. See the module documentation.
pub struct Switch {
    /// Files.
    pub paths: Paths,
    /// Configuration (what the store holds).
    pub cfg: SwitchConfig,
    /// Shared with PMDs.
    pub dp: Arc<DatapathShared>,
    /// PMD handles (shared with the revalidator).
    pub pmds: Arc<ArcSwap<Vec<Arc<PmdShared>>>>,
    pmd_threads: Vec<thread::JoinHandle<()>>,
    pmd_config: PmdConfig,
    /// The revalidator.
    pub revalidator: Revalidator,
    /// The rules writer.
    pub saver: FlowSaver,
    /// Bridges by name.
    pub bridges: BTreeMap<String, Bridge>,
    used_dp_ports: BTreeSet<u32>,
    /// The control thread's transmit handles (packet-out), by datapath port.
    pub control_txqs: HashMap<u32, Box<dyn TxQueue>>,
    /// Packet-ins from PMDs.
    pub packet_in_rx: crossbeam_channel::Receiver<PacketIn>,
    /// Packet-ins dropped for lack of a controller.
    pub packet_ins_unsent: u64,
    /// Packet-ins queued to controller connections (one per connection).
    pub packet_ins_sent: u64,
    /// Packet-ins a connection's full output queue refused.
    pub packet_ins_queue_full: u64,
    /// Packet-ins a connection's rate limit refused.
    pub packet_ins_rate_limited: u64,
    /// Errors met while restoring or applying configuration, per interface (shown by
    /// `rvs-vsctl show` like OVS's `error` column).
    pub port_errors: BTreeMap<String, String>,
    /// Receive queue scheduling.
    pub sched: RxqScheduler,
}

/// Depth of the packet-in queue from PMDs to the control thread.
pub const PACKET_IN_QUEUE: usize = 1024;

impl Switch {
    /// Starts PMDs, the revalidator and the saver, then restores the stored configuration and
    /// rules. Ports that cannot be opened are kept in the configuration and reported.
    pub fn start(paths: Paths) -> std::io::Result<Switch> {
        let cfg = store::load_config(&paths)?;
        let (pi_tx, pi_rx) = crossbeam_channel::bounded(PACKET_IN_QUEUE);
        let dp = Arc::new(DatapathShared::new(pi_tx));
        let pmds = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let revalidator = Revalidator::start(dp.clone(), pmds.clone());
        let saver = FlowSaver::start(paths.clone());
        let mut sw = Switch {
            paths,
            cfg: SwitchConfig::default(),
            dp,
            pmds,
            pmd_threads: Vec::new(),
            pmd_config: PmdConfig::default(),
            revalidator,
            saver,
            bridges: BTreeMap::new(),
            used_dp_ports: BTreeSet::new(),
            control_txqs: HashMap::new(),
            packet_in_rx: pi_rx,
            packet_ins_unsent: 0,
            packet_ins_sent: 0,
            packet_ins_queue_full: 0,
            packet_ins_rate_limited: 0,
            port_errors: BTreeMap::new(),
            sched: RxqScheduler::default(),
        };
        sw.cfg.other_config = cfg.other_config.clone();
        sw.cfg.external_ids = cfg.external_ids.clone();
        // Before any port: DPDK ports need EAL.
        if let Err(e) = dpdk_init::apply(&sw.cfg) {
            if e.fatal {
                return Err(std::io::Error::other(format!("DPDK initialisation failed: {e}")));
            }
            vlog::err("dpdk", &format!("DPDK initialisation failed (dpdk-init=try: continuing without DPDK): {e}"));
        }
        sw.start_pmds().map_err(|e| std::io::Error::other(e.0))?;
        for (name, bcfg) in &cfg.bridges {
            let flows = store::load_flows(&sw.paths, name)?;
            let had_flows_file = sw.paths.flows_file(name).exists();
            if let Err(e) = sw.create_bridge(name, bcfg.clone(), !had_flows_file) {
                eprintln!("rvs-vswitchd: could not restore bridge {name}: {e}");
                continue;
            }
            if let Err(e) = sw.restore_groups(name) {
                eprintln!("rvs-vswitchd: {name}: could not restore groups: {e}");
            }
            let br = sw.bridges.get_mut(name).expect("just created");
            let now = sw.dp.now_ms();
            for f in flows {
                match f.to_flow_mod() {
                    Ok(fm) => {
                        if let Err(e) = br.writer.apply(&fm, now) {
                            eprintln!("rvs-vswitchd: {name}: stored flow refused: {e}");
                        }
                    }
                    Err(e) => eprintln!("rvs-vswitchd: {name}: unreadable stored flow: {e}"),
                }
            }
            br.writer.publish();
        }
        sw.save_config_quietly();
        Ok(sw)
    }

    /// PMD settings from `other_config`.
    fn pmd_config_from(cfg: &SwitchConfig) -> PmdConfig {
        let d = PmdConfig::default();
        PmdConfig {
            sleep_max_us: cfg.other("pmd-sleep-max", cfg.other("pmd-maxsleep", d.sleep_max_us)),
            emc_insert_inv_prob: cfg.other("emc-insert-inv-prob", d.emc_insert_inv_prob),
            flow_limit: cfg.other("flow-limit", d.flow_limit),
            interval_ms: d.interval_ms,
        }
    }

    fn pmd_cores(cfg: &SwitchConfig) -> Result<Vec<usize>, ConfigError> {
        // The machine's online CPUs, not the daemon's own affinity: as with OVS, the daemon may
        // be started with `taskset -c 0` and still run its PMDs on other CPUs.
        // SAFETY: sysconf has no preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let n_cpus = if online > 0 { online as usize } else { thread::available_parallelism().map(|n| n.get()).unwrap_or(1) };
        match cfg.other_config.get("pmd-cpu-mask") {
            Some(m) => {
                let cores = parse_cpu_mask(m).map_err(ConfigError)?;
                if cores.is_empty() {
                    return err(format!("pmd-cpu-mask {m} selects no CPU"));
                }
                if let Some(c) = cores.iter().find(|c| **c >= n_cpus) {
                    return err(format!("pmd-cpu-mask {m} names CPU {c}, but this machine has {n_cpus}"));
                }
                Ok(cores)
            }
            None => Ok(vec![n_cpus - 1]),
        }
    }

    fn start_pmds(&mut self) -> Result<(), ConfigError> {
        let cores = Self::pmd_cores(&self.cfg)?;
        self.pmd_config = Self::pmd_config_from(&self.cfg);
        self.update_sched_settings();
        let mut handles = Vec::new();
        for (id, core) in cores.into_iter().enumerate() {
            let (pmd, shared) = Pmd::new(id, Some(core), self.dp.clone(), self.pmd_config);
            let t = thread::Builder::new().name(format!("pmd-c{core:02}/id:{id}")).spawn(move || pmd.run()).expect("spawn PMD");
            self.pmd_threads.push(t);
            handles.push(shared);
        }
        // The non-PMD thread, for the ports that are not poll-mode (see `pmd_loop`).
        let (non_pmd, shared) = Pmd::new_non_pmd(handles.len(), self.dp.clone(), self.pmd_config);
        self.pmd_threads.push(thread::Builder::new().name("non-pmd".into()).spawn(move || non_pmd.run()).expect("spawn non-PMD thread"));
        handles.push(shared);
        self.pmds.store(Arc::new(handles));
        self.revalidator.set_max_idle(self.cfg.other("max-idle", DEFAULT_MAX_IDLE_MS));
        Ok(())
    }

    fn stop_pmds(&mut self) {
        for p in self.pmds.load().iter() {
            p.send(PmdCommand::Stop);
        }
        for t in self.pmd_threads.drain(..) {
            let _ = t.join();
        }
        self.sched.forget_all();
        self.pmds.store(Arc::new(Vec::new()));
    }

    /// Applies a change of `Open_vSwitch . other_config`: PMD settings live, a new CPU mask by
    /// restarting the PMDs and re-attaching every port's queues.
    pub fn apply_other_config(&mut self) -> Result<(), ConfigError> {
        let cores = Self::pmd_cores(&self.cfg)?;
        let current: Vec<usize> = self.pmds.load().iter().filter_map(|p| p.core).collect();
        if cores != current {
            self.stop_pmds();
            self.start_pmds()?;
            let ports: Vec<(String, OfPort)> =
                self.bridges.iter().flat_map(|(b, br)| br.ports.keys().map(move |p| (b.clone(), *p))).collect();
            for (b, ofport) in ports {
                let (dp_port, port) = {
                    let p = &self.bridges[&b].ports[&ofport];
                    (p.dp_port, p.port.clone())
                };
                let affinity = self.cfg.find_port(port.name()).and_then(|(_, p)| p.interface.other_config.get("pmd-rxq-affinity").cloned());
                self.attach_queues(dp_port, &port, affinity.as_deref()).map_err(|e| ConfigError(format!("{}: {e}", port.name())))?;
            }
        } else {
            self.pmd_config = Self::pmd_config_from(&self.cfg);
            for p in self.pmds.load().iter() {
                p.send(PmdCommand::Configure(self.pmd_config));
            }
            if self.update_sched_settings() {
                self.reschedule_rxqs();
            }
        }
        self.revalidator.set_max_idle(self.cfg.other("max-idle", DEFAULT_MAX_IDLE_MS));
        Ok(())
    }

    /// Writes the configuration, reporting (not failing on) I/O errors.
    pub fn save_config_quietly(&self) {
        if let Err(e) = store::save_config(&self.paths, &self.cfg) {
            eprintln!("rvs-vswitchd: could not save configuration: {e}");
        }
    }

    fn alloc_dp_port(&mut self) -> u32 {
        let mut n = 1;
        while self.used_dp_ports.contains(&n) {
            n += 1;
        }
        self.used_dp_ports.insert(n);
        n
    }

    /// Creates a bridge with its internal port; with `default_flow`, the flow
    /// `priority=0 actions=NORMAL` as in Open vSwitch.
    pub fn create_bridge(&mut self, name: &str, mut bcfg: BridgeConfig, default_flow: bool) -> Result<(), ConfigError> {
        if self.bridges.contains_key(name) {
            return err(format!("cannot create a bridge named {name} because a bridge named {name} already exists"));
        }
        if name.is_empty() || name.len() > 15 || name.contains('/') || name.contains(char::is_whitespace) {
            return err(format!("{name}: invalid bridge name (1 to 15 characters, no '/' or spaces)"));
        }
        let writer = FlowTableWriter::new();
        let macs = MacTable::new(
            bcfg.other("mac-aging-time", DEFAULT_AGING_MS / 1000) * 1000,
            bcfg.other("mac-table-size", DEFAULT_MAX_ENTRIES),
        );
        let dp = Arc::new(BridgeDp {
            name: name.to_string(),
            tables: writer.reader(),
            xlate: ArcSwap::from_pointee(XlateConf::default()),
            macs: Mutex::new(macs),
        });
        let datapath_id = match bcfg.other_config.get("datapath-id") {
            Some(s) => parse_datapath_id(s).map_err(ConfigError)?,
            None => 0,
        };
        let local_cfg = bcfg.ports.remove(name).unwrap_or_else(|| PortConfig {
            interface: crate::config::InterfaceConfig { kind: "internal".into(), ..Default::default() },
            ..Default::default()
        });
        let other_ports = std::mem::take(&mut bcfg.ports);
        self.cfg.bridges.insert(name.to_string(), bcfg);
        self.bridges.insert(name.to_string(), Bridge {
                name: name.to_string(),
                dp,
                writer,
                ports: BTreeMap::new(),
                datapath_id,
                fail_open: false,
                miss_to_controller: false,
                groups: BTreeMap::new(),
                xlate_generation: 0,
            },
        );
        if let Err(e) = self.add_port(name, name, local_cfg) {
            self.bridges.remove(name);
            self.cfg.bridges.remove(name);
            return Err(e);
        }
        let br = self.bridges.get_mut(name).expect("bridge exists");
        if datapath_id == 0 {
            // As OVS: derived from the bridge's MAC address.
            br.datapath_id = br.ports.get(&OfPort::LOCAL).map(|p| p.port.mac().to_u64()).unwrap_or(0);
        }
        if default_flow {
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.priority = 0;
            fm.actions = vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }];
            let now = self.dp.now_ms();
            br.writer.apply(&fm, now).map_err(|e| ConfigError(e.to_string()))?;
            br.writer.publish();
            self.saver.save(name, br.writer.reader());
        }
        for (pname, pcfg) in other_ports {
            if let Err(e) = self.add_port(name, &pname, pcfg.clone()) {
                // Keep it configured, as OVS keeps ports whose device is missing.
                eprintln!("rvs-vswitchd: {pname}: {e}");
                self.port_errors.insert(pname.clone(), e.0);
                self.cfg.bridges.get_mut(name).expect("bridge").ports.insert(pname, pcfg);
            }
        }
        Ok(())
    }

    /// Deletes a bridge, its ports and its rules.
    pub fn delete_bridge(&mut self, name: &str) -> Result<(), ConfigError> {
        let Some(br) = self.bridges.get(name) else { return err(format!("no bridge named {name}")) };
        let ports: Vec<String> = br.ports.values().map(|p| p.name.clone()).collect();
        for p in ports {
            self.remove_port_runtime(name, &p);
        }
        self.bridges.remove(name);
        self.cfg.bridges.remove(name);
        self.saver.forget(name);
        self.remove_stored_groups(name);
        Ok(())
    }

    /// Gives every PMD a transmit handle for the port and the scheduler its receive queues
    /// (`affinity`: the interface's `pmd-rxq-affinity`).
    fn attach_queues(&mut self, dp_port: u32, port: &Arc<dyn Port>, affinity: Option<&str>) -> Result<(), rvs_pmd::PortError> {
        self.attach_txqs(dp_port, port)?;
        self.attach_rxqs(dp_port, port, affinity)
    }

    /// Gives every PMD a transmit handle for the port.
    fn attach_txqs(&mut self, dp_port: u32, port: &Arc<dyn Port>) -> Result<(), rvs_pmd::PortError> {
        for pmd in self.pmds.load_full().iter() {
            pmd.send(PmdCommand::AddTxq { dp_port, txq: port.open_txq()? });
        }
        Ok(())
    }

    /// The poll-mode threads: every PMD but the non-PMD thread (what scheduling and
    /// `pmd-rxq-show` are about).
    pub fn poll_mode_pmds(&self) -> Vec<Arc<PmdShared>> {
        self.pmds.load().iter().filter(|p| !p.non_pmd).cloned().collect()
    }

    /// Hands the port's receive queues to the scheduler, which spreads them over the PMDs, or,
    /// for a port that is not a poll-mode device (an internal TAP port), to the non-PMD thread.
    /// Done last when a port is added: from here on its packets arrive, and they must find the
    /// port in the datapath's port map and in the bridge's translation configuration (a port
    /// that sends at once, such as a pcap replay, would otherwise have its first flows
    /// translated as from an unknown port).
    fn attach_rxqs(&mut self, dp_port: u32, port: &Arc<dyn Port>, affinity: Option<&str>) -> Result<(), rvs_pmd::PortError> {
        let pmds = self.pmds.load_full();
        if pmds.is_empty() {
            return Ok(());
        }
        if port.kind() == PortKind::Internal {
            if let Some(non_pmd) = pmds.iter().find(|p| p.non_pmd) {
                for queue in 0..port.n_rxq() {
                    non_pmd.send(PmdCommand::AddRxq { dp_port, queue, rxq: port.open_rxq(queue)? });
                }
                return Ok(());
            }
        }
        for q in 0..port.n_rxq() {
            self.sched.park(RxqHandoff::new(dp_port, q, port.open_rxq(q)?));
        }
        self.reschedule_rxqs_with(Some((dp_port, self.new_port_sched_info(port, affinity))));
        Ok(())
    }

    /// Adds a port (and its interface) to a bridge, opening it and wiring it to the PMDs.
    pub fn add_port(&mut self, bridge: &str, name: &str, mut pcfg: PortConfig) -> Result<(), ConfigError> {
        if let Some((b, _)) = self.cfg.find_port(name) {
            if self.bridges.get(b).is_some_and(|br| br.port_by_name(name).is_some()) {
                return err(format!("cannot create a port named {name} because a port named {name} already exists on bridge {b}"));
            }
        }
        let Some(br) = self.bridges.get(bridge) else { return err(format!("no bridge named {bridge}")) };
        let kind: PortKind = pcfg.interface.kind.parse().map_err(|e: rvs_pmd::PortError| ConfigError(format!("{name}: {e}")))?;
        if kind == PortKind::Internal && name != bridge && name.len() > 15 {
            return err(format!("{name}: interface names are at most 15 characters"));
        }
        let ofport = if name == bridge {
            OfPort::LOCAL
        } else {
            let taken = |p: u32| br.ports.contains_key(&OfPort(p));
            match pcfg.interface.ofport_request.or(pcfg.interface.ofport) {
                Some(req) if req == 0 || req >= 0xff00 => return err(format!("{name}: ofport_request {req} is out of range (1 to 65279)")),
                Some(req) if !taken(req) => OfPort(req),
                _ => {
                    let reserved: BTreeSet<u32> = self.cfg.bridges[bridge]
                        .ports
                        .values()
                        .filter_map(|p| p.interface.ofport_request)
                        .collect();
                    let mut n = 1;
                    while taken(n) || reserved.contains(&n) {
                        n += 1;
                    }
                    OfPort(n)
                }
            }
        };
        let mut spec = PortSpec::new(name, kind);
        spec.options = pcfg.interface.options.clone();
        spec.mtu_request = pcfg.interface.mtu_request;
        if name == bridge && kind == PortKind::Internal {
            // As OVS: `other_config:hwaddr` is the bridge's (local port's) Ethernet address.
            if let Some(mac) = self.cfg.bridges[bridge].other_config.get("hwaddr") {
                spec.options.entry("mac".into()).or_insert_with(|| mac.clone());
            }
        }
        let port = open_port(&spec).map_err(|e| ConfigError(format!("could not open network device {name} ({e})")))?;
        let dp_port = self.alloc_dp_port();
        // Transmit handles first, so that no PMD receives a packet for a port it cannot reach.
        if let Err(e) = self.attach_txqs(dp_port, &port) {
            self.detach_queues(dp_port);
            self.used_dp_ports.remove(&dp_port);
            return err(format!("{name}: {e}"));
        }
        match port.open_txq() {
            Ok(q) => {
                self.control_txqs.insert(dp_port, q);
            }
            Err(e) => eprintln!("rvs-vswitchd: {name}: no transmit handle for packet-out: {e}"),
        }
        pcfg.interface.ofport = (ofport != OfPort::LOCAL).then_some(ofport.0);
        let br = self.bridges.get_mut(bridge).expect("bridge exists");
        br.ports.insert(ofport, BridgePort { name: name.to_string(), ofport, dp_port, port, config: 0, added: std::time::Instant::now() });
        let info = DpPortInfo { dp_port, name: name.to_string(), bridge: br.dp.clone(), ofport };
        let map = self.dp.ports.load().with(info);
        self.dp.ports.store(Arc::new(map));
        self.cfg.bridges.get_mut(bridge).expect("bridge config").ports.insert(name.to_string(), pcfg);
        self.port_errors.remove(name);
        self.refresh_xlate(bridge);
        // Receive last (see attach_rxqs).
        let port = self.bridges[bridge].ports[&ofport].port.clone();
        let affinity = self.cfg.bridges[bridge].ports[name].interface.other_config.get("pmd-rxq-affinity").cloned();
        if let Err(e) = self.attach_rxqs(dp_port, &port, affinity.as_deref()) {
            self.remove_port_runtime(bridge, name);
            self.cfg.bridges.get_mut(bridge).expect("bridge config").ports.remove(name);
            return err(format!("{name}: {e}"));
        }
        Ok(())
    }

    fn detach_queues(&mut self, dp_port: u32) {
        self.sched.forget_port(dp_port);
        for pmd in self.pmds.load().iter() {
            pmd.send_sync(PmdCommand::RemovePort { dp_port });
        }
    }

    fn remove_port_runtime(&mut self, bridge: &str, name: &str) {
        let Some(br) = self.bridges.get_mut(bridge) else { return };
        let Some(ofport) = br.port_by_name(name).map(|p| p.ofport) else { return };
        let bp = br.ports.remove(&ofport).expect("port exists");
        br.dp.macs.lock().unwrap_or_else(|e| e.into_inner()).flush_port(ofport);
        let map = self.dp.ports.load().without(bp.dp_port);
        self.dp.ports.store(Arc::new(map));
        self.detach_queues(bp.dp_port);
        self.control_txqs.remove(&bp.dp_port);
        self.used_dp_ports.remove(&bp.dp_port);
        self.refresh_xlate(bridge);
        // Dropping the last handle closes the port (and deletes a TAP device).
        drop(bp);
    }

    /// Removes a port from its bridge.
    pub fn delete_port(&mut self, bridge: Option<&str>, name: &str) -> Result<(), ConfigError> {
        let Some((b, _)) = self.cfg.find_port(name) else { return err(format!("no port named {name}")) };
        let b = b.to_string();
        if let Some(want) = bridge {
            if want != b {
                return err(format!("bridge {want} does not have a port {name} (although its parent bridge {b} does)"));
            }
        }
        if name == b {
            return err(format!("cannot delete port {name} because it is the local port for bridge {b} (deleting this port requires deleting the entire bridge)"));
        }
        self.remove_port_runtime(&b, name);
        self.cfg.bridges.get_mut(&b).expect("bridge").ports.remove(name);
        self.port_errors.remove(name);
        Ok(())
    }

    /// Rebuilds a bridge's translation configuration from its ports and options, with a new
    /// generation (megaflows of the old one get revalidated).
    pub fn refresh_xlate(&mut self, bridge: &str) {
        let Some(br) = self.bridges.get_mut(bridge) else { return };
        let bcfg = &self.cfg.bridges[bridge];
        let mut xb = XlateBridge { name: bridge.to_string(), ..Default::default() };
        xb.forward_bpdu = bcfg.other("forward-bpdu", false);
        xb.fail_open = br.fail_open;
        xb.miss_to_controller = br.miss_to_controller;
        for (ofport, p) in &br.ports {
            if p.config & port_config::NO_RECV != 0 {
                xb.no_recv.insert(*ofport);
            }
            let pcfg = bcfg.ports.get(&p.name).cloned().unwrap_or_default();
            xb.ports.insert(
                *ofport,
                XPort {
                    ofport: *ofport,
                    dp_port: p.dp_port,
                    name: p.name.clone(),
                    vlan: vlan_config(&pcfg),
                    no_flood: p.config & port_config::NO_FLOOD != 0,
                    no_fwd: p.config & port_config::NO_FWD != 0,
                },
            );
        }
        xb.groups = crate::groups::group_table(br);
        br.xlate_generation += 1;
        br.dp.xlate.store(Arc::new(XlateConf { bridge: xb, generation: br.xlate_generation }));
        self.revalidator.kick();
    }

    /// Sets what the OpenFlow server decides about a bridge: fail-open, and whether table
    /// misses go to the controller. Translation changes (new generation) only if they did.
    pub fn set_controller_modes(&mut self, bridge: &str, fail_open: bool, miss_to_controller: bool) {
        let Some(br) = self.bridges.get_mut(bridge) else { return };
        if (br.fail_open, br.miss_to_controller) != (fail_open, miss_to_controller) {
            br.fail_open = fail_open;
            br.miss_to_controller = miss_to_controller;
            self.refresh_xlate(bridge);
        }
    }

    /// Publishes pending rule changes of every bridge, schedules their storage, and kicks the
    /// revalidator. Returns whether anything was published.
    pub fn publish_flows(&mut self) -> bool {
        let mut any = false;
        for (name, br) in self.bridges.iter_mut() {
            if br.writer.has_unpublished() {
                br.writer.publish();
                self.saver.save(name, br.writer.reader());
                any = true;
            }
        }
        if any {
            self.revalidator.kick();
        }
        any
    }

    /// Brings the running switch to `desired` (the result of an `rvs-vsctl` transaction):
    /// bridges and ports removed, added or changed, options applied. What cannot be applied
    /// (a port whose device cannot be opened) stays configured and is reported, as OVS
    /// reports it in the interface's `error` column. Returns those warnings.
    pub fn reconcile(&mut self, desired: SwitchConfig) -> Vec<String> {
        let mut warnings = Vec::new();
        let affinity_before = self.rxq_affinities();
        self.cfg.external_ids = desired.external_ids.clone();
        if desired.other_config != self.cfg.other_config {
            dpdk_init::note_changes(&self.cfg, &desired);
            self.cfg.other_config = desired.other_config.clone();
            if let Err(e) = self.apply_other_config() {
                warnings.push(e.0);
            }
            match dpdk_init::apply(&self.cfg) {
                Ok(dpdk_init::Outcome::Initialised) => self.retry_dpdk_ports(),
                Ok(dpdk_init::Outcome::Unchanged) => {}
                Err(e) => {
                    vlog::err("dpdk", &format!("DPDK initialisation failed: {e}"));
                    warnings.push(format!("DPDK initialisation failed: {e}"));
                }
            }
        }
        let gone: Vec<String> = self.cfg.bridges.keys().filter(|b| !desired.bridges.contains_key(*b)).cloned().collect();
        for b in gone {
            if let Err(e) = self.delete_bridge(&b) {
                warnings.push(e.0);
            }
        }
        for (name, want) in &desired.bridges {
            if !self.bridges.contains_key(name) {
                // A new bridge gets the NORMAL flow only if it will switch on its own (OVS's
                // connmgr_flushed: no controller and fail mode standalone).
                let fresh = !self.cfg.bridges.contains_key(name)
                    && want.controllers.is_empty()
                    && want.fail_mode.as_deref() != Some("secure");
                self.cfg.bridges.remove(name);
                if let Err(e) = self.create_bridge(name, want.clone(), fresh) {
                    warnings.push(e.0);
                }
                continue;
            }
            self.reconcile_bridge(name, want, &mut warnings);
        }
        if self.rxq_affinities() != affinity_before {
            self.reschedule_rxqs();
        }
        for (name, e) in &self.port_errors {
            warnings.push(format!("Error detected while setting up '{name}': {e}."));
        }
        self.save_config_quietly();
        warnings
    }

    /// Opens the `type=dpdk` interfaces that failed before DPDK was initialised.
    fn retry_dpdk_ports(&mut self) {
        let waiting: Vec<(String, String, PortConfig)> = self
            .cfg
            .bridges
            .iter()
            .flat_map(|(b, bc)| bc.ports.iter().map(move |(p, pc)| (b.clone(), p.clone(), pc.clone())))
            .filter(|(_, p, pc)| pc.interface.kind == "dpdk" && self.port_errors.contains_key(p))
            .collect();
        for (b, p, pc) in waiting {
            if let Err(e) = self.add_port(&b, &p, pc.clone()) {
                vlog::warn("dpdk", &format!("{p}: {e}"));
                self.port_errors.insert(p.clone(), e.0);
                self.cfg.bridges.get_mut(&b).expect("bridge").ports.insert(p, pc);
            }
        }
    }

    fn reconcile_bridge(&mut self, name: &str, want: &BridgeConfig, warnings: &mut Vec<String>) {
        let have = self.cfg.bridges[name].clone();
        let br = self.bridges.get_mut(name).expect("bridge exists");
        if want.other_config != have.other_config {
            if let Some(id) = want.other_config.get("datapath-id") {
                match parse_datapath_id(id) {
                    Ok(v) => br.datapath_id = v,
                    Err(e) => warnings.push(e),
                }
            }
            br.dp.macs.lock().unwrap_or_else(|e| e.into_inner()).configure(
                want.other("mac-aging-time", DEFAULT_AGING_MS / 1000) * 1000,
                want.other("mac-table-size", DEFAULT_MAX_ENTRIES),
            );
        }
        {
            let c = self.cfg.bridges.get_mut(name).expect("bridge config");
            c.other_config = want.other_config.clone();
            c.external_ids = want.external_ids.clone();
            c.protocols = want.protocols.clone();
            c.fail_mode = want.fail_mode.clone();
            c.controllers = want.controllers.clone();
            c.datapath_type = want.datapath_type.clone();
        }
        for p in have.ports.keys().filter(|p| !want.ports.contains_key(*p) && p.as_str() != name) {
            if let Err(e) = self.delete_port(Some(name), p) {
                warnings.push(e.0);
            }
        }
        for (p, pw) in &want.ports {
            match have.ports.get(p) {
                None => {
                    if let Err(e) = self.add_port(name, p, pw.clone()) {
                        self.port_errors.insert(p.clone(), e.0.clone());
                        self.cfg.bridges.get_mut(name).expect("bridge").ports.insert(p.clone(), pw.clone());
                    }
                }
                Some(ph) if ph == pw => {}
                Some(ph) => {
                    let reopen = ph.interface.kind != pw.interface.kind
                        || ph.interface.options != pw.interface.options
                        || (pw.interface.ofport_request.is_some() && ph.interface.ofport_request != pw.interface.ofport_request)
                        || self.port_errors.contains_key(p);
                    if reopen && p != name {
                        self.remove_port_runtime(name, p);
                        let mut cfg = pw.clone();
                        if pw.interface.ofport_request != ph.interface.ofport_request {
                            cfg.interface.ofport = None;
                        }
                        if let Err(e) = self.add_port(name, p, cfg) {
                            self.port_errors.insert(p.clone(), e.0.clone());
                            self.cfg.bridges.get_mut(name).expect("bridge").ports.insert(p.clone(), pw.clone());
                        }
                    } else {
                        let mut cfg = pw.clone();
                        cfg.interface.ofport = ph.interface.ofport;
                        self.cfg.bridges.get_mut(name).expect("bridge").ports.insert(p.clone(), cfg);
                    }
                }
            }
        }
        self.refresh_xlate(name);
    }

    /// Stops PMDs and writes everything (clean shutdown).
    pub fn shutdown(&mut self) {
        self.publish_flows();
        self.saver.flush();
        self.save_config_quietly();
        self.stop_pmds();
        self.control_txqs.clear();
        // Close ports (deleting TAP devices) before exiting.
        self.bridges.clear();
        let map = crate::datapath::DpPortMap::default();
        self.dp.ports.store(Arc::new(map));
    }
}

/// The `NORMAL` VLAN behaviour of a port, from `tag`, `trunks` and `vlan_mode` as OVS reads
/// them: no mode and a tag means access; no mode and no tag means trunk.
pub fn vlan_config(p: &PortConfig) -> VlanConfig {
    let mode = match p.vlan_mode.as_deref() {
        Some("access") => VlanMode::Access,
        Some("trunk") => VlanMode::Trunk,
        Some("native-tagged") => VlanMode::NativeTagged,
        Some("native-untagged") => VlanMode::NativeUntagged,
        _ if p.tag.is_some() => VlanMode::Access,
        _ => VlanMode::Trunk,
    };
    VlanConfig { mode, tag: p.tag, trunks: p.trunks.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_modes_follow_ovs_defaults() {
        let access = PortConfig { tag: Some(10), ..Default::default() };
        assert_eq!(vlan_config(&access).mode, VlanMode::Access);
        let trunk = PortConfig { trunks: vec![10, 20], ..Default::default() };
        assert_eq!(vlan_config(&trunk).mode, VlanMode::Trunk);
        let native = PortConfig { tag: Some(5), vlan_mode: Some("native-untagged".into()), ..Default::default() };
        assert_eq!(vlan_config(&native).mode, VlanMode::NativeUntagged);
    }
}
