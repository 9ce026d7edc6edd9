//! The bodies of the `packet_parse` and `model_frames` fuzz targets, shared
//! by `fuzz/fuzz_targets/*.rs` (cargo-fuzz, nightly) and the stable smoke
//! test `model-tests/tests/fuzz_smoke.rs`, so the same properties run in CI
//! without a fuzzer. Self-contained: only hw-model and table-compiler.
#![allow(dead_code)]

use hw_model::cycle::Cycle;
use hw_model::device::in_memory;
use hw_model::functional::Functional;
use hw_model::model::{Model, OutPacket};
use hw_model::packet::checksum::{fold, l4 as l4_csum, pseudo, sum};
use hw_model::packet::icmp_nat::{nat_icmp, Way};
use hw_model::packet::rewrite::Outer;
use hw_model::packet::rewrite::{self, RewriteError};
use hw_model::packet::{decap, parse, Frag, Inner, Parsed};
use lbnic_contract::image::Image;
use lbnic_contract::target::Target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;
use table_compiler::compile::compile;
use table_compiler::config::Config;

pub const GUE_PORT: u16 = 6080;
const DEV_MAC: [u8; 6] = [0x02, 0, 0x5e, 0, 0, 1];
const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 1];
const BE_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 1];
/// The largest frame a target may configure (docs/spec.md §10).
const MAX_FRAME: usize = 9216;

// ---------------------------------------------------------------- parser

/// IPv4 header checksum and (for whole TCP/UDP packets) the L4 checksum
/// verify; `None` where there is no L4 checksum to check.
fn checksums_ok(f: &[u8], p: &Parsed) -> (bool, Option<bool>) {
    let ip = &f[p.l3_offset..p.l3_offset + p.l3_len];
    let hdr = if p.ipv6 {
        true
    } else {
        let hl = ((ip[0] & 0x0f) as usize) * 4;
        fold(sum(0, &ip[..hl])) == 0xffff
    };
    if p.frag != Frag::None || p.icmp_error.is_some() || !matches!(p.proto, 6 | 17) {
        return (hdr, None);
    }
    let seg = &f[p.l4_offset..p.l3_offset + p.l3_len];
    let seg = if p.proto == 17 {
        let ul = u16::from_be_bytes([seg[4], seg[5]]) as usize;
        if !p.ipv6 && seg[6..8] == [0, 0] {
            return (hdr, None);
        }
        &seg[..ul]
    } else {
        seg
    };
    let (s, d) = (addr_bytes(p.src), addr_bytes(p.dst));
    let n = if p.ipv6 { 16 } else { 4 };
    let acc = sum(pseudo(&s[..n], &d[..n], p.proto, seg.len() as u32), seg);
    (hdr, Some(fold(acc) == 0xffff))
}

fn addr_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v.octets());
            b
        }
        IpAddr::V6(v) => v.octets(),
    }
}

/// Any bytes: the parser and the tunnel decoder return, never panic, and
/// every offset they give lies inside the frame. Returns whether the frame
/// parsed. A frame that parses goes
/// through every rewrite: DR re-parses to the same packet, NAT re-parses
/// with the new address and keeps valid checksums valid, and every
/// encapsulation decodes back to the original IP packet.
pub fn packet_parse(data: &[u8]) -> bool {
    for port in [
        GUE_PORT,
        53,
        u16::from_be_bytes([data.first().copied().unwrap_or(0), 0]),
    ] {
        if let Ok(d) = decap(data, port) {
            let inner = d.inner_packet(data).expect("inner packet inside the frame");
            assert_eq!(inner.len(), d.inner.l3_len);
            assert!(d.outer.l3_offset + d.outer.l3_len <= data.len());
            assert!(d.inner.l3_offset >= d.outer.l4_offset);
        }
    }
    let Ok(p) = parse(data) else { return false };
    assert!(p.l2_len == p.l3_offset && p.l3_offset >= 14);
    assert!(p.l4_offset <= p.l3_offset + p.l3_len && p.l3_offset + p.l3_len <= data.len());
    let ip_in = &data[p.l3_offset..p.l3_offset + p.l3_len];
    let mut out = Vec::new();

    rewrite::dr(data, &p, BE_MAC, DEV_MAC, MAX_FRAME, &mut out).map_or_else(too_big, |()| {
        let q = parse(&out).expect("DR output parses");
        assert_eq!(
            Parsed {
                dst_mac: p.dst_mac,
                src_mac: p.src_mac,
                ..q
            },
            p
        );
    });

    let (sum_hdr, sum_l4) = checksums_ok(data, &p);
    let new = match p.dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(10, 9, 8, data.len() as u8)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, data.len() as u16)),
    };
    for (fwd, port) in [(true, None), (true, Some(9000)), (false, Some(8080))] {
        let r = if fwd {
            rewrite::nat_forward(data, &p, new, port, BE_MAC, DEV_MAC, MAX_FRAME, &mut out)
        } else {
            rewrite::nat_reverse(data, &p, new, 8080, BE_MAC, DEV_MAC, MAX_FRAME, &mut out)
        };
        if let Err(e) = r {
            too_big(e);
            continue;
        }
        let q = parse(&out).expect("NAT output parses");
        let ported = port.is_some() && p.frag != Frag::Later && p.icmp_error.is_none();
        if fwd {
            assert_eq!(q.dst, new);
            assert_eq!(q.dport, if ported { 9000 } else { p.dport });
        } else {
            assert_eq!((q.src, q.sport), (new, if ported { 8080 } else { p.sport }));
        }
        let (h, l) = checksums_ok(&out, &q);
        assert!(h || !sum_hdr, "NAT broke a valid IPv4 header checksum");
        assert!(
            l == Some(true) || sum_l4 != Some(true),
            "NAT broke a valid L4 checksum"
        );
        if !p.ipv6 && p.proto == 17 && sum_l4.is_none() && p.frag == Frag::None && p.icmp_error.is_none() {
            let c = q.l4_offset + 6;
            assert_eq!(out[c..c + 2], [0, 0], "IPv4 UDP without checksum stays without");
        }
    }

    if let Some(inner) = p.icmp_error {
        icmp_nat_property(data, &p, &inner, new, sum_hdr, &mut out);
    }

    for outer6 in [false, true] {
        let (s, d) = if outer6 {
            (
                IpAddr::V6(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 7)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(172, 16, 0, 7)),
                IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            )
        };
        for gue in [false, true] {
            let r = if gue {
                rewrite::encap_gue(
                    data,
                    &p,
                    &Outer {
                        src: s,
                        dst: d,
                        flow_label: 0,
                        dst_mac: BE_MAC,
                        src_mac: DEV_MAC,
                    },
                    0xc123,
                    GUE_PORT,
                    MAX_FRAME,
                    &mut out,
                )
            } else {
                rewrite::encap_ipip(
                    data,
                    &p,
                    &Outer {
                        src: s,
                        dst: d,
                        flow_label: 0x12345,
                        dst_mac: BE_MAC,
                        src_mac: DEV_MAC,
                    },
                    MAX_FRAME,
                    &mut out,
                )
            };
            if let Err(e) = r {
                too_big(e);
                continue;
            }
            let dc =
                decap(&out, GUE_PORT).unwrap_or_else(|e| panic!("own encapsulation does not decode: {e}"));
            assert_eq!((dc.outer.src, dc.outer.dst), (s, d));
            assert_eq!(dc.inner_packet(&out), Some(ip_in));
            let i = dc.inner;
            assert_eq!(
                (i.src, i.dst, i.proto, i.sport, i.dport, i.frag, i.icmp_error),
                (p.src, p.dst, p.proto, p.sport, p.dport, p.frag, p.icmp_error)
            );
            let (h, l) = checksums_ok(&out, &dc.outer);
            assert!(h, "outer IPv4 header checksum");
            if gue {
                assert_eq!(l, Some(true), "outer UDP checksum");
            }
        }
    }
    true
}

/// The ICMP (ICMPv6: with its pseudo-header) checksum of a parsed ICMP
/// error verifies.
fn icmp_sum_ok(f: &[u8], p: &Parsed) -> bool {
    let m = &f[p.l4_offset..p.l3_offset + p.l3_len];
    let acc = if p.ipv6 {
        pseudo(&addr_bytes(p.src), &addr_bytes(p.dst), 58, m.len() as u32)
    } else {
        0
    };
    fold(sum(acc, m)) == 0xffff
}

/// An ICMP error translated either way re-parses as the same error with
/// the new outer and quoted address and port, and keeps valid outer IPv4
/// header and ICMP checksums valid.
fn icmp_nat_property(data: &[u8], p: &Parsed, inner: &Inner, new: IpAddr, sum_hdr: bool, out: &mut Vec<u8>) {
    let icmp_was_ok = icmp_sum_ok(data, p);
    for way in [Way::ToBackend, Way::ToClient] {
        if let Err(e) = nat_icmp(
            data,
            p,
            inner,
            way,
            new,
            Some(4242),
            BE_MAC,
            DEV_MAC,
            MAX_FRAME,
            out,
        ) {
            too_big(e);
            continue;
        }
        let q = parse(out).expect("translated ICMP error parses");
        let qi = q.icmp_error.expect("still an ICMP error");
        let want = match way {
            Way::ToBackend => (p.src, new, new, 4242, inner.dst, inner.dport),
            Way::ToClient => (new, p.dst, inner.src, inner.sport, new, 4242),
        };
        assert_eq!((q.src, q.dst, qi.src, qi.sport, qi.dst, qi.dport), want);
        assert_eq!(qi.l4_offset, inner.l4_offset);
        assert!(
            checksums_ok(out, &q).0 || !sum_hdr,
            "broke the outer IPv4 header checksum"
        );
        assert!(
            icmp_sum_ok(out, &q) || !icmp_was_ok,
            "broke a valid ICMP checksum"
        );
    }
}

fn too_big(e: RewriteError) {
    assert!(matches!(e, RewriteError::TooBig { len, max } if len > max), "{e}");
}

// ---------------------------------------------------------------- models

const TARGET: &str = "name = \"fuzz\"\nmax_vips = 16\nmax_backends = 64\nlut_entry_bits = 8\nlut_entries = 4096\nct_buckets = 32\nct_ways = 2\nct_latency_cycles = 12\nct_max_outstanding = 4\nfifo_depth = 4\nct_tick_us = 1000\n";

/// Every mode and scheduler; IPv4 and IPv6; tunnels that change family; a
/// VIP for any protocol and port (fragments, ICMP errors); a NAT VIP over
/// IPv6 that keeps the port.
const CONFIG: &str = r#"
[device]
mac = "02:00:5e:00:00:01"
gateway_mac = "02:00:5e:00:00:fe"
max_frame = 1000
[timeouts]
tcp_syn_s = 2
tcp_established_s = 5
tcp_closing_s = 1
udp_s = 3
[[vip]]
name = "dr"
address = "192.0.2.10"
port = 80
table_size = 97
backend = [
  { name = "b1", address = "10.0.0.1", mac = "02:00:00:00:00:01" },
  { name = "b2", address = "10.0.0.2", mac = "02:00:00:00:00:02", weight = 2 },
  EXTRA
]
[[vip]]
name = "ipip"
address = "2001:db8::10"
port = 443
mode = "tun-ipip"
scheduler = "maglev-stable"
table_size = 97
backend = [
  { name = "s1", address = "2001:db8:1::1" },
  { name = "s2", address = "198.18.1.2", STATE },
]
[[vip]]
name = "gue"
address = "192.0.2.53"
port = 53
protocol = "udp"
mode = "tun-gue"
scheduler = "wrr"
backend = [
  { name = "g1", address = "198.18.0.1", weight = 3 },
  { name = "g2", address = "2001:db8:3::2", weight = 1 },
]
[[vip]]
name = "nat"
address = "192.0.2.20"
port = 8080
mode = "nat"
scheduler = "rr"
backend = [
  { name = "n1", address = "10.0.2.1", port = 9000 },
  { name = "n2", address = "10.0.2.2", port = 9000 },
]
[[vip]]
name = "nat6"
address = "2001:db8::20"
protocol = "udp"
mode = "nat"
table_size = 97
backend = [
  { name = "m1", address = "2001:db8:2::1" },
  { name = "m2", address = "2001:db8:2::2" },
]
[[vip]]
name = "any"
address = "192.0.2.30"
protocol = "any"
table_size = 97
backend = [
  { name = "a1", address = "10.0.3.1", mac = "02:00:00:00:03:01" },
  { name = "a2", address = "10.0.3.2", mac = "02:00:00:00:03:02" },
]
"#;

struct Setup {
    target: Target,
    images: Vec<Image>,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let target = table_compiler::target_file::parse(TARGET, "fuzz").expect("fuzz target");
        let mut images: Vec<Image> = Vec::new();
        for (extra, state) in [(false, false), (true, false), (true, true)] {
            let text = CONFIG
                .replace(
                    "EXTRA",
                    if extra {
                        r#"{ name = "b3", address = "10.0.0.3", mac = "02:00:00:00:00:03" },"#
                    } else {
                        ""
                    },
                )
                .replace("STATE", if state { "state = \"drain\"" } else { "weight = 1" });
            let mut cfg = Config::parse(&text, "fuzz.toml", Path::new(".")).expect("fuzz config");
            cfg.target = target.clone();
            cfg.target_fingerprint = target.fingerprint();
            let img = compile(&cfg, images.last(), None).expect("fuzz image").0;
            images.push(img);
        }
        Setup { target, images }
    })
}

/// Reads the fuzzer's bytes; zeros once they run out.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.b.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
}

/// A TCP or UDP frame, checksums valid; `frag` = (offset in 8-byte units,
/// more fragments) as an IPv4 field or an IPv6 fragment header.
#[allow(clippy::too_many_arguments)]
fn frame(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    flags: u8,
    payload: usize,
    vlan: Option<u16>,
    frag: Option<(u16, bool)>,
) -> Vec<u8> {
    let v6 = dst.is_ipv6();
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    if proto == 6 {
        l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        l4.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
    }
    l4.extend((0..payload).map(|i| i as u8));
    let (s, d) = (addr_bytes(src), addr_bytes(dst));
    let n = if v6 { 16 } else { 4 };
    let c = l4_csum(&s[..n], &d[..n], proto, &l4);
    let at = if proto == 6 { 16 } else { 6 };
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    let mut f = DEV_MAC.to_vec();
    f.extend_from_slice(&CLIENT_MAC);
    if let Some(tci) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&tci.to_be_bytes());
    }
    ip_header(&mut f, src, dst, proto, &l4, frag);
    f
}

/// Append an IP header for `body` (and the body) to `f`.
fn ip_header(f: &mut Vec<u8>, src: IpAddr, dst: IpAddr, proto: u8, body: &[u8], frag: Option<(u16, bool)>) {
    let (s, d) = (addr_bytes(src), addr_bytes(dst));
    if dst.is_ipv6() {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        let fh = frag.map_or(0, |_| 8);
        f.extend_from_slice(&((body.len() + fh) as u16).to_be_bytes());
        f.extend_from_slice(&[if frag.is_some() { 44 } else { proto }, 64]);
        f.extend_from_slice(&s);
        f.extend_from_slice(&d);
        if let Some((off, more)) = frag {
            f.extend_from_slice(&[proto, 0]);
            f.extend_from_slice(&((off << 3) | more as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 9]);
        }
    } else {
        f.extend_from_slice(&[0x08, 0x00]);
        let h = f.len();
        let ff = frag.map_or(0x4000, |(off, more)| off & 0x1fff | if more { 0x2000 } else { 0 });
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&((20 + body.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 7]);
        f.extend_from_slice(&ff.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&s[..4]);
        f.extend_from_slice(&d[..4]);
        let c = hw_model::packet::checksum::ipv4_header(&f[h..h + 20]);
        f[h + 10..h + 12].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(body);
}

/// An ICMP error from a router to `to` about `inner` (an IP packet).
fn icmp_error(router: IpAddr, to: IpAddr, ty: u8, inner: &[u8]) -> Vec<u8> {
    let v6 = to.is_ipv6();
    let mut m = vec![ty, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(inner);
    let c = if v6 {
        l4_csum(&addr_bytes(router), &addr_bytes(to), 58, &m)
    } else {
        !fold(sum(0, &m))
    };
    m[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = DEV_MAC.to_vec();
    f.extend_from_slice(&CLIENT_MAC);
    ip_header(&mut f, router, to, if v6 { 58 } else { 1 }, &m, None);
    f
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}
fn v6(seg: [u16; 8]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(seg))
}

/// The next frame: mostly traffic for the config's VIPs (few clients and
/// ports, so flows repeat, collide and age out), NAT replies, fragments,
/// ICMP errors, other traffic, raw bytes; then a few byte mutations.
fn next_frame(c: &mut Cursor) -> Vec<u8> {
    let kind = c.u8();
    let client = c.u8() % 3;
    let port = 1024 + (c.u8() % 2) as u16;
    let flags = [0x02u8, 0x10, 0x11, 0x04, 0x12, 0x18][c.u8() as usize % 6];
    let payload = [0usize, 1, 10, 100, 700, 950][c.u8() as usize % 6];
    let vlan = (kind & 0x80 != 0).then_some(0x2000 | client as u16);
    let c4 = v4(198, 51, 100, client);
    let c6 = v6([0x2001, 0xdb8, 0xc, 0, 0, 0, 0, client as u16]);
    let mut f = match kind % 15 {
        0 => frame(c4, v4(192, 0, 2, 10), 6, port, 80, flags, payload, vlan, None),
        1 => frame(
            c6,
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10]),
            6,
            port,
            443,
            flags,
            payload,
            vlan,
            None,
        ),
        2 => frame(c4, v4(192, 0, 2, 53), 17, port, 53, 0, payload, vlan, None),
        3 => frame(c4, v4(192, 0, 2, 20), 6, port, 8080, flags, payload, vlan, None),
        4 => frame(
            v4(10, 0, 2, 1 + client % 2),
            c4,
            6,
            9000,
            port,
            flags,
            payload,
            vlan,
            None,
        ),
        5 => frame(
            c6,
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20]),
            17,
            port,
            5000,
            0,
            payload,
            vlan,
            None,
        ),
        6 => frame(
            v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 1 + client as u16 % 2]),
            c6,
            17,
            5000,
            port,
            0,
            payload,
            vlan,
            None,
        ),
        7 => {
            let off = [0u16, 0, 1, 90][c.u8() as usize % 4];
            let proto = if flags & 1 != 0 { 17 } else { 6 };
            frame(
                c4,
                v4(192, 0, 2, 30),
                proto,
                port,
                7,
                flags,
                payload,
                vlan,
                Some((off, off == 0 || flags & 2 != 0)),
            )
        }
        8 => {
            let off = [0u16, 3][c.u8() as usize % 2];
            frame(
                c6,
                v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10]),
                6,
                port,
                443,
                flags,
                payload,
                vlan,
                Some((off, true)),
            )
        }
        9 => {
            // The VIP's reply that a router bounced (for the "dr" or "any" VIP).
            let vip = v4(192, 0, 2, if client.is_multiple_of(2) { 10 } else { 30 });
            let inner = frame(vip, c4, 6, 80, port, 0x12, 20, None, None);
            let ty = [3u8, 11, 12, 8][c.u8() as usize % 4];
            icmp_error(
                v4(203, 0, 113, 1),
                vip,
                ty,
                &inner[14..14 + 28 + (flags as usize % 20)],
            )
        }
        10 => {
            let vip = v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10]);
            let inner = frame(vip, c6, 6, 443, port, 0x12, 0, None, None);
            let ty = [1u8, 2, 3, 4, 128][c.u8() as usize % 5];
            icmp_error(
                v6([0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1]),
                vip,
                ty,
                &inner[14..14 + 48],
            )
        }
        11 => frame(c4, v4(192, 0, 2, 99), 17, port, 9, 0, payload, vlan, None),
        12 => {
            // A NAT backend (or a router before it) bounces a forwarded
            // packet: translated towards the client on a return-entry hit.
            let quote = 28 + (flags as usize % 40);
            let ty = [3u8, 11, 12][c.u8() as usize % 3];
            if client.is_multiple_of(2) {
                let be = v4(10, 0, 2, 1 + client % 2);
                let inner = frame(c4, be, 6, port, 9000, flags, 60, None, None);
                let from = if flags & 1 != 0 { be } else { v4(10, 0, 9, 254) };
                icmp_error(from, c4, ty, &inner[14..14 + quote])
            } else {
                let be = v6([0x2001, 0xdb8, 2, 0, 0, 0, 0, 1 + client as u16 % 2]);
                let inner = frame(c6, be, 17, port, 5000, 0, 60, None, None);
                icmp_error(
                    be,
                    c6,
                    [1u8, 2, 3, 4][ty as usize % 4],
                    &inner[14..14 + quote + 20],
                )
            }
        }
        13 => {
            // A router on the client's side bounces a NAT VIP's reply:
            // translated towards the flow's backend on a hit.
            let quote = 28 + (flags as usize % 40);
            if client.is_multiple_of(2) {
                let vip = v4(192, 0, 2, 20);
                let inner = frame(vip, c4, 6, 8080, port, flags, 60, None, None);
                icmp_error(v4(203, 0, 113, 1), vip, 3, &inner[14..14 + quote])
            } else {
                let vip = v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20]);
                let inner = frame(vip, c6, 17, 5000, port, 0, 60, None, None);
                icmp_error(
                    v6([0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1]),
                    vip,
                    2,
                    &inner[14..14 + quote + 20],
                )
            }
        }
        _ => {
            let n = c.u8() as usize;
            (0..n).map(|_| c.u8()).collect()
        }
    };
    // Mutations: overwrite a byte, or cut the frame.
    for _ in 0..c.u8() % 4 {
        let at = c.u16() as usize;
        let v = c.u8();
        if f.is_empty() {
            break;
        }
        if v == 0xff {
            f.truncate(at % f.len());
        } else {
            let i = at % f.len();
            f[i] = v;
        }
    }
    f
}

/// Signed gaps between frames (ns): back to back, within a clock, across
/// conntrack ticks and timeouts, and backwards (taken as back to back).
const GAPS: [i64; 16] = [
    0,
    0,
    0,
    0,
    0,
    0,
    3,
    3,
    700,
    700,
    100_000,
    1_000_000,
    1_500_000_000,
    3_000_000_000,
    6_000_000_000,
    -5_000_000,
];

enum Ev {
    Frame(Vec<u8>, u64),
    Flash(usize),
}

fn run(m: &mut dyn Model, evs: &[Ev], images: &[Image]) -> Vec<OutPacket> {
    let mut out = Vec::new();
    for e in evs {
        match e {
            Ev::Frame(f, ts) => m.input(f.clone(), *ts),
            Ev::Flash(i) => m.flash(&images[*i]).expect("flash"),
        }
        out.extend(m.take_output());
    }
    m.finish();
    out.extend(m.take_output());
    out
}

/// Any bytes, read as frames with timestamps (and the odd table commit),
/// through the functional and the cycle-accurate model: no panic, and the
/// same frames out, the same counters, the same conntrack memory. Returns
/// the number of frames out.
pub fn model_frames(data: &[u8]) -> usize {
    let s = setup();
    let mut c = Cursor { b: data, at: 0 };
    let mut evs = Vec::new();
    let mut ts = 1_000_000u64;
    let mut frames = 0u64;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    while !c.done() && evs.len() < 256 {
        let op = c.u8();
        if op == 0xff {
            evs.push(Ev::Flash(c.u8() as usize % s.images.len()));
            continue;
        }
        ts = ts.saturating_add_signed(GAPS[(op & 15) as usize]);
        // A quarter of the frames repeat an earlier one: flows continue,
        // hit conntrack and meet their predecessors in the pipeline.
        let f = if (op >> 4).is_multiple_of(4) && !sent.is_empty() {
            let i = c.u8() as usize % sent.len();
            sent[i].clone()
        } else {
            let f = next_frame(&mut c);
            sent.push(f.clone());
            f
        };
        evs.push(Ev::Frame(f, ts));
        frames += 1;
    }
    let dev = || {
        let mut d = in_memory(s.target.clone()).expect("device");
        d.flash(&s.images[0]).expect("flash");
        d
    };
    let mut f = Functional::new(dev());
    let mut y = Cycle::new(dev());
    let fo = run(&mut f, &evs, &s.images);
    let yo = run(&mut y, &evs, &s.images);
    assert_eq!(fo.len(), yo.len(), "number of frames out");
    for (a, b) in fo.iter().zip(&yo) {
        assert_eq!(a.seq, b.seq, "egress order");
        assert_eq!(a.data, b.data, "frame {}", a.seq);
    }
    assert_eq!(f.counters(), y.counters(), "counters");
    assert_eq!(f.dev.ct_mem(), y.dev.ct_mem(), "conntrack memory");
    use lbnic_contract::target::regs::Counter;
    assert_eq!(f.counters().get(Counter::RxPackets), frames);
    assert_eq!(f.counters().get(Counter::TxPackets), fo.len() as u64);
    fo.len()
}

/// Frames of every kind `model_frames` builds, unmutated: seeds for the
/// parser smoke test and a fuzzer corpus.
pub fn seed_frames() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for kind in 0..=255u8 {
        let bytes = [kind, kind / 3, kind / 7, kind / 5, kind / 11, kind, 0, 0, 0];
        let mut c = Cursor { b: &bytes, at: 0 };
        let f = next_frame(&mut c);
        if !f.is_empty() {
            v.push(f);
        }
    }
    v
}
