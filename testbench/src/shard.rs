//! Functional replay sharded across threads, with the same output (bytes
//! and order) and counters as one thread.
//!
//! Why it is exact: every piece of state a packet touches is its conntrack
//! bucket (`flow_hash & (ct_buckets-1)`), so shard `= bucket % threads`
//! gives each worker every packet of its buckets, in input order; a worker
//! runs its own device, whose conntrack holds just its buckets. Packets of
//! one flow (and ICMP errors about it, routed by their inner flow reversed,
//! as the pipeline does) share a bucket. Device time is the running maximum
//! of ingress times, identical in every shard, and every worker commits
//! each update at the same packet boundary.
//!
//! Two things cross buckets, so such banks replay on one thread:
//! - RR/WRR VIPs step a per-VIP pointer on every new flow, so which backend
//!   a flow gets depends on new flows in other shards;
//! - a new NAT flow also writes its return entry, in the bucket of the
//!   reply's tuple, which another shard may own.
//!
//! The reader (main thread) parses and routes each packet (parse +
//! Toeplitz: cheap) and hands batches of 1024 to every worker; each runs
//! its own packets. The reader runs shard 0 itself, a smaller share since it
//! also reads: the bucket ranges are cut where the first 64k packets balance
//! (a popular flow weighs what it carries), and the reader merges the
//! outputs back into input order.

use crate::attribution::{Analyzer, InKey};
use crate::session::{due, new_acc, Acc, Input, Options, ReplayError, Sink};
use hw_model::device::{in_memory, ActiveBank, Counters, Memory};
use hw_model::functional::Functional;
use hw_model::model::Model;
use hw_model::packet::{parse, Parsed};
use lbnic_contract::image::{Bank, Image};
use lbnic_contract::lookup::{ct_bucket, flow_hash};
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

/// The conntrack bucket a packet's state lives in, as the pipeline computes
/// it (`None`: the packet has no conntrack state).
pub(crate) fn bucket(p: &Parsed, tz: &Toeplitz, buckets: u32) -> Option<u32> {
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

/// Reading, routing and merging cost the reader thread about half as much
/// per packet as running one (measured with `perf`, see
/// docs/performance.md): it takes that much less of the packets.
const READER_COST: f64 = 0.5;

impl Cuts {
    /// Balance by packets: `sample` holds the buckets of the first packets
    /// (`u32::MAX`: no conntrack state; those go to shard 0). Shard 0 is
    /// run by the reader thread, so it gets a smaller share.
    pub fn balanced(buckets: u32, n: usize, sample: &[u32]) -> Cuts {
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
                if sorted.is_empty() {
                    // No sample: equal ranges after shard 0's.
                    (buckets as f64 * q) as u32
                } else {
                    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
                }
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
pub(crate) fn route(f: &[u8], tz: &Toeplitz, buckets: u32) -> Option<u32> {
    let full = || parse(f).ok().and_then(|p| bucket(&p, tz, buckets));
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
            if u16::from_be_bytes([h[6], h[7]]) & 0x1fff != 0 {
                return None; // later fragment: no conntrack
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
    /// Per shard, the positions of its frames.
    lists: Vec<Vec<u32>>,
    /// (position, update index): commit that update before `frames[pos]`.
    flashes: Vec<(usize, usize)>,
}

#[derive(Default)]
struct Out {
    /// (position in batch, range in `data`)
    idx: Vec<(u32, u32, u32)>,
    data: Vec<u8>,
}

impl Batch {
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
}

impl<'a> Shard<'a> {
    fn new(me: usize, cuts: &Cuts, image: &Image, opts: &'a Options) -> Result<Shard<'a>, ReplayError> {
        let mut m = Functional::new(in_memory(image.target.clone())?);
        m.dev.flash(image)?;
        m.dev.prefault(cuts.range(me));
        Ok(Shard {
            me,
            m,
            analyzer: new_acc(image, opts)?.analyzer,
            epoch: 0,
            opts,
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
        out.data.clear();
        let mut fl = b.flashes.iter().peekable();
        for &pos in &b.lists[self.me] {
            let pos = pos as usize;
            while let Some(&&(_, u)) = fl.peek().filter(|f| f.0 <= pos) {
                self.flash(u)?;
                fl.next();
            }
            let (ts, a, z) = b.frames[pos];
            let frame = &b.data[a as usize..z as usize];
            let key = InKey::of(frame);
            if let Some(o) = self.m.process(frame, ts) {
                self.analyzer.observe(self.epoch, &key, o, ts);
                if self.opts.keep_output {
                    let start = out.data.len() as u32;
                    out.data.extend_from_slice(o);
                    out.idx.push((pos as u32, start, out.data.len() as u32));
                } else {
                    // Only the length travels (for the statistics).
                    out.idx.push((pos as u32, 0, o.len() as u32));
                }
            }
        }
        // Updates after this shard's last frame of the batch.
        for &(_, u) in fl {
            self.flash(u)?;
        }
        Ok(())
    }

    /// Commit the updates left, age at the last ingress time, finish.
    fn end(mut self, flashes: &[usize], last_ns: u64) -> Result<WorkerEnd, ReplayError> {
        for &u in flashes {
            self.flash(u)?;
        }
        self.m.dev.set_time_ns(last_ns);
        self.m.finish();
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
    let mut rd = Reader {
        input: &mut input,
        keys: &keys,
        buckets: image.target.ct_buckets,
        opts,
        next_update: 0,
        seq: 0,
    };
    // Read a prefix first and cut the bucket space where it balances.
    let (mut pending, mut done, mut failed) = rd.prefix(acc);
    let sample: Vec<u32> = pending.iter().flat_map(|b| b.bucket.iter().copied()).collect();
    let cuts = Cuts::balanced(rd.buckets, n, &sample);
    drop(sample);
    let cuts = &cuts;
    std::thread::scope(|s| -> Result<Counters, ReplayError> {
        let mut to_w = Vec::new();
        let mut from_w = Vec::new();
        let mut handles = Vec::new();
        let mut back = Vec::new();
        let mut my_outs: Vec<Out> = Vec::new();
        for me in 1..n {
            let (tx, rx) = sync_channel::<Msg>(DEPTH);
            let (otx, orx) = sync_channel::<Result<Out, ReplayError>>(DEPTH);
            let (btx, brx) = sync_channel::<Out>(DEPTH + 1);
            let ch = Chans {
                rx,
                tx: otx,
                recycle: brx,
            };
            // Each worker sets its own device up, in parallel.
            handles.push(s.spawn(move || worker(Shard::new(me, cuts, image, opts)?, ch)));
            to_w.push(tx);
            from_w.push(orx);
            back.push(btx);
        }
        // The reader runs shard 0 itself (a smaller range: it also reads).
        let mut mine = Shard::new(0, cuts, image, opts)?;
        let mut inflight: VecDeque<(Arc<Batch>, Out)> = Default::default();
        let mut spare: Option<Batch> = None;
        loop {
            let mut b = match pending.pop_front() {
                Some(b) => b,
                None if done => Batch::default(),
                None => {
                    let mut b = spare.take().unwrap_or_default();
                    match rd.fill(&mut b, acc) {
                        Ok(d) => done = d,
                        Err(e) => {
                            failed.get_or_insert(e);
                            done = true;
                        }
                    }
                    b
                }
            };
            let done = done && pending.is_empty();
            b.split(cuts, n);
            if !b.frames.is_empty() {
                let b = Arc::new(b);
                for t in &to_w {
                    if t.send(Msg::Batch(b.clone())).is_err() {
                        failed.get_or_insert(ReplayError::Worker("a worker stopped".into()));
                    }
                }
                let mut out = my_outs.pop().unwrap_or_default();
                if let Err(e) = mine.batch(&b, &mut out) {
                    failed.get_or_insert(e);
                }
                inflight.push_back((b, out));
            }
            let base = rd.input.clock.base.unwrap_or(0);
            while inflight.len() >= DEPTH || (done && !inflight.is_empty()) {
                let (b, out) = inflight.pop_front().expect("non-empty");
                match collect(&from_w, &back, &b, out, acc, base, sink) {
                    Ok(out) => my_outs.push(out),
                    Err(e) => {
                        failed.get_or_insert(e);
                        break;
                    }
                }
                // Workers dropped theirs before answering: reuse the buffers.
                if let Ok(b) = Arc::try_unwrap(b) {
                    spare = Some(b);
                }
            }
            progress(rd.input.read, rd.input.approx_bytes);
            if done || failed.is_some() {
                break;
            }
        }
        if failed.is_some() {
            // Unblock workers waiting to hand over outputs.
            drop(from_w);
        }
        let (next_update, last_ns) = (rd.next_update, acc.offered.last);
        for t in &to_w {
            let _ = t.send(Msg::End {
                flashes: (next_update..opts.updates.len()).collect(),
                last_ns,
            });
        }
        drop(to_w);
        let flashes: Vec<usize> = (next_update..opts.updates.len()).collect();
        let mut ends = vec![mine.end(&flashes, last_ns)];
        for h in handles {
            ends.push(
                h.join()
                    .unwrap_or_else(|_| Err(ReplayError::Worker("a worker panicked".into()))),
            );
        }
        merge(ends, failed, acc)
    })
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

/// Merge one batch's outputs back into input order and hand them on.
fn collect(
    from_w: &[Receiver<Result<Out, ReplayError>>],
    back: &[SyncSender<Out>],
    b: &Batch,
    mine: Out,
    acc: &mut Acc,
    base: u64,
    sink: &mut Sink<'_>,
) -> Result<Out, ReplayError> {
    let mut outs: Vec<Out> = vec![mine];
    for r in from_w {
        outs.push(
            r.recv()
                .map_err(|_| ReplayError::Worker("a worker stopped".into()))??,
        );
    }
    let mut at = vec![0usize; outs.len()];
    loop {
        let next = (0..outs.len())
            .filter(|&w| at[w] < outs[w].idx.len())
            .min_by_key(|&w| outs[w].idx[at[w]].0);
        let Some(w) = next else { break };
        let (pos, a, z) = outs[w].idx[at[w]];
        at[w] += 1;
        let ts = b.frames[pos as usize].0;
        if outs[w].data.is_empty() {
            acc.achieved.add(base, ts, (z - a) as usize);
            continue;
        }
        let data = &outs[w].data[a as usize..z as usize];
        acc.achieved.add(base, ts, data.len());
        sink(b.first_seq + pos as u64, ts, data)?;
    }
    // Hand the buffers back for reuse (a full queue just drops them).
    let mut outs = outs.into_iter();
    let mine = outs.next().expect("the reader's own");
    for (o, t) in outs.zip(back) {
        let _ = t.try_send(o);
    }
    Ok(mine)
}

/// The reader: fills batches and routes each frame to its bucket.
struct Reader<'a, 'b> {
    input: &'b mut Input,
    keys: &'a [Toeplitz],
    buckets: u32,
    opts: &'a Options,
    next_update: usize,
    seq: u64,
}

impl Reader<'_, '_> {
    /// Read the first `PREFIX_BATCHES` batches (to cut the bucket space
    /// on): (batches, end of trace, the read error that ended it).
    fn prefix(&mut self, acc: &mut Acc) -> (VecDeque<Batch>, bool, Option<ReplayError>) {
        let mut pending = VecDeque::new();
        let mut done = false;
        let mut failed = None;
        while pending.len() < PREFIX_BATCHES && !done {
            let mut b = Batch::default();
            match self.fill(&mut b, acc) {
                Ok(d) => done = d,
                Err(e) => {
                    failed = Some(e);
                    done = true;
                }
            }
            if !b.frames.is_empty() {
                pending.push_back(b);
            }
        }
        (pending, done, failed)
    }

    /// Fill `b` (cleared first); `true` at the end of the trace.
    fn fill(&mut self, b: &mut Batch, acc: &mut Acc) -> Result<bool, ReplayError> {
        b.data.clear();
        b.frames.clear();
        b.bucket.clear();
        b.flashes.clear();
        b.first_seq = self.seq;
        while b.frames.len() < BATCH {
            let start = b.data.len();
            let Some((idx, ts, _)) = self.input.next_into(acc, &mut b.data)? else {
                return Ok(true);
            };
            let first = self.next_update;
            let n_due = due(&self.opts.updates, &mut self.next_update, idx).len();
            b.flashes
                .extend((first..first + n_due).map(|u| (b.frames.len(), u)));
            let k = route(&b.data[start..], &self.keys[self.next_update], self.buckets);
            b.bucket.push(k.unwrap_or(u32::MAX));
            b.frames.push((ts, start as u32, b.data.len() as u32));
            self.seq += 1;
        }
        Ok(false)
    }
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
        // The reader's shard takes about a quarter of the packets.
        let mine = sample.iter().filter(|&&b| c.shard(b) == 0).count();
        assert!((400..=600).contains(&mine), "{mine} {c:?}");
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
            if let Some(want) = m.class.bucket() {
                let p = parse(f).unwrap();
                assert_eq!(bucket(&p, &tz, buckets), Some(want));
                assert_eq!(route(f, &tz, buckets), Some(want));
                checked += 1;
            }
        }
        assert!(checked > 3000, "{checked}");
    }
}
