//! The cycle model's ports (docs/spec.md §12.2): the egress port sends at
//! the target's port speed, so no replay leaves faster than the port; the
//! ingress MAC enforces its frame length limits in both models and drops
//! what its receive buffer cannot hold (or, as an AXI-Stream source, is
//! held back); and the default target carries 100 GbE line rate for every
//! frame size and forwarding mode, except where the egress port itself is
//! oversubscribed (an encapsulated frame is longer than the frame it
//! carries). Also the memory's read slots: a NAT return update takes one,
//! and reads in flight survive an idle pipeline.
//!
//! `cargo test --release -p hw-model-tests --test ports line_rate -- --nocapture`
//! prints the table in docs/performance.md.

mod common;

use common::*;
use hw_model::cycle::{Cycle, CycleOptions, RxSource, Stall};
use hw_model::device::{in_memory, Memory};
use hw_model::functional::Functional;
use hw_model::model::{Model, OutPacket};
use lbnic_contract::target::regs::{Counter, CT_UNIT_CHECK, CT_UNIT_CHECK_HASHED};
use lbnic_contract::target::{l1_bytes, Target};

const VIP: [u8; 4] = [192, 0, 2, 10];

const AXIS: CycleOptions = CycleOptions {
    hazard_check: true,
    rx_source: RxSource::Axis,
    cam_forgets_reads: false,
};

/// One TCP VIP on port 80 in `mode` with 8 IPv4 backends; `max_frame`
/// 9216 so that encapsulation is never refused for size here.
fn config(mode: &str) -> String {
    let mut s = format!(
        "[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\nmax_frame = 9216\n\
         [tunnel]\nsource_v4 = \"172.16.0.0/16\"\ngue_port = 6080\n\
         [[vip]]\nname = \"v\"\naddress = \"192.0.2.10\"\nport = 80\nmode = \"{mode}\"\n"
    );
    for i in 1..=8 {
        s += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{i}\"\nmac = \"02:00:00:00:00:0{i}\"\n"
        );
    }
    s
}

fn cycle(t: &Target, mode: &str, opts: CycleOptions) -> Cycle<Memory> {
    let mut d = in_memory(t.clone()).unwrap();
    d.flash(&image_for(&config(mode), t, None)).unwrap();
    Cycle::with_options(d, opts)
}

fn client(i: u32) -> ([u8; 4], u16) {
    (
        [198, 18 + (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60000) as u16,
    )
}

fn frame(k: u32, flows: u32, len: usize) -> Vec<u8> {
    let (src, sport) = client(k % flows);
    tcp4_frame(src, sport, VIP, 80, 0x10, len)
}

/// Cycle at which a frame whose L1 slot starts `bits` bits into a
/// line-rate stream arrives (exact integer arithmetic).
fn line_cycle(t: &Target, bits: u64) -> u64 {
    bits * t.clock_mhz as u64 / (t.port_gbps as u64 * 1000)
}

/// The egress port never carries more than its rate: between the ends of
/// the first and the last frame out, at most the port's bits (plus one
/// cycle for the rounding of the ends to whole cycles). `arrival[seq]` is
/// each input's arrival cycle.
fn assert_within_port(t: &Target, out: &[OutPacket], arrival: &[u64]) {
    let end = |o: &OutPacket| arrival[o.seq as usize] + o.latency_cycles().unwrap() as u64;
    for w in out.windows(2) {
        assert!(end(&w[1]) >= end(&w[0]), "egress order");
    }
    let bits: u64 = out[1..].iter().map(|o| l1_bytes(o.data.len() as u64) * 8).sum();
    let cycles = end(out.last().unwrap()) - end(&out[0]) + 1;
    assert!(
        bits * t.clock_mhz as u64 <= t.port_gbps as u64 * 1000 * cycles,
        "{bits} bits in {cycles} cycles exceed {} Gbit/s",
        t.port_gbps
    );
}

#[test]
fn egress_never_exceeds_the_port_when_offered_more() {
    // GUE adds 28 bytes; offered one 60-byte frame per clock (322 Mpps,
    // 2.2x the port) by a source the pipeline holds back.
    let t = Target::builtin();
    let mut m = cycle(&t, "tun-gue", AXIS);
    let n = 5000u32;
    let arrival: Vec<u64> = (0..n as u64).collect();
    for k in 0..n {
        m.input_at_cycle(frame(k, 1000, 60), arrival[k as usize], 1_000_000_000);
    }
    m.finish();
    let out = m.take_output();
    assert_eq!(out.len(), n as usize);
    assert_within_port(&t, &out, &arrival);
    // The port is the bottleneck and says so; the pipeline holds back.
    assert!(m.stats.stalls[Stall::TxPort as usize] > 0, "{:?}", m.stats.stalls);
    // The rate it leaves at is the port's, to 1 %: the frames after the
    // first over the time from the first's end to the last's.
    let bits = (m.stats.l1_bytes_out - l1_bytes(out[0].data.len() as u64)) as f64 * 8.0;
    let secs =
        (m.stats.last_egress - out[0].latency_cycles().unwrap() as u64) as f64 / (t.clock_mhz as f64 * 1e6);
    let gbps = bits / secs / 1e9;
    assert!(gbps <= 100.01 && gbps > 99.0, "{gbps} Gbit/s");
}

/// A lone 60-byte frame: RX 1 + FRONT 29 + CT_REQ 1 + read 100 + CT_EXEC to
/// BACKEND 2 + BACKEND to REWRITE 2 + REWRITE to the TX FIFO 1 + its 84
/// bytes on the 100 GbE wire (6.72 ns = 2.16 cycles at 322 MHz, rounded
/// up to 3).
#[test]
fn lone_frame_latency_includes_its_time_on_the_wire() {
    let t = Target::builtin();
    let mut m = cycle(&t, "dr", CycleOptions::default());
    m.input_at_cycle(frame(0, 1, 60), 0, 1_000_000_000);
    m.finish();
    m.take_output();
    m.input_at_cycle(frame(0, 1, 60), m.now() + 1000, 1_000_000_000);
    m.finish();
    let o = m.take_output();
    assert_eq!(o[0].latency_cycles(), Some(165));
    // The same at the stage boundaries a cycle compare reports.
    let c = o[0].cycles.unwrap();
    let at = |v: u64| v - c.arrival;
    assert_eq!(
        [c.ingress, c.rx_done, c.ct_req, c.decided, c.tx, c.egress].map(at),
        [0, 1, 30, 157, 162, 165]
    );
}

/// What a line-rate run of one mode and frame size did.
struct Row {
    mode: &'static str,
    len: usize,
    out_len: usize,
    offered_mpps: f64,
    out_mpps: f64,
    out_gbps_l1: f64,
    forwarded: f64,
    rx_overflow: u64,
    /// Cycles TX waited for the port.
    stall: u64,
}

/// `n` frames of `len` bytes over `flows` flows, offered back to back at
/// the port's line rate to the default target (MAC source), in `mode`.
/// NAT's flows are opened first, a frame each 64 cycles: a new NAT flow's
/// return entry takes one of `CT_RMW_UNITS` posted units for a read
/// latency and more (spec §12.3 decision 11, and
/// `new_nat_flows_wait_for_a_posted_unit`), so line rate holds for NAT's
/// established flows, not for new ones.
fn line_rate(mode: &'static str, len: usize, n: u32, flows: u32) -> Row {
    let t = Target::builtin();
    let mut m = cycle(&t, mode, CycleOptions::default());
    // (arrival cycles by input sequence number)
    let mut arrival = Vec::with_capacity(n as usize);
    let mut start = 0;
    if mode == "nat" {
        for k in 0..flows {
            let a = 64 * k as u64;
            arrival.push(a);
            m.input_at_cycle(frame(k, flows, len), a, 1_000_000_000 + m.cycle_ns(a));
        }
        m.finish();
        assert_eq!(
            m.take_output().len(),
            flows as usize,
            "{mode} {len}: opening the flows"
        );
        start = m.now() + 1000;
    }
    let mut bits = 0u64;
    for k in 0..n {
        let a = start + line_cycle(&t, bits);
        bits += l1_bytes(len as u64) * 8;
        arrival.push(a);
        m.input_at_cycle(frame(k, flows, len), a, 1_000_000_000 + m.cycle_ns(a));
    }
    m.finish();
    let out = m.take_output();
    let c = m.counters();
    // Nothing but the MAC's overflow drops anything.
    for (name, v) in c.named() {
        if name.starts_with("drop_") || name.starts_with("parse_") {
            assert_eq!(v, 0, "{mode} {len}: {name}");
        }
    }
    let rx_overflow = c.get(Counter::RxOverflow);
    assert_eq!(out.len() as u64 + rx_overflow, n as u64, "{mode} {len}");
    assert_within_port(&t, &out, &arrival);
    // Steady state: the second half of the output.
    let end = |o: &OutPacket| arrival[o.seq as usize] + o.latency_cycles().unwrap() as u64;
    let half = &out[out.len() / 2..];
    let secs = (end(half.last().unwrap()) - end(&half[0])) as f64 / (t.clock_mhz as f64 * 1e6);
    let out_len = out[0].data.len();
    let k = (half.len() - 1) as f64;
    let out_mpps = k / secs / 1e6;
    let stall = m.stats.stalls[Stall::TxPort as usize];
    Row {
        mode,
        len,
        out_len,
        offered_mpps: t.line_rate_pps(len as u32) / 1e6,
        out_mpps,
        out_gbps_l1: out_mpps * 1e6 * (l1_bytes(out_len as u64) * 8) as f64 / 1e9,
        forwarded: out.len() as f64 / n as f64,
        rx_overflow,
        stall,
    }
}

/// Every forwarding mode and frame size 60 (64 on the wire with FCS) ..
/// 1518 bytes, offered at 100 GbE line rate: the pipeline drops nothing
/// and keeps the offered rate wherever the output frame is no longer on
/// the wire than the input (DR, NAT); where it is (IPIP +20 bytes, GUE +28)
/// the egress port is oversubscribed by physics, leaves at the port's rate,
/// and the MAC's buffer overflows (`rx_overflow`) by the excess.
#[test]
fn line_rate_every_mode_and_frame_size() {
    let sizes = [60usize, 64, 65, 128, 512, 1518];
    println!("| mode | frame (no FCS) | out frame | offered Mpps | achieved Mpps | achieved Gbit/s L1 out | forwarded | rx_overflow | tx_port stall cycles |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for mode in ["dr", "nat", "tun-ipip", "tun-gue"] {
        for &len in &sizes {
            let r = line_rate(mode, len, 20_000, 4096);
            println!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} % | {} | {} |",
                r.mode,
                r.len,
                r.out_len,
                r.offered_mpps,
                r.out_mpps,
                r.out_gbps_l1,
                100.0 * r.forwarded,
                r.rx_overflow,
                r.stall
            );
            let oversubscribed = l1_bytes(r.out_len as u64) > l1_bytes(r.len as u64);
            // (Measured between whole-cycle ends: within a cycle's rounding;
            // `assert_within_port` made the exact check.)
            assert!(r.out_gbps_l1 <= 100.01, "{mode} {len}: {}", r.out_gbps_l1);
            if oversubscribed {
                // The port is full; what it cannot carry is dropped at the
                // ingress MAC, by about the excess.
                assert!(r.out_gbps_l1 > 99.5, "{mode} {len}: {}", r.out_gbps_l1);
                let share = l1_bytes(r.len as u64) as f64 / l1_bytes(r.out_len as u64) as f64;
                assert!(
                    r.forwarded >= share - 0.01,
                    "{mode} {len}: {} < {share}",
                    r.forwarded
                );
            } else {
                assert_eq!(r.rx_overflow, 0, "{mode} {len}");
                assert!(
                    (r.out_mpps - r.offered_mpps).abs() / r.offered_mpps < 0.005,
                    "{mode} {len}: {} of {} Mpps",
                    r.out_mpps,
                    r.offered_mpps
                );
            }
        }
    }
}

/// A 250 MHz pipeline (the old default) cannot take 65-byte frames (two
/// beats) at 100 GbE line rate: the MAC drops what its buffer cannot hold
/// and the stall names the datapath; an AXI-Stream source is held back
/// instead, and its backlog is counted whole.
#[test]
fn two_beat_frames_at_250_mhz_overflow_the_mac_and_name_the_datapath() {
    let t = Target {
        clock_mhz: 250,
        ..Target::builtin()
    };
    let n = 20_000u32;
    let run = |opts: CycleOptions| {
        let mut m = cycle(&t, "dr", opts);
        let mut bits = 0;
        for k in 0..n {
            m.input_at_cycle(frame(k, 4096, 65), line_cycle(&t, bits), 1_000_000_000);
            bits += l1_bytes(65) * 8;
        }
        m.finish();
        let out = m.take_output().len() as u64;
        (m.stats.clone(), m.counters().get(Counter::RxOverflow), out)
    };
    let (s, overflow, out) = run(CycleOptions::default());
    assert!(overflow > 0 && out + overflow == n as u64, "{overflow} {out}");
    assert_eq!(s.rx_overflow, overflow);
    assert!(
        s.stalls[Stall::RxDatapath as usize] > n as u64 / 2,
        "{:?}",
        s.stalls
    );
    assert!(s.rx_buffer_high_water > t.rx_buffer_bytes as u64 - 65);
    let (s, overflow, out) = run(AXIS);
    assert_eq!((overflow, out), (0, n as u64));
    assert!(
        s.stalls[Stall::RxDatapath as usize] > n as u64 / 2,
        "{:?}",
        s.stalls
    );
    assert!(s.fifo_high_water[0] > 100, "{:?}", s.fifo_high_water);
}

/// The port backlog is every frame arrived and waiting, however far the
/// simulator's source window is: 10000 frames offered at once to a
/// back-pressured source are a backlog of 10000.
#[test]
fn port_backlog_is_not_capped_by_the_source_window() {
    let t = Target::builtin();
    let mut m = cycle(&t, "dr", AXIS);
    for k in 0..10_000 {
        m.input_at_cycle(frame(k, 4096, 60), 0, 1_000_000_000);
    }
    m.finish();
    assert_eq!(m.take_output().len(), 10_000);
    assert_eq!(m.stats.fifo_high_water[0], 10_000);
}

/// The ingress MAC's length checks, in both models alike: longer than
/// `max_rx_frame` never enters (`rx_oversize`), shorter than 60 bytes is
/// counted (`rx_undersize`) and taken as padded.
#[test]
fn mac_length_limits_apply_in_both_models() {
    let t = Target {
        max_rx_frame: 1518,
        ..Target::builtin()
    };
    let img = image_for(&config("dr"), &t, None);
    let mut f = Functional::new(device(&t, &img));
    let mut c = Cycle::new(device(&t, &img));
    let lens = [54usize, 60, 1518, 1519, 9000, 65_549, 59];
    for (k, &len) in lens.iter().enumerate() {
        let fr = frame(k as u32, 100, len);
        let ts = 1_000_000_000 + 10_000 * k as u64;
        f.input(fr.clone(), ts);
        c.input(fr, ts);
    }
    f.finish();
    c.finish();
    let (fo, co) = (f.take_output(), c.take_output());
    let seqs = |o: &[OutPacket]| o.iter().map(|p| (p.seq, p.data.clone())).collect::<Vec<_>>();
    assert_eq!(seqs(&fo), seqs(&co));
    assert_eq!(fo.iter().map(|p| p.seq).collect::<Vec<_>>(), [0, 1, 2, 6]);
    assert_eq!(f.counters(), c.counters());
    let k = f.counters();
    assert_eq!(k.get(Counter::RxOversize), 3);
    assert_eq!(k.get(Counter::RxUndersize), 2);
    assert_eq!(k.get(Counter::RxPackets), 4);
}

/// A new NAT flow's return-entry update holds an outstanding-read slot:
/// with 8 slots, never more than 8 reads in flight.
#[test]
fn nat_return_updates_respect_the_outstanding_limit() {
    let t = Target {
        ct_max_outstanding: 8,
        port_gbps: 1600,
        ..Target::builtin()
    };
    let mut m = cycle(&t, "nat", AXIS);
    for k in 0..3000 {
        m.input_at_cycle(frame(k, 1_000_000, 60), k as u64, 1_000_000_000);
    }
    m.finish();
    assert_eq!(m.take_output().len(), 3000);
    assert!(m.counters().get(Counter::CtInserts) >= 3000);
    assert!(
        m.stats.ct_outstanding_high_water <= 8,
        "{} reads in flight",
        m.stats.ct_outstanding_high_water
    );
    assert_eq!(m.stats.ct_outstanding_high_water, 8);
    assert!(m.stats.stalls[Stall::CtOutstanding as usize] > 0);
}

/// `n` new NAT flows, one every `spacing` cycles, through a finished run.
fn nat_flows(t: &Target, n: u32, spacing: u64) -> Cycle<Memory> {
    let mut m = cycle(t, "nat", AXIS);
    for k in 0..n {
        m.input_at_cycle(frame(k, 1_000_000, 60), k as u64 * spacing, 1_000_000_000);
    }
    m.finish();
    assert_eq!(m.take_output().len(), n as usize);
    m
}

/// New NAT flows into a table they fill (64 buckets of 8 ways): once a
/// return entry's two candidates both have their full hint set, CT_EXEC
/// inserts it in line, on its own reads, and the next packet waits for it
/// (`ct_inline`, spec §12.3 decision 12); into the empty table, never.
#[test]
fn new_nat_flows_into_a_full_table_hold_ct_exec_for_the_insert_in_line() {
    let t = Target {
        ct_buckets: 64,
        ..Target::builtin()
    };
    // (one every 100 cycles: the next flow's data is in before an insert
    // in line ends)
    let run = |n: u32| nat_flows(&t, n, 100).stats.stalls[Stall::CtInline as usize];
    assert_eq!(run(60), 0, "an empty table's return entries are posted");
    assert!(run(600) > 0, "a full table's return entries are inserted in line");
}

/// New NAT flows faster than the posted units write their return entries:
/// CT_EXEC waits for an idle unit (`ct_units`), as the RTL's does in
/// S_NAT_HA (spec §12.3 decision 11). A unit is busy from its post to a
/// read latency and more after, so of any six flows, the sixth is decided
/// at least a read latency after the first: the fifth's update waited for
/// the first's unit, and the sixth for the fifth's post.
#[test]
fn new_nat_flows_wait_for_a_posted_unit() {
    let t = Target {
        port_gbps: 1600,
        ..Target::builtin()
    };
    let mut m = cycle(&t, "nat", AXIS);
    let n = 400;
    for k in 0..n {
        m.input_at_cycle(frame(k, 1_000_000, 60), k as u64, 1_000_000_000);
    }
    m.finish();
    let out = m.take_output();
    assert_eq!(out.len(), n as usize);
    assert!(m.stats.stalls[Stall::CtUnits as usize] > 0);
    let d: Vec<u64> = out.iter().map(|p| p.cycles.expect("timed").decided).collect();
    let span = (d[d.len() - 1] - d[0]) as f64 / (t.clock_mhz as f64 * 1e6);
    println!(
        "new NAT flows back to back: {:.2} M/s",
        (d.len() - 1) as f64 / span / 1e6
    );
    for k in 5..d.len() {
        assert!(
            d[k] >= d[k - 5] + t.ct_latency_cycles as u64,
            "packet {k} decided at {}, packet {} at {}",
            d[k],
            k - 5,
            d[k - 5]
        );
    }
}

/// The edge figure `rx_beats` is the beats of the frames RX took, as the
/// RTL's harness counts them at `tready`: not the cycles RX then held a
/// frame for a full FRONT (spec §12.3, "the edges").
#[test]
fn rx_beats_are_beats_under_backpressure() {
    let t = Target {
        ct_max_outstanding: 1,
        port_gbps: 1600,
        ..Target::builtin()
    };
    let mut m = cycle(&t, "nat", AXIS);
    for k in 0..500 {
        m.input_at_cycle(frame(k, 100_000, 60), 0, 1_000_000_000);
    }
    m.finish();
    assert_eq!(m.take_output().len(), 500);
    assert_eq!(m.stats.edges().rx_beats, 500);
    assert!(m.stats.busy[0] > 1000, "RX held frames: {:?}", m.stats.busy);
}

/// The scrubber's reads have slots of their own (spec §12.3 decision 9):
/// on a slow memory with one outstanding slot, lone packets (new NAT flows,
/// whose posted updates take the slot too) leave with the latencies they
/// have with 128 slots, however busy the scrubber is between them.
#[test]
fn the_scrubber_takes_no_packets_slot() {
    let latencies = |slots: u32| {
        let t = Target {
            ct_max_outstanding: slots,
            ct_latency_cycles: 400,
            port_gbps: 1600,
            ..Target::builtin()
        };
        let mut m = cycle(&t, "nat", CycleOptions::default());
        for k in 0..20u32 {
            m.input_at_cycle(
                frame(k, 20, 60),
                k as u64 * 5000,
                1_000_000_000 + k as u64 * 20_000,
            );
        }
        m.finish();
        assert!(m.stats.scrub_reads > 100, "{} scrub reads", m.stats.scrub_reads);
        let o = m.take_output();
        assert_eq!(o.len(), 20);
        o.iter().map(|p| p.latency_cycles().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(latencies(1), latencies(128));
}

/// When the pipeline goes idle the memory's reads in flight stay in
/// flight: with one read slot, a NAT flow's return update still holds it
/// when the next packet arrives after the first has left, so that packet
/// waits for it. (3 beats per clock for a 4-beat bucket: the scrubber,
/// which needs a whole burst of spare credit, stays out of the way.)
#[test]
fn reads_in_flight_survive_an_idle_pipeline() {
    let t = Target {
        ct_max_outstanding: 1,
        ct_beats_per_cycle: 3,
        port_gbps: 1600,
        ..Target::builtin()
    };
    let mut m = cycle(&t, "nat", CycleOptions::default());
    m.input_at_cycle(frame(0, 10, 60), 0, 1_000_000_000);
    // The first frame leaves at 165 (its decision CT_EXEC_LATENCY after it
    // executed at ~131); its return update, requested CT_EXEC_LATENCY + 7
    // cycles after that (spec §12.3 decision 10), holds the slot until
    // ~266, when the second packet's read (CT_REQ at ~196) goes.
    m.input_at_cycle(frame(1, 10, 60), 166, 1_000_000_000);
    m.finish();
    let o = m.take_output();
    assert_eq!(o.len(), 2);
    let (first, second) = (o[0].latency_cycles().unwrap(), o[1].latency_cycles().unwrap());
    assert!(first < 166, "{first}");
    assert!(
        second > first + 20,
        "the second packet did not wait: {first} {second}"
    );
}

/// Where the RTL's egress reads a frame from the packet buffer more than
/// once, REWRITE charges it (spec §12.3 decision 3), and a lone packet's
/// cycles from the decision to its first TX beat are the RTL's: a too-big
/// packet (n beats) is read by REWRITE, then by pass 1 and pass 2 of its
/// ICMP answer, whose first beat leaves 2n + 11 cycles after a rewrite's
/// would (5); one byte less fits and takes the 5. An ICMP error is read once
/// more before REWRITE (its quoted checksums, summed in a 3-stage
/// pipeline): n + 6.
#[test]
fn extra_egress_reads_are_charged_in_rewrite() {
    let t = Target::builtin();
    let mut d = in_memory(t.clone()).unwrap();
    let text = config("dr").replace("max_frame = 9216", "max_frame = 1514");
    d.flash(&image_for(&text, &t, None)).unwrap();
    let mut m = Cycle::new(d);
    let mut lone = |f: Vec<u8>| {
        m.input_at_cycle(f, m.now() + 1000, 1_000_000_000);
        m.finish();
        let o = m.take_output();
        assert_eq!(o.len(), 1);
        let c = o[0].cycles.unwrap();
        (o[0].data.len(), c.tx - c.decided)
    };
    let (src, sport) = client(0);
    let df = |len: usize| {
        let mut f = tcp4_frame(src, sport, VIP, 80, 0x10, len);
        f[20] |= 0x40;
        fix_ipv4_csum(&mut f, 14);
        f
    };
    assert_eq!(lone(df(1514)), (1514, 5));
    // 24 beats of 64 bytes.
    assert_eq!(lone(df(1515)), (590, 5 + 2 * 24 + 11));
    assert_eq!(lone(df(9000)), (590, 5 + 2 * 141 + 11));
    // An ICMP error about the flow (a router's, quoting the VIP's reply
    // to the client): 70 bytes, 2 beats.
    let reply = tcp4_frame(VIP, 80, src, sport, 0x10, 54);
    let err = icmp_error("198.51.100.1", "192.0.2.10", 11, 0, &reply[14..], 28);
    let (len, took) = lone(err.clone());
    assert_eq!((len, took), (err.len(), 5 + 2 + 6));
    assert_eq!(m.counters().get(Counter::IcmpTooBigSent), 2);
    // A too-big frame without DF gets no answer, but pass 1 still reads it
    // (141 beats): REWRITE takes the packet right behind it (decided one
    // cycle later) 141 + 7 cycles later than it would; behind a frame that
    // fits, it waits only for the port.
    let behind = |m: &mut Cycle<Memory>, first: Vec<u8>| {
        let at = m.now() + 1000;
        m.input_at_cycle(first, at, 1_000_000_000);
        m.input_at_cycle(df(60), at, 1_000_000_000);
        m.finish();
        let o = m.take_output();
        let c = o.last().unwrap().cycles.unwrap();
        (o.len(), c.tx - c.decided)
    };
    let mut no_df = df(9000);
    no_df[20] &= !0x40;
    fix_ipv4_csum(&mut no_df, 14);
    let mut fits = no_df.clone();
    fits.truncate(1514);
    fits[16..18].copy_from_slice(&1500u16.to_be_bytes());
    fix_ipv4_csum(&mut fits, 14);
    assert_eq!(behind(&mut m, fits), (2, 43));
    assert_eq!(behind(&mut m, no_df), (1, 5 - 1 + 141 + 7 + 1));
}

/// A packet right behind a new NAT flow waits for the flow's check for a
/// unit (`ct_nat_check`): only there are the return key's candidates'
/// full hints read, which say whether the entry goes in line, and one in
/// line comes before the next packet (spec §12.3 decision 14). The check
/// is `CT_UNIT_CHECK` cycles after the flow's CT_EXEC cycle on round
/// robin, `CT_UNIT_CHECK_HASHED` on Maglev, whose backend the RTL's CT_REQ
/// pre-schedules (decision 16). Behind a DR flow the packet goes at once.
#[test]
fn a_packet_behind_a_new_nat_flow_waits_for_its_check() {
    let t = Target::builtin();
    let run = |mode: &str, sched: &str| {
        let text = config(mode).replace(
            &format!("mode = \"{mode}\"\n"),
            &format!("mode = \"{mode}\"\nscheduler = \"{sched}\"\n"),
        );
        let mut d = in_memory(t.clone()).unwrap();
        d.flash(&image_for(&text, &t, None)).unwrap();
        let mut m = Cycle::with_options(d, AXIS);
        m.input_at_cycle(frame(0, 1_000_000, 60), 0, 1_000_000_000);
        m.input_at_cycle(frame(1, 1_000_000, 60), 1, 1_000_000_000);
        m.finish();
        let mut d: Vec<u64> = m
            .take_output()
            .iter()
            .map(|p| p.cycles.expect("timed").decided)
            .collect();
        d.sort_unstable();
        (d[1] - d[0], m.stats.stalls[Stall::CtNatCheck as usize])
    };
    let (dr, dr_stalls) = run("dr", "rr");
    let (rr, rr_stalls) = run("nat", "rr");
    let (maglev, maglev_stalls) = run("nat", "maglev");
    println!("behind a DR flow {dr} cycles, a NAT flow {rr} on RR and {maglev} on Maglev");
    assert_eq!(dr_stalls, 0);
    assert!(dr < CT_UNIT_CHECK_HASHED);
    assert_eq!(rr, CT_UNIT_CHECK);
    assert_eq!(rr_stalls, CT_UNIT_CHECK - dr);
    assert_eq!(maglev, CT_UNIT_CHECK_HASHED);
    assert_eq!(maglev_stalls, CT_UNIT_CHECK_HASHED - dr);
}

/// New NAT flows into a table they fill (128 buckets of 8 ways), one every
/// 200 cycles: a flow's posted unit is idle again by the next flow's check,
/// but a relocation's may not be. The RTL posts a relocation's target to a
/// unit too, busy and holding the bucket until its write (spec §12.3
/// decision 13), so now and then a flow's check finds no idle unit, or one
/// holding a candidate, and the flow waits (`ct_units`); without those
/// units, none does. Spaced 300 cycles apart, no flow waits.
#[test]
fn a_relocation_holds_a_posted_unit() {
    let t = Target {
        ct_buckets: 128,
        ..Target::builtin()
    };
    let run = |spacing: u64| {
        let m = nat_flows(&t, 600, spacing);
        assert!(m.counters().get(Counter::CtRelocations) > 0, "the table filled");
        m.stats.stalls[Stall::CtUnits as usize]
    };
    assert!(run(200) > 0, "a relocation's unit counts at a flow's check");
    assert_eq!(run(300), 0);
}
