//! A packet as `ovs-ofctl` prints it in a packet-in or packet-out (Open vSwitch's
//! `ofp_packet_to_string`): the packet's flow as a match, then its L4 checksum.
//!
//! # What Open vSwitch prints
//! `flow_extract` dissects the packet, `flow_format` prints it: the match of every field
//! `match_wc_init` makes exact for a packet of its type, less the pipeline context fields
//! that are zero (`in_port`, registers, `metadata`, `pkt_mark`, conntrack fields). For
//! Ethernet frames that is the VLAN (untagged: `vlan_tci=0x0000`; tagged: `dl_vlan`,
//! `dl_vlan_pcp`, then the next tag's slot, `vlan_tci1`, which is `0x0000` without a second
//! tag), the Ethernet addresses and type; for IPv4 the addresses, for IPv6 the addresses and
//! flow label (and for neighbour discovery the target and both link-layer addresses, the
//! absent one as zeros), for ARP the
//! addresses, opcode and hardware addresses; for IP then `nw_proto`, `nw_tos`, `nw_ecn`,
//! `nw_ttl` and `nw_frag`, and for TCP, UDP, SCTP, ICMP and ICMPv6 (not in later fragments)
//! the ports or type and code, with `tcp_flags` for TCP. The line ends with the L4
//! checksum when the L4 header is whole (` tcp_csum:1a2b`, `udp_csum`, `sctp_csum`,
//! `icmp_csum`, `icmp6_csum`, in hexadecimal without leading zeros), then a newline.
//!
//! # How
//! rvs's own key extraction ([`FlowKey::extract`]) dissects the packet; the fields above are
//! copied into an exact [`Match`] and printed by [`format_match`], which follows
//! `match_format`. The second VLAN slot has no rvs field and is printed from the packet's
//! bytes. A packet rvs's extraction calls malformed prints what was extracted before the
//! fault (Open vSwitch is more lenient there and may print more fields).

use super::fields::set_in_match;
use super::format::format_match;
use rvs_flowcache::key::{FlowKey, FRAG_LATER, VLAN_PRESENT};
use rvs_flowcache::ofp::{Match, DEFAULT_PRIORITY};
use rvs_flowcache::Field;
use rvs_packet::wire::{ip_proto, EtherType};

/// The fields `flow_format` shows for a packet with key `k`, all exact.
fn packet_match(k: &FlowKey) -> Match {
    use Field::*;
    let mut fields = vec![VlanTci, EthSrc, EthDst, EthType];
    let ip = k.is_ip_any();
    match k.dl_type {
        EtherType::IPV4 => fields.extend([IpSrc, IpDst]),
        EtherType::IPV6 => {
            fields.extend([Ipv6Src, Ipv6Dst, Ipv6Label]);
            if k.nw_proto == ip_proto::ICMPV6 && k.tp_dst == 0 && matches!(k.tp_src, 135 | 136) {
                fields.extend([NdTarget, NdSll, NdTll]);
            }
        }
        0x0806 | 0x8035 => fields.extend([ArpSpa, ArpTpa, ArpOp, ArpSha, ArpTha]),
        _ => {}
    }
    if ip {
        fields.extend([IpProto, NwTos, IpEcn, NwTtl, IpFrag]);
        if k.nw_frag & FRAG_LATER == 0 {
            match (k.nw_proto, k.dl_type) {
                (ip_proto::TCP, _) => fields.extend([TcpSrc, TcpDst, TcpFlags]),
                (ip_proto::UDP | ip_proto::SCTP, _) => fields.extend([TcpSrc, TcpDst]),
                (ip_proto::ICMP, EtherType::IPV4) => fields.extend([IcmpType, IcmpCode]),
                (ip_proto::ICMPV6, EtherType::IPV6) => fields.extend([Icmpv6Type, Icmpv6Code]),
                _ => {}
            }
        }
    }
    let mut m = Match::catchall();
    for f in fields {
        set_in_match(&mut m, f, f.get(k), f.full_mask());
    }
    m
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The TCI of the second VLAN tag of `frame` (with the CFI bit, as Open vSwitch keeps it),
/// or 0 if there is none.
fn inner_tci(frame: &[u8]) -> u16 {
    match (be16(frame, 16), be16(frame, 14)) {
        (Some(0x8100 | 0x88a8), Some(tci)) => tci | VLAN_PRESENT,
        _ => 0,
    }
}

/// The L4 checksum suffix (` udp_csum:1234`) of a packet whose key is `k`, with its L4
/// header at `l4` and its IP payload ending at `end`.
fn l4_checksum(k: &FlowKey, frame: &[u8], l4: usize, end: usize) -> String {
    let size = end.saturating_sub(l4);
    let at = |off: usize| be16(frame, l4 + off).unwrap_or(0);
    match k.nw_proto {
        ip_proto::TCP if size >= 20 => format!(" tcp_csum:{:x}", at(16)),
        ip_proto::UDP if size >= 8 => format!(" udp_csum:{:x}", at(6)),
        ip_proto::SCTP if size >= 12 => format!(" sctp_csum:{:x}", (u32::from(at(8)) << 16) | u32::from(at(10))),
        ip_proto::ICMP if size >= 8 => format!(" icmp_csum:{:x}", at(2)),
        ip_proto::ICMPV6 if size >= 4 => format!(" icmp6_csum:{:x}", at(2)),
        _ => String::new(),
    }
}

/// Where the IP payload ends: the IP length fields, not Ethernet padding
/// (`dp_packet_l4_size` leaves the L2 padding out).
fn ip_end(k: &FlowKey, frame: &[u8], l3: usize) -> usize {
    let end = match k.dl_type {
        EtherType::IPV4 => be16(frame, l3 + 2).map(|l| l3 + usize::from(l)),
        EtherType::IPV6 => be16(frame, l3 + 4).map(|l| l3 + 40 + usize::from(l)),
        _ => None,
    };
    end.unwrap_or(frame.len()).min(frame.len())
}

/// The packet line `ovs-ofctl` prints for an Ethernet frame, with its newline.
pub fn packet_to_string(frame: &[u8]) -> String {
    let mut k = FlowKey::ZERO;
    let offsets = k.extract(frame, 0).ok();
    let mut s = format_match(&packet_match(&k), DEFAULT_PRIORITY, None);
    if k.vlan_tci & VLAN_PRESENT != 0 {
        // The second tag's slot comes right after the first tag's `dl_vlan_pcp`.
        let slot = format!(",vlan_tci1=0x{:04x}", inner_tci(frame));
        if let Some(at) = s.find("dl_vlan_pcp=") {
            let end = s[at..].find(',').map_or(s.len(), |e| at + e);
            s.insert_str(end, &slot);
        }
    }
    if let Some(off) = offsets.filter(|o| o.l4 != rvs_packet::PacketMeta::NO_OFFSET) {
        let end = ip_end(&k, frame, usize::from(off.l3));
        s.push_str(&l4_checksum(&k, frame, usize::from(off.l4), end));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::unhex;

    // What `ovs-ofctl monitor` (Open vSwitch 3.1) printed for these packets.
    #[test]
    fn prints_packets_as_ovs_ofctl() {
        let udp = unhex(
            "ffffffffffff00000000000208004500002000010000401166c70a0000010a000002003500350008e3df00000000000000000000000000000000000000000000",
        );
        assert_eq!(
            packet_to_string(&udp),
            "udp,vlan_tci=0x0000,dl_src=00:00:00:00:00:02,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.0.0.1,nw_dst=10.0.0.2,\
             nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=53,tp_dst=53 udp_csum:e3df\n"
        );
        let arp = unhex("0000000000020000000000010806000108000604000100000000000100000000000000000002000000000000");
        assert_eq!(
            packet_to_string(&arp),
            "arp,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,arp_spa=0.0.0.0,arp_tpa=0.0.0.0,\
             arp_op=1,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:02\n"
        );
    }
}
