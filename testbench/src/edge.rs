//! Edge-case captures: hand-shaped frames to a config's VIPs that exercise
//! every corner of the parser and the pipeline (spec §12.1, §12.1.1), for
//! comparing models (`lbnic gen CONFIG --edge-cases`): VLAN and QinQ tags in
//! both orders, IPv4 options, IPv6 extension headers, fragmented datagrams
//! in any order with duplicates, ICMP errors about known and unknown flows
//! (both sides of NAT VIPs), NAT replies, truncation inside every header,
//! malformed lengths and offsets, a third VLAN tag, jumbograms, jumbo
//! frames around `max_frame` and the target's `max_rx_frame`, and minimum
//! and undersize frames. Deterministic from the seed (client addresses,
//! ports, identifications).
//!
//! The raw builders ([`eth_to`], [`ipv4`], [`ipv6_between`], [`tcp_ports`],
//! [`udp_ports`], [`icmp`]) write headers exactly as told, wrong lengths
//! included, and compute no checksums (the pipeline does not check them).

use crate::gen::{BACKEND_MAC, SRC_MAC};
use crate::trace::{Format, TraceError, TraceWriter};
use lbnic_contract::target::entries::{Mode, Proto};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use table_compiler::config::Config;

// ---------------------------------------------------------------- builders

/// An Ethernet frame: `tags` are (TPID, TCI) in wire order, then the
/// ethertype and the payload (no padding).
pub fn eth_to(dst: [u8; 6], src: [u8; 6], tags: &[(u16, u16)], et: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 header's fields ([`ipv4`]).
#[derive(Debug, Clone)]
pub struct V4 {
    /// Option bytes (a multiple of 4; filled with NOPs).
    pub opts: usize,
    /// Flags and fragment offset (0x4000: DF).
    pub ff: u16,
    pub ident: u16,
    pub proto: u8,
    pub src: [u8; 4],
    pub dst: [u8; 4],
}

impl Default for V4 {
    fn default() -> Self {
        V4 {
            opts: 0,
            ff: 0x4000,
            ident: 0x1234,
            proto: 6,
            src: [198, 51, 100, 7],
            dst: [192, 0, 2, 10],
        }
    }
}

/// An IPv4 packet: the header of `h` (IHL and total length from the
/// option and payload lengths, TTL 64, checksum 0) and `payload`.
pub fn ipv4(h: &V4, payload: &[u8]) -> Vec<u8> {
    let hl = 20 + h.opts;
    let mut b = vec![0x40 | (hl / 4) as u8, 0];
    b.extend_from_slice(&((hl + payload.len()) as u16).to_be_bytes());
    b.extend_from_slice(&h.ident.to_be_bytes());
    b.extend_from_slice(&h.ff.to_be_bytes());
    b.extend_from_slice(&[64, h.proto, 0, 0]);
    b.extend_from_slice(&h.src);
    b.extend_from_slice(&h.dst);
    b.extend(std::iter::repeat_n(1u8, h.opts));
    b.extend_from_slice(payload);
    b
}

/// An IPv6 packet from `src` to `dst` with extension headers `exts`
/// ((next-header code, total length) in order: 0 hop-by-hop, 43 routing,
/// 44 fragment, 51 AH, 60 destination options), then `proto` and
/// `payload`. A fragment header carries `frag` (offset-and-flags field,
/// identification).
pub fn ipv6_between(
    src: [u8; 16],
    dst: [u8; 16],
    exts: &[(u8, usize)],
    proto: u8,
    payload: &[u8],
    frag: Option<(u16, u32)>,
) -> Vec<u8> {
    let mut chain = Vec::new();
    for (k, &(code, len)) in exts.iter().enumerate() {
        let nh = exts.get(k + 1).map_or(proto, |e| e.0);
        let mut e = vec![0u8; len.max(8)];
        e[0] = nh;
        match code {
            44 => {
                let (fo, id) = frag.unwrap_or((0, 0));
                e[2..4].copy_from_slice(&fo.to_be_bytes());
                e[4..8].copy_from_slice(&id.to_be_bytes());
            }
            51 => e[1] = (len / 4).saturating_sub(2) as u8,
            _ => e[1] = (len / 8).saturating_sub(1) as u8,
        }
        chain.extend_from_slice(&e);
    }
    let first = exts.first().map_or(proto, |e| e.0);
    let mut b = vec![0x60, 0, 0, 0];
    b.extend_from_slice(&((chain.len() + payload.len()) as u16).to_be_bytes());
    b.extend_from_slice(&[first, 64]);
    b.extend_from_slice(&src);
    b.extend_from_slice(&dst);
    b.extend_from_slice(&chain);
    b.extend_from_slice(payload);
    b
}

/// A TCP segment: data offset `doff` (the header is at least 20 bytes),
/// `flags`, sequence, acknowledgement and window 0, then `data` bytes of
/// 0xab.
pub fn tcp_ports(sport: u16, dport: u16, flags: u8, doff: u8, data: usize) -> Vec<u8> {
    let mut t = vec![0u8; (doff as usize * 4).max(20)];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = doff << 4;
    t[13] = flags;
    t.extend(std::iter::repeat_n(0xabu8, data));
    t
}

/// A UDP datagram with `data` bytes of 0xcd; its length field is
/// `len_field` when given, else the true length.
pub fn udp_ports(sport: u16, dport: u16, len_field: Option<u16>, data: usize) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    let l = len_field.unwrap_or((8 + data) as u16);
    u[4..6].copy_from_slice(&l.to_be_bytes());
    u.extend(std::iter::repeat_n(0xcdu8, data));
    u
}

/// An ICMP (or ICMPv6) message of type `ty`, code 0, its second word 1500
/// (a too-big's MTU), then `quote`.
pub fn icmp(ty: u8, quote: &[u8]) -> Vec<u8> {
    icmp_code(ty, 0, quote)
}

/// [`icmp`] with a code.
pub fn icmp_code(ty: u8, code: u8, quote: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, code, 0, 0, 0, 0, 0x05, 0xdc];
    b.extend_from_slice(quote);
    b
}

/// Pad to the 60-byte Ethernet minimum (without FCS).
pub fn pad60(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

// ---------------------------------------------------------------- captures

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("the config has no VIP to send traffic to")]
    NoVips,
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// What an edge-case capture holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EdgeSummary {
    pub packets: u64,
    pub bytes: u64,
    /// VIPs the cases were made for.
    pub vips: u64,
    /// Frames per group (name, count), in capture order.
    pub groups: Vec<(String, u64)>,
}

fn v6b(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(v) => v.octets(),
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
    }
}

fn v4b(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

/// One endpoint pair's packet builder.
struct Pkt {
    dmac: [u8; 6],
    smac: [u8; 6],
    src: IpAddr,
    dst: IpAddr,
}

impl Pkt {
    fn v6(&self) -> bool {
        self.dst.is_ipv6()
    }
    /// The IP packet (no Ethernet): IPv4 with `opts` option bytes, or IPv6
    /// with extension headers `exts`.
    fn ip(&self, opts: usize, exts: &[(u8, usize)], proto: u8, l4: &[u8]) -> Vec<u8> {
        if self.v6() {
            ipv6_between(v6b(self.src), v6b(self.dst), exts, proto, l4, None)
        } else {
            ipv4(
                &V4 {
                    opts,
                    proto,
                    src: v4b(self.src),
                    dst: v4b(self.dst),
                    ..V4::default()
                },
                l4,
            )
        }
    }
    fn et(&self) -> u16 {
        if self.v6() {
            0x86dd
        } else {
            0x0800
        }
    }
    fn frame(&self, tags: &[(u16, u16)], ip: &[u8]) -> Vec<u8> {
        eth_to(self.dmac, self.smac, tags, self.et(), ip)
    }
}

struct Cases {
    rng: ChaCha8Rng,
    frames: Vec<Vec<u8>>,
    groups: Vec<(String, u64)>,
    next_client: u32,
}

impl Cases {
    fn group(&mut self, name: &str, frames: impl IntoIterator<Item = Vec<u8>>) {
        let n0 = self.frames.len();
        self.frames.extend(frames);
        let n = (self.frames.len() - n0) as u64;
        match self.groups.iter_mut().find(|g| g.0 == name) {
            Some(g) => g.1 += n,
            None => self.groups.push((name.to_string(), n)),
        }
    }
    /// A fresh client address of the family of `like`.
    fn client(&mut self, like: IpAddr) -> IpAddr {
        self.next_client += 1;
        let x: u16 = self.rng.gen();
        match like {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(
                (198u32 << 24 | 18 << 16) + (1 << 16) + ((self.next_client & 0xff) << 8) + (x as u32 & 0xff),
            )),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0xc,
                0xe,
                0,
                0,
                self.next_client as u16,
                x,
            )),
        }
    }
    fn port(&mut self) -> u16 {
        self.rng.gen_range(49152..=65535)
    }
}

/// The edge cases for `cfg`, in capture order. Every VIP gets the same
/// set, addressed to it (its address, protocol and port; port-0 and
/// any-protocol VIPs get TCP to port 80), from fresh clients.
pub fn edge_cases(cfg: &Config, seed: u64) -> Result<(Vec<Vec<u8>>, EdgeSummary), EdgeError> {
    if cfg.vips.is_empty() {
        return Err(EdgeError::NoVips);
    }
    let mut c = Cases {
        rng: ChaCha8Rng::seed_from_u64(seed),
        frames: Vec::new(),
        groups: Vec::new(),
        next_client: 0,
    };
    let dmac = cfg.device_mac;
    let max_frame = cfg.max_frame as usize;
    let max_rx = cfg.target.max_rx_frame as usize;
    for vip in &cfg.vips {
        let udp = vip.proto == Proto::Udp;
        let proto = if udp { 17 } else { 6 };
        let vport = if vip.port == 0 { 80 } else { vip.port };
        let client = c.client(vip.addr);
        let cport = c.port();
        let fwd = Pkt {
            dmac,
            smac: SRC_MAC,
            src: client,
            dst: vip.addr,
        };
        let v6 = fwd.v6();
        // L4 of a flow packet: a SYN, or a datagram, with `data` bytes.
        let l4 = |sp: u16, dp: u16, flags: u8, data: usize| {
            if udp {
                udp_ports(sp, dp, None, data)
            } else {
                tcp_ports(sp, dp, flags, 5, data)
            }
        };
        let plain = |tags: &[(u16, u16)], p: &Pkt, sp: u16, data: usize| {
            pad60(p.frame(tags, &p.ip(0, &[], proto, &l4(sp, vport, 0x02, data))))
        };

        // The flow itself (makes its conntrack entry), then its packets
        // tagged: one tag of each TPID, QinQ in both orders.
        let tagsets: [&[(u16, u16)]; 5] = [
            &[],
            &[(0x8100, 0x0064)],
            &[(0x88a8, 0xe00a)],
            &[(0x88a8, 0x0010), (0x8100, 0x0020)],
            &[(0x8100, 0x0010), (0x88a8, 0x0020)],
        ];
        let mut v = Vec::new();
        for tags in tagsets {
            v.push(plain(tags, &fwd, cport, 10));
            let p = c.port();
            v.push(plain(tags, &fwd, p, 100));
        }
        v.push(plain(&[(0x8100, 0x0010), (0x8100, 0x0020)], &fwd, cport, 0));
        c.group("vlan", v);

        // IPv4 options / IPv6 extension headers, untagged and QinQ.
        let mut v = Vec::new();
        if v6 {
            let chains: [&[(u8, usize)]; 8] = [
                &[(0, 8)],
                &[(43, 24)],
                &[(60, 16)],
                &[(44, 8)], // atomic fragment
                &[(51, 12)],
                &[(0, 8), (43, 24), (60, 8)],
                &[(0, 8), (60, 16), (44, 8), (60, 8)],
                &[
                    (60, 8),
                    (60, 8),
                    (60, 8),
                    (60, 8),
                    (60, 8),
                    (60, 8),
                    (60, 8),
                    (60, 8),
                ],
            ];
            for exts in chains {
                for tags in [&[][..], &[(0x88a8, 1), (0x8100, 2)][..]] {
                    let ip = fwd.ip(0, exts, proto, &l4(cport, vport, 0x10, 20));
                    v.push(pad60(fwd.frame(tags, &ip)));
                }
            }
            // Hop-by-hop not first, a 200-byte option header (headers past
            // the parse window).
            for exts in [&[(60u8, 8usize), (0, 8)][..], &[(60, 200), (43, 16)][..]] {
                v.push(fwd.frame(&[], &fwd.ip(0, exts, proto, &l4(cport, vport, 0x10, 4))));
            }
        } else {
            for opts in [4, 8, 20, 40] {
                for tags in [&[][..], &[(0x8100, 1), (0x88a8, 2)][..]] {
                    let ip = fwd.ip(opts, &[], proto, &l4(cport, vport, 0x10, 20));
                    v.push(pad60(fwd.frame(tags, &ip)));
                }
            }
        }
        c.group("ip options / extension headers", v);

        // Fragmented datagrams (3000 bytes, for a 1280-byte path): in
        // order, reversed (first fragment last), middle first, with
        // duplicates; each from its own client port and identification.
        let mut v = Vec::new();
        for order in 0..5 {
            let p = c.port();
            let data = if udp { 3000 - 8 } else { 3000 - 20 };
            let whole = fwd.frame(&[], &fwd.ip(0, &[], proto, &l4(p, vport, 0x10, data)));
            let chunk = crate::gen::FRAG_MTU - if v6 { 48 } else { 20 };
            let id: u32 = c.rng.gen();
            let Ok(mut parts) = crate::frag::fragment(&whole, chunk, id) else {
                continue;
            };
            match order {
                0 => {}
                1 => parts.reverse(),
                2 => {
                    let m = parts.remove(1);
                    parts.insert(0, m);
                }
                3 => {
                    // duplicates: the first twice, a later one three times
                    let (a, b) = (parts[0].clone(), parts[parts.len() - 1].clone());
                    parts.insert(1, a);
                    parts.insert(0, b.clone());
                    parts.push(b);
                }
                _ => parts.shuffle(&mut c.rng),
            }
            v.extend(parts);
        }
        c.group("fragments", v);

        // ICMP errors, client side: a router on the client's path bounces a
        // packet VIP -> client, about this flow (hit) and an unknown one.
        let router = c.client(vip.addr);
        let stranger = c.client(vip.addr);
        let mut v = Vec::new();
        for (who, wport) in [(client, cport), (stranger, 40000)] {
            let quoted = Pkt {
                dmac,
                smac: dmac,
                src: vip.addr,
                dst: who,
            };
            let q = quoted.ip(0, &[], proto, &l4(vport, wport, 0x12, 0));
            let err = Pkt {
                dmac,
                smac: SRC_MAC,
                src: router,
                dst: vip.addr,
            };
            let kinds: &[(u8, u8)] = if v6 {
                &[(1, 4), (2, 0), (3, 0), (4, 0)]
            } else {
                &[(3, 4), (3, 1), (11, 0), (12, 0)]
            };
            let ip_proto = if v6 { 58 } else { 1 };
            for &(ty, code) in kinds {
                v.push(pad60(
                    err.frame(&[], &err.ip(0, &[], ip_proto, &icmp_code(ty, code, &q))),
                ));
            }
            // The quote cut to its IP header and to 4 L4 bytes; VLAN tagged.
            let hl = if v6 { 40 } else { 20 };
            for cut in [hl, hl + 4, hl + 8] {
                let (ty, code) = kinds[0];
                v.push(pad60(err.frame(
                    &[(0x8100, 7)],
                    &err.ip(0, &[], ip_proto, &icmp_code(ty, code, &q[..cut.min(q.len())])),
                )));
            }
            // Informational ICMP (echo) to the VIP: not an error.
            let echo = if v6 { 128 } else { 8 };
            v.push(pad60(
                err.frame(&[], &err.ip(0, &[], ip_proto, &icmp(echo, &[0; 8]))),
            ));
        }
        c.group("icmp errors", v);

        // NAT VIPs: replies from every backend (one is the flow's), and
        // errors from the backend side about the forwarded packet (client
        // -> backend:bport), reversed to the return entry.
        if vip.mode == Mode::Nat {
            let mut v = Vec::new();
            for b in &vip.backends {
                let bport = if b.port == 0 { vport } else { b.port };
                let rep = Pkt {
                    dmac,
                    smac: BACKEND_MAC,
                    src: b.addr,
                    dst: client,
                };
                if rep.v6() != v6 {
                    continue;
                }
                v.push(pad60(
                    rep.frame(&[], &rep.ip(0, &[], proto, &l4(bport, cport, 0x12, 30))),
                ));
                v.push(pad60(rep.frame(
                    &[(0x8100, 9)],
                    &rep.ip(8, &[(0, 8)], proto, &l4(bport, cport, 0x10, 30)),
                )));
                let fwdq = Pkt {
                    dmac,
                    smac: dmac,
                    src: client,
                    dst: b.addr,
                };
                for (qport, from) in [(cport, b.addr), (cport, router), (cport ^ 1, b.addr)] {
                    let q = fwdq.ip(0, &[], proto, &l4(qport, bport, 0x10, 0));
                    let err = Pkt {
                        dmac,
                        smac: BACKEND_MAC,
                        src: from,
                        dst: client,
                    };
                    let (ip_proto, ty, code) = if v6 { (58, 1, 4) } else { (1, 3, 3) };
                    v.push(pad60(
                        err.frame(&[], &err.ip(0, &[], ip_proto, &icmp_code(ty, code, &q))),
                    ));
                    let (ty, code) = if v6 { (2, 0) } else { (3, 4) };
                    v.push(pad60(
                        err.frame(&[], &err.ip(0, &[], ip_proto, &icmp_code(ty, code, &q))),
                    ));
                }
            }
            c.group("nat replies and backend-side errors", v);
        }

        // Truncated: a QinQ frame with options/extensions cut inside every
        // header (each byte up to the end of L4), and ICMP errors cut inside
        // their quote.
        let full = if v6 {
            fwd.frame(
                &[(0x88a8, 1), (0x8100, 2)],
                &fwd.ip(0, &[(0, 8), (44, 8)], proto, &l4(cport, vport, 0x10, 8)),
            )
        } else {
            fwd.frame(
                &[(0x88a8, 1), (0x8100, 2)],
                &fwd.ip(8, &[], proto, &l4(cport, vport, 0x10, 8)),
            )
        };
        let hdr_end = full.len() - 8;
        let mut v: Vec<Vec<u8>> = (0..=hdr_end).map(|n| full[..n].to_vec()).collect();
        v.retain(|f| !f.is_empty());
        c.group("truncated", v);

        // Malformed.
        let base = plain(&[], &fwd, cport, 40);
        let l3 = 14;
        let l4o = if v6 { l3 + 40 } else { l3 + 20 };
        let mut v = Vec::new();
        if v6 {
            for pl in [0u16, 1, 7, 20, 60, 1000, 0xffff] {
                let mut f = base.clone();
                f[l3 + 4..l3 + 6].copy_from_slice(&pl.to_be_bytes());
                v.push(f);
            }
            // Jumbogram: payload length 0 and a hop-by-hop jumbo payload
            // option (RFC 2675), with and without the option.
            let jl4 = l4(cport, vport, 0x10, 40);
            let mut ip = ipv6_between(v6b(client), v6b(vip.addr), &[(0, 8)], proto, &jl4, None);
            ip[4..6].copy_from_slice(&0u16.to_be_bytes());
            ip[40 + 2..40 + 8].copy_from_slice(&[0xc2, 4, 0, 0, 0, (8 + jl4.len()) as u8]);
            v.push(fwd.frame(&[], &ip));
            let mut f = fwd.frame(&[], &fwd.ip(0, &[], proto, &jl4));
            f[l3 + 4..l3 + 6].copy_from_slice(&0u16.to_be_bytes());
            v.push(f);
            // Bad extension chain: a fragment header that is not 8 bytes,
            // an unknown next header, version 4 in an IPv6 ethertype.
            let mut f = fwd.frame(&[], &fwd.ip(0, &[(0, 8)], proto, &l4(cport, vport, 0x10, 8)));
            f[l3 + 41] = 200; // hop-by-hop length past the frame
            v.push(f);
            let mut f = base.clone();
            f[l3 + 6] = 253; // experimental next header
            v.push(f);
            let mut f = base.clone();
            f[l3] = 0x45;
            v.push(f);
        } else {
            for ihl in [0u8, 1, 4, 6, 15] {
                let mut f = base.clone();
                f[l3] = 0x40 | ihl;
                v.push(f);
            }
            for tl in [0u16, 19, 20, 21, 39, 40, 1000, 0xffff] {
                let mut f = base.clone();
                f[l3 + 2..l3 + 4].copy_from_slice(&tl.to_be_bytes());
                v.push(f);
            }
            for ver in [0u8, 6, 15] {
                let mut f = base.clone();
                f[l3] = (ver << 4) | 5;
                v.push(f);
            }
            // A later fragment with offset at the maximum.
            let mut f = base.clone();
            f[l3 + 6..l3 + 8].copy_from_slice(&0x1fffu16.to_be_bytes());
            v.push(f);
        }
        if udp {
            for ul in [0u16, 1, 7, 8, 9, 47, 48, 49, 1000, 0xffff] {
                let mut f = base.clone();
                f[l4o + 4..l4o + 6].copy_from_slice(&ul.to_be_bytes());
                v.push(f);
            }
        } else {
            for doff in [0u8, 1, 4, 6, 10, 15] {
                let mut f = base.clone();
                f[l4o + 12] = doff << 4;
                v.push(f);
            }
        }
        // A third VLAN tag, tags without a payload, and a wrong protocol
        // on the VIP's port.
        v.push(plain(&[(0x8100, 1), (0x8100, 2), (0x8100, 3)], &fwd, cport, 10));
        v.push(plain(&[(0x88a8, 1), (0x8100, 2), (0x88a8, 3)], &fwd, cport, 10));
        v.push(pad60(eth_to(
            dmac,
            SRC_MAC,
            &[(0x8100, 1), (0x88a8, 2)],
            0x8100,
            &[],
        )));
        let other = if udp { 6 } else { 17 };
        let ol4 = if udp {
            tcp_ports(cport, vport, 0x02, 5, 0)
        } else {
            udp_ports(cport, vport, None, 8)
        };
        v.push(pad60(fwd.frame(&[], &fwd.ip(0, &[], other, &ol4))));
        c.group("malformed", v);

        // Sizes: minimum, undersize, and jumbo frames around max_frame
        // (the egress MTU: ICMP too-big) and max_rx_frame (rx_oversize).
        let hl = if v6 { 14 + 40 } else { 14 + 20 };
        let l4h = if udp { 8 } else { 20 };
        let mut v = Vec::new();
        for total in [
            60,
            hl + l4h,
            max_frame - 20,
            max_frame - 19,
            max_frame - 8,
            max_frame,
            max_frame + 1,
            9000,
            max_rx - 1,
            max_rx,
            max_rx + 1,
            max_rx + 100,
        ] {
            let data = total.saturating_sub(hl + l4h);
            let p = c.port();
            v.push(fwd.frame(&[], &fwd.ip(0, &[], proto, &l4(p, vport, 0x10, data))));
            // The same size on the flow (a hit rather than a new flow).
            v.push(fwd.frame(&[], &fwd.ip(0, &[], proto, &l4(cport, vport, 0x10, data))));
        }
        for n in [1usize, 13, 14, 20, 33, 59] {
            let f = plain(&[], &fwd, cport, 0);
            v.push(f[..n.min(f.len())].to_vec());
        }
        c.group("sizes", v);
    }
    // Not for the balancer: ARP, a non-VIP address, an unknown ethertype.
    let any = cfg.vips[0].addr;
    let nv = Pkt {
        dmac,
        smac: SRC_MAC,
        src: c.client(any),
        dst: match any {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xdead, 0, 0, 0, 0, 9)),
        },
    };
    let v = vec![
        pad60(eth_to(dmac, SRC_MAC, &[], 0x0806, &[0; 28])),
        pad60(eth_to([0xff; 6], SRC_MAC, &[(0x8100, 3)], 0x0806, &[0; 28])),
        pad60(nv.frame(&[], &nv.ip(0, &[], 17, &udp_ports(1000, 9, None, 10)))),
        pad60(eth_to(dmac, SRC_MAC, &[], 0x88cc, &[0; 40])),
    ];
    c.group("not load-balancer traffic", v);
    let summary = EdgeSummary {
        packets: c.frames.len() as u64,
        bytes: c.frames.iter().map(|f| f.len() as u64).sum(),
        vips: cfg.vips.len() as u64,
        groups: c.groups,
    };
    Ok((c.frames, summary))
}

/// Write the edge cases of `cfg` into a capture, `gap_ns` apart from
/// `start_ns` (written atomically).
pub fn generate_edge(
    cfg: &Config,
    seed: u64,
    start_ns: u64,
    gap_ns: u64,
    out: &Path,
) -> Result<EdgeSummary, EdgeError> {
    let (frames, summary) = edge_cases(cfg, seed)?;
    let mut w = TraceWriter::create(out, Format::for_path(out))?;
    for (i, f) in frames.iter().enumerate() {
        w.write(start_ns + i as u64 * gap_ns, f)?;
    }
    w.finish()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/basic.toml")).unwrap();
        Config::parse(
            &text,
            "basic.toml",
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples")),
        )
        .unwrap()
    }

    #[test]
    fn deterministic_and_covers_every_group() {
        let (a, s) = edge_cases(&cfg(), 7).unwrap();
        let (b, _) = edge_cases(&cfg(), 7).unwrap();
        let (c, _) = edge_cases(&cfg(), 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for g in [
            "vlan",
            "fragments",
            "icmp errors",
            "nat replies and backend-side errors",
            "truncated",
            "malformed",
            "sizes",
        ] {
            assert!(s.groups.iter().any(|x| x.0 == g && x.1 > 0), "{g}: {s:?}");
        }
        assert!(a.iter().any(|f| f.len() > 9600) && a.iter().any(|f| f.len() < 60));
        // Many parse (the rest are truncated or malformed on purpose), and
        // every VIP address is the destination of some.
        let parsed: Vec<_> = a.iter().filter_map(|f| hw_model::packet::parse(f).ok()).collect();
        assert!(parsed.len() > 300, "{} of {}", parsed.len(), a.len());
        for v in &cfg().vips {
            assert!(parsed.iter().any(|p| p.dst == v.addr), "{}", v.name);
        }
    }
}
