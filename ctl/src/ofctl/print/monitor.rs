//! Flow monitor requests and updates (`NXST_FLOW_MONITOR`), as `ovs-ofctl` prints them.

use std::fmt::Write;

use rvs_openflow::monitor::{FlowMonitorRequest, FlowUpdate, FlowUpdateEvent};
use rvs_openflow::text::FlowFormatter;
use rvs_openflow::OfPort;

/// `NXFMF_*` names, in bit order.
const FLAG_NAMES: [&str; 6] = ["initial", "add", "delete", "modify", "actions", "own"];

/// The monitors of a request: `\n id=0 flags=initial,add,...`.
pub(super) fn requests(s: &mut String, reqs: &[FlowMonitorRequest], f: &FlowFormatter<'_>) {
    for q in reqs {
        let flags: Vec<&str> = FLAG_NAMES.iter().enumerate().filter(|(i, _)| q.flags & (1 << i) != 0).map(|(_, n)| *n).collect();
        let _ = write!(s, "\n id={} flags={}", q.id, flags.join(","));
        if q.out_port != OfPort::ANY {
            let _ = write!(s, " out_port={}", q.out_port);
        }
        if q.table_id != 0xff {
            let _ = write!(s, " table={}", q.table_id);
        }
        let m = f.format_match(&q.match_, rvs_flowcache::ofp::DEFAULT_PRIORITY);
        if !m.is_empty() {
            s.push(' ');
            s.push_str(&m);
        }
    }
}

/// `OFPRR_*` names of deleted flows.
fn reason_name(r: u16) -> String {
    match r {
        0 => "idle".into(),
        1 => "hard".into(),
        2 => "delete".into(),
        3 => "group_delete".into(),
        n => n.to_string(),
    }
}

/// The updates of a reply: `\n event=ADDED table=0 cookie=0 MATCH actions=...`.
pub(super) fn updates(s: &mut String, updates: &[FlowUpdate], f: &FlowFormatter<'_>) {
    for u in updates {
        match u {
            FlowUpdate::Abbrev { xid } => {
                let _ = write!(s, "\n event=ABBREV xid=0x{xid:x}");
            }
            FlowUpdate::Full { event, reason, priority, idle_timeout, hard_timeout, table_id, cookie, match_, actions } => {
                let _ = write!(s, "\n event={}", event.name());
                if *event == FlowUpdateEvent::Deleted {
                    let _ = write!(s, " reason={}", reason_name(*reason));
                }
                let _ = write!(s, " table={table_id}");
                if *idle_timeout != 0 {
                    let _ = write!(s, " idle_timeout={idle_timeout}");
                }
                if *hard_timeout != 0 {
                    let _ = write!(s, " hard_timeout={hard_timeout}");
                }
                if *cookie == 0 {
                    s.push_str(" cookie=0 ");
                } else {
                    let _ = write!(s, " cookie=0x{cookie:x} ");
                }
                // As `ovs-ofctl`: the match without the priority (it prints it as if default).
                let _ = priority;
                s.push_str(&f.format_match(match_, rvs_flowcache::ofp::DEFAULT_PRIORITY));
                if !actions.is_empty() {
                    if !s.ends_with(' ') {
                        s.push(' ');
                    }
                    s.push_str("actions=");
                    s.push_str(&f.format_actions(actions));
                }
            }
        }
    }
}
