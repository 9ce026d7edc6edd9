//! The parser on valid frames of every kind it claims to handle, checked
//! field by field and against etherparse as an independent reader.

mod common;

use common::*;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use hw_model::packet::{parse, Frag, Inner, ParseError, Parsed};
use proptest::prelude::*;
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ok(f: &[u8]) -> Parsed {
    match parse(f) {
        Ok(p) => {
            // Every offset lies inside the frame.
            assert!(p.l3_offset == p.l2_len && p.l4_offset <= p.l3_offset + p.l3_len);
            assert!(p.l3_offset + p.l3_len <= f.len());
            p
        }
        Err(e) => panic!("{e} ({e:?}) for {f:02x?}"),
    }
}

/// Addresses, protocol and ports as etherparse reads them.
fn etherparse_view(f: &[u8]) -> (IpAddr, IpAddr, u8, u16, u16) {
    let s = SlicedPacket::from_ethernet(f).expect("etherparse reads it");
    let (src, dst, proto) = match s.net.expect("IP") {
        NetSlice::Ipv4(v) => (
            IpAddr::from(v.header().source()),
            IpAddr::from(v.header().destination()),
            v.payload_ip_number().0,
        ),
        NetSlice::Ipv6(v) => (
            IpAddr::from(v.header().source()),
            IpAddr::from(v.header().destination()),
            v.payload().ip_number.0,
        ),
    };
    let (sp, dp) = match s.transport {
        Some(TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port()),
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port()),
        _ => (0, 0),
    };
    (src, dst, proto, sp, dp)
}

fn same_as_etherparse(f: &[u8]) {
    let p = ok(f);
    assert_eq!(
        (p.src, p.dst, p.proto, p.sport, p.dport),
        etherparse_view(f),
        "{f:02x?}"
    );
}

#[test]
fn ipv4_tcp() {
    let f = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 10);
    let p = ok(&f);
    assert_eq!(p.dst_mac, DEV_MAC);
    assert_eq!(p.src_mac, CLIENT_MAC);
    assert_eq!((p.vlan, p.l2_len, p.l3_offset, p.l4_offset), (None, 14, 14, 34));
    assert!(!p.ipv6);
    assert_eq!((p.src, p.dst), (ip("198.51.100.7"), ip("192.0.2.10")));
    assert_eq!((p.proto, p.sport, p.dport, p.tcp_flags), (6, 40000, 80, 0x02));
    assert_eq!(p.l3_len, 20 + 20 + 10);
    assert_eq!(p.frag, Frag::None);
    assert_eq!(p.icmp_error, None);
    same_as_etherparse(&f);
}

#[test]
fn ipv4_udp_and_ipv6_tcp_udp() {
    let f = udp("203.0.113.5", 5353, "192.0.2.53", 53, 30);
    let p = ok(&f);
    assert_eq!((p.proto, p.sport, p.dport, p.l3_len), (17, 5353, 53, 20 + 8 + 30));
    same_as_etherparse(&f);

    let f = tcp("2001:db8:c::7", 40000, "2001:db8::10", 443, 0x10, 100);
    let p = ok(&f);
    assert!(p.ipv6);
    assert_eq!((p.l3_offset, p.l4_offset, p.l3_len), (14, 54, 40 + 20 + 100));
    assert_eq!((p.src, p.dst), (ip("2001:db8:c::7"), ip("2001:db8::10")));
    assert_eq!((p.proto, p.sport, p.dport, p.tcp_flags), (6, 40000, 443, 0x10));
    same_as_etherparse(&f);

    let f = udp("2001:db8:c::7", 1000, "2001:db8::53", 53, 0);
    let p = ok(&f);
    assert_eq!((p.proto, p.sport, p.dport, p.l3_len), (17, 1000, 53, 48));
    same_as_etherparse(&f);
}

#[test]
fn tcp_options_are_skipped_by_the_data_offset() {
    let mut f = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 12);
    // Turn 12 bytes of payload into TCP options (data offset 8).
    f[34 + 12] = 8 << 4;
    let p = ok(&f);
    assert_eq!((p.sport, p.dport), (40000, 80));
}

#[test]
fn one_vlan_tag_keeps_the_whole_tci() {
    // PCP 5, DEI 1, VID 100.
    let tci = (5 << 13) | (1 << 12) | 100;
    let f = tagged(
        &tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 0),
        &[(0x8100, tci)],
    );
    let p = ok(&f);
    assert_eq!(
        (p.vlan, p.l2_len, p.l3_offset, p.l4_offset),
        (Some(tci), 18, 18, 38)
    );
    assert_eq!((p.sport, p.dport), (40000, 80));
    same_as_etherparse(&f);
}

#[test]
fn qinq_s_tag_then_c_tag() {
    let f = tagged(
        &udp("2001:db8:c::7", 1000, "2001:db8::53", 53, 4),
        &[(0x88a8, 300), (0x8100, 42)],
    );
    let p = ok(&f);
    // The outer (service) tag is the one reported.
    assert_eq!(
        (p.vlan, p.l2_len, p.l3_offset, p.l4_offset),
        (Some(300), 22, 22, 62)
    );
    assert_eq!((p.sport, p.dport), (1000, 53));
    same_as_etherparse(&f);
    // etherparse's own QinQ builder gives the same frame layout.
    let mut g = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC)
        .double_vlan(300.try_into().unwrap(), 42.try_into().unwrap())
        .ipv4([198, 51, 100, 7], [192, 0, 2, 10], 64)
        .tcp(1, 80, 0, 1000)
        .write(&mut g, &[])
        .unwrap();
    assert_eq!(&g[12..14], &[0x88, 0xa8]);
    assert_eq!(ok(&g).vlan, Some(300));
}

#[test]
fn a_third_vlan_tag_is_not_ip() {
    let f = tagged(
        &tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 0),
        &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)],
    );
    let e = parse(&f).unwrap_err();
    assert_eq!(e, ParseError::NotIp(0x8100));
    assert_eq!(e.reason(), None);
}

#[test]
fn ipv4_options_every_ihl() {
    let base = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x10, 5);
    for words in 1..=10usize {
        // NOP options, then End of Options.
        let mut opts = vec![1u8; words * 4];
        *opts.last_mut().unwrap() = 0;
        let f = ipv4_with_options(&base, &opts);
        let p = ok(&f);
        assert_eq!(p.l4_offset, 14 + 20 + words * 4, "IHL {}", 5 + words);
        assert_eq!(p.l3_len, 20 + words * 4 + 20 + 5);
        assert_eq!((p.sport, p.dport, p.tcp_flags), (40000, 80, 0x10));
        same_as_etherparse(&f);
    }
}

#[test]
fn ipv6_extension_headers_before_tcp() {
    let base = tcp("2001:db8:c::7", 40000, "2001:db8::10", 443, 0x02, 8);
    let f = ipv6_with_ext(&base, &[Ext::HopByHop(8), Ext::DestOpts(16), Ext::Routing(24)]);
    let p = ok(&f);
    assert_eq!(p.l4_offset, 54 + 8 + 16 + 24);
    assert_eq!(p.l3_len, 40 + 48 + 20 + 8);
    assert_eq!((p.proto, p.sport, p.dport, p.tcp_flags), (6, 40000, 443, 0x02));
    assert_eq!(p.frag, Frag::None);
    same_as_etherparse(&f);

    // Destination options after routing (RFC 8200 order) and AH.
    let f = ipv6_with_ext(
        &base,
        &[Ext::HopByHop(8), Ext::Routing(8), Ext::Auth(16), Ext::DestOpts(8)],
    );
    let p = ok(&f);
    assert_eq!(p.l4_offset, 54 + 40);
    assert_eq!((p.sport, p.dport), (40000, 443));
    same_as_etherparse(&f);

    // Exactly the limit of eight is walked.
    let eight = [Ext::DestOpts(8); 8];
    let p = ok(&ipv6_with_ext(&base, &eight));
    assert_eq!((p.l4_offset, p.sport), (54 + 64, 40000));
}

#[test]
fn ipv4_first_fragment_has_ports_later_ones_do_not() {
    let base = tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x10, 64);
    let first = ipv4_fragment(&base, 14, 0, true);
    let p = ok(&first);
    assert_eq!(p.frag, Frag::First);
    assert_eq!((p.proto, p.sport, p.dport), (6, 40000, 80));

    for off in [1u16, 3, 185, 0x1fff] {
        for more in [true, false] {
            let later = ipv4_fragment(&base, 14, off, more);
            let p = ok(&later);
            assert_eq!(p.frag, Frag::Later, "offset {off}");
            assert_eq!((p.proto, p.sport, p.dport, p.tcp_flags), (6, 0, 0, 0));
            assert_eq!((p.src, p.dst), (ip("198.51.100.7"), ip("192.0.2.10")));
        }
    }
    // A later fragment's payload is not a header: garbage there is fine.
    let mut later = ipv4_fragment(&udp("203.0.113.5", 1, "192.0.2.53", 53, 8), 14, 2, false);
    later[34..42].fill(0);
    assert_eq!(ok(&later).frag, Frag::Later);
    // UDP first fragment: the UDP length covers the whole datagram.
    let mut first = ipv4_fragment(&udp("203.0.113.5", 1, "192.0.2.53", 53, 8), 14, 0, true);
    first[38..40].copy_from_slice(&3000u16.to_be_bytes());
    assert_eq!((ok(&first).frag, ok(&first).dport), (Frag::First, 53));
    // A later fragment of anything but TCP/UDP is not balancer traffic.
    let mut icmp = ipv4_fragment(&base, 14, 4, false);
    icmp[23] = 1;
    fix_ipv4_csum(&mut icmp, 14);
    assert_eq!(parse(&icmp).unwrap_err(), ParseError::UnsupportedL4(1));
}

#[test]
fn ipv6_fragment_header_first_and_later() {
    let base = udp("2001:db8:c::7", 5000, "2001:db8::53", 53, 40);
    let first = ipv6_with_ext(
        &base,
        &[Ext::Fragment {
            offset8: 0,
            more: true,
        }],
    );
    let p = ok(&first);
    assert_eq!(
        (p.frag, p.proto, p.sport, p.dport, p.l4_offset),
        (Frag::First, 17, 5000, 53, 62)
    );

    let later = ipv6_with_ext(
        &base,
        &[
            Ext::HopByHop(8),
            Ext::Fragment {
                offset8: 100,
                more: false,
            },
        ],
    );
    let p = ok(&later);
    assert_eq!((p.frag, p.proto, p.sport, p.dport), (Frag::Later, 17, 0, 0));
    // The offset after the fragment header, even though no header is there.
    assert_eq!(p.l4_offset, 54 + 16);

    // An atomic fragment (offset 0, no more fragments) is a whole packet.
    let atomic = ipv6_with_ext(
        &base,
        &[Ext::Fragment {
            offset8: 0,
            more: false,
        }],
    );
    let p = ok(&atomic);
    assert_eq!((p.frag, p.sport), (Frag::None, 5000));
}

/// A VIP -> client packet of the kind an ICMP error quotes.
fn quoted_v4() -> Vec<u8> {
    ip_packet(&tcp("192.0.2.10", 80, "198.51.100.7", 40000, 0x12, 20)).to_vec()
}
fn quoted_v6() -> Vec<u8> {
    ip_packet(&udp("2001:db8::53", 53, "2001:db8:c::7", 5000, 20)).to_vec()
}

#[test]
fn icmpv4_errors_carry_the_inner_flow() {
    let want = Inner {
        src: ip("192.0.2.10"),
        dst: ip("198.51.100.7"),
        proto: 6,
        sport: 80,
        dport: 40000,
        l4_offset: 20,
    };
    for (ty, code) in [(3u8, 1u8), (3, 4), (11, 0), (12, 0)] {
        // Routers quote the IP header and at least 8 bytes (RFC 792).
        for quote in [28, 40, 60] {
            let f = icmp_error("203.0.113.1", "192.0.2.10", ty, code, &quoted_v4(), quote);
            let p = ok(&f);
            assert_eq!((p.proto, p.sport, p.dport), (1, 0, 0));
            assert_eq!(p.icmp_error, Some(want), "type {ty} quote {quote}");
            assert_eq!(p.dst, ip("192.0.2.10"));
        }
    }
    // A quoted header with options.
    let inner = ip_packet(&ipv4_with_options(
        &udp("192.0.2.53", 53, "203.0.113.9", 7000, 10),
        &[1, 1, 1, 0],
    ))
    .to_vec();
    let f = icmp_error("203.0.113.1", "192.0.2.53", 3, 3, &inner, 32);
    assert_eq!(
        ok(&f).icmp_error,
        Some(Inner {
            src: ip("192.0.2.53"),
            dst: ip("203.0.113.9"),
            proto: 17,
            sport: 53,
            dport: 7000,
            // The quoted header's 4 option bytes count.
            l4_offset: 24,
        })
    );
}

#[test]
fn icmpv6_errors_carry_the_inner_flow() {
    let want = Inner {
        src: ip("2001:db8::53"),
        dst: ip("2001:db8:c::7"),
        proto: 17,
        sport: 53,
        dport: 5000,
        l4_offset: 40,
    };
    for ty in 1..=4u8 {
        let f = icmp_error("2001:db8:ffff::1", "2001:db8::53", ty, 0, &quoted_v6(), 48);
        let p = ok(&f);
        assert_eq!((p.proto, p.sport, p.dport, p.ipv6), (58, 0, 0, true));
        assert_eq!(p.icmp_error, Some(want), "type {ty}");
    }
    // The inner packet's extension headers are walked too.
    let base = tcp("2001:db8::10", 443, "2001:db8:c::7", 40000, 0x10, 0);
    let inner = ip_packet(&ipv6_with_ext(&base, &[Ext::HopByHop(8), Ext::DestOpts(8)])).to_vec();
    let f = icmp_error("2001:db8:ffff::1", "2001:db8::10", 2, 0, &inner, 80);
    let p = ok(&f);
    assert_eq!(
        p.icmp_error.map(|i| (i.proto, i.sport, i.dport, i.l4_offset)),
        Some((6, 443, 40000, 40 + 16))
    );
}

#[test]
fn icmp_echo_and_non_error_types_are_not_balancer_traffic() {
    for (src, dst, ty) in [
        ("198.51.100.7", "192.0.2.10", 8u8),
        ("198.51.100.7", "192.0.2.10", 0),
        ("198.51.100.7", "192.0.2.10", 5), // redirect
        ("2001:db8:c::7", "2001:db8::10", 128),
        ("2001:db8:c::7", "2001:db8::10", 135), // neighbour solicitation
    ] {
        let f = icmp_error(src, dst, ty, 0, &[0; 8], 8);
        let e = parse(&f).unwrap_err();
        assert_eq!(e, ParseError::IcmpNotError(ty));
        assert_eq!(e.reason(), None, "no-VIP path, not a parse error");
    }
    // ICMPv6 inside IPv4 (and ICMPv4 inside IPv6) is just another protocol.
    let mut f = icmp_error("198.51.100.7", "192.0.2.10", 3, 0, &quoted_v4(), 28);
    f[23] = 58;
    fix_ipv4_csum(&mut f, 14);
    assert_eq!(parse(&f).unwrap_err(), ParseError::UnsupportedL4(58));
}

#[test]
fn icmp_error_about_a_packet_not_routed_by_ports() {
    // An error about an ICMP echo, and about a later fragment: well formed,
    // but nothing the balancer routes.
    let echo = icmp_error("192.0.2.10", "198.51.100.7", 8, 0, &[0; 8], 8);
    let f = icmp_error("203.0.113.1", "192.0.2.10", 3, 1, ip_packet(&echo), 28);
    let e = parse(&f).unwrap_err();
    assert_eq!((e, e.reason()), (ParseError::UnsupportedInner(1), None));

    let frag = ipv4_fragment(&tcp("192.0.2.10", 80, "198.51.100.7", 1, 0, 20), 14, 3, false);
    let f = icmp_error("203.0.113.1", "192.0.2.10", 11, 1, ip_packet(&frag), 48);
    let e = parse(&f).unwrap_err();
    assert_eq!((e, e.reason()), (ParseError::UnsupportedInner(6), None));

    let base = udp("2001:db8::53", 53, "2001:db8:c::7", 1, 20);
    let frag = ipv6_with_ext(
        &base,
        &[Ext::Fragment {
            offset8: 9,
            more: true,
        }],
    );
    let f = icmp_error("2001:db8:ffff::1", "2001:db8::53", 3, 0, ip_packet(&frag), 70);
    assert_eq!(parse(&f).unwrap_err(), ParseError::UnsupportedInner(17));
}

#[test]
fn ethernet_padding_beyond_the_ip_length() {
    for f in [
        tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 0),
        udp("203.0.113.5", 5353, "192.0.2.53", 53, 0),
        udp("2001:db8:c::7", 1000, "2001:db8::53", 53, 0),
    ] {
        for pad in [1usize, 6, 100] {
            let g = padded(&f, pad);
            let p = ok(&g);
            assert_eq!(p.l3_len, ip_packet(&f).len(), "padding is not IP payload");
            assert_eq!(parse(&f).unwrap().sport, p.sport);
        }
    }
    // UDP length shorter than the IP payload (trailing bytes): accepted.
    let mut f = udp("203.0.113.5", 5353, "192.0.2.53", 53, 20);
    f[38..40].copy_from_slice(&12u16.to_be_bytes());
    assert_eq!(ok(&f).dport, 53);
}

proptest! {
    /// Our parser and etherparse agree on every TCP/UDP frame etherparse
    /// builds: tags, families, payload sizes, padding.
    #[test]
    fn parser_agrees_with_etherparse(
        v6 in any::<bool>(),
        is_tcp in any::<bool>(),
        tags in 0usize..3,
        tci in any::<[u16; 2]>(),
        a in any::<[u8; 16]>(),
        b in any::<[u8; 16]>(),
        sport in any::<u16>(),
        dport in any::<u16>(),
        payload in 0usize..300,
        pad in 0usize..40,
    ) {
        let f = l4_frame(v6, is_tcp, a, b, sport, dport, &vec![7u8; payload]);
        let tagv: Vec<(u16, u16)> = match tags {
            0 => vec![],
            1 => vec![(0x8100, tci[0])],
            _ => vec![(0x88a8, tci[0]), (0x8100, tci[1])],
        };
        let f = padded(&tagged(&f, &tagv), pad);
        let p = ok(&f);
        prop_assert_eq!((p.src, p.dst, p.proto, p.sport, p.dport), etherparse_view(&f));
        prop_assert_eq!(p.vlan, tagv.first().map(|t| t.1));
        prop_assert_eq!(p.l3_offset, 14 + 4 * tagv.len());
    }
}
