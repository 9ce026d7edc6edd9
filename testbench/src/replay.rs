//! The replay engine: stream a capture through the functional or the
//! cycle-accurate model, apply table updates at packet boundaries, hand
//! every output frame to a sink (a capture writer, a golden compare) and
//! build the report. Nothing grows with the trace: inputs are read one at a
//! time, outputs handed on as they leave, statistics kept in fixed-size
//! histograms and time bins, flows tracked up to a cap.

use crate::attribution::{Analyzer, InKey};
use crate::report::{self, Conntrack, CycleReport, Latency, Report, SeriesReport, Throughput, UpdateReport};
use crate::session::{drive, new_acc, Acc, Driven, Frame, Input, Out, Totals};
use crate::stats::Series;
use hw_model::cycle::{Cycle, CycleOptions, CycleStats, Stall, STAGES};
use hw_model::device::{in_memory, Counters, DeviceError, Memory};
use hw_model::functional::Functional;
use hw_model::model::{EdgeStats, Model, OutPacket};
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::Target;
use lbnic_rtl_sim::RtlSim;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

pub use crate::session::{Emitted, ModelKind, Options, ReplayError, RxSource, Sink, Timing};

/// Replay `trace` through a model with `image` flashed. `progress` gets
/// (packets read, approximate bytes of the trace read).
pub fn replay(
    image: &Image,
    trace: &Path,
    opts: &Options,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<Report, ReplayError> {
    for u in &opts.updates {
        u.image.expect_target(&image.target)?;
    }
    let t0 = Instant::now();
    let mut acc = new_acc(image, opts)?;
    let (counters, cycle, edge, threads, threads_note) = match opts.model {
        ModelKind::Cycle => {
            let (c, cr, e) = run_cycle(image, trace, opts, &mut acc, sink, progress)?;
            let note = (opts.threads > 1).then(|| "the cycle model is sequential: one thread".to_string());
            (c, Some(cr), Some(e), 1, note)
        }
        ModelKind::Rtl => {
            let (c, e) = run_rtl(image, trace, opts, &mut acc, sink, progress)?;
            let note = (opts.threads > 1).then(|| "the RTL simulation is sequential: one thread".to_string());
            (c, None, Some(e), 1, note)
        }
        ModelKind::Functional => {
            let (threads, note) = crate::shard::plan(image, opts);
            let c = if threads > 1 {
                crate::shard::run(image, trace, opts, threads, &mut acc, sink, progress)?
            } else {
                run_functional(image, trace, opts, &mut acc, sink, progress)?
            };
            (c, None, None, threads, note)
        }
    };
    let run = Run {
        counters,
        cycle,
        edge,
        threads,
        threads_note,
        wall: t0.elapsed().as_secs_f64(),
    };
    Ok(build_report(&Setup { image, trace, opts }, acc, run))
}

/// The functional model as the replay loop drives it: through
/// [`Model::input`], which executes packets in groups and touches their
/// conntrack buckets first (the misses overlap, as in the model's own
/// bench), instead of one [`Functional::process`] call a packet, which pays
/// a DRAM miss a packet. Inputs wait in `pending` (for the analysis) until
/// their output leaves or is dropped, as with the cycle model.
struct FunctionalRun {
    m: Functional<Memory>,
    pending: VecDeque<(u64, InKey, usize)>,
    outs: Vec<OutPacket>,
    /// Frame buffers back from the outputs, for the reader.
    pool: Vec<Vec<u8>>,
}

/// Inputs handed on to a model between two looks at its output.
const DRAIN: u64 = 256;

/// Most buffers kept for reuse (what one [`DRAIN`] round needs, and then
/// some).
const POOL: usize = 1024;

/// Take the frame buffer of `f` for the model, leaving a recycled one for
/// the reader.
fn take_frame(f: &mut Frame<'_>, pool: &mut Vec<Vec<u8>>) -> Vec<u8> {
    let fresh = pool.pop().unwrap_or_else(|| Vec::with_capacity(2048));
    std::mem::replace(f.data, fresh)
}

impl Driven for FunctionalRun {
    fn flash(&mut self, image: &Image) -> Result<(), DeviceError> {
        // Executes what waits first: those packets entered under the old bank.
        Model::flash(&mut self.m, image)
    }
    #[inline]
    fn feed(&mut self, mut f: Frame<'_>, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        self.pending.push_back((f.seq, InKey::of(f.data), f.epoch));
        let frame = take_frame(&mut f, &mut self.pool);
        self.m.input(frame, f.ts);
        if (f.seq + 1).is_multiple_of(DRAIN) {
            hand_on(
                &mut self.m,
                false,
                &mut self.outs,
                &mut self.pending,
                &mut self.pool,
                out,
            )?;
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        Model::finish(&mut self.m);
        hand_on(
            &mut self.m,
            false,
            &mut self.outs,
            &mut self.pending,
            &mut self.pool,
            out,
        )
    }
}

fn run_functional(
    image: &Image,
    trace: &Path,
    opts: &Options,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<Counters, ReplayError> {
    let mut m = Functional::new(in_memory(image.target.clone())?);
    m.dev.flash(image)?;
    let all = m.dev.ct.buckets;
    m.dev.prefault(0..all);
    let mut input = Input::open(trace, &image.target, opts)?;
    let mut run = FunctionalRun {
        m,
        pending: VecDeque::new(),
        outs: Vec::new(),
        pool: Vec::new(),
    };
    drive(&mut run, &mut input, opts, acc, sink, progress)?;
    Ok(run.m.dev.counters.clone())
}

/// The cycle model as the replay loop drives it: inputs wait in `pending`
/// (for the analysis) until their output leaves or is dropped.
struct CycleRun {
    m: Cycle<Memory>,
    /// (seq, key, epoch) of each input not yet seen leaving.
    pending: VecDeque<(u64, InKey, usize)>,
    outs: Vec<OutPacket>,
    pool: Vec<Vec<u8>>,
}

/// Hand on what has left a model (in output order, which is input order:
/// inputs without output were dropped), attributing each output to its
/// input's flow in `pending`. A timed model's output times are from device
/// time 0 (`relative`), the functional model's are the input's device time.
fn hand_on(
    m: &mut dyn Model,
    relative: bool,
    outs: &mut Vec<OutPacket>,
    pending: &mut VecDeque<(u64, InKey, usize)>,
    pool: &mut Vec<Vec<u8>>,
    out: &mut Out<'_, '_>,
) -> Result<(), ReplayError> {
    m.take_output_into(outs);
    // The group's flow records, loaded together (their misses overlap).
    let mut touch = 0;
    for (_, key, _) in pending.iter().take(outs.len() * 2) {
        touch ^= out.acc.analyzer.prefetch(key);
    }
    std::hint::black_box(touch);
    for mut o in outs.drain(..) {
        while pending.front().is_some_and(|p| p.0 < o.seq) {
            pending.pop_front();
        }
        let ts = if relative { out.base + o.ts_ns } else { o.ts_ns };
        if let Some((_, key, ep)) = pending.front().filter(|p| p.0 == o.seq) {
            out.acc.analyzer.observe(*ep, key, &o.data, o.sent, ts);
        }
        out.emit(&Emitted {
            seq: o.seq,
            ts,
            cycles: o.cycles,
            data: &o.data,
        })?;
        if pool.len() < POOL {
            o.data.clear();
            pool.push(std::mem::take(&mut o.data));
        }
    }
    // Inputs the model is done with and that left nothing were dropped: a
    // capture of drops holds no memory.
    let settled = m.settled();
    while pending.front().is_some_and(|p| p.0 < settled) {
        pending.pop_front();
    }
    Ok(())
}

impl CycleRun {
    fn drain(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        hand_on(
            &mut self.m,
            true,
            &mut self.outs,
            &mut self.pending,
            &mut self.pool,
            out,
        )
    }
}

impl Driven for CycleRun {
    fn flash(&mut self, image: &Image) -> Result<(), DeviceError> {
        self.m.flash(image)
    }
    fn feed(&mut self, mut f: Frame<'_>, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        self.pending.push_back((f.seq, InKey::of(f.data), f.epoch));
        let frame = take_frame(&mut f, &mut self.pool);
        self.m.input_at_cycle(frame, f.arrival, f.ts);
        if (f.seq + 1).is_multiple_of(DRAIN) {
            self.drain(out)?;
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        self.m.finish();
        self.drain(out)
    }
}

fn run_cycle(
    image: &Image,
    trace: &Path,
    opts: &Options,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(Counters, CycleReport, EdgeStats), ReplayError> {
    let t = &image.target;
    let copts = CycleOptions {
        rx_source: opts.rx_source,
        ..CycleOptions::default()
    };
    let mut m = Cycle::with_options(in_memory(t.clone())?, copts);
    m.dev.flash(image)?;
    let mut input = Input::open(trace, t, opts)?;
    let mut run = CycleRun {
        m,
        pending: VecDeque::new(),
        outs: Vec::new(),
        pool: Vec::new(),
    };
    drive(&mut run, &mut input, opts, acc, sink, progress)?;
    let s = &run.m.stats;
    let cr = cycle_report(t, s, opts.rx_source);
    // Achieved over the modelled window (first arrival to the last bit out
    // of the egress port), rounded outwards so the rate is never
    // overstated.
    let base = input.clock.base.unwrap_or(0);
    let mhz = t.clock_mhz as u64;
    acc.achieved.first = Some(base + s.first_arrival.unwrap_or(0) * 1000 / mhz);
    acc.achieved.last = base + (s.last_egress * 1000).div_ceil(mhz);
    acc.achieved.last_len = 0;
    Ok((run.m.dev.counters.clone(), cr, s.edges()))
}

/// The RTL simulation as the replay loop drives it: like [`CycleRun`],
/// inputs wait in `pending` (for the analysis) until their output leaves.
struct RtlRun {
    m: RtlSim,
    pending: VecDeque<(u64, InKey, usize)>,
    outs: Vec<OutPacket>,
    pool: Vec<Vec<u8>>,
}

impl RtlRun {
    /// The simulation's first error, if it met one.
    fn check(&mut self) -> Result<(), ReplayError> {
        match self.m.take_error() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn drain(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        hand_on(
            &mut self.m,
            true,
            &mut self.outs,
            &mut self.pending,
            &mut self.pool,
            out,
        )?;
        self.check()
    }
}

impl Driven for RtlRun {
    fn flash(&mut self, image: &Image) -> Result<(), DeviceError> {
        Model::flash(&mut self.m, image)
    }
    fn feed(&mut self, f: Frame<'_>, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        self.pending.push_back((f.seq, InKey::of(f.data), f.epoch));
        self.m.input_at_cycle(f.data, f.arrival, f.ts);
        if (f.seq + 1).is_multiple_of(DRAIN) {
            self.drain(out)?;
        }
        self.check()
    }
    fn finish(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError> {
        Model::finish(&mut self.m);
        self.check()?;
        self.drain(out)
    }
}

fn run_rtl(
    image: &Image,
    trace: &Path,
    opts: &Options,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(Counters, EdgeStats), ReplayError> {
    let t = &image.target;
    let mut m = RtlSim::new(t.clone(), &opts.rtl)?;
    m.flash_image(image)?;
    let mut input = Input::open(trace, t, opts)?;
    let mut run = RtlRun {
        m,
        pending: VecDeque::new(),
        outs: Vec::new(),
        pool: Vec::new(),
    };
    drive(&mut run, &mut input, opts, acc, sink, progress)?;
    let edge = run.m.edge_stats()?;
    Ok((run.m.counters().clone(), edge))
}

/// The cycle model's figures over its window (first arrival to last beat
/// out).
fn cycle_report(t: &Target, s: &CycleStats, rx_source: RxSource) -> CycleReport {
    let window = s.last_egress.saturating_sub(s.first_arrival.unwrap_or(0)).max(1);
    let ns = |c: u64| c * 1000 / t.clock_mhz as u64;
    let h = &s.latency_cycles;
    let lat = |f: &dyn Fn(u64) -> u64| Latency {
        p50: f(h.quantile(0.5)),
        p99: f(h.quantile(0.99)),
        p999: f(h.quantile(0.999)),
        max: f(h.max()),
        mean: if f(1000) == 1000 {
            h.mean()
        } else {
            h.mean() * 1000.0 / t.clock_mhz as f64
        },
    };
    CycleReport {
        clock_mhz: t.clock_mhz,
        datapath_bytes: t.datapath_bytes,
        port_gbps: t.port_gbps,
        rx_source: rx_source.name().into(),
        rx_buffer_bytes: t.rx_buffer_bytes,
        rx_buffer_high_water: s.rx_buffer_high_water,
        rx_overflow: s.rx_overflow,
        cycles: window,
        cycles_per_packet: if s.packets_in == 0 {
            0.0
        } else {
            window as f64 / s.packets_in as f64
        },
        utilisation: STAGES
            .iter()
            .zip(s.busy)
            .map(|(n, b)| (n.to_string(), b as f64 / window as f64))
            .collect(),
        stalls: Stall::ALL
            .iter()
            .map(|st| (st.name().to_string(), s.stalls[*st as usize]))
            .collect(),
        fifo_high_water: STAGES
            .iter()
            .zip(s.fifo_high_water)
            .map(|(n, h)| (n.to_string(), h))
            .collect(),
        ct_reads: s.ct_reads,
        ct_writes: s.ct_writes,
        ct_forwarded: s.ct_forwarded,
        ct_outstanding_high_water: s.ct_outstanding_high_water,
        scrub_reads: s.scrub_reads,
        latency_cycles: lat(&|c| c),
        latency_ns: lat(&ns),
        latency_histogram: h.grouped(60),
    }
}

/// What a model run leaves for the report besides the accumulators.
struct Run {
    counters: Counters,
    cycle: Option<CycleReport>,
    edge: Option<EdgeStats>,
    threads: usize,
    threads_note: Option<String>,
    wall: f64,
}

/// The replay's inputs, as the report names them.
struct Setup<'a> {
    image: &'a Image,
    trace: &'a Path,
    opts: &'a Options,
}

fn build_report(s: &Setup<'_>, acc: Acc, run: Run) -> Report {
    let Setup { image, trace, opts } = *s;
    let c = &run.counters;
    let (offered, achieved) = throughputs(image, opts, &acc);
    let drops = drop_counters(c);
    let backends = backend_reports(&acc.analyzer);
    let mut warnings = warnings(opts, &acc, c);
    warnings.extend(too_big_warning(image, c));
    let an = &acc.analyzer;
    let flows = report::FlowReport {
        tracked: an.flows_tracked,
        untracked: an.flows_untracked,
        moves: an.moves.clone(),
        passed: an.passed,
        unattributed: an.unknown,
    };
    let (offered_packets, truncated, skipped) = (acc.offered.packets, acc.truncated, acc.skipped);
    let series = series(acc.offered.series, acc.achieved.series);
    Report {
        trace: trace.display().to_string(),
        image: format!("generation {}", image.generation),
        model: opts.model.name().into(),
        timing: opts.timing.describe(),
        threads: run.threads,
        threads_note: run.threads_note,
        offered,
        achieved,
        truncated,
        skipped_truncated: skipped,
        damage: acc.damage.clone(),
        wall_seconds: run.wall,
        model_pps: offered_packets as f64 / run.wall.max(1e-9),
        counters: c.named(),
        drops,
        conntrack: Conntrack::from_counters(c),
        cycle: run.cycle,
        edge: run.edge,
        backends,
        flows,
        updates: opts
            .updates
            .iter()
            .map(|u| UpdateReport {
                at_packet: u.at_packet,
                image: u.path.display().to_string(),
                generation: u.image.generation,
            })
            .collect(),
        series,
        warnings,
    }
}

/// The non-zero counters of frames that did not leave: drops, parse
/// errors, frames refused at the MAC.
pub(crate) fn drop_counters(c: &Counters) -> Vec<(String, u64)> {
    c.named()
        .into_iter()
        .filter(|(k, v)| {
            *v > 0
                && (k.starts_with("drop_")
                    || k.starts_with("parse_")
                    || k == "rx_oversize"
                    || k == "rx_overflow")
        })
        .collect()
}

/// Offered and achieved throughput, each over its window.
pub(crate) fn throughputs(image: &Image, opts: &Options, acc: &Acc) -> (Throughput, Throughput) {
    let port = match opts.timing {
        Timing::Line(g) => g,
        _ => image.target.port_gbps as f64,
    };
    // A window includes the last frame's time on the wire.
    let window = |f: &Totals| match f.first {
        None => 0,
        Some(first) => f.last - first + (report::l1_bytes(f.last_len) as f64 * 8.0 / port) as u64,
    };
    let offered_ns = if opts.timing == Timing::Max {
        0
    } else {
        window(&acc.offered)
    };
    let offered = Throughput::new(acc.offered.packets, acc.offered.bytes, acc.offered.l1, offered_ns);
    let achieved_ns = match opts.model {
        ModelKind::Cycle | ModelKind::Rtl => window(&acc.achieved),
        ModelKind::Functional => offered_ns,
    };
    let achieved = Throughput::new(
        acc.achieved.packets,
        acc.achieved.bytes,
        acc.achieved.l1,
        achieved_ns,
    );
    (offered, achieved)
}

/// Per backend, grouped by VIP: traffic, flows and their shares.
pub(crate) fn backend_reports(an: &Analyzer) -> Vec<report::BackendReport> {
    let expected = an.expected_flows();
    let table_share = an.final_share();
    let mut vip_flows = vec![0u64; an.vip_names.len()];
    let mut vip_expected = vec![0f64; an.vip_names.len()];
    for (i, (v, _)) in an.backend_names.iter().enumerate() {
        vip_flows[*v as usize] += an.backends[i].flows;
        vip_expected[*v as usize] += expected[i];
    }
    let mut order: Vec<usize> = (0..an.backend_names.len()).collect();
    order.sort_by_key(|&i| (an.backend_names[i].0, i));
    order
        .into_iter()
        .map(|i| {
            let (v, name) = &an.backend_names[i];
            let b = &an.backends[i];
            let share = |x: f64, tot: f64| if tot > 0.0 { x / tot } else { 0.0 };
            report::BackendReport {
                vip: an.vip_names[*v as usize].clone(),
                backend: name.clone(),
                packets: b.packets,
                bytes: b.bytes,
                replies: b.replies,
                flows: b.flows,
                flow_share: share(b.flows as f64, vip_flows[*v as usize] as f64),
                expected_share: share(expected[i], vip_expected[*v as usize]),
                table_share: table_share.get(i).copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// What the reader of the report should know about the run.
fn warnings(opts: &Options, acc: &Acc, c: &Counters) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(d) = &acc.damage {
        warnings.push(format!(
            "the capture is damaged ({d}); the {} packets before the damage were replayed",
            acc.offered.packets
        ));
    }
    if acc.truncated > 0 {
        warnings.push(if opts.skip_truncated {
            format!(
                "{} packets were cut by the capture's snaplen (captured < length on the wire) and were left out",
                acc.truncated
            )
        } else {
            format!(
                "{} packets were cut by the capture's snaplen (captured < length on the wire): the model saw only \
the captured bytes (usually a parse drop); --skip-truncated leaves them out",
                acc.truncated
            )
        });
    }
    if acc.analyzer.flows_untracked > 0 {
        warnings.push(format!(
            "{} flows beyond the tracking cap were not followed for backend changes (--flow-cap)",
            acc.analyzer.flows_untracked
        ));
    }
    if c.get(Counter::RxOverflow) > 0 {
        warnings.push(format!(
            "{} frames arrived while the MAC's receive buffer was full and were dropped (rx_overflow): the \
offered load is more than the pipeline or the egress port takes; --rx-source axis holds the source back instead",
            c.get(Counter::RxOverflow)
        ));
    }
    if c.get(Counter::RxOversize) > 0 {
        warnings.push(format!(
            "{} frames were longer than the target's max_rx_frame and were dropped by the MAC (rx_oversize; \
a capture of TSO/GRO frames shows what the host saw, not what was on the wire)",
            c.get(Counter::RxOversize)
        ));
    }
    if acc.analyzer.moves.broken > 0 {
        warnings.push(format!(
            "{} established connections changed backend although their backend was still up{}",
            acc.analyzer.moves.broken,
            if c.get(Counter::CtEvictions) > 0 {
                " (conntrack evicted entries: table pressure can cause this)"
            } else {
                ""
            }
        ));
    }
    warnings
}

/// Traffic refused for size, if any: how much, and what the clients were
/// told. Not answered: IPv4 without DF (the device does not fragment),
/// later fragments, ICMP errors, NAT replies, non-unicast sources, an MTU
/// below the protocol minimum.
fn too_big_warning(image: &Image, c: &Counters) -> Option<String> {
    let n = c.get(Counter::DropTooBig);
    if n == 0 {
        return None;
    }
    let g = lbnic_contract::image::Bank::decode(image).ok().map(|b| b.global);
    let (sent, limited) = (c.get(Counter::IcmpTooBigSent), c.get(Counter::IcmpRateLimited));
    let rx = c.get(Counter::RxPackets).max(1);
    Some(format!(
        "{:.1}% of frames ({} of {}) exceeded max_frame {} once rewritten and were not forwarded: \
{} ICMP too-big answers sent, {} rate-limited{}, {} not answerable (IPv4 without DF, later fragments, \
ICMP errors, NAT replies, MTU below the protocol minimum)",
        n as f64 * 100.0 / rx as f64,
        thousands(n),
        thousands(c.get(Counter::RxPackets)),
        g.as_ref().map_or("?".into(), |g| g.max_frame.to_string()),
        thousands(sent),
        thousands(limited),
        match &g {
            Some(g) if g.icmp_rate == 0 => " (answers disabled: icmp_rate 0)".to_string(),
            Some(g) => format!(" (icmp_rate {}/s, burst {})", g.icmp_rate, g.icmp_burst),
            None => String::new(),
        },
        thousands(n.saturating_sub(sent + limited)),
    ))
}

/// 8123 -> "8,123".
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut s = String::with_capacity(d.len() + d.len() / 3);
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

/// The offered and achieved series on one time axis, of equal length.
fn series(mut off: Series, mut ach: Series) -> SeriesReport {
    Series::align(&mut off, &mut ach);
    let n = off.packets.len().max(ach.packets.len());
    let pad = |mut v: Vec<u64>| {
        v.resize(n, 0);
        v
    };
    SeriesReport {
        bin_ns: off.bin_ns,
        offered_packets: pad(off.packets),
        offered_bytes: pad(off.bytes),
        achieved_packets: pad(ach.packets),
        achieved_bytes: pad(ach.bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(8123), "8,123");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
