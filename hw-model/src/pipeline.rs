//! The per-packet work of the pipeline, split the way the hardware splits
//! it, so the functional reference composes the stages directly and the
//! cycle model runs the same stages at the cycles its microarchitecture
//! gives them:
//!
//! 1. [`classify`]: parse, flow hash, VIP match (on-chip) -> what conntrack
//!    work the packet needs;
//! 2. [`execute`]: conntrack lookup / insert / evict, scheduling on a miss,
//!    RR pointer; applied strictly in packet order;
//! 3. [`emit`]: backend table read and the forwarding mode's rewrite.
//!
//! Routing rules (docs/spec.md, "Pipeline semantics"): first fragments use
//! the 5-tuple like any packet; later fragments carry no ports, so they go by
//! the 2-tuple flow hash through the Maglev table of the only VIP on their
//! address and protocol, without conntrack (dropped as unroutable when that
//! is ambiguous or the VIP is RR/WRR). ICMP errors are routed by the inner
//! packet's flow, reversed; they follow conntrack but never create entries,
//! and are dropped for NAT VIPs.

use crate::ct::{initial_state, tcp_flags, CtMem, CtTable, FullHints, Inserted, NewEntry};
use crate::device::{ActiveBank, Counters, Device};
use crate::packet::{self as wire, Frag, Parsed};
use lbnic_contract::lookup::{ct_bucket, flow_hash_ip, lookup_index, CtBuckets};
use lbnic_contract::target::ct::CtKey;
use lbnic_contract::target::entries::{addr_to_bytes, BackendState, Mode};
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
    /// For VIP `slot`; conntrack lookup in the candidate buckets `bucket`
    /// unless `stateless`.
    Vip {
        slot: u16,
        key: CtKey,
        hash: u32,
        bucket: CtBuckets,
        /// Later fragment or ICMP error: never inserts.
        stateless: bool,
        /// Later fragment: no conntrack at all, Maglev by 2-tuple hash.
        fragment: bool,
        tcp_flags: u8,
    },
    /// A later fragment for an address with several VIPs: no way to tell
    /// which one it belongs to.
    Unroutable,
    /// No VIP, but the bank has NAT VIPs: look for a NAT return entry.
    Reverse { key: CtKey, bucket: CtBuckets },
}

impl Class {
    /// Candidate buckets whose conntrack memory this packet reads, if any.
    pub fn bucket(&self) -> Option<CtBuckets> {
        match *self {
            Class::Vip {
                fragment: false,
                bucket,
                ..
            }
            | Class::Reverse { bucket, .. } => Some(bucket),
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
/// reports; none for a later fragment, which has no ports and is routed
/// without conntrack. What a sharded replay splits a trace by.
pub fn ct_key(p: &Parsed) -> Option<CtKey> {
    if let Some(inner) = &p.icmp_error {
        Some(reported_flow(inner, p.ipv6))
    } else if p.frag == Frag::Later {
        None
    } else {
        Some(own_flow(p))
    }
}

/// An ICMP error's flow: its inner packet went VIP -> client, so the
/// client's flow is that packet reversed.
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
    let (src, dst) = (bytes16(p.src), bytes16(p.dst));
    meta.class = if let Some(inner) = &p.icmp_error {
        // The inner packet went VIP -> client: its source is the VIP.
        match b.match_vip(&bytes16(inner.src), inner.proto, inner.sport) {
            Some(slot) => {
                let key = reported_flow(inner, v6);
                let hash = key.flow_hash(&b.tz);
                Class::Vip {
                    slot,
                    key,
                    hash,
                    bucket: ct_bucket(hash, ct_buckets),
                    stateless: true,
                    fragment: false,
                    tcp_flags: 0,
                }
            }
            None => Class::NoVip,
        }
    } else if p.frag == Frag::Later {
        match b.match_fragment(&dst, p.proto) {
            Ok(slot) => {
                let key = CtKey::new(p.proto, &src, 0, &dst, 0, v6);
                Class::Vip {
                    slot,
                    key,
                    hash: flow_hash_ip(&b.tz, p.src, p.dst, None),
                    bucket: CtBuckets { a: 0, b: 0 },
                    stateless: true,
                    fragment: true,
                    tcp_flags: 0,
                }
            }
            Err(0) => Class::NoVip,
            Err(_) => Class::Unroutable,
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
                    fragment: false,
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
}

impl Effects {
    /// The buckets read-modify-written beyond the packet's own.
    pub fn rmw(&self) -> &[u32] {
        &self.rmw[..self.n_rmw as usize]
    }
    fn add_rmw(&mut self, b: u32) {
        if !self.rmw().contains(&b) {
            self.rmw[self.n_rmw as usize] = b;
            self.n_rmw += 1;
        }
    }
}

/// What CT_EXEC works with besides the bank: the conntrack memory (the
/// region, or the bucket copies a packet received) and the device state
/// the stage updates.
pub struct Exec<'a, M: CtMem + ?Sized> {
    pub mem: &'a mut M,
    pub ct: CtTable,
    /// The per-bucket full hints (on-chip), refreshed for every bucket an
    /// insert writes.
    pub hints: &'a mut FullHints,
    /// The host owns conntrack (CONTROL.CT_HOST): no lookups.
    pub ct_host: bool,
    pub no_vip: MissAction,
    pub parse_action: MissAction,
    pub counters: &'a mut Counters,
    pub rr: &'a mut [u32],
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
    match m.class {
        Class::Bypass => Decision::Pass,
        Class::ParseError => miss(parse_action, Counter::DropParse),
        Class::NoVip => miss(no_vip, Counter::DropNoVip),
        Class::Unroutable => Decision::Drop(Counter::DropUnroutable),
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
                    ct.touch(mem, way, now, m.len, m.parsed.as_ref().map_or(0, |p| p.tcp_flags));
                    fx.writes += 1;
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
            fragment,
            tcp_flags: flags,
        } => {
            let Some(vip) = b.vip(slot) else {
                return miss(no_vip, Counter::DropNoVip);
            };
            let is_icmp = m.parsed.as_ref().is_some_and(|p| p.icmp_error.is_some());
            if is_icmp && vip.repr.mode == Mode::Nat {
                return Decision::Drop(Counter::DropUnroutable);
            }
            let to = b.to;
            // Conntrack lookup.
            let mut stale_way = None;
            if !fragment && !ct_host {
                let mem = &mut *x.mem;
                if let Some(way) = ct.find(mem, bucket, &key, false, now, &to) {
                    let (eslot, local, _) = ct.target_of(mem, way);
                    if eslot == slot && usable(b, slot, local) {
                        ct.touch(mem, way, now, m.len, flags);
                        fx.writes += 1;
                        x.counters.inc(Counter::CtHits);
                        return Decision::Forward { slot, local, hash };
                    }
                    stale_way = Some(way);
                }
                x.counters.inc(Counter::CtMisses);
            }
            // Schedule.
            if vip.table.is_empty() {
                return Decision::Drop(Counter::DropNoBackend);
            }
            let local = if vip.repr.sched.is_hashed() {
                vip.table[lookup_index(hash, vip.repr.lut_size) as usize]
            } else if stateless {
                return Decision::Drop(Counter::DropUnroutable);
            } else {
                let p = &mut x.rr[slot as usize];
                let l = vip.table[(*p % vip.repr.lut_size) as usize];
                *p = (*p + 1) % vip.repr.lut_size;
                l
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
            let ins = match stale_way {
                Some(w) => {
                    ct.overwrite(x.mem, w, &key, &entry, now);
                    Inserted::in_place(w)
                }
                None => ct.insert(x.mem, bucket, &key, &entry, now, &to, &b.tz, x.hints),
            };
            note_insert(x, ins, now, &to);
            count_insert(x.counters, ins, fx);
            if ins.slot.is_none() {
                // Refused (a SYN that would evict an established entry): the
                // scheduled backend takes it without state.
                return Decision::Forward { slot, local, hash };
            }
            if vip.repr.mode == Mode::Nat {
                let be = vip.backend(local).expect("scheduled backends exist");
                let bport = if be.repr.port != 0 {
                    be.repr.port
                } else {
                    key.dst_port()
                };
                let rkey = CtKey::new(
                    key.proto(),
                    &bytes16(be.repr.addr),
                    bport,
                    key.src(),
                    key.src_port(),
                    be.repr.addr.is_ipv6(),
                );
                let rb = ct_bucket(rkey.flow_hash(&b.tz), ct.buckets);
                for r in rb.iter() {
                    fx.add_rmw(r);
                }
                let rentry = NewEntry {
                    reverse: true,
                    ..entry
                };
                let ins = match ct.find(x.mem, rb, &rkey, true, now, &to) {
                    Some(w) => {
                        ct.overwrite(x.mem, w, &rkey, &rentry, now);
                        Inserted::in_place(w)
                    }
                    None => ct.insert(x.mem, rb, &rkey, &rentry, now, &to, &b.tz, x.hints),
                };
                note_insert(x, ins, now, &to);
                count_insert(x.counters, ins, fx);
            }
            Decision::Forward { slot, local, hash }
        }
    }
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
        fx.add_rmw(to);
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
/// Returns whether a frame leaves (then it is in `out`).
pub fn emit(
    frame: &[u8],
    bank: Option<&ActiveBank>,
    m: &Meta,
    d: Decision,
    out: &mut Vec<u8>,
    counters: &mut Counters,
) -> bool {
    let done = |out: &mut Vec<u8>, counters: &mut Counters| {
        counters.inc(Counter::TxPackets);
        counters.add(Counter::TxBytes, out.len() as u64);
        true
    };
    let (b, p) = match (d, bank, m.parsed.as_ref()) {
        (Decision::Pass, ..) => {
            counters.inc(Counter::PassPackets);
            out.clear();
            out.extend_from_slice(frame);
            return done(out, counters);
        }
        (Decision::Drop(c), ..) => {
            counters.inc(c);
            return false;
        }
        (_, Some(b), Some(p)) => (b, p),
        _ => {
            counters.inc(Counter::DropNoVip);
            return false;
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
                    wire::rewrite::nat_forward(frame, p, be.addr, port, be.mac, g.device_mac, max, out)
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
        Decision::Pass | Decision::Drop(_) => unreachable!("handled above"),
    };
    match r {
        Ok(()) => done(out, counters),
        Err(e) => {
            counters.inc(match e {
                wire::rewrite::RewriteError::TooBig { .. } => Counter::DropTooBig,
                #[allow(unreachable_patterns)]
                _ => Counter::DropParse,
            });
            false
        }
    }
}
