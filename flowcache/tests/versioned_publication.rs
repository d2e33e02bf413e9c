//! Publication without blocking readers: reader threads hammer snapshots while the writer
//! applies thousands of flow-mods in batches. Readers must never see part of a batch, and the
//! writer must finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use rvs_flowcache::{Field, FlowKey, FlowMask, FlowMod, FlowModCommand, FlowTableWriter, Pipeline};

const BATCHES: u64 = 3_000;
/// Reader threads. The first spins on snapshots; the others yield between snapshots, so that
/// the writer keeps a share of a two-core CI machine (PMDs have cores of their own).
const READERS: usize = 2;

fn flow_mod(command: FlowModCommand, in_port: u64) -> FlowMod {
    let mut fm = FlowMod::new(command);
    fm.table_id = (in_port % 7) as u8;
    fm.match_.set(Field::InPort, in_port as u128);
    fm
}

/// Batch `b` adds the pair of rules (2b, 2b + 1), except every third batch, which deletes the
/// pair the batch before added. Returns the number of rules after `batches` batches.
fn rules_after(batches: u64) -> usize {
    (0..batches).map(|b| if b % 3 == 2 { -2 } else { 2 }).sum::<i64>() as usize
}

fn run_batch(w: &mut FlowTableWriter, b: u64) {
    if b % 3 == 2 {
        for port in [2 * (b - 1), 2 * (b - 1) + 1] {
            let out = w.apply(&flow_mod(FlowModCommand::DeleteStrict, port), b).unwrap();
            assert_eq!(out.removed.len(), 1);
        }
    } else {
        for port in [2 * b, 2 * b + 1] {
            assert_eq!(w.apply(&flow_mod(FlowModCommand::Add, port), b).unwrap().added.len(), 1);
        }
    }
    // A modify of a rule of this batch: changes nothing that readers count.
    let keep = 2 * (b - b % 3);
    assert_eq!(w.apply(&flow_mod(FlowModCommand::Modify, keep), b).unwrap().modified.len(), 1);
    assert_eq!(w.publish(), b + 1);
}

/// Everything a reader can check about one snapshot.
fn check_snapshot(p: &Pipeline) {
    let n = p.n_rules();
    assert_eq!(n % 2, 0, "half a batch is visible");
    assert_eq!(n, rules_after(p.version()), "version {} shows the wrong rules", p.version());
    assert_eq!(p.rules().count(), n);
    // Both rules of the most recent pair are there, and can be looked up.
    if p.version() > 0 {
        let b = p.version() - 1;
        let pair = if b % 3 == 2 { 2 * (b - 2) } else { 2 * b };
        for port in [pair, pair + 1] {
            let mut key = FlowKey::ZERO;
            key.in_port = port as u32;
            let found = p.lookup((port % 7) as u8, &key, &mut FlowMask::default()).map(|r| r.match_.key.in_port);
            assert_eq!(found, Some(port as u32), "version {}", p.version());
        }
    }
}

#[test]
fn readers_never_see_half_a_batch_and_the_writer_finishes() {
    let mut w = FlowTableWriter::new();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let (r, stop) = (w.reader(), stop.clone());
            thread::spawn(move || {
                let (mut seen, mut last) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let snapshot = r.snapshot();
                    check_snapshot(&snapshot);
                    assert!(snapshot.version() >= last, "versions go backwards");
                    last = snapshot.version();
                    seen += 1;
                    drop(snapshot);
                    if i > 0 {
                        thread::yield_now();
                    }
                }
                (seen, last)
            })
        })
        .collect();

    let (done_tx, done_rx) = mpsc::channel();
    let writer = thread::spawn(move || {
        for b in 0..BATCHES {
            run_batch(&mut w, b);
        }
        done_tx.send(()).unwrap();
        w
    });
    let finished = done_rx.recv_timeout(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = readers.into_iter().map(|t| t.join().expect("reader saw a bad snapshot")).collect();
    assert!(finished.is_ok(), "the writer did not finish");
    let w = writer.join().unwrap();
    assert_eq!(w.version(), BATCHES);
    assert_eq!(w.reader().snapshot().n_rules(), rules_after(BATCHES));
    check_snapshot(&w.snapshot());
    for (seen, _) in results {
        assert!(seen > 0);
    }
    assert_eq!(w.n_copies(), 0, "short-lived readers never make the writer copy");
}

#[test]
fn a_reader_holding_an_old_version_keeps_it_intact_and_only_delays_the_writer() {
    let mut w = FlowTableWriter::new();
    run_batch(&mut w, 0);
    let held = w.reader().snapshot(); // version 1
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        release_rx.recv().unwrap();
        thread::sleep(Duration::from_millis(20));
        check_snapshot(&held);
        assert_eq!((held.version(), held.n_rules()), (1, 2));
    });
    run_batch(&mut w, 1); // version 2 goes into the copy nobody holds
    release_tx.send(()).unwrap();
    run_batch(&mut w, 2); // needs version 1's copy: waits for the holder
    holder.join().unwrap();
    check_snapshot(&w.snapshot());
    assert_eq!(w.n_copies(), 0);
}

#[test]
fn the_writer_holding_its_own_snapshot_does_not_deadlock() {
    let mut w = FlowTableWriter::new();
    run_batch(&mut w, 0);
    let mine = w.snapshot(); // version 1, held by the writer's own thread
    run_batch(&mut w, 1);
    run_batch(&mut w, 2); // would wait forever for `mine`: copies instead
    assert_eq!(w.n_copies(), 1);
    check_snapshot(&mine);
    check_snapshot(&w.snapshot());
    drop(mine);
    for b in 3..10 {
        run_batch(&mut w, b);
    }
    check_snapshot(&w.reader().snapshot());
    assert_eq!(w.n_copies(), 1);
}
