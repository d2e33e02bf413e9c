//! Unit tests of the OXM/NXM table and of match encoding and decoding.

use super::*;

fn enc(m: &Match) -> Vec<u8> {
    let mut v = Vec::new();
    put_match_fields(&mut v, m).unwrap();
    v
}

#[test]
fn every_field_with_a_header_round_trips() {
    // One match per field, with its prerequisites.
    let with_prereq = |f: Field, value: u128| {
        let mut m = Match::catchall();
        match f.desc().prereq {
            rvs_flowcache::Prereq::None => {}
            rvs_flowcache::Prereq::Vlan => {
                m.set_masked(Field::VlanVid, 0x1005, 0x1fff);
            }
            rvs_flowcache::Prereq::Ipv4 | rvs_flowcache::Prereq::IpAny => {
                m.set(Field::EthType, 0x0800);
            }
            rvs_flowcache::Prereq::Ipv6 => {
                m.set(Field::EthType, 0x86dd);
            }
            rvs_flowcache::Prereq::Arp => {
                m.set(Field::EthType, 0x0806);
            }
            rvs_flowcache::Prereq::Tcp => {
                m.set(Field::EthType, 0x0800).set(Field::IpProto, 6);
            }
            rvs_flowcache::Prereq::Udp => {
                m.set(Field::EthType, 0x0800).set(Field::IpProto, 17);
            }
            rvs_flowcache::Prereq::Sctp => {
                m.set(Field::EthType, 0x0800).set(Field::IpProto, 132);
            }
            rvs_flowcache::Prereq::Icmpv4 => {
                m.set(Field::EthType, 0x0800).set(Field::IpProto, 1);
            }
            rvs_flowcache::Prereq::Icmpv6 | rvs_flowcache::Prereq::Nd | rvs_flowcache::Prereq::NdSolicit => {
                m.set(Field::EthType, 0x86dd).set(Field::IpProto, 58).set_masked(Field::TcpSrc, 135, 0xffff);
            }
            rvs_flowcache::Prereq::NdAdvert => {
                m.set(Field::EthType, 0x86dd).set(Field::IpProto, 58).set_masked(Field::TcpSrc, 136, 0xffff);
            }
        }
        set_field_masked(&mut m, f, value & value_mask(f), value_mask(f));
        m
    };
    for &f in Field::ALL {
        if entry_v13(f).is_none() || f.desc().is_subfield && f != Field::IpDscp && f != Field::VlanPcp {
            continue;
        }
        if matches!(f, Field::IcmpType | Field::Icmpv6Type | Field::IcmpCode | Field::Icmpv6Code | Field::ArpOp) {
            continue;
        }
        let value = match f {
            Field::InPort => 7,
            Field::EthType => 0x88cc,
            Field::VlanVid => 0x1003,
            Field::VlanTci => 0x7005,
            Field::NwTos => 0x10,
            Field::IpFrag => 1,
            Field::IpProto => 47,
            Field::Icmpv6Type => 135,
            _ => 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
        };
        let m = with_prereq(f, value);
        let bytes = enc(&m);
        let back = pull_match_fields(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name()));
        assert_eq!(back, m, "{}", f.name());
    }
}

#[test]
fn matches_the_bytes_ovs_ofctl_sends() {
    // tcp,tp_src=0x10/0xf0,tcp_dst=80,tcp_flags=+syn-ack (captured from ovs-ofctl 3.1)
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800).set(Field::IpProto, 6);
    m.set_masked(Field::TcpSrc, 0x10, 0xf0).set(Field::TcpDst, 80);
    m.set_masked(Field::TcpFlags, 0x002, 0x012);
    let want = "80000a020800800014010680001b04001000f080001c020050ffff55084f4e460000020012";
    let got: String = enc(&m).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want);
    assert_eq!(pull_match_fields(&enc(&m)).unwrap(), m);
}

#[test]
fn prerequisites_are_checked_in_order() {
    // ip_src before eth_type
    let bytes = [0x80, 0x00, 0x16, 0x04, 1, 2, 3, 4, 0x80, 0x00, 0x0a, 0x02, 0x08, 0x00];
    assert_eq!(pull_match_fields(&bytes).unwrap_err().error, BadMatch::BadPrereq.into());
    let ok = [0x80, 0x00, 0x0a, 0x02, 0x08, 0x00, 0x80, 0x00, 0x16, 0x04, 1, 2, 3, 4];
    let m = pull_match_fields(&ok).unwrap();
    assert_eq!(m.get(Field::IpSrc), Some((0x0102_0304, 0xffff_ffff)));
}

#[test]
fn malformed_entries_have_ovs_error_codes() {
    let code = |b: &[u8]| pull_match_fields(b).unwrap_err().error;
    // Duplicate eth_type.
    assert_eq!(code(&[0x80, 0, 0x0a, 2, 8, 0, 0x80, 0, 0x0a, 2, 8, 0]), BadMatch::DupField.into());
    // Truncated value.
    assert_eq!(code(&[0x80, 0, 0x0a, 2, 8]), BadMatch::BadLen.into());
    assert_eq!(code(&[0x80, 0]), BadMatch::BadLen.into());
    // Wrong length for eth_type.
    assert_eq!(code(&[0x80, 0, 0x0a, 3, 8, 0, 0]), BadMatch::BadField.into());
    // Unknown field.
    assert_eq!(code(&[0x80, 0, 0x7e, 1, 0]), BadMatch::BadField.into());
    // Mask on eth_type.
    assert_eq!(code(&[0x80, 0, 0x0b, 4, 8, 0, 0xff, 0]), BadMatch::BadMask.into());
    // Value outside mask (metadata).
    let mut md = vec![0x80, 0, 0x05, 0x10];
    md.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
    md.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(code(&md), BadMatch::BadWildcards.into());
    // ip_dscp above 63.
    assert_eq!(code(&[0x80, 0, 0x0a, 2, 8, 0, 0x80, 0, 0x10, 1, 64]), BadMatch::BadValue.into());
    // in_port in the hole between 0xff00 and 0xffffff00.
    assert_eq!(code(&[0x80, 0, 0, 4, 0, 1, 0, 0]), BadMatch::BadValue.into());
}

#[test]
fn unrepresentable_matches_are_refused() {
    let mut m = Match::catchall();
    m.set_masked(Field::EthType, 0x0800, 0xff00);
    assert!(put_match_fields(&mut Vec::new(), &m).is_err());
    let mut m = Match::catchall();
    m.set_masked(Field::VlanTci, 0x2000, 0xe000);
    assert!(put_match_fields(&mut Vec::new(), &m).is_err());
    // An IPv4 field without eth_type would be silently lost.
    let mut m = Match::catchall();
    m.set(Field::IpSrc, 1);
    assert!(put_match_fields(&mut Vec::new(), &m).is_err());
}

#[test]
fn names_and_headers() {
    assert_eq!(entry_nxm(Field::Reg3).unwrap().header(false), 0x0001_0604);
    assert_eq!(entry_nxm(Field::Metadata).unwrap().name, "OXM_OF_METADATA");
    assert_eq!(entry_v13(Field::TunId).unwrap().name, "OXM_OF_TUNNEL_ID");
    assert_eq!(entry_v13(Field::TcpFlags).unwrap().class, CLASS_EXPERIMENTER);
    assert_eq!(entry_by_name("NXM_NX_REG0_W").unwrap().field, Field::Reg0);
    assert_eq!(entry_by_header(0x0001_0604, 0).unwrap().field, Field::Reg3);
    assert_eq!(entry_by_header(0x0001_0708, 0).unwrap().field, Field::Reg3);
}
