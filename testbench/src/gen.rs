//! Deterministic traffic generator driven by a load-balancer config: flows
//! to its VIPs (IPv4/IPv6, TCP with handshakes and teardowns, UDP), uniform
//! or Zipf popularity, packet-size mixes, SYN floods, non-VIP and malformed
//! frames, and timestamps at a port's line rate, a packet rate or a Poisson
//! process. The same spec and seed always give the same bytes.

use crate::trace::{Format, TraceError, TraceWriter};
use etherparse::PacketBuilder;
use hw_model::device::{in_memory, Memory};
use hw_model::functional::Functional;
use lbnic_contract::target::entries::{Mode, Proto};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Zipf};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use table_compiler::config::Config;

/// MAC addresses of generated frames: a client-side router towards the
/// device.
pub const SRC_MAC: [u8; 6] = [0x02, 0xc1, 0x1e, 0x00, 0x00, 0x01];
/// Source MAC of NAT replies: the backends' side of the network.
pub const BACKEND_MAC: [u8; 6] = [0x02, 0xbe, 0x00, 0x00, 0x00, 0x01];

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Popularity {
    Uniform,
    /// Zipf with exponent `s` over the flows (s ~ 1 is typical of the web).
    Zipf(f64),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Sizes {
    /// Frame length without FCS (a "64-byte packet" is 60 here).
    Fixed(u16),
    /// Simple IMIX: 7 x 64, 4 x 594, 1 x 1518 bytes on the wire.
    Imix,
    /// (frame length without FCS, weight).
    Mix(Vec<(u16, u32)>),
    /// Uniform between two frame lengths without FCS (inclusive).
    Uniform(u16, u16),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Rate {
    /// Back to back at this port speed (Gbit/s), counting preamble, FCS and
    /// inter-frame gap.
    LineRate(f64),
    /// Evenly spaced, packets per second.
    Pps(f64),
    /// Exponential gaps with this mean rate.
    Poisson(f64),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenSpec {
    pub seed: u64,
    pub packets: u64,
    pub flows: u32,
    pub popularity: Popularity,
    pub sizes: Sizes,
    /// Share of flows to IPv6 VIPs (when the config has both families).
    pub ipv6: f64,
    /// Share of packets that are spoofed SYNs from random sources.
    pub syn_flood: f64,
    /// Share of packets to addresses that are no VIP.
    pub non_vip: f64,
    /// Share of malformed frames.
    pub malformed: f64,
    /// Share of packets of NAT-VIP flows that are replies from the backend
    /// (backend -> client), once the flow has a backend.
    pub nat_replies: f64,
    /// TCP connections start with a SYN.
    pub handshake: bool,
    /// Mean packets per TCP connection before its FIN (0: never closes).
    pub flow_len: u32,
    /// Share of flow data packets (UDP datagrams, TCP segments after the
    /// handshake) sent as a larger datagram ([`FRAG_SIZES`]) fragmented for
    /// a [`FRAG_MTU`]-byte path, its fragments in shuffled order, back to
    /// back. A capture may end inside a datagram.
    pub fragments: f64,
    pub rate: Rate,
    /// Time of the first packet, ns since the epoch.
    pub start_ns: u64,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            seed: 1,
            packets: 10_000,
            flows: 1_000,
            popularity: Popularity::Uniform,
            sizes: Sizes::Fixed(60),
            ipv6: 0.25,
            syn_flood: 0.0,
            non_vip: 0.0,
            malformed: 0.0,
            nat_replies: 0.0,
            handshake: true,
            flow_len: 0,
            fragments: 0.0,
            rate: Rate::LineRate(100.0),
            start_ns: 1_700_000_000_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GenSummary {
    pub packets: u64,
    pub bytes: u64,
    pub flow_packets: u64,
    pub syn: u64,
    pub fin: u64,
    pub udp: u64,
    pub syn_flood: u64,
    pub non_vip: u64,
    pub malformed: u64,
    pub nat_replies: u64,
    /// Datagrams sent fragmented, and their fragments (in `flow_packets`).
    pub fragmented: u64,
    pub fragments: u64,
    pub duration_ns: u64,
}

/// Frame sizes of datagrams sent fragmented (`GenSpec::fragments`).
pub const FRAG_SIZES: std::ops::RangeInclusive<usize> = 1600..=4500;
/// The path MTU they are fragmented for: IPv6's minimum, common for DNS
/// and tunnels, and small enough that an encapsulated fragment still fits
/// a 1514-byte frame.
pub const FRAG_MTU: usize = 1280;

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("the config has no VIP to send traffic to")]
    NoVips,
    #[error("bad generator setting: {0}")]
    Spec(String),
    #[error("compiling the config for NAT replies: {0}")]
    Compile(String),
    #[error("model for NAT replies: {0}")]
    Model(String),
    #[error(transparent)]
    Trace(#[from] TraceError),
}

#[derive(Clone)]
struct Target {
    addr: IpAddr,
    port: u16,
    udp: bool,
    nat: bool,
}

struct Flow {
    vip: usize,
    client: IpAddr,
    port: u16,
    open: bool,
    sent: u32,
    end_at: u32,
    /// Next sequence number of the client and of the server (a NAT reply).
    seq: u32,
    rseq: u32,
    /// NAT flows: the backend address and port the model sent it to.
    backend: Option<(IpAddr, u16)>,
}

/// Makes frames; one per call of [`Generator::next_frame`].
pub struct Generator {
    spec: GenSpec,
    rng: ChaCha8Rng,
    vips: Vec<Target>,
    flows: Vec<Flow>,
    zipf: Option<Zipf<f64>>,
    /// Offset from `start_ns` (an f64 of epoch nanoseconds would be
    /// precise only to 256 ns).
    t_ns: f64,
    dst_mac: [u8; 6],
    /// The functional model, fed every frame, when NAT replies are wanted:
    /// it says which backend each NAT flow went to.
    model: Option<Functional<Memory>>,
    /// Fragments of the current datagram still to send.
    queued: VecDeque<Vec<u8>>,
    pub summary: GenSummary,
}

/// Client ports: the IANA dynamic range, where no service is registered (so
/// a dissector takes the filler payload for nothing in particular).
const CLIENT_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

fn client_addr(rng: &mut ChaCha8Rng, v6: bool) -> IpAddr {
    if v6 {
        let mut o = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 0).octets();
        rng.fill(&mut o[8..]);
        IpAddr::V6(Ipv6Addr::from(o))
    } else {
        // 198.18.0.0/15, the benchmarking range.
        let x: u32 = rng.gen_range(1..(1 << 17) - 1);
        IpAddr::V4(Ipv4Addr::from((198u32 << 24 | 18 << 16) + x))
    }
}

impl Generator {
    pub fn new(cfg: &Config, spec: GenSpec) -> Result<Generator, GenError> {
        for (name, v) in [
            ("ipv6", spec.ipv6),
            ("syn_flood", spec.syn_flood),
            ("non_vip", spec.non_vip),
            ("malformed", spec.malformed),
            ("nat_replies", spec.nat_replies),
            ("fragments", spec.fragments),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(GenError::Spec(format!("{name} = {v} is not a share in 0..=1")));
            }
        }
        if spec.syn_flood + spec.non_vip + spec.malformed > 1.0 {
            return Err(GenError::Spec("syn_flood + non_vip + malformed exceed 1".into()));
        }
        if spec.flows == 0 {
            return Err(GenError::Spec("flows must be at least 1".into()));
        }
        match &spec.sizes {
            Sizes::Fixed(n) if !(60..=9000).contains(n) => {
                return Err(GenError::Spec(format!("size {n} is outside 60..=9000")))
            }
            Sizes::Uniform(a, b) if !(60..=9000).contains(a) || !(60..=9000).contains(b) || a > b => {
                return Err(GenError::Spec(format!(
                    "size range {a}..={b} is outside 60..=9000"
                )))
            }
            Sizes::Mix(m)
                if m.is_empty()
                    || m.iter().any(|(n, _)| !(60..=9000).contains(n))
                    || m.iter().all(|(_, w)| *w == 0) =>
            {
                return Err(GenError::Spec(
                    "size mix needs sizes in 60..=9000 and a positive weight".into(),
                ))
            }
            _ => {}
        }
        match spec.rate {
            Rate::LineRate(g) | Rate::Pps(g) | Rate::Poisson(g) if !(g > 0.0 && g.is_finite()) => {
                return Err(GenError::Spec(format!("rate {g} must be positive")))
            }
            _ => {}
        }
        let vips: Vec<Target> = cfg
            .vips
            .iter()
            .map(|v| Target {
                addr: v.addr,
                port: v.port,
                udp: v.proto == Proto::Udp,
                nat: v.mode == Mode::Nat,
            })
            .collect();
        if vips.is_empty() {
            return Err(GenError::NoVips);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let v6: Vec<usize> = (0..vips.len()).filter(|&i| vips[i].addr.is_ipv6()).collect();
        let v4: Vec<usize> = (0..vips.len()).filter(|&i| vips[i].addr.is_ipv4()).collect();
        let mut flows = Vec::with_capacity(spec.flows as usize);
        for _ in 0..spec.flows {
            let pick6 = !v6.is_empty() && (v4.is_empty() || rng.gen_bool(spec.ipv6));
            let pool = if pick6 { &v6 } else { &v4 };
            let vip = pool[rng.gen_range(0..pool.len())];
            let client = client_addr(&mut rng, vips[vip].addr.is_ipv6());
            let end_at = Self::flow_end(&mut rng, spec.flow_len);
            flows.push(Flow {
                vip,
                client,
                port: rng.gen_range(CLIENT_PORTS),
                open: !spec.handshake,
                sent: 0,
                end_at,
                seq: rng.gen(),
                rseq: rng.gen(),
                backend: None,
            });
        }
        let zipf = match spec.popularity {
            Popularity::Uniform => None,
            Popularity::Zipf(s) => Some(Zipf::new(spec.flows as u64, s).map_err(|_| {
                GenError::Spec(format!(
                    "Zipf exponent {s} is not usable: it must be a finite number of 0 or more"
                ))
            })?),
        };
        let model = if spec.nat_replies > 0.0 && vips.iter().any(|v| v.nat) {
            let (img, _) = table_compiler::compile::compile(cfg, None, None)
                .map_err(|e| GenError::Compile(e.to_string()))?;
            let mut m =
                Functional::new(in_memory(cfg.target.clone()).map_err(|e| GenError::Model(e.to_string()))?);
            m.dev.flash(&img).map_err(|e| GenError::Model(e.to_string()))?;
            Some(m)
        } else {
            None
        };
        Ok(Generator {
            model,
            t_ns: 0.0,
            spec,
            rng,
            vips,
            flows,
            zipf,
            dst_mac: cfg.device_mac,
            queued: VecDeque::new(),
            summary: GenSummary::default(),
        })
    }

    fn flow_end(rng: &mut ChaCha8Rng, mean: u32) -> u32 {
        if mean == 0 {
            u32::MAX
        } else {
            rng.gen_range(1..=2 * mean)
        }
    }

    fn size(&mut self) -> usize {
        match &self.spec.sizes {
            Sizes::Fixed(n) => *n as usize,
            Sizes::Imix => match self.rng.gen_range(0..12) {
                0..=6 => 60,
                7..=10 => 590,
                _ => 1514,
            },
            Sizes::Uniform(a, b) => self.rng.gen_range(*a..=*b) as usize,
            Sizes::Mix(m) => {
                let total: u64 = m.iter().map(|(_, w)| *w as u64).sum();
                let mut x = self.rng.gen_range(0..total);
                for (n, w) in m {
                    if x < *w as u64 {
                        return *n as usize;
                    }
                    x -= *w as u64;
                }
                m[m.len() - 1].0 as usize
            }
        }
    }

    fn build(&self, src: IpAddr, dst: IpAddr, l4: L4, size: usize) -> Vec<u8> {
        self.build_l4(src, dst, l4, size).0
    }

    /// The frame and its L4 payload length.
    fn build_l4(&self, src: IpAddr, dst: IpAddr, l4: L4, size: usize) -> (Vec<u8>, u32) {
        let eth = PacketBuilder::ethernet2(SRC_MAC, self.dst_mac);
        let ip = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (s, d) => eth.ipv6(v6(s), v6(d), 64),
        };
        let hdr = |n: usize| size.saturating_sub(n);
        let (mut out, n) = match l4 {
            L4::Udp(sp, dp) => {
                let b = ip.udp(sp, dp);
                let pay = vec![0xa5; hdr(b.size(0))];
                let mut v = Vec::with_capacity(b.size(pay.len()));
                b.write(&mut v, &pay).expect("writing to a Vec");
                (v, pay.len())
            }
            L4::Tcp(sp, dp, flags, seq, ack) => {
                let mut b = ip.tcp(sp, dp, seq, 64240);
                if flags & 0x02 != 0 {
                    b = b.syn();
                }
                if flags & 0x10 != 0 {
                    b = b.ack(ack);
                }
                if flags & 0x01 != 0 {
                    b = b.fin();
                }
                let pay = if flags & 0x02 != 0 {
                    Vec::new()
                } else {
                    vec![0x5a; hdr(b.size(0))]
                };
                let mut v = Vec::with_capacity(b.size(pay.len()));
                b.write(&mut v, &pay).expect("writing to a Vec");
                (v, pay.len())
            }
        };
        if out.len() < 60 {
            out.resize(60, 0); // Ethernet padding.
        }
        (out, n as u32)
    }

    fn malformed(&mut self) -> Vec<u8> {
        let v = &self.vips[self.rng.gen_range(0..self.vips.len())].clone();
        let src = client_addr(&mut self.rng, v.addr.is_ipv6());
        let mut f = self.build(src, v.addr, L4::Udp(1234, v.port.max(1)), 100);
        let ip = 14;
        match self.rng.gen_range(0..6) {
            0 => f.truncate(self.rng.gen_range(1..ip + 10)), // truncated headers
            1 if v.addr.is_ipv4() => f[ip] = 0x44,           // IHL 4
            2 if v.addr.is_ipv4() => f[ip + 2..ip + 4].copy_from_slice(&9000u16.to_be_bytes()), // total length past the frame
            3 => {
                // UDP length 0.
                let l4 = if v.addr.is_ipv4() { ip + 20 } else { ip + 40 };
                f[l4 + 4..l4 + 6].copy_from_slice(&0u16.to_be_bytes());
            }
            4 => f[12..14].copy_from_slice(&0x0806u16.to_be_bytes()), // ARP ethertype, IP body
            _ => f[ip] = 0x75,                                        // IP version 7
        }
        f
    }

    /// Fragment `frame` for [`FRAG_MTU`] in shuffled order: the first
    /// fragment to send now, the rest queued.
    fn split(&mut self, frame: Vec<u8>) -> Vec<u8> {
        let v6 = frame.get(12..14) == Some(&[0x86, 0xdd][..]);
        let chunk = FRAG_MTU - if v6 { 40 + 8 } else { 20 };
        let id = self.rng.gen();
        match crate::frag::fragment(&frame, chunk, id) {
            Ok(mut parts) if parts.len() > 1 => {
                parts.shuffle(&mut self.rng);
                self.summary.fragmented += 1;
                self.summary.fragments += 1;
                let first = parts.remove(0);
                self.queued.extend(parts);
                first
            }
            _ => frame,
        }
    }

    /// The next frame and its timestamp.
    pub fn next_frame(&mut self) -> (u64, Vec<u8>) {
        let r: f64 = self.rng.gen();
        let s = self.spec.clone();
        let ts = s.start_ns + self.t_ns as u64;
        let mut nat_flow = None;
        let frame = if let Some(f) = self.queued.pop_front() {
            self.summary.flow_packets += 1;
            self.summary.fragments += 1;
            f
        } else if r < s.malformed {
            self.summary.malformed += 1;
            self.malformed()
        } else if r < s.malformed + s.syn_flood {
            self.summary.syn_flood += 1;
            let tcp: Vec<usize> = (0..self.vips.len()).filter(|&i| !self.vips[i].udp).collect();
            let i = if tcp.is_empty() {
                0
            } else {
                tcp[self.rng.gen_range(0..tcp.len())]
            };
            let v = self.vips[i].clone();
            let src = client_addr(&mut self.rng, v.addr.is_ipv6());
            let sp = self.rng.gen_range(CLIENT_PORTS);
            let dp = if v.port == 0 {
                self.rng.gen_range(1..=65535)
            } else {
                v.port
            };
            let seq: u32 = self.rng.gen();
            self.build(src, v.addr, L4::Tcp(sp, dp, 0x02, seq, 0), 60)
        } else if r < s.malformed + s.syn_flood + s.non_vip {
            self.summary.non_vip += 1;
            let v6 = self.rng.gen_bool(s.ipv6);
            let src = client_addr(&mut self.rng, v6);
            let dst = if v6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xdead, 0, 0, 0, 0, self.rng.gen()))
            } else {
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, self.rng.gen()))
            };
            let size = self.size();
            let sp = self.rng.gen_range(CLIENT_PORTS);
            self.build(src, dst, L4::Udp(sp, 9), size)
        } else {
            self.summary.flow_packets += 1;
            let i = match &self.zipf {
                None => self.rng.gen_range(0..self.flows.len()),
                Some(z) => (z.sample(&mut self.rng) as usize).clamp(1, self.flows.len()) - 1,
            };
            let frag = s.fragments > 0.0 && self.rng.gen_bool(s.fragments);
            let size = if frag {
                self.rng.gen_range(FRAG_SIZES)
            } else {
                self.size()
            };
            let (vip, client, port, open, sent, end_at, seq, rseq) = {
                let f = &self.flows[i];
                (f.vip, f.client, f.port, f.open, f.sent, f.end_at, f.seq, f.rseq)
            };
            let v = self.vips[vip].clone();
            let dp = if v.port == 0 { 80 } else { v.port };
            if v.nat {
                nat_flow = Some(i);
            }
            let backend = self.flows[i].backend;
            if let Some((baddr, bport)) = backend.filter(|_| v.nat && self.rng.gen_bool(s.nat_replies)) {
                self.summary.nat_replies += 1;
                nat_flow = None;
                let l4 = if v.udp {
                    L4::Udp(bport, port)
                } else {
                    L4::Tcp(bport, port, 0x10, rseq, seq)
                };
                // A reply is never one of the fragmented datagrams.
                let size = if frag { self.size() } else { size };
                let (mut f, n) = self.build_l4(baddr, client, l4, size);
                self.flows[i].rseq = rseq.wrapping_add(n);
                f[6..12].copy_from_slice(&BACKEND_MAC);
                f
            } else if v.udp {
                self.summary.udp += 1;
                let f = self.build(client, v.addr, L4::Udp(port, dp), size);
                if frag {
                    nat_flow = None;
                    self.split(f)
                } else {
                    f
                }
            } else if !open {
                self.summary.syn += 1;
                self.flows[i].open = true;
                self.flows[i].seq = seq.wrapping_add(1);
                self.flows[i].rseq = rseq.wrapping_add(1);
                self.build(client, v.addr, L4::Tcp(port, dp, 0x02, seq, 0), 60)
            } else if sent + 1 >= end_at {
                self.summary.fin += 1;
                // Close, and the next packet of this flow opens a new
                // connection from a new port.
                let next_port = self.rng.gen_range(CLIENT_PORTS);
                let end = Self::flow_end(&mut self.rng, s.flow_len);
                let (nseq, nrseq) = (self.rng.gen(), self.rng.gen());
                let f = &mut self.flows[i];
                f.seq = nseq;
                f.rseq = nrseq;
                f.open = !s.handshake;
                f.sent = 0;
                f.end_at = end;
                f.port = next_port;
                f.backend = None;
                nat_flow = None;
                self.build(client, v.addr, L4::Tcp(port, dp, 0x11, seq, rseq), 60)
            } else {
                let (f, n) = self.build_l4(client, v.addr, L4::Tcp(port, dp, 0x10, seq, rseq), size);
                self.flows[i].sent += 1;
                self.flows[i].seq = seq.wrapping_add(n);
                if frag {
                    nat_flow = None;
                    self.split(f)
                } else {
                    f
                }
            }
        };
        if let Some(m) = self.model.as_mut() {
            let out = m.process(&frame, ts);
            if let (Some(i), Some(out)) = (nat_flow, out) {
                // The forward rewrite put the backend in the destination.
                if let Ok(p) = hw_model::packet::parse(out) {
                    if self.flows[i].backend.is_none() {
                        self.flows[i].backend = Some((p.dst, p.dport));
                    }
                }
            }
        }
        let gap = match s.rate {
            Rate::LineRate(g) => ((frame.len().max(60) + 4 + 8 + 12) * 8) as f64 / g,
            Rate::Pps(p) => 1e9 / p,
            Rate::Poisson(p) => Exp::new(p / 1e9).map(|e| e.sample(&mut self.rng)).unwrap_or(0.0),
        };
        self.t_ns += gap;
        self.summary.packets += 1;
        self.summary.bytes += frame.len() as u64;
        self.summary.duration_ns = ts - s.start_ns;
        (ts, frame)
    }
}

enum L4 {
    Udp(u16, u16),
    /// sport, dport, flags, seq, ack
    Tcp(u16, u16, u8, u32, u32),
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(v) => v.octets(),
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
    }
}

/// Generate `spec.packets` frames into a capture file (written atomically).
pub fn generate(
    cfg: &Config,
    spec: GenSpec,
    out: &Path,
    mut progress: impl FnMut(u64),
) -> Result<GenSummary, GenError> {
    let mut g = Generator::new(cfg, spec)?;
    let mut w = TraceWriter::create(out, Format::for_path(out))?;
    for i in 0..g.spec.packets {
        let (ts, f) = g.next_frame();
        w.write(ts, &f)?;
        if i % 65536 == 0 {
            progress(i);
        }
    }
    w.finish()?;
    Ok(g.summary)
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
    fn deterministic_and_every_frame_parses_unless_malformed() {
        let spec = GenSpec {
            packets: 3000,
            flows: 50,
            sizes: Sizes::Imix,
            popularity: Popularity::Zipf(1.1),
            syn_flood: 0.05,
            non_vip: 0.05,
            malformed: 0.05,
            flow_len: 10,
            ..GenSpec::default()
        };
        let mut a = Generator::new(&cfg(), spec.clone()).unwrap();
        let mut b = Generator::new(&cfg(), spec).unwrap();
        let mut last = 0;
        for _ in 0..3000 {
            let (ta, fa) = a.next_frame();
            let (tb, fb) = b.next_frame();
            assert_eq!((ta, &fa), (tb, &fb));
            assert!(ta >= last);
            last = ta;
            assert!(!fa.is_empty());
        }
        let s = &a.summary;
        assert_eq!(s.packets, 3000);
        assert!(s.malformed > 100 && s.syn_flood > 100 && s.non_vip > 100, "{s:?}");
        assert!(s.syn > 0 && s.fin > 0 && s.udp > 0, "{s:?}");
        let ok = s.flow_packets + s.syn_flood + s.non_vip;
        assert_eq!(ok + s.malformed, 3000);
    }

    /// `fragments`: a datagram's fragments come back to back in some
    /// order, each parses as a first or later fragment, and the counts add
    /// up.
    #[test]
    fn fragmented_datagrams_come_whole_and_shuffled() {
        use hw_model::packet::{parse, Frag};
        let spec = GenSpec {
            packets: 4000,
            flows: 100,
            fragments: 0.3,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg(), spec).unwrap();
        let (mut later_first, mut run, mut last) = (0, 0usize, None);
        for _ in 0..4000 {
            let (_, f) = g.next_frame();
            let p = parse(&f).unwrap();
            if p.frag == Frag::None {
                continue;
            }
            assert!(f.len() <= 14 + FRAG_MTU, "{}", f.len());
            let id = (p.src, p.frag_id);
            if last != Some(id) {
                run = 0;
                later_first += (p.frag == Frag::Later) as u32;
            }
            run += 1;
            assert!(run <= FRAG_SIZES.end().div_ceil(FRAG_MTU - 48) + 1);
            last = Some(id);
        }
        let s = &g.summary;
        assert!(s.fragmented > 100 && s.fragments >= 2 * s.fragmented, "{s:?}");
        assert!(
            later_first > 20,
            "shuffled: some datagrams start with a later fragment"
        );
        assert_eq!(s.flow_packets, 4000);
    }

    #[test]
    fn line_rate_spacing_of_64_byte_frames() {
        let spec = GenSpec {
            packets: 1000,
            ..GenSpec::default()
        };
        let mut g = Generator::new(&cfg(), spec).unwrap();
        let (t0, _) = g.next_frame();
        let (t1, _) = g.next_frame();
        // 84 bytes on the wire at 100 Gbit/s: 6.72 ns.
        assert!((6..=7).contains(&(t1 - t0)), "{}", t1 - t0);
    }

    #[test]
    fn bad_specs_are_refused() {
        for spec in [
            GenSpec {
                flows: 0,
                ..GenSpec::default()
            },
            GenSpec {
                malformed: 1.5,
                ..GenSpec::default()
            },
            GenSpec {
                sizes: Sizes::Fixed(20),
                ..GenSpec::default()
            },
            GenSpec {
                rate: Rate::Pps(0.0),
                ..GenSpec::default()
            },
            GenSpec {
                popularity: Popularity::Zipf(-1.0),
                ..GenSpec::default()
            },
        ] {
            assert!(Generator::new(&cfg(), spec).is_err());
        }
    }
}
