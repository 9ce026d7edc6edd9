//! The parser stage: one pass over the headers, no allocation, every
//! malformed input a typed error with a reason the device counts.
//!
//! Decisions: the IPv4 header checksum is not verified (as in Katran; the
//! backend's stack checks it, and a load balancer must not silently become
//! a filter); frames may carry Ethernet padding beyond the IP length; at
//! most two VLAN tags and eight IPv6 extension headers are walked; the
//! parser sees the first `PARSE_WINDOW` (256) bytes of a frame (the header
//! window of the hardware's receive path), and a header it must read that
//! ends past them is `ExtHeaderChain`.

use super::headers::{ethernet, ipv4, ipv6, tcp, udp, Short};
use lbnic_contract::target::regs::{ParseReason, PARSE_WINDOW};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Fragment position of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frag {
    None,
    /// Offset 0 with more fragments: carries the L4 header.
    First,
    /// Offset > 0: no L4 header.
    Later,
}

/// The flow inside an ICMP error: the packet the error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inner {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// Offset of the quoted TCP/UDP header from the quoted IP header (which
    /// follows the 8-byte ICMP header), past any IPv6 extension headers, so
    /// a NAT rewrite of the quote needs no second walk.
    pub l4_offset: usize,
}

/// What the pipeline needs from the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    /// TCI (PCP, DEI, VID) of the outer VLAN tag.
    pub vlan: Option<u16>,
    /// Bytes of Ethernet header including tags.
    pub l2_len: usize,
    pub l3_offset: usize,
    pub ipv6: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// L4 protocol after extension headers.
    pub proto: u8,
    /// IP header + payload as the IP header says (padding excluded).
    pub l3_len: usize,
    pub l4_offset: usize,
    pub frag: Frag,
    /// Datagram identification of a fragment (IPv4: the 16-bit
    /// identification; IPv6: the fragment header's 32-bit one); 0 for a
    /// whole packet.
    pub frag_id: u32,
    /// 0 for later fragments and ICMP.
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    pub icmp_error: Option<Inner>,
    /// IPv4 TOS byte, IPv6 traffic class (DSCP/ECN): what a tunnel copies
    /// to its outer header.
    pub tos: u8,
    /// IPv4 don't-fragment flag; true for IPv6 (which routers never
    /// fragment): what a tunnel's outer IPv4 header copies.
    pub df: bool,
}

/// Why a frame was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not IP (ethertype {0:#06x})")]
    NotIp(u16),
    #[error("L4 protocol {0} is not TCP, UDP or an ICMP error")]
    UnsupportedL4(u8),
    #[error("ICMP type {0} is not an error message")]
    IcmpNotError(u8),
    #[error("ICMP error about a protocol-{0} packet or a later fragment, which is not routed by ports")]
    UnsupportedInner(u8),
    #[error("truncated at byte {at} (need {need})")]
    Truncated { at: usize, need: usize },
    #[error("IP version {0}")]
    BadIpVersion(u8),
    #[error("IPv4 header length {0}")]
    BadIhl(usize),
    #[error("IP length {claimed} does not fit the {have} bytes present")]
    BadLength { claimed: usize, have: usize },
    #[error("IPv6 extension header chain too long or malformed")]
    ExtHeaderChain,
    #[error("UDP length {0}")]
    BadUdpLength(usize),
    #[error("TCP data offset {0}")]
    BadTcpOffset(usize),
    #[error("ICMP error with a malformed inner packet")]
    BadInner,
}

impl ParseError {
    /// The counter reason; `None` for frames that are simply not
    /// load-balancer traffic (they take the no-VIP path).
    pub fn reason(&self) -> Option<ParseReason> {
        Some(match self {
            ParseError::NotIp(_)
            | ParseError::UnsupportedL4(_)
            | ParseError::IcmpNotError(_)
            | ParseError::UnsupportedInner(_) => return None,
            ParseError::Truncated { .. } => ParseReason::Truncated,
            ParseError::BadIpVersion(_) => ParseReason::BadIpVersion,
            ParseError::BadIhl(_) => ParseReason::BadIhl,
            ParseError::BadLength { .. } => ParseReason::BadLength,
            ParseError::ExtHeaderChain => ParseReason::ExtHeaderChain,
            ParseError::BadUdpLength(_) => ParseReason::BadUdpLength,
            ParseError::BadTcpOffset(_) => ParseReason::BadTcpOffset,
            ParseError::BadInner => ParseReason::BadInner,
        })
    }
}

fn short(base: usize) -> impl Fn(Short) -> ParseError {
    move |s| ParseError::Truncated {
        at: base + s.have,
        need: base + s.need,
    }
}

/// IPv6 extension headers walked before giving up (`ExtHeaderChain`).
pub const MAX_EXT: usize = 8;
/// VLAN tags (802.1Q / 802.1ad) walked; a third tag leaves a VLAN
/// ethertype, which is not IP.
pub const MAX_VLAN: usize = 2;

/// Why an extension-header walk stopped short.
enum ExtErr {
    /// A 9th header, or hop-by-hop not first.
    Chain,
    /// A header cut by `end`.
    Truncated { at: usize, need: usize },
    /// A header's first 8 bytes end past the parser's window.
    Window,
}

/// Walk IPv6 extension headers from `nh` at `b[off..end]`, `b[0]` being
/// byte `base` of the frame and the parser seeing the frame's first `win`
/// bytes. Returns (protocol, L4 offset, fragment position, fragment
/// identification).
fn ipv6_ext(
    b: &[u8],
    mut nh: u8,
    mut off: usize,
    end: usize,
    base: usize,
    win: usize,
) -> Result<(u8, usize, Frag, u32), ExtErr> {
    let mut frag = Frag::None;
    let mut id = 0;
    for i in 0..=MAX_EXT {
        match nh {
            ipv6::HOP_BY_HOP | ipv6::ROUTING | ipv6::DEST_OPTS | ipv6::AH | ipv6::FRAGMENT => {
                if i == MAX_EXT || (nh == ipv6::HOP_BY_HOP && i != 0) {
                    return Err(ExtErr::Chain);
                }
                if off + 8 > end {
                    return Err(ExtErr::Truncated {
                        at: end,
                        need: off + 8,
                    });
                }
                if base + off + 8 > win {
                    return Err(ExtErr::Window);
                }
                let len = match nh {
                    ipv6::FRAGMENT => {
                        let fo = u16::from_be_bytes([b[off + 2], b[off + 3]]);
                        frag = if fo >> 3 != 0 {
                            Frag::Later
                        } else if fo & 1 != 0 {
                            Frag::First
                        } else {
                            frag
                        };
                        if frag != Frag::None {
                            id = u32::from_be_bytes(b[off + 4..off + 8].try_into().expect("4"));
                        }
                        8
                    }
                    ipv6::AH => (b[off + 1] as usize + 2) * 4,
                    _ => (b[off + 1] as usize + 1) * 8,
                };
                if off + len > end {
                    return Err(ExtErr::Truncated {
                        at: end,
                        need: off + len,
                    });
                }
                nh = b[off];
                off += len;
                if frag == Frag::Later {
                    return Ok((nh, off, frag, id));
                }
            }
            _ => return Ok((nh, off, frag, id)),
        }
    }
    Err(ExtErr::Chain)
}

/// `ExtHeaderChain` when a header read at frame bytes `..end` ends past the
/// parser's window of `win` bytes.
#[inline]
fn in_window(end: usize, win: usize) -> Result<(), ParseError> {
    if end > win {
        Err(ParseError::ExtHeaderChain)
    } else {
        Ok(())
    }
}

/// The flow of an ICMP error's inner packet at `b[off..end]`: a quoted IP
/// header and at least the 4 port bytes of its TCP/UDP header (the rest of
/// the quote may be cut short, as routers do). A quoted header that ends
/// past the window (`win`) is `ExtHeaderChain`, as outside the quote.
fn inner(b: &[u8], off: usize, end: usize, v6: bool, win: usize) -> Result<Inner, ParseError> {
    let bad = |_| ParseError::BadInner;
    let body = b.get(off..end).ok_or(ParseError::BadInner)?;
    let (src, dst, proto, l4, later) = if v6 {
        let h = ipv6::Header::new_checked(body).map_err(bad)?;
        in_window(off + ipv6::field::HEADER_LEN, win)?;
        if h.version() != 6 {
            return Err(ParseError::BadInner);
        }
        let (p, l4, frag, _) =
            ipv6_ext(body, h.next_header(), 40, body.len(), off, win).map_err(|e| match e {
                ExtErr::Window => ParseError::ExtHeaderChain,
                _ => ParseError::BadInner,
            })?;
        (
            IpAddr::V6(Ipv6Addr::from(h.src())),
            IpAddr::V6(Ipv6Addr::from(h.dst())),
            p,
            l4,
            frag == Frag::Later,
        )
    } else {
        let h = ipv4::Header::new_checked(body).map_err(bad)?;
        in_window(off + ipv4::field::MIN_LEN, win)?;
        if h.version() != 4 || h.header_len() < 20 || h.header_len() > body.len() {
            return Err(ParseError::BadInner);
        }
        (
            IpAddr::V4(Ipv4Addr::from(h.src())),
            IpAddr::V4(Ipv4Addr::from(h.dst())),
            h.proto(),
            h.header_len(),
            h.frag_offset() != 0,
        )
    };
    // A well-formed quote of something the balancer does not route by
    // ports: not load-balancer traffic, not a malformed frame.
    if !matches!(proto, 6 | 17) || later {
        return Err(ParseError::UnsupportedInner(proto));
    }
    if l4 + 4 > body.len() {
        return Err(ParseError::BadInner);
    }
    in_window(off + l4 + 4, win)?;
    Ok(Inner {
        src,
        dst,
        proto,
        sport: u16::from_be_bytes([body[l4], body[l4 + 1]]),
        dport: u16::from_be_bytes([body[l4 + 2], body[l4 + 3]]),
        l4_offset: l4,
    })
}

impl Default for Parsed {
    fn default() -> Self {
        Parsed {
            dst_mac: [0; 6],
            src_mac: [0; 6],
            vlan: None,
            l2_len: 0,
            l3_offset: 0,
            ipv6: false,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            proto: 0,
            l3_len: 0,
            l4_offset: 0,
            frag: Frag::None,
            frag_id: 0,
            sport: 0,
            dport: 0,
            tcp_flags: 0,
            icmp_error: None,
            tos: 0,
            df: false,
        }
    }
}

/// Parse a frame (without FCS).
pub fn parse(f: &[u8]) -> Result<Parsed, ParseError> {
    let mut p = Parsed::default();
    parse_into(f, &mut p)?;
    Ok(p)
}

/// The Ethernet header and up to [`MAX_VLAN`] tags: (TCI of the outer tag,
/// L2 length, ethertype).
#[inline]
pub(crate) fn parse_l2(f: &[u8]) -> Result<(Option<u16>, usize, u16), ParseError> {
    let eth = ethernet::Frame::new_checked(f).map_err(short(0))?;
    let mut et = eth.ethertype();
    let mut l2 = ethernet::field::HEADER_LEN;
    let mut vlan = None;
    for _ in 0..MAX_VLAN {
        if et != ethernet::VLAN && et != ethernet::QINQ {
            break;
        }
        if f.len() < l2 + 4 {
            return Err(ParseError::Truncated {
                at: f.len(),
                need: l2 + 4,
            });
        }
        vlan.get_or_insert(u16::from_be_bytes([f[l2], f[l2 + 1]]));
        et = u16::from_be_bytes([f[l2 + 2], f[l2 + 3]]);
        l2 += 4;
    }
    Ok((vlan, l2, et))
}

/// The IP layer at `f[l3..]`, `f` ending where the enclosing packet ends
/// (the frame for the outer packet; a tunnel's payload for an inner one).
#[inline]
///
/// `win`: the bytes of `f` the parser sees (`PARSE_WINDOW` for a frame;
/// `usize::MAX` for the tunnel decoder, which is no hardware).
pub(crate) fn parse_l3(f: &[u8], l3: usize, v6: bool, p: &mut Parsed, win: usize) -> Result<(), ParseError> {
    let rest = f.get(l3..).unwrap_or_default();
    let (src, dst, proto, l3_len, l4, frag, frag_id, tos, df) = if !v6 {
        let h = ipv4::Header::new_checked(rest).map_err(short(l3))?;
        if h.version() != 4 {
            return Err(ParseError::BadIpVersion(h.version()));
        }
        let hl = h.header_len();
        if hl < 20 {
            return Err(ParseError::BadIhl(hl));
        }
        if hl > rest.len() {
            return Err(ParseError::Truncated {
                at: f.len(),
                need: l3 + hl,
            });
        }
        let tl = h.total_len();
        if tl < hl || tl > rest.len() {
            return Err(ParseError::BadLength {
                claimed: tl,
                have: rest.len(),
            });
        }
        let frag = if h.frag_offset() != 0 {
            Frag::Later
        } else if h.more_frags() {
            Frag::First
        } else {
            Frag::None
        };
        (
            IpAddr::V4(Ipv4Addr::from(h.src())),
            IpAddr::V4(Ipv4Addr::from(h.dst())),
            h.proto(),
            tl,
            l3 + hl,
            frag,
            if frag == Frag::None { 0 } else { h.ident() as u32 },
            h.tos(),
            h.flags_frag() & ipv4::DF != 0,
        )
    } else {
        let h = ipv6::Header::new_checked(rest).map_err(short(l3))?;
        if h.version() != 6 {
            return Err(ParseError::BadIpVersion(h.version()));
        }
        let tl = 40 + h.payload_len();
        if h.payload_len() == 0 || tl > rest.len() {
            return Err(ParseError::BadLength {
                claimed: tl,
                have: rest.len(),
            });
        }
        let (proto, l4, frag, id) =
            ipv6_ext(f, h.next_header(), l3 + 40, l3 + tl, 0, win).map_err(|e| match e {
                ExtErr::Chain | ExtErr::Window => ParseError::ExtHeaderChain,
                ExtErr::Truncated { at, need } => ParseError::Truncated { at, need },
            })?;
        (
            IpAddr::V6(Ipv6Addr::from(h.src())),
            IpAddr::V6(Ipv6Addr::from(h.dst())),
            proto,
            tl,
            l4,
            frag,
            id,
            h.traffic_class(),
            true,
        )
    };
    p.l3_offset = l3;
    p.ipv6 = v6;
    p.src = src;
    p.dst = dst;
    p.proto = proto;
    p.l3_len = l3_len;
    p.l4_offset = l4;
    p.frag = frag;
    p.frag_id = frag_id;
    p.sport = 0;
    p.dport = 0;
    p.tcp_flags = 0;
    p.icmp_error = None;
    p.tos = tos;
    p.df = df;
    Ok(())
}

/// The L4 header of a packet whose IP layer `p` holds; `win` as for
/// [`parse_l3`]: a fixed TCP / UDP / ICMP header, or the quote of an ICMP
/// error through its port bytes, ending past it is `ExtHeaderChain` (checked
/// after the header's own truncation check, before any of its fields).
#[inline]
pub(crate) fn parse_l4(f: &[u8], p: &mut Parsed, win: usize) -> Result<(), ParseError> {
    let (proto, l4, end) = (p.proto, p.l4_offset, p.l3_offset + p.l3_len);
    if p.frag == Frag::Later {
        if !matches!(proto, 6 | 17) {
            return Err(ParseError::UnsupportedL4(proto));
        }
        return Ok(());
    }
    let seg = &f[l4..end];
    match proto {
        6 => {
            let t = tcp::Header::new_checked(seg).map_err(short(l4))?;
            in_window(l4 + tcp::field::MIN_LEN, win)?;
            let hl = t.header_len();
            if hl < 20 || hl > seg.len() {
                return Err(ParseError::BadTcpOffset(hl));
            }
            p.sport = t.src_port();
            p.dport = t.dst_port();
            p.tcp_flags = t.flags();
        }
        17 => {
            let u = udp::Header::new_checked(seg).map_err(short(l4))?;
            in_window(l4 + udp::field::HEADER_LEN, win)?;
            let ul = u.length();
            if ul < 8 || (p.frag == Frag::None && ul > seg.len()) {
                return Err(ParseError::BadUdpLength(ul));
            }
            p.sport = u.src_port();
            p.dport = u.dst_port();
        }
        1 | 58 if (proto == 1) != p.ipv6 => {
            if seg.len() < 8 {
                return Err(ParseError::Truncated {
                    at: end,
                    need: l4 + 8,
                });
            }
            in_window(l4 + 8, win)?;
            let ty = seg[0];
            let is_err = if p.ipv6 {
                (1..=4).contains(&ty)
            } else {
                matches!(ty, 3 | 11 | 12)
            };
            if !is_err {
                return Err(ParseError::IcmpNotError(ty));
            }
            p.icmp_error = Some(inner(f, l4 + 8, end, p.ipv6, win)?);
        }
        other => return Err(ParseError::UnsupportedL4(other)),
    }
    Ok(())
}

/// [`parse`] into a caller's `Parsed` (the pipeline keeps one per packet
/// slot, so the hot path copies no header summary around). On error `p`
/// holds whatever was parsed before the failure.
pub fn parse_into(f: &[u8], p: &mut Parsed) -> Result<(), ParseError> {
    let (vlan, l2, et) = parse_l2(f)?;
    let v6 = match et {
        ethernet::IPV4 => false,
        ethernet::IPV6 => true,
        other => return Err(ParseError::NotIp(other)),
    };
    p.dst_mac = f[ethernet::field::DST].try_into().expect("6");
    p.src_mac = f[ethernet::field::SRC].try_into().expect("6");
    p.vlan = vlan;
    p.l2_len = l2;
    parse_l3(f, l2, v6, p, PARSE_WINDOW)?;
    parse_l4(f, p, PARSE_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv6 + one destination-options header of `ext` bytes + a
    /// 20-byte TCP SYN to port 443.
    fn v6_tcp_after_ext(ext: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&ethernet::IPV6.to_be_bytes());
        let payload = ext + 20;
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(payload as u16).to_be_bytes());
        ip.extend_from_slice(&[ipv6::DEST_OPTS, 64]);
        ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(8));
        f.extend_from_slice(&ip);
        let mut e = vec![0u8; ext];
        e[0] = 6;
        e[1] = (ext / 8 - 1) as u8;
        f.extend_from_slice(&e);
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&443u16.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = 0x02;
        f.extend_from_slice(&t);
        f
    }

    #[test]
    fn headers_past_the_window_are_ext_header_chain() {
        // 14 + 40 + 184 = 238: the TCP header ends at 258, past the window.
        let f = v6_tcp_after_ext(184);
        assert_eq!(parse(&f), Err(ParseError::ExtHeaderChain));
        assert_eq!(parse(&f).unwrap_err().reason(), Some(ParseReason::ExtHeaderChain));
        // 8 bytes less: the TCP header ends at byte 250, inside it.
        let p = parse(&v6_tcp_after_ext(176)).expect("inside the window");
        assert_eq!(
            (p.l4_offset, p.sport, p.dport, p.tcp_flags),
            (230, 40000, 443, 0x02)
        );
        // A cut frame is truncated before the window is looked at.
        let f = v6_tcp_after_ext(184);
        assert!(matches!(
            parse(&f[..f.len() - 1]),
            Err(ParseError::BadLength { .. })
        ));
    }
}
