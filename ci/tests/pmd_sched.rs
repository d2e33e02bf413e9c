//! PMD scheduling in the daemon: two PMDs (`pmd-cpu-mask=0x3`, sleeping when idle), memory
//! ports with several queues, `pmd-rxq-affinity`, `pmd-rxq-assign`, and the `rvs-appctl`
//! reports. The expected assignments are the ones ovs-vswitchd 3.1 printed for the same setup
//! with dummy-pmd ports (the bridge's own port is polled by the non-PMD thread, not listed);
//! usage figures depend on timing and are not compared.

use rvs_ci::*;

/// `pmd-rxq-show` without the measured figures (after "pmd usage:" and "overhead:").
fn layout(s: &str) -> String {
    s.lines()
        .map(|l| match l.find("pmd usage:").or_else(|| l.find("overhead:")) {
            Some(i) => l[..i + l[i..].find(':').unwrap_or(0) + 1].to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn queues_follow_affinity_and_assignment_mode() {
    if !require_root("pmd_sched::queues_follow_affinity_and_assignment_mode") {
        return;
    }
    let p = unique_prefix();
    let mut sw = Switchd::start(&p);
    sw.vsctl(&["set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x3"]);
    let (m0, m1) = (format!("{p}m0"), format!("{p}m1"));
    sw.vsctl(&["add-br", "br0"]);
    sw.vsctl(&["add-port", "br0", &m0, "--", "set", "Interface", &m0, "type=memory", "options:n_rxq=3"]);
    sw.vsctl(&["add-port", "br0", &m1, "--", "set", "Interface", &m1, "type=memory", "options:n_rxq=2", "other_config:pmd-rxq-affinity=0:1"]);
    let q = |port: &str, id: u32| format!("  port: {port:<16}  queue-id: {id:>2} (enabled)   pmd usage:");
    let expected = [
        "Displaying last 60 seconds pmd usage %".to_string(),
        "pmd thread numa_id 0 core_id 0:".into(),
        "  isolated : false".into(),
        q(&m0, 0),
        q(&m0, 1),
        q(&m0, 2),
        q(&m1, 1),
        "  overhead:".into(),
        "pmd thread numa_id 0 core_id 1:".into(),
        "  isolated : true".into(),
        q(&m1, 0),
        "  overhead:".into(),
    ]
    .join("\n");
    let show = sw.appctl(&["dpif-netdev/pmd-rxq-show"]);
    assert_eq!(layout(&show), expected, "{show}");
    assert!(sw.log().contains(&format!("Core  1 on numa node 0 is pinned with port '{m1}' rx queue 0")), "{}", sw.log());

    // group, without isolation: the pinned queue (m1 0) first, then each queue to the PMD
    // with the fewest, the lower core on a tie.
    sw.vsctl(&["set", "Open_vSwitch", ".", "other_config:pmd-rxq-assign=group", "other_config:pmd-rxq-isolate=false"]);
    let expected = [
        "Displaying last 60 seconds pmd usage %".to_string(),
        "pmd thread numa_id 0 core_id 0:".into(),
        "  isolated : false".into(),
        q(&m0, 0),
        q(&m0, 1),
        q(&m1, 1),
        "  overhead:".into(),
        "pmd thread numa_id 0 core_id 1:".into(),
        "  isolated : false".into(),
        q(&m0, 2),
        q(&m1, 0),
        "  overhead:".into(),
    ]
    .join("\n");
    let show = sw.appctl(&["dpif-netdev/pmd-rxq-show"]);
    assert_eq!(layout(&show), expected, "{show}");
    // The same after a restart: settings and pins are restored with the ports.
    assert_eq!(sw.stop(), Some(0));
    sw.launch();
    let show = sw.appctl(&["dpif-netdev/pmd-rxq-show"]);
    assert_eq!(layout(&show), expected, "after restart:\n{show}");
    let one = sw.appctl(&["dpif-netdev/pmd-rxq-show", "-pmd", "1", "-secs", "7"]);
    assert!(one.starts_with("Displaying last 10 seconds pmd usage %\npmd thread numa_id 0 core_id 1:\n"), "{one}");
    assert!(!one.contains("core_id 0"), "{one}");
    assert!(sw.log().contains("Rxq to PMD assignment mode changed to: 'group'."), "{}", sw.log());

    sw.vsctl(&["set", "Open_vSwitch", ".", "other_config:pmd-auto-lb=true"]);
    assert!(sw.log().contains("PMD auto load balance is enabled, interval 1 mins, pmd load threshold 95%, improvement threshold 25%."));
    assert_eq!(sw.appctl(&["dpif-netdev/pmd-rxq-rebalance"]), "pmd rxq rebalance requested.\n");

    let perf = sw.appctl(&["dpif-netdev/pmd-perf-show"]);
    for needle in ["\nTime: ", "\nMeasurement duration: ", "\npmd thread numa_id 0 core_id 0:\n\n  Iterations:   ", "\n  - Used TSC cycles:", "\n  Rx packets:                    0\n", "\npmd thread numa_id 0 core_id 1:\n"] {
        assert!(perf.contains(needle), "{needle:?} missing from:\n{perf}");
    }
    sw.appctl(&["dpif-netdev/pmd-stats-clear"]);
    let stats = sw.appctl(&["dpif-netdev/pmd-stats-show", "-pmd", "1"]);
    assert!(stats.starts_with("pmd thread numa_id 0 core_id 1:\n  packets received: 0\n"), "{stats}");
}
