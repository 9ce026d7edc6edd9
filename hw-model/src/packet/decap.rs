//! Decoder for the encapsulations the pipeline emits (TUN mode): IP-in-IP
//! in either family (IPv4/IPv6 outer, protocol 4 or 41) and GUE variant 1
//! over UDP. A testbench uses it to attribute output frames to backends
//! (the outer destination) and to check that a tunnel carries the original
//! packet unchanged.
//!
//! Checked like the parser: a typed error for every frame it cannot
//! decode, never a panic, and every offset it returns lies inside the frame.

use super::headers::{ethernet, udp};
use super::parse::{parse_l2, parse_l3, parse_l4, Frag, ParseError, Parsed};

/// Which encapsulation a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    /// IP-in-IP: outer protocol / next header 4 (IPv4 inside) or 41 (IPv6).
    Ipip,
    /// GUE variant 1: outer UDP to the GUE port, the inner IP header right
    /// after the UDP header.
    Gue,
}

/// A decoded tunnel frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decap {
    pub tunnel: Tunnel,
    /// The outer headers: MACs, VLAN, addresses, `proto` 4/41/17; for GUE,
    /// `sport`/`dport` are the outer UDP ports and `l4_offset` the UDP header.
    pub outer: Parsed,
    /// IPv4 TTL or IPv6 hop limit of the outer header.
    pub ttl: u8,
    /// IPv4 TOS or IPv6 traffic class (DSCP and ECN) of the outer header.
    pub tos: u8,
    /// IPv4 DF of the outer header (false for an IPv6 outer header).
    pub df: bool,
    /// IPv6 flow label of the outer header (0 for IPv4).
    pub flow_label: u32,
    /// The inner packet, parsed like any frame the pipeline receives;
    /// `inner.l3_offset..inner.l3_offset + inner.l3_len` is the inner IP
    /// packet within the frame (its L2 fields are the outer frame's).
    pub inner: Parsed,
}

impl Decap {
    /// The inner IP packet's bytes in `frame` (the frame that was decoded).
    pub fn inner_packet<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        frame.get(self.inner.l3_offset..self.inner.l3_offset + self.inner.l3_len)
    }
}

/// Why a frame is not a tunnel frame this decoder understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecapError {
    #[error("outer headers: {0}")]
    Outer(ParseError),
    #[error("outer IP protocol {proto} is not IP-in-IP (4, 41) or UDP to the GUE port (dport {dport})")]
    NotTunnel { proto: u8, dport: u16 },
    #[error("outer IP packet is a fragment")]
    Fragmented,
    #[error("GUE payload starts with {0:#04x}: not variant 1 (an IPv4 or IPv6 header)")]
    GueVariant(u8),
    #[error("inner packet: {0}")]
    Inner(ParseError),
}

/// Decode an IPIP / IPv6-in-IPv6 / mixed-family or GUE (to UDP port
/// `gue_port`) frame.
pub fn decap(frame: &[u8], gue_port: u16) -> Result<Decap, DecapError> {
    let mut outer = Parsed::default();
    let (vlan, l2, et) = parse_l2(frame).map_err(DecapError::Outer)?;
    let v6 = match et {
        ethernet::IPV4 => false,
        ethernet::IPV6 => true,
        other => return Err(DecapError::Outer(ParseError::NotIp(other))),
    };
    outer.dst_mac = frame[ethernet::field::DST].try_into().expect("6");
    outer.src_mac = frame[ethernet::field::SRC].try_into().expect("6");
    outer.vlan = vlan;
    outer.l2_len = l2;
    parse_l3(frame, l2, v6, &mut outer, usize::MAX).map_err(DecapError::Outer)?;
    if outer.frag != Frag::None {
        return Err(DecapError::Fragmented);
    }
    // parse_l3 checked the fixed header is present.
    let ip = &frame[l2..];
    let (ttl, tos, df, flow_label) = if v6 {
        let w = u32::from_be_bytes([ip[0], ip[1], ip[2], ip[3]]);
        (ip[7], (w >> 20) as u8, false, w & 0xf_ffff)
    } else {
        let ff = u16::from_be_bytes([ip[6], ip[7]]);
        (ip[8], ip[1], ff & super::headers::ipv4::DF != 0, 0)
    };
    let end = outer.l3_offset + outer.l3_len;
    let (tunnel, inner_at, inner_end, inner_v6) = match outer.proto {
        4 | 41 => (Tunnel::Ipip, outer.l4_offset, end, outer.proto == 41),
        17 => {
            let l4 = outer.l4_offset;
            let u = udp::Header::new_checked(&frame[l4..end]).map_err(|s| {
                DecapError::Outer(ParseError::Truncated {
                    at: l4 + s.have,
                    need: l4 + s.need,
                })
            })?;
            outer.sport = u.src_port();
            outer.dport = u.dst_port();
            if outer.dport != gue_port {
                return Err(DecapError::NotTunnel {
                    proto: 17,
                    dport: outer.dport,
                });
            }
            let ul = u.length();
            if ul < 8 || ul > end - l4 {
                return Err(DecapError::Outer(ParseError::BadUdpLength(ul)));
            }
            let at = l4 + udp::field::HEADER_LEN;
            let v = match frame[at..l4 + ul].first() {
                Some(b) => b >> 4,
                None => return Err(DecapError::Inner(ParseError::Truncated { at, need: at + 1 })),
            };
            match v {
                4 | 6 => (Tunnel::Gue, at, l4 + ul, v == 6),
                _ => return Err(DecapError::GueVariant(frame[at])),
            }
        }
        p => return Err(DecapError::NotTunnel { proto: p, dport: 0 }),
    };
    let mut inner = Parsed {
        dst_mac: outer.dst_mac,
        src_mac: outer.src_mac,
        vlan,
        l2_len: l2,
        ..Parsed::default()
    };
    let payload = &frame[..inner_end];
    parse_l3(payload, inner_at, inner_v6, &mut inner, usize::MAX).map_err(DecapError::Inner)?;
    parse_l4(payload, &mut inner, usize::MAX).map_err(DecapError::Inner)?;
    Ok(Decap {
        tunnel,
        outer,
        ttl,
        tos,
        df,
        flow_label,
        inner,
    })
}
