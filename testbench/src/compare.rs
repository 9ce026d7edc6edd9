//! Golden compare, in the style of P4 STF / NetFPGA hardware tests: the
//! model's output against expected frames, packet by packet, with the first
//! differing byte, a decoded view of both frames, and masks for fields a
//! design may legitimately change (e.g. the IPv4 ID or the GUE source port).

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::fmt::Write;

/// A field (or byte range) excluded from the comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Mask {
    /// Bytes `start..end` of the frame.
    Bytes(usize, usize),
    /// A named header field, located per packet.
    Field(&'static str),
}

/// Field names `Mask::parse` accepts.
pub const FIELDS: &[&str] = &[
    "eth.src",
    "eth.dst",
    "ip.id",
    "ip.ttl",
    "ip.checksum",
    "ipv6.flowlabel",
    "ipv6.hoplimit",
    "l4.sport",
    "l4.checksum",
    "outer",
];

impl Mask {
    /// `eth.src`, `ip.id`, ... (see [`FIELDS`]) or a byte range `12..14`.
    pub fn parse(s: &str) -> Result<Mask, String> {
        if let Some((a, b)) = s.split_once("..") {
            let a: usize = a.trim().parse().map_err(|_| format!("bad byte range {s:?}"))?;
            let b: usize = b.trim().parse().map_err(|_| format!("bad byte range {s:?}"))?;
            if a >= b {
                return Err(format!("empty byte range {s:?}"));
            }
            return Ok(Mask::Bytes(a, b));
        }
        FIELDS
            .iter()
            .find(|f| **f == s)
            .map(|f| Mask::Field(f))
            .ok_or_else(|| {
                format!(
                    "unknown mask {s:?}; use a byte range (12..14) or one of {}",
                    FIELDS.join(", ")
                )
            })
    }

    /// Byte ranges of this mask within `frame`.
    fn ranges(&self, frame: &[u8]) -> Vec<(usize, usize)> {
        let l3 = l3_offset(frame);
        match (self, l3) {
            (Mask::Bytes(a, b), _) => vec![(*a, *b)],
            (Mask::Field("eth.dst"), _) => vec![(0, 6)],
            (Mask::Field("eth.src"), _) => vec![(6, 12)],
            (Mask::Field(f), Some((o, 4))) => match *f {
                "ip.id" => vec![(o + 4, o + 6)],
                "ip.ttl" => vec![(o + 8, o + 9)],
                "ip.checksum" => vec![(o + 10, o + 12)],
                "outer" => vec![(o, o + ihl(frame, o))],
                "l4.sport" => vec![(o + ihl(frame, o), o + ihl(frame, o) + 2)],
                "l4.checksum" => l4_csum(frame, o + ihl(frame, o), frame.get(o + 9).copied()),
                _ => vec![],
            },
            (Mask::Field(f), Some((o, 6))) => match *f {
                "ipv6.flowlabel" => vec![(o + 1, o + 4)],
                "ipv6.hoplimit" => vec![(o + 7, o + 8)],
                "outer" => vec![(o, o + 40)],
                "l4.sport" => vec![(o + 40, o + 42)],
                "l4.checksum" => l4_csum(frame, o + 40, frame.get(o + 6).copied()),
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

fn ihl(f: &[u8], o: usize) -> usize {
    f.get(o).map_or(20, |b| ((b & 0x0f) as usize * 4).max(20))
}

fn l4_csum(_f: &[u8], l4: usize, proto: Option<u8>) -> Vec<(usize, usize)> {
    match proto {
        Some(6) => vec![(l4 + 16, l4 + 18)],
        Some(17) => vec![(l4 + 6, l4 + 8)],
        _ => vec![],
    }
}

/// Offset and version of the (outer) IP header, after any VLAN tags.
fn l3_offset(f: &[u8]) -> Option<(usize, u8)> {
    let mut o = 12;
    loop {
        let et = u16::from_be_bytes([*f.get(o)?, *f.get(o + 1)?]);
        match et {
            0x8100 | 0x88a8 => o += 4,
            0x0800 => return Some((o + 2, 4)),
            0x86dd => return Some((o + 2, 6)),
            _ => return None,
        }
    }
}

/// One line per layer, for humans reading a diff.
pub fn decode(frame: &[u8]) -> String {
    let mut s = String::new();
    match SlicedPacket::from_ethernet(frame) {
        Err(e) => {
            let _ = write!(s, "undecodable ({e}), {} bytes", frame.len());
        }
        Ok(p) => {
            if let Some(etherparse::LinkSlice::Ethernet2(e)) = &p.link {
                let m = |a: [u8; 6]| a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
                let _ = write!(s, "eth {} -> {}", m(e.source()), m(e.destination()));
            }
            match &p.net {
                Some(NetSlice::Ipv4(ip)) => {
                    let h = ip.header();
                    let _ = write!(
                        s,
                        " | ipv4 {} -> {} proto {} ttl {} id {} len {}",
                        h.source_addr(),
                        h.destination_addr(),
                        h.protocol().0,
                        h.ttl(),
                        h.identification(),
                        h.total_len()
                    );
                }
                Some(NetSlice::Ipv6(ip)) => {
                    let h = ip.header();
                    let _ = write!(
                        s,
                        " | ipv6 {} -> {} next {} hop {} flow {:#x}",
                        h.source_addr(),
                        h.destination_addr(),
                        h.next_header().0,
                        h.hop_limit(),
                        h.flow_label().value()
                    );
                }
                _ => {}
            }
            match &p.transport {
                Some(TransportSlice::Tcp(t)) => {
                    let _ = write!(
                        s,
                        " | tcp {} -> {} flags {:#04x}",
                        t.source_port(),
                        t.destination_port(),
                        t.slice()[13]
                    );
                }
                Some(TransportSlice::Udp(u)) => {
                    let _ = write!(
                        s,
                        " | udp {} -> {} len {}",
                        u.source_port(),
                        u.destination_port(),
                        u.length()
                    );
                }
                _ => {}
            }
            let _ = write!(s, " | {} bytes", frame.len());
        }
    }
    s
}

/// How one packet differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PacketDiff {
    pub index: u64,
    /// First differing byte (unmasked), or the shorter length.
    pub first_byte: Option<usize>,
    pub got_len: usize,
    pub want_len: usize,
    pub got: String,
    pub want: String,
}

/// First unmasked byte where `got` and `want` differ; `None` if equal.
pub fn first_difference(got: &[u8], want: &[u8], masks: &[Mask]) -> Option<usize> {
    let mut masked = Vec::new();
    for m in masks {
        masked.extend(m.ranges(want));
        masked.extend(m.ranges(got));
    }
    let is_masked = |i: usize| masked.iter().any(|&(a, b)| (a..b).contains(&i));
    let n = got.len().min(want.len());
    (0..n)
        .find(|&i| got[i] != want[i] && !is_masked(i))
        .or((got.len() != want.len()).then_some(n))
}

/// Compare two streams of frames. Returns every differing packet (up to
/// `limit` decoded in full) and the counts.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Comparison {
    pub compared: u64,
    pub matched: u64,
    pub got_extra: u64,
    pub want_extra: u64,
    pub diffs: Vec<PacketDiff>,
    pub diff_count: u64,
}

impl Comparison {
    pub fn ok(&self) -> bool {
        self.diff_count == 0 && self.got_extra == 0 && self.want_extra == 0
    }

    pub fn push(
        &mut self,
        index: u64,
        got: Option<&[u8]>,
        want: Option<&[u8]>,
        masks: &[Mask],
        limit: usize,
    ) {
        match (got, want) {
            (Some(g), Some(w)) => {
                self.compared += 1;
                match first_difference(g, w, masks) {
                    None => self.matched += 1,
                    Some(b) => {
                        self.diff_count += 1;
                        if self.diffs.len() < limit {
                            self.diffs.push(PacketDiff {
                                index,
                                first_byte: Some(b),
                                got_len: g.len(),
                                want_len: w.len(),
                                got: decode(g),
                                want: decode(w),
                            });
                        }
                    }
                }
            }
            (Some(_), None) => self.got_extra += 1,
            (None, Some(_)) => self.want_extra += 1,
            (None, None) => {}
        }
    }
}

/// A hex view of `frame` around byte `at`, marking it.
pub fn hex_context(frame: &[u8], at: usize) -> String {
    let start = at.saturating_sub(8) & !7;
    let end = (at + 8).min(frame.len());
    let mut s = format!("{start:04x}:");
    for (i, b) in frame[start.min(frame.len())..end].iter().enumerate() {
        let mark = if start + i == at { "[" } else { " " };
        let _ = write!(s, "{mark}{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp(ttl: u8, sport: u16) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], ttl)
            .udp(sport, 53);
        let mut v = Vec::new();
        b.write(&mut v, &[7u8; 20]).unwrap();
        v
    }

    #[test]
    fn first_difference_and_masks() {
        let a = udp(64, 1000);
        assert_eq!(first_difference(&a, &a, &[]), None);
        let b = udp(63, 1000);
        // TTL is byte 14 + 8; the header checksum follows.
        assert_eq!(first_difference(&a, &b, &[]), Some(22));
        let m = [
            Mask::parse("ip.ttl").unwrap(),
            Mask::parse("ip.checksum").unwrap(),
        ];
        assert_eq!(first_difference(&a, &b, &m), None);
        let c = udp(64, 2000);
        let m = [
            Mask::parse("l4.sport").unwrap(),
            Mask::parse("l4.checksum").unwrap(),
        ];
        assert_eq!(first_difference(&a, &c, &m), None);
        assert_eq!(first_difference(&a, &a[..30], &[]), Some(30));
        assert_eq!(
            first_difference(&a, &b, &[Mask::parse("22..24").unwrap()]),
            Some(24)
        );
        assert!(Mask::parse("ip.bogus").is_err());
        assert!(Mask::parse("5..5").is_err());
    }

    #[test]
    fn decode_names_layers() {
        let s = decode(&udp(64, 1000));
        assert!(
            s.contains("ipv4 10.0.0.1 -> 10.0.0.2") && s.contains("udp 1000 -> 53"),
            "{s}"
        );
        assert!(decode(&[1, 2, 3]).contains("undecodable"));
        let h = hex_context(&udp(64, 1000), 22);
        assert!(h.contains("[40"), "{h}");
    }

    #[test]
    fn comparison_counts() {
        let mut c = Comparison::default();
        let a = udp(64, 1);
        c.push(0, Some(&a), Some(&a), &[], 10);
        c.push(1, Some(&a), Some(&udp(1, 1)), &[], 10);
        c.push(2, Some(&a), None, &[], 10);
        assert_eq!((c.compared, c.matched, c.diff_count, c.got_extra), (2, 1, 1, 1));
        assert!(!c.ok());
    }
}
