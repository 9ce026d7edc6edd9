//! What every replay driver shares: the options and errors, the input
//! (trace, clock, truncation policy), the running totals, the update
//! schedule, and the replay loop itself ([`drive`]: due updates, flash,
//! feed, observe, sink) over a [`Driven`] model.

use crate::attribution::Analyzer;
use crate::report;
use crate::schedule::Update;
use crate::stats::Series;
use crate::trace::{TraceError, TraceReader};
pub use hw_model::cycle::RxSource;
use hw_model::device::DeviceError;
use hw_model::model::PacketCycles;
use lbnic_contract::image::Image;
use lbnic_contract::target::Target;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ModelKind {
    Functional,
    Cycle,
    /// The reference RTL in Verilator (crate `lbnic-rtl-sim`; built by
    /// `scripts/rtl-sim.sh`).
    Rtl,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Functional => "functional",
            ModelKind::Cycle => "cycle",
            ModelKind::Rtl => "rtl",
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
    /// capacity; with the cycle model, use the back-pressured AXI-Stream
    /// source, [`RxSource::Axis`]: a MAC would drop what its buffer cannot
    /// hold).
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
    /// The cycle model's ingress: a MAC that drops on overflow, or a
    /// back-pressured AXI-Stream source.
    pub rx_source: RxSource,
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
    /// A damaged capture (cut short, garbage after the last packet) ends
    /// the input with a warning in the report instead of failing the run.
    pub stop_at_damage: bool,
    /// Where the RTL model's harness is, and the target file its build
    /// command names when it is missing ([`ModelKind::Rtl`]).
    pub rtl: lbnic_rtl_sim::RtlOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            model: ModelKind::Functional,
            timing: Timing::Pcap,
            rx_source: RxSource::Mac,
            threads: 1,
            updates: Vec::new(),
            skip_truncated: false,
            flow_cap: 2_000_000,
            max_bins: 200,
            keep_output: true,
            stop_at_damage: false,
            rtl: lbnic_rtl_sim::RtlOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("device: {0}")]
    Device(DeviceError),
    #[error("image: {0}")]
    Image(lbnic_contract::image::ImageError),
    #[error("update at packet {at} ({image}): {cause}")]
    Update {
        at: u64,
        image: String,
        cause: DeviceError,
    },
    #[error("output: {0}")]
    Sink(String),
    #[error("a replay worker thread failed: {0}")]
    Worker(String),
    #[error("events line {line}: node {node} does not exist (the cluster has {nodes} nodes)")]
    NoSuchNode { line: usize, node: u16, nodes: u16 },
    #[error(transparent)]
    Rtl(#[from] lbnic_rtl_sim::RtlError),
    #[error("{0}")]
    Unsupported(&'static str),
}

// By hand rather than `#[from]`: the messages carry the cause, so it is not
// also a `source()` (it would print twice under `{e:#}`).
impl From<DeviceError> for ReplayError {
    fn from(e: DeviceError) -> ReplayError {
        ReplayError::Device(e)
    }
}

impl From<lbnic_contract::image::ImageError> for ReplayError {
    fn from(e: lbnic_contract::image::ImageError) -> ReplayError {
        ReplayError::Image(e)
    }
}

/// An output frame as a sink gets it.
#[derive(Debug, Clone, Copy)]
pub struct Emitted<'a> {
    /// Index of the input packet it came from.
    pub seq: u64,
    /// Egress time, ns.
    pub ts: u64,
    /// Its cycles, from a timed model (cycle, RTL).
    pub cycles: Option<PacketCycles>,
    pub data: &'a [u8],
}

/// Where output frames go.
pub type Sink<'a> = dyn FnMut(&Emitted<'_>) -> Result<(), ReplayError> + 'a;

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

/// Running totals of what was offered or what left (a traffic aggregate,
/// not a 5-tuple flow).
#[derive(Debug, Clone)]
pub(crate) struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub l1: u64,
    pub first: Option<u64>,
    pub last: u64,
    pub last_len: usize,
    pub series: Series,
}

impl Totals {
    fn new(max_bins: usize) -> Totals {
        Totals {
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
    pub offered: Totals,
    pub achieved: Totals,
    pub truncated: u64,
    pub skipped: u64,
    /// Where the capture was damaged, when `stop_at_damage` ended it there.
    pub damage: Option<String>,
}

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
    /// The trace of a run, timed and filtered as `opts` say, on `target`'s
    /// clock.
    pub fn open(trace: &Path, target: &Target, opts: &Options) -> Result<Input, ReplayError> {
        let mut reader = TraceReader::open(trace)?;
        reader.set_stop_at_damage(opts.stop_at_damage);
        Ok(Input {
            reader,
            clock: Clock::new(opts.timing, target.clock_mhz),
            skip_truncated: opts.skip_truncated,
            read: 0,
            approx_bytes: 24,
        })
    }

    /// The next frame to feed, appended to `buf`: (trace index, device ts,
    /// arrival cycle).
    pub fn next_into(
        &mut self,
        acc: &mut Acc,
        buf: &mut Vec<u8>,
    ) -> Result<Option<(u64, u64, u64)>, ReplayError> {
        loop {
            let start = buf.len();
            let Some(p) = self.reader.next_into(buf) else {
                if let Some(d) = self.reader.damage() {
                    acc.damage = Some(d.to_string());
                }
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
    new_acc_for(&images, opts)
}

/// The accumulators of a run whose bank epochs are `images`.
pub(crate) fn new_acc_for(images: &[&Image], opts: &Options) -> Result<Acc, ReplayError> {
    Ok(Acc {
        analyzer: Analyzer::new(images, opts.flow_cap)?,
        offered: Totals::new(opts.max_bins),
        achieved: Totals::new(opts.max_bins),
        truncated: 0,
        skipped: 0,
        damage: None,
    })
}

/// The updates due before trace packet `idx`, advancing `next` past them.
pub(crate) fn due<'a>(updates: &'a [Update], next: &mut usize, idx: u64) -> &'a [Update] {
    let start = *next;
    while updates.get(*next).is_some_and(|u| u.at_packet <= idx) {
        *next += 1;
    }
    &updates[start..*next]
}

pub(crate) fn flash_err(u: &Update) -> impl Fn(DeviceError) -> ReplayError + '_ {
    move |cause| ReplayError::Update {
        at: u.at_packet,
        image: u.path.display().to_string(),
        cause,
    }
}

/// A model as [`drive`] runs it.
pub(crate) trait Driven {
    /// Commit an update at a packet boundary.
    fn flash(&mut self, image: &Image) -> Result<(), DeviceError>;
    /// Take input frame number `seq` (device time `ts`, arrival cycle
    /// `arrival`; `epoch` updates committed before it) and hand what leaves
    /// to `out`. The model may take the frame's buffer.
    fn feed(&mut self, f: Frame<'_>, out: &mut Out<'_, '_>) -> Result<(), ReplayError>;
    /// No more input: run to the end and hand what leaves to `out`.
    fn finish(&mut self, out: &mut Out<'_, '_>) -> Result<(), ReplayError>;
}

/// An input frame as [`drive`] hands it to the model.
pub(crate) struct Frame<'a> {
    pub seq: u64,
    pub ts: u64,
    pub arrival: u64,
    pub epoch: usize,
    pub data: &'a mut Vec<u8>,
}

/// Where a model's output frames go: the achieved totals, the analysis,
/// the sink.
pub(crate) struct Out<'r, 's> {
    pub acc: &'r mut Acc,
    sink: &'r mut Sink<'s>,
    keep_output: bool,
    /// Capture time of device time 0.
    pub base: u64,
}

impl<'r, 's> Out<'r, 's> {
    pub fn new(acc: &'r mut Acc, sink: &'r mut Sink<'s>, opts: &Options, base: u64) -> Self {
        Out {
            acc,
            sink,
            keep_output: opts.keep_output,
            base,
        }
    }

    /// A frame of `len` bytes left at device time `ts`, and nobody needs
    /// its bytes (`keep_output` off): count it only.
    #[inline]
    pub fn count(&mut self, ts: u64, len: usize) {
        self.acc.achieved.add(self.base, ts, len);
    }

    /// A frame left: count it, hand it on.
    #[inline]
    pub fn emit(&mut self, e: &Emitted<'_>) -> Result<(), ReplayError> {
        self.acc.achieved.add(self.base, e.ts, e.data.len());
        if self.keep_output {
            (self.sink)(e)?;
        }
        Ok(())
    }
}

/// The replay loop: read each frame, commit the updates due before it,
/// feed it; commit the updates scheduled past the end, finish. `progress`
/// gets (packets read, approximate bytes read) every 16384 frames and at
/// the end.
pub(crate) fn drive<M: Driven>(
    m: &mut M,
    input: &mut Input,
    opts: &Options,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(), ReplayError> {
    let mut next_update = 0;
    let mut epoch = 0;
    let mut seq = 0u64;
    let mut frame = Vec::with_capacity(2048);
    while let Some((idx, ts, arrival)) = {
        frame.clear();
        input.next_into(acc, &mut frame)?
    } {
        for u in due(&opts.updates, &mut next_update, idx) {
            m.flash(&u.image).map_err(flash_err(u))?;
            epoch += 1;
        }
        let f = Frame {
            seq,
            ts,
            arrival,
            epoch,
            data: &mut frame,
        };
        m.feed(f, &mut Out::new(acc, sink, opts, input.clock.base.unwrap_or(0)))?;
        seq += 1;
        if seq.is_multiple_of(16384) {
            progress(input.read, input.approx_bytes);
        }
    }
    // Updates scheduled past the end still happen (before `finish`).
    for u in &opts.updates[next_update..] {
        m.flash(&u.image).map_err(flash_err(u))?;
    }
    m.finish(&mut Out::new(acc, sink, opts, input.clock.base.unwrap_or(0)))?;
    progress(input.read, input.approx_bytes);
    Ok(())
}
