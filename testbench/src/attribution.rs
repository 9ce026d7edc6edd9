//! What the replay learns from the frames themselves, as a user looking at
//! the output capture would: which VIP and backend each output frame went
//! to (from the bank image and the rewrite: DR by destination MAC, tunnels
//! by outer destination, NAT by the rewritten destination, NAT replies by
//! the source they came from), per-backend packet and flow counts against
//! the lookup table's share, and connections that changed backend.
//!
//! Memory is bounded: per backend a few counters, per flow one small record
//! up to a cap (flows beyond it are counted, not tracked).
//!
//! Speed (issue 14): a flow is known by a 64-bit fingerprint of its 5-tuple
//! ([`flow_id`], foldhash with a fixed seed), computed once when the input
//! is parsed; the flow table ([`FlowTable`]) is keyed by it as is. Its cost
//! in a replay is the cache miss on a table of 100k+ flows, not the
//! hashing: a replay that hands on outputs in groups first
//! [`Analyzer::prefetch`]es their records so the misses overlap, as the
//! functional model does with its conntrack.

use hw_model::device::ActiveBank;
use hw_model::model::Sent;
use hw_model::packet::{parse, Parsed};
use lbnic_contract::image::{Bank, Image};
use lbnic_contract::target::entries::{endpoint, BackendState, Mode};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

/// A map with foldhash's fast hasher, seeded the same on every run.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// What the analysis keeps of an input frame until its output is seen.
#[derive(Debug, Clone, Copy)]
pub struct InKey {
    pub parsed: Option<Parsed>,
    /// [`flow_id`] of `parsed` (0 when the frame did not parse).
    pub flow: u64,
    /// Destination and source MAC of the input (to recognise a frame
    /// passed unchanged).
    pub macs: [u8; 12],
    pub len: u32,
}

impl InKey {
    pub fn of(frame: &[u8]) -> InKey {
        InKey::with_parsed(frame, parse(frame).ok())
    }

    /// With the frame already parsed.
    pub fn with_parsed(frame: &[u8], parsed: Option<Parsed>) -> InKey {
        let mut macs = [0u8; 12];
        let n = frame.len().min(12);
        macs[..n].copy_from_slice(&frame[..n]);
        InKey {
            flow: parsed.as_ref().map_or(0, flow_id),
            parsed,
            macs,
            len: frame.len() as u32,
        }
    }
}

/// Where an output frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// To backend `be` (global id) of VIP `vip` (global id).
    Forward { vip: u32, be: u32 },
    /// A NAT reply from backend `be`, rewritten back to the VIP.
    Reply { vip: u32, be: u32 },
    /// Forwarded unchanged.
    Pass,
    /// Could not be matched to a backend (e.g. an ICMP error, or a later
    /// fragment to an address shared by several VIPs).
    Unknown,
}

struct VipIdx {
    id: u32,
    mode: Mode,
    /// VIP-local index -> global backend id.
    local: Vec<Option<u32>>,
    by_mac: FastMap<[u8; 6], u32>,
    by_addr: FastMap<IpAddr, Vec<(u16, u32)>>,
}

/// One bank, indexed for attribution.
struct BankIdx {
    ab: ActiveBank,
    vips: Vec<Option<VipIdx>>,
    /// Global backend id -> usable (present, not down) in this bank.
    usable: Vec<bool>,
    /// Global backend id -> share of its VIP's lookup table.
    share: Vec<f64>,
    /// Timeouts in ns: established TCP, UDP.
    tcp_est_ns: u64,
    udp_ns: u64,
    /// VIP id -> digest of what its lookup table picks (scheduler and the
    /// backend id of every entry): two banks route a VIP's new flows alike
    /// iff these agree, whatever else differs between them.
    table: Vec<Option<u64>>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackendCounts {
    pub packets: u64,
    pub bytes: u64,
    pub replies: u64,
    /// Flows assigned to this backend (first packet, or moved to it).
    pub flows: u64,
}

/// Connections that changed backend.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Moves {
    /// Flows whose packets reached more than one backend.
    pub moved: u64,
    /// ...of which the previous backend was removed or down in the bank in
    /// force (they had to move).
    pub backend_removed: u64,
    /// ...of which the flow had been idle past its conntrack timeout.
    pub expired: u64,
    /// ...of which the flow had not been established yet (SYN only).
    pub not_established: u64,
    /// Established flows that moved although their backend was still
    /// usable: must be 0 (an eviction under pressure is the only other
    /// cause; see `ct_evictions`).
    pub broken: u64,
    /// First few broken flows, for the report.
    pub broken_samples: Vec<String>,
}

/// With its key, two records to a cache line ([`FlowTable`]).
#[derive(Clone, Copy, Default)]
struct FlowRec {
    be: u32,
    last_ns: u64,
    est: bool,
    /// Where the flow's previous packet was handled: node and its
    /// incarnation (0 on a single device); a [`Place`], kept flat so the
    /// record packs.
    node: u16,
    incarnation: u32,
    /// The bank epoch the flow got its backend under (first packet or
    /// last move): the table a node without state must agree with.
    epoch: u32,
    /// Changed backend at least once.
    moved: bool,
}

impl FlowRec {
    fn at(&self) -> Place {
        Place {
            node: self.node,
            incarnation: self.incarnation,
        }
    }
    fn set_at(&mut self, at: Place) {
        self.node = at.node;
        self.incarnation = at.incarnation;
    }
}

/// The flow records: open addressing with linear probing over 32-byte
/// slots, at most half full, keyed by the flow's fingerprint (already well
/// mixed: its low bits are the home slot). One cache line per lookup, and
/// [`FlowTable::touch`] is a plain load, so a group's misses can overlap.
/// The slots are in anonymous memory advised for huge pages (100k flows
/// are 8 MiB of slots: with 4 KiB pages every lookup would also miss the
/// TLB). It grows with the run (from 64k slots, doubling) up to twice the
/// flow cap.
struct FlowTable {
    /// Slot `i` is bytes `32 i..32 i + 32`: key (0: empty), `last_ns`,
    /// `be`, `epoch`, `incarnation`, `node`, `est`, `moved`, native endian.
    mem: memmap2::MmapMut,
    slots: usize,
    len: usize,
}

const SLOT: usize = 32;

fn slots_mem(slots: usize) -> memmap2::MmapMut {
    let m = memmap2::MmapMut::map_anon(slots * SLOT).expect("memory for the flow table");
    // Only a hint: a failure changes nothing but speed.
    let _ = m.advise(memmap2::Advice::HugePage);
    m
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

impl FlowTable {
    fn new() -> FlowTable {
        let slots = 1 << 16;
        FlowTable {
            mem: slots_mem(slots),
            slots,
            len: 0,
        }
    }

    /// Fingerprint 0 marks an empty slot: it is taken as 1 (two flows of
    /// 2^64 share a record, as any two with equal fingerprints do).
    #[inline]
    fn key(flow: u64) -> u64 {
        flow.max(1)
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        key as usize & (self.slots - 1)
    }

    #[inline]
    fn key_at(&self, i: usize) -> u64 {
        u64_at(&self.mem, i * SLOT)
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Load the home slot of `flow` (the value is only there to make the
    /// load happen).
    #[inline]
    fn touch(&self, flow: u64) -> u64 {
        self.key_at(self.home(Self::key(flow)))
    }

    /// The slot and record of `flow`, or the empty slot where it would go.
    #[inline]
    fn find(&self, flow: u64) -> Result<(usize, FlowRec), usize> {
        let key = Self::key(flow);
        let mut i = self.home(key);
        loop {
            let k = self.key_at(i);
            if k == key {
                return Ok((i, self.rec(i)));
            }
            if k == 0 {
                return Err(i);
            }
            i = (i + 1) & (self.slots - 1);
        }
    }

    fn rec(&self, i: usize) -> FlowRec {
        let b = &self.mem[i * SLOT..(i + 1) * SLOT];
        FlowRec {
            last_ns: u64_at(b, 8),
            be: u32_at(b, 16),
            epoch: u32_at(b, 20),
            incarnation: u32_at(b, 24),
            node: u16::from_ne_bytes([b[28], b[29]]),
            est: b[30] != 0,
            moved: b[31] != 0,
        }
    }

    /// Write the record of slot `i` (found by [`FlowTable::find`]).
    fn set(&mut self, i: usize, r: &FlowRec) {
        let b = &mut self.mem[i * SLOT + 8..(i + 1) * SLOT];
        b[..8].copy_from_slice(&r.last_ns.to_ne_bytes());
        b[8..12].copy_from_slice(&r.be.to_ne_bytes());
        b[12..16].copy_from_slice(&r.epoch.to_ne_bytes());
        b[16..20].copy_from_slice(&r.incarnation.to_ne_bytes());
        b[20..22].copy_from_slice(&r.node.to_ne_bytes());
        b[22] = r.est as u8;
        b[23] = r.moved as u8;
    }

    /// Add a flow that is not in the table.
    fn insert(&mut self, flow: u64, rec: FlowRec) {
        if (self.len + 1) * 2 > self.slots {
            let old = std::mem::replace(&mut self.mem, slots_mem(self.slots * 2));
            let n = self.slots;
            self.slots *= 2;
            for i in 0..n {
                let s = &old[i * SLOT..(i + 1) * SLOT];
                let k = u64_at(s, 0);
                if k != 0 {
                    let j = self.empty_for(k);
                    self.mem[j * SLOT..(j + 1) * SLOT].copy_from_slice(s);
                }
            }
        }
        let key = Self::key(flow);
        let i = self.empty_for(key);
        self.mem[i * SLOT..i * SLOT + 8].copy_from_slice(&key.to_ne_bytes());
        self.set(i, &rec);
        self.len += 1;
    }

    fn empty_for(&self, key: u64) -> usize {
        let mut i = self.home(key);
        while self.key_at(i) != 0 {
            i = (i + 1) & (self.slots - 1);
        }
        i
    }
}

/// Where a packet was handled in a cluster: the node and its incarnation
/// (a restart gives the node a new one, with an empty conntrack).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    pub node: u16,
    pub incarnation: u32,
}

/// Samples kept per cause.
const SAMPLES: usize = 5;

/// Why connections changed backend, as a cluster sees it: the single
/// device's causes, with `broken` split into node churn (with or without a
/// table difference) and eviction.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Causes {
    /// Backend changes (a connection can change more than once: each
    /// change is counted under its cause).
    pub moved: u64,
    /// Distinct connections that changed backend at least once.
    pub connections: u64,
    /// The previous backend is removed or down in the bank in force on the
    /// node that took the packet.
    pub backend_removed: u64,
    /// Another node than the flow's previous packet's, or its node
    /// restarted since, running the bank epoch that chose the flow's
    /// backend (so per-node scheduler state, e.g. an RR pointer, chose
    /// another one).
    pub node_churn_same_table: u64,
    /// ...running another bank epoch than the one that chose the flow's
    /// backend, whose table names another backend for it.
    pub node_churn_table_differs: u64,
    /// Same node, same incarnation, backend usable, not expired: the
    /// conntrack lost the entry.
    pub evicted: u64,
    /// Idle past its conntrack timeout.
    pub timeout: u64,
    /// SYN only so far: not a broken connection.
    pub not_established: u64,
    /// A few flows per cause: (cause, "flow: old -> new (where)").
    pub samples: Vec<(String, String)>,
}

impl Causes {
    /// Established connections broken by node churn.
    pub fn node_churn(&self) -> u64 {
        self.node_churn_same_table + self.node_churn_table_differs
    }
}

/// A 64-bit flow key is already well mixed: hash it as itself.
#[derive(Default)]
pub struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = self.0.rotate_left(8) ^ x as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub struct Analyzer {
    pub vip_names: Vec<String>,
    /// (VIP id, backend name) per global backend id.
    pub backend_names: Vec<(u32, String)>,
    pub backends: Vec<BackendCounts>,
    banks: Vec<BankIdx>,
    flows: FlowTable,
    flow_cap: usize,
    pub flows_tracked: u64,
    pub flows_untracked: u64,
    pub moves: Moves,
    /// The same moves by cluster cause.
    pub causes: Causes,
    pub passed: u64,
    pub unknown: u64,
    /// New flows per VIP id, per epoch.
    vip_new: Vec<Vec<u64>>,
    /// Per VIP id: NAT in some bank.
    pub vip_nat: Vec<bool>,
}

/// Seed of [`flow_id`]: fixed, so a run is reproducible.
const FLOW_SEED: u64 = 0x6c62_6e69_635f_666c;

/// A 64-bit fingerprint of a flow's 5-tuple. foldhash's quality hasher: a
/// well-mixed 64-bit value (two of 1M flows collide with odds about 3e-8,
/// as with the SipHash it replaces), at a fraction of SipHash's cost.
pub fn flow_id(p: &Parsed) -> u64 {
    let addr = |a: IpAddr| match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    };
    let tail =
        (p.sport as u64) << 32 | (p.dport as u64) << 16 | (p.proto as u64) << 8 | p.src.is_ipv6() as u64;
    foldhash::quality::FixedState::with_seed(FLOW_SEED).hash_one((addr(p.src), addr(p.dst), tail))
}

/// Outer destination address of a frame (after any VLAN tags).
fn outer_dst(f: &[u8]) -> Option<IpAddr> {
    let mut o = 12;
    loop {
        match u16::from_be_bytes([*f.get(o)?, *f.get(o + 1)?]) {
            0x8100 | 0x88a8 => o += 4,
            0x0800 => {
                let a: [u8; 4] = f.get(o + 2 + 16..o + 2 + 20)?.try_into().ok()?;
                return Some(IpAddr::from(a));
            }
            0x86dd => {
                let a: [u8; 16] = f.get(o + 2 + 24..o + 2 + 40)?.try_into().ok()?;
                return Some(IpAddr::from(a));
            }
            _ => return None,
        }
    }
}

impl Analyzer {
    /// `images`: the initial bank and every update, in order; epoch `i`
    /// is `images[i]`. Backend ids are by (VIP name, backend name), so a
    /// backend keeps its id across updates.
    pub fn new(images: &[&Image], flow_cap: usize) -> Result<Analyzer, lbnic_contract::image::ImageError> {
        let mut a = Analyzer {
            vip_names: Vec::new(),
            backend_names: Vec::new(),
            backends: Vec::new(),
            banks: Vec::new(),
            flows: FlowTable::new(),
            flow_cap,
            flows_tracked: 0,
            flows_untracked: 0,
            moves: Moves::default(),
            causes: Causes::default(),
            passed: 0,
            unknown: 0,
            vip_new: Vec::new(),
            vip_nat: Vec::new(),
        };
        let mut vip_ids: HashMap<String, u32> = HashMap::new();
        let mut be_ids: HashMap<(u32, String), u32> = HashMap::new();
        let banks: Vec<(Bank, u64, u64)> = images
            .iter()
            .map(|img| Bank::decode(img).map(|b| (b, img.generation, img.target.ct_tick_us as u64 * 1000)))
            .collect::<Result<_, _>>()?;
        for (bank, ..) in &banks {
            for v in bank.vips.iter().flatten() {
                let n = vip_ids.len() as u32;
                let vid = *vip_ids.entry(v.name.clone()).or_insert_with(|| {
                    a.vip_names.push(v.name.clone());
                    n
                });
                for b in v.backends.iter().flatten() {
                    let n = be_ids.len() as u32;
                    be_ids.entry((vid, b.name.clone())).or_insert_with(|| {
                        a.backend_names.push((vid, b.name.clone()));
                        n
                    });
                }
            }
        }
        a.backends = vec![BackendCounts::default(); a.backend_names.len()];
        a.vip_nat = vec![false; a.vip_names.len()];
        a.vip_new = vec![vec![0; a.vip_names.len()]; banks.len()];
        for (i, (bank, generation, tick_ns)) in banks.into_iter().enumerate() {
            let mut usable = vec![false; a.backend_names.len()];
            let mut share = vec![0.0; a.backend_names.len()];
            let mut vips: Vec<Option<VipIdx>> = Vec::new();
            let mut table: Vec<Option<u64>> = Vec::new();
            for v in bank.vips.iter().flatten() {
                let vid = vip_ids[&v.name];
                a.vip_nat[vid as usize] |= v.repr.mode == Mode::Nat;
                let counts = v.slot_counts();
                let mut idx = VipIdx {
                    id: vid,
                    mode: v.repr.mode,
                    local: Vec::new(),
                    by_mac: FastMap::default(),
                    by_addr: FastMap::default(),
                };
                for (l, b) in v.backends.iter().enumerate() {
                    let Some(b) = b else {
                        idx.local.push(None);
                        continue;
                    };
                    let id = be_ids[&(vid, b.name.clone())];
                    idx.local.push(Some(id));
                    usable[id as usize] = b.repr.state != BackendState::Down;
                    share[id as usize] = counts[l] as f64 / v.table.len().max(1) as f64;
                    idx.by_mac.entry(b.repr.mac).or_insert(id);
                    idx.by_addr
                        .entry(b.repr.addr)
                        .or_default()
                        .push((b.repr.port, id));
                }
                let s = v.index as usize;
                if vips.len() <= s {
                    vips.resize_with(s + 1, || None);
                }
                let mut h = std::hash::DefaultHasher::new();
                (v.repr.sched as u8, v.table.len()).hash(&mut h);
                for &e in &v.table {
                    idx.local.get(e as usize).copied().flatten().hash(&mut h);
                }
                if table.len() <= vid as usize {
                    table.resize(vid as usize + 1, None);
                }
                table[vid as usize] = Some(h.finish());
                vips[s] = Some(idx);
            }
            let g = &bank.global;
            let (est, udp) = (g.timeout_tcp_est as u64, g.timeout_udp as u64);
            a.banks.push(BankIdx {
                ab: ActiveBank::new(bank, generation, (i % 2) as u8),
                vips,
                usable,
                share,
                tcp_est_ns: est * tick_ns,
                udp_ns: udp * tick_ns,
                table,
            });
        }
        Ok(a)
    }

    /// Where `out`, made from input `inp` under bank `epoch`, went: from
    /// `sent`, the model's own decision, where the model gives one; from
    /// the frame and the bank otherwise (the RTL's simulation), which
    /// finds the same backend wherever the frame tells them apart.
    pub fn attribute(&self, epoch: usize, inp: &InKey, out: &[u8], sent: Option<Sent>) -> Attr {
        let Some(bank) = self.banks.get(epoch) else {
            return Attr::Unknown;
        };
        match sent {
            Some(s) => Self::decided(bank, inp, s),
            None => Self::from_frame(bank, inp, out),
        }
    }

    fn decided(bank: &BankIdx, inp: &InKey, sent: Sent) -> Attr {
        let (slot, local, reply) = match sent {
            Sent::Pass => return Attr::Pass,
            Sent::TooBig => return Attr::Unknown,
            Sent::Forward { slot, local } => (slot, local, false),
            Sent::Reply { slot, local } => (slot, local, true),
        };
        // An ICMP error reaches the backend (or the client) of the flow it
        // quotes, but is not one of that flow's packets: counted apart, as
        // the frame-based attribution does.
        if inp.parsed.as_ref().is_none_or(|p| p.icmp_error.is_some()) {
            return Attr::Unknown;
        }
        let Some(Some(v)) = bank.vips.get(slot as usize) else {
            return Attr::Unknown;
        };
        match v.local.get(local as usize).copied().flatten() {
            Some(be) if reply => Attr::Reply { vip: v.id, be },
            Some(be) => Attr::Forward { vip: v.id, be },
            None => Attr::Unknown,
        }
    }

    fn from_frame(bank: &BankIdx, inp: &InKey, out: &[u8]) -> Attr {
        let unchanged = out.len() == inp.len as usize && out.get(..12) == Some(&inp.macs[..]);
        let Some(p) = &inp.parsed else {
            return if unchanged { Attr::Pass } else { Attr::Unknown };
        };
        let a16 = lbnic_contract::target::entries::addr_to_bytes;
        // A later fragment has no port: its VIP is the only one on its
        // (address, protocol), if there is just one.
        let slot = match p.frag {
            hw_model::packet::Frag::Later => bank.ab.match_fragment(&a16(p.dst), p.proto).ok(),
            _ => bank.ab.match_vip(&a16(p.dst), p.proto, p.dport),
        };
        if p.icmp_error.is_none() {
            if let Some(slot) = slot {
                if let Some(Some(v)) = bank.vips.get(slot as usize) {
                    let be = match v.mode {
                        Mode::Dr => out.get(..6).and_then(|m| {
                            let m: [u8; 6] = m.try_into().ok()?;
                            v.by_mac.get(&m).copied()
                        }),
                        Mode::TunIpip | Mode::TunGue => {
                            outer_dst(out).and_then(|a| v.by_addr.get(&a)).map(|c| c[0].1)
                        }
                        Mode::Nat => parse(out).ok().and_then(|o| {
                            let c = v.by_addr.get(&o.dst)?;
                            c.iter()
                                .find(|(port, _)| *port == o.dport || (*port == 0 && o.dport == p.dport))
                                .or(c.first())
                                .map(|x| x.1)
                        }),
                    };
                    if let Some(be) = be {
                        return Attr::Forward { vip: v.id, be };
                    }
                }
            }
        }
        if bank.ab.has_nat && !unchanged {
            if let Ok(o) = parse(out) {
                if let Some(slot) = bank.ab.match_vip(&a16(o.src), o.proto, o.sport) {
                    if let Some(Some(v)) = bank.vips.get(slot as usize) {
                        if let Some(c) = v.by_addr.get(&p.src) {
                            let be = c
                                .iter()
                                .find(|(port, _)| *port == p.sport)
                                .or(c.first())
                                .map(|x| x.1);
                            if let Some(be) = be {
                                return Attr::Reply { vip: v.id, be };
                            }
                        }
                    }
                }
            }
        }
        if unchanged {
            Attr::Pass
        } else {
            Attr::Unknown
        }
    }

    /// Start loading the flow record of `inp` into the cache: a replay
    /// calls this for a group of outputs before observing them, so the
    /// group's misses overlap instead of each stalling one observation.
    /// Fold the results and `black_box` them: the value means nothing.
    #[inline]
    pub fn prefetch(&self, inp: &InKey) -> u64 {
        self.flows.touch(inp.flow)
    }

    /// Account one output frame.
    #[inline]
    pub fn observe(&mut self, epoch: usize, inp: &InKey, out: &[u8], sent: Option<Sent>, ts_ns: u64) {
        self.observe_at(epoch, Place::default(), inp, out, sent, ts_ns);
    }

    /// Account one output frame of a cluster node; where it went.
    pub fn observe_at(
        &mut self,
        epoch: usize,
        at: Place,
        inp: &InKey,
        out: &[u8],
        sent: Option<Sent>,
        ts_ns: u64,
    ) -> Attr {
        let attr = self.attribute(epoch, inp, out, sent);
        match attr {
            Attr::Pass => self.passed += 1,
            Attr::Unknown => self.unknown += 1,
            Attr::Reply { be, .. } => {
                let b = &mut self.backends[be as usize];
                b.packets += 1;
                b.bytes += out.len() as u64;
                b.replies += 1;
            }
            Attr::Forward { vip: _, be } => {
                let b = &mut self.backends[be as usize];
                b.packets += 1;
                b.bytes += out.len() as u64;
                let p = inp.parsed.as_ref().expect("attributed frames parsed");
                self.track(epoch, at, p, inp.flow, be, ts_ns);
            }
        }
        attr
    }

    fn new_flow(&mut self, epoch: usize, be: u32) {
        self.backends[be as usize].flows += 1;
        let vip = self.backend_names[be as usize].0;
        self.vip_new[epoch][vip as usize] += 1;
    }

    /// Per backend id: the flows it should have got, from its share of the
    /// VIP's lookup table in force when each new flow of that VIP was seen
    /// (the share is the configured weight share within one table entry;
    /// for RR it is one slot per active backend).
    pub fn expected_flows(&self) -> Vec<f64> {
        let mut e = vec![0.0; self.backend_names.len()];
        for (bank, news) in self.banks.iter().zip(&self.vip_new) {
            for (id, (vip, _)) in self.backend_names.iter().enumerate() {
                e[id] += bank.share[id] * news[*vip as usize] as f64;
            }
        }
        e
    }

    /// Share of the VIP's lookup table per backend id, in the last bank.
    pub fn final_share(&self) -> Vec<f64> {
        self.banks.last().map(|b| b.share.clone()).unwrap_or_default()
    }

    /// Whether the VIP of backend `be` picks backends differently in banks
    /// `a` and `b` (its lookup table or scheduler changed).
    fn table_differs(&self, a: usize, b: usize, be: u32) -> bool {
        let vip = self.backend_names[be as usize].0 as usize;
        let t = |e: usize| {
            self.banks
                .get(e)
                .and_then(|k| k.table.get(vip).copied().flatten())
        };
        a != b && t(a) != t(b)
    }

    fn track(&mut self, epoch: usize, at: Place, p: &Parsed, flow: u64, be: u32, ts_ns: u64) {
        let syn_only = p.proto == 6 && p.tcp_flags & 0x12 == 0x02;
        match self.flows.find(flow) {
            Err(_) => {
                if self.flows.len() >= self.flow_cap {
                    self.flows_untracked += 1;
                    return;
                }
                self.flows.insert(
                    flow,
                    FlowRec {
                        be,
                        last_ns: ts_ns,
                        est: !syn_only && p.proto == 6,
                        node: at.node,
                        incarnation: at.incarnation,
                        epoch: epoch as u32,
                        moved: false,
                    },
                );
                self.flows_tracked += 1;
                self.new_flow(epoch, be);
            }
            Ok((slot, prev)) => {
                let mut r = prev;
                r.last_ns = ts_ns;
                r.be = be;
                r.set_at(at);
                if prev.be != be {
                    r.epoch = epoch as u32;
                    r.moved = true;
                }
                if !syn_only {
                    r.est = true;
                }
                self.flows.set(slot, &r);
                if prev.be != be {
                    let bank = &self.banks[epoch];
                    let timeout = if p.proto == 6 {
                        bank.tcp_est_ns
                    } else {
                        bank.udp_ns
                    };
                    let expired = ts_ns.saturating_sub(prev.last_ns) > timeout;
                    let differs = prev.at() != at && self.table_differs(prev.epoch as usize, epoch, prev.be);
                    let c = &mut self.causes;
                    c.moved += 1;
                    c.connections += !prev.moved as u64;
                    let cause = if !bank.usable[prev.be as usize] {
                        c.backend_removed += 1;
                        "backend_removed"
                    } else if expired {
                        c.timeout += 1;
                        "timeout"
                    } else if !prev.est && p.proto == 6 {
                        c.not_established += 1;
                        "not_established"
                    } else if differs {
                        c.node_churn_table_differs += 1;
                        "node_churn_table_differs"
                    } else if prev.at() != at {
                        c.node_churn_same_table += 1;
                        "node_churn_same_table"
                    } else {
                        c.evicted += 1;
                        "evicted"
                    };
                    if c.samples.iter().filter(|s| s.0 == cause).count() < SAMPLES {
                        let s = format!(
                            "{} {} -> {}: {} -> {} (node {} -> {})",
                            if p.proto == 6 { "tcp" } else { "udp" },
                            endpoint(p.src, p.sport),
                            endpoint(p.dst, p.dport),
                            self.backend_names[prev.be as usize].1,
                            self.backend_names[be as usize].1,
                            prev.node,
                            at.node
                        );
                        c.samples.push((cause.to_string(), s));
                    }
                    let m = &mut self.moves;
                    m.moved += 1;
                    if !bank.usable[prev.be as usize] {
                        m.backend_removed += 1;
                    } else if expired {
                        m.expired += 1;
                    } else if !prev.est && p.proto == 6 {
                        m.not_established += 1;
                    } else {
                        m.broken += 1;
                        if m.broken_samples.len() < 20 {
                            let flow = format!(
                                "{} {} -> {}",
                                if p.proto == 6 { "tcp" } else { "udp" },
                                endpoint(p.src, p.sport),
                                endpoint(p.dst, p.dport)
                            );
                            m.broken_samples.push(format!(
                                "{flow}: {} -> {}",
                                self.backend_names[prev.be as usize].1, self.backend_names[be as usize].1
                            ));
                        }
                    }
                    self.new_flow(epoch, be);
                }
            }
        }
    }

    /// Fold another analyzer (a shard over disjoint flows, same images).
    pub fn merge(&mut self, o: Analyzer) {
        for (a, b) in self.backends.iter_mut().zip(o.backends) {
            a.packets += b.packets;
            a.bytes += b.bytes;
            a.replies += b.replies;
            a.flows += b.flows;
        }
        for (a, b) in self.vip_new.iter_mut().zip(o.vip_new) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.flows_tracked += o.flows_tracked;
        self.flows_untracked += o.flows_untracked;
        let (m, n) = (&mut self.moves, o.moves);
        m.moved += n.moved;
        m.backend_removed += n.backend_removed;
        m.expired += n.expired;
        m.not_established += n.not_established;
        m.broken += n.broken;
        m.broken_samples.extend(n.broken_samples);
        m.broken_samples.truncate(20);
        let (c, d) = (&mut self.causes, o.causes);
        c.moved += d.moved;
        c.connections += d.connections;
        c.backend_removed += d.backend_removed;
        c.node_churn_same_table += d.node_churn_same_table;
        c.node_churn_table_differs += d.node_churn_table_differs;
        c.evicted += d.evicted;
        c.timeout += d.timeout;
        c.not_established += d.not_established;
        c.samples.extend(d.samples);
        self.passed += o.passed;
        self.unknown += o.unknown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{GenSpec, Generator};
    use hw_model::device::in_memory;
    use hw_model::functional::Functional;
    use hw_model::packet::Frag;
    use std::path::Path;
    use table_compiler::config::Config;

    /// The model's decision and the frame name the same backend for every
    /// output of every mode (DR, IPIP, GUE, NAT and its replies, IPv4 and
    /// IPv6, fragments, ICMP too-big answers, SYN floods, non-VIP and
    /// malformed frames), except where the frame cannot tell: a later
    /// fragment to an address several VIPs share, which only the decision
    /// attributes. A decision taken one backend off is caught, so the
    /// comparison can fail.
    #[test]
    fn decision_and_frame_agree() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
        let cfg = Config::load(&dir.join("basic.toml")).unwrap();
        let (img, _) = table_compiler::compile::compile(&cfg, None, None).unwrap();
        let an = Analyzer::new(&[&img], 1 << 16).unwrap();
        let mut m = Functional::new(in_memory(img.target.clone()).unwrap());
        m.dev.flash(&img).unwrap();
        let spec = GenSpec {
            packets: 20_000,
            flows: 400,
            syn_flood: 0.05,
            non_vip: 0.05,
            malformed: 0.03,
            nat_replies: 0.3,
            fragments: 0.2,
            flow_len: 20,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg, spec).unwrap();
        let (mut kinds, mut later_only, mut caught) = ([0u32; 4], 0, 0);
        for _ in 0..20_000 {
            let (ts, f) = g.next_frame();
            let key = InKey::of(&f);
            if m.process(&f, ts).is_none() {
                continue;
            }
            let (out, sent) = (m.output(), m.sent());
            let s = sent.expect("the functional model says what it sent");
            let decided = an.attribute(0, &key, out, sent);
            let framed = an.attribute(0, &key, out, None);
            kinds[match decided {
                Attr::Forward { .. } => 0,
                Attr::Reply { .. } => 1,
                Attr::Pass => 2,
                Attr::Unknown => 3,
            }] += 1;
            if decided != framed {
                let later = key.parsed.is_some_and(|p| p.frag == Frag::Later);
                assert!(
                    later && framed == Attr::Unknown,
                    "{s:?}: decided {decided:?}, frame {framed:?}"
                );
                later_only += 1;
            }
            // The broken variant: the neighbouring backend.
            if let Sent::Forward { slot, local } = s {
                let wrong = Sent::Forward {
                    slot,
                    local: local ^ 1,
                };
                caught += (an.attribute(0, &key, out, Some(wrong)) != framed) as u32;
            }
        }
        assert!(kinds[0] > 5000 && kinds[1] > 500 && kinds[2] > 100, "{kinds:?}");
        assert!(caught as u64 * 2 > kinds[0] as u64, "{caught} of {kinds:?}");
        eprintln!("forward/reply/pass/unknown {kinds:?}; attributed by the decision only: {later_only}");
    }
}
