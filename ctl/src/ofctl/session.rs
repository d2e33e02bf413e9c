//! What one `rvs-ofctl` run shares between its steps: options, the xid counter, and the port
//! and table names fetched from switches.
//!
//! # Names
//! As in `ovs-ofctl` 3.1, port (and table) names are *accepted* in flows and port arguments
//! unless `--no-names` is given, and *shown* in output only with `--names` or when standard
//! output is a terminal. The names of a switch are fetched on first need, each over a
//! connection of its own (ports from the features reply in OpenFlow 1.0 and from port
//! descriptions in 1.3; tables from table statistics in 1.0 and from table features in 1.3),
//! and cached under the name
//! the caller asked with: the target as typed for flows and port arguments, the connection's
//! name (`unix:/run/rvs/br0.mgmt`) when printing a reply. These extra connections take xids
//! from the shared counter, so they change the numbers printed afterwards exactly as they do
//! in `ovs-ofctl`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use rvs_openflow::msg::{decode, MultipartReply, MultipartRequest, OfMessage, Version};

use super::conn::{Connection, Fatal, Xids};
use super::names::{NameMap, PortMap};
use super::options::Options;
use super::print::{features::Features, ofp_to_string};

/// The state of one run.
#[derive(Debug)]
pub struct Session {
    /// The options.
    pub opts: Options,
    /// Where bridges' sockets live (`$RVS_RUNDIR`).
    pub rundir: PathBuf,
    /// The xid counter.
    pub xids: Xids,
    show_names: bool,
    ports: HashMap<String, PortMap>,
    tables: HashMap<String, NameMap>,
}

impl Session {
    /// A session; `stdout_is_terminal` decides whether names are shown by default.
    pub fn new(opts: Options, rundir: PathBuf, stdout_is_terminal: bool) -> Session {
        let show_names = opts.names.unwrap_or(stdout_is_terminal);
        Session { opts, rundir, xids: Xids::default(), show_names, ports: HashMap::new(), tables: HashMap::new() }
    }

    /// A session for this process (names shown by default when standard output is a terminal).
    pub fn for_process(opts: Options) -> Session {
        Session::new(opts, crate::mgmt::rundir(), std::io::stdout().is_terminal())
    }

    /// Opens a connection to `target`.
    pub fn open(&mut self, target: &str) -> Result<Connection, Fatal> {
        Connection::open(target, &self.rundir, self.opts.versions, &mut self.xids)
    }

    /// True if names are accepted in input.
    pub fn accept_names(&self) -> bool {
        self.opts.names != Some(false)
    }

    /// True if names are shown in output.
    pub fn show_names(&self) -> bool {
        self.show_names
    }

    fn port_map(&mut self, key: &str) -> Result<PortMap, Fatal> {
        if let Some(m) = self.ports.get(key) {
            return Ok(m.clone());
        }
        let mut map = NameMap::new();
        if is_active(key) {
            let mut conn = self.open(key)?;
            for p in port_descs(&mut conn, &mut self.xids)? {
                map.put(p.port_no.0, &p.name);
            }
        }
        let map = PortMap(map);
        self.ports.insert(key.to_string(), map.clone());
        Ok(map)
    }

    fn table_map(&mut self, key: &str) -> Result<NameMap, Fatal> {
        if let Some(m) = self.tables.get(key) {
            return Ok(m.clone());
        }
        let mut map = NameMap::new();
        if is_active(key) {
            let mut conn = self.open(key)?;
            for (table_id, name) in table_names(&mut conn, &mut self.xids)? {
                if !name.is_empty() {
                    map.put(table_id as u32, &name);
                }
            }
        }
        self.tables.insert(key.to_string(), map.clone());
        Ok(map)
    }

    /// The port names of `key` for parsing input (`ports_to_accept`).
    pub fn ports_to_accept(&mut self, key: &str) -> Result<Option<PortMap>, Fatal> {
        if self.accept_names() {
            self.port_map(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The port names of `key` for printing (`ports_to_show`).
    pub fn ports_to_show(&mut self, key: &str) -> Result<Option<PortMap>, Fatal> {
        if self.show_names {
            self.port_map(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The table names of `key` for parsing input (`tables_to_accept`).
    pub fn tables_to_accept(&mut self, key: &str) -> Result<Option<NameMap>, Fatal> {
        if self.accept_names() {
            self.table_map(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The table names of `key` for printing (`tables_to_show`).
    pub fn tables_to_show(&mut self, key: &str) -> Result<Option<NameMap>, Fatal> {
        if self.show_names {
            self.table_map(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The names to print a reply received on a connection named `conn_name` with: tables
    /// then ports are fetched, in the order `ovs-ofctl` evaluates them.
    pub fn maps_to_show(&mut self, conn_name: &str) -> Result<Option<PortMap>, Fatal> {
        self.tables_to_show(conn_name)?;
        self.ports_to_show(conn_name)
    }

    /// The names to parse flows for `target` with (tables, then ports, as `ovs-ofctl`
    /// evaluates them).
    pub fn maps_to_accept(&mut self, target: &str) -> Result<Option<PortMap>, Fatal> {
        self.tables_to_accept(target)?;
        self.ports_to_accept(target)
    }
}

/// True for a target a map can be fetched from: a bridge or socket name, or an active
/// connection method (passive ones would wait for the switch to connect).
fn is_active(key: &str) -> bool {
    !key.contains(':') || key.starts_with("unix:") || key.starts_with("tcp:")
}

/// `received bad reply: ...` as the port and table iterators of `ovs-ofctl` report it: they
/// print what is left of the message after what they had already consumed (the headers, when
/// they decoded, and the entries read before the bad one).
fn bad_reply(rest: &[u8]) -> Fatal {
    Fatal(format!("received bad reply: {}", ofp_to_string(rest, None, 1)))
}

/// The message without its headers, if they decode (`ofptype_pull`): 16 bytes for a
/// multipart reply (12 in OpenFlow 1.0), 8 for any other message.
fn after_headers(msg: &[u8]) -> &[u8] {
    match decode(msg) {
        Ok((_, OfMessage::MultipartReply { .. })) if msg[0] == 0x01 => &msg[12..],
        Ok((_, OfMessage::MultipartReply { .. })) => &msg[16..],
        Ok(_) => &msg[8..],
        Err(_) => msg,
    }
}

/// Every port description of the switch (`port_iterator`: the ports of the features reply in
/// OpenFlow 1.0, `OFPST_PORT_DESC` in 1.3).
pub fn port_descs(conn: &mut Connection, xids: &mut Xids) -> Result<Vec<rvs_openflow::stats::PortDesc>, Fatal> {
    if conn.version() == Version::V1_0 {
        let name = conn.name().to_string();
        let reply = conn.transact(&OfMessage::FeaturesRequest, xids, &name)?;
        return match decode(&reply) {
            Ok((_, OfMessage::FeaturesReplyPorts(f))) => Ok(f.ports),
            _ => Err(bad_reply(after_headers(&reply))),
        };
    }
    let mut ports = Vec::new();
    let request = OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::PortDesc };
    conn.dump(&request, xids, |reply| match decode(reply) {
        Ok((_, OfMessage::MultipartReply { reply: MultipartReply::PortDesc(p), .. })) => {
            ports.extend(p);
            Ok(())
        }
        _ => Err(bad_reply(after_headers(reply))),
    })?;
    Ok(ports)
}

/// Every table's number and name (`table_iterator`): from table statistics in OpenFlow 1.0,
/// from table features in 1.3.
fn table_names(conn: &mut Connection, xids: &mut Xids) -> Result<Vec<(u8, String)>, Fatal> {
    if conn.version() >= Version::V1_3 {
        return Ok(table_features(conn, xids)?.into_iter().map(|f| (f.table_id, f.name)).collect());
    }
    let mut tables = Vec::new();
    let request = OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::Table };
    conn.dump(&request, xids, |reply| match decode(reply) {
        Ok((_, OfMessage::MultipartReply { reply: MultipartReply::TableStatsDesc(t), .. })) => {
            tables.extend(t.into_iter().map(|t| (t.stats.table_id, t.name)));
            Ok(())
        }
        _ => Err(bad_reply(after_headers(reply))),
    })?;
    Ok(tables)
}

/// Every table's features as Open vSwitch reads them (`table_iterator` over
/// `OFPST_TABLE_FEATURES`); an error reply or a table Open vSwitch would not accept ends
/// the run with `received bad reply: ...`.
pub fn table_features(
    conn: &mut Connection,
    xids: &mut Xids,
) -> Result<Vec<rvs_openflow::table_features::TableFeatures>, Fatal> {
    let mut tables = Vec::new();
    let request = OfMessage::MultipartRequest { flags: 0, request: MultipartRequest::TableFeatures(Vec::new()) };
    conn.dump(&request, xids, |reply| match decode(reply) {
        Ok((_, OfMessage::MultipartReply { reply: MultipartReply::TableFeatures(t), .. })) if !t.is_empty() => {
            // Entries are consumed as they decode; a bad one is reported with what follows it.
            let mut rest = &reply[16..];
            for tf in t {
                let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                rest = &rest[len..];
                if Features::from_wire(&tf).is_err() {
                    return Err(bad_reply(rest));
                }
                tables.push(tf);
            }
            Ok(())
        }
        // An empty reply does not decode at all, and is reported whole.
        Ok((_, OfMessage::MultipartReply { reply: MultipartReply::TableFeatures(_), .. })) => Err(bad_reply(reply)),
        _ => Err(bad_reply(after_headers(reply))),
    })?;
    Ok(tables)
}
