//! Test vectors of the RTL parser (rtl/lbnic_parse.sv) from the Rust model:
//! `cargo run -p hw-model-tests --example rtl_vectors_parse -- DIR` writes
//! DIR/parse.vec, one frame per line, every field in hex:
//!
//! `len window status reason dst_mac src_mac vlan_valid vlan l2_len
//! l3_offset ipv6 src dst proto l3_len l4_offset frag frag_id sport dport
//! tcp_flags icmp_valid isrc idst iproto isport idport il4 name`
//!
//! `window` is the frame's first PARSE_WINDOW bytes (zero past its end),
//! byte 0 last (so `%h` puts byte k on bits [8k+7:8k]); MACs and addresses
//! likewise octet 0 last (IPv4 mapped ::ffff:a.b.c.d); status 0 OK / 1 not
//! LB / 2 error (reason = ParseReason code) as lbnic_pipe_pkg; frag 0 none
//! / 1 first / 2 later. Frames: generated traffic (testbench::gen over
//! examples/basic.toml), hand-made edge cases and seeded random mutations.
//! DIR/parse_frames.vec holds the whole frames for the header-capture
//! testbench: a line `len name`, then the bytes in lines of 64 (hex, byte 0
//! first).

use hw_model::packet::{parse, Frag, Parsed};
use lbnic_contract::target::entries::addr_to_bytes as addr16;
use lbnic_contract::target::regs::PARSE_WINDOW;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use table_compiler::config::Config;
use testbench::edge::{self, icmp, ipv4, pad60, V4};
use testbench::gen::{GenSpec, Generator, Popularity, Sizes};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn rev_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b.iter().rev() {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn line(f: &[u8], name: &str) -> String {
    let mut win = vec![0u8; PARSE_WINDOW];
    let n = f.len().min(PARSE_WINDOW);
    win[..n].copy_from_slice(&f[..n]);
    let (status, reason, p) = match parse(f) {
        Ok(p) => (0, 0, p),
        Err(e) => match e.reason() {
            None => (1, 0, Parsed::default()),
            Some(r) => (2, r as u16, Parsed::default()),
        },
    };
    let frag = match p.frag {
        Frag::None => 0,
        Frag::First => 1,
        Frag::Later => 2,
    };
    let i = p.icmp_error;
    format!(
        "{:x} {} {:x} {:x} {} {} {:x} {:x} {:x} {:x} {:x} {} {} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {} {} {:x} {:x} {:x} {:x} {:x} {:x} {}\n",
        f.len(),
        rev_hex(&win),
        status,
        reason,
        rev_hex(&p.dst_mac),
        rev_hex(&p.src_mac),
        p.vlan.is_some() as u8,
        p.vlan.unwrap_or(0),
        p.l2_len,
        p.l3_offset,
        p.ipv6 as u8,
        rev_hex(&addr16(p.src)),
        rev_hex(&addr16(p.dst)),
        p.proto,
        p.l3_len,
        p.l4_offset,
        frag,
        p.frag_id,
        p.sport,
        p.dport,
        p.tcp_flags,
        i.is_some() as u8,
        rev_hex(&i.map_or([0; 16], |i| addr16(i.src))),
        rev_hex(&i.map_or([0; 16], |i| addr16(i.dst))),
        i.map_or(0, |i| i.proto),
        i.map_or(0, |i| i.sport),
        i.map_or(0, |i| i.dport),
        i.map_or(0, |i| i.l4_offset),
        p.tos,
        p.df as u8,
        name
    )
}

// ---------------------------------------------------------------- builders

// The raw builders live in testbench::edge; these fix this file's
// addresses and ports.
const DMAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0xaa];
const SMAC: [u8; 6] = [0x02, 0xc1, 0x1e, 0x00, 0x00, 0x01];

fn eth(tags: &[(u16, u16)], et: u16, payload: &[u8]) -> Vec<u8> {
    edge::eth_to(DMAC, SMAC, tags, et, payload)
}

const S6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
const D6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];

fn ipv6(exts: &[(u8, usize)], proto: u8, payload: &[u8], frag: Option<(u16, u32)>) -> Vec<u8> {
    edge::ipv6_between(S6, D6, exts, proto, payload, frag)
}

fn tcp(flags: u8, doff: u8, data: usize) -> Vec<u8> {
    edge::tcp_ports(40000, 443, flags, doff, data)
}

fn udp(len_field: Option<u16>, data: usize) -> Vec<u8> {
    edge::udp_ports(5353, 53, len_field, data)
}

fn edge_cases() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    let t4 = |h: &V4, l4: &[u8]| eth(&[], 0x0800, &ipv4(h, l4));
    let syn = tcp(0x02, 5, 0);
    v.push(("v4_tcp".into(), pad60(t4(&V4::default(), &syn))));
    v.push(("v4_tcp_nopad".into(), t4(&V4::default(), &syn)));
    for tags in [
        vec![(0x8100, 0x2064)],
        vec![(0x88a8, 0xe00a)],
        vec![(0x88a8, 0x0010), (0x8100, 0x0020)],
        vec![(0x8100, 0x0010), (0x88a8, 0x0020)],
        vec![(0x8100, 0x0010), (0x8100, 0x0020)],
        vec![(0x8100, 1), (0x8100, 2), (0x8100, 3)],
        vec![(0x88a8, 1), (0x8100, 2), (0x88a8, 3)],
    ] {
        let name = format!("vlan{}", tags.len());
        v.push((
            name.clone() + "_v4",
            eth(&tags, 0x0800, &ipv4(&V4::default(), &syn)),
        ));
        v.push((name + "_v6", eth(&tags, 0x86dd, &ipv6(&[], 6, &syn, None))));
    }
    v.push(("arp".into(), pad60(eth(&[], 0x0806, &[0; 28]))));
    v.push((
        "v4_in_v6_et".into(),
        eth(&[], 0x86dd, &ipv4(&V4::default(), &syn)),
    ));
    v.push(("v6_in_v4_et".into(), eth(&[], 0x0800, &ipv6(&[], 6, &syn, None))));
    for opts in (0..=40).step_by(4) {
        v.push((
            format!("v4_opts{opts}"),
            t4(
                &V4 {
                    opts,
                    ..V4::default()
                },
                &syn,
            ),
        ));
        v.push((
            format!("v4_opts{opts}_udp"),
            t4(
                &V4 {
                    opts,
                    proto: 17,
                    ..V4::default()
                },
                &udp(None, 10),
            ),
        ));
    }
    // Bad IHL / lengths.
    for ihl in 0..16u8 {
        let mut f = t4(&V4::default(), &syn);
        f[14] = 0x40 | ihl;
        v.push((format!("v4_ihl{ihl}"), f));
    }
    for tl in [0u16, 19, 20, 39, 40, 41, 100, 0xffff] {
        let mut f = pad60(t4(&V4::default(), &syn));
        f[16..18].copy_from_slice(&tl.to_be_bytes());
        v.push((format!("v4_tl{tl}"), f));
    }
    for ver in [0u8, 5, 6, 15] {
        let mut f = t4(&V4::default(), &syn);
        f[14] = (ver << 4) | 5;
        v.push((format!("v4_ver{ver}"), f));
    }
    // TCP offsets, UDP lengths.
    for doff in 0..16u8 {
        v.push((format!("tcp_doff{doff}"), t4(&V4::default(), &tcp(0x12, doff, 8))));
        let mut t = tcp(0x12, 5, 40);
        t[12] = doff << 4;
        v.push((format!("tcp_doff{doff}_data"), t4(&V4::default(), &t)));
    }
    for ul in [0u16, 1, 7, 8, 9, 17, 18, 19, 100] {
        let u = udp(Some(ul), 10);
        v.push((
            format!("udp_len{ul}"),
            t4(
                &V4 {
                    proto: 17,
                    ..V4::default()
                },
                &u,
            ),
        ));
        v.push((
            format!("udp_len{ul}_first"),
            t4(
                &V4 {
                    proto: 17,
                    ff: 0x2000,
                    ..V4::default()
                },
                &u,
            ),
        ));
        v.push((
            format!("udp_len{ul}_v6"),
            eth(&[], 0x86dd, &ipv6(&[], 17, &u, None)),
        ));
    }
    // Fragments v4.
    for (ff, name) in [
        (0x2000u16, "first"),
        (0x2001, "later_mf"),
        (0x0001, "later_last"),
        (0x1fff, "later_max"),
        (0x0000, "atomic"),
        (0x4000, "df"),
    ] {
        for proto in [6u8, 17, 1, 47] {
            let l4 = match proto {
                6 => syn.clone(),
                17 => udp(None, 4),
                _ => vec![8, 0, 0, 0, 0, 0, 0, 0],
            };
            v.push((
                format!("v4_frag_{name}_p{proto}"),
                t4(
                    &V4 {
                        ff,
                        proto,
                        ident: 0xbeef,
                        ..V4::default()
                    },
                    &l4,
                ),
            ));
        }
    }
    // IPv6 extension headers.
    let kinds: [(u8, usize); 6] = [(0, 8), (43, 24), (60, 16), (51, 12), (51, 24), (44, 8)];
    for &(k, len) in &kinds {
        for proto in [6u8, 17, 58, 59, 50] {
            let l4 = match proto {
                6 => syn.clone(),
                17 => udp(None, 4),
                58 => icmp(1, &ipv6(&[], 6, &syn[..8], None)),
                _ => vec![0; 8],
            };
            v.push((
                format!("v6_ext{k}_{len}_p{proto}"),
                eth(&[], 0x86dd, &ipv6(&[(k, len)], proto, &l4, None)),
            ));
        }
    }
    for n in 1..=10usize {
        v.push((
            format!("v6_chain{n}"),
            eth(&[], 0x86dd, &ipv6(&vec![(60u8, 8usize); n], 6, &syn, None)),
        ));
        let mut c = vec![(0u8, 8usize)];
        c.extend(std::iter::repeat_n((43u8, 8usize), n - 1));
        v.push((
            format!("v6_chain{n}_hbh"),
            eth(&[], 0x86dd, &ipv6(&c, 17, &udp(None, 0), None)),
        ));
    }
    v.push((
        "v6_hbh_second".into(),
        eth(&[], 0x86dd, &ipv6(&[(60, 8), (0, 8)], 6, &syn, None)),
    ));
    // Window: extension headers pushing headers across byte 256.
    for len in (8..=240).step_by(8) {
        v.push((
            format!("v6_win_tcp{len}"),
            eth(&[], 0x86dd, &ipv6(&[(60, len)], 6, &syn, None)),
        ));
        v.push((
            format!("v6_win_udp{len}"),
            eth(&[], 0x86dd, &ipv6(&[(60, len)], 17, &udp(None, 2), None)),
        ));
        v.push((
            format!("v6_win_icmp{len}"),
            eth(
                &[],
                0x86dd,
                &ipv6(
                    &[(60, len)],
                    58,
                    &icmp(1, &ipv6(&[], 17, &udp(None, 0), None)),
                    None,
                ),
            ),
        ));
        v.push((
            format!("v6_win_quote{len}"),
            eth(
                &[],
                0x86dd,
                &ipv6(&[], 58, &icmp(3, &ipv6(&[(43, len)], 6, &syn, None)), None),
            ),
        ));
    }
    v.push((
        "v6_win_chain_over".into(),
        eth(&[], 0x86dd, &ipv6(&[(60, 200), (43, 16)], 6, &syn, None)),
    ));
    // IPv6 fragments.
    for (fo, name) in [(1u16, "first"), (8, "later_last"), (9, "later_mf"), (0, "atomic")] {
        for proto in [6u8, 17, 58] {
            let l4 = match proto {
                6 => syn.clone(),
                17 => udp(None, 4),
                _ => icmp(1, &ipv6(&[], 6, &syn[..8], None)),
            };
            v.push((
                format!("v6_frag_{name}_p{proto}"),
                eth(
                    &[],
                    0x86dd,
                    &ipv6(&[(44, 8)], proto, &l4, Some((fo, 0xdead_beef))),
                ),
            ));
            v.push((
                format!("v6_frag_{name}_p{proto}_after"),
                eth(
                    &[],
                    0x86dd,
                    &ipv6(&[(0, 8), (60, 16), (44, 8), (60, 8)], proto, &l4, Some((fo, 7))),
                ),
            ));
        }
    }
    v.push((
        "v6_two_frag".into(),
        eth(&[], 0x86dd, &ipv6(&[(44, 8), (44, 8)], 6, &syn, Some((1, 99)))),
    ));
    // ICMP errors and their quotes, cut at every length.
    let q4 = |proto: u8, opts: usize, ff: u16| {
        let l4 = if proto == 6 { tcp(0x02, 5, 0) } else { udp(None, 0) };
        ipv4(
            &V4 {
                src: [192, 0, 2, 10],
                dst: [198, 51, 100, 7],
                proto,
                opts,
                ff,
                ..V4::default()
            },
            &l4,
        )
    };
    for ty in [0u8, 3, 4, 5, 8, 11, 12] {
        v.push((
            format!("icmp4_t{ty}"),
            t4(
                &V4 {
                    proto: 1,
                    ..V4::default()
                },
                &icmp(ty, &q4(6, 0, 0x4000)),
            ),
        ));
    }
    for ty in [0u8, 1, 2, 3, 4, 5, 128, 135] {
        v.push((
            format!("icmp6_t{ty}"),
            eth(
                &[],
                0x86dd,
                &ipv6(&[], 58, &icmp(ty, &ipv6(&[], 17, &udp(None, 0), None)), None),
            ),
        ));
    }
    v.push((
        "icmp6_in_v4".into(),
        t4(
            &V4 {
                proto: 58,
                ..V4::default()
            },
            &icmp(3, &q4(6, 0, 0)),
        ),
    ));
    v.push((
        "icmp4_in_v6".into(),
        eth(&[], 0x86dd, &ipv6(&[], 1, &icmp(3, &q4(6, 0, 0)), None)),
    ));
    for (proto, opts, ff) in [
        (6u8, 0usize, 0x4000u16),
        (17, 0, 0),
        (6, 12, 0),
        (17, 40, 0),
        (6, 0, 0x2000),
        (6, 0, 0x0010),
        (47, 0, 0),
    ] {
        let q = q4(proto, opts, ff);
        for cut in 0..=q.len() {
            for tags in [vec![], vec![(0x8100u16, 5u16), (0x88a8, 6)]] {
                v.push((
                    format!("icmp4_q{proto}_o{opts}_f{ff:x}_cut{cut}_t{}", tags.len()),
                    eth(
                        &tags,
                        0x0800,
                        &ipv4(
                            &V4 {
                                proto: 1,
                                opts: 40,
                                ..V4::default()
                            },
                            &icmp(3, &q[..cut]),
                        ),
                    ),
                ));
            }
        }
    }
    let q6s: Vec<(String, Vec<u8>)> = vec![
        ("tcp".into(), ipv6(&[], 6, &tcp(0x02, 5, 0), None)),
        ("udp".into(), ipv6(&[], 17, &udp(None, 0), None)),
        (
            "ext".into(),
            ipv6(&[(0, 8), (43, 16), (51, 12), (60, 8)], 6, &tcp(0x02, 5, 0), None),
        ),
        (
            "frag_first".into(),
            ipv6(&[(44, 8)], 17, &udp(None, 0), Some((1, 5))),
        ),
        (
            "frag_later".into(),
            ipv6(&[(44, 8)], 17, &udp(None, 0), Some((16, 5))),
        ),
        ("chain9".into(), ipv6(&[(60, 8); 9], 6, &tcp(0x02, 5, 0), None)),
        ("hbh2".into(), ipv6(&[(60, 8), (0, 8)], 6, &tcp(0x02, 5, 0), None)),
        ("esp".into(), ipv6(&[], 50, &[0; 8], None)),
    ];
    for (n, q) in &q6s {
        for cut in 0..=q.len().min(120) {
            let mut qq = q[..cut].to_vec();
            if cut >= 1 && n == "tcp" && cut == 1 {
                qq[0] = 0x40; // wrong version
            }
            v.push((
                format!("icmp6_q{n}_cut{cut}"),
                eth(&[], 0x86dd, &ipv6(&[], 58, &icmp(1, &qq), None)),
            ));
        }
    }
    // Truncated at every byte of the headers.
    let bases: Vec<(String, Vec<u8>)> = vec![
        (
            "v4tcp".into(),
            eth(
                &[(0x8100, 1), (0x88a8, 2)],
                0x0800,
                &ipv4(
                    &V4 {
                        opts: 8,
                        ..V4::default()
                    },
                    &syn,
                ),
            ),
        ),
        (
            "v4udp".into(),
            eth(
                &[],
                0x0800,
                &ipv4(
                    &V4 {
                        proto: 17,
                        ..V4::default()
                    },
                    &udp(None, 0),
                ),
            ),
        ),
        (
            "v6ext".into(),
            eth(
                &[(0x8100, 1)],
                0x86dd,
                &ipv6(&[(0, 8), (43, 16), (44, 8), (51, 16)], 6, &syn, Some((1, 3))),
            ),
        ),
        (
            "v6icmp".into(),
            eth(
                &[],
                0x86dd,
                &ipv6(&[], 58, &icmp(1, &ipv6(&[(60, 8)], 6, &syn, None)), None),
            ),
        ),
        (
            "v4icmp".into(),
            eth(
                &[],
                0x0800,
                &ipv4(
                    &V4 {
                        proto: 1,
                        ..V4::default()
                    },
                    &icmp(11, &q4(17, 4, 0)),
                ),
            ),
        ),
    ];
    for (n, f) in &bases {
        for cut in 0..=f.len() {
            v.push((format!("trunc_{n}_{cut}"), f[..cut].to_vec()));
            // cut, but the IP length still claims the whole packet: cut at
            // the IP length instead (frame padded).
        }
        // IP length cut at every byte, frame padded back.
        let l3 = if f[12] == 0x81 {
            if f[16] == 0x88 {
                22
            } else {
                18
            }
        } else {
            14
        };
        let v6 = f[l3] >> 4 == 6;
        for cut in 1..(f.len() - l3) {
            let mut g = f.clone();
            if v6 {
                if cut < 40 {
                    continue;
                }
                g[l3 + 4..l3 + 6].copy_from_slice(&((cut - 40) as u16).to_be_bytes());
            } else {
                g[l3 + 2..l3 + 4].copy_from_slice(&(cut as u16).to_be_bytes());
            }
            v.push((format!("iplen_{n}_{cut}"), g));
        }
    }
    // Jumbo frames.
    for (n, l4) in [
        ("tcp", tcp(0x10, 5, 9600 - 14 - 40 - 20)),
        ("udp", udp(None, 9600 - 14 - 40 - 8)),
    ] {
        v.push((
            format!("jumbo6_{n}"),
            eth(
                &[],
                0x86dd,
                &ipv6(&[], if n == "tcp" { 6 } else { 17 }, &l4, None),
            ),
        ));
    }
    v.push((
        "jumbo4".into(),
        eth(
            &[],
            0x0800,
            &ipv4(&V4::default(), &tcp(0x10, 5, 9600 - 14 - 20 - 20)),
        ),
    ));
    let mut j = eth(&[], 0x86dd, &ipv6(&[], 6, &tcp(0x10, 5, 100), None));
    j[18..20].copy_from_slice(&0u16.to_be_bytes());
    v.push(("v6_payload0".into(), j));
    v.push(("empty".into(), vec![]));
    v
}

fn generated() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
    let text = std::fs::read_to_string(dir.join("basic.toml")).expect("examples/basic.toml");
    let cfg = Config::parse(&text, "basic.toml", &dir).expect("config");
    let mut out = Vec::new();
    for (seed, ipv6) in [(1u64, 0.5), (2, 0.1), (3, 0.9)] {
        let spec = GenSpec {
            seed,
            packets: 4000,
            flows: 200,
            popularity: Popularity::Zipf(1.1),
            sizes: Sizes::Imix,
            ipv6,
            syn_flood: 0.05,
            non_vip: 0.05,
            malformed: 0.1,
            nat_replies: 0.3,
            flow_len: 10,
            fragments: 0.15,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg, spec).expect("generator");
        for i in 0..4000 {
            let (_, f) = g.next_frame();
            out.push((format!("gen{seed}_{i}"), f));
        }
    }
    out
}

fn mutate(rng: &mut Rng, f: &[u8]) -> Vec<u8> {
    let mut g = f.to_vec();
    for _ in 0..1 + rng.below(3) {
        if g.is_empty() {
            break;
        }
        match rng.below(6) {
            0..=2 => {
                // a byte in the headers
                let at = rng.below(g.len().min(140));
                g[at] = rng.next() as u8;
            }
            3 => {
                let at = rng.below(g.len().min(140));
                g[at] ^= 1 << rng.below(8);
            }
            4 => {
                let n = rng.below(g.len() + 1);
                g.truncate(n);
            }
            _ => {
                // small values into a length-like byte
                let at = rng.below(g.len().min(100));
                g[at] = [0, 1, 4, 5, 6, 8, 0x11, 0x2c, 0x3a, 0x3b, 0x45, 0x60, 0xff][rng.below(13)];
            }
        }
    }
    g
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rtl/build/vectors".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create dir");
    let mut cases = generated();
    let mut edges = edge_cases();
    let mut rng = Rng(0x1bad_5eed_0123_4567);
    let mut muts = Vec::new();
    let pool: Vec<Vec<u8>> = edges
        .iter()
        .map(|e| e.1.clone())
        .chain(cases.iter().step_by(7).map(|c| c.1.clone()))
        .collect();
    for i in 0..12000 {
        let base = &pool[rng.below(pool.len())];
        muts.push((format!("mut{i}"), mutate(&mut rng, base)));
    }
    cases.append(&mut edges);
    cases.append(&mut muts);
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("parse.vec")).expect("parse.vec"));
    let mut wf = std::io::BufWriter::new(
        std::fs::File::create(dir.join("parse_frames.vec")).expect("parse_frames.vec"),
    );
    let mut counts = [0usize; 3];
    for (name, f) in &cases {
        let l = line(f, name);
        counts[match parse(f) {
            Ok(_) => 0,
            Err(e) if e.reason().is_none() => 1,
            Err(_) => 2,
        }] += 1;
        w.write_all(l.as_bytes()).expect("write");
        writeln!(wf, "{:x} {}", f.len(), name).expect("write");
        for chunk in f.chunks(64) {
            let mut h = String::with_capacity(128);
            for b in chunk {
                let _ = write!(h, "{b:02x}");
            }
            writeln!(wf, "{h}").expect("write");
        }
    }
    w.flush().expect("flush");
    wf.flush().expect("flush");
    eprintln!(
        "rtl_vectors_parse: {} frames ({} ok, {} not LB, {} parse errors) -> {}",
        cases.len(),
        counts[0],
        counts[1],
        counts[2],
        dir.display()
    );
}
