//! Functional replay sharded across threads, with the same output (bytes
//! and order) and counters as one thread.
//!
//! Why it is exact: every piece of state a packet touches is in its
//! conntrack page (`lookup::CT_PAGE_BUCKETS` buckets): its two candidate
//! buckets, and the other candidate of any entry an insert relocates, lie
//! in the page of its first candidate `a`. Shards own contiguous bucket
//! ranges cut on page boundaries, routed by `a`, so a worker gets every
//! packet of its pages, in input order; a worker runs its own device, whose
//! conntrack holds just its pages. Packets of
//! one flow (and ICMP errors about it, routed by their inner flow reversed,
//! as the pipeline does) share a bucket. Device time is the running maximum
//! of ingress times, identical in every shard, and every worker commits
//! each update at the same packet boundary.
//!
//! The device-wide ICMP too-big budget (a token bucket taken in packet
//! order) spans buckets too, but it changes nothing but whether an answer
//! leaves: the shards answer without limit, and the reader, which merges
//! the outputs back into input order, applies the one budget there, with
//! each packet's device time and the bank it entered with
//! ([`Budget`]).
//!
//! Two things cross buckets, so such banks replay on one thread:
//! - RR/WRR VIPs step a per-VIP pointer on every new flow, so which backend
//!   a flow gets depends on new flows in other shards;
//! - a new NAT flow also writes its return entry, in the buckets of the
//!   reply's tuple, which another shard may own.
//!
//! The reader (main thread) runs the one replay loop (`session::drive`,
//! as the single-threaded models do) over a [`ShardSet`]: it routes each
//! packet (the 4-tuple + Toeplitz: cheap) and hands batches of 1024 to
//! every worker; each runs its own packets. The reader runs shard 0 itself, a smaller share since it
//! also reads: the bucket ranges are cut where the first 64k packets balance
//! (a popular flow weighs what it carries), and the reader merges the
//! outputs back into input order.

use crate::attribution::{Analyzer, InKey};
use crate::session::{
    drive, new_acc, Acc, Driven, Emitted, Frame, Input, Options, Out as SessionOut, ReplayError, Sink,
};
use hw_model::device::{in_memory, ActiveBank, Counters, DeviceError, Memory};
use hw_model::functional::Functional;
use hw_model::model::{Model, Sent};
use hw_model::packet::icmp::RateLimit;
use hw_model::packet::{parse, Parsed};
use lbnic_contract::image::{Bank, Image};
use lbnic_contract::lookup::{ct_bucket, flow_hash, CtBuckets};
use lbnic_contract::target::regs::Counter;
use lbnic_contract::toeplitz::Toeplitz;
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

const BATCH: usize = 1024;
/// Most worker threads.
pub const MAX_THREADS: usize = 64;
/// Batches in flight per worker (slack for uneven shards).
const DEPTH: usize = 16;
/// Batches read before the bucket ranges are cut (64k packets).
const PREFIX_BATCHES: usize = 64;

/// Why a bank cannot be sharded, if it cannot: the model says whether it
/// keeps state across conntrack buckets.
fn unshardable(img: &Image) -> Option<String> {
    match Bank::decode(img) {
        Ok(b) => ActiveBank::new(b, img.generation, 0)
            .cross_bucket_state()
            .map(|c| c.to_string()),
        Err(e) => Some(format!("image does not decode: {e}")),
    }
}

/// Threads to use, and why fewer than asked.
pub(crate) fn plan(image: &Image, opts: &Options) -> (usize, Option<String>) {
    if opts.threads <= 1 {
        return (1, None);
    }
    let images = std::iter::once(image).chain(opts.updates.iter().map(|u| &u.image));
    for (i, img) in images.enumerate() {
        if let Some(why) = unshardable(img) {
            let which = if i == 0 {
                "the image".to_string()
            } else {
                format!("update {}", i)
            };
            return (1, Some(format!("replayed on one thread: in {which}, {why}")));
        }
    }
    if opts.threads > MAX_THREADS {
        return (MAX_THREADS, Some(format!("at most {MAX_THREADS} threads")));
    }
    (opts.threads, None)
}

/// The first candidate conntrack bucket of a packet's state, as the
/// pipeline computes it (`None`: the packet has no conntrack state); its
/// page holds all the state the packet touches.
#[cfg(test)]
pub(crate) fn bucket(p: &Parsed, tz: &Toeplitz, buckets: u32) -> Option<u32> {
    candidates(p, tz, buckets).map(|c| c.a)
}

/// Both candidate buckets of a packet's state (see [`bucket`]).
fn candidates(p: &Parsed, tz: &Toeplitz, buckets: u32) -> Option<CtBuckets> {
    let key = hw_model::pipeline::ct_key(p)?;
    Some(ct_bucket(key.flow_hash(tz), buckets))
}

/// Contiguous ranges of buckets, one per shard (so each device's conntrack
/// memory is its own part of the region): shard `i` owns buckets
/// `cuts[i-1]..cuts[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cuts {
    cuts: Vec<u32>,
    buckets: u32,
}

/// Reading, routing and merging cost the reader thread about 0.3 of what
/// running a packet costs (measured with `perf`, see docs/performance.md:
/// 0.5 before issue 14 made running a packet cheaper relative to reading
/// it, by grouping): it takes that much less of the packets.
const READER_COST: f64 = 0.3;

impl Cuts {
    /// Balance by packets: `sample` holds the buckets of the first packets
    /// (`u32::MAX`: no conntrack state; those go to shard 0). Shard 0 is
    /// run by the reader thread, so it gets a smaller share. Cuts fall on
    /// page boundaries (a page's state is one shard's).
    pub fn balanced(buckets: u32, n: usize, sample: &[u32]) -> Cuts {
        let page = lbnic_contract::lookup::ct_page_buckets(buckets);
        let mut sorted: Vec<u32> = sample
            .iter()
            .map(|&b| if b == u32::MAX { 0 } else { b })
            .collect();
        sorted.sort_unstable();
        let workers = (n - 1) as f64;
        let mine = ((1.0 - workers * READER_COST) / n as f64).max(0.0);
        let each = (1.0 - mine) / workers.max(1.0);
        let cuts = (1..n)
            .map(|k| {
                let q = mine + each * (k - 1) as f64;
                let cut = if sorted.is_empty() {
                    // No sample: equal ranges after shard 0's.
                    (buckets as f64 * q) as u32
                } else {
                    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
                };
                cut / page * page
            })
            .collect();
        Cuts { cuts, buckets }
    }

    pub fn shard(&self, bucket: u32) -> usize {
        self.cuts.iter().take_while(|&&c| bucket >= c).count()
    }

    pub fn range(&self, me: usize) -> std::ops::Range<u32> {
        let lo = if me == 0 { 0 } else { self.cuts[me - 1] };
        let hi = self.cuts.get(me).copied().unwrap_or(self.buckets);
        lo..hi.max(lo)
    }
}

/// The bucket of a frame, as [`bucket`] computes it from the full parse,
/// but reading only the 4-tuple for plain IPv4/IPv6 TCP/UDP (the common
/// case; the reader does this for every frame: about 20 ns against 135 for
/// the full parse), hashed by the contract's one flow hash. Anything else
/// (ICMP, IPv6 extension headers, short frames) takes the full parse. A
/// frame the full parser would refuse may get some bucket here: it has no
/// conntrack state, so any shard gives the same result.
pub(crate) fn route(f: &[u8], tz: &Toeplitz, buckets: u32) -> Option<CtBuckets> {
    let full = || parse(f).ok().and_then(|p| candidates(&p, tz, buckets));
    let mut o = 12;
    let mut et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    for _ in 0..2 {
        if et != 0x8100 && et != 0x88a8 {
            break;
        }
        o += 4;
        et = match f.get(o..o + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]),
            None => return full(),
        };
    }
    let l3 = o + 2;
    // (address pair, protocol, L4 offset)
    let (addrs, proto, l4): (&[u8], u8, usize) = match et {
        0x0800 => {
            let Some(h) = f.get(l3..l3 + 20) else {
                return full();
            };
            let ihl = (h[0] & 0x0f) as usize * 4;
            if h[0] >> 4 != 4 || ihl < 20 {
                return full();
            }
            if u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
                return full(); // a fragment: its datagram's fragment entry
            }
            (&h[12..20], h[9], l3 + ihl)
        }
        0x86dd => {
            let Some(h) = f.get(l3..l3 + 40) else {
                return full();
            };
            (&h[8..40], h[6], l3 + 40)
        }
        _ => return full(),
    };
    if proto != 6 && proto != 17 {
        return full();
    }
    let Some(pt) = f.get(l4..l4 + 4) else {
        return full();
    };
    let ports = (
        u16::from_be_bytes([pt[0], pt[1]]),
        u16::from_be_bytes([pt[2], pt[3]]),
    );
    let (src, dst) = addrs.split_at(addrs.len() / 2);
    Some(ct_bucket(flow_hash(tz, src, dst, Some(ports)), buckets))
}

#[derive(Default)]
struct Batch {
    first_seq: u64,
    /// Frames back to back.
    data: Vec<u8>,
    /// (device time ns, start, end in `data`)
    frames: Vec<(u64, u32, u32)>,
    /// Per frame: its headers and its shard (routed once, by the reader).
    /// Conntrack bucket of each frame (`u32::MAX`: none).
    bucket: Vec<u32>,
    /// Its second candidate bucket (same page), touched before it runs.
    second: Vec<u32>,
    /// Per shard, the positions of its frames.
    lists: Vec<Vec<u32>>,
    /// (position, update index): commit that update before `frames[pos]`.
    flashes: Vec<(usize, usize)>,
}

#[derive(Default)]
struct Out {
    /// (position in batch, range in `data`)
    idx: Vec<(u32, u32, u32)>,
    /// Per `idx`: an ICMP too-big answer, which the reader may suppress.
    answer: Vec<bool>,
    data: Vec<u8>,
}

/// The device's ICMP too-big budget, applied by the reader in input order
/// (the shards answer without limit): what one device's `emit` does.
struct Budget {
    limit: RateLimit,
    tick_ns: u64,
    /// (rate, burst) per epoch (the image, then each update).
    params: Vec<(u32, u32)>,
    epoch: usize,
    /// Device time: the running maximum of ingress times, ns.
    now_ns: u64,
    /// Answers suppressed, and their bytes.
    suppressed: u64,
    suppressed_bytes: u64,
}

impl Budget {
    fn new(image: &Image, opts: &Options) -> Result<Budget, ReplayError> {
        let params = std::iter::once(image)
            .chain(opts.updates.iter().map(|u| &u.image))
            .map(|img| Bank::decode(img).map(|b| (b.global.icmp_rate, b.global.icmp_burst)))
            .collect::<Result<_, _>>()?;
        Ok(Budget {
            limit: RateLimit::new(image.target.ct_tick_us),
            tick_ns: image.target.ct_tick_us as u64 * 1000,
            params,
            epoch: 0,
            now_ns: 0,
            suppressed: 0,
            suppressed_bytes: 0,
        })
    }

    /// Whether an answer to the frame just seen leaves.
    fn take(&mut self) -> bool {
        let (rate, burst) = self.params[self.epoch];
        self.limit.take((self.now_ns / self.tick_ns) as u32, rate, burst)
    }

    /// The merged counters as one device would have them.
    fn apply(&self, c: &mut Counters) {
        let n = self.suppressed;
        c.c[Counter::TxPackets as usize] -= n;
        c.c[Counter::TxBytes as usize] -= self.suppressed_bytes;
        c.c[Counter::IcmpTooBigSent as usize] -= n;
        c.add(Counter::IcmpRateLimited, n);
    }
}

impl Batch {
    /// Empty, for the frames from sequence number `first_seq` on (buffers
    /// kept for reuse).
    fn reset(&mut self, first_seq: u64) {
        self.data.clear();
        self.frames.clear();
        self.bucket.clear();
        self.second.clear();
        self.flashes.clear();
        self.first_seq = first_seq;
    }

    /// Each shard's positions in the batch, by the cuts of `n` shards.
    fn split(&mut self, cuts: &Cuts, n: usize) {
        self.lists.resize_with(n, Vec::new);
        self.lists.iter_mut().for_each(Vec::clear);
        for (pos, &k) in self.bucket.iter().enumerate() {
            let sh = if k == u32::MAX { 0 } else { cuts.shard(k) };
            self.lists[sh].push(pos as u32);
        }
    }
}

enum Msg {
    Batch(Arc<Batch>),
    /// No more packets: commit these updates, age at this time, finish.
    End {
        flashes: Vec<usize>,
        last_ns: u64,
    },
}

/// A worker's channels: batches in, outputs out, output buffers back.
struct Chans {
    rx: Receiver<Msg>,
    tx: SyncSender<Result<Out, ReplayError>>,
    recycle: Receiver<Out>,
}

struct WorkerEnd {
    counters: Counters,
    analyzer: Analyzer,
}

/// One shard: a device over its range of buckets, and its analysis.
struct Shard<'a> {
    me: usize,
    m: Functional<Memory>,
    analyzer: Analyzer,
    epoch: usize,
    opts: &'a Options,
    /// The analysis keys of the group being run (kept for its buffer).
    keys: Vec<InKey>,
}

/// Frames of a shard run as a group: their memory is touched first.
const GROUP: usize = 32;

impl<'a> Shard<'a> {
    fn new(me: usize, cuts: &Cuts, image: &Image, opts: &'a Options) -> Result<Shard<'a>, ReplayError> {
        let mut m = Functional::new(in_memory(image.target.clone())?);
        // The reader applies the device-wide budget (`Budget`).
        m.dev.icmp.unlimited = true;
        m.dev.flash(image)?;
        m.dev.prefault(cuts.range(me));
        Ok(Shard {
            me,
            m,
            analyzer: new_acc(image, opts)?.analyzer,
            epoch: 0,
            opts,
            keys: Vec::with_capacity(GROUP),
        })
    }

    fn flash(&mut self, u: usize) -> Result<(), ReplayError> {
        let up = &self.opts.updates[u];
        self.epoch = u + 1;
        self.m.dev.flash(&up.image).map_err(|cause| ReplayError::Update {
            at: up.at_packet,
            image: up.path.display().to_string(),
            cause,
        })
    }

    /// Run this shard's packets of a batch; their outputs go to `out`.
    fn batch(&mut self, b: &Batch, out: &mut Out) -> Result<(), ReplayError> {
        out.idx.clear();
        out.answer.clear();
        out.data.clear();
        let mut fl = b.flashes.iter().peekable();
        let mut keys = std::mem::take(&mut self.keys);
        for group in b.lists[self.me].chunks(GROUP) {
            // The group's conntrack buckets and flow records first, so
            // their cache misses overlap (what `Model::input` does for one
            // device) instead of stalling one packet each.
            keys.clear();
            keys.extend(group.iter().map(|&pos| {
                let (_, a, z) = b.frames[pos as usize];
                InKey::of(&b.data[a as usize..z as usize])
            }));
            // A tight loop of independent loads: they are in flight together.
            let (ct, mem) = (self.m.dev.ct, self.m.dev.ct_mem());
            let mut touch = 0u64;
            for (&pos, key) in group.iter().zip(&keys) {
                touch ^= self.analyzer.prefetch(key);
                for k in [b.bucket[pos as usize], b.second[pos as usize]] {
                    if k != u32::MAX {
                        touch ^= mem.get(ct.bucket_range(k).start).copied().unwrap_or(0) as u64;
                    }
                }
            }
            std::hint::black_box(touch);
            for (&pos, key) in group.iter().zip(&keys) {
                self.one(b, pos as usize, key, &mut fl, out)?;
            }
        }
        self.keys = keys;
        // Updates after this shard's last frame of the batch.
        for &(_, u) in fl {
            self.flash(u)?;
        }
        Ok(())
    }

    /// Run frame `pos` of a batch (its updates first).
    fn one(
        &mut self,
        b: &Batch,
        pos: usize,
        key: &InKey,
        fl: &mut std::iter::Peekable<std::slice::Iter<'_, (usize, usize)>>,
        out: &mut Out,
    ) -> Result<(), ReplayError> {
        {
            while let Some(&&(_, u)) = fl.peek().filter(|f| f.0 <= pos) {
                self.flash(u)?;
                fl.next();
            }
            let (ts, a, z) = b.frames[pos];
            let frame = &b.data[a as usize..z as usize];
            if self.m.process(frame, ts).is_some() {
                let sent = self.m.sent();
                let answer = sent == Some(Sent::TooBig);
                let o = self.m.output();
                out.answer.push(answer);
                if !answer {
                    // An answer is observed by the reader, if it leaves.
                    self.analyzer.observe(self.epoch, key, o, sent, ts);
                }
                if self.opts.keep_output || answer {
                    let start = out.data.len() as u32;
                    out.data.extend_from_slice(o);
                    out.idx.push((pos as u32, start, out.data.len() as u32));
                } else {
                    // Only the length travels (for the statistics).
                    out.idx.push((pos as u32, 0, o.len() as u32));
                }
            }
        }
        Ok(())
    }

    /// Commit the updates left, age at the last ingress time, finish.
    fn end(mut self, flashes: &[usize], last_ns: u64) -> Result<WorkerEnd, ReplayError> {
        for &u in flashes {
            self.flash(u)?;
        }
        self.m.dev.set_time_ns(last_ns);
        Model::finish(&mut self.m);
        Ok(WorkerEnd {
            counters: self.m.dev.counters.clone(),
            analyzer: self.analyzer,
        })
    }
}

fn worker(mut sh: Shard<'_>, ch: Chans) -> Result<WorkerEnd, ReplayError> {
    let Chans { rx, tx, recycle } = ch;
    for msg in rx {
        match msg {
            Msg::Batch(b) => {
                let mut out = recycle.try_recv().unwrap_or_default();
                sh.batch(&b, &mut out)?;
                // The reader frees the batch: frees stay in its thread.
                drop(b);
                if tx.send(Ok(out)).is_err() {
                    break;
                }
            }
            Msg::End { flashes, last_ns } => return sh.end(&flashes, last_ns),
        }
    }
    Err(ReplayError::Worker("the reader stopped".into()))
}

pub(crate) fn run(
    image: &Image,
    trace: &std::path::Path,
    opts: &Options,
    n: usize,
    acc: &mut Acc,
    sink: &mut Sink<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<Counters, ReplayError> {
    let mut input = Input::open(trace, &image.target, opts)?;
    // Flow-hash keys per epoch, for routing.
    let keys: Vec<Toeplitz> = std::iter::once(image)
        .chain(opts.updates.iter().map(|u| &u.image))
        .map(|img| Bank::decode(img).map(|b| Toeplitz::new(&b.global.toeplitz_key)))
        .collect::<Result<_, _>>()?;
    std::thread::scope(|s| -> Result<Counters, ReplayError> {
        let mut set = ShardSet::new(s, image, opts, n, &keys);
        // The one replay loop; the set batches, routes and merges.
        let failed = drive(&mut set, &mut input, opts, acc, sink, progress).err();
        let (ends, budget) = set.join();
        let mut c = merge(ends, failed, acc)?;
        if let Some(b) = budget {
            b.apply(&mut c);
        }
        Ok(c)
    })
}

/// The shards as the replay loop drives them: frames are batched and
/// routed by bucket; the first `PREFIX_BATCHES` wait until the bucket
/// ranges are cut on them and the workers start; each batch goes to every
/// worker, the reader runs shard 0 itself, and outputs come back merged
/// into input order.
struct ShardSet<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    image: &'env Image,
    opts: &'env Options,
    n: usize,
    keys: &'env [Toeplitz],
    buckets: u32,
    /// The batch being filled.
    cur: Batch,
    /// Frames fed so far (the next batch's first sequence number).
    seq: u64,
    /// Updates committed so far.
    next_update: usize,
    /// Batches read before the workers start.
    pending: VecDeque<Batch>,
    run: Option<Running<'scope, 'env>>,
    /// Device time of the last frame (each shard ages to it at the end).
    last_ns: u64,
}

/// The started shards: channels to the workers, the reader's own shard,
/// and the batches whose outputs are not merged yet.
struct Running<'scope, 'env> {
    cuts: Cuts,
    to_w: Vec<SyncSender<Msg>>,
    from_w: Vec<Receiver<Result<Out, ReplayError>>>,
    back: Vec<SyncSender<Out>>,
    handles: Vec<std::thread::ScopedJoinHandle<'scope, Result<WorkerEnd, ReplayError>>>,
    mine: Shard<'env>,
    inflight: VecDeque<(Arc<Batch>, Out)>,
    my_outs: Vec<Out>,
    spare: Option<Batch>,
    budget: Budget,
}

impl<'scope, 'env> ShardSet<'scope, 'env> {
    fn new(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        image: &'env Image,
        opts: &'env Options,
        n: usize,
        keys: &'env [Toeplitz],
    ) -> Self {
        ShardSet {
            scope,
            image,
            opts,
            n,
            keys,
            buckets: image.target.ct_buckets,
            cur: Batch::default(),
            seq: 0,
            next_update: 0,
            pending: VecDeque::new(),
            run: None,
            last_ns: 0,
        }
    }

    /// Cut the bucket space where the pending batches balance, start the
    /// workers (each sets its own device up, in parallel) and the reader's
    /// shard.
    fn start(&mut self) -> Result<(), ReplayError> {
        let sample: Vec<u32> = self
            .pending
            .iter()
            .flat_map(|b| b.bucket.iter().copied())
            .collect();
        let cuts = Cuts::balanced(self.buckets, self.n, &sample);
        drop(sample);
        let (mut to_w, mut from_w, mut back, mut handles) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for me in 1..self.n {
            let (tx, rx) = sync_channel::<Msg>(DEPTH);
            let (otx, orx) = sync_channel::<Result<Out, ReplayError>>(DEPTH);
            let (btx, brx) = sync_channel::<Out>(DEPTH + 1);
            let ch = Chans {
                rx,
                tx: otx,
                recycle: brx,
            };
            let (c, image, opts) = (cuts.clone(), self.image, self.opts);
            handles.push(
                self.scope
                    .spawn(move || worker(Shard::new(me, &c, image, opts)?, ch)),
            );
            to_w.push(tx);
            from_w.push(orx);
            back.push(btx);
        }
        // The reader runs shard 0 itself (a smaller range: it also reads).
        let mine = Shard::new(0, &cuts, self.image, self.opts)?;
        self.run = Some(Running {
            cuts,
            to_w,
            from_w,
            back,
            handles,
            mine,
            inflight: VecDeque::new(),
            my_outs: Vec::new(),
            spare: None,
            budget: Budget::new(self.image, self.opts)?,
        });
        Ok(())
    }

    /// The full batch in `cur` goes out (or waits for the start).
    fn submit(&mut self, out: &mut SessionOut<'_, '_>) -> Result<(), ReplayError> {
        let mut fresh = self.run.as_mut().and_then(|r| r.spare.take()).unwrap_or_default();
        fresh.reset(self.seq);
        let b = std::mem::replace(&mut self.cur, fresh);
        if b.frames.is_empty() {
            return Ok(());
        }
        if self.run.is_none() {
            self.pending.push_back(b);
            if self.pending.len() < PREFIX_BATCHES {
                return Ok(());
            }
            self.start()?;
        } else {
            self.pending.push_back(b);
        }
        while let Some(b) = self.pending.pop_front() {
            self.dispatch(b, out)?;
        }
        Ok(())
    }

    fn dispatch(&mut self, mut b: Batch, out: &mut SessionOut<'_, '_>) -> Result<(), ReplayError> {
        let n = self.n;
        let r = self.run.as_mut().expect("started");
        b.split(&r.cuts, n);
        let b = Arc::new(b);
        for t in &r.to_w {
            t.send(Msg::Batch(b.clone()))
                .map_err(|_| ReplayError::Worker("a worker stopped".into()))?;
        }
        let mut o = r.my_outs.pop().unwrap_or_default();
        r.mine.batch(&b, &mut o)?;
        r.inflight.push_back((b, o));
        while r.inflight.len() >= DEPTH {
            r.collect_one(out)?;
        }
        Ok(())
    }

    /// Stop the workers (their channels close) and gather what each ends
    /// with, the reader's shard first, and the answers the budget suppressed.
    fn join(self) -> (Vec<Result<WorkerEnd, ReplayError>>, Option<Budget>) {
        let Some(r) = self.run else {
            return (Vec::new(), None);
        };
        let Running {
            to_w,
            from_w,
            handles,
            mine,
            budget,
            ..
        } = r;
        drop(from_w);
        let flashes: Vec<usize> = (self.next_update..self.opts.updates.len()).collect();
        let last_ns = self.last_ns;
        for t in &to_w {
            let _ = t.send(Msg::End {
                flashes: flashes.clone(),
                last_ns,
            });
        }
        drop(to_w);
        let mut ends = vec![mine.end(&flashes, last_ns)];
        for h in handles {
            ends.push(
                h.join()
                    .unwrap_or_else(|_| Err(ReplayError::Worker("a worker panicked".into()))),
            );
        }
        (ends, Some(budget))
    }
}

impl Running<'_, '_> {
    /// Merge the oldest batch in flight and recycle its buffers.
    fn collect_one(&mut self, out: &mut SessionOut<'_, '_>) -> Result<(), ReplayError> {
        let (b, mine) = self.inflight.pop_front().expect("a batch in flight");
        let keep = self.mine.opts.keep_output;
        let mine = collect(&self.from_w, &self.back, &b, mine, &mut self.budget, keep, out)?;
        self.my_outs.push(mine);
        // Workers dropped theirs before answering: reuse the buffers.
        if let Ok(b) = Arc::try_unwrap(b) {
            self.spare = Some(b);
        }
        Ok(())
    }
}

impl Driven for ShardSet<'_, '_> {
    fn flash(&mut self, _image: &Image) -> Result<(), DeviceError> {
        // Every shard commits update `next_update` before the next frame.
        self.cur.flashes.push((self.cur.frames.len(), self.next_update));
        self.next_update += 1;
        Ok(())
    }

    fn feed(&mut self, f: Frame<'_>, out: &mut SessionOut<'_, '_>) -> Result<(), ReplayError> {
        let b = &mut self.cur;
        let start = b.data.len();
        b.data.extend_from_slice(f.data);
        let k = route(&b.data[start..], &self.keys[f.epoch], self.buckets);
        b.bucket.push(k.map_or(u32::MAX, |c| c.a));
        b.second.push(k.map_or(u32::MAX, |c| c.b));
        b.frames.push((f.ts, start as u32, b.data.len() as u32));
        self.seq += 1;
        if b.frames.len() >= BATCH {
            self.submit(out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut SessionOut<'_, '_>) -> Result<(), ReplayError> {
        self.last_ns = out.acc.offered.last;
        // Updates past the end were recorded into `cur` by `flash`: they
        // are committed by `join` (after every frame), not as a batch.
        self.next_update -= self
            .cur
            .flashes
            .iter()
            .filter(|f| f.0 == self.cur.frames.len())
            .count();
        self.cur.flashes.retain(|f| f.0 < self.cur.frames.len());
        self.submit(out)?;
        if self.run.is_none() && !self.pending.is_empty() {
            self.start()?;
            while let Some(b) = self.pending.pop_front() {
                self.dispatch(b, out)?;
            }
        }
        if self.run.is_none() {
            // No frame at all: the reader's shard still ages and commits.
            self.start()?;
        }
        let r = self.run.as_mut().expect("started");
        while !r.inflight.is_empty() {
            r.collect_one(out)?;
        }
        Ok(())
    }
}

/// Merge the shards' counters and analyses into `acc`, or return the first
/// error that says the most.
fn merge(
    ends: Vec<Result<WorkerEnd, ReplayError>>,
    mut failed: Option<ReplayError>,
    acc: &mut Acc,
) -> Result<Counters, ReplayError> {
    let mut counters = Counters::default();
    let mut analyzers = Vec::new();
    for end in ends {
        match end {
            Ok(end) => {
                counters.merge_shard(&end.counters);
                analyzers.push(end.analyzer);
            }
            Err(e) => {
                // The worker's own error says more than "it stopped".
                if matches!(failed, None | Some(ReplayError::Worker(_))) {
                    failed = Some(e);
                }
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    for a in analyzers {
        acc.analyzer.merge(a);
    }
    Ok(counters)
}

/// Merge one batch's outputs back into input order and hand them on; ICMP
/// too-big answers leave if the device's budget allows.
fn collect(
    from_w: &[Receiver<Result<Out, ReplayError>>],
    back: &[SyncSender<Out>],
    b: &Batch,
    mine: Out,
    budget: &mut Budget,
    keep_output: bool,
    out: &mut SessionOut<'_, '_>,
) -> Result<Out, ReplayError> {
    let mut outs: Vec<Out> = vec![mine];
    for r in from_w {
        outs.push(
            r.recv()
                .map_err(|_| ReplayError::Worker("a worker stopped".into()))??,
        );
    }
    let mut at = vec![0usize; outs.len()];
    let mut flashes = b.flashes.iter().peekable();
    let mut seen = 0;
    loop {
        let next = (0..outs.len())
            .filter(|&w| at[w] < outs[w].idx.len())
            .min_by_key(|&w| outs[w].idx[at[w]].0);
        let Some(w) = next else { break };
        let (pos, a, z) = outs[w].idx[at[w]];
        let answer = outs[w].answer[at[w]];
        at[w] += 1;
        while let Some(&&(_, u)) = flashes.peek().filter(|f| f.0 <= pos as usize) {
            budget.epoch = u + 1;
            flashes.next();
        }
        let (ts, fa, fz) = b.frames[pos as usize];
        // Device time is the running maximum of every frame's time.
        for f in &b.frames[seen..=pos as usize] {
            budget.now_ns = budget.now_ns.max(f.0);
        }
        seen = pos as usize + 1;
        if answer {
            let o = &outs[w].data[a as usize..z as usize];
            if !budget.take() {
                budget.suppressed += 1;
                budget.suppressed_bytes += o.len() as u64;
                continue;
            }
            let key = InKey::of(&b.data[fa as usize..fz as usize]);
            out.acc
                .analyzer
                .observe(budget.epoch, &key, o, Some(Sent::TooBig), ts);
        }
        if !keep_output && !answer {
            // Without output frames only the length travelled.
            out.count(ts, (z - a) as usize);
            continue;
        }
        out.emit(&Emitted {
            seq: b.first_seq + pos as u64,
            ts,
            cycles: None,
            data: &outs[w].data[a as usize..z as usize],
        })?;
    }
    // Updates and frames after the batch's last output.
    for &(_, u) in flashes {
        budget.epoch = u + 1;
    }
    for f in &b.frames[seen..] {
        budget.now_ns = budget.now_ns.max(f.0);
    }
    // Hand the buffers back for reuse (a full queue just drops them).
    let mut outs = outs.into_iter();
    let mine = outs.next().expect("the reader's own");
    for (o, t) in outs.zip(back) {
        let _ = t.try_send(o);
    }
    Ok(mine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{GenSpec, Generator};
    use std::path::Path;
    use table_compiler::config::Config;

    #[test]
    fn cuts_balance_packets_and_cover_every_bucket() {
        // A hot bucket (half the packets) and a uniform rest.
        let mut sample: Vec<u32> = (0..1000u32).map(|i| i * 1000).collect();
        sample.extend(std::iter::repeat_n(500_000, 1000));
        let c = Cuts::balanced(1 << 20, 2, &sample);
        // The reader's shard takes up to (1 - READER_COST) / 2 of the
        // packets (700 of 2000); the hot bucket's half cannot be split, so
        // the cut falls just before it.
        let mine = sample.iter().filter(|&&b| c.shard(b) == 0).count();
        assert_eq!(mine, 500, "{c:?}");
        let uniform: Vec<u32> = (0..2000u32).map(|i| i * 500).collect();
        let u = Cuts::balanced(1 << 20, 2, &uniform);
        let mine = uniform.iter().filter(|&&b| u.shard(b) == 0).count();
        let want = (1.0 - READER_COST) / 2.0 * uniform.len() as f64;
        assert!((mine as f64 - want).abs() < 20.0, "{mine} {u:?}");
        let (r0, r1) = (c.range(0), c.range(1));
        assert_eq!((r0.start, r0.end, r1.end), (0, r1.start, 1 << 20));
        for b in [0, 1, 499_999, 500_000, (1 << 20) - 1] {
            let s = c.shard(b);
            assert!(c.range(s).contains(&b), "{b} -> {s}");
        }
        // Without a sample: still a partition.
        let c = Cuts::balanced(1024, 3, &[]);
        assert_eq!(c.range(0).start, 0);
        assert_eq!(c.range(2).end, 1024);
        assert_eq!(Cuts::balanced(1024, 1, &[1, 2, 3]).range(0), 0..1024);
        // Cuts are on page boundaries.
        let page = lbnic_contract::lookup::CT_PAGE_BUCKETS;
        let c = Cuts::balanced(1 << 20, 4, &sample);
        for s in 0..4 {
            assert_eq!(c.range(s).start % page, 0, "{c:?}");
        }
    }

    /// The route is the pipeline's own bucket for every packet that has
    /// conntrack state (VIP flows, NAT replies, ICMP errors).
    #[test]
    fn route_is_the_pipelines_bucket() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
        let cfg = Config::load(&dir.join("basic.toml")).unwrap();
        let (img, _) = table_compiler::compile::compile(&cfg, None, None).unwrap();
        let bank = Bank::decode(&img).unwrap();
        let tz = Toeplitz::new(&bank.global.toeplitz_key);
        let ab = Arc::new(ActiveBank::new(bank, 1, 0));
        let spec = GenSpec {
            packets: 4000,
            flows: 300,
            syn_flood: 0.1,
            non_vip: 0.1,
            malformed: 0.05,
            nat_replies: 0.3,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg, spec).unwrap();
        let mut frames: Vec<Vec<u8>> = (0..4000).map(|_| g.next_frame().1).collect();
        // An ICMP port-unreachable about a packet the VIP sent to a client.
        let inner =
            etherparse::PacketBuilder::ipv4([192, 0, 2, 10], [198, 18, 0, 9], 64).tcp(80, 50000, 1, 100);
        let mut ip = Vec::new();
        inner.write(&mut ip, &[]).unwrap();
        let icmp = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 9, 9, 9], [192, 0, 2, 10], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ));
        let mut f = Vec::new();
        icmp.write(&mut f, &ip).unwrap();
        frames.push(f);
        // A backend's port-unreachable about a packet the NAT VIP forwarded
        // to it: it reads the NAT return entry's bucket.
        let inner =
            etherparse::PacketBuilder::ipv4([198, 18, 0, 9], [10, 0, 2, 1], 64).tcp(50000, 9000, 1, 100);
        let mut ip = Vec::new();
        inner.write(&mut ip, &[]).unwrap();
        let icmp = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 2, 1], [198, 18, 0, 9], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ));
        let mut f = Vec::new();
        icmp.write(&mut f, &ip).unwrap();
        let m = hw_model::pipeline::classify(
            Some(&ab),
            true,
            &f,
            0,
            img.target.ct_buckets,
            &mut Counters::default(),
        );
        assert!(
            matches!(m.class, hw_model::pipeline::Class::Reverse { .. }),
            "{:?}",
            m.class
        );
        frames.push(f);
        // VLAN-tagged, to a VIP, IPv4 and IPv6.
        for v6 in [false, true] {
            let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
                .single_vlan(etherparse::VlanId::try_new(7).unwrap());
            let b = if v6 {
                let mut d = [0u8; 16];
                d[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                d[15] = 0x10;
                b.ipv6([9; 16], d, 64).tcp(50001, 443, 1, 100)
            } else {
                b.ipv4([198, 18, 0, 7], [192, 0, 2, 10], 64)
                    .tcp(50001, 80, 1, 100)
            };
            let mut f = Vec::new();
            b.write(&mut f, &[0u8; 30]).unwrap();
            frames.push(f);
        }
        let buckets = img.target.ct_buckets;
        let mut checked = 0;
        for f in &frames {
            let mut c = Counters::default();
            let m = hw_model::pipeline::classify(Some(&ab), true, f, 0, buckets, &mut c);
            if let Some(want) = m.class.bucket().map(|c| c.a) {
                let p = parse(f).unwrap();
                assert_eq!(bucket(&p, &tz, buckets), Some(want));
                assert_eq!(route(f, &tz, buckets).map(|c| c.a), Some(want));
                checked += 1;
            }
        }
        assert!(checked > 3000, "{checked}");
    }
}
