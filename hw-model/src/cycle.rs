//! The cycle-accurate model. Microarchitecture (docs/spec.md, "Pipeline
//! timing"):
//!
//! ```text
//! source -> RX -> FRONT -> CT_REQ -> CT_EXEC -> BACKEND -> REWRITE -> TX
//!           beats  parse,   bucket    in-order   on-chip   header     beats
//!                  hash,    read      conntrack  table     rewrite /
//!                  VIP      (memory)  + sched    read      encap
//! ```
//!
//! - RX and TX move one `datapath_bytes` beat per clock: a frame of L bytes
//!   occupies them for ceil(L / W) cycles; RX is store-and-forward. The
//!   source is back-pressured (AXI-Stream `tready`), so nothing is lost when
//!   the pipeline is slower than the offered load: the report shows the
//!   backlog instead.
//! - Between stages: FIFOs of `fifo_depth` packets with registered ready
//!   (a stage moves its head only if the next FIFO had room at the start of
//!   the cycle). FRONT, BACKEND and REWRITE are fixed-latency, one packet
//!   per clock.
//! - CT_REQ issues a read of the packet's bucket (`ct_ways` beats) when the
//!   memory accepts it (`ct_max_outstanding` reads in flight, bandwidth of
//!   `ct_beats_per_cycle` beats per clock shared by reads, writes and the
//!   scrubber, writes first). The hazard check: if the bucket is already in
//!   flight for an earlier packet, no read is issued; the packet takes the
//!   bucket from its predecessor (forwarding), so a SYN and the next packet
//!   of the flow, back to back, see the same entry.
//! - CT_EXEC executes strictly in packet order once the packet's bucket has
//!   arrived and is not locked, applying exactly the functional semantics;
//!   it writes one beat per way it changes. A new NAT flow also
//!   read-modify-writes the return entry's bucket, which stays locked until
//!   that completes.
//! - The scrubber walks the buckets with leftover bandwidth and reclaims
//!   entries expired as of the oldest packet still before CT_EXEC, which
//!   no packet can observe.
//!
//! A clock step computes every stage's move from the state at the start of
//! the cycle (D), then commits all of them (Q), so evaluation order cannot
//! leak into the result.

use crate::device::{ActiveBank, Counters, Device, DeviceError};
use crate::model::{Model, OutPacket};
use crate::pipeline::{self, Decision, Meta};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use table_compiler::image::Image;

/// Fixed latencies of the metadata stages, in cycles.
pub const FRONT_LATENCY: u64 = 6;
pub const BACKEND_LATENCY: u64 = 2;
pub const REWRITE_LATENCY: u64 = 2;

/// Why a stage could not move its head packet in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stall {
    /// RX finished a frame but FRONT's FIFO was full.
    RxBackpressure,
    /// CT_REQ: the memory had `ct_max_outstanding` reads in flight.
    CtOutstanding,
    /// CT_REQ: not enough memory bandwidth left this cycle.
    CtBandwidth,
    /// CT_EXEC: the bucket read had not returned yet.
    CtLatency,
    /// CT_EXEC: the bucket was locked by a NAT return-entry update.
    CtHazard,
    /// CT_EXEC: no bandwidth for its writes.
    CtWriteBandwidth,
    /// A stage's output FIFO was full.
    Backpressure,
    /// TX was still sending the previous frame.
    TxBusy,
}

impl Stall {
    pub const ALL: [Stall; 8] = [
        Stall::RxBackpressure,
        Stall::CtOutstanding,
        Stall::CtBandwidth,
        Stall::CtLatency,
        Stall::CtHazard,
        Stall::CtWriteBandwidth,
        Stall::Backpressure,
        Stall::TxBusy,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Stall::RxBackpressure => "rx_backpressure",
            Stall::CtOutstanding => "ct_outstanding",
            Stall::CtBandwidth => "ct_bandwidth",
            Stall::CtLatency => "ct_latency",
            Stall::CtHazard => "ct_hazard",
            Stall::CtWriteBandwidth => "ct_write_bandwidth",
            Stall::Backpressure => "backpressure",
            Stall::TxBusy => "tx_busy",
        }
    }
}

/// Stage indices for utilisation and FIFO statistics.
pub const STAGES: [&str; 7] = ["rx", "front", "ct_req", "ct_exec", "backend", "rewrite", "tx"];

/// What the cycle model measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CycleStats {
    pub cycles: u64,
    /// Cycles each stage moved a packet or a beat.
    pub busy: [u64; 7],
    pub stalls: [u64; 8],
    /// Highest occupancy of each stage's input FIFO.
    pub fifo_high_water: [usize; 7],
    pub ct_reads: u64,
    pub ct_writes: u64,
    /// Packets that took their bucket from an in-flight predecessor.
    pub ct_forwarded: u64,
    pub scrub_reads: u64,
    pub scrubbed: u64,
    /// Most reads in flight at once.
    pub ct_outstanding_high_water: u32,
    /// Per packet that left: cycles from arrival at the port to its last
    /// beat leaving TX.
    pub latency_cycles: Vec<u32>,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub first_arrival: Option<u64>,
    pub last_egress: u64,
}

struct Src {
    seq: u64,
    frame: Vec<u8>,
    arrival: u64,
    ts_ns: u64,
}

enum SrcItem {
    Pkt(Src),
    Flash(Box<Image>),
}

/// A packet in the pipeline.
struct Flight {
    seq: u64,
    frame: Vec<u8>,
    arrival: u64,
    /// May leave the stage it is in from this cycle on.
    ready_at: u64,
    meta: Option<Meta>,
    bank: Option<Arc<ActiveBank>>,
    enabled: bool,
    now: u32,
    /// Cycle the packet's bucket data is available (CT_REQ sets it).
    data_at: u64,
    decision: Option<Decision>,
    out: Option<Vec<u8>>,
}

#[derive(Default, Clone, Copy)]
struct Inflight {
    /// Packets between CT_REQ and CT_EXEC that use the bucket.
    refs: u32,
    /// Data of the latest read / lock until this cycle.
    ready_at: u64,
}

pub struct Cycle<B> {
    pub dev: Device<B>,
    pub stats: CycleStats,
    now: u64,
    src: VecDeque<SrcItem>,
    seq: u64,
    last_arrival: u64,
    cyc_per_ns: f64,
    /// RX: the frame being received and the cycle its last beat is in.
    rx: Option<(Flight, u64)>,
    /// Input FIFOs of FRONT, CT_REQ, CT_EXEC, BACKEND, REWRITE, TX.
    q: [VecDeque<Flight>; 6],
    /// TX: frame being sent, and the cycle after its last beat.
    tx: Option<(Flight, u64)>,
    inflight: HashMap<u32, Inflight>,
    /// Completion cycles of reads in flight (for the outstanding limit).
    reads: VecDeque<u64>,
    /// Scrub reads in flight: (completes at, bucket).
    scrubs: VecDeque<(u64, u32)>,
    scrub_ptr: u32,
    tokens: i64,
    out: Vec<OutPacket>,
    buf: Vec<u8>,
}

const FRONT: usize = 0;
const CT_REQ: usize = 1;
const CT_EXEC: usize = 2;
const BACKEND: usize = 3;
const REWRITE: usize = 4;
const TX: usize = 5;

impl<B: AsRef<[u8]> + AsMut<[u8]>> Cycle<B> {
    pub fn new(dev: Device<B>) -> Cycle<B> {
        let cyc_per_ns = dev.target.clock_mhz as f64 / 1000.0;
        Cycle {
            dev,
            stats: CycleStats::default(),
            now: 0,
            src: VecDeque::new(),
            seq: 0,
            last_arrival: 0,
            cyc_per_ns,
            rx: None,
            q: Default::default(),
            tx: None,
            inflight: HashMap::new(),
            reads: VecDeque::new(),
            scrubs: VecDeque::new(),
            scrub_ptr: 0,
            tokens: 0,
            out: Vec::new(),
            buf: Vec::with_capacity(2048),
        }
    }

    fn beats(&self, len: usize) -> u64 {
        (len.max(1) as u64).div_ceil(self.dev.target.datapath_bytes as u64)
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// Nanoseconds of modelled time at a cycle.
    pub fn cycle_ns(&self, c: u64) -> u64 {
        (c as f64 / self.cyc_per_ns) as u64
    }

    /// No packet anywhere in the pipeline (scrubs do not count: they are
    /// settled when the pipeline goes idle, see `settle_scrubs`).
    fn idle(&self) -> bool {
        self.rx.is_none() && self.tx.is_none() && self.q.iter().all(VecDeque::is_empty)
    }

    /// Complete every scrub in flight now (the pipeline is idle, so the
    /// horizon is the device time) and forget the memory's pending reads.
    fn settle_scrubs(&mut self) {
        while let Some((_, bucket)) = self.scrubs.pop_front() {
            self.apply_scrub(bucket);
        }
        self.reads.clear();
        self.inflight.clear();
    }

    fn apply_scrub(&mut self, bucket: u32) -> u64 {
        let Some(b) = self.dev.active.clone() else {
            return 0;
        };
        let h = self.horizon();
        let ct = self.dev.ct;
        let n = ct.sweep(self.dev.ct_mem_mut(), bucket, h, &b.to) as u64;
        self.stats.scrubbed += n;
        self.stats.ct_writes += n;
        self.dev
            .counters
            .add(table_compiler::target::regs::Counter::CtAgeouts, n);
        n
    }

    /// Oldest ingress time (ticks) of packets not yet past CT_EXEC.
    fn horizon(&self) -> u32 {
        let mut h = self.dev.now as u32;
        let mut consider = |f: &Flight| {
            if f.now.wrapping_sub(h) > u32::MAX / 2 {
                h = f.now;
            }
        };
        if let Some((f, _)) = &self.rx {
            consider(f);
        }
        for q in &self.q[..=CT_EXEC] {
            for f in q {
                consider(f);
            }
        }
        h
    }

    /// Advance the model until the source is empty and, if `drain`, until
    /// every packet has left.
    fn run(&mut self, drain: bool) {
        loop {
            if self.idle() {
                self.settle_scrubs();
                let next = match self.src.front() {
                    None => return,
                    Some(SrcItem::Pkt(p)) => Some(p.arrival),
                    Some(SrcItem::Flash(_)) => None,
                };
                if let Some(arrival) = next.filter(|&a| a > self.now) {
                    self.scrub_idle(arrival - self.now);
                    self.now = arrival;
                    self.tokens = self.dev.target.ct_beats_per_cycle as i64;
                }
            }
            if !drain && self.src.is_empty() {
                return;
            }
            self.step();
            if drain && self.src.is_empty() && self.idle() {
                return;
            }
        }
    }

    /// Scrub as many buckets as the bandwidth of `cycles` idle cycles allows.
    fn scrub_idle(&mut self, cycles: u64) {
        let Some(b) = self.dev.active.clone() else { return };
        let t = &self.dev.target;
        let n = (cycles * t.ct_beats_per_cycle as u64 / t.ct_ways as u64).min(self.dev.ct.buckets as u64);
        let (ct, horizon) = (self.dev.ct, self.dev.now as u32);
        let mut reclaimed = 0u64;
        for _ in 0..n {
            reclaimed += ct.sweep(self.dev.ct_mem_mut(), self.scrub_ptr, horizon, &b.to) as u64;
            self.scrub_ptr = (self.scrub_ptr + 1) % ct.buckets;
        }
        self.stats.scrub_reads += n;
        self.stats.scrubbed += reclaimed;
        self.stats.ct_writes += reclaimed;
        self.dev
            .counters
            .add(table_compiler::target::regs::Counter::CtAgeouts, reclaimed);
    }

    /// One clock.
    fn step(&mut self) {
        let now = self.now;
        let t = self.dev.target.clone();
        let depth = t.fifo_depth as usize;
        let bpc = t.ct_beats_per_cycle as i64;
        let ways = t.ct_ways as i64;
        // ---- D: decide every move from the state at the start of the cycle.
        let room: [bool; 6] = std::array::from_fn(|i| self.q[i].len() < depth);
        let tokens = (self.tokens + bpc).min(bpc.max(ways));
        let outstanding = self.reads.iter().filter(|&&c| c > now).count() as u32;
        // TX
        let tx_done = matches!(&self.tx, Some((_, end)) if *end <= now);
        let tx_free = self.tx.is_none() || tx_done;
        let tx_start = tx_free && self.q[TX].front().is_some_and(|f| f.ready_at <= now);
        if !tx_free && !self.q[TX].is_empty() {
            self.stats.stalls[Stall::TxBusy as usize] += 1;
        }
        // Fixed-latency stages: REWRITE -> TX, BACKEND -> REWRITE.
        let mv =
            |q: &VecDeque<Flight>, next_room: bool| q.front().is_some_and(|f| f.ready_at <= now) && next_room;
        let rewrite_mv = mv(&self.q[REWRITE], room[TX]);
        let backend_mv = mv(&self.q[BACKEND], room[REWRITE]);
        // CT_EXEC: in order, data arrived, not locked, write bandwidth.
        let mut exec = false;
        let mut exec_stall = None;
        if let Some(f) = self.q[CT_EXEC].front() {
            if f.ready_at <= now {
                let bucket = f.meta.as_ref().and_then(|m| m.class.bucket());
                let lock = bucket
                    .and_then(|b| self.inflight.get(&b))
                    .map_or(0, |i| i.ready_at);
                if f.data_at > now {
                    exec_stall = Some(Stall::CtLatency);
                } else if lock > now {
                    exec_stall = Some(Stall::CtHazard);
                } else if !room[BACKEND] {
                    exec_stall = Some(Stall::Backpressure);
                } else if bucket.is_some() && tokens < 1 {
                    exec_stall = Some(Stall::CtWriteBandwidth);
                } else {
                    exec = true;
                }
            }
        }
        // CT_REQ: issue the head's bucket read (or forward).
        let mut req = false;
        let mut req_read = None;
        let mut req_stall = None;
        if let Some(f) = self.q[CT_REQ].front() {
            if f.ready_at <= now {
                if !room[CT_EXEC] {
                    req_stall = Some(Stall::Backpressure);
                } else {
                    match f.meta.as_ref().and_then(|m| m.class.bucket()) {
                        None => req = true,
                        Some(b) if self.inflight.get(&b).is_some_and(|i| i.refs > 0) => req = true,
                        Some(b) => {
                            // Writes (CT_EXEC) go first in the arbiter.
                            let left = tokens - if exec { 1 } else { 0 };
                            if outstanding >= t.ct_max_outstanding {
                                req_stall = Some(Stall::CtOutstanding);
                            } else if left < ways {
                                req_stall = Some(Stall::CtBandwidth);
                            } else {
                                req = true;
                                req_read = Some(b);
                            }
                        }
                    }
                }
            }
        }
        let front_mv = mv(&self.q[FRONT], room[CT_REQ]);
        // RX: deliver a finished frame, start the next one.
        let rx_done = matches!(&self.rx, Some((_, end)) if *end <= now);
        let rx_deliver = rx_done && room[FRONT];
        if rx_done && !room[FRONT] {
            self.stats.stalls[Stall::RxBackpressure as usize] += 1;
        }
        let rx_free = self.rx.is_none() || rx_deliver;

        // ---- Q: commit, back to front so each move sees its own FIFO.
        let mut used = 0i64;
        if tx_done {
            let (f, end) = self.tx.take().expect("tx_done");
            self.finish_tx(f, end);
        }
        if tx_start {
            let f = self.q[TX].pop_front().expect("tx_start");
            let n = self.beats(f.out.as_ref().map_or(0, Vec::len));
            self.stats.busy[6] += n;
            self.tx = Some((f, now + n));
        }
        if rewrite_mv {
            let mut f = self.q[REWRITE].pop_front().expect("rewrite_mv");
            self.stats.busy[5] += 1;
            let meta = f.meta.as_ref().expect("classified");
            let d = f.decision.expect("executed");
            if pipeline::emit(&f.frame, meta, d, &mut self.buf, &mut self.dev.counters) {
                f.out = Some(self.buf.clone());
                f.ready_at = now + 1;
                self.q[TX].push_back(f);
            }
        }
        if backend_mv {
            let mut f = self.q[BACKEND].pop_front().expect("backend_mv");
            self.stats.busy[4] += 1;
            f.ready_at = now + REWRITE_LATENCY;
            self.q[REWRITE].push_back(f);
        }
        if exec {
            let mut f = self.q[CT_EXEC].pop_front().expect("exec");
            self.stats.busy[3] += 1;
            let meta = f.meta.as_ref().expect("classified");
            let (d, fx) = pipeline::execute_with_effects(&mut self.dev, meta);
            if let Some(b) = meta.class.bucket() {
                // Emptied entries go at the end of the cycle, so a forward
                // decided this cycle still finds its predecessor's bucket.
                if let Some(i) = self.inflight.get_mut(&b) {
                    i.refs -= 1;
                }
            }
            used += fx.writes as i64;
            self.stats.ct_writes += fx.writes as u64;
            if let Some(rb) = fx.extra_bucket {
                // Posted read-modify-write of the NAT return bucket.
                let done = now
                    + t.ct_latency_cycles as u64
                    + (t.ct_ways as u64).div_ceil(t.ct_beats_per_cycle as u64);
                used += ways + 1;
                self.stats.ct_reads += 1;
                self.stats.ct_writes += 1;
                self.reads.push_back(done);
                let e = self.inflight.entry(rb).or_default();
                e.ready_at = e.ready_at.max(done);
            }
            f.decision = Some(d);
            f.ready_at = now + BACKEND_LATENCY;
            self.q[BACKEND].push_back(f);
        } else if let Some(s) = exec_stall {
            self.stats.stalls[s as usize] += 1;
        }
        if req {
            let mut f = self.q[CT_REQ].pop_front().expect("req");
            self.stats.busy[2] += 1;
            let data_at = match (req_read, f.meta.as_ref().and_then(|m| m.class.bucket())) {
                (Some(b), _) => {
                    let done = now
                        + t.ct_latency_cycles as u64
                        + (t.ct_ways as u64).div_ceil(t.ct_beats_per_cycle as u64)
                        - 1;
                    used += ways;
                    self.stats.ct_reads += 1;
                    self.reads.push_back(done);
                    let e = self.inflight.entry(b).or_default();
                    e.refs += 1;
                    e.ready_at = e.ready_at.max(done);
                    done
                }
                (None, Some(b)) => {
                    self.stats.ct_forwarded += 1;
                    let e = self.inflight.entry(b).or_default();
                    e.refs += 1;
                    e.ready_at
                }
                (None, None) => now,
            };
            f.data_at = data_at;
            f.ready_at = now + 1;
            self.q[CT_EXEC].push_back(f);
        } else if let Some(s) = req_stall {
            self.stats.stalls[s as usize] += 1;
        }
        if front_mv {
            let mut f = self.q[FRONT].pop_front().expect("front_mv");
            self.stats.busy[1] += 1;
            f.ready_at = now + 1;
            self.q[CT_REQ].push_back(f);
        }
        if rx_deliver {
            let (mut f, _) = self.rx.take().expect("rx_deliver");
            let d = &mut self.dev;
            let meta = pipeline::classify(
                f.bank.as_ref(),
                f.enabled,
                &f.frame,
                f.now,
                d.ct.buckets,
                &mut d.counters,
            );
            f.meta = Some(meta);
            f.ready_at = now + FRONT_LATENCY;
            self.q[FRONT].push_back(f);
        }
        if rx_free {
            self.rx_start(now);
        }
        if self.rx.is_some() {
            self.stats.busy[0] += 1;
        }
        // Scrubber: leftover bandwidth, one bucket read at a time.
        let outstanding_after = outstanding + req_read.is_some() as u32;
        let busy = !self.idle();
        if busy
            && self.dev.active.is_some()
            && tokens - used >= ways
            && outstanding_after < t.ct_max_outstanding
            && self.scrubs.len() < 4
        {
            let bucket = self.scrub_ptr;
            self.scrub_ptr = (self.scrub_ptr + 1) % self.dev.ct.buckets;
            if !self.inflight.contains_key(&bucket) {
                let done = now + t.ct_latency_cycles as u64;
                used += ways;
                self.reads.push_back(done);
                self.scrubs.push_back((done, bucket));
                self.stats.scrub_reads += 1;
            }
        }
        while self.scrubs.front().is_some_and(|&(d, _)| d <= now) {
            let (_, bucket) = self.scrubs.pop_front().expect("front");
            used += self.apply_scrub(bucket) as i64;
        }
        self.inflight.retain(|_, i| i.refs > 0 || i.ready_at > now);
        while self.reads.front().is_some_and(|&c| c <= now) {
            self.reads.pop_front();
        }
        self.stats.ct_outstanding_high_water =
            self.stats.ct_outstanding_high_water.max(self.reads.len() as u32);
        for (i, q) in self.q.iter().enumerate() {
            let hw = &mut self.stats.fifo_high_water[i + 1];
            *hw = (*hw).max(q.len());
        }
        self.tokens = tokens - used;
        self.now += 1;
        self.stats.cycles = self.now;
    }

    fn rx_start(&mut self, now: u64) {
        loop {
            match self.src.front() {
                Some(SrcItem::Flash(_)) => {
                    let Some(SrcItem::Flash(img)) = self.src.pop_front() else {
                        unreachable!()
                    };
                    if let Err(e) = self.dev.flash(&img) {
                        tracing::warn!("flash at packet boundary refused: {e}");
                    }
                }
                Some(SrcItem::Pkt(p)) if p.arrival <= now => {
                    let Some(SrcItem::Pkt(p)) = self.src.pop_front() else {
                        unreachable!()
                    };
                    let n = self.beats(p.frame.len());
                    let ingress = self.dev.set_time_ns(p.ts_ns);
                    let f = Flight {
                        seq: p.seq,
                        arrival: p.arrival,
                        ready_at: now + n,
                        meta: None,
                        bank: self.dev.active.clone(),
                        enabled: self.dev.enabled(),
                        now: ingress,
                        data_at: 0,
                        decision: None,
                        out: None,
                        frame: p.frame,
                    };
                    self.stats.fifo_high_water[0] = self.stats.fifo_high_water[0].max(self.src.len());
                    self.rx = Some((f, now + n));
                    return;
                }
                _ => return,
            }
        }
    }

    fn finish_tx(&mut self, f: Flight, end: u64) {
        let data = f.out.expect("only emitted frames reach TX");
        self.stats.packets_out += 1;
        self.stats.bytes_out += data.len() as u64;
        self.stats.last_egress = end;
        self.stats
            .latency_cycles
            .push((end - f.arrival).min(u32::MAX as u64) as u32);
        let ts_ns = self.cycle_ns(end);
        self.out.push(OutPacket {
            data,
            ts_ns,
            seq: f.seq,
        });
    }

    /// Offer a frame at an explicit arrival cycle (for back-to-back replay
    /// at a port speed, or tests); `input` converts pcap time instead.
    pub fn input_at_cycle(&mut self, frame: Vec<u8>, arrival: u64, ts_ns: u64) {
        let arrival = arrival.max(self.last_arrival);
        self.last_arrival = arrival;
        self.stats.packets_in += 1;
        self.stats.bytes_in += frame.len() as u64;
        self.stats.first_arrival.get_or_insert(arrival);
        let seq = self.seq;
        self.seq += 1;
        self.src.push_back(SrcItem::Pkt(Src {
            seq,
            frame,
            arrival,
            ts_ns,
        }));
        // Keep the source queue short: run while more than a window waits.
        if self.src.len() > 4096 {
            self.run(false);
        }
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Model for Cycle<B> {
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64) {
        let arrival = (ts_ns as f64 * self.cyc_per_ns) as u64;
        self.input_at_cycle(frame, arrival, ts_ns);
    }
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        img.expect_target(&self.dev.target)?;
        if self.src.is_empty() && self.idle() {
            return self.dev.flash(img);
        }
        self.src.push_back(SrcItem::Flash(Box::new(img.clone())));
        Ok(())
    }
    fn finish(&mut self) {
        self.run(true);
        self.settle_scrubs();
        // Final sweep: the scrubber's pass over the whole table.
        if let Some(b) = self.dev.active.clone() {
            let ct = self.dev.ct;
            let h = self.dev.now as u32;
            let mut n = 0u64;
            for bucket in 0..ct.buckets {
                n += ct.sweep(self.dev.ct_mem_mut(), bucket, h, &b.to) as u64;
            }
            self.stats.scrubbed += n;
            self.dev
                .counters
                .add(table_compiler::target::regs::Counter::CtAgeouts, n);
        }
    }
    fn take_output(&mut self) -> Vec<OutPacket> {
        std::mem::take(&mut self.out)
    }
    fn counters(&self) -> &Counters {
        &self.dev.counters
    }
}
