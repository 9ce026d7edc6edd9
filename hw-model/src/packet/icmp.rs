//! Path MTU: the ICMP answer the pipeline sends back, in place of the frame,
//! when a packet would exceed the egress MTU once rewritten, as IPVS does
//! (`ip_vs_xmit.c`: `__mtu_check_toobig_v6` / the DF check before
//! `icmp_send(ICMP_FRAG_NEEDED)` / `icmpv6_send(ICMPV6_PKT_TOOBIG)`), and
//! the device's token bucket that limits how many leave.
//!
//! The answer goes from the address the client sent to (the VIP) to the
//! client, at L2 back to the frame's source MAC (the router it came from)
//! with the frame's VLAN tags; it quotes as much of the offending packet as
//! the RFCs allow (the whole ICMPv4 datagram within 576 bytes, RFC 1812
//! §4.3.2.3; ICMPv6 within the IPv6 minimum MTU, RFC 4443 §2.4(c)) and the
//! device's own `max_frame`.

use super::checksum;
use super::headers::ipv4;
use super::parse::{Frag, Parsed};
use super::rewrite::octets;
use std::net::IpAddr;

/// Smallest MTU an IPv4 link may have (RFC 791).
pub const V4_MIN_MTU: usize = 68;
/// Smallest MTU an IPv6 link may have (RFC 8200 §5).
pub const V6_MIN_MTU: usize = 1280;
/// Longest ICMPv4 error datagram (RFC 1812 §4.3.2.3).
pub const V4_MAX_ANSWER: usize = 576;
/// Longest ICMPv6 error packet (RFC 4443 §2.4(c)).
pub const V6_MAX_ANSWER: usize = 1280;
/// TTL / hop limit of an answer.
pub const TTL: u8 = 64;
/// IPv4 TOS of an answer: precedence "internetwork control" (CS6), as
/// Linux's `icmp_send` marks errors.
pub const TOS: u8 = 0xc0;
const ICMP_HEADER: usize = 8;

/// Why a packet too big to forward gets no answer (it is still dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unanswerable {
    /// The sender allows routers to fragment; the device does not
    /// fragment, and "fragmentation needed" would be a lie about DF.
    #[error("IPv4 without DF")]
    NoDf,
    /// ICMP errors are about first fragments only (RFC 1122 §3.2.2; IPVS
    /// answers neither family's later fragments).
    #[error("a later fragment")]
    LaterFragment,
    /// Never an ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4(e)).
    #[error("an ICMP error")]
    IcmpError,
    /// Not a host that can take an answer (RFC 1812 §4.3.2.7).
    #[error("source {0} is not a unicast host")]
    NotUnicast(IpAddr),
    /// The MTU the client would need is below its protocol's minimum: no
    /// host can be asked to go below it (IPVS drops these too).
    #[error("path MTU {mtu} is below the minimum {min}")]
    BelowMinimum { mtu: usize, min: usize },
}

fn unicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => !(v.is_unspecified() || v.is_broadcast() || v.is_multicast() || v.is_loopback()),
        IpAddr::V6(v) => !(v.is_unspecified() || v.is_multicast() || v.is_loopback()),
    }
}

/// Whether the sender of `p` (in `frame`) may be told that its packet
/// exceeds `mtu`, the largest IP packet that fits once rewritten.
pub fn answerable(frame: &[u8], p: &Parsed, mtu: usize) -> Result<(), Unanswerable> {
    if p.icmp_error.is_some() {
        return Err(Unanswerable::IcmpError);
    }
    if p.frag == Frag::Later {
        return Err(Unanswerable::LaterFragment);
    }
    if !p.ipv6 {
        let at = p.l3_offset + ipv4::field::FLAGS_FRAG;
        let flags = frame
            .get(at..at + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        if flags & ipv4::DF == 0 {
            return Err(Unanswerable::NoDf);
        }
    }
    if !unicast(p.src) {
        return Err(Unanswerable::NotUnicast(p.src));
    }
    let min = if p.ipv6 { V6_MIN_MTU } else { V4_MIN_MTU };
    if mtu < min {
        return Err(Unanswerable::BelowMinimum { mtu, min });
    }
    Ok(())
}

/// Write the too-big answer to the sender of `p` into `out`: ICMPv4 type 3
/// code 4 with next-hop MTU `mtu`, or ICMPv6 type 2 with MTU `mtu`. The
/// caller has checked [`answerable`]; `max` bounds the answer's frame.
pub fn too_big(frame: &[u8], p: &Parsed, mtu: usize, src_mac: [u8; 6], max: usize, out: &mut Vec<u8>) {
    let ip_len = if p.ipv6 { 40 } else { 20 };
    let limit = if p.ipv6 { V6_MAX_ANSWER } else { V4_MAX_ANSWER };
    let room = limit
        .min(max.saturating_sub(p.l2_len))
        .saturating_sub(ip_len + ICMP_HEADER);
    let quote = &frame[p.l3_offset..p.l3_offset + p.l3_len.min(room)];
    let icmp_len = ICMP_HEADER + quote.len();
    out.clear();
    out.extend_from_slice(&p.src_mac);
    out.extend_from_slice(&src_mac);
    // The frame's VLAN tags, then the ethertype of the (same) family.
    out.extend_from_slice(&frame[12..p.l2_len]);
    let ip = out.len();
    let ((s, n), (d, _)) = (octets(p.dst), octets(p.src));
    let (src, dst) = (&s[..n], &d[..n]);
    if p.ipv6 {
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        out.extend_from_slice(&(icmp_len as u16).to_be_bytes());
        out.extend_from_slice(&[58, TTL]);
        out.extend_from_slice(src);
        out.extend_from_slice(dst);
        out.extend_from_slice(&[2, 0, 0, 0]);
        out.extend_from_slice(&(mtu as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&[0x45, TOS]);
        out.extend_from_slice(&((20 + icmp_len) as u16).to_be_bytes());
        // Identification 0 with DF: an atomic datagram (RFC 6864).
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&ipv4::DF.to_be_bytes());
        out.extend_from_slice(&[TTL, 1, 0, 0]);
        out.extend_from_slice(src);
        out.extend_from_slice(dst);
        let c = checksum::ipv4_header(&out[ip..ip + 20]);
        out[ip + 10..ip + 12].copy_from_slice(&c.to_be_bytes());
        out.extend_from_slice(&[3, 4, 0, 0, 0, 0]);
        out.extend_from_slice(&(mtu.min(0xffff) as u16).to_be_bytes());
    }
    let icmp = ip + ip_len;
    out.extend_from_slice(quote);
    let acc = if p.ipv6 {
        checksum::pseudo(src, dst, 58, icmp_len as u32)
    } else {
        0
    };
    let c = !checksum::fold(checksum::sum(acc, &out[icmp..]));
    out[icmp + 2..icmp + 4].copy_from_slice(&c.to_be_bytes());
    if out.len() < 60 {
        out.resize(60, 0);
    }
}

/// One answer's cost in credit units (answers/s × µs).
const COST: u64 = 1_000_000;

/// The device-wide budget of too-big answers: a token bucket of `burst`
/// answers refilled at `rate` answers per second by the packets' ingress
/// time in conntrack ticks, taken in packet order at REWRITE. Integer
/// credit (answers/s × µs, one answer = 10⁶) makes it exact, so the
/// functional and cycle models, which both call it in packet order with
/// the packet's ingress tick, agree on every answer. Like Linux's
/// `icmp_global_allow` (`icmp_msgs_per_sec`, `icmp_msgs_burst`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    credit: u64,
    /// Tick of the last refill; `None`: full (nothing taken yet).
    last: Option<u32>,
    tick_us: u32,
    /// Never refuse (and leave the state alone): a sharded replay runs its
    /// shards so and applies the one device-wide budget when it merges
    /// their outputs back into packet order.
    pub unlimited: bool,
}

impl RateLimit {
    pub fn new(tick_us: u32) -> RateLimit {
        RateLimit {
            credit: 0,
            last: None,
            tick_us,
            unlimited: false,
        }
    }

    /// Back to a full bucket (device reset).
    pub fn reset(&mut self) {
        self.last = None;
        self.credit = 0;
    }

    /// Take one answer at device time `now` (ticks, non-decreasing) under
    /// `rate` answers/s and `burst`; false: suppress it. Rate 0 refuses all.
    pub fn take(&mut self, now: u32, rate: u32, burst: u32) -> bool {
        if self.unlimited {
            return true;
        }
        let cap = (burst as u64).saturating_mul(COST);
        self.credit = match self.last {
            None => cap,
            Some(last) => {
                let dt = now.saturating_sub(last) as u64;
                let add = dt.saturating_mul(rate as u64).saturating_mul(self.tick_us as u64);
                self.credit.saturating_add(add).min(cap)
            }
        };
        self.last = Some(now);
        if rate == 0 || self.credit < COST {
            return false;
        }
        self.credit -= COST;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse;
    use etherparse::{Icmpv4Type, Icmpv6Type, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

    const DEV: [u8; 6] = [2, 0, 0x5e, 0, 0, 1];
    const ROUTER: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];

    fn v4(len: usize, df: bool) -> Vec<u8> {
        let mut f = Vec::new();
        let b = PacketBuilder::ethernet2(ROUTER, DEV)
            .single_vlan(7.try_into().unwrap())
            .ipv4([198, 51, 100, 7], [192, 0, 2, 53], 50)
            .udp(40000, 53);
        let pay = vec![0xa5; len - b.size(0)];
        b.write(&mut f, &pay).unwrap();
        if !df {
            f[18 + 6] &= !0x40;
            let c = checksum::ipv4_header(&f[18..38]);
            f[28..30].copy_from_slice(&c.to_be_bytes());
        }
        f
    }

    fn v6(len: usize) -> Vec<u8> {
        let mut f = Vec::new();
        let b = PacketBuilder::ethernet2(ROUTER, DEV)
            .ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
                50,
            )
            .tcp(40000, 443, 1, 64240);
        let pay = vec![0x5a; len - b.size(0)];
        b.write(&mut f, &pay).unwrap();
        f
    }

    #[test]
    fn ipv4_answer_parses_with_valid_checksums_and_the_mtu() {
        let f = v4(1514, true);
        let p = parse(&f).unwrap();
        assert_eq!(answerable(&f, &p, 1472), Ok(()));
        let mut out = Vec::new();
        too_big(&f, &p, 1472, DEV, 1514, &mut out);
        let s = SlicedPacket::from_ethernet(&out).unwrap();
        let eth = s.link.as_ref().unwrap().to_header().unwrap();
        let eth = match eth {
            etherparse::LinkHeader::Ethernet2(e) => e,
            _ => panic!("ethernet"),
        };
        assert_eq!(eth.destination, ROUTER);
        assert_eq!(eth.source, DEV);
        match s.vlan.as_ref().unwrap().to_header() {
            etherparse::VlanHeader::Single(v) => assert_eq!(v.vlan_id.value(), 7),
            v => panic!("{v:?}"),
        }
        let Some(NetSlice::Ipv4(ip)) = &s.net else {
            panic!("ipv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.source, [192, 0, 2, 53]);
        assert_eq!(h.destination, [198, 51, 100, 7]);
        assert_eq!(h.time_to_live, TTL);
        assert!(h.dont_fragment);
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!(h.total_len as usize, V4_MAX_ANSWER, "as much as 576 bytes allow");
        let Some(TransportSlice::Icmpv4(icmp)) = &s.transport else {
            panic!("icmp")
        };
        match icmp.icmp_type() {
            Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
            ) => assert_eq!(next_hop_mtu, 1472),
            t => panic!("{t:?}"),
        }
        let hdr = icmp.header();
        assert_eq!(hdr.checksum, hdr.icmp_type.calc_checksum(icmp.payload()));
        // The quote starts with the offending packet's IP header.
        assert_eq!(icmp.payload(), &f[18..18 + 548]);
        assert_eq!(out.len(), 18 + 576);
    }

    #[test]
    fn ipv6_answer_parses_with_valid_checksum_and_the_mtu() {
        let f = v6(1514);
        let p = parse(&f).unwrap();
        assert_eq!(answerable(&f, &p, 1460), Ok(()));
        let mut out = Vec::new();
        too_big(&f, &p, 1460, DEV, 1514, &mut out);
        let s = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(NetSlice::Ipv6(ip)) = &s.net else {
            panic!("ipv6")
        };
        let h = ip.header().to_header();
        assert_eq!(IpAddr::from(h.source), p.dst);
        assert_eq!(IpAddr::from(h.destination), p.src);
        assert_eq!(h.hop_limit, TTL);
        assert_eq!(14 + 40 + h.payload_length as usize, out.len());
        assert_eq!(40 + h.payload_length as usize, V6_MAX_ANSWER);
        let Some(TransportSlice::Icmpv6(icmp)) = &s.transport else {
            panic!("icmpv6")
        };
        assert_eq!(icmp.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1460 });
        let hdr = icmp.header();
        let want = hdr
            .icmp_type
            .calc_checksum(h.source, h.destination, icmp.payload())
            .unwrap();
        assert_eq!(hdr.checksum, want);
        assert_eq!(icmp.payload(), &f[14..14 + 1232]);
    }

    #[test]
    fn small_max_frame_shortens_the_quote() {
        let f = v4(1514, true);
        let p = parse(&f).unwrap();
        let mut out = Vec::new();
        too_big(&f, &p, 100, DEV, 200, &mut out);
        assert_eq!(out.len(), 200);
        let s = SlicedPacket::from_ethernet(&out).unwrap();
        let Some(TransportSlice::Icmpv4(icmp)) = &s.transport else {
            panic!("icmp")
        };
        assert_eq!(
            icmp.header().checksum,
            icmp.header().icmp_type.calc_checksum(icmp.payload())
        );
    }

    #[test]
    fn who_is_not_answered() {
        let f = v4(1514, false);
        let p = parse(&f).unwrap();
        assert_eq!(answerable(&f, &p, 1472), Err(Unanswerable::NoDf));
        let f = v4(1514, true);
        let p = parse(&f).unwrap();
        assert_eq!(
            answerable(&f, &p, 60),
            Err(Unanswerable::BelowMinimum { mtu: 60, min: 68 })
        );
        let f = v6(1514);
        let p = parse(&f).unwrap();
        assert_eq!(
            answerable(&f, &p, 1279),
            Err(Unanswerable::BelowMinimum { mtu: 1279, min: 1280 })
        );
        assert_eq!(answerable(&f, &p, 1280), Ok(()));
        let mut later = p;
        later.frag = Frag::Later;
        assert_eq!(answerable(&f, &later, 1400), Err(Unanswerable::LaterFragment));
        let mut bcast = parse(&v4(1514, true)).unwrap();
        bcast.src = IpAddr::V4(std::net::Ipv4Addr::BROADCAST);
        assert!(matches!(
            answerable(&v4(1514, true), &bcast, 1400),
            Err(Unanswerable::NotUnicast(_))
        ));
    }

    #[test]
    fn bucket_allows_burst_then_rate_per_tick() {
        // 1 ms ticks, 1000/s: one token a tick, 5 back to back.
        let mut r = RateLimit::new(1000);
        let sent = (0..10).filter(|_| r.take(100, 1000, 5)).count();
        assert_eq!(sent, 5);
        assert!(r.take(101, 1000, 5));
        assert!(!r.take(101, 1000, 5));
        // 500/s: a token every second tick.
        let mut r = RateLimit::new(1000);
        assert!(r.take(0, 500, 1));
        assert!(!r.take(1, 500, 1));
        assert!(r.take(2, 500, 1));
        // A long pause refills only to the burst.
        assert_eq!((0..10).filter(|_| r.take(1_000_000, 500, 3)).count(), 3);
        // Rate 0: never.
        let mut r = RateLimit::new(1000);
        assert!(!r.take(0, 0, 50));
        r.unlimited = true;
        assert!(r.take(0, 0, 50));
    }
}
