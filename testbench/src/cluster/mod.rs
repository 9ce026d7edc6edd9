//! Cluster replay: a capture through N load-balancer nodes behind an ECMP
//! router ([`crate::ecmp`]), each node its own device (own bank, own
//! conntrack; functional or cycle model), with node churn, flashes and
//! rolling updates mid-trace ([`crate::events`]).
//!
//! The router also stands in for what makes NAT work in a cluster: it
//! learns, from each NAT-forwarded frame a node emits, (output 5-tuple ->
//! node), and sends a packet whose reversed 5-tuple it knows to that node
//! (a bounded map, the flow cap). NAT state is per node: a reply whose
//! node is down or restarted lands on a node without the return entry and
//! is dropped; such connections are counted as broken by node churn (this
//! is why Maglev-style clusters forward with DR or tunnels).
//!
//! Memory is bounded as in a single replay: inputs streamed, flows
//! tracked up to the cap. Every connection that changed backend is
//! attributed to a cause (see [`crate::attribution::Causes`]).

use crate::attribution::{Attr, IdHasher, InKey, Place};
use crate::ecmp::{self, EcmpKind, Router};
use crate::events::{self, Action, Events};
use crate::replay::{backend_reports, drop_counters, throughputs};
use crate::report::{Conntrack, Latency};
use crate::session::{new_acc_for, Acc, Input, ModelKind, Options, ReplayError};
use hw_model::cycle::{Cycle, CycleOptions};
use hw_model::device::{in_memory, Counters, Memory};
use hw_model::functional::Functional;
use hw_model::hist::Histogram;
use hw_model::model::{Model, OutPacket, Sent};
use hw_model::packet::{parse, Parsed};
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::path::Path;
use std::time::Instant;

mod report;

pub use report::{ClusterReport, ConnectionReport, EventReport, ImageReport, NodeReport};

/// Most nodes in a cluster (each is a whole device in memory).
pub const MAX_NODES: u16 = 256;

/// The cluster: how many nodes, how the router spreads packets, what
/// happens mid-trace.
pub struct Spec<'a> {
    pub nodes: u16,
    pub ecmp: EcmpKind,
    pub events: &'a Events,
}

/// An input of a cycle node waiting for its output.
struct Pending {
    seq: u64,
    key: InKey,
    epoch: usize,
    /// NAT-map key of a reply sent on after its node was lost.
    stale: Option<u64>,
}

struct CycleNode {
    m: Cycle<Memory>,
    pending: VecDeque<Pending>,
    outs: Vec<OutPacket>,
    /// Inputs fed (the model's own sequence numbers).
    fed: u64,
}

enum Engine {
    Functional(Box<Functional<Memory>>),
    Cycle(Box<CycleNode>),
}

impl Engine {
    fn counters(&self) -> &Counters {
        match self {
            Engine::Functional(f) => &f.dev.counters,
            Engine::Cycle(c) => &c.m.dev.counters,
        }
    }
}

struct Node {
    engine: Option<Engine>,
    /// Bank epoch last assigned (what a restart flashes).
    epoch: usize,
    place: Place,
    /// Counters of ended incarnations.
    past: Counters,
    routed: u64,
    restarts: u32,
    down_since: Option<(u64, u64)>,
    down_packets: u64,
    down_ns: u64,
    /// Cycle model: latency in cycles over all incarnations.
    latency: Option<Histogram>,
}

/// The router's NAT map and what it lost.
struct Nat {
    on: bool,
    map: HashMap<u64, (u16, u32), BuildHasherDefault<IdHasher>>,
    cap: usize,
    full: u64,
    lost_packets: u64,
    lost: HashSet<u64, BuildHasherDefault<IdHasher>>,
}

impl Nat {
    fn learn(&mut self, out: &[u8], at: Place) {
        let Ok(o) = parse(out) else { return };
        let k = ecmp::tuple_key(o.src, o.dst, o.proto, o.sport, o.dport);
        if self.map.len() >= self.cap && !self.map.contains_key(&k) {
            self.full += 1;
            return;
        }
        self.map.insert(k, (at.node, at.incarnation));
    }
    fn lose(&mut self, key: u64) {
        self.lost_packets += 1;
        if self.lost.len() < self.cap {
            self.lost.insert(key);
        }
    }
}

/// A frame left node `at`: the analysis, the NAT map, the totals. `stale`:
/// the frame is a NAT reply whose node was lost; unless the node still
/// translated it (it did not: no return entry), its connection is broken.
#[allow(clippy::too_many_arguments)]
fn output(
    acc: &mut Acc,
    nat: &mut Nat,
    epoch: usize,
    at: Place,
    key: &InKey,
    stale: Option<u64>,
    o: &[u8],
    sent: Option<Sent>,
    ts: u64,
    base: u64,
) {
    let attr = acc.analyzer.observe_at(epoch, at, key, o, sent, ts);
    if let Attr::Forward { vip, .. } = attr {
        if nat.on && acc.analyzer.vip_nat.get(vip as usize).copied().unwrap_or(false) {
            nat.learn(o, at);
        }
    }
    if let Some(k) = stale.filter(|_| !matches!(attr, Attr::Reply { .. })) {
        nat.lose(k);
    }
    acc.achieved.add(base, ts, o.len());
}

impl CycleNode {
    fn drain(&mut self, at: Place, acc: &mut Acc, nat: &mut Nat, base: u64) {
        self.m.take_output_into(&mut self.outs);
        for o in self.outs.drain(..) {
            while self.pending.front().is_some_and(|p| p.seq < o.seq) {
                if let Some(k) = self.pending.pop_front().and_then(|p| p.stale) {
                    nat.lose(k);
                }
            }
            let ts = base + o.ts_ns;
            match self.pending.front_mut().filter(|p| p.seq == o.seq) {
                Some(p) => {
                    // Reported once, even if the input left more than one frame.
                    let stale = p.stale.take();
                    output(acc, nat, p.epoch, at, &p.key, stale, &o.data, o.sent, ts, base)
                }
                None => acc.achieved.add(base, ts, o.data.len()),
            }
        }
        // Inputs the model is done with and that left nothing were dropped.
        let settled = self.m.settled();
        while self.pending.front().is_some_and(|p| p.seq < settled) {
            if let Some(k) = self.pending.pop_front().and_then(|p| p.stale) {
                nat.lose(k);
            }
        }
    }

    fn finish(&mut self, at: Place, acc: &mut Acc, nat: &mut Nat, base: u64) {
        self.m.finish();
        self.drain(at, acc, nat, base);
        for p in self.pending.drain(..) {
            if let Some(k) = p.stale {
                nat.lose(k);
            }
        }
    }
}

fn add_counters(a: &mut Counters, b: &Counters) {
    for (x, y) in a.c.iter_mut().zip(b.c) {
        *x += y;
    }
    for (x, y) in a.parse.iter_mut().zip(b.parse) {
        *x += y;
    }
}

/// One cluster event as the run applies it (rollouts expanded).
struct Step {
    at: u64,
    line: usize,
    act: Act,
}

enum Act {
    Down(u16),
    Up(u16),
    /// Epoch, image index (in the events), node (None: all), rollout.
    Flash(usize, usize, Option<u16>, bool),
}

struct Run<'a> {
    opts: &'a Options,
    model: ModelKind,
    epochs: Vec<&'a Image>,
    nodes: Vec<Node>,
    router: Router,
    nat: Nat,
    acc: Acc,
    log: Vec<EventReport>,
    prefault: bool,
}

impl Run<'_> {
    fn start(&mut self, k: usize) -> Result<(), ReplayError> {
        let img = self.epochs[self.nodes[k].epoch];
        let mut dev = in_memory(img.target.clone())?;
        dev.flash(img)?;
        let engine = match self.model {
            ModelKind::Functional => {
                if self.prefault {
                    let all = dev.ct.buckets;
                    dev.prefault(0..all);
                }
                Engine::Functional(Box::new(Functional::new(dev)))
            }
            ModelKind::Rtl => return Err(ReplayError::Unsupported(RTL_REFUSED)),
            ModelKind::Cycle => {
                let copts = CycleOptions {
                    rx_source: self.opts.rx_source,
                    ..CycleOptions::default()
                };
                Engine::Cycle(Box::new(CycleNode {
                    m: Cycle::with_options(dev, copts),
                    pending: VecDeque::new(),
                    outs: Vec::new(),
                    fed: 0,
                }))
            }
        };
        self.nodes[k].engine = Some(engine);
        Ok(())
    }

    /// Stop node `k`: what is in flight leaves, the state is dropped. At
    /// the end of the run (`end`) a functional node also makes the final
    /// conntrack sweep a single replay makes (the cycle model's `finish`
    /// always does).
    fn stop(&mut self, k: usize, base: u64, end: bool) {
        let n = &mut self.nodes[k];
        if let Some(mut e) = n.engine.take() {
            match &mut e {
                Engine::Cycle(c) => {
                    c.finish(n.place, &mut self.acc, &mut self.nat, base);
                    n.latency
                        .get_or_insert_with(Histogram::new)
                        .merge(&c.m.stats.latency_cycles);
                }
                Engine::Functional(f) if end => Model::finish(&mut **f),
                Engine::Functional(_) => {}
            }
            add_counters(&mut n.past, e.counters());
        }
    }

    fn apply(&mut self, s: &Step, idx: u64, now: u64, base: u64, ev: &Events) -> Result<(), ReplayError> {
        let what = match s.act {
            Act::Down(k) => {
                let ku = k as usize;
                if self.nodes[ku].engine.is_none() {
                    format!("node {k} down (already down)")
                } else {
                    self.router.down(k);
                    self.stop(ku, base, false);
                    self.nodes[ku].down_since = Some((idx, now));
                    format!("node {k} down")
                }
            }
            Act::Up(k) => {
                let ku = k as usize;
                if self.nodes[ku].engine.is_some() {
                    format!("node {k} up (already up)")
                } else {
                    self.start(ku)?;
                    let n = &mut self.nodes[ku];
                    n.place.incarnation += 1;
                    n.restarts += 1;
                    if let Some((p, t)) = n.down_since.take() {
                        n.down_packets += idx - p;
                        n.down_ns += now.saturating_sub(t);
                    }
                    self.router.up(k);
                    format!(
                        "node {k} up (empty conntrack, generation {})",
                        self.epochs[n.epoch].generation
                    )
                }
            }
            Act::Flash(epoch, image, node, rollout) => {
                let (path, img) = &ev.images[image];
                let targets: Vec<usize> = match node {
                    Some(k) => vec![k as usize],
                    None => (0..self.nodes.len()).collect(),
                };
                let mut down = Vec::new();
                for k in targets {
                    let n = &mut self.nodes[k];
                    n.epoch = epoch;
                    let r = match &mut n.engine {
                        None => {
                            down.push(k.to_string());
                            Ok(())
                        }
                        Some(Engine::Functional(f)) => Model::flash(&mut **f, img),
                        Some(Engine::Cycle(c)) => Model::flash(&mut c.m, img),
                    };
                    r.map_err(|cause| ReplayError::Update {
                        at: s.at,
                        image: path.display().to_string(),
                        cause,
                    })?;
                }
                format!(
                    "{} {} (generation {}){}{}",
                    if rollout { "rollout" } else { "flash" },
                    path.display(),
                    img.generation,
                    match node {
                        Some(k) => format!(" on node {k}"),
                        None => " on every node".into(),
                    },
                    if down.is_empty() {
                        String::new()
                    } else {
                        format!(" (down, flashed when up: node {})", down.join(", "))
                    }
                )
            }
        };
        self.log.push(EventReport {
            at_packet: idx,
            line: s.line,
            what,
        });
        Ok(())
    }

    /// Route one frame and feed it to its node.
    #[inline]
    fn feed(&mut self, seq: u64, frame: &mut Vec<u8>, ts: u64, arrival: u64, base: u64) {
        let parsed: Option<Parsed> = parse(frame).ok();
        let mut stale = None;
        let mut to = None;
        if self.nat.on && !self.nat.map.is_empty() {
            if let Some(p) = &parsed {
                let k = ecmp::tuple_key(p.dst, p.src, p.proto, p.dport, p.sport);
                if let Some(&(n, inc)) = self.nat.map.get(&k) {
                    if self.router.is_live(n) {
                        to = Some(n);
                        if self.nodes[n as usize].place.incarnation != inc {
                            stale = Some(k);
                        }
                    } else {
                        stale = Some(k);
                    }
                }
            }
        }
        let Some(k) = to.or_else(|| self.router.pick(ecmp::hash(parsed.as_ref(), frame))) else {
            return;
        };
        let node = &mut self.nodes[k as usize];
        node.routed += 1;
        let (epoch, at) = (node.epoch, node.place);
        let key = InKey::with_parsed(frame, parsed);
        match &mut node.engine {
            Some(Engine::Functional(f)) => {
                if f.process(frame, ts).is_some() {
                    let (o, sent) = (f.output(), f.sent());
                    output(
                        &mut self.acc,
                        &mut self.nat,
                        epoch,
                        at,
                        &key,
                        stale,
                        o,
                        sent,
                        ts,
                        base,
                    )
                } else if let Some(s) = stale {
                    self.nat.lose(s);
                }
            }
            Some(Engine::Cycle(c)) => {
                c.pending.push_back(Pending {
                    seq: c.fed,
                    key,
                    epoch,
                    stale,
                });
                c.fed += 1;
                c.m.input_at_cycle(std::mem::take(frame), arrival, ts);
                // With NAT, run the node up to this arrival and take what
                // it sent, so the router's NAT map is as fresh as the
                // node's clock allows.
                if self.nat.on {
                    c.m.catch_up();
                    c.drain(at, &mut self.acc, &mut self.nat, base);
                } else if seq.is_multiple_of(256) {
                    c.drain(at, &mut self.acc, &mut self.nat, base);
                }
            }
            None => {}
        }
    }
}

/// Why `lbnic cluster --model rtl` is refused.
const RTL_REFUSED: &str = "the cluster replay runs the functional or the cycle model: --model rtl \
simulates one device (use `lbnic replay --model rtl` or `lbnic check --model rtl`)";

/// Replay `trace` through a cluster with `image` on every node. `progress`
/// gets (packets read, approximate bytes read).
pub fn cluster(
    image: &Image,
    trace: &Path,
    opts: &Options,
    spec: &Spec<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<ClusterReport, ReplayError> {
    if opts.model == ModelKind::Rtl {
        return Err(ReplayError::Unsupported(RTL_REFUSED));
    }
    let t0 = Instant::now();
    let ev = spec.events;
    for (_, img) in &ev.images {
        img.expect_target(&image.target)?;
    }
    // Bank epochs: identical images are one epoch (so "table differs"
    // means what it says).
    let mut epochs: Vec<&Image> = vec![image];
    let mut epoch_of = Vec::with_capacity(ev.images.len());
    for (_, img) in &ev.images {
        let e = match epochs.iter().position(|x| x.payload == img.payload) {
            Some(e) => e,
            None => {
                epochs.push(img);
                epochs.len() - 1
            }
        };
        epoch_of.push(e);
    }
    let nodes = spec.nodes.clamp(1, MAX_NODES);
    let mut steps: Vec<Step> = Vec::new();
    for e in &ev.events {
        let (at, line) = (e.at_packet, e.line);
        if let Action::Down(k) | Action::Up(k) | Action::Flash { node: Some(k), .. } = e.action {
            if k >= nodes {
                return Err(ReplayError::NoSuchNode { line, node: k, nodes });
            }
        }
        match e.action {
            Action::Rollout { image, every } => {
                for k in 0..nodes {
                    steps.push(Step {
                        at: at.saturating_add(every.saturating_mul(k as u64)),
                        line,
                        act: Act::Flash(epoch_of[image], image, Some(k), true),
                    });
                }
            }
            Action::Down(k) => steps.push(Step {
                at,
                line,
                act: Act::Down(k),
            }),
            Action::Up(k) => steps.push(Step {
                at,
                line,
                act: Act::Up(k),
            }),
            Action::Flash { image, node } => steps.push(Step {
                at,
                line,
                act: Act::Flash(epoch_of[image], image, node, false),
            }),
        }
    }
    steps.sort_by_key(|s| s.at);
    let acc = new_acc_for(&epochs, opts)?;
    let mut run = Run {
        opts,
        model: opts.model,
        nat: Nat {
            on: acc.analyzer.vip_nat.iter().any(|&x| x),
            map: HashMap::default(),
            cap: opts.flow_cap,
            full: 0,
            lost_packets: 0,
            lost: HashSet::default(),
        },
        epochs,
        nodes: (0..nodes)
            .map(|k| Node {
                engine: None,
                epoch: 0,
                place: Place {
                    node: k,
                    incarnation: 0,
                },
                past: Counters::default(),
                routed: 0,
                restarts: 0,
                down_since: None,
                down_packets: 0,
                down_ns: 0,
                latency: None,
            })
            .collect(),
        router: Router::new(spec.ecmp, nodes),
        acc,
        log: Vec::new(),
        prefault: true,
    };
    for k in 0..nodes as usize {
        run.start(k)?;
    }
    run.prefault = false;
    let mut input = Input::open(trace, &image.target, opts)?;
    let mut next = 0;
    let mut seq = 0u64;
    let mut last_ts = 0;
    let mut frame = Vec::with_capacity(2048);
    let mut routed_before = 0;
    loop {
        frame.clear();
        let Some((idx, ts, arrival)) = input.next_into(&mut run.acc, &mut frame)? else {
            break;
        };
        let base = input.clock.base.unwrap_or(0);
        while steps.get(next).is_some_and(|s| s.at <= idx) {
            run.apply(&steps[next], idx, ts, base, ev)?;
            next += 1;
        }
        run.feed(seq, &mut frame, ts, arrival, base);
        last_ts = ts;
        seq += 1;
        if seq.is_multiple_of(16384) {
            progress(input.read, input.approx_bytes);
        }
        routed_before = input.read;
    }
    let base = input.clock.base.unwrap_or(0);
    // Events past the end still happen (before the end of the run).
    for s in &steps[next..] {
        run.apply(s, input.read, last_ts, base, ev)?;
    }
    for k in 0..run.nodes.len() {
        run.stop(k, base, true);
        let n = &mut run.nodes[k];
        if let Some((p, t)) = n.down_since.take() {
            n.down_packets += routed_before - p;
            n.down_ns += last_ts.saturating_sub(t);
        }
    }
    progress(input.read, input.approx_bytes);
    let wall = t0.elapsed().as_secs_f64();
    Ok(build_report(image, trace, opts, spec, run, ev, wall))
}

fn build_report(
    image: &Image,
    trace: &Path,
    opts: &Options,
    spec: &Spec<'_>,
    run: Run<'_>,
    ev: &Events,
    wall: f64,
) -> ClusterReport {
    let mut total = Counters::default();
    for n in &run.nodes {
        add_counters(&mut total, &n.past);
    }
    let routed: u64 = run.nodes.iter().map(|n| n.routed).sum();
    let mhz = (image.target.clock_mhz as u64).max(1);
    let per_node = run
        .nodes
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let c = &n.past;
            let g = |x: Counter| c.get(x);
            NodeReport {
                node: k as u16,
                routed: n.routed,
                forwarded: g(Counter::TxPackets),
                dropped: drop_counters(c).iter().map(|x| x.1).sum(),
                share: if routed == 0 {
                    0.0
                } else {
                    n.routed as f64 / routed as f64
                },
                ct_hits: g(Counter::CtHits),
                ct_misses: g(Counter::CtMisses),
                ct_inserts: g(Counter::CtInserts),
                ct_evictions: g(Counter::CtEvictions),
                ct_ageouts: g(Counter::CtAgeouts),
                restarts: n.restarts,
                down_packets: n.down_packets,
                down_ns: n.down_ns,
                bank: format!("generation {}", run.epochs[n.epoch].generation),
                latency_ns: n.latency.as_ref().map(|h| {
                    let ns = |c: u64| c * 1000 / mhz;
                    Latency {
                        p50: ns(h.quantile(0.5)),
                        p99: ns(h.quantile(0.99)),
                        p999: ns(h.quantile(0.999)),
                        max: ns(h.max()),
                        mean: h.mean() * 1000.0 / mhz as f64,
                    }
                }),
            }
        })
        .collect();
    let acc = &run.acc;
    let an = &acc.analyzer;
    let (offered, achieved) = throughputs(image, opts, acc);
    let unrouted = acc.offered.packets - routed;
    let mut warnings = Vec::new();
    if let Some(d) = &acc.damage {
        warnings.push(format!(
            "the capture is damaged ({d}); the {} packets before the damage were replayed",
            acc.offered.packets
        ));
    }
    if an.flows_untracked > 0 {
        warnings.push(format!(
            "{} flows beyond the tracking cap of {} were not followed (--flow-cap)",
            an.flows_untracked, opts.flow_cap
        ));
    }
    if unrouted > 0 {
        warnings.push(format!(
            "{unrouted} packets arrived while no node was up (dropped by the router)"
        ));
    }
    if run.nat.full > 0 {
        warnings.push(format!(
            "the router's NAT map was full ({} entries): {} NAT flows not learned (--flow-cap)",
            opts.flow_cap, run.nat.full
        ));
    }
    let causes = an.causes.clone();
    let nat_conns = run.nat.lost.len() as u64;
    let images = ev
        .images
        .iter()
        .enumerate()
        .map(|(i, (p, img))| {
            let (against, old) = if i == 0 {
                ("the initial image".to_string(), image)
            } else {
                (ev.images[i - 1].0.display().to_string(), &ev.images[i - 1].1)
            };
            ImageReport {
                image: p.display().to_string(),
                generation: img.generation,
                against,
                changes: events::changes(old, img).unwrap_or_else(|e| vec![format!("cannot decode: {e}")]),
            }
        })
        .collect();
    ClusterReport {
        trace: trace.display().to_string(),
        image: format!("generation {}", image.generation),
        model: opts.model.name().into(),
        timing: opts.timing.describe(),
        nodes: run.nodes.len() as u16,
        ecmp: spec.ecmp.describe(),
        offered,
        achieved,
        wall_seconds: wall,
        model_pps: acc.offered.packets as f64 / wall.max(1e-9),
        unrouted,
        per_node,
        counters: total.named(),
        drops: drop_counters(&total),
        conntrack: Conntrack::from_counters(&total),
        backends: backend_reports(an),
        connections: ConnectionReport {
            tracked: an.flows_tracked,
            untracked: an.flows_untracked,
            node_churn_total: causes.node_churn() + nat_conns,
            causes,
            nat_replies_lost: run.nat.lost_packets,
            node_churn_nat: nat_conns,
            passed: an.passed,
            unattributed: an.unknown,
        },
        events: run.log,
        images,
        warnings,
        damage: acc.damage.clone(),
    }
}
