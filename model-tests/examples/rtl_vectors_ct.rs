//! Test vectors for the conntrack way logic of CT_EXEC (rtl/lbnic_ct_match.sv):
//! `cargo run -p hw-model-tests --example rtl_vectors_ct -- DIR` writes
//! `DIR/ct_match.txt`.
//!
//! Traffic from `testbench::gen` (every mode x scheduler x family of the
//! test config, SYN floods, fragments, NAT replies, ICMP errors, non-VIP
//! and malformed frames; a table update that drains a backend halfway)
//! runs through the functional model on a target with 64 buckets x 4 ways,
//! so the table fills and entries expire. For every packet that reads
//! conntrack, the two candidate buckets as they are BEFORE its execute are
//! recorded with its key, and what the model's `CtTable` computes on them:
//! the lookup (`find`: hit, bucket a/b, way, the way after `touch`) and the
//! insert of the key as a new entry (`insert`: free way / eviction /
//! refusal / relocation, aged, the way written, the relocation's target)
//! with the device's full hints, and what the RTL is given besides the
//! buckets: each resident's other candidate bucket and its full hint (a
//! hash stage in front of CT_EXEC computes them). Then the packet executes
//! as usual.
//!
//! One line per packet, space-separated hex tokens, numbers as hex, byte
//! strings (addresses, buckets, ways) as the number whose byte k is bits
//! [8k+7:8k] (the RTL's packed layout), most significant digit first:
//!
//! src dst sport dport proto v6 frag reverse now len tcp_flags new_syn
//! new_vip new_backend to_syn to_est to_fin to_udp bucket_a bucket_b
//! a b res_other(32 bits per way, a's then b's) res_placed res_full
//! | hit hit_b hit_way hit_vip hit_backend touched_way
//!   ins_kind(0 free, 1 relocate, 2 evict, 3 refused) ins_b ins_way
//!   ins_aged new_way reloc_bucket

#[path = "../tests/common/mod.rs"]
mod common;

use common::{config_text, device, image_for};
use hw_model::ct::{initial_state, CtTable, FullHints, NewEntry, Slot, TimeoutTicks};
use hw_model::pipeline::{self, Class};
use lbnic_contract::lookup::CtBuckets;
use lbnic_contract::target::ct::{CtKey, CtWay};
use lbnic_contract::target::entries::{TcpState, CT_WAY_LEN};
use lbnic_contract::toeplitz::{Toeplitz, DEFAULT_KEY};
use std::fmt::Write as _;
use std::path::Path;
use table_compiler::config::Config;
use testbench::gen::{GenSpec, Generator, Rate};

/// Bytes as the little-endian number, most significant digit first.
fn hex_le(b: &[u8]) -> String {
    b.iter().rev().map(|x| format!("{x:02x}")).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: rtl_vectors_ct DIR")?;
    std::fs::create_dir_all(&dir)?;
    let target = table_compiler::target_file::parse(
        "name = \"ctvec\"\nmax_vips = 16\nmax_backends = 256\nlut_entry_bits = 8\nlut_entries = 8192\nct_buckets = 64\nct_ways = 4\nct_latency_cycles = 20\nct_max_outstanding = 16\nfifo_depth = 8\nct_tick_us = 1000\n",
        "ctvec",
    )?;
    let text = config_text(false, false);
    let img1 = image_for(&text, &target, None);
    let img2 = image_for(&config_text(true, true), &target, Some(&img1));
    let mut cfg = Config::parse(&text, "test.toml", Path::new("."))?;
    cfg.target = target.clone();
    cfg.target_fingerprint = target.fingerprint();

    let mut out = String::new();
    let mut n = 0u64;
    let mut kinds = [0u64; 4];
    let mut aged = 0u64;
    let mut hits = 0u64;
    let specs = [
        // Slow: entries age out (timeouts 1..5 s); fragments, NAT replies.
        GenSpec {
            seed: 11,
            packets: 6000,
            flows: 300,
            syn_flood: 0.1,
            nat_replies: 0.2,
            fragments: 0.1,
            non_vip: 0.02,
            malformed: 0.02,
            flow_len: 20,
            rate: Rate::Pps(1500.0),
            ..GenSpec::default()
        },
        // Very slow, few flows: ways free up by expiry (age-outs).
        GenSpec {
            seed: 13,
            packets: 3000,
            flows: 200,
            nat_replies: 0.2,
            fragments: 0.1,
            flow_len: 10,
            rate: Rate::Pps(40.0),
            ..GenSpec::default()
        },
        // Fast: a SYN flood into a full table (evictions, refusals).
        GenSpec {
            seed: 12,
            packets: 6000,
            flows: 2000,
            syn_flood: 0.3,
            nat_replies: 0.1,
            fragments: 0.05,
            rate: Rate::Pps(200_000.0),
            ..GenSpec::default()
        },
    ];
    for spec in specs {
        let mut dev = device(&target, &img1);
        let total = spec.packets;
        let mut g = Generator::new(&cfg, spec)?;
        for i in 0..total {
            if i == total / 2 {
                dev.flash(&img2)?;
            }
            let (ts, frame) = g.next_frame();
            if !dev.mac_accepts(frame.len()) {
                continue;
            }
            let now = dev.set_time_ns(ts);
            let bank = dev.active.clone();
            let buckets = dev.ct.buckets;
            let enabled = dev.enabled();
            let meta = pipeline::classify(bank.as_deref(), enabled, &frame, now, buckets, &mut dev.counters);
            if let Some(b) = bank.as_deref() {
                let rec = match meta.class {
                    Class::Vip {
                        slot,
                        key,
                        bucket,
                        tcp_flags,
                        ..
                    } => Some((key, bucket, false, tcp_flags, slot)),
                    Class::Fragment {
                        slot, key, bucket, ..
                    } => Some((key, bucket, false, 0, slot.unwrap_or(0))),
                    Class::Reverse { key, bucket } => Some((
                        key,
                        bucket,
                        true,
                        meta.parsed.as_ref().map_or(0, |p| p.tcp_flags),
                        0,
                    )),
                    _ => None,
                };
                if let Some((key, c, reverse, flags, slot)) = rec {
                    let line = vector(
                        dev.ct,
                        dev.ct_mem(),
                        &dev.ct_hints,
                        b.to,
                        &b.tz,
                        &key,
                        c,
                        reverse,
                        flags,
                        slot,
                        now,
                        meta.len,
                        &mut kinds,
                        &mut aged,
                        &mut hits,
                    );
                    out.push_str(&line);
                    n += 1;
                }
            }
            pipeline::execute(&mut dev, bank.as_deref(), &meta);
        }
    }
    let (nr, rhits) = random_vectors(&mut out, 4000, &mut kinds, &mut aged);
    n += nr;
    hits += rhits;
    let path = Path::new(&dir).join("ct_match.txt");
    std::fs::write(&path, out)?;
    println!(
        "{}: {n} vectors ({hits} hits; inserts: {} free way ({aged} of them or of relocation targets expired), {} relocations, {} evictions, {} refused)",
        path.display(),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3]
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn vector(
    ct: CtTable,
    mem: &[u8],
    hints: &FullHints,
    to: TimeoutTicks,
    tz: &Toeplitz,
    key: &CtKey,
    c: CtBuckets,
    reverse: bool,
    flags: u8,
    slot: u16,
    now: u32,
    len: u32,
    kinds: &mut [u64; 4],
    aged: &mut u64,
    hits: &mut u64,
) -> String {
    let kf = key.flags(false);
    let (v6, frag) = (kf & 2 != 0, kf & 8 != 0);
    let state = if frag {
        TcpState::None
    } else {
        initial_state(key.proto(), flags)
    };
    let backend = (now as u16) ^ 0x5a5a;
    let mut s = String::new();
    let _ = write!(
        s,
        "{} {} {:04x} {:04x} {:02x} {:x} {:x} {:x} {:08x} {:04x} {:02x} {:x} {:04x} {:04x} {:08x} {:08x} {:08x} {:08x} {} {}",
        hex_le(key.src()),
        hex_le(key.dst()),
        key.src_port(),
        key.dst_port(),
        key.proto(),
        v6 as u8,
        frag as u8,
        reverse as u8,
        now,
        len & 0xffff,
        flags,
        (state == TcpState::SynSeen) as u8,
        slot,
        backend,
        to.syn,
        to.est,
        to.fin,
        to.udp,
        hex_le(&mem[ct.bucket_range(c.a)]),
        hex_le(&mem[ct.bucket_range(c.b)]),
    );
    // Each resident's other candidate bucket (0 and not placed when its
    // candidates do not include the bucket it is in) and that bucket's
    // full hint: what a hash stage in front of CT_EXEC hands it.
    let (mut other, mut placed, mut full) = (Vec::new(), 0u32, 0u32);
    for (i, bucket) in [c.a, c.b].into_iter().enumerate() {
        for w in 0..ct.ways {
            let o = ct.bucket_range(bucket).start + w as usize * CT_WAY_LEN;
            let e = CtWay::new_unchecked(&mem[o..o + CT_WAY_LEN]);
            let rc = ct.candidates(e.key().flow_hash(tz));
            let n = i as u32 * ct.ways + w;
            let ob = if rc.a == bucket {
                Some(rc.b)
            } else if rc.b == bucket {
                Some(rc.a)
            } else {
                None
            };
            other.push(ob.unwrap_or(0));
            if let Some(ob) = ob {
                placed |= 1 << n;
                full |= (hints.is_full(ob) as u32) << n;
            }
        }
    }
    let other_hex: String = other.iter().rev().map(|o| format!("{o:08x}")).collect();
    let _ = write!(s, " {:08x} {:08x} {other_hex} {placed:x} {full:x}", c.a, c.b);
    let ab = |s: Slot| (s.bucket == c.b) as u8;
    let way_of = |m: &[u8], s: Slot| {
        let o = ct.bucket_range(s.bucket).start + s.way as usize * CT_WAY_LEN;
        hex_le(&m[o..o + CT_WAY_LEN])
    };
    let mut copy = mem.to_vec();
    match ct.find(mem, c, key, reverse, now, &to) {
        Some(h) => {
            *hits += 1;
            let (vip, be, _) = ct.target_of(mem, h);
            ct.touch(&mut copy[..], h, now, len, flags);
            let _ = write!(
                s,
                " | 1 {} {:x} {vip:04x} {be:04x} {}",
                ab(h),
                h.way,
                way_of(&copy, h)
            );
        }
        None => {
            let _ = write!(s, " | 0 0 0 0000 0000 {}", "0".repeat(2 * CT_WAY_LEN));
        }
    }
    let mut copy = mem.to_vec();
    let n = NewEntry {
        reverse,
        state,
        backend,
        vip: slot,
        bytes: len,
    };
    let ins = ct.insert(&mut copy[..], c, key, &n, now, &to, tz, hints);
    match ins.slot {
        Some(w) => {
            let kind = if ins.evicted {
                2
            } else if ins.moved_to.is_some() {
                1
            } else {
                0
            };
            kinds[kind] += 1;
            *aged += ins.aged as u64;
            let _ = writeln!(
                s,
                " {kind} {} {:x} {:x} {} {:08x}",
                ab(w),
                w.way,
                ins.aged as u8,
                way_of(&copy, w),
                ins.moved_to.unwrap_or(0)
            );
        }
        None => {
            kinds[3] += 1;
            let _ = writeln!(s, " 3 0 0 0 {} 00000000", "0".repeat(2 * CT_WAY_LEN));
        }
    }
    s
}

/// xorshift64*: reproducible random buckets without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` vectors over random buckets (corner cases traffic rarely makes):
/// ways that are empty, random entries, the probed key itself with flags
/// varied (reverse, family, fragment, stray bits), or random bytes; random
/// and unknown TCP state codes, small timeouts, times near the wrap, ties;
/// random full hints; half of them with both buckets full of live
/// entries. Returns (vectors, hits).
fn random_vectors(out: &mut String, count: u64, kinds: &mut [u64; 4], aged: &mut u64) -> (u64, u64) {
    let ct = CtTable { buckets: 64, ways: 4 };
    let tz = Toeplitz::new(&DEFAULT_KEY);
    let mut r = Rng(0x5eed_c7e0_0000_0001);
    let mut hits = 0;
    for _ in 0..count {
        let addr = |r: &mut Rng| {
            let mut a = [0u8; 16];
            a[10] = 0xff;
            a[11] = 0xff;
            a[12..].copy_from_slice(&(r.below(4) as u32 | 0xc000_0200).to_be_bytes());
            a
        };
        let proto = [6u8, 17, 6, 1][r.below(4) as usize];
        let (src, dst) = (addr(&mut r), addr(&mut r));
        let mut key = CtKey::new(proto, &src, r.below(3) as u16, &dst, 80, false);
        if r.below(8) == 0 {
            key = CtKey::fragment(proto, &src, &dst, r.below(3) as u32, false);
        }
        let reverse = r.below(4) == 0;
        let now = if r.below(4) == 0 {
            r.below(64) as u32
        } else {
            r.next() as u32
        };
        // Half the vectors: both buckets full of live entries (eviction
        // classes, idle ties, refusals).
        let full = r.below(2) == 0;
        let base = if full { 100 } else { 0 };
        let to = TimeoutTicks {
            syn: base + r.below(40) as u32,
            est: base + r.below(40) as u32,
            fin: base + r.below(40) as u32,
            udp: base + r.below(40) as u32,
        };
        let c = ct.candidates(key.flow_hash(&tz));
        let mut mem = vec![0u8; ct.buckets as usize * ct.ways as usize * CT_WAY_LEN];
        for bucket in [c.a, c.b] {
            for w in 0..ct.ways {
                let o = ct.bucket_range(bucket).start + w as usize * CT_WAY_LEN;
                let way = &mut mem[o..o + CT_WAY_LEN];
                let kind = if full { 1 + r.below(6) } else { r.below(8) };
                if kind == 0 {
                    continue;
                }
                if kind == 7 {
                    way.iter_mut().for_each(|b| *b = r.next() as u8);
                    continue;
                }
                let k = if kind >= 4 {
                    key
                } else {
                    let p = [6u8, 17][r.below(2) as usize];
                    CtKey::new(p, &addr(&mut r), r.below(3) as u16, &addr(&mut r), 80, false)
                };
                let mut e = CtWay::new_unchecked(way);
                e.set_key(&k);
                let mut f = k.flags(if kind == 4 { !reverse } else { reverse });
                if kind == 5 && r.below(2) == 0 {
                    f ^= [0x02u8, 0x08, 0x10, 0x80][r.below(4) as usize];
                }
                e.set_flags(f);
                e.set_tcp_state(r.below(7) as u8);
                e.set_backend(r.next() as u16);
                e.set_vip(r.next() as u16);
                // Ties in idle time now and then.
                let span = if r.below(2) == 0 { 4 } else { 80 };
                e.set_last_seen(now.wrapping_sub(r.below(span) as u32));
                e.set_created(r.next() as u32);
                e.set_packets(r.next() as u32);
                e.set_bytes(r.next());
            }
        }
        let mut hints = FullHints::new(ct.buckets);
        for b in 0..ct.buckets {
            hints.set(b, r.below(2) == 0);
        }
        let flags = [0x02u8, 0x12, 0x10, 0x11, 0x04, 0x01, 0x00, 0xff][r.below(8) as usize];
        let len = 60 + r.below(1500) as u32;
        let slot = r.below(16) as u16;
        let mut h = 0;
        out.push_str(&vector(
            ct, &mem, &hints, to, &tz, &key, c, reverse, flags, slot, now, len, kinds, aged, &mut h,
        ));
        hits += h;
    }
    (count, hits)
}
