//! The cycle model's timing against the microarchitecture of docs/spec.md
//! §12.2: one packet per clock for one-beat frames when conntrack hits and
//! memory keeps up, half that for two-beat frames, the limits the memory
//! parameters impose (with the stall that names them), and 100 GbE line
//! rate for 64-byte frames over a million flows on the default target.
//! These are modelled cycles, deterministic, not wall-clock time.
//!
//! The pipeline's own limits are measured behind a port that is not one
//! ([`capacity`]: 1.6 Tbit/s egress, a back-pressured AXI-Stream source);
//! the line-rate tests use the default target's 100 GbE MAC and port
//! (tests/ports.rs covers the ports themselves).

mod common;

use common::*;
use hw_model::cycle::{Cycle, CycleOptions, RxSource, Stall, CT_EXEC_LATENCY};
use hw_model::device::{in_memory, Memory};
use hw_model::functional::Functional;
use hw_model::model::Model;
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::Target;

const VIP: [u8; 4] = [192, 0, 2, 10];

fn web_image(t: &Target) -> Image {
    let mut text = String::from("[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\n");
    for i in 1..=8 {
        text += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{i}\"\nmac = \"02:00:00:00:00:0{i}\"\n"
        );
    }
    image_for(&text, t, None)
}

fn model(t: &Target) -> Cycle<Memory> {
    let mut d = in_memory(t.clone()).unwrap();
    d.flash(&web_image(t)).unwrap();
    Cycle::new(d)
}

/// Options for measuring the pipeline itself: a source it back-pressures.
const AXIS: CycleOptions = CycleOptions {
    hazard_check: true,
    rx_source: RxSource::Axis,
    cam_forgets_reads: false,
};

/// `t` with an egress port faster than the datapath (1.6 Tbit/s), so the
/// pipeline's own limits show.
fn fast_port(t: Target) -> Target {
    Target { port_gbps: 1600, ..t }
}

/// The pipeline of `t` behind a port that limits nothing.
fn capacity(t: Target) -> Cycle<Memory> {
    let t = fast_port(t);
    let mut d = in_memory(t.clone()).unwrap();
    d.flash(&web_image(&t)).unwrap();
    Cycle::with_options(d, AXIS)
}

fn client(i: u32) -> ([u8; 4], u16) {
    (
        [198, 18 + (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60000) as u16,
    )
}

/// `n` frames of `len` bytes over `flows` flows, offered back to back
/// (one per cycle) from `cycle0`; returns (first, last) egress cycle of
/// those frames.
fn burst(m: &mut Cycle<Memory>, flows: u32, n: u32, len: usize, cycle0: u64) -> (u64, u64) {
    let before = m.take_output().len();
    assert_eq!(before, 0);
    for k in 0..n {
        let (src, sport) = client(k % flows);
        m.input_at_cycle(
            tcp4_frame(src, sport, VIP, 80, 0x10, len),
            cycle0 + k as u64,
            1_000_000_000,
        );
    }
    m.finish();
    let out = m.take_output();
    assert_eq!(out.len(), n as usize);
    let mhz = m.dev.target.clock_mhz as u64;
    let cyc = |ns: u64| ns * mhz / 1000;
    (cyc(out[0].ts_ns), cyc(out.last().unwrap().ts_ns))
}

/// Packets per clock of a burst after its pipeline fill.
fn rate(first: u64, last: u64, n: u32) -> f64 {
    (n - 1) as f64 / (last - first) as f64
}

#[test]
fn one_beat_frames_take_one_clock_each_when_conntrack_hits() {
    // Memory that keeps up with one packet per clock: two 8-way candidate
    // buckets read and one way written per packet (the default target's
    // 16 beats per clock carry 16/17 of that; 100 GbE needs 0.46 at 322 MHz).
    let mut m = capacity(Target {
        ct_beats_per_cycle: 17,
        ..Target::builtin()
    });
    // Warm conntrack with 256 flows, then 20000 hits back to back.
    burst(&mut m, 256, 256, 60, 0);
    let c0 = m.now() + 10;
    let hits0 = m.counters().get(Counter::CtHits);
    let (first, last) = burst(&mut m, 256, 20_000, 64, c0);
    assert_eq!(m.counters().get(Counter::CtHits) - hits0, 20_000);
    let r = rate(first, last, 20_000);
    assert!(
        (r - 1.0).abs() < 1e-3,
        "64-byte frames: {r} packets/clock {:?}",
        m.stats
    );
    // Latency of a lone hit: RX 1 + FRONT 29 + CT_REQ 1 + read 100 + EXEC
    // 26 + BACKEND 2 + REWRITE 2 + TX FIFO 1 + TX 1 (spec §12.2).
    assert_eq!(CT_EXEC_LATENCY, 26);
    assert_eq!(m.stats.latency_cycles.min(), 163, "{:?}", m.stats.latency_cycles);
}

#[test]
fn two_beat_frames_take_two_clocks_each() {
    let mut m = capacity(Target::builtin());
    burst(&mut m, 256, 256, 60, 0);
    let c0 = m.now() + 10;
    let (first, last) = burst(&mut m, 256, 20_000, 65, c0);
    let r = rate(first, last, 20_000);
    assert!((r - 0.5).abs() < 1e-3, "65-byte frames: {r} packets/clock");
    assert!(m.stats.stalls[Stall::RxBackpressure as usize] == 0);
    // Offered one per clock, the datapath is the limit, and says so.
    assert!(
        m.stats.stalls[Stall::RxDatapath as usize] > 19_000,
        "{:?}",
        m.stats.stalls
    );
}

#[test]
fn outstanding_reads_bound_throughput_by_latency() {
    // 8 reads in flight over a 101-cycle read: at most 8/101 packets per
    // clock, and the stall says why.
    let mut m = capacity(Target {
        ct_max_outstanding: 8,
        ..Target::builtin()
    });
    let (first, last) = burst(&mut m, 50_000, 5_000, 60, 0);
    let r = rate(first, last, 5_000);
    let bound = 8.0 / 101.0;
    assert!((r - bound).abs() / bound < 0.02, "{r} vs {bound}");
    // CT_REQ waits for a free read slot nearly every cycle (CT_EXEC waits
    // for data meanwhile).
    let cycles = m.stats.cycles as f64;
    assert!(
        m.stats.stalls[Stall::CtOutstanding as usize] as f64 > 0.85 * cycles,
        "{:?}",
        m.stats
    );
}

#[test]
fn memory_bandwidth_bounds_throughput() {
    // Two 8-way buckets read + 1 way written per packet at 8 beats per
    // clock: 8/17 packets per clock.
    let mut m = capacity(Target {
        ct_beats_per_cycle: 8,
        ..Target::builtin()
    });
    burst(&mut m, 256, 256, 60, 0);
    let c0 = m.now() + 10;
    let (first, last) = burst(&mut m, 50_000, 20_000, 60, c0);
    let r = rate(first, last, 20_000);
    assert!((r - 8.0 / 17.0).abs() < 0.01, "{r} packets/clock");
    assert!(
        m.stats.stalls[Stall::CtBandwidth as usize] > 1000,
        "{:?}",
        m.stats.stalls
    );
}

#[test]
fn the_hazard_table_is_what_keeps_back_to_back_packets_exact() {
    let t = fast_port(Target::builtin());
    let run = |opts: CycleOptions| {
        let mut d = in_memory(t.clone()).unwrap();
        d.flash(&web_image(&t)).unwrap();
        let mut m = Cycle::with_options(d, opts);
        for i in 0..500u32 {
            let (src, sport) = client(i);
            m.input_at_cycle(
                tcp4_frame(src, sport, VIP, 80, 0x02, 60),
                2 * i as u64,
                1_000_000_000,
            );
            m.input_at_cycle(
                tcp4_frame(src, sport, VIP, 80, 0x10, 60),
                2 * i as u64 + 1,
                1_000_000_000,
            );
        }
        m.finish();
        (m.counters().clone(), m.stats.stale_reads, m.stats.ct_forwarded)
    };
    let (with, stale, fwd) = run(AXIS);
    assert_eq!(
        (with.get(Counter::CtHits), with.get(Counter::CtInserts), stale),
        (500, 500, 0)
    );
    assert_eq!(fwd, 1000, "every ACK took both candidate buckets from its SYN");
    // Without it every ACK reads the buckets before its SYN's insert lands.
    let (without, stale, _) = run(CycleOptions {
        hazard_check: false,
        ..AXIS
    });
    assert_eq!(without.get(Counter::CtHits), 0);
    assert_eq!(without.get(Counter::CtInserts), 1000);
    assert!(stale >= 500, "{stale}");
    // A table that forgets packets' reads: CT_EXEC runs on the stale data
    // the ACK received, so it misses exactly as without the table.
    let (broken, stale, fwd) = run(CycleOptions {
        cam_forgets_reads: true,
        ..AXIS
    });
    assert_eq!((broken.get(Counter::CtHits), fwd), (0, 0));
    assert_eq!(broken.get(Counter::CtInserts), 1000);
    assert!(stale >= 500, "{stale}");
}

/// 100 GbE line rate: 64-byte frames (60 bytes + FCS) arrive every
/// 1/148.8 us; 1M flows, each seen twice, on the default target. The
/// pipeline keeps up when frames leave as fast as they arrive and the
/// source backlog stays small.
#[test]
fn default_target_holds_100g_line_rate_for_64_byte_frames_over_1m_flows() {
    let t = Target::builtin();
    let mut m = model(&t);
    let flows = 1u32 << 20;
    let offered_pps = t.line_rate_pps(60);
    let gap = t.clock_mhz as f64 * 1e6 / offered_pps; // 1.68 cycles
    let n = 2 * flows;
    let mut out = 0u64;
    let (mut first, mut last) = (u64::MAX, 0);
    for k in 0..n {
        // Second pass in another order, so hits meet cold buckets too.
        let f = if k < flows {
            k
        } else {
            (k - flows).wrapping_mul(0x9e37_79b1) % flows
        };
        let (src, sport) = client(f);
        let ts = (k as f64 * 1e9 / offered_pps) as u64;
        m.input_at_cycle(
            tcp4_frame(src, sport, VIP, 80, 0x10, 60),
            (k as f64 * gap) as u64,
            ts,
        );
        if k % 65_536 == 0 || k == n - 1 {
            if k == n - 1 {
                m.finish();
            }
            for o in m.take_output() {
                first = first.min(o.ts_ns);
                last = last.max(o.ts_ns);
                out += 1;
            }
        }
    }
    assert_eq!(out, n as u64);
    let achieved = (n - 1) as f64 / ((last - first) as f64 * 1e-9);
    assert!(
        achieved >= offered_pps * 0.999,
        "achieved {:.1} Mpps of {:.1}",
        achieved / 1e6,
        offered_pps / 1e6
    );
    // Never more than a few frames waiting at the port.
    assert!(
        m.stats.fifo_high_water[0] < 8,
        "backlog {}",
        m.stats.fifo_high_water[0]
    );
    // 1M flows fill half the 2M-entry table: nothing is evicted.
    let c = m.counters();
    assert!(
        c.get(Counter::CtHits) > 0 && c.get(Counter::CtEvictions) == 0,
        "{:?}",
        c.named()
    );
    assert_eq!(c.get(Counter::RxOverflow), 0);
}

/// The same workload, smaller, through both models: same packets, same
/// counters.
#[test]
fn line_rate_trace_equivalence() {
    let t = Target::builtin();
    let mut c = model(&t);
    let mut d = in_memory(t.clone()).unwrap();
    d.flash(&web_image(&t)).unwrap();
    let mut f = Functional::new(d);
    for k in 0..100_000u32 {
        let (src, sport) = client(k.wrapping_mul(2654435761) % 20_000);
        let ts = k as u64 * 7;
        c.input(
            tcp4_frame(src, sport, VIP, 80, if k % 7 == 0 { 0x02 } else { 0x10 }, 60),
            ts,
        );
        f.input(
            tcp4_frame(src, sport, VIP, 80, if k % 7 == 0 { 0x02 } else { 0x10 }, 60),
            ts,
        );
    }
    c.finish();
    f.finish();
    let (co, fo) = (c.take_output(), f.take_output());
    assert_eq!(co.len(), fo.len());
    assert!(co
        .iter()
        .zip(&fo)
        .all(|(a, b)| a.seq == b.seq && a.data == b.data));
    assert_eq!(c.counters(), f.counters());
}

/// A replay keeps a record per input until the model says it is done with
/// it (`Model::settled`); dropped inputs leave no output to say so. Both
/// models must let go of them, or a capture of drops grows without bound.
#[test]
fn settled_passes_dropped_inputs() {
    let t = Target::builtin();
    // An IPv4 header length of 4 words: a parse error, dropped by default.
    let mut bad = tcp4_frame([198, 51, 100, 7], 40000, VIP, 80, 0x02, 64);
    bad[14] = 0x44;
    let mut c = model(&t);
    let mut f = Functional::new(in_memory(t.clone()).unwrap());
    f.dev.flash(&web_image(&t)).unwrap();
    let n = 20_000u64;
    let mut lag = 0;
    for i in 0..n {
        let ts = 1_000_000 + i * 100;
        c.input(bad.clone(), ts);
        f.input(bad.clone(), ts);
        if i % 256 == 255 {
            assert!(c.take_output().is_empty() && f.take_output().is_empty());
            lag = lag.max(i + 1 - c.settled());
            assert_eq!(f.settled(), i + 1, "the functional model has run every input");
        }
    }
    // The cycle model holds at most its source window and pipeline.
    assert!(lag < 5_000, "cycle model kept {lag} dropped inputs unsettled");
    c.finish();
    assert_eq!(c.settled(), n);
    assert_eq!(c.counters().get(Counter::DropParse), n);
}
