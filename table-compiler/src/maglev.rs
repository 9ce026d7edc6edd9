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
use std::collections::BinaryHeap;
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

/// Next-turn entry of the cumulative-weight scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Turn {
    /// Turns taken so far.
    t: u32,
    weight: u32,
    idx: u32,
}

impl Ord for Turn {
    // BinaryHeap is a max-heap: "greater" = earlier virtual time.
    fn cmp(&self, o: &Self) -> Ordering {
        // t < 2^28 and weight <= 10^6 < 2^20, so the products fit in u64.
        let a = (2 * self.t as u64 + 1) * o.weight as u64;
        let b = (2 * o.t as u64 + 1) * self.weight as u64;
        b.cmp(&a).then(o.idx.cmp(&self.idx))
    }
}
impl PartialOrd for Turn {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Calls `take(i)` for each turn, in turn order, until every backend has
/// taken `want[i]` turns.
fn for_each_turn(perms: &[Perm], want: &[u32], mut take: impl FnMut(usize)) {
    let equal = perms.windows(2).all(|w| w[0].weight == w[1].weight);
    if equal {
        // The paper's round robin; backends drop out as they reach quota.
        let mut left: Vec<u32> = want.to_vec();
        let mut active: Vec<usize> = (0..perms.len()).filter(|&i| left[i] > 0).collect();
        while !active.is_empty() {
            active.retain(|&i| {
                take(i);
                left[i] -= 1;
                left[i] > 0
            });
        }
        return;
    }
    let mut heap: BinaryHeap<Turn> = perms
        .iter()
        .enumerate()
        .filter(|&(i, p)| want[i] > 0 && p.weight > 0)
        .map(|(i, p)| Turn {
            t: 0,
            weight: p.weight,
            idx: i as u32,
        })
        .collect();
    while let Some(mut turn) = heap.pop() {
        let i = turn.idx as usize;
        take(i);
        turn.t += 1;
        if turn.t < want[i] {
            heap.push(turn);
        }
    }
}

/// Occupied slots, one bit each: 8 KiB for M = 65537, so every probe hits
/// L1 instead of the 128 KiB table.
struct Occupancy(Vec<u64>);

impl Occupancy {
    fn new(m: u32) -> Occupancy {
        Occupancy(vec![0; (m as usize).div_ceil(64)])
    }
    #[inline(always)]
    fn free(&self, s: u32) -> bool {
        self.0[(s >> 6) as usize] & (1 << (s & 63)) == 0
    }
    #[inline(always)]
    fn set(&mut self, s: u32) {
        self.0[(s >> 6) as usize] |= 1 << (s & 63);
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

/// A backend's walk through its permutation: the next candidate and the
/// skip multiples that let four candidates be tested independently.
#[derive(Clone, Copy)]
struct Walk {
    next: u32,
    k1: u32,
    k2: u32,
    k3: u32,
    k4: u32,
}

impl Walk {
    fn new(p: &Perm, m: u32) -> Walk {
        let k = |i: u64| ((p.skip as u64 * i) % m as u64) as u32;
        Walk {
            next: p.offset,
            k1: k(1),
            k2: k(2),
            k3: k(3),
            k4: k(4),
        }
    }

    /// The next free slot in permutation order; marks it taken.
    #[inline(always)]
    fn take(&mut self, occ: &mut Occupancy, m: u32) -> u32 {
        let mut s = self.next;
        let found = loop {
            let b = addm(s, self.k1, m);
            let c = addm(s, self.k2, m);
            let d = addm(s, self.k3, m);
            let (fa, fb, fc, fd) = (occ.free(s), occ.free(b), occ.free(c), occ.free(d));
            if fa | fb | fc | fd {
                break if fa {
                    s
                } else if fb {
                    b
                } else if fc {
                    c
                } else {
                    d
                };
            }
            s = addm(s, self.k4, m);
        };
        occ.set(found);
        self.next = addm(found, self.k1, m);
        found
    }
}

/// Build a Maglev table of size `m` (prime). Entry = index into `perms`.
/// Returns `None` if no backend has a positive weight.
pub fn populate(perms: &[Perm], m: u32) -> Option<Vec<u16>> {
    let weights: Vec<u32> = perms.iter().map(|p| p.weight).collect();
    let q = quotas(&weights, m);
    if q.iter().all(|&x| x == 0) {
        return None;
    }
    let mut table = vec![EMPTY; m as usize];
    let mut occ = Occupancy::new(m);
    let mut walks: Vec<Walk> = perms.iter().map(|p| Walk::new(p, m)).collect();
    for_each_turn(perms, &q, |i| {
        let s = walks[i].take(&mut occ, m);
        table[s as usize] = i as u16;
    });
    Some(table)
}

/// Modular inverse of `a` mod prime `m` (Fermat).
pub fn inv_mod(a: u32, m: u32) -> u32 {
    let (mut base, mut exp, mut acc) = (a as u64 % m as u64, m as u64 - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % m as u64;
        }
        base = base * base % m as u64;
        exp >>= 1;
    }
    acc as u32
}

/// Minimal-disruption rebuild. `prev[s]` is the *new* index of the backend
/// that owned slot `s` before, or `None` if that backend is gone. Each
/// backend keeps its most-preferred previous slots up to its new quota;
/// freed slots go to backends below quota, each taking its most-preferred
/// free slot in cumulative-weight turn order. The number of changed slots
/// is exactly `sum(max(0, old_count - quota))` over old owners (the minimum
/// any algorithm with these quotas can achieve).
pub fn populate_stable(perms: &[Perm], prev: &[Option<u16>], m: u32) -> Option<Vec<u16>> {
    assert_eq!(prev.len(), m as usize, "previous table size must equal M");
    let weights: Vec<u32> = perms.iter().map(|p| p.weight).collect();
    let q = quotas(&weights, m);
    if q.iter().all(|&x| x == 0) {
        return None;
    }
    // Previous slots per surviving backend, most preferred first.
    let mut owned: Vec<Vec<(u32, u32)>> = vec![Vec::new(); perms.len()];
    let inv: Vec<u32> = perms.iter().map(|p| inv_mod(p.skip, m)).collect();
    for (s, o) in prev.iter().enumerate() {
        if let Some(b) = *o {
            let b = b as usize;
            if b < perms.len() {
                owned[b].push((perms[b].rank(s as u32, m, inv[b]), s as u32));
            }
        }
    }
    let mut table = vec![EMPTY; m as usize];
    let mut deficit = vec![0u32; perms.len()];
    for (b, slots) in owned.iter_mut().enumerate() {
        slots.sort_unstable();
        let keep = slots.len().min(q[b] as usize);
        for &(_, s) in &slots[..keep] {
            table[s as usize] = b as u16;
        }
        deficit[b] = q[b] - keep as u32;
    }
    let mut occ = Occupancy::new(m);
    for (s, &e) in table.iter().enumerate() {
        if e != EMPTY {
            occ.set(s as u32);
        }
    }
    let mut walks: Vec<Walk> = perms.iter().map(|p| Walk::new(p, m)).collect();
    for_each_turn(perms, &deficit, |i| {
        let s = walks[i].take(&mut occ, m);
        table[s as usize] = i as u16;
    });
    Some(table)
}

/// Index into a table of size `m` for a 32-bit flow hash: a multiply, not a
/// divider, in hardware.
pub fn lookup_index(flow_hash: u32, m: u32) -> u32 {
    ((flow_hash as u64 * m as u64) >> 32) as u32
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

    #[test]
    fn lookup_index_spans_table() {
        assert_eq!(lookup_index(0, 65537), 0);
        assert_eq!(lookup_index(u32::MAX, 65537), 65536);
    }
}
