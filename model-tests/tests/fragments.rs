//! Fragmented datagrams (docs/spec.md §12.1, "Fragments"): every fragment
//! of one datagram reaches one backend, in any arrival order, for every
//! scheduler and both address families, through both models.

mod common;

use common::*;
use etherparse::PacketBuilder;
use hw_model::cycle::Cycle;
use hw_model::device::Memory;
use hw_model::functional::Functional;
use hw_model::model::{Model, OutPacket};
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::Target;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use testbench::frag::fragment;

const SCHEDULERS: [&str; 4] = ["maglev", "maglev-stable", "rr", "wrr"];

/// A conntrack large enough that no fragment entry is evicted: a split
/// here is the routing rule's fault, not the table's.
fn target() -> Target {
    table_compiler::target_file::parse(
        "name = \"frag\"\nmax_vips = 16\nmax_backends = 256\nlut_entry_bits = 8\nlut_entries = 8192\nct_buckets = 4096\nct_ways = 4\nct_latency_cycles = 20\nct_max_outstanding = 16\nfifo_depth = 8\nct_tick_us = 1000\n",
        "frag",
    )
    .unwrap()
}

/// VIP `i` (scheduler `SCHEDULERS[i % 4]`, IPv6 from 4 on): UDP port 53,
/// DR, four backends with MAC `02:00:00:00:<i>:<b>`.
fn vip_addr(i: usize) -> IpAddr {
    if i < 4 {
        format!("192.0.2.{}", 10 + i).parse().unwrap()
    } else {
        format!("2001:db8::{}", 10 + i).parse().unwrap()
    }
}

fn config() -> String {
    let mut s = String::from("[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n");
    for i in 0..8 {
        let sched = SCHEDULERS[i % 4];
        s += &format!(
            "[[vip]]\nname = \"v{i}\"\naddress = \"{}\"\nport = 53\nprotocol = \"udp\"\nscheduler = \"{sched}\"\n",
            vip_addr(i)
        );
        if sched.starts_with("maglev") {
            s += "table_size = 251\n";
        }
        s += "backend = [\n";
        for b in 0..4 {
            let addr = if i < 4 {
                format!("10.0.{i}.{b}")
            } else {
                format!("2001:db8:1:{i}::{b}")
            };
            let weight = if sched == "wrr" { b + 1 } else { 1 };
            s += &format!("  {{ name = \"b{b}\", address = \"{addr}\", mac = \"02:00:00:00:{i:02x}:{b:02x}\", weight = {weight} }},\n");
        }
        s += "]\n";
    }
    s
}

/// Tiny deterministic generator (no RNG crate in this test crate).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A capture of fragmented UDP datagrams to the eight VIPs, `per_vip`
/// each from varied clients, 2-4 fragments each, shuffled as a whole:
/// (frames, datagram of each frame, VIP of each datagram).
fn capture(per_vip: usize, seed: u64) -> (Vec<Vec<u8>>, Vec<usize>, Vec<usize>) {
    let mut rng = Rng(seed | 1);
    let mut frames = Vec::new();
    let mut vips = Vec::new();
    for i in 0..8 {
        for d in 0..per_vip {
            let c = rng.below(200) as u8;
            let b = PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC);
            let b = match vip_addr(i) {
                IpAddr::V4(v) => b.ipv4([198, 51, 100, c], v.octets(), 64),
                IpAddr::V6(v) => b.ipv6(
                    [0x20, 1, 0xd, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, c],
                    v.octets(),
                    64,
                ),
            };
            let sport = 49152 + rng.below(16000) as u16;
            let mut f = Vec::new();
            let n = 1300 + rng.below(3000);
            b.udp(sport, 53).write(&mut f, &vec![d as u8; n]).unwrap();
            let dg = vips.len();
            vips.push(i);
            // A host's identification counter: distinct per datagram.
            let id = rng.next() as u32;
            for part in fragment(&f, 1200, id).unwrap() {
                frames.push((part, dg));
            }
        }
    }
    // Fisher-Yates: any fragment of a datagram may come first.
    for k in (1..frames.len()).rev() {
        frames.swap(k, rng.below(k + 1));
    }
    let (f, d) = frames.into_iter().unzip();
    (f, d, vips)
}

/// (VIP, backend) an output went to: DR keeps the frame, the destination
/// MAC names the backend.
fn backend_of(o: &OutPacket) -> (u8, u8) {
    assert_eq!(o.data[..4], [2, 0, 0, 0], "a backend MAC");
    (o.data[4], o.data[5])
}

/// Each datagram's backend; panics if a datagram was split or lost.
fn backends(out: &[OutPacket], dgram: &[usize], vips: &[usize]) -> Vec<(u8, u8)> {
    let mut per: BTreeMap<usize, BTreeSet<(u8, u8)>> = BTreeMap::new();
    assert_eq!(out.len(), dgram.len(), "every fragment leaves");
    for o in out {
        per.entry(dgram[o.seq as usize])
            .or_default()
            .insert(backend_of(o));
    }
    (0..vips.len())
        .map(|d| {
            let s = &per[&d];
            assert_eq!(s.len(), 1, "datagram {d} (VIP {}) split over {s:?}", vips[d]);
            let be = *s.first().unwrap();
            assert_eq!(be.0 as usize, vips[d], "datagram {d} at its own VIP");
            be
        })
        .collect()
}

fn image() -> Image {
    image_for(&config(), &target(), None)
}

fn run_functional(img: &Image, frames: &[Vec<u8>]) -> (Vec<OutPacket>, Functional<Memory>) {
    let mut f = Functional::new(device(&target(), img));
    for (k, fr) in frames.iter().enumerate() {
        f.input(fr.clone(), k as u64 * 1000);
    }
    let out = f.take_output();
    f.finish();
    (out, f)
}

#[test]
fn every_fragment_of_a_datagram_reaches_one_backend_in_both_models() {
    let img = image();
    let (frames, dgram, vips) = capture(25, 0x5eed);
    let (fo, f) = run_functional(&img, &frames);
    let mut c = Cycle::new(device(&target(), &img));
    for (k, fr) in frames.iter().enumerate() {
        c.input(fr.clone(), k as u64 * 1000);
    }
    c.finish();
    let co = c.take_output();
    assert_eq!(fo.len(), co.len());
    for (a, b) in fo.iter().zip(&co) {
        assert_eq!((a.seq, &a.data), (b.seq, &b.data), "functional and cycle differ");
    }
    assert_eq!(f.counters(), c.counters());

    let be = backends(&fo, &dgram, &vips);
    // Every scheduler spreads datagrams (so "one backend" is not trivial).
    for i in 0..8 {
        let used: BTreeSet<_> = (0..vips.len()).filter(|&d| vips[d] == i).map(|d| be[d]).collect();
        assert!(used.len() > 1, "VIP {i} sent everything to {used:?}");
    }
    let k = f.counters();
    let (n, dgrams) = (frames.len() as u64, vips.len() as u64);
    assert!(n >= 2 * dgrams);
    assert_eq!(k.get(Counter::FragPackets), n);
    assert_eq!(k.get(Counter::DropFragAmbiguous), 0);
    // One fragment entry per datagram, made by whichever fragment came
    // first; the others hit it.
    assert_eq!(k.get(Counter::CtInserts), dgrams);
    assert_eq!(k.get(Counter::CtHits), n - dgrams);
    assert_eq!(k.get(Counter::CtEvictions), 0);
    assert_eq!(k.get(Counter::TxPackets), n);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Arrival order never splits a datagram, and for hashed VIPs it does
    /// not even change the backend: the 2-tuple Maglev entry is the same
    /// whichever fragment comes first.
    #[test]
    fn order_does_not_matter(seed in 1u64..u64::MAX, reshuffle in 1u64..u64::MAX) {
        let img = image();
        let (frames, dgram, vips) = capture(6, seed);
        let (out, _) = run_functional(&img, &frames);
        let a = backends(&out, &dgram, &vips);
        // The same capture in another order.
        let mut rng = Rng(reshuffle | 1);
        let mut order: Vec<usize> = (0..frames.len()).collect();
        for k in (1..order.len()).rev() {
            order.swap(k, rng.below(k + 1));
        }
        let frames2: Vec<Vec<u8>> = order.iter().map(|&k| frames[k].clone()).collect();
        let dgram2: Vec<usize> = order.iter().map(|&k| dgram[k]).collect();
        let (out2, _) = run_functional(&img, &frames2);
        let b = backends(&out2, &dgram2, &vips);
        for d in 0..vips.len() {
            if SCHEDULERS[vips[d] % 4].starts_with("maglev") {
                prop_assert_eq!(a[d], b[d], "datagram {} moved with the order", d);
            }
        }
    }
}
