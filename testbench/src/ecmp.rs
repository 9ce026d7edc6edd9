//! The router in front of a cluster: equal-cost multipath over the live
//! load-balancer nodes, by a per-packet hash of the 5-tuple.
//!
//! The hash is the router's own (seeded, well mixed), not the pipeline's
//! Toeplitz key: real routers hash with their own function and seed. A
//! fragment (first or later) is hashed on (source, destination, protocol)
//! only, as routers do, so every fragment of a datagram reaches one node.
//!
//! Two next-hop selections, since real routers differ:
//! - `modulo`: hash mod the number of live nodes, over the live nodes in
//!   index order. A node going down or up remaps most flows (~(N−1)/N).
//! - `resilient` (Linux nexthop resilient groups): a table of buckets; a
//!   node going down hands only its buckets to the others (least-loaded
//!   first), a node coming up takes buckets from the most-loaded nodes
//!   until balanced: ~1/N of flows move.

use hw_model::packet::{Frag, Parsed};
use std::net::IpAddr;

/// How the router picks a live node from a packet's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EcmpKind {
    Modulo,
    /// With this many buckets.
    Resilient(u32),
}

/// Buckets of a resilient group unless told (as Linux's default-sized
/// groups in practice).
pub const DEFAULT_BUCKETS: u32 = 4096;

impl EcmpKind {
    /// `modulo`, `resilient` or `resilient:BUCKETS`.
    pub fn parse(s: &str) -> Result<EcmpKind, String> {
        match s {
            "modulo" => Ok(EcmpKind::Modulo),
            "resilient" => Ok(EcmpKind::Resilient(DEFAULT_BUCKETS)),
            _ => {
                let b = s.strip_prefix("resilient:").ok_or_else(|| {
                    format!(
                        "--ecmp {}: use modulo, resilient or resilient:BUCKETS",
                        files::quote(s)
                    )
                })?;
                let n: u32 = b
                    .parse()
                    .map_err(|_| format!("--ecmp {}: bad bucket count", files::quote(s)))?;
                if !(1..=1 << 20).contains(&n) {
                    return Err(format!("--ecmp {s}: buckets must be 1..=1048576"));
                }
                Ok(EcmpKind::Resilient(n))
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            EcmpKind::Modulo => "modulo".into(),
            EcmpKind::Resilient(b) => format!("resilient ({b} buckets)"),
        }
    }
}

/// The router's seed (any constant: it only has to differ from nothing in
/// the pipeline).
const SEED: u64 = 0x6c62_6e69_6365_636d;

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

/// MurmurHash3's finaliser: every input bit reaches every output bit.
#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn addr_words(a: IpAddr) -> (u64, u64) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u64, 0),
        IpAddr::V6(v) => {
            let x = u128::from(v);
            ((x >> 64) as u64, x as u64)
        }
    }
}

/// The router's hash of a packet: its 5-tuple, or (source, destination,
/// protocol) for a fragment; a frame that does not parse is hashed on
/// what there is (up to 40 bytes after the Ethernet header).
pub fn hash(p: Option<&Parsed>, frame: &[u8]) -> u64 {
    let Some(p) = p else {
        let mut h = SEED;
        for c in frame.get(14..).unwrap_or(&[]).chunks(8).take(5) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            h = mix(h, u64::from_le_bytes(w));
        }
        return fmix(h);
    };
    let (s0, s1) = addr_words(p.src);
    let (d0, d1) = addr_words(p.dst);
    let ports = match p.frag {
        Frag::None => (p.sport as u64) << 16 | p.dport as u64,
        Frag::First | Frag::Later => 0,
    };
    let h = mix(
        mix(mix(mix(SEED, s0), s1), mix(d0, d1)),
        (p.proto as u64) << 32 | ports,
    );
    fmix(h)
}

/// Key of a 5-tuple in the router's NAT map (a different seed from the
/// ECMP hash).
pub fn tuple_key(src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> u64 {
    let (s0, s1) = addr_words(src);
    let (d0, d1) = addr_words(dst);
    let h = mix(
        mix(mix(mix(!SEED, s0), s1), mix(d0, d1)),
        (proto as u64) << 32 | (sport as u64) << 16 | dport as u64,
    );
    fmix(h)
}

/// The ECMP group: which nodes are live and where each hash goes.
#[derive(Debug, Clone)]
pub struct Router {
    kind: EcmpKind,
    live: Vec<bool>,
    /// Live nodes in index order (modulo).
    order: Vec<u16>,
    /// Bucket -> node (resilient).
    buckets: Vec<u16>,
    /// Buckets per node (resilient).
    load: Vec<u32>,
}

impl Router {
    /// `nodes` nodes, all live.
    pub fn new(kind: EcmpKind, nodes: u16) -> Router {
        let n = nodes.max(1);
        let buckets: Vec<u16> = match kind {
            EcmpKind::Modulo => Vec::new(),
            EcmpKind::Resilient(b) => (0..b).map(|i| (i % n as u32) as u16).collect(),
        };
        let mut load = vec![0u32; n as usize];
        for &b in &buckets {
            load[b as usize] += 1;
        }
        Router {
            kind,
            live: vec![true; n as usize],
            order: (0..n).collect(),
            buckets,
            load,
        }
    }

    pub fn is_live(&self, node: u16) -> bool {
        self.live.get(node as usize).copied().unwrap_or(false)
    }

    /// The node for a packet of hash `h`; `None` when no node is live.
    #[inline]
    pub fn pick(&self, h: u64) -> Option<u16> {
        if self.order.is_empty() {
            return None;
        }
        match self.kind {
            EcmpKind::Modulo => Some(self.order[(h % self.order.len() as u64) as usize]),
            EcmpKind::Resilient(_) => Some(self.buckets[(h % self.buckets.len() as u64) as usize]),
        }
    }

    /// Withdraw `node`'s route.
    pub fn down(&mut self, node: u16) {
        let k = node as usize;
        if !self.is_live(node) {
            return;
        }
        self.live[k] = false;
        self.order.retain(|&x| x != node);
        if self.order.is_empty() {
            // Nothing to hand the buckets to; they come back with a node.
            return;
        }
        for i in 0..self.buckets.len() {
            if self.buckets[i] == node {
                let to = *self
                    .order
                    .iter()
                    .min_by_key(|&&m| (self.load[m as usize], m))
                    .expect("a live node");
                self.buckets[i] = to;
                self.load[to as usize] += 1;
            }
        }
        self.load[k] = 0;
    }

    /// Announce `node`'s route again.
    pub fn up(&mut self, node: u16) {
        let k = node as usize;
        if k >= self.live.len() || self.live[k] {
            return;
        }
        self.live[k] = true;
        let pos = self.order.partition_point(|&x| x < node);
        self.order.insert(pos, node);
        if self.buckets.is_empty() {
            return;
        }
        if self.order.len() == 1 {
            // The only node: every bucket.
            self.buckets.fill(node);
            self.load.fill(0);
            self.load[k] = self.buckets.len() as u32;
            return;
        }
        let target = self.buckets.len() as u32 / self.order.len() as u32;
        while self.load[k] < target {
            let from = *self
                .order
                .iter()
                .filter(|&&m| m != node)
                .max_by_key(|&&m| (self.load[m as usize], std::cmp::Reverse(m)))
                .expect("another live node");
            // Its last bucket (deterministic).
            let Some(i) = self.buckets.iter().rposition(|&b| b == from) else {
                break;
            };
            self.buckets[i] = node;
            self.load[from as usize] -= 1;
            self.load[k] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share_moved(kind: EcmpKind, n: u16, change: impl Fn(&mut Router)) -> f64 {
        let mut r = Router::new(kind, n);
        let hashes: Vec<u64> = (0..20_000u64).map(|i| fmix(i.wrapping_add(7))).collect();
        let before: Vec<_> = hashes.iter().map(|&h| r.pick(h)).collect();
        change(&mut r);
        let moved = hashes
            .iter()
            .zip(&before)
            .filter(|(&h, b)| r.pick(h) != **b)
            .count();
        moved as f64 / hashes.len() as f64
    }

    /// A node going down remaps ~(N−1)/N of flows with modulo, only its own
    /// ~1/N with resilient hashing; coming back, the same.
    #[test]
    fn modulo_remaps_most_resilient_only_the_node() {
        let n = 4;
        let m = share_moved(EcmpKind::Modulo, n, |r| r.down(1));
        assert!(m > 0.6, "modulo {m}");
        let r = share_moved(EcmpKind::Resilient(4096), n, |r| r.down(1));
        assert!((0.2..0.3).contains(&r), "resilient {r}");
        let r = share_moved(EcmpKind::Resilient(4096), n, |r| {
            r.down(1);
            r.up(1);
        });
        assert!(r < 0.6, "resilient down+up {r}");
        // Down then up: resilient is balanced again and moved ~1/N twice.
        let mut g = Router::new(EcmpKind::Resilient(4096), n);
        g.down(2);
        assert_eq!(g.load[2], 0);
        assert!(g.buckets.iter().all(|&b| b != 2));
        g.up(2);
        assert!(g.load.iter().all(|&l| (1023..=1025).contains(&l)), "{:?}", g.load);
    }

    #[test]
    fn no_live_node_and_back() {
        for kind in [EcmpKind::Modulo, EcmpKind::Resilient(64)] {
            let mut r = Router::new(kind, 2);
            r.down(0);
            r.down(1);
            assert_eq!(r.pick(12345), None);
            r.up(1);
            assert_eq!(r.pick(12345), Some(1));
            r.up(0);
            assert!(r.pick(12345).is_some());
            r.up(9); // no such node: ignored
        }
    }

    /// Every fragment of a datagram hashes alike (so it reaches one node);
    /// whole packets of other ports of the same hosts spread; junk hashes.
    #[test]
    fn fragments_hash_without_ports_and_junk_hashes() {
        use hw_model::packet::parse;
        for v6 in [false, true] {
            let b = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6]);
            let b = if v6 {
                b.ipv6(
                    [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                    [0x20; 16],
                    64,
                )
            } else {
                b.ipv4([198, 51, 100, 1], [192, 0, 2, 53], 64)
            };
            let mut f = Vec::new();
            b.udp(5353, 53).write(&mut f, &[0xab; 3000]).unwrap();
            let parts = crate::frag::fragment(&f, 1200, 7).unwrap();
            let hs: Vec<u64> = parts.iter().map(|p| hash(parse(p).ok().as_ref(), p)).collect();
            assert_eq!(hs.len(), 3);
            assert!(hs.iter().all(|&h| h == hs[0]), "v6 {v6}");
            assert_ne!(hash(parse(&f).ok().as_ref(), &f), hs[0]);
        }
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        assert!(parse(&f).is_err());
        assert_eq!(hash(None, &f), hash(None, &f));
        let _ = hash(None, &[]);
        assert_eq!(EcmpKind::parse("resilient").unwrap(), EcmpKind::Resilient(4096));
        assert_eq!(EcmpKind::parse("resilient:16").unwrap(), EcmpKind::Resilient(16));
        assert!(EcmpKind::parse("resilient:0").is_err());
        assert!(EcmpKind::parse("hash").is_err());
    }
}
