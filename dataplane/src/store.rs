//! The embedded config store: configuration and OpenFlow rules on disk, restored at start.
//!
//! # Files (under `$RVS_DBDIR`, default `/etc/rvs`)
//! * `conf.json`: the [`SwitchConfig`] (bridges, ports, interfaces, options).
//! * `flows/<bridge>.json`: the bridge's OpenFlow rules, one [`StoredFlow`] per rule, in a
//!   layout independent of the in-memory key (field names, hexadecimal values).
//! * `groups/<bridge>.json`: the bridge's OpenFlow groups ([`crate::groups`]).
//!
//! # Atomicity
//! Every file is written whole to a temporary file in the same directory, `fsync`ed, renamed
//! over the old one, and the directory is `fsync`ed: a crash leaves either the old or the new
//! file, never a mix.
//!
//! # When
//! Configuration changes are written before `rvs-vsctl` gets its answer. Rules are written by
//! [`FlowSaver`], a background thread, [`FLOW_SAVE_INTERVAL`] after the first change that is
//! not on disk yet (later changes join that write), and once more at shutdown. A write costs
//! O(rules), so after one the saver waits at least [`WRITE_COST_FACTOR`] times as long as it
//! took before the next: a long burst of flow-mods into a big table (a million rules take
//! about a second to write) spends at most a fifth of a core on writes instead of a write per
//! interval. A crash (not a clean `SIGTERM`) loses at most the changes of that window.
//! Counters and durations are not stored; timeouts restart when rules are restored.
//!
//! The saver holds the bridge's [`FlowTableReader`], not a pipeline snapshot: it takes a
//! snapshot only when it writes, and only for as long as it takes to collect the rules'
//! `Arc`s. Holding a published copy any longer would keep the flow-mod writer from reusing
//! it (see [`rvs_flowcache::versioned`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rvs_flowcache::ofp::StoredMatch;
use rvs_flowcache::ofp::Rule;
use rvs_flowcache::{FlowMod, FlowModCommand, FlowTableReader, Match, OfAction, Pipeline};
use serde::{Deserialize, Serialize};

use crate::config::SwitchConfig;

/// Delay between a rule change and its write to disk, when writes are cheap.
pub const FLOW_SAVE_INTERVAL: Duration = Duration::from_millis(200);

/// After a write that took `t`, the next one waits at least `WRITE_COST_FACTOR * t`.
pub const WRITE_COST_FACTOR: u32 = 4;

/// Where the daemon keeps its files, from the environment as OVS does (`OVS_RUNDIR`...).
#[derive(Clone, Debug)]
pub struct Paths {
    /// Sockets and the pid file (`$RVS_RUNDIR`, default `/var/run/rvs`).
    pub rundir: PathBuf,
    /// The config store (`$RVS_DBDIR`, default `/etc/rvs`).
    pub dbdir: PathBuf,
    /// Logs (`$RVS_LOGDIR`, default `/var/log/rvs`).
    pub logdir: PathBuf,
}

impl Paths {
    /// Paths from `RVS_RUNDIR`, `RVS_DBDIR` and `RVS_LOGDIR`.
    pub fn from_env() -> Paths {
        let get = |k: &str, d: &str| PathBuf::from(std::env::var(k).unwrap_or_else(|_| d.to_string()));
        Paths { rundir: get("RVS_RUNDIR", "/var/run/rvs"), dbdir: get("RVS_DBDIR", "/etc/rvs"), logdir: get("RVS_LOGDIR", "/var/log/rvs") }
    }

    /// The management socket (`rvs-vsctl`, `rvs-appctl`).
    pub fn mgmt_socket(&self) -> PathBuf {
        self.rundir.join("rvs-vswitchd.ctl")
    }

    /// A bridge's OpenFlow socket.
    pub fn bridge_socket(&self, bridge: &str) -> PathBuf {
        self.rundir.join(format!("{bridge}.mgmt"))
    }

    /// The configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.dbdir.join("conf.json")
    }

    /// A bridge's groups file.
    pub fn groups_file(&self, bridge: &str) -> PathBuf {
        self.dbdir.join("groups").join(format!("{bridge}.json"))
    }

    /// A bridge's rules file.
    pub fn flows_file(&self, bridge: &str) -> PathBuf {
        self.dbdir.join("flows").join(format!("{bridge}.json"))
    }
}

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("rvs")));
    {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

/// Loads the configuration (an empty one if there is no file yet).
pub fn load_config(paths: &Paths) -> io::Result<SwitchConfig> {
    match fs::read(paths.config_file()) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", paths.config_file().display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(SwitchConfig::default()),
        Err(e) => Err(e),
    }
}

/// Saves the configuration.
pub fn save_config(paths: &Paths, cfg: &SwitchConfig) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(cfg).map_err(io::Error::other)?;
    write_atomic(&paths.config_file(), &bytes)
}

/// One rule as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFlow {
    /// Table.
    pub table_id: u8,
    /// Priority.
    pub priority: u16,
    /// Cookie.
    pub cookie: u64,
    /// Idle timeout.
    #[serde(default)]
    pub idle_timeout: u16,
    /// Hard timeout.
    #[serde(default)]
    pub hard_timeout: u16,
    /// Importance.
    #[serde(default)]
    pub importance: u16,
    /// Flow-mod flags.
    #[serde(default)]
    pub flags: u16,
    /// Match.
    #[serde(rename = "match")]
    pub match_: StoredMatch,
    /// Actions and instructions.
    pub actions: Vec<OfAction>,
}

impl StoredFlow {
    /// The flow-mod that re-adds this rule.
    pub fn to_flow_mod(&self) -> Result<FlowMod, String> {
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = self.table_id;
        fm.priority = self.priority;
        fm.cookie = self.cookie;
        fm.idle_timeout = self.idle_timeout;
        fm.hard_timeout = self.hard_timeout;
        fm.importance = self.importance;
        fm.flags = self.flags;
        fm.match_ = Match::try_from(&self.match_)?;
        fm.actions = self.actions.clone();
        Ok(fm)
    }
}

/// Every rule of a pipeline, in table and priority order.
pub fn stored_flows(p: &Pipeline) -> Vec<StoredFlow> {
    to_stored(p.rules().map(|r| &**r))
}

/// These rules, in table and priority order.
fn to_stored<'a>(rules: impl Iterator<Item = &'a Rule>) -> Vec<StoredFlow> {
    let mut v: Vec<StoredFlow> = rules
        .map(|r| StoredFlow {
            table_id: r.table_id,
            priority: r.priority,
            cookie: r.cookie,
            idle_timeout: r.idle_timeout,
            hard_timeout: r.hard_timeout,
            importance: r.importance,
            flags: r.flags,
            match_: StoredMatch::from(&r.match_),
            actions: r.actions.to_vec(),
        })
        .collect();
    v.sort_by(|a, b| (a.table_id, std::cmp::Reverse(a.priority)).cmp(&(b.table_id, std::cmp::Reverse(b.priority))));
    v
}

/// Writes a bridge's rules.
pub fn save_flows(paths: &Paths, bridge: &str, p: &Pipeline) -> io::Result<()> {
    write_flows(paths, bridge, &stored_flows(p))
}

/// Writes the rules currently published by `reader`, holding its snapshot only while
/// collecting the rules.
fn save_published(paths: &Paths, bridge: &str, reader: &FlowTableReader) -> io::Result<()> {
    let rules: Vec<Arc<Rule>> = reader.snapshot().rules().cloned().collect();
    write_flows(paths, bridge, &to_stored(rules.iter().map(|r| &**r)))
}

fn write_flows(paths: &Paths, bridge: &str, flows: &[StoredFlow]) -> io::Result<()> {
    let mut out = Vec::with_capacity(flows.len() * 200);
    out.extend_from_slice(b"[\n");
    for (i, f) in flows.iter().enumerate() {
        serde_json::to_writer(&mut out, f).map_err(io::Error::other)?;
        out.extend_from_slice(if i + 1 == flows.len() { b"\n" } else { b",\n" });
    }
    out.extend_from_slice(b"]\n");
    write_atomic(&paths.flows_file(bridge), &out)
}

/// Reads a bridge's rules (none if there is no file).
pub fn load_flows(paths: &Paths, bridge: &str) -> io::Result<Vec<StoredFlow>> {
    match fs::read(paths.flows_file(bridge)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", paths.flows_file(bridge).display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Deletes a bridge's rules file.
pub fn remove_flows(paths: &Paths, bridge: &str) {
    let _ = fs::remove_file(paths.flows_file(bridge));
}

enum SaveRequest {
    Save(String, FlowTableReader),
    Forget(String),
    Flush(Sender<()>),
}

/// The background writer of rule files. See the module documentation.
pub struct FlowSaver {
    tx: Sender<SaveRequest>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FlowSaver {
    /// Starts the writer thread.
    pub fn start(paths: Paths) -> FlowSaver {
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = thread::Builder::new().name("flow-saver".into()).spawn(move || saver_loop(paths, rx)).expect("spawn flow saver");
        FlowSaver { tx, thread: Some(thread) }
    }

    /// Schedules a write of the rules `reader` publishes for `bridge` (what is published when
    /// the write happens).
    pub fn save(&self, bridge: &str, reader: FlowTableReader) {
        let _ = self.tx.send(SaveRequest::Save(bridge.to_string(), reader));
    }

    /// Drops a pending write and deletes the file (the bridge was deleted).
    pub fn forget(&self, bridge: &str) {
        let _ = self.tx.send(SaveRequest::Forget(bridge.to_string()));
    }

    /// Writes everything pending now and waits for it.
    pub fn flush(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.tx.send(SaveRequest::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

impl Drop for FlowSaver {
    fn drop(&mut self) {
        self.flush();
        let (tx, _) = crossbeam_channel::bounded(0);
        self.tx = tx;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn saver_loop(paths: Paths, rx: Receiver<SaveRequest>) {
    let mut pending: BTreeMap<String, FlowTableReader> = BTreeMap::new();
    // When the pending changes are written; set by the first of them.
    let mut due: Option<Instant> = None;
    // No write before this (the previous one's cost, see the module documentation).
    let mut not_before = Instant::now();
    let write_all = |pending: &mut BTreeMap<String, FlowTableReader>, not_before: &mut Instant| {
        let start = Instant::now();
        for (bridge, reader) in std::mem::take(pending) {
            if let Err(e) = save_published(&paths, &bridge, &reader) {
                eprintln!("rvs-vswitchd: could not save flows of {bridge}: {e}");
            }
        }
        let now = Instant::now();
        *not_before = now + (now - start) * WRITE_COST_FACTOR;
    };
    loop {
        let msg = match due {
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => return,
            },
            Some(at) => match rx.recv_deadline(at) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    write_all(&mut pending, &mut not_before);
                    due = None;
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    write_all(&mut pending, &mut not_before);
                    return;
                }
            },
        };
        match msg {
            SaveRequest::Save(b, reader) => {
                pending.insert(b, reader);
                due.get_or_insert_with(|| (Instant::now() + FLOW_SAVE_INTERVAL).max(not_before));
            }
            SaveRequest::Forget(b) => {
                pending.remove(&b);
                remove_flows(&paths, &b);
            }
            SaveRequest::Flush(ack) => {
                write_all(&mut pending, &mut not_before);
                due = None;
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_flowcache::{Field, FlowTableWriter, OfPort};

    fn tmp_paths(tag: &str) -> Paths {
        let base = std::env::temp_dir().join(format!("rvs-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        Paths { rundir: base.join("run"), dbdir: base.join("db"), logdir: base.join("log") }
    }

    #[test]
    fn config_and_flows_round_trip() {
        let paths = tmp_paths("rt");
        assert_eq!(load_config(&paths).unwrap(), SwitchConfig::default());
        let mut cfg = SwitchConfig::default();
        cfg.bridges.insert("br0".into(), Default::default());
        save_config(&paths, &cfg).unwrap();
        assert_eq!(load_config(&paths).unwrap(), cfg);

        let mut p = Pipeline::new();
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.priority = 7;
        fm.cookie = 0xabc;
        fm.idle_timeout = 30;
        fm.match_.set(Field::InPort, 1).set(Field::EthType, 0x0800).set_masked(Field::IpDst, 0x0a00_0000, 0xff00_0000);
        fm.actions = vec![OfAction::Output { port: OfPort(2), max_len: 0 }];
        p.apply(&fm, 0).unwrap();
        let mut fm2 = FlowMod::new(FlowModCommand::Add);
        fm2.table_id = 3;
        fm2.priority = 0;
        fm2.actions = vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }];
        p.apply(&fm2, 0).unwrap();
        save_flows(&paths, "br0", &p).unwrap();
        let back = load_flows(&paths, "br0").unwrap();
        assert_eq!(back, stored_flows(&p));
        let fms: Vec<FlowMod> = back.iter().map(|f| f.to_flow_mod().unwrap()).collect();
        assert_eq!(fms[0].match_, fm.match_);
        assert_eq!(fms[0].actions, fm.actions);
        assert_eq!((fms[0].cookie, fms[0].idle_timeout, fms[1].table_id), (0xabc, 30, 3));
        assert!(load_flows(&paths, "nobridge").unwrap().is_empty());
        let _ = fs::remove_dir_all(paths.dbdir.parent().unwrap());
    }

    #[test]
    fn saver_coalesces_and_flushes() {
        let paths = tmp_paths("saver");
        let saver = FlowSaver::start(paths.clone());
        let mut w = FlowTableWriter::new();
        saver.save("br0", w.reader());
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.actions = vec![OfAction::Output { port: OfPort::NORMAL, max_len: 0 }];
        w.apply(&fm, 0).unwrap();
        w.publish();
        saver.save("br0", w.reader());
        saver.flush();
        assert_eq!(load_flows(&paths, "br0").unwrap().len(), 1);
        // Written within the interval without a flush, even while changes keep coming.
        let start = Instant::now();
        let mut n = 1;
        while load_flows(&paths, "br0").unwrap().len() == 1 {
            assert!(start.elapsed() < Duration::from_secs(10), "changes never written");
            fm.priority = n;
            n += 1;
            w.apply(&fm, 0).unwrap();
            w.publish();
            saver.save("br0", w.reader());
            thread::sleep(FLOW_SAVE_INTERVAL / 10);
        }
        // The saver holds no published copy between writes: the writer never had to copy one.
        assert_eq!(w.n_copies(), 0);
        saver.forget("br0");
        saver.flush();
        assert!(!paths.flows_file("br0").exists());
        drop(saver);
        let _ = fs::remove_dir_all(paths.dbdir.parent().unwrap());
    }
}
