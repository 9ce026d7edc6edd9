//! The replay engine: stream a capture through the functional or the
//! cycle-accurate model, apply table updates at packet boundaries, hand
//! every output frame to a sink (a capture writer, a golden compare) and
//! build the report. Nothing grows with the trace: inputs are read one at a
//! time, outputs handed on as they leave, statistics kept in fixed-size
//! histograms and time bins, flows tracked up to a cap.

use crate::analysis::{Analyzer, InKey};
use crate::report::{self, Conntrack, CycleReport, Latency, Rate, Report, SeriesReport, UpdateReport};
use crate::schedule::Update;
use crate::stats::Series;
use crate::trace::{TraceError, TraceReader};
use hw_model::cycle::{Cycle, Stall, STAGES};
use hw_model::device::{in_memory, Counters, DeviceError, Memory};
use hw_model::functional::Functional;
use hw_model::model::Model;
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ModelKind {
    Functional,
    Cycle,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Functional => "functional",
            ModelKind::Cycle => "cycle",
        }
    }
}

/// When input frames arrive.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Timing {
    /// At the capture's timestamps.
    Pcap,
    /// Back to back at this port speed (Gbit/s), ignoring the timestamps.
    Line(f64),
    /// All at once: the pipeline takes them as fast as it can (its
    /// capacity; the cycle model's source is back-pressured).
    Max,
}

impl Timing {
    pub fn describe(self) -> String {
        match self {
            Timing::Pcap => "pcap timestamps".into(),
            Timing::Line(g) => format!("back to back at {g} Gbit/s"),
            Timing::Max => "as fast as the pipeline takes them".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub model: ModelKind,
    pub timing: Timing,
    /// Worker threads for the functional model (sharded by flow); 1 = none.
    pub threads: usize,
    pub updates: Vec<Update>,
    /// Leave out frames the capture's snaplen cut (else the model sees the
    /// captured bytes, which usually fail to parse).
    pub skip_truncated: bool,
    /// Most flows tracked for the connection analysis.
    pub flow_cap: usize,
    /// Time bins of the throughput chart (at most twice this many).
    pub max_bins: usize,
    /// Hand output frames to the sink. Off when nothing is written or
    /// compared (a report only): the sharded replay then moves no frames
    /// between threads.
    pub keep_output: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            model: ModelKind::Functional,
            timing: Timing::Pcap,
            threads: 1,
            updates: Vec::new(),
            skip_truncated: false,
            flow_cap: 2_000_000,
            max_bins: 200,
            keep_output: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("device: {0}")]
    Device(#[from] DeviceError),
    #[error("image: {0}")]
    Image(#[from] lbnic_contract::image::ImageError),
    #[error("update at packet {at} ({image}): {source}")]
    Update {
        at: u64,
        image: String,
        source: DeviceError,
    },
    #[error("output: {0}")]
    Sink(String),
    #[error("a replay worker thread failed: {0}")]
    Worker(String),
}

/// Where output frames go: (input packet index, egress time ns, frame).
pub type Sink<'a> = dyn FnMut(u64, u64, &[u8]) -> Result<(), ReplayError> + 'a;

/// Input timing: from capture time to device time and arrival cycle.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    timing: Timing,
    clock_mhz: u64,
    pub base: Option<u64>,
    last: u64,
    line_ns: f64,
}

impl Clock {
    pub fn new(timing: Timing, clock_mhz: u32) -> Clock {
        Clock {
            timing,
            clock_mhz: clock_mhz as u64,
            base: None,
            last: 0,
            line_ns: 0.0,
        }
    }

    /// (device time ns, arrival cycle) of a frame captured at `ts` with
    /// `len` bytes. Device time never goes back.
    pub fn next(&mut self, ts: u64, len: usize) -> (u64, u64) {
        // Base on a whole millisecond so relative and absolute times agree
        // on conntrack tick boundaries for any tick of whole microseconds.
        let base = *self.base.get_or_insert(ts - ts % 1_000_000);
        let clock = self.clock_mhz;
        let cyc = |ns: u64| match ns.checked_mul(clock) {
            Some(x) => x / 1000,
            None => (ns as u128 * clock as u128 / 1000) as u64,
        };
        match self.timing {
            Timing::Pcap => {
                self.last = self.last.max(ts);
                (self.last, cyc(self.last - base))
            }
            Timing::Max => {
                self.last = self.last.max(ts);
                (self.last, 0)
            }
            Timing::Line(g) => {
                let at = self.line_ns as u64;
                self.line_ns += report::l1_bytes(len) as f64 * 8.0 / g;
                self.last = base + at;
                (self.last, cyc(at))
            }
        }
    }
}

/// Running totals of what was offered and what left.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub packets: u64,
    pub bytes: u64,
    pub l1: u64,
    pub first: Option<u64>,
    pub last: u64,
    pub last_len: usize,
    pub series: Series,
}

impl Flow {
    fn new(max_bins: usize) -> Flow {
        Flow {
            packets: 0,
            bytes: 0,
            l1: 0,
            first: None,
            last: 0,
            last_len: 0,
            series: Series::new(1000, max_bins),
        }
    }
    pub fn add(&mut self, base: u64, t: u64, len: usize) {
        self.packets += 1;
        self.bytes += len as u64;
        self.l1 += report::l1_bytes(len);
        self.first.get_or_insert(t);
        self.last = self.last.max(t);
        self.last_len = len;
        self.series.add(t.saturating_sub(base), len as u64);
    }
}

/// Everything a replay accumulates besides the model itself.
pub(crate) struct Acc {
    pub analyzer: Analyzer,
    pub offered: Flow,
    pub achieved: Flow,
    pub truncated: u64,
    pub skipped: u64,
}

/// A frame to feed: (trace index, device ts, arrival cycle, frame).
pub(crate) type Fed = (u64, u64, u64, Vec<u8>);

/// Opens the trace and yields (index, device ts, arrival cycle, frame),
/// applying the truncation policy.
pub(crate) struct Input {
    reader: TraceReader,
    pub clock: Clock,
    skip_truncated: bool,
    pub read: u64,
    pub approx_bytes: u64,
}

impl Input {
    pub fn open(
        trace: &Path,
        timing: Timing,
        clock_mhz: u32,
        skip_truncated: bool,
    ) -> Result<Input, ReplayError> {
        let reader = TraceReader::open(trace)?;
        Ok(Input {
            reader,
            clock: Clock::new(timing, clock_mhz),
            skip_truncated,
            read: 0,
            approx_bytes: 24,
        })
    }

    /// The next frame to feed: (trace index, device ts, arrival, frame).
    pub fn next(&mut self, acc: &mut Acc) -> Result<Option<Fed>, ReplayError> {
        let mut buf = Vec::new();
        Ok(self.next_into(acc, &mut buf)?.map(|(i, t, a)| (i, t, a, buf)))
    }

    /// As `next`, appending the frame to `buf`: (trace index, device ts,
    /// arrival cycle).
    pub fn next_into(
        &mut self,
        acc: &mut Acc,
        buf: &mut Vec<u8>,
    ) -> Result<Option<(u64, u64, u64)>, ReplayError> {
        loop {
            let start = buf.len();
            let Some(p) = self.reader.next_into(buf) else {
                return Ok(None);
            };
            let p = p?;
            let idx = self.read;
            self.read += 1;
            self.approx_bytes += p.caplen as u64 + 16;
            if p.caplen < p.orig_len {
                acc.truncated += 1;
                if self.skip_truncated {
                    acc.skipped += 1;
                    buf.truncate(start);
                    continue;
                }
            }
            let (dev, arrival) = self.clock.next(p.ts_ns, p.caplen as usize);
            let base = self.clock.base.unwrap_or(0);
            acc.offered.add(base, dev, p.caplen as usize);
            return Ok(Some((idx, dev, arrival)));
        }
    }
}

pub(crate) fn new_acc(image: &Image, opts: &Options) -> Result<Acc, ReplayError> {
    let mut images: Vec<&Image> = vec![image];
    images.extend(opts.updates.iter().map(|u| &u.image));
    Ok(Acc {
        analyzer: Analyzer::new(&images, opts.flow_cap)?,
        offered: Flow::new(opts.max_bins),
        achieved: Flow::new(opts.max_bins),
        truncated: 0,
        skipped: 0,
    })
}

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
    let (counters, cycle, threads, note) = match opts.model {
        ModelKind::Cycle => {
            let (c, cr) = run_cycle(image, trace, opts, &mut acc, sink, progress)?;
            let note = (opts.threads > 1).then(|| "the cycle model is sequential: one thread".to_string());
            (c, Some(cr), 1, note)
        }
        ModelKind::Functional => {
            let (threads, note) = crate::shard::plan(image, opts);
            let c = if threads > 1 {
                crate::shard::run(image, trace, opts, threads, &mut acc, sink, progress)?
            } else {
                run_functional(image, trace, opts, &mut acc, sink, progress)?
            };
            (c, None, threads, note)
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    Ok(build_report(
        image, trace, opts, acc, counters, cycle, threads, note, wall,
    ))
}

/// Write-touch the conntrack memory of `buckets` up front. A lookup before
/// the first insert would map the shared zero page, and the insert's
/// copy-on-write then flushes the TLB of every CPU the process runs on,
/// which costs a sharded replay a fifth of its time.
pub(crate) fn prefault<B: AsRef<[u8]> + AsMut<[u8]>>(
    dev: &mut hw_model::device::Device<B>,
    buckets: std::ops::Range<u32>,
) {
    let way = dev.target.ct_ways as usize * 64;
    let mem = dev.ct_mem_mut();
    let (a, z) = (
        buckets.start as usize * way,
        (buckets.end as usize * way).min(mem.len()),
    );
    for i in (a..z).step_by(4096) {
        mem[i] = 0;
    }
}

/// The updates due before trace packet `idx`, advancing `next` past them.
pub(crate) fn due<'a>(updates: &'a [Update], next: &mut usize, idx: u64) -> &'a [Update] {
    let start = *next;
    while updates.get(*next).is_some_and(|u| u.at_packet <= idx) {
        *next += 1;
    }
    &updates[start..*next]
}

fn flash_err(u: &Update) -> impl Fn(DeviceError) -> ReplayError + '_ {
    move |source| ReplayError::Update {
        at: u.at_packet,
        image: u.path.display().to_string(),
        source,
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
    prefault(&mut m.dev, 0..all);
    let mut input = Input::open(trace, opts.timing, image.target.clock_mhz, opts.skip_truncated)?;
    let mut next_update = 0;
    let mut epoch = 0;
    let mut seq = 0u64;
    let mut frame = Vec::with_capacity(2048);
    while let Some((idx, ts, _)) = {
        frame.clear();
        input.next_into(acc, &mut frame)?
    } {
        for u in due(&opts.updates, &mut next_update, idx) {
            m.dev.flash(&u.image).map_err(flash_err(u))?;
            epoch += 1;
        }
        let key = InKey::of(&frame);
        if let Some(out) = m.process(&frame, ts) {
            acc.analyzer.observe(epoch, &key, out, ts);
            acc.achieved.add(input.clock.base.unwrap_or(0), ts, out.len());
            if opts.keep_output {
                sink(seq, ts, out)?;
            }
        }
        seq += 1;
        if seq.is_multiple_of(16384) {
            progress(input.read, input.approx_bytes);
        }
    }
    // Updates scheduled past the end still happen (before `finish`).
    for u in &opts.updates[next_update..] {
        m.dev.flash(&u.image).map_err(flash_err(u))?;
    }
    m.finish();
    progress(input.read, input.approx_bytes);
    Ok(m.dev.counters.clone())
}

fn run_cycle(
    image: &Image,
    trace: &Path,
    opts: &Options,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(Counters, CycleReport), ReplayError> {
    let t = image.target.clone();
    let mut m = Cycle::new(in_memory(t.clone())?);
    m.dev.flash(image)?;
    let mut input = Input::open(trace, opts.timing, t.clock_mhz, opts.skip_truncated)?;
    let mut pending: VecDeque<(u64, InKey, usize)> = VecDeque::new();
    let mut next_update = 0;
    let mut epoch = 0;
    let mut seq = 0u64;
    let mut outs = Vec::new();
    let mut drain = |m: &mut Cycle<Memory>,
                     pending: &mut VecDeque<(u64, InKey, usize)>,
                     acc: &mut Acc,
                     base: u64|
     -> Result<(), ReplayError> {
        m.take_output_into(&mut outs);
        for o in outs.drain(..) {
            while pending.front().is_some_and(|p| p.0 < o.seq) {
                pending.pop_front();
            }
            let ts = base + o.ts_ns;
            if let Some((_, key, ep)) = pending.front().filter(|p| p.0 == o.seq) {
                acc.analyzer.observe(*ep, key, &o.data, ts);
            }
            acc.achieved.add(base, ts, o.data.len());
            if opts.keep_output {
                sink(o.seq, ts, &o.data)?;
            }
        }
        Ok(())
    };
    while let Some((idx, ts, arrival, frame)) = input.next(acc)? {
        for u in due(&opts.updates, &mut next_update, idx) {
            m.flash(&u.image).map_err(flash_err(u))?;
            epoch += 1;
        }
        pending.push_back((seq, InKey::of(&frame), epoch));
        m.input_at_cycle(frame, arrival, ts);
        seq += 1;
        if seq.is_multiple_of(256) {
            drain(&mut m, &mut pending, acc, input.clock.base.unwrap_or(0))?;
        }
        if seq.is_multiple_of(16384) {
            progress(input.read, input.approx_bytes);
        }
    }
    for u in &opts.updates[next_update..] {
        m.flash(&u.image).map_err(flash_err(u))?;
    }
    m.finish();
    drain(&mut m, &mut pending, acc, input.clock.base.unwrap_or(0))?;
    progress(input.read, input.approx_bytes);
    let s = &m.stats;
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
    let cr = CycleReport {
        clock_mhz: t.clock_mhz,
        datapath_bytes: t.datapath_bytes,
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
    };
    // Achieved over the modelled window (first arrival to last beat out).
    acc.achieved.first = Some(input.clock.base.unwrap_or(0) + ns(s.first_arrival.unwrap_or(0)));
    acc.achieved.last = input.clock.base.unwrap_or(0) + ns(s.last_egress);
    acc.achieved.last_len = 0;
    Ok((m.dev.counters.clone(), cr))
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    image: &Image,
    trace: &Path,
    opts: &Options,
    acc: Acc,
    c: Counters,
    cycle: Option<CycleReport>,
    threads: usize,
    threads_note: Option<String>,
    wall: f64,
) -> Report {
    let port = match opts.timing {
        Timing::Line(g) => g,
        _ => image.target.port_gbps as f64,
    };
    // A window includes the last frame's time on the wire.
    let window = |f: &Flow| match f.first {
        None => 0,
        Some(first) => f.last - first + (report::l1_bytes(f.last_len) as f64 * 8.0 / port) as u64,
    };
    let offered_ns = if opts.timing == Timing::Max {
        0
    } else {
        window(&acc.offered)
    };
    let offered = Rate::new(acc.offered.packets, acc.offered.bytes, acc.offered.l1, offered_ns);
    let achieved_ns = match opts.model {
        ModelKind::Cycle => window(&acc.achieved),
        ModelKind::Functional => offered_ns,
    };
    let achieved = Rate::new(
        acc.achieved.packets,
        acc.achieved.bytes,
        acc.achieved.l1,
        achieved_ns,
    );
    let g = |k: Counter| c.get(k);
    let drops: Vec<(String, u64)> = c
        .named()
        .into_iter()
        .filter(|(k, v)| *v > 0 && (k.starts_with("drop_") || k.starts_with("parse_")))
        .collect();
    let (hits, misses) = (g(Counter::CtHits), g(Counter::CtMisses));
    let an = &acc.analyzer;
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
    let backends = order
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
        .collect();
    let mut warnings = Vec::new();
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
    if an.flows_untracked > 0 {
        warnings.push(format!(
            "{} flows beyond the tracking cap were not followed for backend changes (--flow-cap)",
            an.flows_untracked
        ));
    }
    if an.moves.broken > 0 {
        warnings.push(format!(
            "{} established connections changed backend although their backend was still up{}",
            an.moves.broken,
            if g(Counter::CtEvictions) > 0 {
                " (conntrack evicted entries: table pressure can cause this)"
            } else {
                ""
            }
        ));
    }
    let (mut off, mut ach) = (acc.offered.series, acc.achieved.series);
    Series::align(&mut off, &mut ach);
    let n = off.packets.len().max(ach.packets.len());
    let pad = |mut v: Vec<u64>| {
        v.resize(n, 0);
        v
    };
    Report {
        trace: trace.display().to_string(),
        image: format!("generation {}", image.generation),
        model: opts.model.name().into(),
        timing: opts.timing.describe(),
        threads,
        threads_note,
        offered,
        achieved,
        truncated: acc.truncated,
        skipped_truncated: acc.skipped,
        wall_seconds: wall,
        model_pps: acc.offered.packets as f64 / wall.max(1e-9),
        counters: c.named(),
        drops,
        conntrack: Conntrack {
            hits,
            misses,
            hit_rate: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            inserts: g(Counter::CtInserts),
            evictions: g(Counter::CtEvictions),
            ageouts: g(Counter::CtAgeouts),
        },
        cycle,
        backends,
        flows: report::FlowReport {
            tracked: an.flows_tracked,
            untracked: an.flows_untracked,
            moves: an.moves.clone(),
            passed: an.passed,
            unattributed: an.unknown,
        },
        updates: opts
            .updates
            .iter()
            .map(|u| UpdateReport {
                at_packet: u.at_packet,
                image: u.path.display().to_string(),
                generation: u.image.generation,
            })
            .collect(),
        series: SeriesReport {
            bin_ns: off.bin_ns,
            offered_packets: pad(off.packets),
            offered_bytes: pad(off.bytes),
            achieved_packets: pad(ach.packets),
            achieved_bytes: pad(ach.bytes),
        },
        warnings,
    }
}
