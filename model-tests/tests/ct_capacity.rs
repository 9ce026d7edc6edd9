//! Conntrack capacity (docs/performance.md, "Conntrack capacity"): how full
//! the table gets before the first established entry is evicted under
//! uniform random flows, and what a line-rate SYN flood does to established
//! connections. The small variants run with the suite; the default-target
//! measurements are ignored tests that print their numbers:
//!
//! ```text
//! cargo test --release -p hw-model-tests --test ct_capacity -- --ignored --nocapture
//! ```

mod common;

use common::*;
use hw_model::ct::{CtTable, FullHints, NewEntry, TimeoutTicks};
use hw_model::functional::Functional;
use hw_model::model::Model;
use lbnic_contract::target::ct::CtKey;
use lbnic_contract::target::entries::{FlowKey, TcpState, CT_WAY_LEN};
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::Target;
use lbnic_contract::toeplitz::{Toeplitz, DEFAULT_KEY};

/// xorshift64*: reproducible flows without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const TO: TimeoutTicks = TimeoutTicks {
    syn: 1 << 30,
    est: 1 << 30,
    fin: 1 << 30,
    udp: 1 << 30,
};

/// Insert uniform random established flows into an empty table of
/// `buckets` x `ways` until the first eviction; returns (occupancy then,
/// relocations so far).
fn first_eviction(buckets: u32, ways: u32, seed: u64) -> (f64, u64) {
    let t = CtTable { buckets, ways };
    let tz = Toeplitz::new(&DEFAULT_KEY);
    let mut mem = vec![0u8; buckets as usize * ways as usize * CT_WAY_LEN];
    let mut hints = FullHints::new(buckets);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let entry = NewEntry {
        reverse: false,
        state: TcpState::Established,
        backend: 0,
        vip: 0,
        bytes: 64,
    };
    let (mut n, mut moved) = (0u64, 0u64);
    loop {
        let r = rng.next();
        let mut src = [0u8; 16];
        src[10] = 0xff;
        src[11] = 0xff;
        src[12..].copy_from_slice(&(r as u32).to_be_bytes());
        let key = CtKey::new(6, &src, (r >> 32) as u16, &[0; 16], 80, false);
        let c = t.candidates(key.flow_hash(&tz));
        let ins = t.insert(&mut mem[..], c, &key, &entry, 1, &TO, &tz, &hints);
        // As the pipeline does: refresh the hints of the buckets written.
        for b in ins.slot.map(|s| s.bucket).into_iter().chain(ins.moved_to) {
            hints.set(b, !t.has_free(&mem[..], b, 1, &TO));
        }
        if ins.evicted || ins.slot.is_none() {
            return (n as f64 / (buckets as f64 * ways as f64), moved);
        }
        n += 1;
        moved += ins.moved_to.is_some() as u64;
    }
}

#[test]
fn small_table_fills_past_ninety_percent_before_evicting() {
    for seed in 1..4 {
        let (occ, moved) = first_eviction(1 << 12, 8, seed);
        assert!(occ > 0.9, "first eviction at {:.1}%", occ * 100.0);
        assert!(moved > 0);
    }
}

#[test]
#[ignore = "measurement on the default target (2M entries); run with --ignored --nocapture"]
fn default_target_occupancy_at_first_eviction() {
    let t = Target::builtin();
    for seed in 1..=3 {
        let (occ, moved) = first_eviction(t.ct_buckets, t.ct_ways, seed);
        println!(
            "default target ({} buckets x {} ways): first eviction at {:.2}% occupancy, {} relocations (seed {seed})",
            t.ct_buckets,
            t.ct_ways,
            occ * 100.0,
            moved
        );
        assert!(occ > 0.88, "{occ}");
    }
}

const VIP: [u8; 4] = [192, 0, 2, 10];

fn web(t: &Target) -> Functional<hw_model::device::Memory> {
    let mut text = String::from(
        "[timeouts]\ntcp_syn_s = 30\n[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\n",
    );
    for i in 1..=8 {
        text += &format!(
            "[[vip.backend]]\nname = \"b{i}\"\naddress = \"10.0.0.{i}\"\nmac = \"02:00:00:00:00:0{i}\"\n"
        );
    }
    let img = image_for(&text, t, None);
    Functional::new(device(t, &img))
}

fn client(i: u32) -> ([u8; 4], u16) {
    (
        [198, 18 + (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60000) as u16,
    )
}

/// `established` flows (ACKs: picked up established), then `flood` SYNs
/// from random spoofed sources at 100 GbE line rate for 64-byte frames,
/// one in `every` of them replaced by a packet of a random established
/// flow. Returns (established broken, SYN entries inserted, refused,
/// flood seconds).
fn syn_flood(t: &Target, established: u32, flood: u64, every: u64) -> (u64, u64, u64, f64) {
    let mut m = web(t);
    let pps = t.line_rate_pps(60);
    let mut k = 0u64;
    let send = |m: &mut Functional<_>, k: &mut u64, ts0: u64, f: Vec<u8>| {
        *k += 1;
        m.input(f, ts0 + (*k as f64 * 1e9 / pps) as u64);
        m.take_output();
    };
    for i in 0..established {
        let (src, sport) = client(i);
        send(
            &mut m,
            &mut k,
            1_000_000_000,
            tcp4_frame(src, sport, VIP, 80, 0x10, 60),
        );
    }
    let ts = 1_001_000_000; // 1 ms later
    let ins0 = m.counters().get(Counter::CtInserts);
    let mut rng = Rng(7);
    let start = k;
    for j in 0..flood {
        let r = rng.next();
        if j % every == 0 {
            let (src, sport) = client((r % established as u64) as u32);
            send(&mut m, &mut k, ts, tcp4_frame(src, sport, VIP, 80, 0x10, 60));
        } else {
            // Spoofed sources outside the established clients' range.
            let src = [100, 64 | (r as u8 & 0x3f), (r >> 8) as u8, (r >> 16) as u8];
            send(
                &mut m,
                &mut k,
                ts,
                tcp4_frame(src, (r >> 24) as u16 | 1, VIP, 80, 0x02, 60),
            );
        }
    }
    let secs = (k - start) as f64 / pps;
    m.finish();
    let inserted = m.counters().get(Counter::CtInserts) - ins0;
    let refused = m.counters().get(Counter::CtInsertRefused);
    let broken = (0..established)
        .filter(|&i| {
            let (src, sport) = client(i);
            let flow: FlowKey = format!(
                "tcp {}.{}.{}.{}:{sport} -> 192.0.2.10:80",
                src[0], src[1], src[2], src[3]
            )
            .parse()
            .unwrap();
            m.dev.ct_entry(&flow, false).is_none()
        })
        .count() as u64;
    (broken, inserted, refused, secs)
}

#[test]
fn a_syn_flood_breaks_no_established_connection_small() {
    let t = Target {
        ct_buckets: 1 << 12,
        ..Target::builtin()
    };
    // 70% of the table established, then 20x the table's size in SYNs.
    let est = (t.ct_buckets * t.ct_ways) * 7 / 10;
    let (broken, inserted, _, _) = syn_flood(&t, est, 20 * (t.ct_buckets * t.ct_ways) as u64, 10);
    assert_eq!(broken, 0);
    assert!(inserted > 10 * (t.ct_buckets * t.ct_ways) as u64, "{inserted}");
}

#[test]
#[ignore = "measurement on the default target (2M entries); run with --ignored --nocapture"]
fn default_target_syn_flood() {
    let t = Target::builtin();
    let cap = t.ct_buckets * t.ct_ways;
    for pct in [50u32, 85] {
        let est = cap / 100 * pct;
        let flood = 4_000_000u64;
        let (broken, inserted, refused, secs) = syn_flood(&t, est, flood, 10);
        println!(
            "default target, {est} established ({pct}%), {flood} packets at line rate ({:.1} ms, 90% SYNs): \
             {:.1} M new entries/s inserted, {refused} SYNs not stored, {broken} established broken",
            secs * 1e3,
            inserted as f64 / secs / 1e6
        );
        assert_eq!(broken, 0);
    }
}
