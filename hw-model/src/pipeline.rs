//! The per-packet work of the pipeline, split the way the hardware splits
//! it, so the functional reference composes the stages directly and the
//! cycle model runs the same stages at the cycles its microarchitecture
//! gives them:
//!
//! 1. [`classify`]: parse, flow hash, VIP match (on-chip) -> what conntrack
//!    work the packet needs;
//! 2. [`execute`]: conntrack lookup / insert / evict, scheduling on a miss,
//!    RR pointer; applied strictly in packet order;
//! 3. [`emit`]: backend table read and the forwarding mode's rewrite, or
//!    for a packet too big once rewritten, an ICMP too-big answer.
//!
//! Routing rules (docs/spec.md, "Pipeline semantics"): every fragment
//! (first or later) of VIP traffic is routed by its datagram's *fragment
//! entry* in conntrack, keyed on (source, destination, protocol,
//! identification) with FLAG_FRAG; a miss schedules by the 2-tuple hash
//! (hashed VIPs) or the RR pointer and inserts the entry, so all fragments
//! of a datagram reach one backend in any arrival order. ICMP errors are
//! routed by the inner packet's flow, reversed; they follow conntrack but
//! never create or refresh entries. For NAT VIPs they are translated both
//! ways (IPVS's `ip_vs_in_icmp` / `ip_vs_out_icmp`): an error about a reply
//! goes to the flow's backend, one about a forwarded packet (matched by the
//! NAT return entry) to the client, and both only on a conntrack hit.

use crate::ct::{initial_state, tcp_flags, CtMem, Inserted, NewEntry, Slot};
use crate::device::{ActiveBank, Counters, Device, Exec};
use crate::model::Sent;
use crate::packet::{self as wire, Frag, Parsed};
use lbnic_contract::lookup::{ct_bucket, flow_hash_ip, lookup_index, CtBuckets};
use lbnic_contract::target::ct::CtKey;
use lbnic_contract::target::entries::{addr_to_bytes, BackendState, Mode, TcpState};
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::MissAction;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What classification decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Not load-balancer traffic: the target's no-VIP action.
    NoVip,
    /// Unparsable: the target's parse-error action (already counted).
    ParseError,
    /// Pipeline disabled: forwarded unchanged.
    Bypass,
    /// For VIP `slot`; conntrack lookup in `bucket` (inserts unless
    /// `stateless`).
    Vip {
        slot: u16,
        key: CtKey,
        hash: u32,
        /// Candidate buckets.
        bucket: CtBuckets,
        /// ICMP error: never inserts.
        stateless: bool,
        tcp_flags: u8,
    },
    /// A fragment (first or later) of VIP traffic: routed by its datagram's
    /// fragment entry `key` (FLAG_FRAG) in `bucket`.
    Fragment {
        /// The VIP when the packet tells it: a first fragment by its ports,
        /// a later one when its (address, protocol) has a single VIP.
        /// `None`: several VIPs share it, and only a fragment entry (made
        /// by a fragment that did tell) knows which; a miss drops.
        slot: Option<u16>,
        key: CtKey,
        /// The address-pair ("IP only") flow hash, the same for every
        /// fragment of the datagram: the Maglev entry on a miss, and the
        /// tunnel entropy.
        hash: u32,
        bucket: CtBuckets,
    },
    /// No VIP, but the bank has NAT VIPs: look for a NAT return entry
    /// (an ICMP error: the one of the forwarded packet it quotes).
    Reverse { key: CtKey, bucket: CtBuckets },
}

impl Class {
    /// Candidate buckets whose conntrack memory this packet reads, if any.
    pub fn bucket(&self) -> Option<CtBuckets> {
        match *self {
            Class::Vip { bucket, .. } | Class::Fragment { bucket, .. } | Class::Reverse { bucket, .. } => {
                Some(bucket)
            }
            _ => None,
        }
    }
}

/// A packet with what the front stages found out about it.
#[derive(Debug, Clone)]
pub struct Meta {
    pub parsed: Option<Parsed>,
    pub class: Class,
    pub len: u32,
    /// Device time (ticks) at ingress.
    pub now: u32,
}

/// What conntrack and scheduling decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forward unchanged.
    Pass,
    Drop(Counter),
    /// To backend `local` of VIP `slot`.
    Forward {
        slot: u16,
        local: u16,
        hash: u32,
    },
    /// NAT reply from backend `local` of VIP `slot`: rewrite back to the VIP.
    ReverseNat {
        slot: u16,
        local: u16,
    },
}

fn bytes16(a: IpAddr) -> [u8; 16] {
    addr_to_bytes(a)
}

/// The conntrack key a packet's state lives under, and so (through its
/// flow hash) its bucket: its own 5-tuple; for an ICMP error, the flow it
/// reports (a client's flow, or for an error about a NAT-forwarded packet
/// the NAT return entry's key); for a fragment, its datagram's fragment
/// entry. What a sharded replay splits a trace by. (A first fragment of a
/// NAT reply is looked up by its 5-tuple instead, but banks with NAT VIPs
/// are not sharded.)
pub fn ct_key(p: &Parsed) -> Option<CtKey> {
    if let Some(inner) = &p.icmp_error {
        Some(reported_flow(inner, p.ipv6))
    } else if p.frag != Frag::None {
        Some(frag_key(p))
    } else {
        Some(own_flow(p))
    }
}

/// A fragment's datagram: its fragment entry's key.
fn frag_key(p: &Parsed) -> CtKey {
    CtKey::fragment(p.proto, &bytes16(p.src), &bytes16(p.dst), p.frag_id, p.ipv6)
}

/// An ICMP error's flow: the inner packet reversed. When it went VIP ->
/// client that is the client's flow; when it went client -> NAT backend,
/// the backend's reply flow, the key of the NAT return entry.
fn reported_flow(inner: &wire::Inner, v6: bool) -> CtKey {
    CtKey::new(
        inner.proto,
        &bytes16(inner.dst),
        inner.dport,
        &bytes16(inner.src),
        inner.sport,
        v6,
    )
}

fn own_flow(p: &Parsed) -> CtKey {
    CtKey::new(
        p.proto,
        &bytes16(p.src),
        p.sport,
        &bytes16(p.dst),
        p.dport,
        p.ipv6,
    )
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            parsed: None,
            class: Class::NoVip,
            len: 0,
            now: 0,
        }
    }
}

/// Stages 1-3: parse, hash, VIP match. Counts rx and parse errors.
pub fn classify(
    bank: Option<&ActiveBank>,
    enabled: bool,
    frame: &[u8],
    now: u32,
    ct_buckets: u32,
    counters: &mut Counters,
) -> Meta {
    let mut meta = Meta::default();
    classify_into(&mut meta, bank, enabled, frame, now, ct_buckets, counters);
    meta
}

/// [`classify`] into a packet slot's `Meta`, reusing its storage.
pub fn classify_into(
    meta: &mut Meta,
    bank: Option<&ActiveBank>,
    enabled: bool,
    frame: &[u8],
    now: u32,
    ct_buckets: u32,
    counters: &mut Counters,
) {
    counters.inc(Counter::RxPackets);
    counters.add(Counter::RxBytes, frame.len() as u64);
    meta.len = frame.len() as u32;
    meta.now = now;
    meta.class = Class::NoVip;
    if !enabled {
        meta.parsed = None;
        meta.class = Class::Bypass;
        return;
    }
    let p = meta.parsed.get_or_insert_with(Parsed::default);
    if let Err(e) = wire::parse_into(frame, p) {
        meta.parsed = None;
        if let Some(r) = e.reason() {
            counters.parse_error(r);
            meta.class = Class::ParseError;
        }
        return;
    }
    let Some(b) = bank else {
        return;
    };
    let v6 = p.ipv6;
    let dst = bytes16(p.dst);
    meta.class = if let Some(inner) = &p.icmp_error {
        // The inner packet went VIP -> client: its source is the VIP. Or
        // it went client -> NAT backend: a possible NAT return entry.
        let key = reported_flow(inner, v6);
        match b.match_vip(&bytes16(inner.src), inner.proto, inner.sport) {
            Some(slot) => {
                let hash = key.flow_hash(&b.tz);
                Class::Vip {
                    slot,
                    key,
                    hash,
                    bucket: ct_bucket(hash, ct_buckets),
                    stateless: true,
                    tcp_flags: 0,
                }
            }
            None if b.has_nat => Class::Reverse {
                key,
                bucket: ct_bucket(key.flow_hash(&b.tz), ct_buckets),
            },
            None => Class::NoVip,
        }
    } else if p.frag != Frag::None {
        // A first fragment tells its VIP by port; a later one only by
        // (address, protocol): `Err(n)` when n VIPs share that.
        let slot = if p.frag == Frag::First {
            b.match_vip(&dst, p.proto, p.dport).ok_or(0)
        } else {
            b.match_fragment(&dst, p.proto)
        };
        match slot {
            // A first fragment for no VIP may be a NAT reply (it has ports).
            Err(0) if p.frag == Frag::First && b.has_nat => {
                let key = own_flow(p);
                Class::Reverse {
                    key,
                    bucket: ct_bucket(key.flow_hash(&b.tz), ct_buckets),
                }
            }
            Err(0) => Class::NoVip,
            // Several VIPs: the fragment entry decides (`slot: None`).
            slot => {
                counters.inc(Counter::FragPackets);
                let key = frag_key(p);
                Class::Fragment {
                    slot: slot.ok(),
                    key,
                    hash: flow_hash_ip(&b.tz, p.src, p.dst, None),
                    bucket: ct_bucket(key.flow_hash(&b.tz), ct_buckets),
                }
            }
        }
    } else {
        let key = own_flow(p);
        match b.match_vip(&dst, p.proto, p.dport) {
            Some(slot) => {
                let hash = key.flow_hash(&b.tz);
                Class::Vip {
                    slot,
                    key,
                    hash,
                    bucket: ct_bucket(hash, ct_buckets),
                    stateless: false,
                    tcp_flags: p.tcp_flags,
                }
            }
            None if b.has_nat => Class::Reverse {
                key,
                bucket: ct_bucket(key.flow_hash(&b.tz), ct_buckets),
            },
            None => Class::NoVip,
        }
    };
}

/// Conntrack memory work `execute` did, for the cycle model's bandwidth
/// accounting: ways written in the packet's candidate buckets, and buckets
/// it did not read that it read-modify-wrote (a NAT return entry's
/// candidates, a relocation's target), each with one way written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    pub writes: u32,
    rmw: [u32; 4],
    n_rmw: u8,
    /// Of `rmw`, by index: a NAT return entry's candidate (the RTL posts
    /// it to a unit; a relocation's target it reads in line).
    nat: u8,
    /// The candidate the NAT return entry went into: the RTL's unit writes
    /// that bucket only, and a packet waiting on it takes the write.
    nat_to: Option<u32>,
    /// Both of the return entry's candidates had their full hint set as it
    /// was checked: no free way is certain, so the RTL's CT_EXEC inserts it
    /// in line, on its own reads of them (spec §12.3 decision 12).
    nat_inline: bool,
    /// The new NAT flow's VIP schedules by hash (Maglev): the RTL's
    /// CT_REQ pre-schedules its backend while its reads are out, so the
    /// return key is hashed, and checked for a unit, sooner.
    nat_hashed: bool,
    /// An insert found no free way (a relocation was searched for: the
    /// RTL reads the residents' hints and matches again): the packet's
    /// own, the NAT return entry's.
    own_search: bool,
    nat_search: bool,
    /// A relocation's target (the RTL posts it to a unit, which holds the
    /// bucket until its write): of the packet's own insert, of the NAT
    /// return entry's.
    own_moved: Option<u32>,
    nat_moved: Option<u32>,
}

impl Effects {
    /// The buckets read-modify-written beyond the packet's own.
    pub fn rmw(&self) -> &[u32] {
        &self.rmw[..self.n_rmw as usize]
    }
    /// Whether `rmw()[i]` is a NAT return entry's candidate.
    pub fn rmw_is_nat(&self, i: usize) -> bool {
        self.nat >> i & 1 != 0
    }
    /// The bucket the NAT return entry was written to (`None`: refused).
    pub fn nat_to(&self) -> Option<u32> {
        self.nat_to
    }
    /// The new NAT flow's VIP schedules by hash (see the field).
    pub fn nat_hashed(&self) -> bool {
        self.nat_hashed
    }
    /// The NAT return entry is inserted in line (see the field).
    pub fn nat_inline(&self) -> bool {
        self.nat_inline
    }
    /// The packet's own insert, and the NAT return entry's, found no free
    /// way and searched for a relocation.
    pub fn searched(&self) -> (bool, bool) {
        (self.own_search, self.nat_search)
    }
    /// The relocations' targets: of the packet's own insert, of the NAT
    /// return entry's.
    pub fn moved(&self) -> (Option<u32>, Option<u32>) {
        (self.own_moved, self.nat_moved)
    }
    /// (A bucket both a relocation's target and a return entry's candidate
    /// is two read-modify-writes, as in the RTL: the relocation's unit and
    /// the return entry's each read it.)
    fn add_rmw(&mut self, b: u32, nat: bool) {
        let same = |(i, &r): (usize, &u32)| r == b && self.rmw_is_nat(i) == nat;
        let i = match self.rmw().iter().enumerate().position(same) {
            Some(i) => i,
            None => {
                self.rmw[self.n_rmw as usize] = b;
                self.n_rmw += 1;
                self.n_rmw as usize - 1
            }
        };
        self.nat |= (nat as u8) << i;
    }
}

/// A backend a conntrack entry may still use: valid and not down.
fn usable(b: &ActiveBank, slot: u16, local: u16) -> bool {
    b.vip(slot)
        .and_then(|v| v.backend(local))
        .is_some_and(|be| be.repr.state != BackendState::Down)
}

/// Stage 4: conntrack and scheduling, in packet order. `bank` is the bank
/// the packet entered with (as for [`classify`]).
pub fn execute<B: AsRef<[u8]> + AsMut<[u8]>>(
    dev: &mut Device<B>,
    bank: Option<&ActiveBank>,
    m: &Meta,
) -> Decision {
    execute_with_effects(dev, bank, m).0
}

/// [`execute`] on the device's memory, also saying what it wrote.
pub fn execute_with_effects<B: AsRef<[u8]> + AsMut<[u8]>>(
    dev: &mut Device<B>,
    bank: Option<&ActiveBank>,
    m: &Meta,
) -> (Decision, Effects) {
    execute_on(&mut dev.exec_parts(), bank, m)
}

/// [`execute`] over any conntrack memory (the cycle model runs it over the
/// bucket copies the packet received).
pub fn execute_on<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    bank: Option<&ActiveBank>,
    m: &Meta,
) -> (Decision, Effects) {
    let mut fx = Effects::default();
    let d = execute_inner(x, bank, m, &mut fx);
    (d, fx)
}

fn execute_inner<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    bank: Option<&ActiveBank>,
    m: &Meta,
    fx: &mut Effects,
) -> Decision {
    let now = m.now;
    let ct_host = x.ct_host;
    let no_vip = x.no_vip;
    let parse_action = x.parse_action;
    let miss = |a: MissAction, c: Counter| match a {
        MissAction::Pass => Decision::Pass,
        MissAction::Drop => Decision::Drop(c),
    };
    let Some(b) = bank else {
        return match m.class {
            Class::Bypass => Decision::Pass,
            Class::ParseError => miss(parse_action, Counter::DropParse),
            _ => miss(no_vip, Counter::DropNoVip),
        };
    };
    let ct = x.ct;
    // ICMP errors read conntrack but never write it: not traffic of the
    // flow (IPVS does not restart a connection's timer for them), so a
    // stream of errors cannot keep a dead flow alive.
    let is_icmp = m.parsed.as_ref().is_some_and(|p| p.icmp_error.is_some());
    match m.class {
        Class::Bypass => Decision::Pass,
        Class::ParseError => miss(parse_action, Counter::DropParse),
        Class::NoVip => miss(no_vip, Counter::DropNoVip),
        Class::Reverse { key, bucket } => {
            if ct_host {
                return miss(no_vip, Counter::DropNoVip);
            }
            let to = b.to;
            let mem = &mut *x.mem;
            match ct.find(mem, bucket, &key, true, now, &to) {
                Some(way) => {
                    let (slot, local, _) = ct.target_of(mem, way);
                    if !usable(b, slot, local) {
                        return miss(no_vip, Counter::DropNoVip);
                    }
                    if !is_icmp {
                        ct.touch(mem, way, now, m.len, m.parsed.as_ref().map_or(0, |p| p.tcp_flags));
                        fx.writes += 1;
                    }
                    x.counters.inc(Counter::CtHits);
                    Decision::ReverseNat { slot, local }
                }
                None => miss(no_vip, Counter::DropNoVip),
            }
        }
        Class::Vip {
            slot,
            key,
            hash,
            bucket,
            stateless,
            tcp_flags: flags,
        } => {
            let Some(vip) = b.vip(slot) else {
                return miss(no_vip, Counter::DropNoVip);
            };
            // Conntrack lookup.
            let mut stale_way = None;
            if !ct_host {
                let touch = (!is_icmp).then_some(flags);
                match lookup(x, b, bucket, &key, m, |e| e == slot, touch, fx) {
                    Ok((_, local)) => return Decision::Forward { slot, local, hash },
                    Err(stale) => stale_way = stale,
                }
            }
            // An ICMP error about a NAT reply names the VIP, not the
            // backend whose packet the client bounced: only conntrack knows
            // it (a new flow's Maglev entry may be another backend).
            if is_icmp && vip.repr.mode == Mode::Nat {
                return Decision::Drop(Counter::DropUnroutable);
            }
            // Schedule.
            let local = match schedule(x, vip, slot, hash, !stateless) {
                Ok(l) => l,
                Err(c) => return Decision::Drop(c),
            };
            if stateless || ct_host || flags & tcp_flags::RST != 0 {
                return Decision::Forward { slot, local, hash };
            }
            // Insert (or re-point a stale entry in place).
            let entry = NewEntry {
                reverse: false,
                state: initial_state(key.proto(), flags),
                backend: local,
                vip: slot,
                bytes: m.len,
            };
            if put(x, b, bucket, stale_way, &key, &entry, now, fx).is_none() {
                // Refused (a SYN that would evict an established entry): the
                // scheduled backend takes it without state.
                return Decision::Forward { slot, local, hash };
            }
            if vip.repr.mode == Mode::Nat {
                nat_return(x, b, vip, &key, &entry, now, fx);
            }
            Decision::Forward { slot, local, hash }
        }
        Class::Fragment {
            slot,
            key,
            hash,
            bucket,
        } => {
            let mut stale_way = None;
            if !ct_host {
                // The entry names the VIP, which a later fragment on a
                // shared address cannot tell by itself. No TCP flags: the
                // entry is the datagram's, not the connection's, and keeps
                // state "none".
                let fits = |e: u16| slot.is_none_or(|s| s == e);
                match lookup(x, b, bucket, &key, m, fits, Some(0), fx) {
                    Ok((slot, local)) => return Decision::Forward { slot, local, hash },
                    Err(stale) => stale_way = stale,
                }
            }
            let Some(slot) = slot else {
                return Decision::Drop(Counter::DropFragAmbiguous);
            };
            let Some(vip) = b.vip(slot) else {
                return miss(no_vip, Counter::DropNoVip);
            };
            // Whichever fragment comes first schedules the datagram: the
            // 2-tuple hash gives every fragment the same Maglev entry; an
            // RR/WRR pick is as good as its entry, which the rest follow.
            let local = match schedule(x, vip, slot, hash, true) {
                Ok(l) => l,
                Err(c) => return Decision::Drop(c),
            };
            if ct_host {
                return Decision::Forward { slot, local, hash };
            }
            let entry = NewEntry {
                reverse: false,
                state: TcpState::None,
                backend: local,
                vip: slot,
                bytes: m.len,
            };
            if put(x, b, bucket, stale_way, &key, &entry, now, fx).is_none() {
                return Decision::Forward { slot, local, hash };
            }
            // A NAT reply matches the flow's return entry, so the first
            // fragment (the one with ports) makes it as a new flow would.
            if vip.repr.mode == Mode::Nat {
                if let Some(p) = m.parsed.as_ref().filter(|p| p.frag == Frag::First) {
                    let ret = NewEntry {
                        state: initial_state(p.proto, p.tcp_flags),
                        ..entry
                    };
                    nat_return(x, b, vip, &own_flow(p), &ret, now, fx);
                }
            }
            Decision::Forward { slot, local, hash }
        }
    }
}

/// A forward entry's lookup: a live entry for `key` whose VIP `fits` the
/// packet and whose backend is usable is a hit (VIP slot, backend),
/// refreshed with TCP flags `touch` unless `None` (an ICMP error); else a
/// miss, with the stale way to re-point if there is one. Counted.
#[allow(clippy::too_many_arguments)]
fn lookup<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    b: &ActiveBank,
    bucket: CtBuckets,
    key: &CtKey,
    m: &Meta,
    fits: impl Fn(u16) -> bool,
    touch: Option<u8>,
    fx: &mut Effects,
) -> Result<(u16, u16), Option<Slot>> {
    let ct = x.ct;
    let mem = &mut *x.mem;
    let Some(way) = ct.find(mem, bucket, key, false, m.now, &b.to) else {
        x.counters.inc(Counter::CtMisses);
        return Err(None);
    };
    let (slot, local, _) = ct.target_of(mem, way);
    if fits(slot) && usable(b, slot, local) {
        if let Some(flags) = touch {
            ct.touch(mem, way, m.now, m.len, flags);
            fx.writes += 1;
        }
        x.counters.inc(Counter::CtHits);
        return Ok((slot, local));
    }
    x.counters.inc(Counter::CtMisses);
    Err(Some(way))
}

/// The backend a new flow (or datagram) of VIP `slot` gets: the Maglev
/// entry of `hash`, or the RR/WRR pointer's (advanced). `may_advance`
/// false (an ICMP error) refuses RR/WRR instead of moving the pointer.
fn schedule<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    vip: &lbnic_contract::image::BankVip,
    slot: u16,
    hash: u32,
    may_advance: bool,
) -> Result<u16, Counter> {
    if vip.table.is_empty() {
        return Err(Counter::DropNoBackend);
    }
    if vip.repr.sched.is_hashed() {
        Ok(vip.table[lookup_index(hash, vip.repr.lut_size) as usize])
    } else if !may_advance {
        Err(Counter::DropUnroutable)
    } else {
        let p = &mut x.rr[slot as usize];
        let l = vip.table[(*p % vip.repr.lut_size) as usize];
        *p = (*p + 1) % vip.repr.lut_size;
        Ok(l)
    }
}

/// Insert `key` into its candidate buckets, or re-point its stale way in
/// place; counted. `None`: the insert was refused.
#[allow(clippy::too_many_arguments)]
fn put<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    b: &ActiveBank,
    bucket: CtBuckets,
    stale_way: Option<Slot>,
    key: &CtKey,
    entry: &NewEntry,
    now: u32,
    fx: &mut Effects,
) -> Option<Slot> {
    let ct = x.ct;
    let ins = match stale_way {
        Some(w) => {
            ct.overwrite(x.mem, w, key, entry, now);
            Inserted::in_place(w)
        }
        None => ct.insert(x.mem, bucket, key, entry, now, &b.to, &b.tz, x.hints),
    };
    let searched = stale_way.is_none() && (ins.slot.is_none() || ins.evicted || ins.moved_to.is_some());
    if entry.reverse {
        fx.nat_search = searched;
        fx.nat_moved = ins.moved_to;
    } else {
        fx.own_search = searched;
        fx.own_moved = ins.moved_to;
    }
    note_insert(x, ins, now, &b.to);
    count_insert(x.counters, ins, fx);
    ins.slot
}

/// A new NAT flow's return entry (backend address and port -> client), in
/// that key's candidate buckets: read-modify-written, beyond the packet's
/// own.
fn nat_return<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    b: &ActiveBank,
    vip: &lbnic_contract::image::BankVip,
    flow: &CtKey,
    entry: &NewEntry,
    now: u32,
    fx: &mut Effects,
) {
    let be = vip.backend(entry.backend).expect("scheduled backends exist");
    let bport = if be.repr.port != 0 {
        be.repr.port
    } else {
        flow.dst_port()
    };
    let rkey = CtKey::new(
        flow.proto(),
        &bytes16(be.repr.addr),
        bport,
        flow.src(),
        flow.src_port(),
        be.repr.addr.is_ipv6(),
    );
    let ct = x.ct;
    let rb = ct_bucket(rkey.flow_hash(&b.tz), ct.buckets);
    for r in rb.iter() {
        fx.add_rmw(r, true);
    }
    let rentry = NewEntry {
        reverse: true,
        ..*entry
    };
    let stale = ct.find(&*x.mem, rb, &rkey, true, now, &b.to);
    fx.nat_inline = rb.iter().all(|r| x.hints.is_full(r));
    fx.nat_hashed = vip.repr.sched.is_hashed();
    fx.nat_to = put(x, b, rb, stale, &rkey, &rentry, now, fx).map(|s| s.bucket);
}

/// Count an insert and note its writes: the entry's way (in the packet's
/// buckets, or a NAT return bucket's read-modify-write) and a relocation's
/// read-modify-write of the resident's other bucket.
/// Refresh the full hints of the buckets an insert wrote (only inserts fill
/// ways; a hit or the scrubber never makes a bucket fuller).
fn note_insert<M: CtMem + ?Sized>(
    x: &mut Exec<'_, M>,
    ins: Inserted,
    now: u32,
    to: &crate::ct::TimeoutTicks,
) {
    for b in ins.slot.map(|s| s.bucket).into_iter().chain(ins.moved_to) {
        let full = !x.ct.has_free(&*x.mem, b, now, to);
        x.hints.set(b, full);
    }
}

fn count_insert(c: &mut Counters, ins: Inserted, fx: &mut Effects) {
    if ins.slot.is_none() {
        c.inc(Counter::CtInsertRefused);
        return;
    }
    fx.writes += 1;
    c.inc(Counter::CtInserts);
    if ins.evicted {
        c.inc(Counter::CtEvictions);
    }
    if ins.aged {
        c.inc(Counter::CtAgeouts);
    }
    if let Some(to) = ins.moved_to {
        c.inc(Counter::CtRelocations);
        fx.writes += 1;
        fx.add_rmw(to, false);
    }
}

/// Host bits of a tunnel source from the flow hash, so receivers' RSS sees
/// per-flow entropy in the outer header.
fn tunnel_source(b: &ActiveBank, backend_v6: bool, hash: u32) -> IpAddr {
    let g = &b.bank.global;
    if backend_v6 {
        let p = u128::from(g.tun_src_v6);
        let host_bits = 128 - g.tun_src_v6_len as u32;
        let mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        IpAddr::V6(Ipv6Addr::from((p & !mask) | (hash as u128 & mask)))
    } else {
        let p = u32::from(g.tun_src_v4);
        let host_bits = 32 - g.tun_src_v4_len as u32;
        let mask = if host_bits >= 32 {
            u32::MAX
        } else {
            (1u32 << host_bits) - 1
        };
        IpAddr::V4(Ipv4Addr::from((p & !mask) | (hash & mask)))
    }
}

/// Stage 5: backend table read and rewrite. Counts tx / pass / drops.
/// Returns what leaves, if a frame does (then it is in `out`): the
/// rewritten packet, or in its place an ICMP too-big answer to the client
/// (see [`too_big`]), which takes a token of `icmp`.
pub fn emit(
    frame: &[u8],
    bank: Option<&ActiveBank>,
    m: &Meta,
    d: Decision,
    out: &mut Vec<u8>,
    counters: &mut Counters,
    icmp: &mut wire::icmp::RateLimit,
) -> Option<Sent> {
    let done = |out: &mut Vec<u8>, counters: &mut Counters, sent: Sent| {
        counters.inc(Counter::TxPackets);
        counters.add(Counter::TxBytes, out.len() as u64);
        Some(sent)
    };
    let (b, p) = match (d, bank, m.parsed.as_ref()) {
        (Decision::Pass, ..) => {
            counters.inc(Counter::PassPackets);
            out.clear();
            out.extend_from_slice(frame);
            return done(out, counters, Sent::Pass);
        }
        (Decision::Drop(c), ..) => {
            counters.inc(c);
            return None;
        }
        (_, Some(b), Some(p)) => (b, p),
        _ => {
            counters.inc(Counter::DropNoVip);
            return None;
        }
    };
    let g = &b.bank.global;
    let max = g.max_frame as usize;
    let r = match d {
        Decision::Forward { slot, local, hash } => {
            let vip = b.vip(slot).expect("decided on an existing VIP");
            let be = &vip.backend(local).expect("decided on an existing backend").repr;
            match vip.repr.mode {
                Mode::Dr => wire::rewrite::dr(frame, p, be.mac, g.device_mac, max, out),
                Mode::Nat => {
                    let port = (be.port != 0).then_some(be.port);
                    match &p.icmp_error {
                        Some(inner) => wire::icmp_nat::nat_icmp(
                            frame,
                            p,
                            inner,
                            wire::icmp_nat::Way::ToBackend,
                            be.addr,
                            port,
                            be.mac,
                            g.device_mac,
                            max,
                            out,
                        ),
                        None => wire::rewrite::nat_forward(
                            frame,
                            p,
                            be.addr,
                            port,
                            be.mac,
                            g.device_mac,
                            max,
                            out,
                        ),
                    }
                }
                Mode::TunIpip | Mode::TunGue => {
                    let outer = wire::rewrite::Outer {
                        src: tunnel_source(b, be.addr.is_ipv6(), hash),
                        dst: be.addr,
                        flow_label: hash & 0xf_ffff,
                        dst_mac: be.mac,
                        src_mac: g.device_mac,
                    };
                    if vip.repr.mode == Mode::TunIpip {
                        wire::rewrite::encap_ipip(frame, p, &outer, max, out)
                    } else {
                        let sport = 0xc000 | (hash as u16 & 0x3fff);
                        wire::rewrite::encap_gue(frame, p, &outer, sport, g.gue_port, max, out)
                    }
                }
            }
        }
        Decision::ReverseNat { slot, local } => {
            let vip = b.vip(slot).expect("decided on an existing VIP");
            let be = &vip.backend(local).expect("decided on an existing backend").repr;
            match &p.icmp_error {
                // An error about a packet forwarded to the backend: the
                // quote's destination (and port) back to the VIP's.
                Some(inner) => wire::icmp_nat::nat_icmp(
                    frame,
                    p,
                    inner,
                    wire::icmp_nat::Way::ToClient,
                    vip.repr.addr,
                    (be.port != 0).then_some(vip.repr.port),
                    g.gateway_mac,
                    g.device_mac,
                    max,
                    out,
                ),
                None => {
                    let sport = if be.port != 0 { vip.repr.port } else { p.sport };
                    wire::rewrite::nat_reverse(
                        frame,
                        p,
                        vip.repr.addr,
                        sport,
                        g.gateway_mac,
                        g.device_mac,
                        max,
                        out,
                    )
                }
            }
        }
        Decision::Pass | Decision::Drop(_) => unreachable!("handled above"),
    };
    match r {
        Ok(()) => {
            let sent = match d {
                Decision::Forward { slot, local, .. } => Sent::Forward { slot, local },
                Decision::ReverseNat { slot, local } => Sent::Reply { slot, local },
                Decision::Pass | Decision::Drop(_) => unreachable!("handled above"),
            };
            done(out, counters, sent)
        }
        Err(wire::rewrite::RewriteError::TooBig { len, max }) => {
            counters.inc(Counter::DropTooBig);
            // Client -> backend only: a NAT reply's sender is a backend,
            // whose own stack learns the MTU from the next router.
            if matches!(d, Decision::Forward { .. })
                && too_big(frame, p, g, m.now, len, max, out, counters, icmp)
            {
                return done(out, counters, Sent::TooBig);
            }
            None
        }
        Err(_) => {
            counters.inc(Counter::DropParse);
            None
        }
    }
}

/// A packet whose rewrite came to `len` bytes, over `max`: answer the
/// client with the MTU it must use, if it may be answered and the device's
/// ICMP budget allows (counted either way). The MTU is `max` less what the
/// frame carries besides the client's IP packet (the L2 header with its
/// VLAN tags, the mode's outer headers: IPIP 20/40, GUE 28/48, DR/NAT
/// none), so a packet of that size fits once rewritten. Public for the RTL
/// test vectors (`rtl_vectors_icmp`), which check the hardware against it.
#[allow(clippy::too_many_arguments)]
pub fn too_big(
    frame: &[u8],
    p: &Parsed,
    g: &lbnic_contract::target::entries::GlobalRepr,
    now: u32,
    len: usize,
    max: usize,
    out: &mut Vec<u8>,
    counters: &mut Counters,
    icmp: &mut wire::icmp::RateLimit,
) -> bool {
    let mtu = max.saturating_sub(len.saturating_sub(p.l3_len));
    if wire::icmp::answerable(frame, p, mtu).is_err() {
        return false;
    }
    if !icmp.take(now, g.icmp_rate, g.icmp_burst) {
        counters.inc(Counter::IcmpRateLimited);
        return false;
    }
    wire::icmp::too_big(frame, p, mtu, g.device_mac, g.max_frame as usize, out);
    counters.inc(Counter::IcmpTooBigSent);
    true
}
