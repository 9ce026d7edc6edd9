//! Shared test support: configs, images and frames.
#![allow(dead_code)]

use etherparse::PacketBuilder;
use hw_model::device::{in_memory, Device, Memory};
use lbnic_contract::image::Image;
use lbnic_contract::target::Target;
use std::net::IpAddr;
use std::path::Path;
use table_compiler::compile::compile;
use table_compiler::config::Config;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 1];
pub const DEV_MAC: [u8; 6] = [0x02, 0, 0x5e, 0, 0, 1];

/// A target small enough for many devices per test, with a small conntrack
/// so evictions happen.
pub fn test_target() -> Target {
    table_compiler::target_file::parse(
        "name = \"test\"\nmax_vips = 16\nmax_backends = 256\nlut_entry_bits = 8\nlut_entries = 8192\nct_buckets = 64\nct_ways = 2\nct_latency_cycles = 20\nct_max_outstanding = 16\nfifo_depth = 8\nct_tick_us = 1000\n",
        "test",
    )
    .unwrap()
}

/// Every mode and scheduler, IPv4 and IPv6.
pub fn config_text(extra_backend: bool, drain_b1: bool) -> String {
    let mut s = String::from(
        r#"
[device]
mac = "02:00:5e:00:00:01"
gateway_mac = "02:00:5e:00:00:fe"
[timeouts]
tcp_syn_s = 2
tcp_established_s = 5
tcp_closing_s = 1
udp_s = 3
[[vip]]
name = "dr"
address = "192.0.2.10"
port = 80
table_size = 251
backend = [
  { name = "b1", address = "10.0.0.1", mac = "02:00:00:00:00:01", STATE1 },
  { name = "b2", address = "10.0.0.2", mac = "02:00:00:00:00:02", weight = 2 },
  EXTRA
]
[[vip]]
name = "ipip6"
address = "2001:db8::10"
port = 443
mode = "tun-ipip"
scheduler = "maglev-stable"
table_size = 251
backend = [
  { name = "s1", address = "2001:db8:1::1" },
  { name = "s2", address = "2001:db8:1::2" },
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
  { name = "g2", address = "198.18.0.2", weight = 1 },
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
"#,
    );
    s = s.replace(
        "EXTRA",
        if extra_backend {
            r#"{ name = "b3", address = "10.0.0.3", mac = "02:00:00:00:00:03" },"#
        } else {
            ""
        },
    );
    s.replace(
        "STATE1",
        if drain_b1 {
            "state = \"drain\""
        } else {
            "weight = 1"
        },
    )
}

pub fn image_for(text: &str, target: &Target, previous: Option<&Image>) -> Image {
    let mut cfg = Config::parse(text, "test.toml", Path::new(".")).unwrap();
    cfg.target = target.clone();
    cfg.target_fingerprint = target.fingerprint();
    compile(&cfg, previous, None).unwrap().0
}

pub fn device(target: &Target, img: &Image) -> Device<Memory> {
    let mut d = in_memory(target.clone()).unwrap();
    d.flash(img).unwrap();
    d
}

fn ip4(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(v) => v.octets(),
        _ => panic!("not v4"),
    }
}
fn ip6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(v) => v.octets(),
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
    }
}

/// TCP frame with `flags` (SYN 0x02, ACK 0x10, FIN 0x01, RST 0x04) and
/// `payload` bytes of payload.
pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, payload: usize) -> Vec<u8> {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC);
    let ip = if s.is_ipv4() {
        eth.ipv4(ip4(s), ip4(d), 64)
    } else {
        eth.ipv6(ip6(s), ip6(d), 64)
    };
    let mut b = ip.tcp(sport, dport, 1000, 65535);
    if flags & 0x02 != 0 {
        b = b.syn();
    }
    if flags & 0x10 != 0 {
        b = b.ack(1);
    }
    if flags & 0x01 != 0 {
        b = b.fin();
    }
    if flags & 0x04 != 0 {
        b = b.rst();
    }
    let data = vec![0x5au8; payload];
    let mut out = Vec::with_capacity(b.size(payload));
    b.write(&mut out, &data).unwrap();
    out
}

pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, payload: usize) -> Vec<u8> {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC);
    let ip = if s.is_ipv4() {
        eth.ipv4(ip4(s), ip4(d), 64)
    } else {
        eth.ipv6(ip6(s), ip6(d), 64)
    };
    let b = ip.udp(sport, dport);
    let data = vec![0xa5u8; payload];
    let mut out = Vec::with_capacity(b.size(payload));
    b.write(&mut out, &data).unwrap();
    out
}

/// An IPv4 TCP frame of exactly `len` bytes (>= 54), built directly (the
/// line-rate tests need millions): flow `(src, sport)` to `dst:dport`.
pub fn tcp4_frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8, len: usize) -> Vec<u8> {
    use hw_model::packet::checksum;
    assert!(len >= 54);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&DEV_MAC);
    f[6..12].copy_from_slice(&CLIENT_MAC);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = checksum::ipv4_header(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut f[34..];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    let c = checksum::l4(&src, &dst, 6, &f[34..]);
    f[50..52].copy_from_slice(&c.to_be_bytes());
    f
}

// ---- Frame surgery for the packet-layer tests (hand-built where etherparse
// cannot build the frame, e.g. malformed headers or fragments).

/// The frame with VLAN tags `(TPID, TCI)` inserted after the MACs.
pub fn tagged(frame: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&frame[12..]);
    f
}

/// The frame with `n` bytes of Ethernet padding appended.
pub fn padded(frame: &[u8], n: usize) -> Vec<u8> {
    let mut f = frame.to_vec();
    f.extend(std::iter::repeat_n(0xeeu8, n));
    f
}

/// Recompute the IPv4 header checksum of the header at `l3`.
pub fn fix_ipv4_csum(f: &mut [u8], l3: usize) {
    let hl = (f[l3] & 0x0f) as usize * 4;
    f[l3 + 10..l3 + 12].fill(0);
    let c = hw_model::packet::checksum::ipv4_header(&f[l3..l3 + hl]);
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
}

/// An untagged IPv4 frame with `opts` (a multiple of 4 bytes) as IPv4
/// options: IHL, total length and header checksum updated (L4 checksums
/// do not cover IPv4 options).
pub fn ipv4_with_options(frame: &[u8], opts: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut f = frame[..34].to_vec();
    f.extend_from_slice(opts);
    f.extend_from_slice(&frame[34..]);
    f[14] = 0x40 | (5 + opts.len() / 4) as u8;
    let tl = u16::from_be_bytes([f[16], f[17]]) as usize + opts.len();
    f[16..18].copy_from_slice(&(tl as u16).to_be_bytes());
    fix_ipv4_csum(&mut f, 14);
    f
}

/// Set the fragment offset (8-byte units) and MF of the IPv4 header at `l3`.
pub fn ipv4_fragment(frame: &[u8], l3: usize, offset8: u16, more: bool) -> Vec<u8> {
    let mut f = frame.to_vec();
    let ff = (u16::from_be_bytes([f[l3 + 6], f[l3 + 7]]) & 0x4000) | offset8 | if more { 0x2000 } else { 0 };
    f[l3 + 6..l3 + 8].copy_from_slice(&ff.to_be_bytes());
    fix_ipv4_csum(&mut f, l3);
    f
}

/// An IPv6 extension header to insert.
#[derive(Debug, Clone, Copy)]
pub enum Ext {
    /// Hop-by-hop options of `len` bytes (a multiple of 8), PadN inside.
    HopByHop(usize),
    DestOpts(usize),
    /// Routing header type 4 (SRH-like) with segments left 0.
    Routing(usize),
    Fragment {
        offset8: u16,
        more: bool,
    },
    /// Authentication header of `len` bytes (a multiple of 4, >= 12).
    Auth(usize),
}

impl Ext {
    fn code(self) -> u8 {
        match self {
            Ext::HopByHop(_) => 0,
            Ext::DestOpts(_) => 60,
            Ext::Routing(_) => 43,
            Ext::Fragment { .. } => 44,
            Ext::Auth(_) => 51,
        }
    }
    fn bytes(self, next: u8) -> Vec<u8> {
        match self {
            Ext::HopByHop(len) | Ext::DestOpts(len) => {
                let mut b = vec![next, (len / 8 - 1) as u8, 1, (len - 4) as u8];
                b.resize(len, 0);
                b
            }
            Ext::Routing(len) => {
                let mut b = vec![next, (len / 8 - 1) as u8, 4, 0];
                b.resize(len, 0);
                b
            }
            Ext::Fragment { offset8, more } => {
                let fo = (offset8 << 3) | more as u16;
                let mut b = vec![next, 0];
                b.extend_from_slice(&fo.to_be_bytes());
                b.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                b
            }
            Ext::Auth(len) => {
                let mut b = vec![next, (len / 4 - 2) as u8];
                b.resize(len, 0);
                b
            }
        }
    }
}

/// An untagged IPv6 frame with `exts` inserted between the fixed header and
/// the upper-layer header (whose checksum they do not change).
pub fn ipv6_with_ext(frame: &[u8], exts: &[Ext]) -> Vec<u8> {
    let mut f = frame[..54].to_vec();
    let upper = f[20];
    let mut next = upper;
    let mut chain = Vec::new();
    for e in exts.iter().rev() {
        let mut b = e.bytes(next);
        b.extend_from_slice(&chain);
        chain = b;
        next = e.code();
    }
    f[20] = next;
    let pl = u16::from_be_bytes([f[18], f[19]]) as usize + chain.len();
    f[18..20].copy_from_slice(&(pl as u16).to_be_bytes());
    f.extend_from_slice(&chain);
    f.extend_from_slice(&frame[54..]);
    f
}

/// An ICMP error frame (`ty`, `code`) from `src` to the client, quoting the
/// first `quote` bytes of `inner` (an IP packet) after the 8-byte ICMP
/// header, ICMP checksum valid.
pub fn icmp_error(src: &str, dst: &str, ty: u8, code: u8, inner: &[u8], quote: usize) -> Vec<u8> {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    let body = &inner[..quote.min(inner.len())];
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC);
    let mut out = Vec::new();
    if s.is_ipv4() {
        let b = eth.ipv4(ip4(s), ip4(d), 64).icmpv4_raw(ty, code, [0; 4]);
        b.write(&mut out, body).unwrap();
    } else {
        let b = eth.ipv6(ip6(s), ip6(d), 64).icmpv6_raw(ty, code, [0; 4]);
        b.write(&mut out, body).unwrap();
    }
    out
}

/// The IP packet of an untagged frame (padding excluded).
pub fn ip_packet(frame: &[u8]) -> &[u8] {
    let len = if frame[14] >> 4 == 4 {
        u16::from_be_bytes([frame[16], frame[17]]) as usize
    } else {
        40 + u16::from_be_bytes([frame[18], frame[19]]) as usize
    };
    &frame[14..14 + len]
}

/// A TCP or UDP frame between arbitrary addresses (the first 4 bytes of
/// each for IPv4), built by etherparse: input for property tests.
pub fn l4_frame(
    v6: bool,
    is_tcp: bool,
    a: [u8; 16],
    b: [u8; 16],
    sport: u16,
    dport: u16,
    data: &[u8],
) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC);
    let mut f = Vec::new();
    macro_rules! fin {
        ($ip:expr) => {
            if is_tcp {
                $ip.tcp(sport, dport, 7, 100).write(&mut f, data).unwrap()
            } else {
                $ip.udp(sport, dport).write(&mut f, data).unwrap()
            }
        };
    }
    if v6 {
        fin!(eth.ipv6(a, b, 64))
    } else {
        fin!(eth.ipv4(a[..4].try_into().unwrap(), b[..4].try_into().unwrap(), 64))
    }
    f
}
