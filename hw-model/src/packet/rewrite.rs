//! The forwarding modes' rewrites. Each writes the outgoing frame into a
//! caller-provided buffer (reused across packets) and refuses, as a counted
//! drop, a result longer than the device's largest frame.
//!
//! Encapsulations strip Ethernet padding (only the IP packet is carried) and
//! keep the frame's VLAN tags as they were (TPID and TCI, so QinQ stays
//! QinQ and the priority bits survive). GUE is variant 1 (draft-ietf-intarea-gue): the
//! inner IP header follows the UDP header directly, which its first two
//! bits (01) identify, as Katran emits it. Wireshark has no GUE dissector;
//! with `-d udp.port==PORT,ip` (or `ipv6`) tshark decodes the inner packet.

use super::checksum;
use super::headers::{ipv4, tcp, udp};
use super::parse::{Frag, Parsed};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("result of {len} bytes exceeds the {max}-byte frame limit")]
    TooBig { len: usize, max: usize },
    #[error("address family of {0} does not match the packet")]
    Family(IpAddr),
}

pub(super) fn octets(a: IpAddr) -> ([u8; 16], usize) {
    match a {
        IpAddr::V4(v) => {
            let mut o = [0u8; 16];
            o[..4].copy_from_slice(&v.octets());
            (o, 4)
        }
        IpAddr::V6(v) => (v.octets(), 16),
    }
}

/// Copy the frame up to the end of the IP packet (dropping padding) and
/// set the MACs.
pub(super) fn copy_l2(
    frame: &[u8],
    p: &Parsed,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    let end = p.l3_offset + p.l3_len;
    let keep = if frame.len() > end && end < 60 {
        frame.len().min(60)
    } else {
        end
    };
    if keep > max {
        return Err(RewriteError::TooBig { len: keep, max });
    }
    out.clear();
    out.extend_from_slice(&frame[..keep]);
    out[0..6].copy_from_slice(&dst_mac);
    out[6..12].copy_from_slice(&src_mac);
    Ok(())
}

/// DR: the same IP packet to the backend's MAC.
pub fn dr(
    frame: &[u8],
    p: &Parsed,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    copy_l2(frame, p, dst_mac, src_mac, max, out)
}

/// Offset of the L4 checksum field, if this packet carries one that must
/// be updated (not for later fragments, not for IPv4 UDP without checksum).
fn l4_csum_at(out: &[u8], p: &Parsed) -> Option<usize> {
    if p.frag == Frag::Later || p.icmp_error.is_some() {
        return None;
    }
    match p.proto {
        6 => Some(p.l4_offset + tcp::field::CHECKSUM),
        17 => {
            let at = p.l4_offset + udp::field::CHECKSUM;
            let c = u16::from_be_bytes([out[at], out[at + 1]]);
            (c != 0 || p.ipv6).then_some(at)
        }
        _ => None,
    }
}

pub(super) fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(super) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Replace the address at `addr_at` and the port at `port_at`, updating
/// the IPv4 header and L4 checksums incrementally (RFC 1624).
fn nat(out: &mut [u8], p: &Parsed, addr_at: usize, new: &[u8], port_at: Option<(usize, u16)>) {
    let old: Vec<u8> = out[addr_at..addr_at + new.len()].to_vec();
    out[addr_at..addr_at + new.len()].copy_from_slice(new);
    if !p.ipv6 {
        let at = p.l3_offset + ipv4::field::CHECKSUM;
        let hc = checksum::update(get16(out, at), &old, new);
        put16(out, at, hc);
    }
    if let Some(at) = l4_csum_at(out, p) {
        let mut c = checksum::update(get16(out, at), &old, new);
        if let Some((pat, port)) = port_at {
            c = checksum::update16(c, get16(out, pat), port);
        }
        if p.proto == 17 && c == 0 {
            c = 0xffff;
        }
        put16(out, at, c);
    }
    if let Some((pat, port)) = port_at {
        put16(out, pat, port);
    }
}

pub(super) fn addr_offsets(p: &Parsed) -> (usize, usize) {
    if p.ipv6 {
        (p.l3_offset + 8, p.l3_offset + 24)
    } else {
        (
            p.l3_offset + ipv4::field::SRC.start,
            p.l3_offset + ipv4::field::DST.start,
        )
    }
}

/// NAT towards a backend: destination address (and port).
#[allow(clippy::too_many_arguments)]
pub fn nat_forward(
    frame: &[u8],
    p: &Parsed,
    new_dst: IpAddr,
    new_dport: Option<u16>,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    if new_dst.is_ipv6() != p.ipv6 {
        return Err(RewriteError::Family(new_dst));
    }
    copy_l2(frame, p, dst_mac, src_mac, max, out)?;
    let (o, n) = octets(new_dst);
    let port = new_dport
        .filter(|_| p.frag != Frag::Later && matches!(p.proto, 6 | 17))
        .map(|v| (p.l4_offset + 2, v));
    nat(out, p, addr_offsets(p).1, &o[..n], port);
    Ok(())
}

/// NAT reply towards the client: source address (and port) back to the VIP.
#[allow(clippy::too_many_arguments)]
pub fn nat_reverse(
    frame: &[u8],
    p: &Parsed,
    new_src: IpAddr,
    new_sport: u16,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    if new_src.is_ipv6() != p.ipv6 {
        return Err(RewriteError::Family(new_src));
    }
    copy_l2(frame, p, dst_mac, src_mac, max, out)?;
    let (o, n) = octets(new_src);
    let port = (p.frag != Frag::Later && matches!(p.proto, 6 | 17)).then_some((p.l4_offset, new_sport));
    nat(out, p, addr_offsets(p).0, &o[..n], port);
    Ok(())
}

/// Ethernet header, with the input's VLAN tags, for an encapsulated frame.
fn l2_header(
    frame: &[u8],
    p: &Parsed,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    outer_v6: bool,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(&dst_mac);
    out.extend_from_slice(&src_mac);
    out.extend_from_slice(&frame[12..p.l2_len - 2]);
    out.extend_from_slice(&(if outer_v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
}

/// The outer headers of an encapsulation: addresses (one family), the
/// IPv6 flow label (RSS entropy for the receiver; unused for IPv4) and the
/// MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outer {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub flow_label: u32,
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
}

/// Outer IP header for `payload_len` bytes of `proto`.
fn outer_ip(out: &mut Vec<u8>, o: &Outer, proto: u8, payload_len: usize, tos: u8, df: bool) {
    match (o.src, o.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let start = out.len();
            out.extend_from_slice(&[0x45, tos]);
            out.extend_from_slice(&((20 + payload_len) as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(if df { ipv4::DF } else { 0 }).to_be_bytes());
            out.extend_from_slice(&[64, proto, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = checksum::ipv4_header(&out[start..start + 20]);
            out[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (s, d) => {
            let v = 0x6000_0000u32 | (tos as u32) << 20 | (o.flow_label & 0xf_ffff);
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(&(payload_len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, 64]);
            out.extend_from_slice(&octets6(s));
            out.extend_from_slice(&octets6(d));
        }
    }
}

fn octets6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(v) => v.octets(),
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
    }
}

/// The encapsulated frame fits `max`, and the outer IP packet its 16-bit
/// length field (which only a `max` beyond any real frame could allow).
fn check_len(p: &Parsed, outer: usize, outer_v6: bool, max: usize) -> Result<(), RewriteError> {
    let len = p.l2_len + outer + p.l3_len;
    let max = max.min(p.l2_len + 0xffff + if outer_v6 { 40 } else { 0 });
    if len > max {
        return Err(RewriteError::TooBig { len, max });
    }
    Ok(())
}

/// IP-in-IP: outer IPv4 (protocol 4 or 41) or IPv6 (next header 4 or 41)
/// in the family of the outer destination.
pub fn encap_ipip(
    frame: &[u8],
    p: &Parsed,
    o: &Outer,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    if o.src.is_ipv6() != o.dst.is_ipv6() {
        return Err(RewriteError::Family(o.src));
    }
    let o6 = o.dst.is_ipv6();
    check_len(p, if o6 { 40 } else { 20 }, o6, max)?;
    // The outer header copies the inner DSCP/ECN and DF (`Parsed` holds them).
    let (tos, df) = (p.tos, p.df);
    l2_header(frame, p, o.dst_mac, o.src_mac, o6, out);
    let proto = if p.ipv6 { 41 } else { 4 };
    outer_ip(out, o, proto, p.l3_len, tos, df);
    out.extend_from_slice(&frame[p.l3_offset..p.l3_offset + p.l3_len]);
    Ok(())
}

/// GUE (variant 1) over UDP to `dport`, from `sport`; the outer IPv6 flow
/// label carries the same entropy as for IP-in-IP.
pub fn encap_gue(
    frame: &[u8],
    p: &Parsed,
    o: &Outer,
    sport: u16,
    dport: u16,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    if o.src.is_ipv6() != o.dst.is_ipv6() {
        return Err(RewriteError::Family(o.src));
    }
    let o6 = o.dst.is_ipv6();
    check_len(p, if o6 { 48 } else { 28 }, o6, max)?;
    // The outer header copies the inner DSCP/ECN and DF (`Parsed` holds them).
    let (tos, df) = (p.tos, p.df);
    l2_header(frame, p, o.dst_mac, o.src_mac, o6, out);
    let ulen = 8 + p.l3_len;
    outer_ip(out, o, 17, ulen, tos, df);
    let u = out.len();
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&(ulen as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&frame[p.l3_offset..p.l3_offset + p.l3_len]);
    let (s, sn) = octets(o.src);
    let (d, dn) = octets(o.dst);
    let c = checksum::l4(&s[..sn], &d[..dn], 17, &out[u..]);
    out[u + 6..u + 8].copy_from_slice(&c.to_be_bytes());
    Ok(())
}
