//! Writes the test vectors the RTL unit testbenches (rtl/tb/*_tb.sv) check
//! against, computed by this crate (and the `crc32c` crate the image format
//! uses), so the RTL is checked against the contract rather than against
//! committed blobs. Run by scripts/rtl-test.sh:
//!
//! ```text
//! cargo run -q -p lbnic-contract --example rtl_vectors -- DIR
//! ```
//!
//! The files are `$readmemh` input: hex numbers only, the first one the
//! number of vectors, then one vector per line (the testbench reads every
//! number into consecutive words of one wide memory; Verilator 5.006's
//! `$fscanf` cannot read numbers wider than 64 bits). Byte strings are
//! written last byte first, so a word read into a SystemVerilog
//! `logic [N-1:0][7:0]` has byte k in element k, the package's convention.
//! - `toeplitz.txt`: `key[40] data[36] len hash`; bytes of `data` past `len`
//!   are junk the hash must ignore.
//! - `lookup.txt`: `hash m index` then `a b` for each table size of
//!   [`ct_sizes`] (the target's own size is the fifth).
//! - `crc32c.txt`: `len crc`, then ceil(len / 64) lines of one 64-byte beat
//!   each; bytes of the last beat past `len` are junk.

use lbnic_contract::lookup::{ct_bucket, flow_hash, flow_hash_ip, lookup_index};
use lbnic_contract::target::Target;
use lbnic_contract::toeplitz::{Toeplitz, DEFAULT_KEY, MAX_INPUT, RSS_VECTORS_V4, RSS_VECTORS_V6};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

/// Conntrack table sizes the lookup testbench instantiates: the one-bucket
/// table, a one-bit page, tables smaller than, equal to and larger than a
/// page, the default target's, and the largest allowed.
fn ct_sizes() -> [u32; 6] {
    [1, 2, 1024, 4096, Target::default().ct_buckets, 1 << 26]
}

/// Beat width of the CRC testbench (the default target's datapath).
const BEAT: usize = 64;

/// splitmix64: reproducible vectors without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next() as u8)
    }
}

/// Bytes as one hex number, last byte first.
fn hex_rev(b: &[u8]) -> String {
    b.iter().rev().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn toeplitz_line(out: &mut String, key: &[u8; 40], data: &[u8; MAX_INPUT], len: usize, hash: u32) {
    let _ = writeln!(out, "{} {} {:x} {:08x}", hex_rev(key), hex_rev(data), len, hash);
}

/// The RSS input of a published vector, as `flow_hash` builds it.
fn rss_input(src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> Vec<u8> {
    let octets = |a: IpAddr| match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut v = octets(src);
    v.extend(octets(dst));
    if let Some((s, d)) = ports {
        v.extend(s.to_be_bytes());
        v.extend(d.to_be_bytes());
    }
    v
}

fn toeplitz(rng: &mut Rng) -> (usize, String) {
    let mut out = String::new();
    let tz = Toeplitz::new(&DEFAULT_KEY);
    for &(s, sp, d, dp, ip_only, with_l4) in RSS_VECTORS_V4.iter().chain(RSS_VECTORS_V6) {
        let (s, d): (IpAddr, IpAddr) = (s.parse().expect("vector"), d.parse().expect("vector"));
        for (ports, want) in [(None, ip_only), (Some((sp, dp)), with_l4)] {
            assert_eq!(
                flow_hash_ip(&tz, s, d, ports),
                want,
                "published vector {s} -> {d}"
            );
            let input = rss_input(s, d, ports);
            let mut data: [u8; MAX_INPUT] = rng.bytes();
            data[..input.len()].copy_from_slice(&input);
            toeplitz_line(&mut out, &DEFAULT_KEY, &data, input.len(), want);
        }
    }
    // Random keys and tuples of every flow-hash shape (IPv4 / IPv6, with
    // and without ports), then arbitrary lengths 0..=36.
    for i in 0..400 {
        let key: [u8; 40] = if i % 4 == 0 { DEFAULT_KEY } else { rng.bytes() };
        let tz = Toeplitz::new(&key);
        let data: [u8; MAX_INPUT] = rng.bytes();
        let (len, hash) = if i < 320 {
            let alen = if i % 2 == 0 { 4 } else { 16 };
            let ports = (i % 3 != 0).then(|| {
                let p = &data[2 * alen..2 * alen + 4];
                (u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]]))
            });
            let h = flow_hash(&tz, &data[..alen], &data[alen..2 * alen], ports);
            (2 * alen + if ports.is_some() { 4 } else { 0 }, h)
        } else {
            let len = rng.below(MAX_INPUT as u64 + 1) as usize;
            (len, tz.hash(&data[..len]))
        };
        toeplitz_line(&mut out, &key, &data, len, hash);
    }
    (out.lines().count(), out)
}

fn lookup(rng: &mut Rng) -> (usize, String) {
    let mut out = String::new();
    let edges = [0u32, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX, 0xdead_beef];
    let sizes = [0u32, 1, 2, 65537, 655373, u32::MAX];
    let mut cases: Vec<(u32, u32)> = edges
        .iter()
        .flat_map(|&h| sizes.iter().map(move |&m| (h, m)))
        .collect();
    for _ in 0..400 {
        let h = rng.next() as u32;
        let m = match rng.below(3) {
            0 => rng.below(1 << 16) as u32,
            1 => rng.below(1 << 24) as u32,
            _ => rng.next() as u32,
        };
        cases.push((h, m));
    }
    for (h, m) in cases {
        let _ = write!(out, "{h:08x} {m:08x} {:08x}", lookup_index(h, m));
        for n in ct_sizes() {
            let c = ct_bucket(h, n);
            let _ = write!(out, " {:08x} {:08x}", c.a, c.b);
        }
        out.push('\n');
    }
    (out.lines().count(), out)
}

fn crc_message(out: &mut String, rng: &mut Rng, msg: &[u8]) {
    let _ = writeln!(out, "{:x} {:08x}", msg.len(), crc32c::crc32c(msg));
    for chunk in msg.chunks(BEAT) {
        let mut beat: [u8; BEAT] = rng.bytes();
        beat[..chunk.len()].copy_from_slice(chunk);
        let _ = writeln!(out, "{}", hex_rev(&beat));
    }
}

fn crc(rng: &mut Rng) -> (usize, String) {
    let mut out = String::new();
    // RFC 3720 B.4 and the CRC catalogue's check value.
    let published: [(Vec<u8>, u32); 5] = [
        (vec![0; 32], 0x8a91_36aa),
        (vec![0xff; 32], 0x62a8_ab43),
        ((0..32).collect(), 0x46dd_794e),
        ((0..32).rev().collect(), 0x113f_db5c),
        (b"123456789".to_vec(), 0xe306_9283),
    ];
    for (msg, want) in &published {
        assert_eq!(crc32c::crc32c(msg), *want, "published CRC32C vector");
        crc_message(&mut out, rng, msg);
    }
    let mut lens: Vec<usize> = (0..=2 * BEAT + 1).collect();
    lens.extend((0..200).map(|_| rng.below(1500) as usize));
    lens.extend([4096, 9600]);
    let count = lens.len();
    for len in lens {
        let msg: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        crc_message(&mut out, rng, &msg);
    }
    (published.len() + count, out)
}

/// `$readmemh` file: the vector count, then the vectors.
fn counted((n, body): (usize, String)) -> String {
    format!("{n:x}\n{body}")
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "rtl/build/vectors".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng(0x6c62_6e69_6372_746c);
    std::fs::write(dir.join("toeplitz.txt"), counted(toeplitz(&mut rng)))?;
    std::fs::write(dir.join("lookup.txt"), counted(lookup(&mut rng)))?;
    std::fs::write(dir.join("crc32c.txt"), counted(crc(&mut rng)))?;
    Ok(())
}
