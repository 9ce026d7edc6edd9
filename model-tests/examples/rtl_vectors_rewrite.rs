//! Writes the test vectors of the REWRITE stage's RTL (rtl/lbnic_rewrite.sv,
//! checked by rtl/tb/lbnic_rewrite_tb.sv): every packet goes through the
//! functional model (classify, execute, emit, as `Functional::process`), and
//! the vector records what REWRITE gets (the decision, the parsed header
//! fields, the VIP / backend / GLOBAL entries as their contract bytes, the
//! IP packet's ones'-complement sum, the frame) and what the model made of
//! it (the frame it emits, or the drop and its reason).
//!
//! cargo run -q -p hw-model-tests --example rtl_vectors_rewrite -- DIR
//!
//! writes DIR/rewrite.txt: one packet per line, hex tokens (entries and
//! addresses as one token each, byte N-1 first, so `$fscanf("%h")` assigns
//! them to the package's packed structs as they are).

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use hw_model::device::{Device, Memory};
use hw_model::packet::rewrite::{self, Outer, RewriteError};
use hw_model::packet::{checksum, Frag, Parsed};
use hw_model::pipeline::{self, Decision};
use lbnic_contract::target::entries::{addr_to_bytes, Mode};
use lbnic_contract::target::regs::{Counter, COUNTERS};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use testbench::gen::{GenSpec, Generator, Sizes};

// st_kind of lbnic_rewrite
const ST_TX: u8 = 0;
const ST_PASS: u8 = 1;
const ST_DROP: u8 = 2;
const ST_TOO_BIG: u8 = 3;
const ST_FAMILY: u8 = 4;

const EXTRA_VIPS: &str = r#"
[[vip]]
name = "nat6"
address = "2001:db8::20"
port = 8080
mode = "nat"
table_size = 251
backend = [ { name = "m1", address = "2001:db8:2::1", port = 9000, mac = "02:00:00:00:06:01" } ]
[[vip]]
name = "natnp"
address = "192.0.2.21"
port = 7000
protocol = "udp"
mode = "nat"
table_size = 251
backend = [ { name = "p1", address = "10.0.3.1" }, { name = "p2", address = "10.0.3.2" } ]
[[vip]]
name = "ipip4"
address = "192.0.2.30"
port = 80
mode = "tun-ipip"
table_size = 251
backend = [ { name = "i1", address = "198.51.100.1", mac = "02:00:00:00:07:01" }, { name = "i2", address = "2001:db8:5::1" } ]
[[vip]]
name = "gue6"
address = "2001:db8::53"
port = 53
protocol = "udp"
mode = "tun-gue"
table_size = 251
backend = [ { name = "u1", address = "2001:db8:6::1" }, { name = "u2", address = "198.51.100.9" } ]
[[vip]]
name = "gue4tcp"
address = "192.0.2.54"
port = 443
mode = "tun-gue"
scheduler = "maglev-stable"
table_size = 251
backend = [ { name = "t1", address = "198.51.100.17" }, { name = "t2", address = "2001:db8:7::1" } ]
[[vip]]
name = "dr6"
address = "2001:db8::80"
port = 80
table_size = 251
backend = [ { name = "d1", address = "2001:db8:8::1", mac = "02:00:00:00:08:01" } ]
"#;

fn config(max_frame: u32, tunnel: &str) -> String {
    let base = config_text(true, false).replace(
        "gateway_mac = \"02:00:5e:00:00:fe\"",
        &format!("gateway_mac = \"02:00:5e:00:00:fe\"\nmax_frame = {max_frame}\n{tunnel}"),
    );
    base + EXTRA_VIPS
}

fn hex_rev(b: &[u8]) -> String {
    b.iter().rev().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn addr_hex(a: IpAddr) -> String {
    hex_rev(&addr_to_bytes(a))
}

struct Writer {
    text: String,
    /// NAT-forwarded frames (client -> backend), to be quoted by ICMP
    /// errors from the backend's side.
    nat_out: Vec<Vec<u8>>,
    icmp_nat: u64,
    counts: [u64; 5],
}

/// One frame through the model; its vector appended.
fn run(dev: &mut Device<Memory>, w: &mut Writer, frame: &[u8], ts_ns: u64, buf: &mut Vec<u8>) {
    if !dev.mac_accepts(frame.len()) {
        return;
    }
    let now = dev.set_time_ns(ts_ns);
    let bank = dev.active.clone();
    let (enabled, buckets) = (dev.enabled(), dev.ct.buckets);
    let meta = pipeline::classify(bank.as_deref(), enabled, frame, now, buckets, &mut dev.counters);
    let d = pipeline::execute(dev, bank.as_deref(), &meta);
    let before = (
        dev.counters.get(Counter::DropTooBig),
        dev.counters.get(Counter::DropParse),
    );
    let sent = pipeline::emit(
        frame,
        bank.as_deref(),
        &meta,
        d,
        buf,
        &mut dev.counters,
        &mut dev.icmp,
    );
    let after = (
        dev.counters.get(Counter::DropTooBig),
        dev.counters.get(Counter::DropParse),
    );
    let Some(b) = bank.as_deref() else { return };
    let g = &b.bank.global;
    let mut gb = vec![0u8; lbnic_contract::target::entries::GLOBAL_LEN];
    g.emit(&mut gb);
    let (kind, slot, local, hash, drop) = match d {
        Decision::Pass => (0u8, 0u16, 0u16, 0u32, 0u64),
        Decision::Drop(c) => (1, 0, 0, 0, (c.offset() - COUNTERS) / 8),
        Decision::Forward { slot, local, hash } => (2, slot, local, hash, 0),
        Decision::ReverseNat { slot, local } => (3, slot, local, 0, 0),
    };
    let p: Option<&Parsed> = meta.parsed.as_ref();
    let (mut vb, mut bb) = (vec![0u8; 64], vec![0u8; 32]);
    let mut mode = None;
    let mut be_addr = None;
    if matches!(d, Decision::Forward { .. } | Decision::ReverseNat { .. }) {
        let Some(v) = b.vip(slot) else { return };
        let Some(be) = v.backend(local) else { return };
        v.repr.emit(&mut vb);
        be.repr.emit(&mut bb);
        mode = Some(v.repr.mode);
        be_addr = Some(be.repr.addr);
    }
    let (st, out): (u8, &[u8]) = match d {
        Decision::Pass => (ST_PASS, frame),
        Decision::Drop(_) => (ST_DROP, &[]),
        _ if after.0 > before.0 => (ST_TOO_BIG, &[]),
        _ if after.1 > before.1 => (ST_FAMILY, &[]),
        _ if sent.is_some() => (ST_TX, &buf[..]),
        _ => return, // nothing REWRITE sees (no parsed packet)
    };
    // The too-big length and limit, from the model's rewrite functions.
    let (mut len, mut max) = (0usize, 0usize);
    if st == ST_TOO_BIG {
        let (Some(p), Some(a)) = (p, be_addr) else { return };
        let o = Outer {
            src: a,
            dst: a,
            flow_label: 0,
            dst_mac: [0; 6],
            src_mac: [0; 6],
        };
        let mf = g.max_frame as usize;
        let mut t = Vec::new();
        let r = match mode {
            Some(Mode::TunIpip) if matches!(d, Decision::Forward { .. }) => {
                rewrite::encap_ipip(frame, p, &o, mf, &mut t)
            }
            Some(Mode::TunGue) if matches!(d, Decision::Forward { .. }) => {
                rewrite::encap_gue(frame, p, &o, 0, 0, mf, &mut t)
            }
            _ => rewrite::dr(frame, p, [0; 6], [0; 6], mf, &mut t),
        };
        if let Err(RewriteError::TooBig { len: l, max: m }) = r {
            (len, max) = (l, m);
        }
    }
    w.counts[st as usize] += 1;
    if st == ST_TX
        && mode == Some(Mode::Nat)
        && matches!(d, Decision::Forward { .. })
        && p.is_some_and(|p| p.icmp_error.is_none() && p.l2_len == 14)
    {
        w.nat_out.push(buf.clone());
    }
    let z16 = "0".repeat(32);
    // the quoted flow, and the quoted checksums FRONT reads for REWRITE
    let q = match p.and_then(|p| p.icmp_error.as_ref().map(|i| (p, i))) {
        Some((p, i)) => {
            if st == ST_TX && (matches!(d, Decision::ReverseNat { .. }) || mode == Some(Mode::Nat)) {
                w.icmp_nat += 1;
            }
            let il3 = p.l4_offset + 8;
            let end = p.l3_offset + p.l3_len;
            let g16 = |at: usize| {
                if at + 2 <= end {
                    u16::from_be_bytes([frame[at], frame[at + 1]])
                } else {
                    0
                }
            };
            let qhc = if p.ipv6 { 0 } else { g16(il3 + 10) };
            let ql4 = match i.proto {
                6 => g16(il3 + i.l4_offset + 16),
                17 => g16(il3 + i.l4_offset + 6),
                _ => 0,
            };
            format!(
                "{} {} {:x} {:x} {:x} {:x} {qhc:x} {ql4:x}",
                addr_hex(i.src),
                addr_hex(i.dst),
                i.proto,
                i.sport,
                i.dport,
                i.l4_offset
            )
        }
        None => format!("{z16} {z16} 0 0 0 0 0 0"),
    };
    let (pf, l3_sum) = match p {
        Some(p) => (
            format!(
                "{:x} {:x} {:x} {} {} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x}",
                p.l2_len,
                p.l3_offset,
                p.ipv6 as u8,
                addr_hex(p.src),
                addr_hex(p.dst),
                p.proto,
                p.l3_len,
                p.l4_offset,
                match p.frag {
                    Frag::None => 0,
                    Frag::First => 1,
                    Frag::Later => 2,
                },
                p.sport,
                p.dport,
                p.icmp_error.is_some() as u8,
                p.tos,
                p.df as u8
            ),
            checksum::fold(checksum::sum(0, &frame[p.l3_offset..p.l3_offset + p.l3_len])),
        ),
        None => (format!("e 0 0 {z16} {z16} 0 0 0 0 0 0 0 0 0"), 0),
    };
    let mut line = format!(
        "{kind:x} {slot:x} {local:x} {hash:x} {drop:x} {pf} {q} {:x} {} {} {} {l3_sum:x} {st:x} {len:x} {max:x} {:x}",
        meta.len,
        hex_rev(&vb),
        hex_rev(&bb),
        hex_rev(&gb),
        frame.len()
    );
    for x in frame {
        let _ = write!(line, " {x:02x}");
    }
    let _ = write!(line, " {:x}", out.len());
    for x in out {
        let _ = write!(line, " {x:02x}");
    }
    line.push('\n');
    w.text.push_str(&line);
}

/// Hand-made frames to every VIP: sizes from minimal to the limit and past
/// it, padding, VLAN / QinQ, IPv4 options, IPv6 extension headers,
/// fragments, ICMP errors.
fn hand_made(max_frame: usize) -> Vec<Vec<u8>> {
    let vips: [(&str, u16, bool); 10] = [
        ("192.0.2.10", 80, false),
        ("2001:db8::10", 443, false),
        ("192.0.2.53", 53, true),
        ("192.0.2.20", 8080, false),
        ("2001:db8::20", 8080, false),
        ("192.0.2.21", 7000, true),
        ("192.0.2.30", 80, false),
        ("2001:db8::53", 53, true),
        ("192.0.2.54", 443, false),
        ("2001:db8::80", 80, false),
    ];
    let mut out = Vec::new();
    for (i, (vip, port, is_udp)) in vips.iter().enumerate() {
        let v6 = vip.contains(':');
        for (j, pay) in [0usize, 1, 5, 17, 100, 200, 1000].iter().enumerate() {
            let cport = 40000 + (i * 16 + j) as u16;
            let client = if v6 { "2001:db8:c::7" } else { "198.18.3.4" };
            let f = if *is_udp {
                udp(client, cport, vip, *port, *pay)
            } else {
                tcp(client, cport, vip, *port, 0x02, *pay)
            };
            out.push(f.clone());
            if *is_udp && !v6 {
                // IPv4 UDP without checksum: stays 0 through NAT
                let mut z = f.clone();
                z[40..42].fill(0);
                out.push(z);
            }
            out.push(padded(&f, 7));
            out.push(tagged(&f, &[(0x8100, 0x2005)]));
            out.push(tagged(&padded(&f, 30), &[(0x88a8, 0x0064), (0x8100, 0xe00a)]));
            if v6 {
                out.push(ipv6_with_ext(&f, &[Ext::HopByHop(8), Ext::DestOpts(16)]));
                out.push(tagged(&ipv6_with_ext(&f, &[Ext::Routing(24)]), &[(0x8100, 7)]));
            } else {
                out.push(ipv4_with_options(&f, &[1, 1, 1, 0]));
                out.push(ipv4_with_options(&f, &[0x94, 4, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]));
                let mut t = f.clone();
                t[15] = 0xb8; // DSCP EF
                t[20] &= !0x40; // DF off
                fix_ipv4_csum(&mut t, 14);
                out.push(t);
            }
        }
        // frames around the limit: the largest that fits, and past it once
        // the mode's outer headers are added
        for delta in [0usize, 1, 19, 20, 21, 28, 29, 40, 48, 49, 63, 64, 65] {
            let Some(len) = max_frame.checked_sub(delta) else {
                continue;
            };
            let hdr = if v6 { 74 } else { 54 } - if *is_udp { 12 } else { 0 };
            let client = if v6 { "2001:db8:c::9" } else { "198.18.3.9" };
            let cport = 50000 + delta as u16 + 100 * i as u16;
            let f = if *is_udp {
                udp(client, cport, vip, *port, len - hdr)
            } else {
                tcp(client, cport, vip, *port, 0x10, len - hdr)
            };
            out.push(f);
        }
        // an ICMP error quoting a client's packet to the VIP (NAT: ICMP NAT)
        let client = if v6 { "2001:db8:c::7" } else { "198.18.3.4" };
        let router = if v6 { "2001:db8:99::1" } else { "203.0.113.1" };
        let inner = if *is_udp {
            udp(vip, *port, client, 40000 + 16 * i as u16, 20)
        } else {
            tcp(vip, *port, client, 40000 + 16 * i as u16, 0x12, 20)
        };
        let ip = ip_packet(&inner).to_vec();
        let (ty, code) = if v6 { (1, 4) } else { (3, 3) };
        out.push(icmp_error(router, vip, ty, code, &ip, 64));
    }
    out
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "rtl/build/vectors".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let target = test_target();
    let mut w = Writer {
        text: String::new(),
        nat_out: Vec::new(),
        icmp_nat: 0,
        counts: [0; 5],
    };
    let mut buf = Vec::new();
    let setups = [
        (
            1514u32,
            "[tunnel]\nsource_v4 = \"172.16.0.0/20\"\nsource_v6 = \"100::/100\"\ngue_port = 6081",
        ),
        (
            9018,
            "[tunnel]\nsource_v4 = \"172.16.5.0/28\"\nsource_v6 = \"100:1:2:3::/64\"",
        ),
        (1600, ""),
    ];
    for (k, (max_frame, tunnel)) in setups.iter().enumerate() {
        let text = config(*max_frame, tunnel);
        let img = image_for(&text, &target, None);
        let mut dev = device(&target, &img);
        let mut ts = 1_700_000_000_000_000_000u64;
        w.nat_out.clear();
        for f in hand_made(*max_frame as usize) {
            ts += 1000;
            run(&mut dev, &mut w, &f, ts, &mut buf);
        }
        // ICMP errors from the backends' side about forwarded packets
        // (NAT ToClient), quoting headers only, 64 bytes, or more
        let fwd = std::mem::take(&mut w.nat_out);
        for (i, o) in fwd.iter().enumerate() {
            let ip = ip_packet(o).to_vec();
            let v6 = ip[0] >> 4 == 6;
            let client: IpAddr = if v6 {
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap_or_default()).into()
            } else {
                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap_or_default()).into()
            };
            let router = if v6 { "2001:db8:2::fe" } else { "10.0.2.254" };
            let (ty, code) = if v6 { (2, 0) } else { (3, 4) };
            let quote = [28usize, 48, 64, 200][i % 4];
            let f = icmp_error(router, &client.to_string(), ty, code, &ip, quote);
            ts += 1000;
            run(&mut dev, &mut w, &f, ts, &mut buf);
        }
        // generated traffic: every VIP, both families, NAT replies,
        // fragments, malformed frames, sizes up to max_frame
        let cfg = table_compiler::config::Config::parse(&text, "test.toml", std::path::Path::new("."))
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let spec = GenSpec {
            seed: 7 + k as u64,
            packets: 1500,
            flows: 200,
            sizes: Sizes::Uniform(60, (*max_frame as u16).min(9000)),
            ipv6: 0.4,
            non_vip: 0.05,
            malformed: 0.05,
            nat_replies: 0.3,
            fragments: 0.05,
            flow_len: 12,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg, spec).map_err(|e| std::io::Error::other(e.to_string()))?;
        for _ in 0..1500 {
            let (t, f) = g.next_frame();
            run(&mut dev, &mut w, &f, t.max(ts), &mut buf);
        }
    }
    let path = dir.join("rewrite.txt");
    let mut f = std::fs::File::create(&path)?;
    f.write_all(w.text.as_bytes())?;
    eprintln!(
        "{}: tx {} pass {} drop {} too_big {} family {} (NAT ICMP errors {})",
        path.display(),
        w.counts[0],
        w.counts[1],
        w.counts[2],
        w.counts[3],
        w.counts[4],
        w.icmp_nat
    );
    Ok(())
}
