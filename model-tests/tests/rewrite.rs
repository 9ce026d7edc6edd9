//! The forwarding modes' rewrites against an independent oracle: the output
//! is read back with etherparse, whose checksum code (not ours) must accept
//! every IPv4 header and TCP/UDP checksum, and the bytes that change are
//! exactly the ones the mode may change. The tunnel decoder is checked on
//! the encapsulations, and the model's tunnel outputs decode to its input.

mod common;

use common::*;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use hw_model::functional::Functional;
use hw_model::model::Model;
use hw_model::packet::rewrite::Outer;
use hw_model::packet::rewrite::{self, RewriteError};
use hw_model::packet::{decap, parse, DecapError, Frag, ParseError, Parsed, Tunnel};
use lbnic_contract::target::regs::Counter;
use proptest::prelude::*;
use std::net::IpAddr;

const GUE_PORT: u16 = 6080;
const BE_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 9];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Checksums of an IP packet as etherparse computes them: the IPv4 header,
/// TCP/UDP (not for fragments, nor for IPv4 UDP without a checksum),
/// ICMPv4/ICMPv6, and recursively the packet inside IPIP or GUE.
fn verify(s: &SlicedPacket, depth: u32) -> Result<(), String> {
    let Some(net) = &s.net else {
        return Err("no IP layer".into());
    };
    let (src, dst, fragmented, v6) = match net {
        NetSlice::Ipv4(v) => {
            let h = v.header();
            let want = h.to_header().calc_header_checksum();
            if h.header_checksum() != want {
                return Err(format!(
                    "IPv4 header checksum {:#06x}, want {want:#06x}",
                    h.header_checksum()
                ));
            }
            let mut s16 = [0u8; 16];
            let mut d16 = [0u8; 16];
            s16[..4].copy_from_slice(&h.source());
            d16[..4].copy_from_slice(&h.destination());
            (s16, d16, v.payload().fragmented, false)
        }
        NetSlice::Ipv6(v) => (
            v.header().source(),
            v.header().destination(),
            v.payload().fragmented,
            true,
        ),
    };
    if fragmented {
        return Ok(());
    }
    let (s4, d4): ([u8; 4], [u8; 4]) = (src[..4].try_into().unwrap(), dst[..4].try_into().unwrap());
    match &s.transport {
        Some(TransportSlice::Tcp(t)) => {
            let want = if v6 {
                t.calc_checksum_ipv6(src, dst)
            } else {
                t.calc_checksum_ipv4(s4, d4)
            }
            .unwrap();
            if t.checksum() != want {
                return Err(format!("TCP checksum {:#06x}, want {want:#06x}", t.checksum()));
            }
        }
        Some(TransportSlice::Udp(u)) => {
            if u.checksum() != 0 || v6 {
                let h = u.to_header();
                let want = if v6 {
                    h.calc_checksum_ipv6_raw(src, dst, u.payload())
                } else {
                    h.calc_checksum_ipv4_raw(s4, d4, u.payload())
                }
                .unwrap();
                if u.checksum() != want {
                    return Err(format!("UDP checksum {:#06x}, want {want:#06x}", u.checksum()));
                }
            }
            if u.destination_port() == GUE_PORT && depth == 0 {
                let inner = SlicedPacket::from_ip(u.payload()).map_err(|e| format!("GUE inner: {e}"))?;
                verify(&inner, 1)?;
            }
        }
        Some(TransportSlice::Icmpv4(i)) => {
            let want = i.header().icmp_type.calc_checksum(i.payload());
            if i.checksum() != want {
                return Err(format!("ICMP checksum {:#06x}, want {want:#06x}", i.checksum()));
            }
        }
        Some(TransportSlice::Icmpv6(i)) => {
            let want = i.header().icmp_type.calc_checksum(src, dst, i.payload()).unwrap();
            if i.checksum() != want {
                return Err(format!("ICMPv6 checksum {:#06x}, want {want:#06x}", i.checksum()));
            }
        }
        _ => {}
    }
    let payload = match net {
        NetSlice::Ipv4(v) => v.payload(),
        NetSlice::Ipv6(v) => v.payload(),
    };
    if matches!(payload.ip_number.0, 4 | 41) && depth == 0 {
        let inner = SlicedPacket::from_ip(payload.payload).map_err(|e| format!("IPIP inner: {e}"))?;
        verify(&inner, 1)?;
    }
    Ok(())
}

fn checked(frame: &[u8]) {
    let s = SlicedPacket::from_ethernet(frame).unwrap_or_else(|e| panic!("etherparse: {e} on {frame:02x?}"));
    if let Err(e) = verify(&s, 0) {
        panic!("{e} in {frame:02x?}");
    }
}

/// Set DSCP/ECN (IPv4 TOS or IPv6 traffic class) and, for IPv4, DF.
fn with_tos(frame: &[u8], l3: usize, tos: u8, df: bool) -> Vec<u8> {
    let mut f = frame.to_vec();
    if f[l3] >> 4 == 4 {
        f[l3 + 1] = tos;
        f[l3 + 6] = (f[l3 + 6] & !0x40) | if df { 0x40 } else { 0 };
        fix_ipv4_csum(&mut f, l3);
    } else {
        f[l3] = 0x60 | (tos >> 4);
        f[l3 + 1] = (f[l3 + 1] & 0x0f) | (tos << 4);
    }
    f
}

/// Inputs of every shape a rewrite sees (all parse, all checksums valid).
fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut udp0 = udp("203.0.113.5", 5353, "192.0.2.53", 53, 30);
    udp0[40..42].fill(0);
    let tcp6 = tcp("2001:db8:c::7", 40000, "2001:db8::10", 443, 0x10, 64);
    vec![
        (
            "tcp4 syn, padded",
            padded(&tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 0), 6),
        ),
        (
            "tcp4, dscp, no DF",
            with_tos(
                &tcp("198.51.100.7", 40001, "192.0.2.10", 80, 0x10, 100),
                14,
                0xb9,
                false,
            ),
        ),
        (
            "udp4",
            with_tos(&udp("203.0.113.5", 5353, "192.0.2.53", 53, 31), 14, 0x28, true),
        ),
        ("udp4 without checksum", udp0),
        ("tcp6, traffic class", with_tos(&tcp6, 14, 0xb8, true)),
        (
            "udp6 odd length",
            udp("2001:db8:c::7", 5000, "2001:db8::53", 53, 33),
        ),
        (
            "tcp4 in a VLAN",
            tagged(
                &tcp("198.51.100.7", 40002, "192.0.2.10", 80, 0x10, 10),
                &[(0x8100, 0xa064)],
            ),
        ),
        (
            "udp6 in QinQ",
            tagged(
                &udp("2001:db8:c::7", 5001, "2001:db8::53", 53, 10),
                &[(0x88a8, 7), (0x8100, 0x2008)],
            ),
        ),
        (
            "tcp4 with IP options",
            ipv4_with_options(
                &tcp("198.51.100.7", 40003, "192.0.2.10", 80, 0x10, 7),
                &[1, 1, 1, 0, 7, 3, 4, 0],
            ),
        ),
        (
            "tcp6 with extension headers",
            ipv6_with_ext(&tcp6, &[Ext::HopByHop(8), Ext::DestOpts(16)]),
        ),
        (
            "udp6 tiny, padded",
            padded(&udp("2001:db8:c::7", 5002, "2001:db8::53", 53, 0), 20),
        ),
    ]
}

fn p(f: &[u8]) -> Parsed {
    parse(f).unwrap_or_else(|e| panic!("{e}: {f:02x?}"))
}

/// Output length of DR/NAT: the IP packet, padding kept only up to the
/// 60-byte Ethernet minimum.
fn l2_out_len(frame: &[u8], q: &Parsed) -> usize {
    let end = q.l3_offset + q.l3_len;
    end.max(frame.len().min(60))
}

#[test]
fn dr_changes_only_the_macs() {
    for (name, f) in inputs() {
        let q = p(&f);
        let mut out = Vec::new();
        rewrite::dr(&f, &q, BE_MAC, DEV_MAC, 1514, &mut out).unwrap();
        assert_eq!(out.len(), l2_out_len(&f, &q), "{name}");
        assert_eq!(&out[..6], &BE_MAC, "{name}");
        assert_eq!(&out[6..12], &DEV_MAC, "{name}");
        assert_eq!(&out[12..], &f[12..out.len()], "{name}");
        checked(&out);
    }
}

/// Positions NAT may change besides the MACs: the address, the port, the
/// IPv4 header checksum and the L4 checksum.
fn allowed_nat_bytes(q: &Parsed, addr_at: usize, port_at: Option<usize>) -> Vec<usize> {
    let alen = if q.ipv6 { 16 } else { 4 };
    let mut v: Vec<usize> = (addr_at..addr_at + alen).collect();
    if let Some(pa) = port_at {
        v.extend([pa, pa + 1]);
    }
    if !q.ipv6 {
        v.extend([q.l3_offset + 10, q.l3_offset + 11]);
    }
    if q.frag != Frag::Later {
        let c = q.l4_offset + if q.proto == 6 { 16 } else { 6 };
        v.extend([c, c + 1]);
    }
    v
}

fn assert_only(before: &[u8], after: &[u8], allowed: &[usize], name: &str) {
    assert_eq!(before.len(), after.len(), "{name}");
    for i in 12..before.len() {
        if before[i] != after[i] {
            assert!(
                allowed.contains(&i),
                "{name}: byte {i} changed {:#04x} -> {:#04x}",
                before[i],
                after[i]
            );
        }
    }
}

fn addr_offsets(q: &Parsed) -> (usize, usize) {
    if q.ipv6 {
        (q.l3_offset + 8, q.l3_offset + 24)
    } else {
        (q.l3_offset + 12, q.l3_offset + 16)
    }
}

#[test]
fn nat_forward_and_reverse_keep_checksums_valid() {
    for (name, f) in inputs() {
        let q = p(&f);
        let (new_addr, vip) = if q.ipv6 {
            (ip("2001:db8:2::1"), ip("2001:db8::99"))
        } else {
            (ip("10.0.2.1"), ip("192.0.2.99"))
        };
        let (sa, da) = addr_offsets(&q);
        for port in [None, Some(9000u16)] {
            let mut out = Vec::new();
            rewrite::nat_forward(&f, &q, new_addr, port, BE_MAC, DEV_MAC, 1514, &mut out).unwrap();
            checked(&out);
            let r = p(&out);
            assert_eq!((r.src, r.dst, r.sport), (q.src, new_addr, q.sport), "{name}");
            assert_eq!(r.dport, port.unwrap_or(q.dport), "{name}");
            let pa = port.map(|_| q.l4_offset + 2);
            assert_only(&f[..out.len()], &out, &allowed_nat_bytes(&q, da, pa), name);
            if name == "udp4 without checksum" {
                assert_eq!(
                    &out[q.l4_offset + 6..q.l4_offset + 8],
                    &[0, 0],
                    "stays without checksum"
                );
            }
        }
        let mut out = Vec::new();
        rewrite::nat_reverse(&f, &q, vip, 8080, BE_MAC, DEV_MAC, 1514, &mut out).unwrap();
        checked(&out);
        let r = p(&out);
        assert_eq!(
            (r.src, r.dst, r.sport, r.dport),
            (vip, q.dst, 8080, q.dport),
            "{name}"
        );
        assert_only(
            &f[..out.len()],
            &out,
            &allowed_nat_bytes(&q, sa, Some(q.l4_offset)),
            name,
        );
    }
}

#[test]
fn nat_refuses_a_change_of_family() {
    let f = tcp("198.51.100.7", 40000, "192.0.2.20", 8080, 0x02, 0);
    let mut out = Vec::new();
    let v6 = ip("2001:db8::1");
    assert_eq!(
        rewrite::nat_forward(&f, &p(&f), v6, None, BE_MAC, DEV_MAC, 1514, &mut out),
        Err(RewriteError::Family(v6))
    );
    assert_eq!(
        rewrite::nat_reverse(&f, &p(&f), v6, 1, BE_MAC, DEV_MAC, 1514, &mut out),
        Err(RewriteError::Family(v6))
    );
}

#[test]
fn nat_of_fragments() {
    let whole = tcp("198.51.100.7", 40000, "192.0.2.20", 8080, 0x10, 40);
    let new = ip("10.0.2.1");
    let mut want = Vec::new();
    rewrite::nat_forward(
        &whole,
        &p(&whole),
        new,
        Some(9000),
        BE_MAC,
        DEV_MAC,
        1514,
        &mut want,
    )
    .unwrap();
    checked(&want);

    // First fragment carrying the whole TCP header: the L4 checksum (over
    // the reassembled segment) gets the same incremental update.
    let first = ipv4_fragment(&whole, 14, 0, true);
    let mut out = Vec::new();
    rewrite::nat_forward(
        &first,
        &p(&first),
        new,
        Some(9000),
        BE_MAC,
        DEV_MAC,
        1514,
        &mut out,
    )
    .unwrap();
    checked(&out);
    assert_eq!(&out[34..], &want[34..], "same TCP header and payload");
    assert_eq!(p(&out).dport, 9000);

    // Later fragments: only the address and the header checksum; the
    // payload (no L4 header here) is untouched.
    for later in [
        ipv4_fragment(&whole, 14, 5, true),
        ipv6_with_ext(
            &tcp("2001:db8:c::7", 40000, "2001:db8::10", 443, 0x10, 40),
            &[Ext::Fragment {
                offset8: 7,
                more: false,
            }],
        ),
    ] {
        let q = p(&later);
        assert_eq!(q.frag, Frag::Later);
        let new = if q.ipv6 { ip("2001:db8:2::1") } else { new };
        let mut out = Vec::new();
        rewrite::nat_forward(&later, &q, new, Some(9000), BE_MAC, DEV_MAC, 1514, &mut out).unwrap();
        checked(&out);
        assert_eq!(p(&out).dst, new);
        assert_only(
            &later,
            &out,
            &allowed_nat_bytes(&q, addr_offsets(&q).1, None),
            "later fragment",
        );
    }
}

/// Fields of the outer header checked against the input.
fn check_outer(
    name: &str,
    f: &[u8],
    out: &[u8],
    outer_src: IpAddr,
    outer_dst: IpAddr,
    label: u32,
    gue: bool,
) {
    let q = p(f);
    let d = decap(out, GUE_PORT).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(d.tunnel, if gue { Tunnel::Gue } else { Tunnel::Ipip }, "{name}");
    assert_eq!((d.outer.src, d.outer.dst), (outer_src, outer_dst), "{name}");
    assert_eq!((d.outer.dst_mac, d.outer.src_mac), (BE_MAC, DEV_MAC), "{name}");
    // The input's VLAN tags, as they were.
    assert_eq!(&out[12..q.l2_len - 2], &f[12..q.l2_len - 2], "{name}: tags");
    assert_eq!(d.outer.l2_len, q.l2_len);
    assert_eq!(d.ttl, 64, "{name}");
    let ip_in = &f[q.l3_offset..q.l3_offset + q.l3_len];
    let (tos, df) = if q.ipv6 {
        ((ip_in[0] << 4) | (ip_in[1] >> 4), true)
    } else {
        (ip_in[1], ip_in[6] & 0x40 != 0)
    };
    assert_eq!(d.tos, tos, "{name}: DSCP/ECN copied");
    if outer_dst.is_ipv6() {
        assert_eq!(d.flow_label, label & 0xf_ffff, "{name}");
        assert!(!d.df);
    } else {
        assert_eq!(d.df, df, "{name}: DF copied");
        // Header length 5, no options.
        assert_eq!(out[q.l2_len], 0x45);
    }
    let want_proto = if gue {
        17
    } else if q.ipv6 {
        41
    } else {
        4
    };
    assert_eq!(d.outer.proto, want_proto, "{name}");
    assert_eq!(
        d.inner_packet(out),
        Some(ip_in),
        "{name}: inner byte-identical, padding stripped"
    );
    assert_eq!(
        out.len(),
        d.inner.l3_offset + q.l3_len,
        "{name}: nothing after the inner packet"
    );
    // The inner summary is what the parser reads from the original.
    let i = d.inner;
    assert_eq!(
        (i.src, i.dst, i.proto, i.sport, i.dport, i.frag, i.icmp_error),
        (q.src, q.dst, q.proto, q.sport, q.dport, q.frag, q.icmp_error),
        "{name}"
    );
    checked(out);
}

fn tunnel_ends(v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (ip("100::1234"), ip("2001:db8:1::1"))
    } else {
        (ip("172.16.3.4"), ip("198.18.0.1"))
    }
}

#[test]
fn ipip_in_every_family_combination() {
    for (name, f) in inputs() {
        for outer6 in [false, true] {
            let (s, d) = tunnel_ends(outer6);
            let mut out = Vec::new();
            rewrite::encap_ipip(
                &f,
                &p(&f),
                &Outer {
                    src: s,
                    dst: d,
                    flow_label: 0xabcde123,
                    dst_mac: BE_MAC,
                    src_mac: DEV_MAC,
                },
                1514,
                &mut out,
            )
            .unwrap();
            check_outer(name, &f, &out, s, d, 0xabcde123, false);
        }
    }
}

#[test]
fn gue_in_every_family_combination() {
    for (name, f) in inputs() {
        for outer6 in [false, true] {
            let (s, d) = tunnel_ends(outer6);
            let sport = 0xc000 | 0x1234;
            let mut out = Vec::new();
            rewrite::encap_gue(
                &f,
                &p(&f),
                &Outer {
                    src: s,
                    dst: d,
                    flow_label: 0x54321,
                    dst_mac: BE_MAC,
                    src_mac: DEV_MAC,
                },
                sport,
                GUE_PORT,
                1514,
                &mut out,
            )
            .unwrap();
            check_outer(name, &f, &out, s, d, 0x54321, true);
            let dc = decap(&out, GUE_PORT).unwrap();
            assert_eq!((dc.outer.sport, dc.outer.dport), (sport, GUE_PORT), "{name}");
            let u = dc.outer.l4_offset;
            let ulen = u16::from_be_bytes([out[u + 4], out[u + 5]]) as usize;
            assert_eq!(ulen, out.len() - u, "{name}: UDP length");
            // Another GUE port: not ours.
            assert_eq!(
                decap(&out, GUE_PORT + 1),
                Err(DecapError::NotTunnel {
                    proto: 17,
                    dport: GUE_PORT
                })
            );
        }
    }
}

#[test]
fn encapsulating_an_icmp_error_and_fragments() {
    // The pipeline tunnels ICMP errors and later fragments to backends too.
    let inner = ip_packet(&tcp("192.0.2.10", 80, "198.51.100.7", 40000, 0x12, 20)).to_vec();
    let icmp = icmp_error("203.0.113.1", "192.0.2.10", 3, 4, &inner, 48);
    let later = ipv4_fragment(&tcp("198.51.100.7", 1, "192.0.2.10", 80, 0x10, 64), 14, 9, false);
    for (name, f) in [("icmp error", icmp), ("later fragment", later)] {
        let (s, d) = tunnel_ends(true);
        let mut out = Vec::new();
        rewrite::encap_ipip(
            &f,
            &p(&f),
            &Outer {
                src: s,
                dst: d,
                flow_label: 7,
                dst_mac: BE_MAC,
                src_mac: DEV_MAC,
            },
            1514,
            &mut out,
        )
        .unwrap();
        check_outer(name, &f, &out, s, d, 7, false);
        rewrite::encap_gue(
            &f,
            &p(&f),
            &Outer {
                src: s,
                dst: d,
                flow_label: 0,
                dst_mac: BE_MAC,
                src_mac: DEV_MAC,
            },
            0xc001,
            GUE_PORT,
            1514,
            &mut out,
        )
        .unwrap();
        check_outer(name, &f, &out, s, d, 0, true);
    }
}

#[test]
fn too_big_is_refused_at_exactly_the_limit() {
    let f = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x10, 1400);
    let q = p(&f);
    let mut out = Vec::new();
    let (s4, d4) = tunnel_ends(false);
    let (s6, d6) = tunnel_ends(true);
    let len = f.len();
    // DR and NAT: the frame itself.
    assert!(rewrite::dr(&f, &q, BE_MAC, DEV_MAC, len, &mut out).is_ok());
    assert_eq!(
        rewrite::dr(&f, &q, BE_MAC, DEV_MAC, len - 1, &mut out),
        Err(RewriteError::TooBig { len, max: len - 1 })
    );
    assert_eq!(
        rewrite::nat_forward(&f, &q, ip("10.0.0.1"), None, BE_MAC, DEV_MAC, len - 1, &mut out),
        Err(RewriteError::TooBig { len, max: len - 1 })
    );
    // Tunnels: + 20 / 40 (IPIP), + 28 / 48 (GUE).
    for (s, d, extra, gue) in [
        (s4, d4, 20, false),
        (s6, d6, 40, false),
        (s4, d4, 28, true),
        (s6, d6, 48, true),
    ] {
        let run = |max: usize, out: &mut Vec<u8>| {
            if gue {
                rewrite::encap_gue(
                    &f,
                    &q,
                    &Outer {
                        src: s,
                        dst: d,
                        flow_label: 0,
                        dst_mac: BE_MAC,
                        src_mac: DEV_MAC,
                    },
                    0xc000,
                    GUE_PORT,
                    max,
                    out,
                )
            } else {
                rewrite::encap_ipip(
                    &f,
                    &q,
                    &Outer {
                        src: s,
                        dst: d,
                        flow_label: 0,
                        dst_mac: BE_MAC,
                        src_mac: DEV_MAC,
                    },
                    max,
                    out,
                )
            }
        };
        run(len + extra, &mut out).unwrap();
        assert_eq!(out.len(), len + extra);
        assert_eq!(
            run(len + extra - 1, &mut out),
            Err(RewriteError::TooBig {
                len: len + extra,
                max: len + extra - 1
            })
        );
    }
    // VLAN tags count.
    let t = tagged(&f, &[(0x88a8, 1), (0x8100, 2)]);
    let r = rewrite::encap_ipip(
        &t,
        &p(&t),
        &Outer {
            src: s4,
            dst: d4,
            flow_label: 0,
            dst_mac: BE_MAC,
            src_mac: DEV_MAC,
        },
        len + 20 + 7,
        &mut out,
    );
    assert_eq!(
        r,
        Err(RewriteError::TooBig {
            len: len + 28,
            max: len + 27
        })
    );
}

#[test]
fn outer_length_fields_cannot_overflow() {
    // An IPv6 packet of 65575 bytes fits no outer length field once
    // encapsulated, whatever `max` says.
    let f = udp("2001:db8:c::7", 5000, "2001:db8::53", 53, 65535 - 8);
    let q = p(&f);
    assert_eq!(q.l3_len, 40 + 65535);
    let mut out = Vec::new();
    for outer6 in [false, true] {
        let (s, d) = tunnel_ends(outer6);
        let r = rewrite::encap_ipip(
            &f,
            &q,
            &Outer {
                src: s,
                dst: d,
                flow_label: 0,
                dst_mac: BE_MAC,
                src_mac: DEV_MAC,
            },
            usize::MAX,
            &mut out,
        );
        assert!(matches!(r, Err(RewriteError::TooBig { .. })), "{r:?}");
        let r = rewrite::encap_gue(
            &f,
            &q,
            &Outer {
                src: s,
                dst: d,
                flow_label: 0,
                dst_mac: BE_MAC,
                src_mac: DEV_MAC,
            },
            0xc000,
            GUE_PORT,
            usize::MAX,
            &mut out,
        );
        assert!(matches!(r, Err(RewriteError::TooBig { .. })), "{r:?}");
    }
    // The largest IPv4 packet still fits an IPv6 outer header.
    let f = udp("203.0.113.5", 5353, "192.0.2.53", 53, 65535 - 28);
    let (s, d) = tunnel_ends(true);
    rewrite::encap_ipip(
        &f,
        &p(&f),
        &Outer {
            src: s,
            dst: d,
            flow_label: 0,
            dst_mac: BE_MAC,
            src_mac: DEV_MAC,
        },
        usize::MAX,
        &mut out,
    )
    .unwrap();
    assert_eq!(decap(&out, GUE_PORT).unwrap().inner.l3_len, 65535);
}

#[test]
fn decap_refuses_what_is_not_a_tunnel() {
    let plain = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x10, 0);
    assert_eq!(
        decap(&plain, GUE_PORT),
        Err(DecapError::NotTunnel { proto: 6, dport: 0 })
    );
    let mut arp = plain.clone();
    arp[12..14].copy_from_slice(&[8, 6]);
    assert_eq!(
        decap(&arp, GUE_PORT),
        Err(DecapError::Outer(ParseError::NotIp(0x0806)))
    );

    let f = udp("203.0.113.5", 5353, "192.0.2.53", 53, 12);
    let (s, d) = tunnel_ends(false);
    let mut gue = Vec::new();
    rewrite::encap_gue(
        &f,
        &p(&f),
        &Outer {
            src: s,
            dst: d,
            flow_label: 0,
            dst_mac: BE_MAC,
            src_mac: DEV_MAC,
        },
        0xc000,
        GUE_PORT,
        1514,
        &mut gue,
    )
    .unwrap();
    // A GUE variant 0 header (first bits 00) is not what the pipeline emits.
    let mut v0 = gue.clone();
    v0[42] = 0x00;
    assert_eq!(decap(&v0, GUE_PORT), Err(DecapError::GueVariant(0x00)));
    // Outer fragment.
    let frag = ipv4_fragment(&gue, 14, 0, true);
    assert_eq!(decap(&frag, GUE_PORT), Err(DecapError::Fragmented));
    // Bad UDP length.
    let mut bad = gue.clone();
    bad[38..40].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(
        decap(&bad, GUE_PORT),
        Err(DecapError::Outer(ParseError::BadUdpLength(4)))
    );
    // Garbage inside.
    let mut bad = gue.clone();
    bad[42] = 0x43;
    assert_eq!(
        decap(&bad, GUE_PORT),
        Err(DecapError::Inner(ParseError::BadIhl(12)))
    );
    // Inner claims more than the tunnel carries.
    let mut ipip = Vec::new();
    rewrite::encap_ipip(
        &f,
        &p(&f),
        &Outer {
            src: s,
            dst: d,
            flow_label: 0,
            dst_mac: BE_MAC,
            src_mac: DEV_MAC,
        },
        1514,
        &mut ipip,
    )
    .unwrap();
    let mut bad = ipip.clone();
    bad[36..38].copy_from_slice(&200u16.to_be_bytes());
    assert!(matches!(
        decap(&bad, GUE_PORT),
        Err(DecapError::Inner(ParseError::BadLength { claimed: 200, .. }))
    ));
    // IPIP saying IPv4 (4) around an IPv6 packet.
    let f6 = udp("2001:db8:c::7", 5000, "2001:db8::53", 53, 12);
    rewrite::encap_ipip(
        &f6,
        &p(&f6),
        &Outer {
            src: s,
            dst: d,
            flow_label: 0,
            dst_mac: BE_MAC,
            src_mac: DEV_MAC,
        },
        1514,
        &mut ipip,
    )
    .unwrap();
    ipip[23] = 4;
    fix_ipv4_csum(&mut ipip, 14);
    assert_eq!(
        decap(&ipip, GUE_PORT),
        Err(DecapError::Inner(ParseError::BadIpVersion(6)))
    );
    // Every prefix: an error, never a panic.
    for n in 0..gue.len() {
        assert!(decap(&gue[..n], GUE_PORT).is_err(), "prefix {n}");
    }
}

/// A config whose tunnels change family: IPv4 VIPs behind IPv6 backends and
/// the other way round; a small `max_frame`.
const TUNNEL_CONFIG: &str = r#"
[device]
mac = "02:00:5e:00:00:01"
gateway_mac = "02:00:5e:00:00:fe"
max_frame = 600
[tunnel]
source_v4 = "172.16.0.0/16"
source_v6 = "100::/64"
gue_port = 6080
[[vip]]
name = "ipip"
address = "192.0.2.10"
port = 80
mode = "tun-ipip"
table_size = 251
backend = [
  { name = "a", address = "198.18.0.1" },
  { name = "b", address = "2001:db8:1::2" },
]
[[vip]]
name = "gue6"
address = "2001:db8::53"
port = 53
protocol = "udp"
mode = "tun-gue"
table_size = 251
backend = [
  { name = "c", address = "198.18.0.3" },
  { name = "d", address = "2001:db8:1::4" },
]
"#;

#[test]
fn model_tunnel_outputs_decode_to_the_input() {
    let t = test_target();
    let img = image_for(TUNNEL_CONFIG, &t, None);
    let mut m = Functional::new(device(&t, &img));
    let bank = m.dev.active.clone().unwrap();
    let backends: Vec<IpAddr> = ["198.18.0.1", "2001:db8:1::2", "198.18.0.3", "2001:db8:1::4"]
        .iter()
        .map(|s| ip(s))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for i in 0..200u16 {
        let f = if i % 2 == 0 {
            tagged(
                &tcp(
                    &format!("198.51.100.{}", i % 50),
                    1000 + i,
                    "192.0.2.10",
                    80,
                    0x02,
                    10,
                ),
                &[(0x8100, 0x6000 | i)],
            )
        } else {
            udp(&format!("2001:db8:c::{i:x}"), 2000 + i, "2001:db8::53", 53, 20)
        };
        let q = p(&f);
        let out = m.process(&f, 1_000_000 + i as u64).expect("forwarded").to_vec();
        let d = decap(&out, GUE_PORT).unwrap();
        // The flow hash as the spec defines it: Toeplitz over the address
        // pair then the port pair.
        let addrs = if q.ipv6 {
            q.l3_offset + 8..q.l3_offset + 40
        } else {
            q.l3_offset + 12..q.l3_offset + 20
        };
        let hash = bank.tz.hash2(&f[addrs], &f[q.l4_offset..q.l4_offset + 4]);
        assert!(backends.contains(&d.outer.dst), "{}", d.outer.dst);
        seen.insert(d.outer.dst);
        match d.outer.src {
            IpAddr::V4(a) => assert_eq!(a.octets()[..2], [172, 16]),
            IpAddr::V6(a) => {
                assert_eq!(a.segments()[..4], [0x100, 0, 0, 0]);
                // Host bits from the hash: receivers' RSS sees the flow.
                assert_eq!(a.segments()[7], hash as u16);
            }
        }
        let gue = d.tunnel == Tunnel::Gue;
        assert_eq!(gue, i % 2 == 1);
        if gue {
            assert_eq!(d.outer.sport, 0xc000 | (hash as u16 & 0x3fff));
            assert_eq!(d.outer.dport, GUE_PORT);
        }
        if d.outer.ipv6 {
            assert_eq!(d.flow_label, hash & 0xf_ffff);
        }
        assert_eq!(d.outer.vlan, q.vlan);
        assert_eq!(
            d.inner_packet(&out),
            Some(&f[q.l3_offset..q.l3_offset + q.l3_len])
        );
        checked(&out);
    }
    assert_eq!(seen.len(), 4, "every backend, both families, used: {seen:?}");
    // Too big for max_frame 600 once encapsulated: not forwarded; the
    // client (DF set) is told the MTU that fits its backend's tunnel.
    let big = tcp("198.51.100.1", 9, "192.0.2.10", 80, 0x02, 600 - 54 - 10);
    let answer = m.process(&big, 5_000_000).expect("answered").to_vec();
    assert_eq!(m.counters().get(Counter::DropTooBig), 1);
    assert_eq!(m.counters().get(Counter::IcmpTooBigSent), 1);
    checked(&answer);
    let a = p(&answer);
    let inner = a.icmp_error.expect("an ICMP error");
    assert_eq!((a.src, a.dst), (ip("192.0.2.10"), ip("198.51.100.1")));
    assert_eq!((inner.src, inner.dport), (ip("198.51.100.1"), 80));
    assert_eq!(&answer[..6], &big[6..12], "back to the router it came from");
    assert_eq!(answer[a.l4_offset..a.l4_offset + 2], [3, 4]);
    let mtu = u16::from_be_bytes([answer[a.l4_offset + 6], answer[a.l4_offset + 7]]) as usize;
    // The flow's conntrack entry says which backend, so which outer header.
    let small = tcp("198.51.100.1", 9, "192.0.2.10", 80, 0x10, 10);
    let fwd = m.process(&small, 5_000_001).expect("forwarded").to_vec();
    let outer = if decap(&fwd, GUE_PORT).unwrap().outer.ipv6 {
        40
    } else {
        20
    };
    assert_eq!(mtu, 600 - 14 - outer);
    // A packet of exactly that size fits once encapsulated.
    let fits = tcp("198.51.100.1", 9, "192.0.2.10", 80, 0x10, mtu - 40);
    assert_eq!(m.process(&fits, 5_000_002).expect("fits").len(), 600);
    // A VLAN tag travels with the tunnelled frame: 4 bytes less for the
    // client's packet; the answer keeps the tag.
    let tagged_big = tagged(&big, &[(0x8100, 0x0123)]);
    let answer = m.process(&tagged_big, 5_000_002).expect("answered").to_vec();
    checked(&answer);
    assert_eq!(answer[12..16], [0x81, 0x00, 0x01, 0x23]);
    let a = p(&answer);
    let tmtu = u16::from_be_bytes([answer[a.l4_offset + 6], answer[a.l4_offset + 7]]) as usize;
    assert_eq!(tmtu, mtu - 4);
    // Without DF: not answered (the device does not fragment).
    let mut nodf = big.clone();
    nodf[20] &= !0x40;
    let c = hw_model::packet::checksum::ipv4_header(&nodf[14..34]);
    nodf[24..26].copy_from_slice(&c.to_be_bytes());
    assert!(m.process(&nodf, 5_000_003).is_none());
    assert_eq!(m.counters().get(Counter::DropTooBig), 3);
    assert_eq!(m.counters().get(Counter::IcmpTooBigSent), 2);
}

fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u16>(),
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(v6, is_tcp, a, b, sp, dp, data, zero_csum, tags)| {
            // Not to the GUE port: the oracle would take it for a tunnel.
            let dp = if dp == GUE_PORT { dp + 1 } else { dp };
            let mut f = l4_frame(v6, is_tcp, a, b, sp, dp, &data);
            if zero_csum && !v6 && !is_tcp {
                f[40..42].fill(0);
            }
            let t: &[(u16, u16)] = match tags {
                0 => &[],
                1 => &[(0x8100, 3)],
                _ => &[(0x88a8, 4), (0x8100, 5)],
            };
            tagged(&f, t)
        })
}

proptest! {
    /// NAT (both ways) of random TCP/UDP packets keeps every checksum valid
    /// by etherparse's computation; an IPv4 UDP packet without checksum
    /// keeps none.
    #[test]
    fn nat_keeps_checksums_valid(f in arb_frame(), a in any::<[u8; 16]>(), port in any::<u16>(), keep_port in any::<bool>()) {
        let q = p(&f);
        let new = if q.ipv6 { IpAddr::from(a) } else { IpAddr::from(<[u8; 4]>::try_from(&a[..4]).unwrap()) };
        let port = (!keep_port).then_some(port);
        let mut out = Vec::new();
        rewrite::nat_forward(&f, &q, new, port, BE_MAC, DEV_MAC, 9216, &mut out).unwrap();
        checked(&out);
        let r = p(&out);
        prop_assert_eq!((r.dst, r.dport), (new, port.unwrap_or(q.dport)));
        rewrite::nat_reverse(&f, &q, new, port.unwrap_or(1), BE_MAC, DEV_MAC, 9216, &mut out).unwrap();
        checked(&out);
        let r = p(&out);
        prop_assert_eq!((r.src, r.sport), (new, port.unwrap_or(1)));
        let c = q.l4_offset + 6;
        if !q.ipv6 && q.proto == 17 && f[c..c + 2] == [0, 0] {
            prop_assert_eq!(&out[c..c + 2], &[0u8, 0][..]);
        }
    }

    /// Encapsulation round trip on random packets: the decoder finds the
    /// original IP packet and the outer ends given.
    #[test]
    fn encap_decap_round_trip(f in arb_frame(), outer6 in any::<bool>(), gue in any::<bool>(), label in any::<u32>()) {
        let q = p(&f);
        let (s, d) = tunnel_ends(outer6);
        let mut out = Vec::new();
        if gue {
            rewrite::encap_gue(&f, &q, &Outer { src: s, dst: d, flow_label: 0, dst_mac: BE_MAC, src_mac: DEV_MAC }, 0xc000 | (label as u16 & 0x3fff), GUE_PORT, 9216, &mut out).unwrap();
        } else {
            rewrite::encap_ipip(&f, &q, &Outer { src: s, dst: d, flow_label: label, dst_mac: BE_MAC, src_mac: DEV_MAC }, 9216, &mut out).unwrap();
        }
        checked(&out);
        let dc = decap(&out, GUE_PORT).unwrap();
        prop_assert_eq!((dc.outer.src, dc.outer.dst), (s, d));
        prop_assert_eq!(dc.inner_packet(&out), Some(&f[q.l3_offset..q.l3_offset + q.l3_len]));
        prop_assert_eq!((dc.inner.src, dc.inner.dst, dc.inner.sport, dc.inner.dport), (q.src, q.dst, q.sport, q.dport));
    }
}
