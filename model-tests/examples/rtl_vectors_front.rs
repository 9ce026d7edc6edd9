//! Test vectors of FRONT's classification (rtl/lbnic_front.sv, testbench
//! rtl/tb/lbnic_front_tb.sv), computed by the Rust model
//! (`hw_model::pipeline::classify` on `ActiveBank`s of compiled configs).
//! Run by scripts/rtl-test.sh:
//!
//! ```text
//! cargo run -q -p hw-model-tests --example rtl_vectors_front -- DIR
//! ```
//!
//! Files (`$readmemh` input, hex numbers, wide words; byte strings and
//! structs in the exact packed layout of lbnic_pkg / lbnic_pipe_pkg):
//! - `front_global.txt`: the bank count, then each bank's `global_t`.
//! - `front_vips.txt`: each bank's VIP table, `max_vips` `vip_t` words.
//! - `front_pkts.txt`: count, `$bits(parsed_t)`, `$bits(meta_t)`, then per
//!   packet four words: `{bank[8], enabled, bank_valid, len[16], now[32]}`,
//!   the `parsed_t` (the model's parse of the frame, with its status), the
//!   expected `meta_t` (fields a class lacks are zero) and the expected
//!   counter increments `{rx, bytes[16], parse_error, reason[3], frag}`.
//!
//! Banks: every mode x scheduler x family with and without NAT, VIPs
//! sharing an address with other ports / protocols, port-0 and
//! protocol-any VIPs, and a hand-built bank of overlapping VIPs (which a
//! compiler refuses but a device ranks, `lookup::vip_rank`). Traffic:
//! testbench::gen (fragments, NAT replies, non-VIP, malformed), mutated
//! frames, and hand-made packets (every VIP address x protocol x port,
//! first and later fragments, ICMP errors quoting a VIP flow and a
//! NAT-forwarded flow), some with the pipeline disabled or no bank.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "rtl_common/mod.rs"]
mod rtl_common;

use hw_model::device::{ActiveBank, Counters};
use hw_model::pipeline::{classify, Class};
use lbnic_contract::image::Bank;
use lbnic_contract::target::entries::{Mode, Proto};
use lbnic_contract::target::regs::Counter;
use lbnic_contract::target::Target;
use rtl_common::{global_hex, meta_bits, parsed_bits, vips_hex, Rng, META_BITS, PARSED_BITS};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use table_compiler::config::Config;
use testbench::gen::{GenSpec, Generator, Sizes};

struct Out {
    pkts: String,
    n: usize,
    kinds: [usize; 6],
}

fn class_kind(c: &Class) -> usize {
    match c {
        Class::NoVip => 0,
        Class::ParseError => 1,
        Class::Bypass => 2,
        Class::Vip { .. } => 3,
        Class::Fragment { .. } => 4,
        Class::Reverse { .. } => 5,
    }
}

impl Out {
    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        bank_i: usize,
        bank: Option<&ActiveBank>,
        enabled: bool,
        frame: &[u8],
        now: u32,
        ct: u32,
    ) {
        let mut c = Counters::default();
        let m = classify(bank, enabled, frame, now, ct, &mut c);
        assert_eq!(c.get(Counter::RxPackets), 1);
        assert!(frame.len() < 1 << 16);
        let pe = c.parse.iter().position(|&x| x != 0);
        let frag = c.get(Counter::FragPackets);
        let ctl = (bank_i as u64) << 50
            | (enabled as u64) << 49
            | (bank.is_some() as u64) << 48
            | (frame.len() as u64) << 32
            | now as u64;
        let cnt = 1u64 << 21
            | (c.get(Counter::RxBytes)) << 5
            | (pe.is_some() as u64) << 4
            | (pe.unwrap_or(0) as u64) << 1
            | frag;
        let _ = writeln!(
            self.pkts,
            "{ctl:x}\n{}\n{}\n{cnt:x}",
            parsed_bits(frame),
            meta_bits(&m.class, m.len, m.now)
        );
        self.n += 1;
        self.kinds[class_kind(&m.class)] += 1;
    }
}

const CFG_SHARED: &str = r#"
[device]
mac = "02:00:5e:00:00:01"
gateway_mac = "02:00:5e:00:00:fe"
[[vip]]
name = "s-tcp80"
address = "192.0.2.30"
port = 80
table_size = 251
backend = [ { name = "a1", address = "10.0.0.1", mac = "02:00:00:00:00:01" }, { name = "a2", address = "10.0.0.2", mac = "02:00:00:00:00:02" } ]
[[vip]]
name = "s-udp80"
address = "192.0.2.30"
port = 80
protocol = "udp"
mode = "tun-gue"
scheduler = "wrr"
backend = [ { name = "b1", address = "198.18.0.1", weight = 3 }, { name = "b2", address = "198.18.0.2" } ]
[[vip]]
name = "s-tcp443"
address = "192.0.2.30"
port = 443
mode = "tun-ipip"
scheduler = "maglev-stable"
table_size = 251
backend = [ { name = "c1", address = "198.18.1.1" }, { name = "c2", address = "198.18.1.2" } ]
[[vip]]
name = "v6-any0"
address = "2001:db8::30"
port = 0
protocol = "any"
mode = "tun-ipip"
scheduler = "rr"
backend = [ { name = "d1", address = "2001:db8:1::1" }, { name = "d2", address = "2001:db8:1::2" } ]
[[vip]]
name = "any53"
address = "192.0.2.31"
port = 53
protocol = "any"
mode = "tun-gue"
scheduler = "maglev"
table_size = 251
backend = [ { name = "e1", address = "198.18.2.1" }, { name = "e2", address = "198.18.2.2" } ]
[[vip]]
name = "udp0"
address = "192.0.2.32"
port = 0
protocol = "udp"
scheduler = "wrr"
backend = [ { name = "f1", address = "10.0.1.1", mac = "02:00:00:00:01:01", weight = 2 }, { name = "f2", address = "10.0.1.2", mac = "02:00:00:00:01:02" } ]
[[vip]]
name = "v6-tcp80"
address = "2001:db8::31"
port = 80
mode = "tun-gue"
scheduler = "maglev-stable"
table_size = 251
backend = [ { name = "g1", address = "2001:db8:2::1" }, { name = "g2", address = "2001:db8:2::2" } ]
[[vip]]
name = "v6-udp80"
address = "2001:db8::31"
port = 80
protocol = "udp"
scheduler = "rr"
backend = [ { name = "h1", address = "2001:db8:3::1", mac = "02:00:00:00:03:01" } ]
"#;

const CFG_NAT: &str = r#"
[[vip]]
name = "nat-v4"
address = "192.0.2.30"
port = 8080
mode = "nat"
scheduler = "maglev"
table_size = 251
backend = [ { name = "n1", address = "10.0.2.1", port = 9000 }, { name = "n2", address = "10.0.2.2", port = 9001 } ]
[[vip]]
name = "nat-v6"
address = "2001:db8::40"
port = 5353
protocol = "udp"
mode = "nat"
scheduler = "wrr"
backend = [ { name = "m1", address = "2001:db8:4::1", port = 53 }, { name = "m2", address = "2001:db8:4::2", weight = 2 } ]
"#;

fn config(text: &str, target: &Target) -> Config {
    let mut cfg = Config::parse(text, "front.toml", Path::new(".")).expect("config");
    cfg.target = target.clone();
    cfg.target_fingerprint = target.fingerprint();
    cfg
}

fn bank_of(cfg: &Config) -> Bank {
    let (img, _) = table_compiler::compile::compile(cfg, None, None).expect("compile");
    Bank::decode(&img).expect("bank")
}

/// A compiled bank with its VIPs overlapping, as only a device allows:
/// (address, protocol, port, mode) per slot, slot `gap` left empty.
fn overlapping(mut bank: Bank) -> Bank {
    let t = bank.vips.iter().flatten().next().expect("a VIP").clone();
    let a30: IpAddr = "192.0.2.30".parse().expect("addr");
    let a6: IpAddr = "2001:db8::30".parse().expect("addr");
    let set: [(IpAddr, Proto, u16, Mode); 10] = [
        (a30, Proto::Any, 0, Mode::Dr),
        (a30, Proto::Any, 80, Mode::TunGue),
        (a30, Proto::Tcp, 0, Mode::TunIpip),
        (a30, Proto::Tcp, 80, Mode::Dr),
        (a30, Proto::Udp, 53, Mode::Dr),
        (a30, Proto::Tcp, 80, Mode::Dr), // a tie: the lower slot wins
        (a6, Proto::Udp, 0, Mode::Nat),
        (a6, Proto::Any, 0, Mode::Dr),
        (a6, Proto::Tcp, 443, Mode::TunIpip),
        ("192.0.2.33".parse().expect("addr"), Proto::Any, 0, Mode::Dr),
    ];
    bank.vips = (0..set.len() + 1)
        .map(|i| {
            let j = if i < 3 {
                i
            } else if i == 3 {
                return None;
            } else {
                i - 1
            };
            let (a, p, port, mode) = set[j];
            let mut v = t.clone();
            v.index = i as u16;
            v.name = format!("o{i}");
            (v.repr.addr, v.repr.proto, v.repr.port, v.repr.mode) = (a, p, port, mode);
            Some(v)
        })
        .collect();
    bank
}

/// Addresses a bank's hand-made packets go to: its VIPs' and a stranger.
fn targets(bank: &Bank) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = bank.vips.iter().flatten().map(|v| v.repr.addr).collect();
    v.push("192.0.2.99".parse().expect("addr"));
    v.push("2001:db8::99".parse().expect("addr"));
    v.sort();
    v.dedup();
    v
}

/// Hand-made frames to `dst`: TCP/UDP to several ports, first and later
/// fragments, ICMP errors quoting a flow from `dst` (a VIP's reply) and a
/// flow from a client to `dst` (a NAT-forwarded packet), an ICMP echo.
fn hand_made(dst: IpAddr, rng: &mut Rng) -> Vec<Vec<u8>> {
    let v6 = dst.is_ipv6();
    let client = if v6 { "2001:db8:ff::7" } else { "203.0.113.7" };
    let router = if v6 { "2001:db8:fe::1" } else { "198.51.100.1" };
    let d = dst.to_string();
    let mut out = Vec::new();
    for &port in &[80u16, 443, 53, 0, 8080, 5353, 9000, 1234] {
        let sport = 1024 + rng.below(60000) as u16;
        let tcp = common::tcp(client, sport, &d, port, 0x02, 20);
        let udp = common::udp(client, sport, &d, port, 30);
        for f in [&tcp, &udp] {
            out.push(f.clone());
            // a whole datagram as first / later fragments
            if v6 {
                let ext = |offset8, more| common::Ext::Fragment { offset8, more };
                out.push(common::ipv6_with_ext(f, &[ext(0, true)]));
                out.push(common::ipv6_with_ext(f, &[ext(3, false)]));
            } else {
                out.push(common::ipv4_fragment(f, 14, 0, true));
                out.push(common::ipv4_fragment(f, 14, 2, false));
            }
            // ICMP errors: about the VIP's reply to the client, and about a
            // packet the client sent to `dst` (a NAT backend's view)
            let proto = if v6 { f[20] } else { f[23] };
            let reply = if proto == 6 {
                common::tcp(&d, port, client, sport, 0x12, 0)
            } else {
                common::udp(&d, port, client, sport, 8)
            };
            let (ty, code) = if v6 { (1, 4) } else { (3, 3) };
            out.push(common::icmp_error(
                router,
                client,
                ty,
                code,
                common::ip_packet(&reply),
                64,
            ));
            out.push(common::icmp_error(
                router,
                client,
                ty,
                code,
                common::ip_packet(f),
                64,
            ));
            if v6 {
                out.push(common::icmp_error(router, client, 2, 0, common::ip_packet(f), 48));
            } else {
                out.push(common::icmp_error(
                    router,
                    client,
                    11,
                    0,
                    common::ip_packet(f),
                    28,
                ));
            }
        }
    }
    // not LB traffic: an echo request to the address
    out.push(common::icmp_error(
        client,
        &d,
        if v6 { 128 } else { 8 },
        0,
        &[0u8; 8],
        8,
    ));
    out
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "rtl/build/vectors".into()),
    );
    std::fs::create_dir_all(&dir).expect("vectors dir");
    let target = Target::default();
    let ct = target.ct_buckets;
    let mut rng = Rng(0x5eed_f00d);

    let cfg_common = config(&common::config_text(true, true), &target);
    let cfg_shared = config(CFG_SHARED, &target);
    let cfg_nat = config(&format!("{CFG_SHARED}{CFG_NAT}"), &target);
    let basic = {
        let d = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
        let mut c = Config::load(&d.join("basic.toml")).expect("basic.toml");
        c.target = target.clone();
        c.target_fingerprint = target.fingerprint();
        c
    };
    // (config the traffic follows, bank)
    let banks: Vec<(Config, Bank)> = vec![
        (cfg_common.clone(), bank_of(&cfg_common)),
        (cfg_shared.clone(), bank_of(&cfg_shared)),
        (cfg_nat.clone(), bank_of(&cfg_nat)),
        (basic.clone(), bank_of(&basic)),
        (cfg_nat.clone(), overlapping(bank_of(&cfg_nat))),
    ];

    let mut globals = format!("{:x}\n", banks.len());
    let mut vips = String::new();
    for (_, b) in &banks {
        let _ = writeln!(globals, "{}", global_hex(b));
        vips_hex(b, target.max_vips, &mut vips);
    }
    let mut out = Out {
        pkts: String::new(),
        n: 0,
        kinds: [0; 6],
    };
    let mut now: u32 = 1000;
    for (i, (cfg, bank)) in banks.iter().enumerate() {
        let ab = ActiveBank::new(bank.clone(), 1, 0);
        let spec = GenSpec {
            seed: 7 + i as u64,
            packets: 1600,
            flows: 200,
            sizes: Sizes::Uniform(60, 1514),
            ipv6: 0.4,
            non_vip: 0.08,
            malformed: 0.05,
            nat_replies: 0.3,
            flow_len: 8,
            fragments: 0.15,
            ..GenSpec::default()
        };
        let mut g = Generator::new(cfg, spec).expect("generator");
        let mut frames: Vec<Vec<u8>> = (0..1600).map(|_| g.next_frame().1).collect();
        // mutated copies: random bytes of the headers changed
        for k in 0..200 {
            let mut f = frames[k * 7 % 1600].clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(f.len().min(80) as u64) as usize;
                f[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                f.truncate(14 + rng.below(60) as usize);
            }
            frames.push(f);
        }
        for a in targets(bank) {
            frames.extend(hand_made(a, &mut rng));
        }
        for f in &frames {
            now = now.wrapping_add(rng.below(5000) as u32);
            let r = rng.below(100);
            // 4%: pipeline disabled; 3%: no bank committed
            let (enabled, b) = match r {
                0..=3 => (false, Some(&ab)),
                4..=6 => (true, None),
                _ => (true, Some(&ab)),
            };
            out.packet(i, b, enabled, f, now, ct);
        }
    }
    let header = format!("{:x}\n{:x}\n{:x}\n", out.n, PARSED_BITS, META_BITS);
    std::fs::write(dir.join("front_global.txt"), globals).expect("write");
    std::fs::write(dir.join("front_vips.txt"), vips).expect("write");
    std::fs::write(dir.join("front_pkts.txt"), header + &out.pkts).expect("write");
    eprintln!(
        "front: {} packets over {} banks (NoVip {}, ParseError {}, Bypass {}, Vip {}, Fragment {}, Reverse {})",
        out.n,
        banks.len(),
        out.kinds[0],
        out.kinds[1],
        out.kinds[2],
        out.kinds[3],
        out.kinds[4],
        out.kinds[5]
    );
}
