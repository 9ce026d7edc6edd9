//! The conntrack way as a typed view (smoltcp `wire` style) and the key it
//! is looked up by. The compiler (conntrack images), both models, the driver
//! dump and the image decoder all read and write ways through [`CtWay`], so
//! the layout in [`ct_field`] is the only place an offset is written down.

use super::entries::{addr_from_bytes, addr_to_bytes, EntryError, FlowKey, TcpState, CT_WAY_LEN};
use ct_field as f;

/// Conntrack way (64 bytes, one memory beat). [`CtWay`] is the typed view.
pub mod ct_field {
    use std::ops::Range;
    pub const SRC: Range<usize> = 0..16;
    pub const DST: Range<usize> = 16..32;
    pub const SRC_PORT: Range<usize> = 32..34;
    pub const DST_PORT: Range<usize> = 34..36;
    pub const PROTO: usize = 36;
    /// The bytes a way is keyed on (addresses, ports, protocol): what
    /// [`super::CtKey`] holds, so a lookup compares one contiguous run.
    pub const KEY: Range<usize> = SRC.start..PROTO + 1;
    pub const FLAGS: usize = 37;
    pub const TCP_STATE: usize = 38;
    pub const RESERVED0: usize = 39;
    pub const BACKEND: Range<usize> = 40..42;
    pub const VIP: Range<usize> = 42..44;
    /// Last packet, in ticks (low 32 bits of device time).
    pub const LAST_SEEN: Range<usize> = 44..48;
    pub const CREATED: Range<usize> = 48..52;
    pub const PACKETS: Range<usize> = 52..56;
    pub const BYTES: Range<usize> = 56..64;

    pub const FLAG_VALID: u8 = 1 << 0;
    pub const FLAG_V6: u8 = 1 << 1;
    /// A NAT return entry: key is backend -> client; rewrite source back
    /// to the VIP.
    pub const FLAG_REVERSE: u8 = 1 << 2;
    /// A fragment entry: the key is (source, destination, protocol) with
    /// the datagram's identification in the port fields (docs/spec.md
    /// §12.1), so every fragment of one datagram finds the backend the
    /// first one to arrive was given. Part of the key compare, so it never
    /// matches a flow entry. Embryonic: evicted before established entries.
    pub const FLAG_FRAG: u8 = 1 << 3;

    use crate::target::field::{Bit, Field};
    /// `KEY` is not listed: it is the union of the first five fields.
    pub const FIELDS: &[Field] = &[
        Field::bytes("src", SRC),
        Field::bytes("dst", DST),
        Field::int("src_port", SRC_PORT),
        Field::int("dst_port", DST_PORT),
        Field::byte("proto", PROTO),
        Field::byte("flags", FLAGS),
        Field::byte("tcp_state", TCP_STATE),
        Field::reserved("reserved0", RESERVED0..RESERVED0 + 1),
        Field::int("backend", BACKEND),
        Field::int("vip", VIP),
        Field::int("last_seen", LAST_SEEN),
        Field::int("created", CREATED),
        Field::int("packets", PACKETS),
        Field::int("bytes", BYTES),
    ];
    pub const FLAG_BITS: &[Bit] = &[
        Bit {
            name: "valid",
            mask: FLAG_VALID as u32,
        },
        Bit {
            name: "v6",
            mask: FLAG_V6 as u32,
        },
        Bit {
            name: "reverse",
            mask: FLAG_REVERSE as u32,
        },
        Bit {
            name: "frag",
            mask: FLAG_FRAG as u32,
        },
    ];
}

/// Bytes of a conntrack key (source, destination, ports, protocol).
pub const CT_KEY_LEN: usize = f::KEY.end - f::KEY.start;

// The key is the contiguous head of a way, so a key is exactly the bytes a
// way stores and `CtKey::as_bytes` can be copied in with one slice copy.
const _: () = assert!(f::KEY.start == 0 && f::KEY.end == f::PROTO + 1);
const _: () = assert!(f::SRC.start == 0 && f::DST.start == f::SRC.end && f::SRC_PORT.start == f::DST.end);
const _: () = assert!(f::DST_PORT.start == f::SRC_PORT.end && f::PROTO == f::DST_PORT.end);

/// A conntrack key in its stored form, built once per packet so that
/// comparing it with a way is a handful of word compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtKey {
    bytes: [u8; CT_KEY_LEN],
    v6: bool,
    /// A fragment entry's key (FLAG_FRAG).
    frag: bool,
}

impl CtKey {
    /// Addresses in their 16-byte stored form (IPv4 mapped); `v6` is the
    /// family, which goes into the way's flags rather than the key bytes.
    pub fn new(proto: u8, src: &[u8; 16], sport: u16, dst: &[u8; 16], dport: u16, v6: bool) -> CtKey {
        let mut bytes = [0u8; CT_KEY_LEN];
        bytes[f::SRC].copy_from_slice(src);
        bytes[f::DST].copy_from_slice(dst);
        bytes[f::SRC_PORT].copy_from_slice(&sport.to_le_bytes());
        bytes[f::DST_PORT].copy_from_slice(&dport.to_le_bytes());
        bytes[f::PROTO] = proto;
        CtKey {
            bytes,
            v6,
            frag: false,
        }
    }

    /// The key of a fragmented datagram's entry: its address pair and
    /// protocol, with the identification (IPv4: 16 bits; IPv6: 32 bits) in
    /// the port fields, high half as source port, low half as destination
    /// port. Carries FLAG_FRAG, so it cannot equal a flow's key.
    pub fn fragment(proto: u8, src: &[u8; 16], dst: &[u8; 16], id: u32, v6: bool) -> CtKey {
        CtKey {
            frag: true,
            ..CtKey::new(proto, src, (id >> 16) as u16, dst, id as u16, v6)
        }
    }

    /// The datagram identification of a fragment key (see [`CtKey::fragment`]).
    pub fn fragment_id(&self) -> u32 {
        (self.src_port() as u32) << 16 | self.dst_port() as u32
    }

    pub fn from_flow(k: &FlowKey) -> CtKey {
        CtKey::new(
            k.proto,
            &addr_to_bytes(k.src),
            k.src_port,
            &addr_to_bytes(k.dst),
            k.dst_port,
            k.is_ipv6(),
        )
    }

    pub fn as_bytes(&self) -> &[u8; CT_KEY_LEN] {
        &self.bytes
    }
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }
    pub fn is_fragment(&self) -> bool {
        self.frag
    }
    pub fn proto(&self) -> u8 {
        self.bytes[f::PROTO]
    }
    pub fn src(&self) -> &[u8; 16] {
        self.bytes[f::SRC].try_into().expect("16-byte field")
    }
    pub fn dst(&self) -> &[u8; 16] {
        self.bytes[f::DST].try_into().expect("16-byte field")
    }
    pub fn src_port(&self) -> u16 {
        u16::from_le_bytes([self.bytes[f::SRC_PORT.start], self.bytes[f::SRC_PORT.start + 1]])
    }
    pub fn dst_port(&self) -> u16 {
        u16::from_le_bytes([self.bytes[f::DST_PORT.start], self.bytes[f::DST_PORT.start + 1]])
    }
    /// The way flags an entry for this key carries (VALID, V6, REVERSE,
    /// FRAG).
    pub fn flags(&self, reverse: bool) -> u8 {
        f::FLAG_VALID
            | if self.v6 { f::FLAG_V6 } else { 0 }
            | if reverse { f::FLAG_REVERSE } else { 0 }
            | if self.frag { f::FLAG_FRAG } else { 0 }
    }
}

impl CtKey {
    /// The flow hash of the key's tuple ([`crate::lookup::flow_hash`]):
    /// where the entry lives, for the pipeline and the host alike. IPv4
    /// addresses hash as their 4 bytes, not their IPv4-mapped form.
    #[inline]
    pub fn flow_hash(&self, tz: &crate::toeplitz::Toeplitz) -> u32 {
        let (src, dst) = if self.is_ipv6() {
            (&self.src()[..], &self.dst()[..])
        } else {
            (&self.src()[12..], &self.dst()[12..])
        };
        crate::lookup::flow_hash(tz, src, dst, Some((self.src_port(), self.dst_port())))
    }
}

/// Words of a way covered by a lookup compare: the key and the flags byte.
const MATCH_WORDS: usize = 5;
/// Bytes of the last compared word that belong to key + flags.
const MATCH_TAIL: usize = f::FLAGS + 1 - 8 * (MATCH_WORDS - 1);
// The word compare in `CtWay::matches` covers key + flags (bytes
// 0..=FLAGS) with five little-endian u64 words, the last one masked; it is
// only right while the flags byte directly follows the key at the start of
// the way and everything fits the five words.
const _: () = assert!(f::FLAGS == f::KEY.end);
const _: () = assert!(f::FLAGS < 8 * MATCH_WORDS && f::FLAGS >= 8 * (MATCH_WORDS - 1));
const _: () = assert!(8 * MATCH_WORDS <= CT_WAY_LEN);
const MATCH_MASK: u64 = (1 << (8 * MATCH_TAIL)) - 1;

/// A lookup's key and wanted flags as the words a way is compared with,
/// computed once per lookup rather than once per way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtMatch([u64; MATCH_WORDS]);

impl CtMatch {
    pub fn new(key: &CtKey, reverse: bool) -> CtMatch {
        let mut k = [0u8; 8 * MATCH_WORDS];
        k[f::KEY].copy_from_slice(&key.bytes);
        k[f::FLAGS] = key.flags(reverse);
        CtMatch(words(&k))
    }
}

fn words(b: &[u8]) -> [u64; MATCH_WORDS] {
    std::array::from_fn(|i| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8")))
}

/// A view of one 64-byte conntrack way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtWay<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> CtWay<T> {
    /// No length check: accessors panic on a buffer shorter than
    /// `CT_WAY_LEN`. For buffers sliced to exactly one way.
    pub const fn new_unchecked(buffer: T) -> CtWay<T> {
        CtWay { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<CtWay<T>, EntryError> {
        let got = buffer.as_ref().len();
        if got < CT_WAY_LEN {
            return Err(EntryError::Truncated {
                table: "conntrack",
                got,
                need: CT_WAY_LEN,
            });
        }
        Ok(CtWay { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn u16_at(&self, at: usize) -> u16 {
        let b = self.b();
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.b()[at..at + 4].try_into().expect("4"))
    }

    pub fn src(&self) -> &[u8] {
        &self.b()[f::SRC]
    }
    pub fn dst(&self) -> &[u8] {
        &self.b()[f::DST]
    }
    pub fn src_port(&self) -> u16 {
        self.u16_at(f::SRC_PORT.start)
    }
    pub fn dst_port(&self) -> u16 {
        self.u16_at(f::DST_PORT.start)
    }
    pub fn proto(&self) -> u8 {
        self.b()[f::PROTO]
    }
    pub fn flags(&self) -> u8 {
        self.b()[f::FLAGS]
    }
    pub fn is_valid(&self) -> bool {
        self.flags() & f::FLAG_VALID != 0
    }
    pub fn is_v6(&self) -> bool {
        self.flags() & f::FLAG_V6 != 0
    }
    pub fn is_reverse(&self) -> bool {
        self.flags() & f::FLAG_REVERSE != 0
    }
    /// A fragment entry (short-lived datagram state, embryonic for
    /// eviction and timeout purposes).
    pub fn is_fragment(&self) -> bool {
        self.flags() & f::FLAG_FRAG != 0
    }
    /// The key this way is stored under (where it lives: its flow hash).
    pub fn key(&self) -> CtKey {
        let b = self.b();
        let mut bytes = [0u8; CT_KEY_LEN];
        bytes.copy_from_slice(&b[f::KEY]);
        CtKey {
            bytes,
            v6: self.is_v6(),
            frag: self.is_fragment(),
        }
    }
    /// Raw `TcpState` code (not checked: the pipeline treats unknown codes
    /// as `None`, the decoder rejects them).
    pub fn tcp_state(&self) -> u8 {
        self.b()[f::TCP_STATE]
    }
    /// VIP-local backend index.
    pub fn backend(&self) -> u16 {
        self.u16_at(f::BACKEND.start)
    }
    /// VIP slot.
    pub fn vip(&self) -> u16 {
        self.u16_at(f::VIP.start)
    }
    pub fn last_seen(&self) -> u32 {
        self.u32_at(f::LAST_SEEN.start)
    }
    pub fn created(&self) -> u32 {
        self.u32_at(f::CREATED.start)
    }
    pub fn packets(&self) -> u32 {
        self.u32_at(f::PACKETS.start)
    }
    pub fn bytes(&self) -> u64 {
        u64::from_le_bytes(self.b()[f::BYTES].try_into().expect("8"))
    }

    /// Holds the key of `m` with exactly its flags (valid, family,
    /// direction): five word compares instead of 38 byte compares.
    #[inline]
    pub fn matches(&self, m: &CtMatch) -> bool {
        let ew = words(self.b());
        let kw = &m.0;
        ew[0] == kw[0] && ew[1] == kw[1] && ew[2] == kw[2] && ew[3] == kw[3] && ew[4] & MATCH_MASK == kw[4]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CtWay<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Zero the whole way (free, and no stale field left behind).
    pub fn clear(&mut self) {
        self.bm()[..CT_WAY_LEN].fill(0);
    }
    pub fn set_key(&mut self, key: &CtKey) {
        self.bm()[f::KEY].copy_from_slice(&key.bytes);
    }
    pub fn set_flags(&mut self, v: u8) {
        self.bm()[f::FLAGS] = v;
    }
    pub fn set_tcp_state(&mut self, code: u8) {
        self.bm()[f::TCP_STATE] = code;
    }
    pub fn set_backend(&mut self, v: u16) {
        self.bm()[f::BACKEND].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_vip(&mut self, v: u16) {
        self.bm()[f::VIP].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_last_seen(&mut self, v: u32) {
        self.bm()[f::LAST_SEEN].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_created(&mut self, v: u32) {
        self.bm()[f::CREATED].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_packets(&mut self, v: u32) {
        self.bm()[f::PACKETS].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set_bytes(&mut self, v: u64) {
        self.bm()[f::BYTES].copy_from_slice(&v.to_le_bytes());
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CtRepr {
    pub key: FlowKey,
    pub reverse: bool,
    /// A fragment entry: `key`'s ports hold the datagram identification.
    #[serde(default)]
    pub fragment: bool,
    pub tcp_state: TcpState,
    pub backend: u16,
    pub vip: u16,
    pub last_seen: u32,
    pub created: u32,
    pub packets: u32,
    pub bytes: u64,
}

impl CtRepr {
    /// `Ok(None)` for a free (invalid) way.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(w: &CtWay<&T>) -> Result<Option<CtRepr>, EntryError> {
        use ct_field as f;
        if !w.is_valid() {
            return Ok(None);
        }
        let bad = |field, value: u8| EntryError::BadField {
            table: "conntrack",
            field,
            value: value as u64,
        };
        let flags = w.flags();
        if flags & !(f::FLAG_VALID | f::FLAG_V6 | f::FLAG_REVERSE | f::FLAG_FRAG) != 0 {
            return Err(bad("flags", flags));
        }
        let v6 = w.is_v6();
        Ok(Some(CtRepr {
            key: FlowKey {
                proto: w.proto(),
                src: addr_from_bytes(w.src(), v6),
                src_port: w.src_port(),
                dst: addr_from_bytes(w.dst(), v6),
                dst_port: w.dst_port(),
            },
            reverse: w.is_reverse(),
            fragment: w.is_fragment(),
            tcp_state: TcpState::from_code(w.tcp_state()).ok_or(bad("tcp_state", w.tcp_state()))?,
            backend: w.backend(),
            vip: w.vip(),
            last_seen: w.last_seen(),
            created: w.created(),
            packets: w.packets(),
            bytes: w.bytes(),
        }))
    }

    /// Parse the way at the start of `b` (a checked view first).
    pub fn parse_bytes(b: &[u8]) -> Result<Option<CtRepr>, EntryError> {
        CtRepr::parse(&CtWay::new_checked(b)?)
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, w: &mut CtWay<T>) {
        use ct_field as f;
        w.clear();
        w.set_key(&CtKey::from_flow(&self.key));
        w.set_flags(
            f::FLAG_VALID
                | if self.key.is_ipv6() { f::FLAG_V6 } else { 0 }
                | if self.reverse { f::FLAG_REVERSE } else { 0 }
                | if self.fragment { f::FLAG_FRAG } else { 0 },
        );
        w.set_tcp_state(self.tcp_state.code());
        w.set_backend(self.backend);
        w.set_vip(self.vip);
        w.set_last_seen(self.last_seen);
        w.set_created(self.created);
        w.set_packets(self.packets);
        w.set_bytes(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CtKey {
        let flow: FlowKey = "tcp 198.51.100.7:40000 -> 192.0.2.10:80".parse().unwrap();
        CtKey::from_flow(&flow)
    }

    #[test]
    fn key_accessors_and_match() {
        let k = key();
        assert_eq!((k.proto(), k.src_port(), k.dst_port()), (6, 40000, 80));
        assert_eq!(&k.src()[12..], &[198, 51, 100, 7]);
        let mut b = [0u8; CT_WAY_LEN];
        let mut w = CtWay::new_unchecked(&mut b[..]);
        w.set_key(&k);
        w.set_flags(k.flags(false));
        w.set_last_seen(0xdead_beef);
        let w = CtWay::new_unchecked(&b[..]);
        assert!(w.matches(&CtMatch::new(&k, false)));
        assert!(
            !w.matches(&CtMatch::new(&k, true)),
            "direction is part of the match"
        );
        assert_eq!((w.src_port(), w.dst_port(), w.proto()), (40000, 80, 6));
        assert_eq!(w.last_seen(), 0xdead_beef);
        // A byte after the flags does not take part in the match.
        b[f::TCP_STATE] = 3;
        assert!(CtWay::new_unchecked(&b[..]).matches(&CtMatch::new(&k, false)));
        b[f::PROTO] = 17;
        assert!(!CtWay::new_unchecked(&b[..]).matches(&CtMatch::new(&k, false)));
    }

    /// A fragment key holds the identification where ports go, and the
    /// FRAG flag keeps it apart from a flow whose ports happen to be those
    /// bytes.
    #[test]
    fn fragment_key_never_matches_a_flow() {
        let (src, dst) = (*key().src(), *key().dst());
        let id = 0x1234_5678;
        let fk = CtKey::fragment(17, &src, &dst, id, false);
        assert_eq!(
            (fk.src_port(), fk.dst_port(), fk.fragment_id()),
            (0x1234, 0x5678, id)
        );
        let flow = CtKey::new(17, &src, 0x1234, &dst, 0x5678, false);
        assert_eq!(fk.as_bytes(), flow.as_bytes());
        assert_ne!(fk, flow);
        let mut b = [0u8; CT_WAY_LEN];
        let mut w = CtWay::new_unchecked(&mut b[..]);
        w.set_key(&fk);
        w.set_flags(fk.flags(false));
        let w = CtWay::new_unchecked(&b[..]);
        assert!(w.is_fragment());
        assert!(w.matches(&CtMatch::new(&fk, false)));
        assert!(!w.matches(&CtMatch::new(&flow, false)));
        let r = CtRepr::parse(&w).unwrap().unwrap();
        assert!(r.fragment && !r.reverse);
        let mut b2 = [0u8; CT_WAY_LEN];
        r.emit(&mut CtWay::new_unchecked(&mut b2[..]));
        assert_eq!(b2[f::FLAGS], fk.flags(false));
    }

    #[test]
    fn checked_view_rejects_short_buffers() {
        assert!(CtWay::new_checked(&[0u8; CT_WAY_LEN - 1][..]).is_err());
        assert!(CtWay::new_checked(&[0u8; CT_WAY_LEN][..]).is_ok());
    }

    #[test]
    fn ct_round_trip() {
        let c = CtRepr {
            key: FlowKey {
                proto: 6,
                src: "2001:db8::1".parse().unwrap(),
                src_port: 1000,
                dst: "2001:db8::2".parse().unwrap(),
                dst_port: 80,
            },
            reverse: true,
            fragment: false,
            tcp_state: TcpState::Established,
            backend: 9,
            vip: 3,
            last_seen: 5,
            created: 4,
            packets: 10,
            bytes: 1 << 40,
        };
        let mut b = [0u8; CT_WAY_LEN];
        c.emit(&mut CtWay::new_unchecked(&mut b[..]));
        assert_eq!(CtRepr::parse_bytes(&b).unwrap(), Some(c));
        assert!(CtRepr::parse_bytes(&b[..CT_WAY_LEN - 1]).is_err());
    }
}
