//! Conntrack, operating directly on the CONNTRACK region bytes in the
//! contract's layout, so a host dump or preload is plain memory access.
//!
//! Organisation (docs/spec.md, "Conntrack semantics"): d-left hashing with
//! two choices. A key has two candidate buckets ([`CtBuckets`]), one per
//! sub-table (memory channel group), both read for every packet. A way is
//! *free* if it is invalid or expired at the packet's ingress time; lookups
//! ignore expired ways. An insert takes the candidate with more free ways
//! (bucket `a` on a tie), its lowest free way. With both full it relocates
//! one resident to the resident's other candidate bucket if that has a free
//! way (one level of cuckoo, a read-modify-write of that bucket), else
//! evicts by class: embryonic (SYN seen, fragment) first, then closing,
//! then the rest, the least recently seen first within a class; a new SYN
//! is not inserted rather than evict an established entry.

use lbnic_contract::lookup::{ct_bucket, CtBuckets};
use lbnic_contract::target::ct::{CtMatch, CtWay};
use lbnic_contract::target::entries::{GlobalRepr, TcpState, CT_WAY_LEN};
use lbnic_contract::target::MemoryMap;
use lbnic_contract::toeplitz::Toeplitz;

use lbnic_contract::target::ct::CtKey;

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// Conntrack timeouts in ticks, from the bank's GLOBAL section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutTicks {
    pub syn: u32,
    pub est: u32,
    pub fin: u32,
    pub udp: u32,
}

impl TimeoutTicks {
    pub fn from_global(g: &GlobalRepr) -> TimeoutTicks {
        TimeoutTicks {
            syn: g.timeout_tcp_syn,
            est: g.timeout_tcp_est,
            fin: g.timeout_tcp_fin,
            udp: g.timeout_udp,
        }
    }
    fn of(&self, proto: u8, state: u8) -> u32 {
        if proto != 6 {
            return self.udp;
        }
        match TcpState::from_code(state) {
            Some(TcpState::SynSeen) => self.syn,
            Some(TcpState::Closing) | Some(TcpState::Closed) => self.fin,
            _ => self.est,
        }
    }
}

/// Where conntrack buckets are: the whole region (the functional model, the
/// host), or the copies of its buckets a packet received (the cycle model's
/// CT_EXEC), so the same semantics run over either.
pub trait CtMem {
    /// Bucket `b`'s `len` bytes.
    fn bucket(&self, b: u32, len: usize) -> &[u8];
    fn bucket_mut(&mut self, b: u32, len: usize) -> &mut [u8];
}

impl CtMem for [u8] {
    fn bucket(&self, b: u32, len: usize) -> &[u8] {
        &self[b as usize * len..][..len]
    }
    fn bucket_mut(&mut self, b: u32, len: usize) -> &mut [u8] {
        &mut self[b as usize * len..][..len]
    }
}

/// The on-chip "full" hint, one bit per bucket (set: the bucket had no free
/// way when a packet last wrote it). It picks a relocation's target without
/// reading the bucket: a clear bit means the bucket still has a free way,
/// since only packets fill ways and each one refreshes the bits of the
/// buckets it writes (the scrubber only frees ways). Zero (all free) for
/// an empty table.
#[derive(Debug, Clone)]
pub struct FullHints(Vec<u64>);

impl FullHints {
    pub fn new(buckets: u32) -> FullHints {
        FullHints(vec![0; (buckets as usize).div_ceil(64)])
    }
    pub fn is_full(&self, b: u32) -> bool {
        self.0[b as usize / 64] >> (b % 64) & 1 != 0
    }
    pub fn set(&mut self, b: u32, full: bool) {
        let w = &mut self.0[b as usize / 64];
        *w = (*w & !(1 << (b % 64))) | ((full as u64) << (b % 64));
    }
    /// Every bucket free (the table was cleared).
    pub fn clear(&mut self) {
        self.0.fill(0);
    }
}

/// Geometry of the table; the memory is passed to each call so the same
/// code runs over a `Vec`, a shared-memory file, a device mapping or a
/// packet's bucket copies.
#[derive(Debug, Clone, Copy)]
pub struct CtTable {
    pub buckets: u32,
    pub ways: u32,
}

/// A way of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub bucket: u32,
    pub way: u32,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// Where the entry went; `None`: refused (see [`CtTable::insert`]).
    pub slot: Option<Slot>,
    /// A live entry was evicted to make room.
    pub evicted: bool,
    /// An expired entry was reclaimed.
    pub aged: bool,
    /// A resident was relocated into this bucket (a read-modify-write of a
    /// bucket the packet did not read).
    pub moved_to: Option<u32>,
}

impl Inserted {
    /// Re-pointing a way the key already had.
    pub fn in_place(slot: Slot) -> Inserted {
        Inserted {
            slot: Some(slot),
            evicted: false,
            aged: false,
            moved_to: None,
        }
    }
}

/// A new entry's fields besides the key.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry {
    pub reverse: bool,
    pub state: TcpState,
    pub backend: u16,
    pub vip: u16,
    pub bytes: u32,
}

/// Eviction class of a live way: lower goes first.
fn class<T: AsRef<[u8]>>(w: &CtWay<T>) -> u8 {
    if w.is_fragment() {
        return 0;
    }
    if w.proto() != 6 {
        return 2;
    }
    match TcpState::from_code(w.tcp_state()) {
        Some(TcpState::SynSeen) => 0,
        Some(TcpState::Closing) | Some(TcpState::Closed) => 1,
        _ => 2,
    }
}

impl CtTable {
    pub fn from_map(map: &MemoryMap, ways: u32) -> CtTable {
        CtTable {
            buckets: (map.ct_len() / map.ct_bucket_len) as u32,
            ways,
        }
    }

    fn blen(&self) -> usize {
        self.ways as usize * CT_WAY_LEN
    }

    /// A key's candidate buckets.
    pub fn candidates(&self, flow_hash: u32) -> CtBuckets {
        ct_bucket(flow_hash, self.buckets)
    }

    /// Bytes of `bucket` in the CONNTRACK region.
    pub fn bucket_range(&self, bucket: u32) -> std::ops::Range<usize> {
        let o = bucket as usize * self.blen();
        o..o + self.blen()
    }

    fn way<'m, M: CtMem + ?Sized>(&self, mem: &'m M, s: Slot) -> CtWay<&'m [u8]> {
        let o = s.way as usize * CT_WAY_LEN;
        CtWay::new_unchecked(&mem.bucket(s.bucket, self.blen())[o..o + CT_WAY_LEN])
    }

    fn way_mut<'m, M: CtMem + ?Sized>(&self, mem: &'m mut M, s: Slot) -> CtWay<&'m mut [u8]> {
        let o = s.way as usize * CT_WAY_LEN;
        CtWay::new_unchecked(&mut mem.bucket_mut(s.bucket, self.blen())[o..o + CT_WAY_LEN])
    }

    /// Expired at device time `now` (ticks): idle for longer than its
    /// state's timeout (32-bit wrapping arithmetic, as the hardware does).
    /// A fragment entry lives as long as an embryonic connection (the SYN
    /// timeout, 30 s by default, Linux's `ipfrag_time`): a datagram's
    /// fragments arrive together or never.
    pub fn expired<T: AsRef<[u8]>>(w: &CtWay<T>, now: u32, to: &TimeoutTicks) -> bool {
        let idle = now.wrapping_sub(w.last_seen());
        let limit = if w.is_fragment() {
            to.syn
        } else {
            to.of(w.proto(), w.tcp_state())
        };
        idle > limit
    }

    fn is_free<T: AsRef<[u8]>>(w: &CtWay<T>, now: u32, to: &TimeoutTicks) -> bool {
        !w.is_valid() || Self::expired(w, now, to)
    }

    /// The live way holding `key` (forward or reverse entry), if any, in
    /// either candidate bucket.
    pub fn find<M: CtMem + ?Sized>(
        &self,
        mem: &M,
        c: CtBuckets,
        key: &CtKey,
        reverse: bool,
        now: u32,
        to: &TimeoutTicks,
    ) -> Option<Slot> {
        let m = CtMatch::new(key, reverse);
        c.iter().find_map(|bucket| {
            mem.bucket(bucket, self.blen())
                .chunks_exact(CT_WAY_LEN)
                .map(CtWay::new_unchecked)
                .position(|e| e.matches(&m) && !Self::expired(&e, now, to))
                .map(|w| Slot {
                    bucket,
                    way: w as u32,
                })
        })
    }

    /// Read a way's (VIP slot, VIP-local backend, TCP state).
    pub fn target_of<M: CtMem + ?Sized>(&self, mem: &M, s: Slot) -> (u16, u16, u8) {
        let e = self.way(mem, s);
        (e.vip(), e.backend(), e.tcp_state())
    }

    /// A hit: refresh the timestamp, count the packet, advance TCP state.
    pub fn touch<M: CtMem + ?Sized>(&self, mem: &mut M, s: Slot, now: u32, len: u32, flags: u8) {
        let mut e = self.way_mut(mem, s);
        e.set_last_seen(now);
        e.set_packets(e.packets().wrapping_add(1));
        e.set_bytes(e.bytes().wrapping_add(len as u64));
        if e.proto() == 6 {
            e.set_tcp_state(next_state(e.tcp_state(), flags).code());
        }
    }

    /// Whether `bucket` has a free way at `now`.
    pub fn has_free<M: CtMem + ?Sized>(&self, mem: &M, bucket: u32, now: u32, to: &TimeoutTicks) -> bool {
        self.free_ways(mem, bucket, now, to).1.is_some()
    }

    /// Refresh the full hints from memory after a host write (no expiry:
    /// a bucket with only valid ways counts as full).
    pub fn refresh_hints(&self, mem: &[u8], hints: &mut FullHints) {
        for b in 0..self.buckets {
            let full = mem
                .bucket(b, self.blen())
                .chunks_exact(CT_WAY_LEN)
                .all(|e| CtWay::new_unchecked(e).is_valid());
            hints.set(b, full);
        }
    }

    /// Free ways of `bucket` at `now` and the lowest one.
    fn free_ways<M: CtMem + ?Sized>(
        &self,
        mem: &M,
        bucket: u32,
        now: u32,
        to: &TimeoutTicks,
    ) -> (u32, Option<u32>) {
        let mut n = 0;
        let mut first = None;
        for (w, e) in mem
            .bucket(bucket, self.blen())
            .chunks_exact(CT_WAY_LEN)
            .enumerate()
        {
            if Self::is_free(&CtWay::new_unchecked(e), now, to) {
                n += 1;
                first.get_or_insert(w as u32);
            }
        }
        (n, first)
    }

    /// Insert `key` into one of its candidate buckets `c` (see the module
    /// doc). `tz` gives residents' candidates, `hints` which of their other
    /// buckets have a free way: the relocation reads and writes that
    /// bucket, which `mem` must hold (the cycle model's posted
    /// read-modify-write).
    #[allow(clippy::too_many_arguments)]
    pub fn insert<M: CtMem + ?Sized>(
        &self,
        mem: &mut M,
        c: CtBuckets,
        key: &CtKey,
        n: &NewEntry,
        now: u32,
        to: &TimeoutTicks,
        tz: &Toeplitz,
        hints: &FullHints,
    ) -> Inserted {
        let mut best: Option<(u32, u32, u32)> = None; // (free, bucket, way)
        for bucket in c.iter() {
            if let (k, Some(w)) = self.free_ways(mem, bucket, now, to) {
                if best.is_none_or(|b| k > b.0) {
                    best = Some((k, bucket, w));
                }
            }
        }
        let mut ins = Inserted {
            slot: None,
            evicted: false,
            aged: false,
            moved_to: None,
        };
        let slot = if let Some((_, bucket, way)) = best {
            let s = Slot { bucket, way };
            ins.aged = self.way(mem, s).is_valid();
            s
        } else if let Some((s, d, aged)) = self.relocation(mem, c, now, to, tz, hints) {
            // One level of cuckoo: the resident moves to its other bucket.
            let resident: [u8; CT_WAY_LEN] = self.way(mem, s).into_inner().try_into().expect("one way");
            let mut w = self.way_mut(mem, d);
            w.clear();
            w.into_inner().copy_from_slice(&resident);
            ins.aged = aged;
            ins.moved_to = Some(d.bucket);
            s
        } else {
            // Evict: lowest class, then least recently seen, then first.
            let mut victim: Option<((u8, std::cmp::Reverse<u32>), Slot)> = None;
            for bucket in c.iter() {
                for way in 0..self.ways {
                    let s = Slot { bucket, way };
                    let e = self.way(mem, s);
                    let k = (class(&e), std::cmp::Reverse(now.wrapping_sub(e.last_seen())));
                    if victim.is_none_or(|v| k < v.0) {
                        victim = Some((k, s));
                    }
                }
            }
            let (k, s) = victim.expect("a bucket has ways");
            if k.0 == 2 && n.state == TcpState::SynSeen {
                return ins;
            }
            ins.evicted = true;
            s
        };
        self.overwrite(mem, slot, key, n, now);
        ins.slot = Some(slot);
        ins
    }

    /// The first resident of `c` (bucket `a`'s ways, then `b`'s) whose other
    /// candidate bucket is not marked full in `hints`: (its slot, the
    /// lowest free way there, whether that way is an expired entry).
    /// Fragment entries stay put (they are short-lived, and placed by their
    /// own hash). The target is read-modify-written: its free way is found
    /// on the data read (a clear hint guarantees one; without one there is
    /// no relocation).
    fn relocation<M: CtMem + ?Sized>(
        &self,
        mem: &M,
        c: CtBuckets,
        now: u32,
        to: &TimeoutTicks,
        tz: &Toeplitz,
        hints: &FullHints,
    ) -> Option<(Slot, Slot, bool)> {
        for bucket in c.iter() {
            for way in 0..self.ways {
                let s = Slot { bucket, way };
                let e = self.way(mem, s);
                if e.is_fragment() {
                    continue;
                }
                let rc = self.candidates(e.key().flow_hash(tz));
                let other = if rc.a == bucket {
                    rc.b
                } else if rc.b == bucket {
                    rc.a
                } else {
                    continue; // not placed by this table's hash (another key)
                };
                if other == c.a || other == c.b || hints.is_full(other) {
                    continue;
                }
                let (_, w) = self.free_ways(mem, other, now, to);
                let d = Slot {
                    bucket: other,
                    way: w?,
                };
                return Some((s, d, self.way(mem, d).is_valid()));
            }
        }
        None
    }

    /// Reclaim every way of `bucket` expired at `horizon`; returns how many.
    pub fn sweep<M: CtMem + ?Sized>(&self, mem: &mut M, bucket: u32, horizon: u32, to: &TimeoutTicks) -> u32 {
        let mut n = 0;
        for way in 0..self.ways {
            let mut e = self.way_mut(mem, Slot { bucket, way });
            if e.is_valid() && Self::expired(&e, horizon, to) {
                e.clear();
                n += 1;
            }
        }
        n
    }

    /// Ways of `bucket` a [`CtTable::sweep`] at `horizon` would reclaim.
    pub fn expired_ways<M: CtMem + ?Sized>(
        &self,
        mem: &M,
        bucket: u32,
        horizon: u32,
        to: &TimeoutTicks,
    ) -> u32 {
        (0..self.ways)
            .filter(|&way| {
                let e = self.way(mem, Slot { bucket, way });
                e.is_valid() && Self::expired(&e, horizon, to)
            })
            .count() as u32
    }

    /// Count of valid, unexpired ways (for reports).
    pub fn live(&self, mem: &[u8], now: u32, to: &TimeoutTicks) -> u64 {
        mem.chunks_exact(CT_WAY_LEN)
            .map(CtWay::new_unchecked)
            .filter(|e| e.is_valid() && !Self::expired(e, now, to))
            .count() as u64
    }
}

/// TCP state after a packet with `flags` on an existing entry.
pub fn next_state(cur: u8, flags: u8) -> TcpState {
    use tcp_flags::*;
    let cur = TcpState::from_code(cur).unwrap_or(TcpState::None);
    if flags & RST != 0 {
        return TcpState::Closed;
    }
    if flags & FIN != 0 {
        return if cur == TcpState::Closed {
            cur
        } else {
            TcpState::Closing
        };
    }
    match cur {
        TcpState::SynSeen | TcpState::None if flags & ACK != 0 && flags & SYN == 0 => TcpState::Established,
        s => s,
    }
}

/// State of a new entry created by a packet with `flags` (TCP) or UDP.
pub fn initial_state(proto: u8, flags: u8) -> TcpState {
    use tcp_flags::*;
    if proto != 6 {
        TcpState::None
    } else if flags & SYN != 0 && flags & ACK == 0 {
        TcpState::SynSeen
    } else {
        // Picked up mid-stream (e.g. after a failover without preload).
        TcpState::Established
    }
}

impl CtTable {
    /// Re-point an existing way (stale VIP/backend, or a NAT return entry
    /// being refreshed) as a fresh entry.
    pub fn overwrite<M: CtMem + ?Sized>(&self, mem: &mut M, s: Slot, key: &CtKey, n: &NewEntry, now: u32) {
        let mut e = self.way_mut(mem, s);
        e.clear();
        e.set_key(key);
        e.set_flags(key.flags(n.reverse));
        e.set_tcp_state(n.state.code());
        e.set_backend(n.backend);
        e.set_vip(n.vip);
        e.set_last_seen(now);
        e.set_created(now);
        e.set_packets(1);
        e.set_bytes(n.bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: TimeoutTicks = TimeoutTicks {
        syn: 5,
        est: 100,
        fin: 10,
        udp: 50,
    };

    fn key(i: u8) -> CtKey {
        let mut s = [0u8; 16];
        s[10] = 0xff;
        s[11] = 0xff;
        s[15] = i;
        CtKey::new(6, &s, 1000 + i as u16, &s, 80, false)
    }

    fn entry(vip: u16) -> NewEntry {
        NewEntry {
            reverse: false,
            state: TcpState::Established,
            backend: 3,
            vip,
            bytes: 60,
        }
    }

    fn tz() -> Toeplitz {
        Toeplitz::new(&lbnic_contract::toeplitz::DEFAULT_KEY)
    }

    fn entry_in(vip: u16, state: TcpState) -> NewEntry {
        NewEntry { state, ..entry(vip) }
    }

    #[test]
    fn insert_find_touch_evict_expire() {
        // Two buckets, one page: every key's candidates are 0 and 1.
        let t = CtTable { buckets: 2, ways: 2 };
        let c = t.candidates(0x1234);
        assert_eq!((c.a, c.b), (0, 1));
        let tz = tz();
        let h = FullHints::new(t.buckets);
        let mut mem = vec![0u8; 2 * 2 * CT_WAY_LEN];
        let m = &mut mem[..];
        assert_eq!(t.find(m, c, &key(1), false, 0, &TO), None);
        let at = |b, w| Some(Slot { bucket: b, way: w });
        // d-left: the emptier candidate, bucket a on a tie.
        let a = t.insert(m, c, &key(1), &entry(7), 10, &TO, &tz, &h);
        assert_eq!((a.slot, a.evicted, a.aged), (at(0, 0), false, false));
        assert_eq!(
            t.insert(m, c, &key(2), &entry(7), 20, &TO, &tz, &h).slot,
            at(1, 0)
        );
        assert_eq!(
            t.insert(m, c, &key(3), &entry(7), 30, &TO, &tz, &h).slot,
            at(0, 1)
        );
        assert_eq!(
            t.insert(m, c, &key(4), &entry(7), 35, &TO, &tz, &h).slot,
            at(1, 1)
        );
        assert_eq!(t.find(m, c, &key(2), false, 40, &TO), at(1, 0));
        assert_eq!(
            t.find(m, c, &key(2), true, 40, &TO),
            None,
            "reverse flag must match"
        );
        let s = at(0, 0).unwrap();
        assert_eq!(t.target_of(m, s), (7, 3, TcpState::Established.code()));
        t.touch(m, s, 40, 100, tcp_flags::ACK);
        // Full, nowhere to relocate (one page of two buckets): a SYN may not
        // evict an established entry...
        let r = t.insert(m, c, &key(5), &entry_in(7, TcpState::SynSeen), 50, &TO, &tz, &h);
        assert_eq!((r.slot, r.evicted), (None, false));
        // ...a mid-stream entry evicts the least recently seen (key 2, 20).
        let e = t.insert(m, c, &key(6), &entry(7), 50, &TO, &tz, &h);
        assert_eq!((e.slot, e.evicted), (at(1, 0), true));
        assert_eq!(t.find(m, c, &key(2), false, 50, &TO), None);
        // Key 1 (seen at 40) expires after 100 idle ticks.
        assert_eq!(t.find(m, c, &key(1), false, 140, &TO), at(0, 0));
        assert_eq!(t.find(m, c, &key(1), false, 141, &TO), None);
        let d = t.insert(m, c, &key(7), &entry(7), 200, &TO, &tz, &h);
        assert_eq!((d.aged, d.evicted), (true, false));
        assert_eq!(t.sweep(m, 0, 1000, &TO) + t.sweep(m, 1, 1000, &TO), 4);
        assert_eq!(t.live(m, 0, &TO), 0);
    }

    #[test]
    fn embryonic_entries_go_first() {
        let t = CtTable { buckets: 2, ways: 2 };
        let c = t.candidates(0);
        let tz = tz();
        let h = FullHints::new(t.buckets);
        let mut mem = vec![0u8; 2 * 2 * CT_WAY_LEN];
        let m = &mut mem[..];
        t.insert(m, c, &key(1), &entry(1), 1, &TO, &tz, &h); // oldest, established
        t.insert(m, c, &key(2), &entry_in(1, TcpState::Closing), 2, &TO, &tz, &h);
        t.insert(m, c, &key(4), &entry(1), 3, &TO, &tz, &h);
        t.insert(m, c, &key(3), &entry_in(1, TcpState::SynSeen), 4, &TO, &tz, &h);
        let r = t.insert(m, c, &key(5), &entry_in(1, TcpState::SynSeen), 5, &TO, &tz, &h);
        assert!(r.evicted);
        assert_eq!(t.find(m, c, &key(3), false, 5, &TO), None, "the SYN entry went");
        let r = t.insert(m, c, &key(6), &entry(1), 5, &TO, &tz, &h);
        assert!(r.evicted);
        // The newest SYN entry goes before the closing one.
        assert_eq!(t.find(m, c, &key(5), false, 5, &TO), None);
        let r = t.insert(m, c, &key(7), &entry(1), 5, &TO, &tz, &h);
        assert!(r.evicted);
        assert_eq!(t.find(m, c, &key(2), false, 5, &TO), None, "then closing");
        assert!(t.find(m, c, &key(1), false, 5, &TO).is_some(), "established last");
    }

    #[test]
    fn full_candidates_relocate_a_resident() {
        // One way per bucket, 8 buckets: fill the new key's two candidates
        // with residents whose other bucket is empty.
        let t = CtTable { buckets: 8, ways: 1 };
        let tz = tz();
        let h = FullHints::new(t.buckets);
        let cand = |k: &CtKey| t.candidates(k.flow_hash(&tz));
        let keys: Vec<CtKey> = (0..=255).map(key).collect();
        let new = keys[0];
        let c = cand(&new);
        let ra = keys[1..]
            .iter()
            .find(|k| cand(k).a == c.a && cand(k).b != c.b)
            .unwrap();
        let rb = keys[1..]
            .iter()
            .find(|k| cand(k).b == c.b && cand(k).a != c.a && *k != ra)
            .unwrap();
        let mut mem = vec![0u8; 8 * CT_WAY_LEN];
        let m = &mut mem[..];
        t.overwrite(m, Slot { bucket: c.a, way: 0 }, ra, &entry(1), 1);
        t.overwrite(m, Slot { bucket: c.b, way: 0 }, rb, &entry(1), 1);
        let i = t.insert(m, c, &new, &entry(1), 2, &TO, &tz, &h);
        assert!(!i.evicted);
        assert_eq!(i.moved_to, Some(cand(ra).b), "bucket a's resident moved");
        assert_eq!(i.slot, Some(Slot { bucket: c.a, way: 0 }));
        for k in [&new, ra, rb] {
            assert!(t.find(m, cand(k), k, false, 2, &TO).is_some());
        }
    }

    #[test]
    fn tcp_states() {
        use tcp_flags::*;
        assert_eq!(initial_state(6, SYN), TcpState::SynSeen);
        assert_eq!(initial_state(6, ACK), TcpState::Established);
        assert_eq!(initial_state(17, 0), TcpState::None);
        let syn = TcpState::SynSeen.code();
        assert_eq!(next_state(syn, ACK), TcpState::Established);
        assert_eq!(next_state(syn, SYN | ACK), TcpState::SynSeen);
        assert_eq!(
            next_state(TcpState::Established.code(), FIN | ACK),
            TcpState::Closing
        );
        assert_eq!(next_state(TcpState::Closing.code(), RST), TcpState::Closed);
        assert_eq!(next_state(TcpState::Closed.code(), FIN), TcpState::Closed);
    }

    /// A fragment entry times out at the SYN timeout whatever its protocol.
    #[test]
    fn fragment_entries_time_out_as_embryonic() {
        let t = CtTable { buckets: 1, ways: 2 };
        let c = t.candidates(0);
        let mut mem = [0u8; 2 * CT_WAY_LEN];
        let m = &mut mem[..];
        let s = *key(1).src();
        let fk = CtKey::fragment(17, &s, &s, 0xabcd, false);
        let n = NewEntry {
            state: TcpState::None,
            ..entry(1)
        };
        t.insert(m, c, &fk, &n, 0, &TO, &tz(), &FullHints::new(1));
        let at = Some(Slot { bucket: 0, way: 0 });
        assert_eq!(t.find(m, c, &fk, false, TO.syn, &TO), at);
        assert_eq!(t.find(m, c, &fk, false, TO.syn + 1, &TO), None);
        assert_eq!(t.find(m, c, &key(1), false, 0, &TO), None);
    }

    #[test]
    fn wrapping_time() {
        let t = CtTable { buckets: 1, ways: 1 };
        let c = t.candidates(7);
        let mut mem = [0u8; CT_WAY_LEN];
        t.insert(
            &mut mem[..],
            c,
            &key(1),
            &entry(1),
            u32::MAX - 5,
            &TO,
            &tz(),
            &FullHints::new(1),
        );
        assert!(t.find(&mem[..], c, &key(1), false, 20, &TO).is_some());
    }
}
