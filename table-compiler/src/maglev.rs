//! Maglev consistent hashing (Eisenbud et al., NSDI 2016) with the lbnic
//! refinements written down in `docs/spec.md`:
//!
//! - each backend's permutation comes from a keyed SipHash-1-3 (128-bit) of
//!   its stable name: `offset = h1 mod M`, `skip = h2 mod (M-1) + 1`;
//! - backends are taken in stable-name order, so every node builds the same
//!   table whatever order the config lists them in;
//! - a backend's share is fixed up front by largest-remainder rounding of its
//!   weight share (its *quota*), so every backend ends within one entry of
//!   its exact share;
//! - turns are handed out by cumulative weight: backend `i`'s `t`-th turn
//!   falls at virtual time `(2t+1) / (2 w_i)`, ties to the lower index. With
//!   equal weights this is the paper's round robin.
//!
//! The `stable` variant starts from the previous table and moves only the
//! entries that must move.

use siphasher::sip128::{Hasher128, SipHasher13};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::Hasher;

/// Marks a free slot while building (no real VIP-local index reaches it).
pub const EMPTY: u16 = u16::MAX;

/// One backend's permutation of the table and its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    pub offset: u32,
    pub skip: u32,
    pub weight: u32,
}

/// Keyed 128-bit hash of a stable name, split into the two 64-bit halves.
pub fn name_hash(seed: &[u8; 16], name: &str) -> (u64, u64) {
    let k0 = u64::from_le_bytes(seed[..8].try_into().expect("8"));
    let k1 = u64::from_le_bytes(seed[8..].try_into().expect("8"));
    let mut h = SipHasher13::new_with_keys(k0, k1);
    h.write(name.as_bytes());
    let r = h.finish128();
    (r.h1, r.h2)
}

impl Perm {
    pub fn new(seed: &[u8; 16], name: &str, m: u32, weight: u32) -> Perm {
        debug_assert!(m >= 2);
        let (h1, h2) = name_hash(seed, name);
        Perm {
            offset: (h1 % m as u64) as u32,
            skip: (h2 % (m as u64 - 1)) as u32 + 1,
            weight,
        }
    }

    /// Slot of this backend's `j`-th preference.
    pub fn slot(&self, j: u32, m: u32) -> u32 {
        ((self.offset as u64 + j as u64 * self.skip as u64) % m as u64) as u32
    }

    /// Inverse of [`Perm::slot`]: the preference rank of `slot` (M prime).
    pub fn rank(&self, slot: u32, m: u32, skip_inv: u32) -> u32 {
        let d = (slot as u64 + m as u64 - self.offset as u64) % m as u64;
        ((d * skip_inv as u64) % m as u64) as u32
    }
}

/// Largest-remainder apportionment of `m` entries by weight; remainders that
/// tie go to the lower index. All-zero weights give all-zero quotas.
pub fn quotas(weights: &[u32], m: u32) -> Vec<u32> {
    let total: u64 = weights.iter().map(|&w| w as u64).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let mut q = Vec::with_capacity(weights.len());
    let mut rem = Vec::with_capacity(weights.len());
    let mut given = 0u64;
    for (i, &w) in weights.iter().enumerate() {
        let exact = w as u128 * m as u128;
        let base = (exact / total as u128) as u64;
        q.push(base as u32);
        given += base;
        rem.push(((exact % total as u128) as u64, i));
    }
    let mut left = m as u64 - given;
    // Larger remainder first, then lower index.
    rem.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(r, i) in &rem {
        if left == 0 {
            break;
        }
        if r > 0 || weights[i] > 0 {
            q[i] += 1;
            left -= 1;
        }
    }
    q
}

/// Backends of equal weight take their turns at the same instants, in index
/// order: one class of them.
struct Class {
    weight: u32,
    /// Turns every member has taken so far.
    t: u32,
    /// Members still below their count, in index order.
    members: Vec<u32>,
    /// The smallest count among the members: the round after which some
    /// of them drop out.
    next_drop: u32,
}

impl Class {
    fn new(weight: u32, members: Vec<u32>, want: &[u32]) -> Class {
        let next_drop = members.iter().map(|&i| want[i as usize]).min().unwrap_or(0);
        Class {
            weight,
            t: 0,
            members,
            next_drop,
        }
    }

    /// After a round: drop the members that reached their count.
    fn advance(&mut self, want: &[u32]) {
        self.t += 1;
        if self.t == self.next_drop {
            let t = self.t;
            self.members.retain(|&i| want[i as usize] > t);
            self.next_drop = self.members.iter().map(|&i| want[i as usize]).min().unwrap_or(0);
        }
    }
}

/// A class's next round in the scheduler's heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Due {
    t: u32,
    weight: u32,
    class: u32,
}

impl Due {
    /// Cross products that compare the virtual times `(2t+1) / (2w)`
    /// exactly (t < M < 2^31 and w < 2^32, so they fit in u64).
    fn keys(&self, o: &Due) -> (u64, u64) {
        (
            (2 * self.t as u64 + 1) * o.weight as u64,
            (2 * o.t as u64 + 1) * self.weight as u64,
        )
    }
    fn same_time(&self, o: &Due) -> bool {
        let (a, b) = self.keys(o);
        a == b
    }
}

impl Ord for Due {
    // BinaryHeap is a max-heap: "greater" = earlier virtual time.
    fn cmp(&self, o: &Self) -> Ordering {
        let (a, b) = self.keys(o);
        b.cmp(&a).then(o.class.cmp(&self.class))
    }
}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Hands out the turns, in turn order, as runs of consecutive turns, until
/// every backend `i` has taken `want[i]` turns. Turn `t` of backend `i`
/// falls at virtual time `(2t+1) / (2 w_i)`, ties to the lower index.
/// Backends of equal weight share their instants, so one run is a round of
/// a whole weight class (with equal weights: the paper's round robin, and
/// no heap at all).
fn for_each_run(perms: &[Perm], want: &[u32], mut run: impl FnMut(&[u32])) {
    let mut by_weight: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (i, p) in perms.iter().enumerate() {
        if want[i] > 0 && p.weight > 0 {
            by_weight.entry(p.weight).or_default().push(i as u32);
        }
    }
    let mut classes: Vec<Class> = by_weight
        .into_iter()
        .map(|(weight, members)| Class::new(weight, members, want))
        .collect();
    if let [c] = classes.as_mut_slice() {
        while !c.members.is_empty() {
            run(&c.members);
            c.advance(want);
        }
        return;
    }
    let due = |c: &Class, k: usize| Due {
        t: c.t,
        weight: c.weight,
        class: k as u32,
    };
    let mut heap: BinaryHeap<Due> = classes.iter().enumerate().map(|(k, c)| due(c, k)).collect();
    let mut tied: Vec<usize> = Vec::new();
    let mut merged: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    while let Some(first) = heap.pop() {
        tied.clear();
        tied.push(first.class as usize);
        while let Some(next) = heap.peek() {
            if !next.same_time(&first) {
                break;
            }
            tied.push(next.class as usize);
            heap.pop();
        }
        if let [k] = tied.as_slice() {
            run(&classes[*k].members);
        } else {
            // Classes due at the same instant interleave by backend index:
            // merge their (sorted) member lists.
            merged.clear();
            for &k in &tied {
                let members = &classes[k].members;
                if merged.last().is_none_or(|&l| l < members[0]) {
                    merged.extend_from_slice(members);
                    continue;
                }
                scratch.clear();
                let (mut i, mut j) = (0, 0);
                while i < merged.len() && j < members.len() {
                    if merged[i] < members[j] {
                        scratch.push(merged[i]);
                        i += 1;
                    } else {
                        scratch.push(members[j]);
                        j += 1;
                    }
                }
                scratch.extend_from_slice(&merged[i..]);
                scratch.extend_from_slice(&members[j..]);
                std::mem::swap(&mut merged, &mut scratch);
            }
            run(&merged);
        }
        for &k in &tied {
            classes[k].advance(want);
            if !classes[k].members.is_empty() {
                heap.push(due(&classes[k], k));
            }
        }
    }
}

/// Which slots are taken, twice over: slot `s` is entry `s` and entry
/// `s + m`, so a candidate `s + k` (both below `m`) needs no reduction mod
/// `m`. The entry count is a power of two so a masked index needs no bounds
/// check.
trait Occupancy {
    fn new(m: u32) -> Self;
    /// 1 if slot `i mod m` is taken; `i < 2m`.
    fn taken(&self, i: u32) -> u32;
    fn set(&mut self, s: u32);
    /// Every free slot, ascending.
    fn free_slots(&self) -> Vec<u32>;
}

/// One byte a slot: a probe is an add, a load and a shift. 256 KiB for
/// M = 65537 (L2); kept for the next build on the same thread, so a build
/// clears it instead of faulting in fresh pages.
struct ByteMap {
    bytes: Vec<u8>,
    mask: usize,
    m: u32,
}

/// Largest M that gets a [`ByteMap`]; larger tables take a [`BitMap`],
/// whose eighth of the memory keeps their probes in L2.
const BYTE_MAP_MAX: u32 = 1 << 17;

thread_local! {
    static BYTE_MAP: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Occupancy for ByteMap {
    fn new(m: u32) -> ByteMap {
        let n = (2 * m as usize).next_power_of_two();
        let mut bytes = BYTE_MAP.with(|c| std::mem::take(&mut *c.borrow_mut()));
        if bytes.len() == n {
            bytes[..2 * m as usize].fill(0);
        } else {
            bytes = vec![0; n];
        }
        ByteMap {
            bytes,
            mask: n - 1,
            m,
        }
    }
    #[inline(always)]
    fn taken(&self, i: u32) -> u32 {
        let bytes = &self.bytes[..=self.mask];
        bytes[i as usize & self.mask] as u32
    }
    #[inline(always)]
    fn set(&mut self, s: u32) {
        let mask = self.mask;
        let bytes = &mut self.bytes[..=mask];
        bytes[s as usize & mask] = 1;
        bytes[(s + self.m) as usize & mask] = 1;
    }
    fn free_slots(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (c, chunk) in self.bytes[..self.m as usize].chunks(8).enumerate() {
            if chunk == [1; 8] {
                continue;
            }
            out.extend(
                (0..chunk.len())
                    .filter(|&j| chunk[j] == 0)
                    .map(|j| (c * 8 + j) as u32),
            );
        }
        out
    }
}

impl Drop for ByteMap {
    fn drop(&mut self) {
        if self.bytes.len() <= 2 * BYTE_MAP_MAX as usize {
            let bytes = std::mem::take(&mut self.bytes);
            BYTE_MAP.with(|c| *c.borrow_mut() = bytes);
        }
    }
}

/// One bit a slot: 160 KiB for M = 655373.
struct BitMap {
    words: Vec<u64>,
    mask: usize,
    m: u32,
}

impl Occupancy for BitMap {
    fn new(m: u32) -> BitMap {
        let n = (2 * m as usize).div_ceil(64).next_power_of_two();
        BitMap {
            words: vec![0; n],
            mask: n - 1,
            m,
        }
    }
    #[inline(always)]
    fn taken(&self, i: u32) -> u32 {
        let words = &self.words[..=self.mask];
        ((words[(i >> 6) as usize & self.mask] >> (i & 63)) & 1) as u32
    }
    #[inline(always)]
    fn set(&mut self, s: u32) {
        let mask = self.mask;
        let words = &mut self.words[..=mask];
        for i in [s, s + self.m] {
            words[(i >> 6) as usize & mask] |= 1 << (i & 63);
        }
    }
    fn free_slots(&self) -> Vec<u32> {
        let m = self.m;
        let mut out = Vec::new();
        for (w, &bits) in self.words[..(m as usize).div_ceil(64)].iter().enumerate() {
            let mut free = !bits;
            while free != 0 {
                let s = (w as u32) << 6 | free.trailing_zeros();
                if s >= m {
                    break;
                }
                out.push(s);
                free &= free - 1;
            }
        }
        out
    }
}

/// `x + k mod m` for `x, k < m`, without a divide or a branch (whether it
/// wraps is random, so a branch would mispredict half the time): below `m`,
/// `y - m` wraps to a huge value and `min` keeps `y`.
#[inline(always)]
fn addm(x: u32, k: u32, m: u32) -> u32 {
    let y = x + k;
    y.min(y.wrapping_sub(m))
}

/// A backend's walk through its permutation: `[0, k1, k2, k3, k4, next, _,
/// _]` with `kj = j * skip mod m`, so `walk[j]` is the offset of the `j`-th
/// candidate after `next`; 32 bytes, half a cache line.
type Walk = [u32; 8];
const NEXT: usize = 5;

fn walk(p: &Perm, m: u32) -> Walk {
    let k1 = p.skip % m;
    let k2 = addm(k1, k1, m);
    [0, k1, k2, addm(k2, k1, m), addm(k2, k2, m), p.offset, 0, 0]
}

/// Widest probe group.
const MAX_WIDTH: usize = 32;

/// Takes for a run of turns: each backend's next free slot in permutation
/// order. Probes `W` candidates at a time without branching on each one
/// (blocks of up to 4, each candidate `base + kj`), so the only branch that
/// depends on the table is a group's exit; wide groups once the table is
/// full enough that narrow ones would mostly miss.
#[inline(never)]
fn walk_run<O: Occupancy, const W: usize>(
    run: &[u32],
    walks: &mut [Walk],
    occ: &mut O,
    table: &mut [u16],
    m: u32,
) {
    const { assert!(W.is_power_of_two() && W <= MAX_WIDTH) };
    // Wide groups: blocks of 4 candidates `base + kj`, `base` stepping by k4.
    let block = W.min(4);
    for &i in run {
        let w = &walks[i as usize];
        let k1 = w[1];
        let found = if W == 1 {
            let mut s = w[NEXT];
            while occ.taken(s) != 0 {
                s = addm(s, w[1], m);
            }
            s
        } else if W <= 4 {
            let mut s = w[NEXT];
            loop {
                let mut taken = 0u32;
                for &k in w[..W].iter().rev() {
                    taken = taken << 1 | occ.taken(s + k);
                }
                let free = !taken & (u32::MAX >> (32 - W));
                if free != 0 {
                    break addm(s, w[free.trailing_zeros() as usize % W], m);
                }
                s = addm(s, w[W], m);
            }
        } else {
            let mut s = w[NEXT];
            loop {
                let mut taken = 0u32;
                let mut bases = [0u32; MAX_WIDTH / 4];
                let mut b = s;
                for base in bases.iter_mut().take(W / block) {
                    *base = b;
                    b = addm(b, w[block], m);
                }
                // Last candidate first, so bit j ends up for candidate j.
                for &base in bases[..W / block].iter().rev() {
                    for &k in w[..block].iter().rev() {
                        taken = taken << 1 | occ.taken(base + k);
                    }
                }
                let free = !taken & (u32::MAX >> (32 - W));
                if free != 0 {
                    let j = free.trailing_zeros() as usize;
                    break addm(bases[(j / block) % bases.len()], w[j % block], m);
                }
                s = b;
            }
        };
        occ.set(found);
        walks[i as usize][NEXT] = addm(found, k1, m);
        table[found as usize] = i as u16;
    }
}

/// Probe width by how full the table is: (free slots in 1/64ths of `m`
/// above which the width applies, width). Measured on the `maglev_build`
/// bench (docs/performance.md).
const WIDTHS: [(u32, usize); 6] = [(44, 1), (32, 2), (20, 4), (8, 8), (2, 16), (0, 32)];

/// Modular inverse of `a` mod prime `m` (extended Euclid).
pub fn inv_mod(a: u32, m: u32) -> u32 {
    let (mut r0, mut r1) = (m, a % m);
    let (mut t0, mut t1) = (0i64, 1i64);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - q as i64 * t1);
    }
    debug_assert_eq!(r0, 1, "{a} has no inverse mod {m}");
    // |t0| < m: one correction instead of a 64-bit division.
    (if t0 < 0 { t0 + m as i64 } else { t0 }) as u32
}

/// A backend's preference rank of a slot without a divide: Shoup's
/// multiplication by the fixed factor `skip⁻¹ mod m` (needs `m < 2^31`).
#[derive(Debug, Clone, Copy)]
struct Ranker {
    offset: u32,
    inv: u32,
    /// `floor(inv * 2^32 / m)`.
    inv_shoup: u32,
    m: u32,
}

impl Ranker {
    fn new(p: &Perm, m: u32) -> Ranker {
        assert!(m < 1 << 31, "M = {m} is too large for the rank reduction");
        let inv = inv_mod(p.skip, m);
        Ranker {
            offset: p.offset,
            inv,
            inv_shoup: (((inv as u64) << 32) / m as u64) as u32,
            m,
        }
    }

    #[inline(always)]
    fn rank(&self, slot: u32) -> u32 {
        let m = self.m;
        let d = slot + m - self.offset;
        let d = d.min(d.wrapping_sub(m));
        // q is floor(d * inv / m) or one less, so r < 2m.
        let q = ((d as u64 * self.inv_shoup as u64) >> 32) as u32;
        let r = d.wrapping_mul(self.inv).wrapping_sub(q.wrapping_mul(m));
        r.min(r.wrapping_sub(m))
    }
}

/// Hands each turn its backend's most-preferred free slot. Every slot a
/// backend's walk has passed is taken and stays taken, so that slot is also
/// the free slot of lowest rank. A walk costs about `m / free` probes a
/// take, so once few slots are free the filler scans the free-slot list
/// for the lowest rank instead (`free` rank computations a take): the same
/// slot, found faster.
struct Filler<'a, O> {
    perms: &'a [Perm],
    m: u32,
    occ: O,
    walks: Vec<Walk>,
    /// Free slots left.
    free: u32,
    /// Switch to the list at this many free slots.
    list_at: u32,
    /// The free slots once listed (any order).
    list: Option<Vec<u32>>,
    rankers: Vec<Option<Ranker>>,
}

impl<'a, O: Occupancy> Filler<'a, O> {
    fn new(perms: &'a [Perm], m: u32, occ: O, free: u32, list_at: u32) -> Filler<'a, O> {
        // Targets allow M up to 2^28 and 2^16 backends per VIP; these
        // bounds keep the turn keys, ranks and u16 entries exact.
        assert!((2..1 << 31).contains(&m), "M = {m} is outside 2..2^31");
        assert!(
            perms.len() <= 1 << 16,
            "{} backends do not fit u16 entries",
            perms.len()
        );
        Filler {
            perms,
            m,
            occ,
            walks: perms.iter().map(|p| walk(p, m)).collect(),
            free,
            list_at,
            list: None,
            rankers: vec![None; perms.len()],
        }
    }

    /// Takes for a run of turns; `table[slot] = backend`.
    fn fill(&mut self, run: &[u32], table: &mut [u16]) {
        let mut rest = run;
        while !rest.is_empty() {
            if self.free <= self.list_at {
                for &i in rest {
                    let s = self.take_listed(i as usize);
                    table[s as usize] = i as u16;
                }
                return;
            }
            let (above, width) = WIDTHS
                .iter()
                .map(|&(f, w)| (((self.m as u64 * f as u64) >> 6) as u32, w))
                .find(|&(above, _)| self.free > above)
                .expect("the last width applies down to 0");
            let k = rest.len().min((self.free - above.max(self.list_at)) as usize);
            let (now, later) = rest.split_at(k);
            let (walks, occ, m) = (&mut self.walks, &mut self.occ, self.m);
            match width {
                1 => walk_run::<O, 1>(now, walks, occ, table, m),
                2 => walk_run::<O, 2>(now, walks, occ, table, m),
                4 => walk_run::<O, 4>(now, walks, occ, table, m),
                8 => walk_run::<O, 8>(now, walks, occ, table, m),
                16 => walk_run::<O, 16>(now, walks, occ, table, m),
                _ => walk_run::<O, MAX_WIDTH>(now, walks, occ, table, m),
            }
            self.free -= k as u32;
            rest = later;
        }
    }

    fn take_listed(&mut self, i: usize) -> u32 {
        let (occ, m) = (&self.occ, self.m);
        let list = self.list.get_or_insert_with(|| occ.free_slots());
        let r = *self.rankers[i].get_or_insert_with(|| Ranker::new(&self.perms[i], m));
        let best = list
            .iter()
            .map(|&s| r.rank(s))
            .min()
            .expect("a free slot for every turn");
        let s = self.perms[i].slot(best, m);
        let at = list.iter().position(|&x| x == s).expect("the slot is listed");
        list.swap_remove(at);
        self.free -= 1;
        s
    }
}

/// Free-slot count at which scanning the list beats walking: a walk costs
/// ~m/F probes a take, a scan F rank computations, so the crossover is
/// near sqrt(m).
fn list_threshold(m: u32) -> u32 {
    m.isqrt()
}

/// Build a Maglev table of size `m` (prime). Entry = index into `perms`.
/// Returns `None` if no backend has a positive weight.
pub fn populate(perms: &[Perm], m: u32) -> Option<Vec<u16>> {
    if m <= BYTE_MAP_MAX {
        populate_with::<ByteMap>(perms, m, list_threshold(m))
    } else {
        populate_with::<BitMap>(perms, m, list_threshold(m))
    }
}

fn populate_with<O: Occupancy>(perms: &[Perm], m: u32, list_at: u32) -> Option<Vec<u16>> {
    let weights: Vec<u32> = perms.iter().map(|p| p.weight).collect();
    let q = quotas(&weights, m);
    if q.iter().all(|&x| x == 0) {
        return None;
    }
    let mut table = vec![EMPTY; m as usize];
    let mut fill = Filler::new(perms, m, O::new(m), m, list_at);
    for_each_run(perms, &q, |run| fill.fill(run, &mut table));
    Some(table)
}

/// Minimal-disruption rebuild. `prev[s]` is the *new* index of the backend
/// that owned slot `s` before, or `None` if that backend is gone. Each
/// backend keeps its most-preferred previous slots up to its new quota;
/// freed slots go to backends below quota, each taking its most-preferred
/// free slot in cumulative-weight turn order. The number of changed slots
/// is exactly `sum(max(0, old_count - quota))` over old owners (the minimum
/// any algorithm with these quotas can achieve).
pub fn populate_stable(perms: &[Perm], prev: &[Option<u16>], m: u32) -> Option<Vec<u16>> {
    if m <= BYTE_MAP_MAX {
        populate_stable_with::<ByteMap>(perms, prev, m, list_threshold(m))
    } else {
        populate_stable_with::<BitMap>(perms, prev, m, list_threshold(m))
    }
}

fn populate_stable_with<O: Occupancy>(
    perms: &[Perm],
    prev: &[Option<u16>],
    m: u32,
    list_at: u32,
) -> Option<Vec<u16>> {
    assert_eq!(prev.len(), m as usize, "previous table size must equal M");
    let weights: Vec<u32> = perms.iter().map(|p| p.weight).collect();
    let q = quotas(&weights, m);
    if q.iter().all(|&x| x == 0) {
        return None;
    }
    let n = perms.len();
    let owner = |o: &Option<u16>| o.map(usize::from).filter(|&b| b < n);
    let mut count = vec![0u32; n];
    for b in prev.iter().filter_map(owner) {
        count[b] += 1;
    }
    // A backend within its quota keeps all its slots; one above it keeps
    // its most-preferred (lowest-rank) ones.
    let mut table = vec![EMPTY; m as usize];
    let mut occ = O::new(m);
    let mut over: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    let mut rankers: Vec<Option<Ranker>> = vec![None; n];
    for (s, o) in prev.iter().enumerate() {
        let Some(b) = owner(o) else { continue };
        let s = s as u32;
        if count[b] <= q[b] {
            table[s as usize] = b as u16;
            occ.set(s);
        } else {
            let r = rankers[b].get_or_insert_with(|| Ranker::new(&perms[b], m));
            over[b].push((r.rank(s), s));
        }
    }
    for (b, slots) in over.iter_mut().enumerate().filter(|(_, v)| !v.is_empty()) {
        let keep = q[b] as usize;
        if keep > 0 {
            slots.select_nth_unstable(keep - 1);
        }
        for &(_, s) in &slots[..keep] {
            table[s as usize] = b as u16;
            occ.set(s);
        }
    }
    let deficit: Vec<u32> = (0..n).map(|b| q[b] - count[b].min(q[b])).collect();
    let free = m - (0..n).map(|b| count[b].min(q[b])).sum::<u32>();
    let mut fill = Filler::new(perms, m, occ, free, list_at);
    fill.rankers = rankers;
    for_each_run(perms, &deficit, |run| fill.fill(run, &mut table));
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(n: usize, m: u32, w: impl Fn(usize) -> u32) -> Vec<Perm> {
        let seed = [7u8; 16];
        (0..n)
            .map(|i| Perm::new(&seed, &format!("be-{i:04}"), m, w(i)))
            .collect()
    }

    fn counts(t: &[u16], n: usize) -> Vec<u32> {
        let mut c = vec![0; n];
        for &e in t {
            c[e as usize] += 1;
        }
        c
    }

    #[test]
    fn quotas_are_largest_remainder() {
        assert_eq!(quotas(&[1, 1, 1], 7), vec![3, 2, 2]);
        assert_eq!(quotas(&[0, 1], 7), vec![0, 7]);
        assert_eq!(quotas(&[0, 0], 7), vec![0, 0]);
        assert_eq!(quotas(&[2, 1], 7).iter().sum::<u32>(), 7);
    }

    #[test]
    fn equal_weights_fill_floor_or_ceil() {
        let m = 65537;
        let p = perms(100, m, |_| 1);
        let t = populate(&p, m).unwrap();
        assert!(t.iter().all(|&e| (e as usize) < 100));
        for c in counts(&t, 100) {
            assert!(c == m / 100 || c == m / 100 + 1, "{c}");
        }
    }

    #[test]
    fn zero_weight_gets_nothing_and_all_zero_is_none() {
        let m = 251;
        let p = perms(3, m, |i| if i == 1 { 0 } else { 2 });
        let c = counts(&populate(&p, m).unwrap(), 3);
        assert_eq!(c[1], 0);
        assert!(populate(&perms(3, m, |_| 0), m).is_none());
    }

    #[test]
    fn rank_inverts_slot() {
        let m = 65537;
        let p = perms(1, m, |_| 1)[0];
        let inv = inv_mod(p.skip, m);
        for j in [0, 1, 2, 1000, m - 1] {
            assert_eq!(p.rank(p.slot(j, m), m, inv), j);
        }
    }

    #[test]
    fn stable_removal_moves_exactly_the_removed_entries() {
        let m = 4099;
        let p = perms(10, m, |_| 1);
        let old = populate(&p, m).unwrap();
        // Remove backend 3; indices above shift down by one.
        let p2: Vec<Perm> = p
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 3)
            .map(|(_, x)| *x)
            .collect();
        let prev: Vec<Option<u16>> = old
            .iter()
            .map(|&e| match e {
                3 => None,
                e if e > 3 => Some(e - 1),
                e => Some(e),
            })
            .collect();
        let new = populate_stable(&p2, &prev, m).unwrap();
        let changed = prev.iter().zip(&new).filter(|(a, b)| **a != Some(**b)).count();
        let removed = old.iter().filter(|&&e| e == 3).count();
        assert_eq!(changed, removed);
    }

    use proptest::prelude::*;

    const PRIMES: &[u32] = &[2, 3, 5, 7, 13, 31, 101, 251, 1021, 4093, 16381, 65537];

    /// Weights for `n` backends: 0 equal, 1 tiny (0..4, many ties and
    /// drains), 2 anything up to the config limit, 3 a few classes whose
    /// turns coincide.
    fn weights(mode: u8, raw: &[u32], n: usize) -> Vec<u32> {
        raw[..n]
            .iter()
            .map(|&r| match mode {
                0 => 1,
                1 => r % 4,
                2 => r % 1_000_001,
                _ => [0, 5, 10, 15][r as usize % 4],
            })
            .collect()
    }

    fn named(seed: &[u8; 16], names: &[String], w: &[u32], m: u32) -> Vec<Perm> {
        names
            .iter()
            .zip(w)
            .map(|(n, &w)| Perm::new(seed, n, m, w))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// The fast path (walks, then the free-slot list) builds exactly
        /// the table of the plain algorithm, wherever it switches.
        #[test]
        fn fast_path_is_the_reference(
            m in prop::sample::select(PRIMES),
            n in 1usize..300,
            mode in 0u8..4,
            raw in prop::collection::vec(any::<u32>(), 300),
            seed in any::<[u8; 16]>(),
        ) {
            let n = n.min(m as usize);
            let names: Vec<String> = (0..n).map(|i| format!("be-{i}")).collect();
            let p = named(&seed, &names, &weights(mode, &raw, n), m);
            let want = reference::populate(&p, m);
            for list_at in [0, list_threshold(m), m.min(4099)] {
                prop_assert_eq!(&populate_with::<ByteMap>(&p, m, list_at), &want, "bytes, list_at {}", list_at);
                prop_assert_eq!(&populate_with::<BitMap>(&p, m, list_at), &want, "bits, list_at {}", list_at);
            }
        }

        /// Same for the stable rebuild, after removals, additions and
        /// weight changes.
        #[test]
        fn fast_stable_is_the_reference(
            m in prop::sample::select(&PRIMES[3..]),
            n in 1usize..120,
            mode in 0u8..4,
            raw in prop::collection::vec(any::<u32>(), 240),
            keep in prop::collection::vec(0u8..8, 120),
            added in 0usize..120,
            seed in any::<[u8; 16]>(),
        ) {
            let n = n.min(m as usize / 2);
            let names: Vec<String> = (0..n).map(|i| format!("be-{i}")).collect();
            let w = weights(mode, &raw, n);
            let Some(old) = populate(&named(&seed, &names, &w, m), m) else {
                return Ok(());
            };
            // keep: 0 removes the backend, 1 changes its weight, else keeps it.
            let mut new_names = Vec::new();
            let mut new_w = Vec::new();
            let mut to_new = vec![None; n];
            for i in 0..n {
                if keep[i] != 0 {
                    to_new[i] = Some(new_names.len() as u16);
                    new_names.push(names[i].clone());
                    new_w.push(if keep[i] == 1 { weights(mode, &raw[n + i..], 1)[0] } else { w[i] });
                }
            }
            let added = added.min(m as usize / 2 - new_names.len());
            new_names.extend((0..added).map(|j| format!("new-{j}")));
            new_w.extend(weights(mode, &raw[2 * n..], added.min(raw.len() - 2 * n)));
            new_w.resize(new_names.len(), 1);
            let p = named(&seed, &new_names, &new_w, m);
            let prev: Vec<Option<u16>> = old.iter().map(|&e| to_new[e as usize]).collect();
            let want = reference::populate_stable(&p, &prev, m);
            for list_at in [0, list_threshold(m), m.min(4099)] {
                let bytes = populate_stable_with::<ByteMap>(&p, &prev, m, list_at);
                prop_assert_eq!(&bytes, &want, "bytes, list_at {}", list_at);
                let bits = populate_stable_with::<BitMap>(&p, &prev, m, list_at);
                prop_assert_eq!(&bits, &want, "bits, list_at {}", list_at);
            }
        }

        #[test]
        fn rank_inverts_slot_everywhere(m in prop::sample::select(&PRIMES[1..]), j in any::<u32>(), seed in any::<[u8; 16]>()) {
            let p = Perm::new(&seed, "x", m, 1);
            let j = j % m;
            prop_assert_eq!(Ranker::new(&p, m).rank(p.slot(j, m)), j);
            prop_assert_eq!(inv_mod(p.skip, m) as u64 * p.skip as u64 % m as u64, 1);
        }
    }
}

/// The §8 algorithm written plainly, to hold the fast path to: every turn
/// sorted by exact virtual time, each backend walking its permutation one
/// slot at a time.
#[cfg(test)]
mod reference {
    use super::{quotas, Perm, EMPTY};

    fn turn_order(perms: &[Perm], want: &[u32]) -> Vec<usize> {
        let mut turns: Vec<(u64, usize)> = Vec::new();
        for (i, p) in perms.iter().enumerate() {
            if p.weight > 0 {
                turns.extend((0..want[i] as u64).map(|t| (t, i)));
            }
        }
        // (2a+1)/(2 w_i) vs (2b+1)/(2 w_j), cross-multiplied; ties to the lower index.
        turns.sort_by(|&(a, i), &(b, j)| {
            let x = (2 * a + 1) as u128 * perms[j].weight as u128;
            let y = (2 * b + 1) as u128 * perms[i].weight as u128;
            x.cmp(&y).then(i.cmp(&j))
        });
        turns.into_iter().map(|(_, i)| i).collect()
    }

    fn fill(perms: &[Perm], want: &[u32], table: &mut [u16], m: u32) {
        let mut next = vec![0u32; perms.len()];
        for i in turn_order(perms, want) {
            loop {
                let s = perms[i].slot(next[i], m) as usize;
                next[i] += 1;
                if table[s] == EMPTY {
                    table[s] = i as u16;
                    break;
                }
            }
        }
    }

    pub fn populate(perms: &[Perm], m: u32) -> Option<Vec<u16>> {
        let q = quotas(&perms.iter().map(|p| p.weight).collect::<Vec<_>>(), m);
        if q.iter().all(|&x| x == 0) {
            return None;
        }
        let mut table = vec![EMPTY; m as usize];
        fill(perms, &q, &mut table, m);
        Some(table)
    }

    pub fn populate_stable(perms: &[Perm], prev: &[Option<u16>], m: u32) -> Option<Vec<u16>> {
        let q = quotas(&perms.iter().map(|p| p.weight).collect::<Vec<_>>(), m);
        if q.iter().all(|&x| x == 0) {
            return None;
        }
        let mut table = vec![EMPTY; m as usize];
        let mut deficit = q.clone();
        for (b, p) in perms.iter().enumerate() {
            // Keep the most-preferred previous slots, up to the quota.
            for j in 0..m {
                let s = p.slot(j, m) as usize;
                if deficit[b] > 0 && prev[s] == Some(b as u16) {
                    table[s] = b as u16;
                    deficit[b] -= 1;
                }
            }
        }
        fill(perms, &deficit, &mut table, m);
        Some(table)
    }
}
