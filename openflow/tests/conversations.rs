//! Whole conversations of `ovs-ofctl` (default protocols and `-O OpenFlow13`) with a real
//! Open vSwitch 3.1, recorded by `tests/gen_conformance.sh` (`data/conversations.txt`): every
//! request `ovs-ofctl` sent and every reply the switch sent back, for `show`, `dump-*`,
//! `add-flow`, `mod-flows`, `del-flows` (with `--strict`), `mod-port` and `packet-out`.
//!
//! Each message must decode under the state its connection is in (the session messages of
//! the conversation change it as they pass) and encode back to exactly the same bytes. Hellos
//! of versions this crate does not speak (the switch offers OpenFlow 1.5) only need to decode.

use std::collections::HashMap;

use rvs_openflow::msg::Version;
use rvs_openflow::session::Session;

mod common;
use common::unhex;

/// One recorded message: the step, the connection, the direction (`>` from `ovs-ofctl`), the
/// bytes and what `ofp-print` printed for them.
pub struct Recorded {
    pub step: String,
    pub conn: u32,
    pub from_client: bool,
    pub bytes: Vec<u8>,
    pub print: String,
}

pub fn conversations() -> Vec<Recorded> {
    let path = format!("{}/tests/data/conversations.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: Vec<Recorded> = Vec::new();
    let mut step = String::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(s) = line.strip_prefix("== ") {
            step = s.to_string();
        } else if let Some(p) = line.strip_prefix("| ") {
            let r = out.last_mut().expect("a message before its print");
            r.print.push_str(p);
            r.print.push('\n');
        } else if line == "|" {
            out.last_mut().expect("a message before its print").print.push('\n');
        } else {
            let mut w = line.split(' ');
            let (conn, dir, hex) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
            out.push(Recorded {
                step: step.clone(),
                conn: conn.parse().unwrap(),
                from_client: dir == ">",
                bytes: unhex(hex),
                print: String::new(),
            });
        }
    }
    out
}

#[test]
fn every_message_decodes_and_encodes_back_to_its_bytes() {
    let msgs = conversations();
    assert!(msgs.len() >= 200, "only {} messages recorded", msgs.len());
    let mut sessions: HashMap<(String, u32), Session> = HashMap::new();
    let mut failures = Vec::new();
    let mut checked = [0usize; 2];
    for m in &msgs {
        let b = &m.bytes;
        let xid = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let Some(version) = Version::from_wire(b[0]) else {
            assert_eq!(b[1], 0, "{}: only hellos may have another version", m.step);
            assert!(rvs_openflow::decode(b).is_ok(), "{}: hello does not decode", m.step);
            continue;
        };
        let session = sessions.entry((m.step.clone(), m.conn)).or_insert_with(|| Session::new(version));
        match session.decode(b) {
            Ok((_, msg)) => {
                match session.encode(&msg, xid) {
                    Ok(back) if &back == b => checked[(version == Version::V1_3) as usize] += 1,
                    Ok(back) => failures.push(format!(
                        "{} ({}):\n  theirs: {}\n  ours:   {}",
                        m.step,
                        m.print.lines().next().unwrap_or(""),
                        hex(b),
                        hex(&back)
                    )),
                    Err(e) => failures.push(format!("{}: {msg:?} does not encode: {e}", m.step)),
                }
                session.apply(&msg);
            }
            Err(e) => failures.push(format!("{} ({}): does not decode: {e}", m.step, m.print.lines().next().unwrap_or(""))),
        }
    }
    assert!(failures.is_empty(), "{} messages differ:\n{}", failures.len(), failures.join("\n"));
    assert!(checked[0] >= 150 && checked[1] >= 40, "checked {checked:?}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
