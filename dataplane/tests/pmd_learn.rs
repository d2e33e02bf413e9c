//! `learn()` through a real PMD (no root): the upcall hands the learned flow-mods to the
//! control thread's queue and the megaflow keeps them; hits on the cached megaflow make the
//! revalidator hand them over again; a megaflow without traffic does not. See
//! `rvs_flowcache::learn` for the design.

use rvs_dataplane::testkit::{anchor_udp_frame, PortSetup, TestSwitch};
use rvs_flowcache::Field;

const LEARN: &str = "table=0,priority=1,actions=learn(table=20,hard_timeout=300,priority=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:2";

#[test]
fn upcalls_learn_and_cached_hits_learn_again() {
    let mut sw = TestSwitch::builder().port(PortSetup::default()).port(PortSetup::sink()).build();
    sw.flows(&[LEARN]);
    let frame = anchor_udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000);
    sw.port(0).inject(&frame);
    sw.run_until_idle();
    assert_eq!(sw.port(1).stats().tx_packets, 1);

    // The upcall queued the flow-mod built from the packet (source MAC 02:00:00:00:00:01,
    // arriving on OpenFlow port 1).
    let rx = sw.datapath().learn_rx.clone();
    let learned: Vec<_> = rx.try_iter().collect();
    assert_eq!(learned.len(), 1);
    assert_eq!(learned[0].bridge, sw.bridge().name);
    let fm = &learned[0].flow_mods[0];
    assert_eq!((fm.table_id, fm.priority, fm.hard_timeout), (20, 1, 300));
    assert_eq!(fm.match_.get(Field::EthDst), Some((0x0200_0000_0001, 0xffff_ffff_ffff)));
    assert_eq!(fm.actions, vec![rvs_flowcache::OfAction::Output { port: rvs_flowcache::OfPort(1), max_len: 0 }]);
    // The megaflow matches the source MAC exactly (learn read it) and keeps the flow-mods.
    let mf = &sw.megaflows()[0];
    assert_eq!(mf.mask.dl_src, 0xffff_ffff_ffff);
    assert_eq!(&mf.deps.learned.as_deref().expect("the megaflow learns")[..], &learned[0].flow_mods[..]);

    // The first pass credits the upcall's own packet (a harmless refresh); a pass without new
    // traffic re-learns nothing.
    sw.revalidate();
    assert_eq!(rx.try_iter().count(), 1);
    sw.revalidate();
    assert_eq!(rx.try_iter().count(), 0);
    // Traffic that only hits the caches: the next pass learns again.
    for _ in 0..3 {
        sw.port(0).inject(&frame);
    }
    sw.run_until_idle();
    assert_eq!(sw.n_megaflows(), 1, "no new upcall");
    sw.revalidate();
    let again: Vec<_> = rx.try_iter().collect();
    assert_eq!(again.len(), 1);
    assert_eq!(&again[0].flow_mods[..], &learned[0].flow_mods[..]);
}
