//! Keyed Toeplitz hash, the RSS hash every NIC implements, over a byte
//! string. The flow hash's input (the RSS input) is built in one place,
//! [`crate::lookup::flow_hash`].
//!
//! `Toeplitz::new` expands the key into one 256-entry table per input byte
//! position, so hashing is one lookup and XOR per byte (the same trick a
//! hardware implementation uses with a LUT per byte lane).

use crate::target::entries::TOEPLITZ_KEY_LEN;

/// The key from Microsoft's RSS verification suite, used by most NICs as
/// their default and by lbnic when a config names none.
pub const DEFAULT_KEY: [u8; TOEPLITZ_KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0,
    0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42,
    0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Microsoft's RSS verification vectors ("Verifying the RSS Hash
/// Calculation"), IPv4, for [`DEFAULT_KEY`]: (source, source port,
/// destination, destination port, IP-only hash, with-TCP hash). Public so
/// the contract's tests and the RTL's vector file
/// (`contract/examples/rtl_vectors.rs`) check the same published values.
pub const RSS_VECTORS_V4: &[(&str, u16, &str, u16, u32, u32)] = &[
    (
        "66.9.149.187",
        2794,
        "161.142.100.80",
        1766,
        0x323e8fc2,
        0x51ccc178,
    ),
    (
        "199.92.111.2",
        14230,
        "65.69.140.83",
        4739,
        0xd718262a,
        0xc626b0ea,
    ),
    (
        "24.19.198.95",
        12898,
        "12.22.207.184",
        38024,
        0xd2d0a5de,
        0x5c2b394a,
    ),
    (
        "38.27.205.30",
        48228,
        "209.142.163.6",
        2217,
        0x82989176,
        0xafc7327f,
    ),
    (
        "153.39.163.191",
        44251,
        "202.188.127.2",
        1303,
        0x5d1809c5,
        0x10e828a2,
    ),
];

/// The IPv6 half of [`RSS_VECTORS_V4`].
pub const RSS_VECTORS_V6: &[(&str, u16, &str, u16, u32, u32)] = &[
    (
        "3ffe:2501:200:1fff::7",
        2794,
        "3ffe:2501:200:3::1",
        1766,
        0x2cc18cd5,
        0x40207d3d,
    ),
    (
        "3ffe:501:8::260:97ff:fe40:efab",
        14230,
        "ff02::1",
        4739,
        0x0f0c461c,
        0xdde51bbf,
    ),
    (
        "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
        44251,
        "fe80::200:f8ff:fe21:67cf",
        38024,
        0x4b61e985,
        0x02d1feef,
    ),
];

/// Longest input: two IPv6 addresses and two ports.
pub const MAX_INPUT: usize = TOEPLITZ_KEY_LEN - 4;

/// Reference bit-serial form of the hash (the definition, used in tests).
pub fn hash_bitwise(key: &[u8; TOEPLITZ_KEY_LEN], input: &[u8]) -> u32 {
    assert!(input.len() <= MAX_INPUT);
    let mut result = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                result ^= window(key, i * 8 + bit);
            }
        }
    }
    result
}

/// The 32 key bits starting at bit `pos` (MSB-first).
fn window(key: &[u8; TOEPLITZ_KEY_LEN], pos: usize) -> u32 {
    let byte = pos / 8;
    let shift = pos % 8;
    let mut w = 0u64;
    for k in 0..5 {
        w = (w << 8) | *key.get(byte + k).unwrap_or(&0) as u64;
    }
    ((w << shift) >> 8) as u32
}

#[derive(Clone)]
pub struct Toeplitz {
    key: [u8; TOEPLITZ_KEY_LEN],
    table: Box<[[u32; 256]; MAX_INPUT]>,
}

impl std::fmt::Debug for Toeplitz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Toeplitz({})", hex::encode(self.key))
    }
}

impl Toeplitz {
    pub fn new(key: &[u8; TOEPLITZ_KEY_LEN]) -> Toeplitz {
        let mut table = Box::new([[0u32; 256]; MAX_INPUT]);
        for (pos, t) in table.iter_mut().enumerate() {
            let bits: [u32; 8] = std::array::from_fn(|b| window(key, pos * 8 + b));
            for (v, slot) in t.iter_mut().enumerate() {
                *slot = (0..8)
                    .filter(|b| v & (0x80 >> b) != 0)
                    .fold(0, |acc, b| acc ^ bits[b]);
            }
        }
        Toeplitz { key: *key, table }
    }

    pub fn key(&self) -> &[u8; TOEPLITZ_KEY_LEN] {
        &self.key
    }

    /// Hash of an RSS input string (at most [`MAX_INPUT`] bytes).
    pub fn hash(&self, input: &[u8]) -> u32 {
        input
            .iter()
            .take(MAX_INPUT)
            .enumerate()
            .fold(0, |acc, (i, &b)| acc ^ self.table[i][b as usize])
    }

    /// Hash of the input formed by `parts` back to back, for inputs that
    /// sit in pieces (the addresses in the IP header, the ports in the L4
    /// header) so nothing is copied. Bytes past [`MAX_INPUT`] are ignored.
    #[inline]
    pub fn hash_parts(&self, parts: &[&[u8]]) -> u32 {
        let mut tables = self.table.iter();
        let mut h = 0;
        for p in parts {
            for (&v, t) in p.iter().zip(tables.by_ref()) {
                h ^= t[v as usize];
            }
        }
        h
    }

    /// Hash of the input `a` followed by `b`.
    #[inline]
    pub fn hash2(&self, a: &[u8], b: &[u8]) -> u32 {
        self.hash_parts(&[a, b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash2_is_hash_of_the_concatenation() {
        let t = Toeplitz::new(&DEFAULT_KEY);
        let input: Vec<u8> = (0u8..36).map(|i| i.wrapping_mul(37)).collect();
        for split in [0, 8, 32, 36] {
            assert_eq!(t.hash2(&input[..split], &input[split..]), t.hash(&input));
        }
    }

    #[test]
    fn table_matches_bitwise_definition() {
        let key: [u8; 40] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let t = Toeplitz::new(&key);
        let input: Vec<u8> = (0..36u8).map(|i| i.wrapping_mul(91)).collect();
        for n in 0..=36 {
            assert_eq!(t.hash(&input[..n]), hash_bitwise(&key, &input[..n]));
        }
    }
}
