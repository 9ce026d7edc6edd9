//! Shared by the RTL vector generators (`#[path = "rtl_common/mod.rs"]`):
//! packed-struct hex lines in the layout of lbnic_pipe_pkg / lbnic_pkg
//! (first declared field = most significant bit).
#![allow(dead_code)]

use hw_model::packet::{parse_into, Frag, Parsed};
use hw_model::pipeline::Class;
use lbnic_contract::image::Bank;
use lbnic_contract::target::ct::CtKey;
use lbnic_contract::target::entries::{addr_to_bytes, VIP_ENTRY_LEN};
use std::fmt::Write as _;
use std::net::IpAddr;

/// A packed struct built field by field, first declared field = MSB.
#[derive(Default)]
pub struct Bits(pub Vec<bool>);
impl Bits {
    pub fn num(&mut self, v: u64, w: usize) -> &mut Self {
        for i in (0..w).rev() {
            self.0.push(i < 64 && v >> i & 1 == 1);
        }
        self
    }
    /// A `logic [n-1:0][7:0]` byte string, element k = byte k.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        for &x in b.iter().rev() {
            self.num(x as u64, 8);
        }
        self
    }
    pub fn hex(&self) -> String {
        let pad = (4 - self.0.len() % 4) % 4;
        let bits: Vec<bool> = std::iter::repeat_n(false, pad)
            .chain(self.0.iter().copied())
            .collect();
        let mut s = String::new();
        for c in bits.chunks(4) {
            let d = c.iter().fold(0u32, |a, &b| a << 1 | b as u32);
            let _ = write!(s, "{d:x}");
        }
        s
    }
}

pub fn hex_rev(b: &[u8]) -> String {
    b.iter().rev().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

pub fn addr(a: IpAddr) -> [u8; 16] {
    addr_to_bytes(a)
}

/// parsed_t of a frame: the parse's status and reason, then the fields
/// (whatever the parse left in them on an error: FRONT must ignore them).
pub fn parsed_bits(frame: &[u8]) -> String {
    let mut p = Parsed::default();
    let (status, reason) = match parse_into(frame, &mut p) {
        Ok(()) => (0, 0),
        Err(e) => match e.reason() {
            Some(r) => (2, r as u64),
            None => (1, 0),
        },
    };
    parsed_fields(status, reason, &p)
}

/// parsed_t of a parse outcome: status (0 ok, 1 not LB, 2 error), reason,
/// and the fields of `p`.
pub fn parsed_fields(status: u64, reason: u64, p: &Parsed) -> String {
    let mut b = Bits::default();
    b.num(status, 2).num(reason, 3);
    b.bytes(&p.dst_mac).bytes(&p.src_mac);
    b.num(p.vlan.is_some() as u64, 1)
        .num(p.vlan.unwrap_or(0) as u64, 16);
    b.num(p.l2_len as u64, 14).num(p.l3_offset as u64, 14);
    b.num(p.ipv6 as u64, 1).bytes(&addr(p.src)).bytes(&addr(p.dst));
    b.num(p.proto as u64, 8)
        .num(p.l3_len as u64, 16)
        .num(p.l4_offset as u64, 14);
    let frag = match p.frag {
        Frag::None => 0,
        Frag::First => 1,
        Frag::Later => 2,
    };
    b.num(frag, 2).num(p.frag_id as u64, 32);
    b.num(p.sport as u64, 16)
        .num(p.dport as u64, 16)
        .num(p.tcp_flags as u64, 8);
    b.num(p.icmp_error.is_some() as u64, 1);
    let i = p.icmp_error.unwrap_or(hw_model::packet::Inner {
        src: IpAddr::from([0u8; 16]),
        dst: IpAddr::from([0u8; 16]),
        proto: 0,
        sport: 0,
        dport: 0,
        l4_offset: 0,
    });
    b.bytes(&addr_bytes_raw(i.src)).bytes(&addr_bytes_raw(i.dst));
    b.num(i.proto as u64, 8)
        .num(i.sport as u64, 16)
        .num(i.dport as u64, 16);
    b.num(i.l4_offset as u64, 14);
    b.num(p.tos as u64, 8).num(p.df as u64, 1);
    assert_eq!(b.0.len(), PARSED_BITS, "parsed_t layout");
    b.hex()
}

/// An unused inner address is all zero (not the IPv6 "::" mapped).
pub fn addr_bytes_raw(a: IpAddr) -> [u8; 16] {
    addr_to_bytes(a)
}

pub const PARSED_BITS: usize = 2 + 3 + 96 + 1 + 16 + 28 + 1 + 256 + 8 + 16 + 14 + 2 + 32 + 40 + 1 + 310 + 9;
pub const KEY_BITS: usize = 256 + 32 + 8 + 2;
pub const META_BITS: usize = 3 + 1 + 16 + KEY_BITS + 96 + 1 + 8 + 16 + 32;

pub fn key_bits(b: &mut Bits, k: Option<&CtKey>) {
    match k {
        Some(k) => {
            b.bytes(k.src()).bytes(k.dst());
            b.num(k.src_port() as u64, 16).num(k.dst_port() as u64, 16);
            b.num(k.proto() as u64, 8)
                .num(k.is_ipv6() as u64, 1)
                .num(k.is_fragment() as u64, 1);
        }
        None => {
            b.num(0, KEY_BITS);
        }
    }
}

/// The expected meta_t: fields the class lacks are zero.
pub fn meta_bits(class: &Class, len: u32, now: u32) -> String {
    let mut b = Bits::default();
    let (kind, sv, slot, key, hash, bk, stateless, flags) = match class {
        Class::NoVip => (0, false, 0, None, 0, None, false, 0),
        Class::ParseError => (1, false, 0, None, 0, None, false, 0),
        Class::Bypass => (2, false, 0, None, 0, None, false, 0),
        Class::Vip {
            slot,
            key,
            hash,
            bucket,
            stateless,
            tcp_flags,
        } => (
            3,
            false,
            *slot,
            Some(key),
            *hash,
            Some(*bucket),
            *stateless,
            *tcp_flags,
        ),
        Class::Fragment {
            slot,
            key,
            hash,
            bucket,
        } => (
            4,
            slot.is_some(),
            slot.unwrap_or(0),
            Some(key),
            *hash,
            Some(*bucket),
            false,
            0,
        ),
        Class::Reverse { key, bucket } => (5, false, 0, Some(key), 0, Some(*bucket), false, 0),
    };
    b.num(kind, 3).num(sv as u64, 1).num(slot as u64, 16);
    key_bits(&mut b, key);
    b.num(hash as u64, 32);
    let (ba, bb) = bk.map_or((0, 0), |c| (c.a, c.b));
    b.num(ba as u64, 32).num(bb as u64, 32);
    b.num(stateless as u64, 1).num(flags as u64, 8);
    b.num(len as u64, 16).num(now as u64, 32);
    assert_eq!(b.0.len(), META_BITS, "meta_t layout");
    b.hex()
}

pub fn global_hex(bank: &Bank) -> String {
    let mut g = vec![0u8; 256];
    bank.global.emit(&mut g);
    hex_rev(&g)
}

pub fn vips_hex(bank: &Bank, max_vips: u32, out: &mut String) {
    for i in 0..max_vips as usize {
        let mut e = [0u8; VIP_ENTRY_LEN];
        if let Some(Some(v)) = bank.vips.get(i) {
            v.repr.emit(&mut e);
        }
        let _ = writeln!(out, "{}", hex_rev(&e));
    }
}

/// splitmix64: reproducible without a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
