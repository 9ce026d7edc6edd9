//! Test vectors of the conntrack engine (rtl/lbnic_ct_engine.sv: CT_REQ +
//! CT_EXEC, testbench rtl/tb/lbnic_ct_engine_tb.sv), computed by the
//! functional model: `hw_model::pipeline::classify` then `execute` for every
//! packet in order, as `Functional::process` does, then `Functional::sweep`.
//!
//! ```text
//! cargo run -q -p hw-model-tests --example rtl_vectors_ctx -- DIR
//! ```
//!
//! Two targets: `small` (examples/targets/small.toml: 1024 buckets x 4
//! ways) and `tiny` (the same with 16 buckets x 2 ways, written to
//! DIR/ctx_tiny.toml: the table is always full, so relocations, evictions
//! and refusals are frequent). Per target NAME, files (hex; structs and
//! entries in the packed layout of lbnic_pkg / lbnic_pipe_pkg):
//! - `ctx_NAME_pkts.txt`: a header line `ways bucket_bits max_vips
//!   max_backends lut_entries lut_entry_bits no_vip_action
//!   parse_error_action banks packets`, then per packet `event bank ct_host
//!   bank_valid meta_t parsed_t decision_t vip_t backend_t` (event: 0 none,
//!   1 CONTROL.CT_FLUSH, 2 CONTROL.RESET before the packet; vip_t and
//!   backend_t: the entries a Forward / ReverseNat decision names, else 0);
//! - `ctx_NAME_global.hex`, `ctx_NAME_vips.hex`, `ctx_NAME_be.hex`,
//!   `ctx_NAME_lut.hex` (`$readmemh`): per bank its `global_t`, its
//!   `max_vips` `vip_t`, its `max_backends` `backend_t` and its
//!   `lut_entries` LUT entries;
//! - `ctx_NAME_cnt.txt`: CT_HITS CT_MISSES CT_INSERTS CT_EVICTIONS
//!   CT_AGEOUTS CT_RELOCATIONS CT_INSERT_REFUSED after the sweep at the last
//!   ingress time (since the RESET).
//!
//! Traffic: testbench::gen over every mode x scheduler x family of the test
//! config (fragments, NAT replies, SYN floods, non-VIP and malformed
//! frames), hand-made ICMP errors about forwarded flows (VIP -> client, and
//! client -> NAT backend), a first stretch without a bank, a commit
//! mid-trace of an image that adds a backend and drains one, a stretch with
//! CONTROL.CT_HOST, a CT_FLUSH and a RESET.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "rtl_common/mod.rs"]
mod rtl_common;

use common::{config_text, image_for};
use hw_model::device::{in_memory, Device, Memory};
use hw_model::packet::{parse_into, Parsed};
use hw_model::pipeline::{self, Decision};
use lbnic_contract::image::Bank;
use lbnic_contract::target::entries::{BACKEND_ENTRY_LEN, VIP_ENTRY_LEN};
use lbnic_contract::target::regs::{self, control, Counter};
use lbnic_contract::target::Target;
use rtl_common::{global_hex, hex_rev, meta_bits, parsed_bits, vips_hex, Bits, Rng};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use table_compiler::config::Config;
use testbench::gen::{GenSpec, Generator, Rate};

const CT_COUNTERS: [Counter; 7] = [
    Counter::CtHits,
    Counter::CtMisses,
    Counter::CtInserts,
    Counter::CtEvictions,
    Counter::CtAgeouts,
    Counter::CtRelocations,
    Counter::CtInsertRefused,
];

/// decision_t: kind, drop counter index, slot, local, hash.
fn decision_bits(d: Decision) -> String {
    let base = Counter::RxPackets.offset();
    let (k, c, s, l, h) = match d {
        Decision::Pass => (0, 0, 0, 0, 0),
        Decision::Drop(c) => (1, (c.offset() - base) / 8, 0, 0, 0),
        Decision::Forward { slot, local, hash } => (2, 0, slot, local, hash),
        Decision::ReverseNat { slot, local } => (3, 0, slot, local, 0),
    };
    let mut b = Bits::default();
    b.num(k, 2)
        .num(c, 8)
        .num(s as u64, 16)
        .num(l as u64, 16)
        .num(h as u64, 32);
    b.hex()
}

struct Writer {
    pkts: String,
    n: u64,
    banks: Vec<Bank>,
    event: u8,
    kinds: [u64; 4],
}

fn ip_str(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v) => v.to_ipv4_mapped().map_or(v.to_string(), |x| x.to_string()),
        IpAddr::V4(v) => v.to_string(),
    }
}

/// One frame through the model (Functional::process's classify and
/// execute), recorded. Returns the decision and the parse.
fn packet(dev: &mut Device<Memory>, w: &mut Writer, frame: &[u8], ts: u64) -> Option<(Decision, Parsed)> {
    if !dev.mac_accepts(frame.len()) {
        return None;
    }
    let now = dev.set_time_ns(ts);
    let bank = dev.active.clone();
    let buckets = dev.ct.buckets;
    let enabled = dev.enabled();
    let meta = pipeline::classify(bank.as_deref(), enabled, frame, now, buckets, &mut dev.counters);
    let ct_host = dev.ct_host();
    let d = pipeline::execute(dev, bank.as_deref(), &meta);
    let (mut vip, mut be) = ([0u8; VIP_ENTRY_LEN], [0u8; BACKEND_ENTRY_LEN]);
    if let (Decision::Forward { slot, local, .. } | Decision::ReverseNat { slot, local }, Some(b)) =
        (d, bank.as_deref())
    {
        if let Some(v) = b.vip(slot) {
            v.repr.emit(&mut vip);
            if let Some(x) = v.backend(local) {
                x.repr.emit(&mut be);
            }
        }
    }
    w.kinds[match d {
        Decision::Pass => 0,
        Decision::Drop(_) => 1,
        Decision::Forward { .. } => 2,
        Decision::ReverseNat { .. } => 3,
    }] += 1;
    let _ = writeln!(
        w.pkts,
        "{:x} {:x} {:x} {:x} {} {} {} {} {}",
        w.event,
        w.banks.len().saturating_sub(1),
        ct_host as u8,
        bank.is_some() as u8,
        meta_bits(&meta.class, meta.len, meta.now),
        parsed_bits(frame),
        decision_bits(d),
        hex_rev(&vip),
        hex_rev(&be)
    );
    w.event = 0;
    w.n += 1;
    let mut p = Parsed::default();
    parse_into(frame, &mut p).ok()?;
    Some((d, p))
}

/// ICMP errors about a forwarded packet's flow: one from a router about
/// the VIP's answer to the client, and for a NAT VIP one about the packet
/// the device forwarded to the backend (the NAT return entry's flow).
fn icmp_errors(dev: &Device<Memory>, d: Decision, p: &Parsed, rng: &mut Rng) -> Vec<Vec<u8>> {
    let Decision::Forward { slot, local, .. } = d else {
        return vec![];
    };
    if p.frag != hw_model::packet::Frag::None || p.icmp_error.is_some() || !(p.proto == 6 || p.proto == 17) {
        return vec![];
    }
    let router = if p.ipv6 {
        "2001:db8:ffff::fe"
    } else {
        "198.51.100.254"
    };
    let inner = |src: IpAddr, sp: u16, dst: IpAddr, dp: u16| {
        let f = if p.proto == 6 {
            common::tcp(&ip_str(src), sp, &ip_str(dst), dp, 0x10, 0)
        } else {
            common::udp(&ip_str(src), sp, &ip_str(dst), dp, 0)
        };
        common::ip_packet(&f).to_vec()
    };
    let ty = if p.ipv6 { 1 } else { 3 };
    let mut out = vec![common::icmp_error(
        router,
        &ip_str(p.dst),
        ty,
        rng.below(4) as u8,
        &inner(p.dst, p.dport, p.src, p.sport),
        64,
    )];
    let be = dev
        .active
        .as_deref()
        .and_then(|b| b.vip(slot))
        .filter(|v| v.repr.mode == lbnic_contract::target::entries::Mode::Nat)
        .and_then(|v| v.backend(local))
        .map(|x| x.repr.clone());
    if let Some(be) = be {
        if be.addr.is_ipv6() == p.ipv6 {
            let port = if be.port != 0 { be.port } else { p.dport };
            out.push(common::icmp_error(
                router,
                &ip_str(p.src),
                ty,
                0,
                &inner(p.src, p.sport, be.addr, port),
                64,
            ));
        }
    }
    out
}

fn write_banks(dir: &Path, name: &str, t: &Target, banks: &[Bank]) -> std::io::Result<()> {
    let (mut g, mut v, mut be, mut lut) = (String::new(), String::new(), String::new(), String::new());
    for b in banks {
        let _ = writeln!(g, "{}", global_hex(b));
        vips_hex(b, t.max_vips, &mut v);
        let mut bes = vec![[0u8; BACKEND_ENTRY_LEN]; t.max_backends as usize];
        let mut luts = vec![0u16; t.lut_entries as usize];
        for vip in b.vips.iter().flatten() {
            for (l, x) in vip.backends.iter().enumerate() {
                if let Some(x) = x {
                    x.repr.emit(&mut bes[vip.repr.backend_base as usize + l]);
                }
            }
            for (k, &e) in vip.table.iter().enumerate() {
                luts[vip.repr.lut_base as usize + k] = e;
            }
        }
        for x in &bes {
            let _ = writeln!(be, "{}", hex_rev(x));
        }
        for x in &luts {
            let _ = writeln!(lut, "{x:x}");
        }
    }
    std::fs::write(dir.join(format!("ctx_{name}_global.hex")), g)?;
    std::fs::write(dir.join(format!("ctx_{name}_vips.hex")), v)?;
    std::fs::write(dir.join(format!("ctx_{name}_be.hex")), be)?;
    std::fs::write(dir.join(format!("ctx_{name}_lut.hex")), lut)
}

fn control(dev: &mut Device<Memory>, bits: u32) -> Result<(), Box<dyn std::error::Error>> {
    dev.host_write32(regs::CONTROL, control::ENABLE | bits)?;
    Ok(())
}

fn run(dir: &Path, name: &str, target: &Target, seed: u64) -> Result<(), Box<dyn std::error::Error>> {
    let text = config_text(false, false);
    let img1 = image_for(&text, target, None);
    let img2 = image_for(&config_text(true, true), target, Some(&img1));
    let mut cfg = Config::parse(&text, "test.toml", Path::new("."))?;
    cfg.target = target.clone();
    cfg.target_fingerprint = target.fingerprint();
    let mut dev = in_memory(target.clone())?;
    let mut w = Writer {
        pkts: String::new(),
        n: 0,
        banks: vec![],
        event: 0,
        kinds: [0; 4],
    };
    let mut rng = Rng(seed);
    let specs = [
        // fast: a SYN flood into a full table (evictions, refusals)
        GenSpec {
            seed: seed + 2,
            packets: 3000,
            flows: 2000,
            ipv6: 0.3,
            syn_flood: 0.3,
            nat_replies: 0.1,
            fragments: 0.05,
            rate: Rate::Pps(200_000.0),
            ..GenSpec::default()
        },
        // slow: entries age out; fragments, NAT replies
        GenSpec {
            seed: seed + 1,
            packets: 3000,
            flows: 300,
            ipv6: 0.4,
            syn_flood: 0.1,
            nat_replies: 0.2,
            fragments: 0.1,
            non_vip: 0.03,
            malformed: 0.02,
            flow_len: 20,
            rate: Rate::Pps(1500.0),
            ..GenSpec::default()
        },
        // very slow, few flows: ways free up by expiry
        GenSpec {
            seed: seed + 3,
            packets: 1500,
            flows: 200,
            nat_replies: 0.2,
            fragments: 0.1,
            flow_len: 10,
            rate: Rate::Pps(40.0),
            ..GenSpec::default()
        },
    ];
    let total: u64 = specs.iter().map(|s| s.packets).sum();
    let mut i = 0u64;
    let mut t_off = 0u64;
    for spec in specs {
        let count = spec.packets;
        let mut g = Generator::new(&cfg, spec)?;
        let mut last = 0;
        for _ in 0..count {
            // events between packets, as a host would cause them
            if i == 40 {
                dev.flash(&img1)?;
                control(&mut dev, 0)?;
                w.banks.push(dev.active.as_deref().ok_or("no bank")?.bank.clone());
            } else if i == total / 2 {
                dev.flash(&img2)?;
                w.banks.push(dev.active.as_deref().ok_or("no bank")?.bank.clone());
            } else if i == total / 4 {
                control(&mut dev, control::CT_HOST)?;
            } else if i == total / 4 + 60 {
                control(&mut dev, 0)?;
            } else if i == 200 {
                control(&mut dev, control::CT_FLUSH)?;
                w.event = 1;
            } else if i == 400 {
                control(&mut dev, control::RESET)?;
                w.event = 2;
            }
            i += 1;
            let (ts, frame) = g.next_frame();
            last = ts;
            let ts = ts + t_off;
            if let Some((d, p)) = packet(&mut dev, &mut w, &frame, ts) {
                if rng.below(100) < 6 {
                    for f in icmp_errors(&dev, d, &p, &mut rng) {
                        packet(&mut dev, &mut w, &f, ts);
                    }
                }
            }
        }
        t_off += last.saturating_sub(GenSpec::default().start_ns) + 1_000_000;
    }
    // Functional::sweep at the last ingress time
    let b = dev.active.clone().ok_or("no bank")?;
    let (ct, now) = (dev.ct, dev.now as u32);
    let mut n = 0u64;
    for bucket in 0..ct.buckets {
        n += ct.sweep(dev.ct_mem_mut(), bucket, now, &b.to) as u64;
    }
    dev.counters.add(Counter::CtAgeouts, n);

    let header = format!(
        "{:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x}\n",
        target.ct_ways,
        target.ct_buckets.trailing_zeros(),
        target.max_vips,
        target.max_backends,
        target.lut_entries,
        target.lut_entry_bits,
        target.no_vip_action as u8,
        target.parse_error_action as u8,
        w.banks.len(),
        w.n
    );
    std::fs::write(dir.join(format!("ctx_{name}_pkts.txt")), header + &w.pkts)?;
    write_banks(dir, name, target, &w.banks)?;
    let cnt: Vec<String> = CT_COUNTERS
        .iter()
        .map(|&c| format!("{:x}", dev.counters.get(c)))
        .collect();
    std::fs::write(dir.join(format!("ctx_{name}_cnt.txt")), cnt.join(" ") + "\n")?;
    eprintln!(
        "ctx {name}: {} packets (pass {}, drop {}, forward {}, reverse NAT {}); counters {}",
        w.n,
        w.kinds[0],
        w.kinds[1],
        w.kinds[2],
        w.kinds[3],
        CT_COUNTERS
            .iter()
            .map(|&c| format!("{} {}", c.name(), dev.counters.get(c)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "rtl/build/vectors".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let small_path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/targets/small.toml"
    ));
    let small_text = std::fs::read_to_string(small_path)?;
    let small = table_compiler::target_file::parse(&small_text, "small.toml")?;
    let tiny_text = format!(
        "{}\nct_buckets = 16\nct_ways = 2\n",
        small_text
            .lines()
            .filter(|l| !l.starts_with("ct_buckets") && !l.starts_with("ct_ways") && !l.starts_with("name"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let tiny_text = format!("name = \"tiny\"\n{tiny_text}");
    std::fs::write(dir.join("ctx_tiny.toml"), &tiny_text)?;
    let tiny = table_compiler::target_file::parse(&tiny_text, "ctx_tiny.toml")?;
    run(&dir, "small", &small, 0x5eed_c7c7)?;
    run(&dir, "tiny", &tiny, 0x7e57_0001)?;
    Ok(())
}
