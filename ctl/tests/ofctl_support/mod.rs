//! A fake OpenFlow 1.3 switch for testing `rvs-ofctl` (and for capturing what `ovs-ofctl`
//! prints) with replies no real switch would easily produce.
//!
//! [`FakeSwitch::start`] listens on `fake.sock` in a fresh directory and serves every
//! connection (`ovs-ofctl` opens several: one for port names, one for table names, one for
//! the command) from a [`Script`]: canned features, configuration, description, ports, port
//! and table statistics, table features, flows and aggregate, each multipart reply split into
//! messages of at most `max_reply` bytes; flow-mods are answered with a configurable error
//! (carrying all or the first bytes of the request), barriers with barrier replies, and any
//! request type can be made to fail. Tools run with the directory as run directory
//! (`OVS_RUNDIR`, `RVS_RUNDIR`) and target `unix:fake.sock`, which both resolve there, so no
//! path appears in their output.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rvs_openflow::msg::{
    encode_multipart_reply, ErrorMsg, Hello, MultipartReply, MultipartRequest, OfMessage, Version, VersionSet,
};
use rvs_openflow::stats::{
    AggregateStats, FlowStats, PortDesc, PortStats, SwitchConfig, SwitchDesc, SwitchFeatures, TableStats,
};
use rvs_openflow::table_features::TableFeatures;
use rvs_openflow::{Framer, OfError};

/// Which multipart request a [`Script::fail`] entry applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Features request.
    Features,
    /// Port descriptions.
    PortDesc,
    /// Table features.
    TableFeatures,
    /// Flow statistics.
    Flow,
    /// Port statistics.
    PortStats,
    /// Table statistics.
    Table,
}

/// What the fake switch answers.
#[derive(Clone, Debug)]
pub struct Script {
    /// Features reply.
    pub features: SwitchFeatures,
    /// Get-config reply.
    pub config: SwitchConfig,
    /// Description.
    pub desc: SwitchDesc,
    /// Port descriptions.
    pub ports: Vec<PortDesc>,
    /// Port statistics (filtered by the requested port unless it is `ANY`).
    pub port_stats: Vec<PortStats>,
    /// Table statistics.
    pub tables: Vec<TableStats>,
    /// Table features.
    pub table_features: Vec<TableFeatures>,
    /// Flow statistics (not filtered).
    pub flows: Vec<FlowStats>,
    /// Aggregate statistics.
    pub aggregate: AggregateStats,
    /// The error every flow-mod gets, with how many bytes of the request it carries (`None`:
    /// all); no error: flow-mods succeed.
    pub flow_mod_error: Option<(OfError, Option<usize>)>,
    /// Requests answered with an error instead.
    pub fail: Vec<(Request, OfError)>,
    /// Largest reply message.
    pub max_reply: usize,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            features: SwitchFeatures {
                datapath_id: 0x0000_0200_0000_0001,
                n_buffers: 0,
                n_tables: 254,
                auxiliary_id: 0,
                capabilities: 0x7,
            },
            config: SwitchConfig { flags: 0, miss_send_len: 0 },
            desc: SwitchDesc::default(),
            ports: Vec::new(),
            port_stats: Vec::new(),
            tables: Vec::new(),
            table_features: rvs_openflow::table_features::rvs_table_features(3),
            flows: Vec::new(),
            aggregate: AggregateStats::default(),
            flow_mod_error: None,
            fail: Vec::new(),
            max_reply: 65535,
        }
    }
}

/// A running fake switch; stops on drop and removes its directory.
pub struct FakeSwitch {
    /// The directory holding `fake.sock`.
    pub dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

static N: AtomicUsize = AtomicUsize::new(0);

fn read_msg(s: &mut UnixStream, framer: &mut Framer) -> Option<Vec<u8>> {
    let mut buf = [0u8; 65536];
    loop {
        if let Ok(Some(m)) = framer.next_message() {
            return Some(m);
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => framer.push(&buf[..n]),
        }
    }
}

fn serve(mut s: UnixStream, script: &Script) {
    let v = Version::V1_3;
    let send = |s: &mut UnixStream, m: &OfMessage, xid: u32| {
        let _ = s.write_all(&m.encode(v, xid).expect("encode reply"));
    };
    send(&mut s, &OfMessage::Hello(Hello { versions: Some(VersionSet::of(v)) }), 1);
    let mut framer = Framer::new();
    while let Some(msg) = read_msg(&mut s, &mut framer) {
        let xid = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let Ok((_, decoded)) = rvs_openflow::decode(&msg) else { continue };
        let fail = |r: Request| script.fail.iter().find(|(q, _)| *q == r).map(|(_, e)| *e);
        let error = |e: OfError| OfMessage::Error(ErrorMsg { error: e, data: msg.clone() });
        let reply: Vec<Vec<u8>> = match decoded {
            OfMessage::EchoRequest(d) => vec![OfMessage::EchoReply(d).encode(v, xid).unwrap()],
            OfMessage::FeaturesRequest => match fail(Request::Features) {
                Some(e) => vec![error(e).encode(v, xid).unwrap()],
                None => vec![OfMessage::FeaturesReply(script.features.clone()).encode(v, xid).unwrap()],
            },
            OfMessage::GetConfigRequest => vec![OfMessage::GetConfigReply(script.config).encode(v, xid).unwrap()],
            OfMessage::BarrierRequest => vec![OfMessage::BarrierReply.encode(v, xid).unwrap()],
            OfMessage::FlowMod { .. } => match script.flow_mod_error {
                Some((e, keep)) => {
                    let data = msg[..keep.unwrap_or(msg.len()).min(msg.len())].to_vec();
                    vec![OfMessage::Error(ErrorMsg { error: e, data }).encode(v, xid).unwrap()]
                }
                None => Vec::new(),
            },
            OfMessage::MultipartRequest { request, .. } => {
                let (which, body) = match request {
                    MultipartRequest::Desc => (None, MultipartReply::Desc(script.desc.clone())),
                    MultipartRequest::Flow(_) => (Some(Request::Flow), MultipartReply::Flow(script.flows.clone())),
                    MultipartRequest::Aggregate(_) => (None, MultipartReply::Aggregate(script.aggregate)),
                    MultipartRequest::Table => (Some(Request::Table), MultipartReply::Table(script.tables.clone())),
                    MultipartRequest::PortStats { port_no } => (
                        Some(Request::PortStats),
                        MultipartReply::PortStats(
                            script
                                .port_stats
                                .iter()
                                .filter(|p| port_no == rvs_openflow::OfPort::ANY || p.port_no == port_no)
                                .copied()
                                .collect(),
                        ),
                    ),
                    MultipartRequest::PortDesc => {
                        (Some(Request::PortDesc), MultipartReply::PortDesc(script.ports.clone()))
                    }
                    MultipartRequest::TableFeatures(_) => {
                        (Some(Request::TableFeatures), MultipartReply::TableFeatures(script.table_features.clone()))
                    }
                    // The fake switch has no queues and no groups.
                    MultipartRequest::Queue(_) => (None, MultipartReply::Queue(Vec::new())),
                    MultipartRequest::Group { .. } => (None, MultipartReply::Group(Vec::new())),
                    MultipartRequest::GroupDesc { .. } => (None, MultipartReply::GroupDesc(Vec::new())),
                    MultipartRequest::GroupFeatures => {
                        (None, MultipartReply::GroupFeatures(rvs_openflow::group::GroupFeatures::default()))
                    }
                };
                match which.and_then(fail) {
                    Some(e) => vec![error(e).encode(v, xid).unwrap()],
                    None => encode_multipart_reply(v, xid, &body, script.max_reply).expect("encode multipart reply"),
                }
            }
            _ => Vec::new(),
        };
        for r in reply {
            if s.write_all(&r).is_err() {
                return;
            }
        }
    }
}

impl FakeSwitch {
    /// Starts serving `script` on `fake.sock` in a new directory.
    pub fn start(script: Script) -> FakeSwitch {
        let dir = std::env::temp_dir().join(format!(
            "rvs-ofctl-fake-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fake switch directory");
        let listener = UnixListener::bind(dir.join("fake.sock")).expect("bind fake.sock");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let script = Arc::new(script);
        let thread = thread::spawn(move || {
            let mut conns = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                        let script = script.clone();
                        conns.push(thread::spawn(move || serve(s, &script)));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        FakeSwitch { dir, stop, thread: Some(thread) }
    }

    /// Runs `program` with `args` in the switch's directory; returns status, stdout, stderr.
    pub fn run(&self, program: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let out = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .env("OVS_RUNDIR", &self.dir)
            .env("RVS_RUNDIR", &self.dir)
            .output()
            .expect("run ofctl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for FakeSwitch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
