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
//! Toeplitz: cheap) and hands batches to every worker; each runs its own
//! packets; the main thread merges the outputs back into input order.

use crate::analysis::InKey;
use crate::replay::{Acc, Input, Options, ReplayError, Sink};
use hw_model::device::{in_memory, Counters};
use hw_model::functional::Functional;
use hw_model::model::Model;
use hw_model::packet::{parse, Frag, Parsed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use table_compiler::image::{Bank, Image};
use table_compiler::target::entries::{addr_to_bytes, Mode, Scheduler};
use table_compiler::target::regs::Counter;
use table_compiler::toeplitz::Toeplitz;

const BATCH: usize = 2048;
const _: () = assert!(MAX_THREADS <= 256, "shard ids are u8");
/// Most worker threads.
pub const MAX_THREADS: usize = 64;
/// Batches in flight per worker.
const DEPTH: usize = 4;

/// Why a bank cannot be sharded, if it cannot.
fn unshardable(img: &Image) -> Option<String> {
    let bank = match Bank::decode(img) {
        Ok(b) => b,
        Err(e) => return Some(format!("image does not decode: {e}")),
    };
    for v in bank.vips.iter().flatten() {
        if matches!(v.repr.sched, Scheduler::Rr | Scheduler::Wrr) {
            return Some(format!(
                "VIP {} uses {}: its round-robin pointer orders new flows across all shards",
                v.name,
                if v.repr.sched == Scheduler::Rr {
                    "rr"
                } else {
                    "wrr"
                }
            ));
        }
        if v.repr.mode == Mode::Nat {
            return Some(format!(
                "VIP {} is NAT: a new flow's return entry lives in another flow's bucket",
                v.name
            ));
        }
    }
    None
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
    let h = if let Some(i) = &p.icmp_error {
        let key = hw_model::ct::CtKey::new(
            i.proto,
            &addr_to_bytes(i.dst),
            i.dport,
            &addr_to_bytes(i.src),
            i.sport,
            p.ipv6,
        );
        hw_model::pipeline::hash_key(tz, &key)
    } else if p.frag == Frag::Later {
        return None;
    } else {
        tz.hash_ports(p.src, p.dst, p.sport, p.dport)
    };
    Some(table_compiler::target::ct_bucket(h, buckets))
}

/// A contiguous range of buckets per shard: each worker's conntrack
/// memory is its own part of the region (fewer pages touched).
pub(crate) fn shard_of(bucket: u32, buckets: u32, n: usize) -> usize {
    (bucket as u64 * n as u64 / buckets.max(1) as u64) as usize
}

#[derive(Default)]
struct Batch {
    first_seq: u64,
    /// Frames back to back.
    data: Vec<u8>,
    /// (device time ns, start, end in `data`)
    frames: Vec<(u64, u32, u32)>,
    /// Per frame: its headers and its shard (routed once, by the reader).
    parsed: Vec<Option<Parsed>>,
    shard: Vec<u8>,
    /// (position, update index): commit that update before `frames[pos]`.
    flashes: Vec<(usize, usize)>,
}

struct Out {
    /// (position in batch, range in `data`)
    idx: Vec<(u32, u32, u32)>,
    data: Vec<u8>,
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
    analyzer: crate::analysis::Analyzer,
}

fn worker(
    me: usize,
    n: usize,
    image: &Image,
    opts: &Options,
    mut analyzer: crate::analysis::Analyzer,
    ch: Chans,
) -> Result<WorkerEnd, ReplayError> {
    let Chans { rx, tx, recycle } = ch;
    let mut m = Functional::new(in_memory(image.target.clone())?);
    m.dev.flash(image)?;
    let buckets = m.dev.ct.buckets;
    let lo = (0..buckets).find(|&b| shard_of(b, buckets, n) == me).unwrap_or(0);
    let hi = (lo..buckets)
        .find(|&b| shard_of(b, buckets, n) != me)
        .unwrap_or(buckets);
    crate::replay::prefault(&mut m.dev, lo..hi);
    let mut epoch = 0;
    let flash = |m: &mut Functional<Vec<u8>>, u: usize| -> Result<(), ReplayError> {
        let up = &opts.updates[u];
        m.dev.flash(&up.image).map_err(|source| ReplayError::Update {
            at: up.at_packet,
            image: up.path.display().to_string(),
            source,
        })
    };
    for msg in rx {
        match msg {
            Msg::Batch(b) => {
                let mut out = recycle.try_recv().unwrap_or_else(|_| Out {
                    idx: Vec::with_capacity(b.frames.len() / n + 16),
                    data: Vec::with_capacity(b.frames.len() / n * 128),
                });
                out.idx.clear();
                out.data.clear();
                let mut fl = b.flashes.iter().peekable();
                for (pos, &(ts, a, z)) in b.frames.iter().enumerate() {
                    let ts = &ts;
                    let frame = &b.data[a as usize..z as usize];
                    while let Some(&&(_, u)) = fl.peek().filter(|f| f.0 == pos) {
                        flash(&mut m, u)?;
                        epoch = u + 1;
                        fl.next();
                    }
                    if b.shard[pos] as usize != me {
                        continue;
                    }
                    let key = InKey::with_parsed(frame, b.parsed[pos]);
                    if let Some(o) = m.process(frame, *ts) {
                        analyzer.observe(epoch, &key, o, *ts);
                        let start = out.data.len() as u32;
                        out.data.extend_from_slice(o);
                        out.idx.push((pos as u32, start, out.data.len() as u32));
                    }
                }
                // The reader frees the batch: frees stay in its thread.
                drop(b);
                if tx.send(Ok(out)).is_err() {
                    break;
                }
            }
            Msg::End { flashes, last_ns } => {
                for u in flashes {
                    flash(&mut m, u)?;
                }
                m.dev.set_time_ns(last_ns);
                m.finish();
                break;
            }
        }
    }
    Ok(WorkerEnd {
        counters: m.dev.counters.clone(),
        analyzer,
    })
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
    let mut input = Input::open(trace, opts.timing, image.target.clock_mhz, opts.skip_truncated)?;
    std::thread::scope(|s| -> Result<Counters, ReplayError> {
        let mut to_w = Vec::new();
        let mut from_w = Vec::new();
        let mut handles = Vec::new();
        let mut back = Vec::new();
        for me in 0..n {
            let (tx, rx) = sync_channel::<Msg>(DEPTH);
            let (otx, orx) = sync_channel::<Result<Out, ReplayError>>(DEPTH);
            let (btx, brx) = sync_channel::<Out>(DEPTH + 1);
            let an = crate::replay::new_acc(image, opts)?.analyzer;
            let ch = Chans {
                rx,
                tx: otx,
                recycle: brx,
            };
            handles.push(s.spawn(move || worker(me, n, image, opts, an, ch)));
            to_w.push(tx);
            from_w.push(orx);
            back.push(btx);
        }
        // Flow-hash keys per epoch, for routing.
        let keys: Vec<Toeplitz> = std::iter::once(image)
            .chain(opts.updates.iter().map(|u| &u.image))
            .map(|img| Bank::decode(img).map(|b| Toeplitz::new(&b.global.toeplitz_key)))
            .collect::<Result<_, _>>()?;
        let buckets = image.target.ct_buckets;
        let mut inflight: std::collections::VecDeque<Arc<Batch>> = Default::default();
        let mut next_update = 0;
        let mut seq = 0u64;
        let mut failed: Option<ReplayError> = None;
        let mut spare: Option<Batch> = None;
        loop {
            let mut b = spare.take().unwrap_or_default();
            b.data.clear();
            b.frames.clear();
            b.parsed.clear();
            b.shard.clear();
            b.flashes.clear();
            b.first_seq = seq;
            let mut done = false;
            while b.frames.len() < BATCH {
                let start = b.data.len();
                match input.next_into(acc, &mut b.data) {
                    Ok(Some((idx, ts, _))) => {
                        let first = next_update;
                        let n_due = crate::replay::due(&opts.updates, &mut next_update, idx).len();
                        b.flashes
                            .extend((first..first + n_due).map(|u| (b.frames.len(), u)));
                        let frame = &b.data[start..];
                        let p = parse(frame).ok();
                        let bk = p.as_ref().and_then(|p| bucket(p, &keys[next_update], buckets));
                        b.shard.push(shard_of(bk.unwrap_or(0), buckets, n) as u8);
                        b.parsed.push(p);
                        b.frames.push((ts, start as u32, b.data.len() as u32));
                        seq += 1;
                    }
                    Ok(None) => {
                        done = true;
                        break;
                    }
                    Err(e) => {
                        failed = Some(e);
                        done = true;
                        break;
                    }
                }
            }
            if !b.frames.is_empty() {
                let b = Arc::new(b);
                for t in &to_w {
                    if t.send(Msg::Batch(b.clone())).is_err() {
                        failed.get_or_insert(ReplayError::Worker("a worker stopped".into()));
                    }
                }
                inflight.push_back(b);
            }
            let base = input.clock.base.unwrap_or(0);
            while inflight.len() >= DEPTH || (done && !inflight.is_empty()) {
                let b = inflight.pop_front().expect("non-empty");
                if let Err(e) = collect(&from_w, &back, &b, acc, base, sink) {
                    failed.get_or_insert(e);
                    break;
                }
                // Workers dropped theirs before answering: reuse the buffers.
                if let Ok(b) = Arc::try_unwrap(b) {
                    spare = Some(b);
                }
            }
            progress(input.read, input.approx_bytes);
            if done || failed.is_some() {
                break;
            }
        }
        if failed.is_some() {
            // Unblock workers waiting to hand over outputs.
            drop(from_w);
        }
        let last_ns = acc.offered.last;
        for t in &to_w {
            let _ = t.send(Msg::End {
                flashes: (next_update..opts.updates.len()).collect(),
                last_ns,
            });
        }
        drop(to_w);
        let mut counters = Counters::default();
        let mut analyzers = Vec::new();
        for h in handles {
            match h.join() {
                Ok(Ok(end)) => {
                    for (i, (a, b)) in counters.c.iter_mut().zip(end.counters.c).enumerate() {
                        // Every worker commits every update: count them once.
                        if i == Counter::Commits as usize || i == Counter::CommitErrors as usize {
                            *a = b;
                        } else {
                            *a += b;
                        }
                    }
                    for (a, b) in counters.parse.iter_mut().zip(end.counters.parse) {
                        *a += b;
                    }
                    analyzers.push(end.analyzer);
                }
                Ok(Err(e)) => {
                    // The worker's own error says more than "it stopped".
                    if matches!(failed, None | Some(ReplayError::Worker(_))) {
                        failed = Some(e);
                    }
                }
                Err(_) => {
                    failed.get_or_insert(ReplayError::Worker("a worker panicked".into()));
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
    })
}

/// Merge one batch's outputs back into input order and hand them on.
fn collect(
    from_w: &[Receiver<Result<Out, ReplayError>>],
    back: &[SyncSender<Out>],
    b: &Batch,
    acc: &mut Acc,
    base: u64,
    sink: &mut Sink<'_>,
) -> Result<(), ReplayError> {
    let outs: Vec<Out> = from_w
        .iter()
        .map(|r| {
            r.recv()
                .map_err(|_| ReplayError::Worker("a worker stopped".into()))?
        })
        .collect::<Result<_, _>>()?;
    let mut at = vec![0usize; outs.len()];
    loop {
        let next = (0..outs.len())
            .filter(|&w| at[w] < outs[w].idx.len())
            .min_by_key(|&w| outs[w].idx[at[w]].0);
        let Some(w) = next else { break };
        let (pos, a, z) = outs[w].idx[at[w]];
        at[w] += 1;
        let ts = b.frames[pos as usize].0;
        let data = &outs[w].data[a as usize..z as usize];
        acc.achieved.add(base, ts, data.len());
        sink(b.first_seq + pos as u64, ts, data)?;
    }
    // Hand the buffers back for reuse (a full queue just drops them).
    for (o, t) in outs.into_iter().zip(back) {
        let _ = t.try_send(o);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{GenSpec, Generator};
    use hw_model::device::ActiveBank;
    use std::path::Path;
    use table_compiler::config::Config;

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
        let buckets = img.target.ct_buckets;
        let mut checked = 0;
        for f in &frames {
            let mut c = Counters::default();
            let m = hw_model::pipeline::classify(Some(&ab), true, f, 0, buckets, &mut c);
            if let Some(want) = m.class.bucket() {
                let p = parse(f).unwrap();
                assert_eq!(bucket(&p, &tz, buckets), Some(want));
                checked += 1;
            }
        }
        assert!(checked > 3000, "{checked}");
    }
}
