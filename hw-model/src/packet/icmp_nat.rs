//! NAT of ICMP errors about NAT flows, so path-MTU discovery and
//! unreachables work through a NAT VIP (RFC 5508 §4.2; IPVS
//! `ip_vs_nat_icmp`): the quoted packet is rewritten the way its flow is,
//! and the outer header so the error reaches the host that sent the quoted
//! packet, as that host sent it.
//!
//! Every checksum is updated incrementally (RFC 1624), as hardware does:
//! the outer IPv4 header, the quoted IPv4 header, the quoted TCP/UDP
//! checksum when its bytes are in the quote (IPv4 UDP checksum 0 stays 0;
//! IPVS leaves the quoted L4 checksum stale, netfilter updates it, and a
//! host may verify it), and the ICMP checksum, which for ICMPv6 includes the
//! outer addresses (pseudo-header). A checksum that was wrong stays wrong,
//! so the receiver still drops a damaged error.

use super::checksum::{update, update16};
use super::headers::{ipv4, ipv6, tcp, udp};
use super::parse::{Inner, Parsed};
use super::rewrite::{addr_offsets, copy_l2, get16, octets, put16, RewriteError};
use std::net::IpAddr;

/// Which way an ICMP error about a NAT flow crosses the balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// From the client's side, about a reply the balancer sent (VIP ->
    /// client): the outer destination and the quoted source become the
    /// backend's (IPVS "in", `ip_vs_in_icmp`).
    ToBackend,
    /// From the backend's side, about a forwarded packet (client ->
    /// backend): the outer source and the quoted destination become the
    /// VIP's (IPVS "out", `ip_vs_out_icmp`), whoever sent the error.
    ToClient,
}

/// Translate the ICMP error in `frame` (parsed as `p`, quoting `inner`):
/// the address `addr` replaces the outer destination and quoted source
/// ([`Way::ToBackend`]) or the outer source and quoted destination
/// ([`Way::ToClient`]); `port`, if given, the quoted source or destination
/// port. The result goes to `dst_mac` from `src_mac`.
#[allow(clippy::too_many_arguments)]
pub fn nat_icmp(
    frame: &[u8],
    p: &Parsed,
    inner: &Inner,
    way: Way,
    addr: IpAddr,
    port: Option<u16>,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    if addr.is_ipv6() != p.ipv6 {
        return Err(RewriteError::Family(addr));
    }
    copy_l2(frame, p, dst_mac, src_mac, max, out)?;
    let (a, n) = octets(addr);
    let new = &a[..n];
    let end = p.l3_offset + p.l3_len;
    let icmp_csum = p.l4_offset + 2;
    let il3 = p.l4_offset + 8;
    let (osrc, odst) = addr_offsets(p);
    let (isrc, idst) = if p.ipv6 {
        (il3 + ipv6::field::SRC.start, il3 + ipv6::field::DST.start)
    } else {
        (il3 + ipv4::field::SRC.start, il3 + ipv4::field::DST.start)
    };
    let il4 = il3 + inner.l4_offset;
    let (outer_at, inner_at, port_at) = match way {
        Way::ToBackend => (odst, isrc, il4),
        Way::ToClient => (osrc, idst, il4 + 2),
    };
    let mut ic = get16(out, icmp_csum);

    // Outer address: in the IPv4 header checksum, or (ICMPv6) in the
    // pseudo-header of the ICMP checksum.
    let old_outer = replace(out, outer_at, new);
    if p.ipv6 {
        ic = update(ic, &old_outer[..n], new);
    } else {
        let at = p.l3_offset + ipv4::field::CHECKSUM;
        let c = update(get16(out, at), &old_outer[..n], new);
        put16(out, at, c);
    }

    // Quoted address (and the quoted IPv4 header's checksum).
    let old_inner = replace(out, inner_at, new);
    ic = update(ic, &old_inner[..n], new);
    if !p.ipv6 {
        ic = patch16(out, il3 + ipv4::field::CHECKSUM, ic, |c| {
            update(c, &old_inner[..n], new)
        });
    }

    // Quoted port and L4 checksum (pseudo-header address and port), when
    // the quote holds the checksum.
    let l4_csum = quoted_l4_csum(out, inner.proto, il4, end);
    if let Some(v) = port {
        let old = get16(out, port_at);
        ic = patch16(out, port_at, ic, |_| v);
        if let Some(at) = l4_csum {
            ic = patch16(out, at, ic, |c| update16(c, old, v));
        }
    }
    if let Some(at) = l4_csum {
        ic = patch16(out, at, ic, |c| {
            let c = update(c, &old_inner[..n], new);
            // RFC 768: a computed 0 is sent as all ones.
            if inner.proto == 17 && c == 0 {
                0xffff
            } else {
                c
            }
        });
    }
    put16(out, icmp_csum, ic);
    Ok(())
}

/// Write `new` at `at`, returning the bytes it replaced.
fn replace(out: &mut [u8], at: usize, new: &[u8]) -> [u8; 16] {
    let mut old = [0u8; 16];
    old[..new.len()].copy_from_slice(&out[at..at + new.len()]);
    out[at..at + new.len()].copy_from_slice(new);
    old
}

/// Rewrite the 16-bit word at `at` with `f(old)`, returning the ICMP
/// checksum `ic` updated for the change (the word lies in the ICMP message
/// at an even offset from its start).
fn patch16(out: &mut [u8], at: usize, ic: u16, f: impl FnOnce(u16) -> u16) -> u16 {
    let old = get16(out, at);
    let v = f(old);
    put16(out, at, v);
    update16(ic, old, v)
}

/// Offset of the checksum of the quoted TCP/UDP header at `l4` if the
/// quote (ending at `end`) holds it and it is in use (UDP 0: none was
/// computed).
fn quoted_l4_csum(out: &[u8], proto: u8, l4: usize, end: usize) -> Option<usize> {
    let at = l4
        + match proto {
            6 => tcp::field::CHECKSUM,
            17 => udp::field::CHECKSUM,
            _ => return None,
        };
    (at + 2 <= end && (proto == 6 || get16(out, at) != 0)).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::checksum::{fold, pseudo, sum};
    use crate::packet::parse;
    use etherparse::{IpNumber, PacketBuilder, SlicedPacket};

    const DEV: [u8; 6] = [2, 0, 0x5e, 0, 0, 1];
    const PEER: [u8; 6] = [2, 0xc1, 0, 0, 0, 1];
    const BE_MAC: [u8; 6] = [2, 0xbe, 0, 0, 0, 1];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A TCP or UDP IP packet (no Ethernet), checksums valid.
    fn l4_packet(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
        let b = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 60),
            (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 60),
            _ => unreachable!(),
        };
        let mut v = Vec::new();
        if proto == 6 {
            b.tcp(sport, dport, 7, 1000)
                .ack(9)
                .write(&mut v, payload)
                .unwrap();
        } else {
            b.udp(sport, dport).write(&mut v, payload).unwrap();
        }
        v
    }

    /// An ICMP error frame (`ty`, `code`, 4 bytes of `rest`) from `src` to
    /// `dst` quoting the first `quote` bytes of `inner`, checksums valid.
    fn icmp_frame(
        src: IpAddr,
        dst: IpAddr,
        ty: u8,
        code: u8,
        rest: u32,
        inner: &[u8],
        quote: usize,
    ) -> Vec<u8> {
        let mut m = vec![ty, code, 0, 0];
        m.extend_from_slice(&rest.to_be_bytes());
        m.extend_from_slice(&inner[..quote.min(inner.len())]);
        let b = PacketBuilder::ethernet2(PEER, DEV);
        let mut f = Vec::new();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let c = !fold(sum(0, &m));
                m[2..4].copy_from_slice(&c.to_be_bytes());
                b.ipv4(s.octets(), d.octets(), 64)
                    .write(&mut f, IpNumber::ICMP, &m)
                    .unwrap();
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let c = !fold(sum(pseudo(&s.octets(), &d.octets(), 58, m.len() as u32), &m));
                m[2..4].copy_from_slice(&c.to_be_bytes());
                b.ipv6(s.octets(), d.octets(), 64)
                    .write(&mut f, IpNumber::IPV6_ICMP, &m)
                    .unwrap();
            }
            _ => unreachable!(),
        }
        f
    }

    fn addr16(a: IpAddr) -> Vec<u8> {
        match a {
            IpAddr::V4(v) => v.octets().to_vec(),
            IpAddr::V6(v) => v.octets().to_vec(),
        }
    }

    /// Every checksum of a translated frame, verified from scratch: (outer
    /// IPv4 header, ICMP, quoted IPv4 header, quoted L4 if all of the quoted
    /// segment is there). Parsed with etherparse, independently of ours.
    fn verify(f: &[u8]) -> (IpAddr, IpAddr, Vec<u8>) {
        let s = SlicedPacket::from_ethernet(f).expect("etherparse reads the result");
        let (src, dst, ip_payload): (IpAddr, IpAddr, &[u8]) = match s.net.expect("IP") {
            etherparse::NetSlice::Ipv4(v) => {
                let h = v.header();
                assert_eq!(fold(sum(0, h.slice())), 0xffff, "outer IPv4 header checksum");
                (
                    IpAddr::V4(h.source_addr()),
                    IpAddr::V4(h.destination_addr()),
                    v.payload().payload,
                )
            }
            etherparse::NetSlice::Ipv6(v) => (
                IpAddr::V6(v.header().source_addr()),
                IpAddr::V6(v.header().destination_addr()),
                v.payload().payload,
            ),
        };
        let icmp_sum = if src.is_ipv6() {
            sum(
                pseudo(&addr16(src), &addr16(dst), 58, ip_payload.len() as u32),
                ip_payload,
            )
        } else {
            sum(0, ip_payload)
        };
        assert_eq!(fold(icmp_sum), 0xffff, "ICMP checksum");
        let quote = ip_payload[8..].to_vec();
        if !src.is_ipv6() {
            let hl = (quote[0] & 15) as usize * 4;
            assert_eq!(fold(sum(0, &quote[..hl])), 0xffff, "quoted IPv4 header checksum");
        }
        (src, dst, quote)
    }

    /// The quoted packet when the whole of it is quoted: its L4 checksum
    /// verifies from scratch and the flow is as expected.
    fn verify_whole_quote(quote: &[u8], want: &[u8]) {
        assert_eq!(quote, want, "the quote is exactly the packet the host sent");
        let s = SlicedPacket::from_ip(quote).expect("quote parses");
        let (src, dst) = match s.net.as_ref().unwrap() {
            etherparse::NetSlice::Ipv4(v) => (
                v.header().source_addr().octets().to_vec(),
                v.header().destination_addr().octets().to_vec(),
            ),
            etherparse::NetSlice::Ipv6(v) => (
                v.header().source_addr().octets().to_vec(),
                v.header().destination_addr().octets().to_vec(),
            ),
        };
        let (proto, seg) = match s.net.as_ref().unwrap() {
            etherparse::NetSlice::Ipv4(v) => (v.payload().ip_number.0, v.payload().payload),
            etherparse::NetSlice::Ipv6(v) => (v.payload().ip_number.0, v.payload().payload),
        };
        assert_eq!(
            fold(sum(pseudo(&src, &dst, proto, seg.len() as u32), seg)),
            0xffff,
            "quoted L4 checksum"
        );
    }

    fn run(frame: &[u8], way: Way, addr: IpAddr, port: Option<u16>) -> Vec<u8> {
        let p = parse(frame).unwrap();
        let inner = p.icmp_error.expect("an ICMP error");
        let mut out = Vec::new();
        nat_icmp(frame, &p, &inner, way, addr, port, BE_MAC, DEV, 9216, &mut out).unwrap();
        assert_eq!(&out[..6], &BE_MAC);
        assert_eq!(&out[6..12], &DEV);
        out
    }

    /// Both families, TCP and UDP, with and without a port change, whole
    /// quotes: the translated quote is byte for byte the packet the
    /// receiving host sent, and every checksum verifies.
    #[test]
    fn whole_quotes_become_the_hosts_own_packets() {
        for (vip, client, backend, router) in [
            ("192.0.2.10", "198.51.100.7", "10.0.0.1", "203.0.113.1"),
            ("2001:db8::10", "2001:db8:c::7", "2001:db8:1::1", "2001:db8:ff::1"),
        ] {
            let (vip, client, backend, router) = (ip(vip), ip(client), ip(backend), ip(router));
            for proto in [6u8, 17] {
                for bport in [None, Some(8080)] {
                    let bp = bport.unwrap_or(80);
                    let payload: Vec<u8> = (0..37u8).collect();
                    // In: a reply the balancer sent (VIP -> client) bounced
                    // by a router on the client's side.
                    let sent = l4_packet(vip, 80, client, 40000, proto, &payload);
                    let orig = l4_packet(backend, bp, client, 40000, proto, &payload);
                    let f = icmp_frame(router, vip, 3, 4, 1400, &sent, sent.len());
                    let out = run(&f, Way::ToBackend, backend, bport);
                    let (s, d, quote) = verify(&out);
                    assert_eq!((s, d), (router, backend));
                    verify_whole_quote(&quote, &orig);
                    // Out: a forwarded packet (client -> backend) bounced by
                    // the backend or a router behind the balancer.
                    let fwd = l4_packet(client, 40000, backend, bp, proto, &payload);
                    let orig = l4_packet(client, 40000, vip, 80, proto, &payload);
                    for from in [backend, router] {
                        let f = icmp_frame(from, client, 3, 3, 0, &fwd, fwd.len());
                        let out = run(&f, Way::ToClient, vip, bport.map(|_| 80));
                        let (s, d, quote) = verify(&out);
                        assert_eq!((s, d), (vip, client), "the outer source is the VIP");
                        verify_whole_quote(&quote, &orig);
                    }
                }
            }
        }
    }

    /// Quotes cut short (RFC 792 routers send the IP header + 8 bytes, so
    /// a TCP checksum is outside): the translated quote is the start of the
    /// translated whole quote (checked from scratch above), the other
    /// checksums verify, and nothing is written past the quote.
    #[test]
    fn short_quotes_are_the_start_of_the_whole() {
        let (vip, client, backend) = (ip("192.0.2.10"), ip("198.51.100.7"), ip("10.0.0.1"));
        for proto in [6u8, 17] {
            let fwd = l4_packet(client, 40000, backend, 8080, proto, &[7; 30]);
            let whole = icmp_frame(backend, client, 3, 3, 0, &fwd, fwd.len());
            let (_, _, want) = verify(&run(&whole, Way::ToClient, vip, Some(80)));
            assert_eq!(want.len(), fwd.len());
            for quote in [24, 26, 28, 36, 38, 40] {
                let f = icmp_frame(backend, client, 3, 3, 0, &fwd, quote);
                let out = run(&f, Way::ToClient, vip, Some(80));
                assert_eq!(out.len(), f.len(), "nothing written past the quote");
                let (_, _, q) = verify(&out);
                assert_eq!(q, want[..quote], "{proto} quote {quote}");
            }
        }
    }

    /// A quote that ends inside the TCP checksum: the checksum is left as
    /// it is and nothing past the quote is written.
    #[test]
    fn a_checksum_cut_by_the_quote_is_left_alone() {
        let (vip, client, backend) = (ip("192.0.2.10"), ip("198.51.100.7"), ip("10.0.0.1"));
        let fwd = l4_packet(client, 40000, backend, 8080, 6, &[7; 30]);
        let f = icmp_frame(backend, client, 3, 3, 0, &fwd, 37);
        let out = run(&f, Way::ToClient, vip, Some(80));
        assert_eq!(out.len(), f.len());
        let (_, _, q) = verify(&out);
        assert_eq!(q[36], fwd[36]);
    }

    /// A translated UDP checksum that computes to 0 is sent as 0xffff
    /// (RFC 768), as the client's stack sent it.
    #[test]
    fn udp_checksum_zero_is_sent_as_all_ones() {
        let (vip, client, backend) = (ip("192.0.2.10"), ip("198.51.100.7"), ip("10.0.0.1"));
        // The payload word that makes the client's checksum compute to 0.
        let base = l4_packet(client, 40000, vip, 80, 17, &[0, 0]);
        let word = [base[26], base[27]];
        let orig = l4_packet(client, 40000, vip, 80, 17, &word);
        assert_eq!(&orig[26..28], &[0xff, 0xff]);
        let fwd = l4_packet(client, 40000, backend, 8080, 17, &word);
        let f = icmp_frame(backend, client, 3, 3, 0, &fwd, fwd.len());
        let (_, _, q) = verify(&run(&f, Way::ToClient, vip, Some(80)));
        verify_whole_quote(&q, &orig);
    }

    /// IPv4 UDP sent without a checksum (0) keeps none.
    #[test]
    fn udp_without_checksum_stays_without() {
        let (vip, client, backend) = (ip("192.0.2.10"), ip("198.51.100.7"), ip("10.0.0.1"));
        let mut fwd = l4_packet(client, 40000, backend, 8080, 17, &[9; 10]);
        fwd[26..28].copy_from_slice(&[0, 0]);
        let f = icmp_frame(backend, client, 3, 3, 0, &fwd, fwd.len());
        let out = run(&f, Way::ToClient, vip, Some(53));
        let (_, _, q) = verify(&out);
        assert_eq!(&q[26..28], &[0, 0]);
        assert_eq!(&q[22..24], &53u16.to_be_bytes());
    }

    /// A quoted IPv6 packet with extension headers: the port is found after
    /// them (IPVS assumes none).
    #[test]
    fn ipv6_quote_with_extension_headers() {
        let (vip, client, backend) = (ip("2001:db8::10"), ip("2001:db8:c::7"), ip("2001:db8:1::1"));
        let plain = l4_packet(client, 40000, backend, 8080, 6, &[5; 20]);
        // Insert an 8-byte destination-options header (next header TCP).
        let mut fwd = plain[..40].to_vec();
        fwd[6] = 60;
        fwd.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        fwd.extend_from_slice(&plain[40..]);
        let pl = u16::from_be_bytes([fwd[4], fwd[5]]) + 8;
        fwd[4..6].copy_from_slice(&pl.to_be_bytes());
        let f = icmp_frame(backend, client, 2, 0, 1280, &fwd, fwd.len());
        let out = run(&f, Way::ToClient, vip, Some(443));
        let (_, _, q) = verify(&out);
        assert_eq!(&q[24..40], &addr16(vip)[..]);
        assert_eq!(&q[48 + 2..48 + 4], &443u16.to_be_bytes());
        assert_eq!(
            &q[40..48],
            &[6, 0, 1, 4, 0, 0, 0, 0],
            "extension header untouched"
        );
    }

    #[test]
    fn wrong_family_and_too_big_are_refused() {
        let (vip, client, backend) = (ip("192.0.2.10"), ip("198.51.100.7"), ip("10.0.0.1"));
        let fwd = l4_packet(client, 40000, backend, 8080, 6, &[]);
        let f = icmp_frame(backend, client, 3, 3, 0, &fwd, 28);
        let p = parse(&f).unwrap();
        let inner = p.icmp_error.unwrap();
        let mut out = Vec::new();
        let v6 = ip("2001:db8::10");
        assert_eq!(
            nat_icmp(
                &f,
                &p,
                &inner,
                Way::ToClient,
                v6,
                None,
                BE_MAC,
                DEV,
                9216,
                &mut out
            ),
            Err(RewriteError::Family(v6))
        );
        assert!(matches!(
            nat_icmp(
                &f,
                &p,
                &inner,
                Way::ToClient,
                vip,
                None,
                BE_MAC,
                DEV,
                40,
                &mut out
            ),
            Err(RewriteError::TooBig { .. })
        ));
    }
}
