//! Switch descriptions and statistics, independent of wire version.
//!
//! These are the bodies of multipart (statistics) replies and of the features, port-status
//! and port-description messages. Counters that a switch does not keep are reported as
//! `u64::MAX`, as OpenFlow specifies.

use rvs_flowcache::ofp::{Match, OfAction, OfPort};
use rvs_packet::wire::MacAddr;

/// `OFPC_*` capability bits of [`SwitchFeatures::capabilities`].
pub mod capabilities {
    /// Flow statistics.
    pub const FLOW_STATS: u32 = 1 << 0;
    /// Table statistics.
    pub const TABLE_STATS: u32 = 1 << 1;
    /// Port statistics.
    pub const PORT_STATS: u32 = 1 << 2;
    /// Group statistics.
    pub const GROUP_STATS: u32 = 1 << 3;
    /// Can reassemble IP fragments.
    pub const IP_REASM: u32 = 1 << 5;
    /// Queue statistics.
    pub const QUEUE_STATS: u32 = 1 << 6;
    /// Matches IP addresses in ARP packets (an OpenFlow 1.0 bit; OpenFlow 1.1+ leaves it
    /// reserved).
    pub const ARP_MATCH_IP: u32 = 1 << 7;
    /// Blocks looping ports.
    pub const PORT_BLOCKED: u32 = 1 << 8;
}

/// The features reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwitchFeatures {
    /// Datapath id (low 48 bits usually a MAC address).
    pub datapath_id: u64,
    /// Packets the switch can buffer for packet-ins.
    pub n_buffers: u32,
    /// Number of tables.
    pub n_tables: u8,
    /// Auxiliary connection id (0 for the main connection).
    pub auxiliary_id: u8,
    /// `OFPC_*` bits.
    pub capabilities: u32,
}

/// Switch configuration (get-config reply, set-config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchConfig {
    /// `OFPC_FRAG_*` fragment handling (0 = normal).
    pub flags: u16,
    /// Bytes of a table-miss packet sent to the controller.
    pub miss_send_len: u16,
}

impl Default for SwitchConfig {
    fn default() -> Self {
        SwitchConfig { flags: 0, miss_send_len: 128 }
    }
}

/// The description reply (`ovs-ofctl dump-desc`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwitchDesc {
    /// Manufacturer (up to 255 bytes).
    pub mfr_desc: String,
    /// Hardware (up to 255 bytes).
    pub hw_desc: String,
    /// Software (up to 255 bytes).
    pub sw_desc: String,
    /// Serial number (up to 31 bytes).
    pub serial_num: String,
    /// Datapath description (up to 255 bytes).
    pub dp_desc: String,
}

/// One rule in a flow statistics reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStats {
    /// Table.
    pub table_id: u8,
    /// Seconds since the rule was added.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Eviction importance (not carried by OpenFlow 1.3).
    pub importance: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets (`u64::MAX` if not counted).
    pub packet_count: u64,
    /// Bytes (`u64::MAX` if not counted).
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
    /// Actions and instructions.
    pub actions: Vec<OfAction>,
}

/// The aggregate statistics reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggregateStats {
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Rules.
    pub flow_count: u32,
}

/// One table in a table statistics reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Table.
    pub table_id: u8,
    /// Rules in the table.
    pub active_count: u32,
    /// Packets looked up.
    pub lookup_count: u64,
    /// Packets that matched a rule.
    pub matched_count: u64,
}

/// `OFPQ_ALL`: every queue.
pub const ALL_QUEUES: u32 = 0xffff_ffff;

/// A queue statistics request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStatsRequest {
    /// Port (`ANY`: every port).
    pub port_no: OfPort,
    /// Queue ([`ALL_QUEUES`]: every queue).
    pub queue_id: u32,
}

/// One queue in a queue statistics reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStats {
    /// Port.
    pub port_no: OfPort,
    /// Queue.
    pub queue_id: u32,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Packets dropped for lack of room.
    pub tx_errors: u64,
    /// Seconds the queue has existed (OpenFlow 1.3).
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
}

/// One port in a port statistics reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortStats {
    /// Port.
    pub port_no: OfPort,
    /// Received packets.
    pub rx_packets: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Packets dropped on receive.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Receive overruns.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
    /// Seconds the port has been up.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
}

impl PortStats {
    /// The twelve counters in wire order (`ofp_port_stats`, the same in every version).
    pub fn wire_counters(&self) -> [u64; 12] {
        [
            self.rx_packets,
            self.tx_packets,
            self.rx_bytes,
            self.tx_bytes,
            self.rx_dropped,
            self.tx_dropped,
            self.rx_errors,
            self.tx_errors,
            self.rx_frame_err,
            self.rx_over_err,
            self.rx_crc_err,
            self.collisions,
        ]
    }

    /// Statistics from the twelve counters in wire order, as [`PortStats::wire_counters`].
    pub fn from_wire_counters(port_no: OfPort, c: [u64; 12], duration_sec: u32, duration_nsec: u32) -> PortStats {
        let [rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped, rx_errors, tx_errors, rx_frame_err, rx_over_err, rx_crc_err, collisions] = c;
        PortStats {
            port_no,
            rx_packets,
            tx_packets,
            rx_bytes,
            tx_bytes,
            rx_dropped,
            tx_dropped,
            rx_errors,
            tx_errors,
            rx_frame_err,
            rx_over_err,
            rx_crc_err,
            collisions,
            duration_sec,
            duration_nsec,
        }
    }

    /// Statistics of `port_no` with every counter "not kept" (`u64::MAX`) and zero duration.
    pub fn unknown(port_no: OfPort) -> PortStats {
        PortStats {
            port_no,
            rx_packets: u64::MAX,
            tx_packets: u64::MAX,
            rx_bytes: u64::MAX,
            tx_bytes: u64::MAX,
            rx_dropped: u64::MAX,
            tx_dropped: u64::MAX,
            rx_errors: u64::MAX,
            tx_errors: u64::MAX,
            rx_frame_err: u64::MAX,
            rx_over_err: u64::MAX,
            rx_crc_err: u64::MAX,
            collisions: u64::MAX,
            duration_sec: 0,
            duration_nsec: 0,
        }
    }
}

/// `OFPPC_*` port configuration bits.
pub mod port_config {
    /// Administratively down.
    pub const PORT_DOWN: u32 = 1 << 0;
    /// Drop received packets.
    pub const NO_RECV: u32 = 1 << 2;
    /// Drop packets forwarded to the port.
    pub const NO_FWD: u32 = 1 << 5;
    /// Do not send packet-ins for the port.
    pub const NO_PACKET_IN: u32 = 1 << 6;
}

/// `OFPPS_*` port state bits.
pub mod port_state {
    /// No physical link.
    pub const LINK_DOWN: u32 = 1 << 0;
    /// Blocked.
    pub const BLOCKED: u32 = 1 << 1;
    /// Live (for fast failover).
    pub const LIVE: u32 = 1 << 2;
}

/// `OFPPF_*` port feature bits (curr, advertised, supported, peer).
pub mod port_features {
    /// 10 Mb half duplex.
    pub const RATE_10MB_HD: u32 = 1 << 0;
    /// 10 Mb full duplex.
    pub const RATE_10MB_FD: u32 = 1 << 1;
    /// 100 Mb half duplex.
    pub const RATE_100MB_HD: u32 = 1 << 2;
    /// 100 Mb full duplex.
    pub const RATE_100MB_FD: u32 = 1 << 3;
    /// 1 Gb half duplex.
    pub const RATE_1GB_HD: u32 = 1 << 4;
    /// 1 Gb full duplex.
    pub const RATE_1GB_FD: u32 = 1 << 5;
    /// 10 Gb full duplex.
    pub const RATE_10GB_FD: u32 = 1 << 6;
    /// 40 Gb full duplex.
    pub const RATE_40GB_FD: u32 = 1 << 7;
    /// 100 Gb full duplex.
    pub const RATE_100GB_FD: u32 = 1 << 8;
    /// 1 Tb full duplex.
    pub const RATE_1TB_FD: u32 = 1 << 9;
    /// Another rate.
    pub const OTHER: u32 = 1 << 10;
    /// Copper medium.
    pub const COPPER: u32 = 1 << 11;
    /// Fiber medium.
    pub const FIBER: u32 = 1 << 12;
    /// Auto-negotiation.
    pub const AUTONEG: u32 = 1 << 13;
    /// Pause.
    pub const PAUSE: u32 = 1 << 14;
    /// Asymmetric pause.
    pub const PAUSE_ASYM: u32 = 1 << 15;
}

/// A port's description (port-desc reply, port-status, features).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortDesc {
    /// Port number.
    pub port_no: OfPort,
    /// MAC address.
    pub hw_addr: MacAddr,
    /// Name (up to 15 bytes).
    pub name: String,
    /// `OFPPC_*` bits.
    pub config: u32,
    /// `OFPPS_*` bits.
    pub state: u32,
    /// Current features (`OFPPF_*`).
    pub curr: u32,
    /// Advertised features.
    pub advertised: u32,
    /// Supported features.
    pub supported: u32,
    /// Features advertised by the peer.
    pub peer: u32,
    /// Current speed in kbps.
    pub curr_speed: u32,
    /// Maximum speed in kbps.
    pub max_speed: u32,
}

/// A flow or aggregate statistics request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStatsRequest {
    /// Table (`0xff` = all).
    pub table_id: u8,
    /// Only rules that output to this port (`ANY` = no filter).
    pub out_port: OfPort,
    /// Only rules that output to this group (`0xffffffff` = no filter).
    pub out_group: u32,
    /// Cookie to match under `cookie_mask`.
    pub cookie: u64,
    /// Cookie bits that must match.
    pub cookie_mask: u64,
    /// Only rules covered by this match.
    pub match_: Match,
}

impl Default for FlowStatsRequest {
    fn default() -> Self {
        FlowStatsRequest {
            table_id: rvs_flowcache::ofp::ALL_TABLES,
            out_port: OfPort::ANY,
            out_group: rvs_flowcache::ofp::ANY_GROUP,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::catchall(),
        }
    }
}

/// A features reply that lists the switch's ports, as OpenFlow 1.0 sends it (OpenFlow 1.3
/// never does: its encoding drops `actions` and `ports`, as Open vSwitch does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeaturesWithPorts {
    /// The features.
    pub features: SwitchFeatures,
    /// The OpenFlow 1.0 actions the switch supports: bit `n` is `OFPAT10` action type `n`
    /// (Open vSwitch 3.1 sends `0xfff`, every one).
    pub actions: u32,
    /// The ports.
    pub ports: Vec<PortDesc>,
}

/// A table's statistics with the description OpenFlow 1.0 sends along with them (OpenFlow
/// 1.3 moved the description to table features; its encoding drops it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableStatsDesc {
    /// The counters.
    pub stats: TableStats,
    /// The table's name (empty when unnamed).
    pub name: String,
    /// How many rules the table can hold.
    pub max_entries: u32,
    /// The fields rules may wildcard (OpenFlow 1.0: exactly the fields they may match).
    pub wildcards: Vec<rvs_flowcache::Field>,
}

/// A rule in a Nicira flow statistics reply (`NXST_FLOW`), which also tells how long ago the
/// rule last matched a packet and was last changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NxFlowStats {
    /// Everything standard flow statistics carry (Nicira's carry no flags).
    pub stats: FlowStats,
    /// Seconds since a packet last hit the rule (`None`: unknown).
    pub idle_age: Option<u16>,
    /// Seconds since the rule was added or modified (`None`: unknown).
    pub hard_age: Option<u16>,
}
