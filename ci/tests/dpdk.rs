//! End to end with DPDK ports (`type=dpdk`) on DPDK virtual devices, through a private
//! `rvs-vswitchd` built with the `dpdk` feature (`cargo build --bins --features
//! rvs-dataplane/dpdk`, then `cargo test -p rvs-ci --features dpdk --test dpdk`):
//!
//! * net_pcap in, net_pcap out: every frame of a generated capture crosses the bridge
//!   unchanged and in order, counters and `dpif/show` agree;
//! * net_tap ports moved into two namespaces: ping through the bridge, with `dpdk-init` set
//!   after the first port was configured (the port opens then, as in OVS);
//! * a restart with `dpdk-init` in the stored configuration initialises EAL at start and
//!   reopens the ports.
//!
//! EAL runs with hugepages when some are free and with `--no-huge` otherwise (the daemon
//! chooses and logs it). Needs root (namespaces, TAP devices); without it, or without the
//! feature, the tests print a loud SKIPPED line.

#[cfg(not(feature = "dpdk"))]
#[test]
fn dpdk_end_to_end_needs_the_feature() {
    eprintln!(
        "\n*** SKIPPED: DPDK end-to-end tests: build the daemon with --features rvs-dataplane/dpdk and run \
         cargo test -p rvs-ci --features dpdk (ci/test.sh does) ***\n"
    );
}

#[cfg(feature = "dpdk")]
mod with_feature {
    use std::path::Path;
    use std::time::Duration;

    use rvs_ci::*;

    /// Frames of a capture: IPv4/UDP of several sizes and flows, and raw local-experimental
    /// EtherType frames; destinations nobody learns (so NORMAL floods each to every port).
    fn frames() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for i in 0..60u8 {
            let mut f = vec![0x02, 0, 0, 0, 0x99, i, 0x02, 0, 0, 0, 0x11, 1];
            if i % 3 == 0 {
                f.extend_from_slice(&[0x88, 0xb5]);
                f.extend((0..(46 + usize::from(i) * 7)).map(|k| (k as u8) ^ i));
            } else {
                let payload = 18 + usize::from(i) * 11;
                let total = (20 + 8 + payload) as u16;
                f.extend_from_slice(&[0x08, 0x00]);
                let mut ip = [0x45, 0, 0, 0, 0, i, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                let sum = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u32>();
                let sum = (sum & 0xffff) + (sum >> 16);
                ip[10..12].copy_from_slice(&(!((sum & 0xffff) + (sum >> 16)) as u16).to_be_bytes());
                f.extend_from_slice(&ip);
                f.extend_from_slice(&(1000 + u16::from(i)).to_be_bytes());
                f.extend_from_slice(&5000u16.to_be_bytes());
                f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
                f.extend_from_slice(&[0, 0]);
                f.extend((0..payload).map(|k| k as u8));
            }
            out.push(f);
        }
        out
    }

    /// `tx pkts=N` of `port` in `dump-ports` output.
    fn tx_pkts(dump: &str, port: &str) -> Option<u64> {
        let mut lines = dump.lines();
        let label = format!("{port}:");
        lines.find(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some("port") && w.next() == Some(label.as_str())
        })?;
        let tx = lines.next()?;
        let i = tx.find("tx pkts=")? + "tx pkts=".len();
        tx[i..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    }

    fn dpdk_init(sw: &Switchd) {
        sw.vsctl(&["set", "Open_vSwitch", ".", "other_config:dpdk-init=true"]);
        let log = sw.log();
        assert!(log.contains("DPDK Enabled"), "{log}");
        // The memory choice is made for the user and said.
        assert!(log.contains("no free hugepages: EAL runs with --no-huge") || log.contains("EAL uses hugepages"), "{log}");
    }

    #[test]
    fn pcap_frames_cross_a_bridge_unchanged() {
        if !require_root("dpdk::pcap_frames_cross_a_bridge_unchanged") {
            return;
        }
        let p = unique_prefix();
        let sw = Switchd::start(&p);
        let (inp, out) = (sw.dir.join("in.pcap"), sw.dir.join("out.pcap"));
        let sent = frames();
        rvs_pmd::pcap::write(std::fs::File::create(&inp).unwrap(), &sent).unwrap();
        dpdk_init(&sw);
        sw.vsctl(&["add-br", "br0"]);
        // The output first: the input starts sending as soon as it is polled.
        let out_args = format!("options:dpdk-devargs=net_pcap1,tx_pcap={}", out.display());
        sw.vsctl(&["add-port", "br0", "pout", "--", "set", "Interface", "pout", "type=dpdk", &out_args, "ofport_request=2"]);
        let in_args = format!("options:dpdk-devargs=net_pcap0,rx_pcap={}", inp.display());
        sw.vsctl(&["add-port", "br0", "pin", "--", "set", "Interface", "pin", "type=dpdk", &in_args, "ofport_request=1"]);
        let n = sent.len() as u64;
        assert!(
            wait_for(Duration::from_secs(10), || tx_pkts(&sw.ofctl(&["dump-ports", "br0"]), "2") == Some(n)),
            "not all frames left by port 2:\n{}",
            sw.ofctl(&["dump-ports", "br0"])
        );
        let show = sw.appctl(&["dpif/show"]);
        assert!(show.contains("pin 1/") && show.contains("(dpdk: configured_rx_queues=1"), "{show}");
        assert!(show.contains("driver=net_pcap"), "{show}");
        // Deleting the port closes the device and its file.
        sw.vsctl(&["del-port", "br0", "pout"]);
        let got = rvs_pmd::pcap::read_file(Path::new(&out)).unwrap();
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "frames changed or reordered on the way");
        // The device is gone with its port: the same devargs work again.
        sw.vsctl(&["add-port", "br0", "pout", "--", "set", "Interface", "pout", "type=dpdk", &out_args]);
        assert!(sw.appctl(&["dpif/show"]).contains("pout"), "{}", sw.log());
    }

    #[test]
    fn ping_through_tap_vdevs_with_dpdk_init_set_late() {
        if !require_root("dpdk::ping_through_tap_vdevs_with_dpdk_init_set_late") {
            return;
        }
        let p = unique_prefix();
        let sw = Switchd::start(&p);
        let h1 = Netns::new(&format!("{p}h1"));
        let h2 = Netns::new(&format!("{p}h2"));
        let (t1, t2) = (format!("{p}t1"), format!("{p}t2"));
        sw.vsctl(&["add-br", "br0"]);
        // Before dpdk-init: configured, with an error, as OVS.
        let a1 = format!("options:dpdk-devargs=net_tap0,iface={t1}");
        let out = sw.try_tool("rvs-vsctl", &["add-port", "br0", "d1", "--", "set", "Interface", "d1", "type=dpdk", &a1]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("dpdk-init"), "{out:?}");
        dpdk_init(&sw);
        let a2 = format!("options:dpdk-devargs=net_tap1,iface={t2}");
        sw.vsctl(&["add-port", "br0", "d2", "--", "set", "Interface", "d2", "type=dpdk", &a2]);
        let show = sw.appctl(&["dpif/show"]);
        assert!(show.contains("d1 ") && show.contains("d2 ") && show.contains("driver=net_tap"), "{show}\n{}", sw.log());
        // The TAP devices are created in the daemon's namespace: hand them to the hosts.
        for (t, h, addr) in [(&t1, &h1, "10.77.0.1/24"), (&t2, &h2, "10.77.0.2/24")] {
            sw.ns.ip(&["link", "set", t, "netns", &h.name]);
            h.ip(&["addr", "add", addr, "dev", t]);
            h.ip(&["link", "set", t, "up"]);
        }
        assert!(h1.ping_until("10.77.0.2", Duration::from_secs(10)), "no ping through DPDK tap ports; log:\n{}", sw.log());
        assert!(h2.ping("10.77.0.1", 3));
        let dump = sw.ofctl(&["dump-ports", "br0"]);
        assert!(tx_pkts(&dump, "1").unwrap_or(0) >= 3 && tx_pkts(&dump, "2").unwrap_or(0) >= 3, "{dump}");
    }

    #[test]
    fn restart_initialises_dpdk_at_start_and_reopens_ports() {
        if !require_root("dpdk::restart_initialises_dpdk_at_start_and_reopens_ports") {
            return;
        }
        let p = unique_prefix();
        let mut sw = Switchd::start(&p);
        dpdk_init(&sw);
        sw.vsctl(&["add-br", "br0"]);
        sw.vsctl(&["add-port", "br0", "n0", "--", "set", "Interface", "n0", "type=dpdk", "options:dpdk-devargs=net_null0", "options:n_rxq=2"]);
        // net_null is an endless source: traffic flows (flooded to the bridge port).
        assert!(wait_for(Duration::from_secs(10), || sw.appctl(&["dpif/show"]).contains("hit:") && {
            let d = sw.ofctl(&["dump-ports", "br0", "n0"]);
            !d.contains("rx pkts=0,")
        }));
        assert_eq!(sw.stop(), Some(0), "unclean exit; log:\n{}", sw.log());
        sw.launch();
        // The management socket answers before the switch is restored: wait for "ready".
        let since_restart = |log: &str| log[log.rfind("starting").unwrap_or(0)..].to_string();
        assert!(wait_for(Duration::from_secs(20), || since_restart(&sw.log()).contains("|ready")), "{}", sw.log());
        let log = sw.log();
        let restarted = since_restart(&log);
        let (init, ready) = (restarted.find("DPDK Enabled"), restarted.find("|ready"));
        assert!(init.is_some() && init < ready, "EAL not initialised at start:\n{restarted}");
        let show = sw.appctl(&["dpif/show"]);
        assert!(show.contains("n0 1/") && show.contains("configured_rx_queues=2"), "{show}\n{log}");
    }
}
