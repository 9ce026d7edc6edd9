//! Test vectors for the RTL of the path-MTU answers (rtl/lbnic_icmp_rate.sv,
//! rtl/lbnic_icmp_too_big.sv), computed by the Rust model: the token bucket
//! `hw_model::packet::icmp::RateLimit` and `hw_model::pipeline::too_big`
//! (answerable, rate limit, answer frame), fed with the `len` / `max` the
//! model's rewrites (`hw_model::packet::rewrite`) report for packets too big
//! for a small `max_frame`.
//!
//! usage: rtl_vectors_icmp DIR   (writes DIR/icmp_rate.txt, DIR/icmp_rate_tick7.txt
//! (the same at a 7 us tick), DIR/icmp_too_big.txt)
//!
//! icmp_rate.txt, one request a line: `R` (CONTROL.RESET) or
//! `now rate burst send` (decimal; send 0/1).
//!
//! icmp_too_big.txt, one event a line (hex unless said):
//! `R` (reset), or a packet:
//! `P forward now rate burst len max max_frame l2_len l3_len ipv6 frag icmp_err
//!    src_mac dev_mac src dst flen f0 f1 ... reason sent limited alen a0 a1 ...`
//! where src_mac/dev_mac are 12 hex digits (wire order), src/dst 32 hex
//! digits (16 octets in wire order, IPv4 mapped ::ffff:a.b.c.d), frag 0 none
//! / 1 first / 2 later, reason the first `Unanswerable` rule that refuses
//! (0 answerable, 1 ICMP error, 2 later fragment, 3 no DF, 4 not unicast,
//! 5 below the minimum MTU, 6 not a Forward decision), sent/limited the
//! packet's increments of icmp_too_big_sent / icmp_rate_limited, and the
//! answer's bytes (alen 0: no answer).

use hw_model::device::Counters;
use hw_model::packet::icmp::{answerable, RateLimit, Unanswerable};
use hw_model::packet::rewrite::{self, Outer, RewriteError};
use hw_model::packet::{parse, Frag, Parsed};
use lbnic_contract::target::entries::{addr_to_bytes as addr16, GlobalRepr};
use lbnic_contract::target::regs::Counter;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// The default target's tick, as in rtl/pkg/lbnic_pkg.sv TARGET_CT_TICK_US.
fn tick_us() -> u32 {
    lbnic_contract::target::Target::default().ct_tick_us
}
const DEV: [u8; 6] = [2, 0, 0x5e, 0, 0, 1];
const BE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xbe];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn rate_vectors(rng: &mut Rng, tick_us: u32) -> String {
    let mut s = String::new();
    let mut r = RateLimit::new(tick_us);
    let mut now: u32 = 0;
    let mut line = |r: &mut RateLimit, now: u32, rate: u32, burst: u32| {
        let send = r.take(now, rate, burst);
        let _ = writeln!(s, "{now} {rate} {burst} {}", send as u8);
    };
    // Hand-made: a burst of 5 back to back, one token a tick, rate 0,
    // time going backwards (saturates to no refill), huge values.
    for _ in 0..8 {
        line(&mut r, 100, 1000, 5);
    }
    line(&mut r, 101, 1000, 5);
    line(&mut r, 101, 1000, 5);
    line(&mut r, 103, 500, 5);
    line(&mut r, 50, 500, 5);
    line(&mut r, 60, 500, 5);
    line(&mut r, 4000, 0, 50);
    line(&mut r, 4001, 0, 50);
    line(&mut r, u32::MAX, u32::MAX, u32::MAX);
    line(&mut r, u32::MAX, u32::MAX, u32::MAX);
    line(&mut r, 0, 1, 1);
    line(&mut r, 1_000_000, 1, 1);
    line(&mut r, 1_000_999, 1, 1);
    line(&mut r, 1_001_000, 1, 1);
    line(&mut r, 1_001_000, 1, 1);
    // dt x rate = 2^43 and 3 x 2^43 after draining: low 43 bits 0, so a
    // refill cut to its width (the RTL's pipelined one is 43 x 10 bits
    // wide, and says when it overflows) would refuse; the model saturates.
    for dt in [0, 4096, 4096 + 12288] {
        for _ in 0..4 {
            line(&mut r, 2_000_000 + dt, 1 << 31, 3);
        }
    }
    // Random segments: a (rate, burst) "bank" for a while, bursts and gaps.
    let mut text = String::new();
    for seg in 0..200 {
        if rng.chance(10) {
            r.reset();
            text.push_str("R\n");
        }
        let rate = match rng.below(6) {
            0 => 0,
            1 => 1 + rng.below(3) as u32,
            2 => 1_000_000,
            3 => rng.next() as u32,
            _ => 1 + rng.below(5000) as u32,
        };
        let burst = match rng.below(4) {
            0 => 1,
            1 => rng.next() as u32,
            _ => 1 + rng.below(60) as u32,
        };
        for _ in 0..(5 + rng.below(60)) {
            now = match rng.below(10) {
                0 => now.wrapping_add(rng.below(100_000) as u32),
                1 if seg % 7 == 0 => now.wrapping_sub(rng.below(5) as u32),
                2..=5 => now,
                _ => now.wrapping_add(rng.below(3) as u32),
            };
            let send = r.take(now, rate, burst);
            let _ = writeln!(text, "{now} {rate} {burst} {}", send as u8);
        }
    }
    s + &text
}

fn hex(s: &mut String, b: &[u8]) {
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
}

/// What to build.
struct Spec {
    vlans: usize,
    v6: bool,
    df: bool,
    /// 0 none, 1 first, 2 later
    frag: u8,
    /// 0 UDP, 1 TCP, 2 ICMP error
    l4: u8,
    options: usize,
    src: IpAddr,
    dst: IpAddr,
    payload: usize,
}

fn sum16(acc: u32, d: &[u8]) -> u32 {
    hw_model::packet::checksum::sum(acc, d)
}

fn build(rng: &mut Rng, s: &Spec) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&DEV);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 0xaa + rng.below(3) as u8]);
    for i in 0..s.vlans {
        let tpid: u16 = if i == 0 && s.vlans == 2 { 0x88a8 } else { 0x8100 };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(rng.below(4096) as u16).to_be_bytes());
    }
    f.extend_from_slice(if s.v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
    let l3 = f.len();
    let mut l4 = Vec::new();
    let proto: u8;
    let mut pay: Vec<u8> = (0..s.payload).map(|_| rng.next() as u8).collect();
    match s.l4 {
        0 => {
            proto = 17;
            l4.extend_from_slice(&(40000 + rng.below(1000) as u16).to_be_bytes());
            l4.extend_from_slice(&53u16.to_be_bytes());
            l4.extend_from_slice(&((8 + pay.len()) as u16).to_be_bytes());
            l4.extend_from_slice(&(rng.next() as u16).to_be_bytes());
        }
        1 => {
            proto = 6;
            l4.extend_from_slice(&(40000 + rng.below(1000) as u16).to_be_bytes());
            l4.extend_from_slice(&443u16.to_be_bytes());
            l4.extend_from_slice(&(rng.next() as u32).to_be_bytes());
            l4.extend_from_slice(&(rng.next() as u32).to_be_bytes());
            l4.extend_from_slice(&[0x50, 0x10, 0xfa, 0xf0, 0x12, 0x34, 0, 0]);
        }
        _ => {
            // An ICMP error quoting a packet from the destination to the
            // source (UDP ports), then the random payload.
            proto = if s.v6 { 58 } else { 1 };
            l4.extend_from_slice(if s.v6 {
                &[1, 4, 0x11, 0x22]
            } else {
                &[3, 3, 0x11, 0x22]
            });
            l4.extend_from_slice(&[0, 0, 0, 0]);
            let (qs, qd) = (s.dst, s.src);
            if s.v6 {
                l4.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 17, 64]);
                l4.extend_from_slice(&addr16(qs));
                l4.extend_from_slice(&addr16(qd));
            } else {
                l4.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0]);
                l4.extend_from_slice(&addr16(qs)[12..]);
                l4.extend_from_slice(&addr16(qd)[12..]);
            }
            l4.extend_from_slice(&[0, 53, 0x9c, 0x40, 0, 8, 0, 0]);
        }
    }
    if s.frag == 2 {
        // A later fragment carries no L4 header.
        l4.clear();
        pay.truncate(pay.len() & !7);
    }
    let mut body = l4;
    body.extend_from_slice(&pay);
    if s.v6 {
        let fh = s.frag != 0;
        let plen = body.len() + if fh { 8 } else { 0 };
        f.extend_from_slice(&[0x60, rng.below(256) as u8, 0, 0]);
        f.extend_from_slice(&(plen as u16).to_be_bytes());
        f.extend_from_slice(&[if fh { 44 } else { proto }, 64]);
        f.extend_from_slice(&addr16(s.src));
        f.extend_from_slice(&addr16(s.dst));
        if fh {
            let off: u16 = if s.frag == 2 {
                8 * (1 + rng.below(100) as u16)
            } else {
                0
            };
            let more = if s.frag == 1 { 1 } else { rng.below(2) as u16 };
            f.extend_from_slice(&[proto, 0]);
            f.extend_from_slice(&(off | more).to_be_bytes());
            f.extend_from_slice(&(rng.next() as u32).to_be_bytes());
        }
    } else {
        let ihl = 5 + s.options;
        let tl = 4 * ihl + body.len();
        f.extend_from_slice(&[0x40 | ihl as u8, rng.below(256) as u8]);
        f.extend_from_slice(&(tl as u16).to_be_bytes());
        f.extend_from_slice(&(rng.next() as u16).to_be_bytes());
        let mut ff: u16 = if s.df { 0x4000 } else { 0 };
        ff |= match s.frag {
            1 => 0x2000,
            2 => (1 + rng.below(100) as u16) | if rng.chance(50) { 0x2000 } else { 0 },
            _ => 0,
        };
        f.extend_from_slice(&ff.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&addr16(s.src)[12..]);
        f.extend_from_slice(&addr16(s.dst)[12..]);
        for _ in 0..s.options {
            f.extend_from_slice(&[1, 1, 1, 1]);
        }
        let c = !hw_model::packet::checksum::fold(sum16(0, &f[l3..l3 + 4 * ihl]));
        f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&body);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn src_addr(rng: &mut Rng, v6: bool) -> IpAddr {
    if rng.chance(75) {
        return if v6 {
            let mut o = [0u8; 16];
            o[0] = 0x20;
            o[1] = 0x01;
            o[2] = 0x0d;
            o[3] = 0xb8;
            for b in &mut o[4..] {
                *b = rng.next() as u8;
            }
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            v4([
                1 + rng.below(200) as u8,
                rng.next() as u8,
                rng.next() as u8,
                rng.next() as u8,
            ])
        };
    }
    if v6 {
        let special = [
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
            "ff02::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            "ff0e::1:2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            "::ffff:127.0.0.1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            "::ffff:255.255.255.255".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            "::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            "fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
        ];
        IpAddr::V6(rng.pick(&special))
    } else {
        rng.pick(&[
            v4([0, 0, 0, 0]),
            v4([255, 255, 255, 255]),
            v4([224, 0, 0, 5]),
            v4([239, 255, 1, 2]),
            v4([127, 0, 0, 1]),
            v4([127, 9, 8, 7]),
            v4([0, 1, 2, 3]),
            v4([223, 255, 255, 255]),
            v4([240, 0, 0, 1]),
            v4([255, 255, 255, 254]),
        ])
    }
}

/// A source that may be answered.
fn unicast_src(rng: &mut Rng, v6: bool) -> IpAddr {
    loop {
        let a = src_addr(rng, v6);
        let special = match a {
            IpAddr::V4(v) => v.is_unspecified() || v.is_broadcast() || v.is_multicast() || v.is_loopback(),
            IpAddr::V6(v) => v.is_unspecified() || v.is_multicast() || v.is_loopback(),
        };
        if !special {
            return a;
        }
    }
}

fn dst_addr(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 {
        let mut o = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        o[15] = 1 + rng.below(200) as u8;
        IpAddr::V6(Ipv6Addr::from(o))
    } else {
        v4([192, 0, 2, 1 + rng.below(200) as u8])
    }
}

/// The rewrite of `mode` (0 DR, 1 NAT, 2 IPIP, 3 GUE) to a backend of
/// family `be6`: Err(TooBig) with its len / max, Ok: fits.
fn rewrite(frame: &[u8], p: &Parsed, mode: u8, be6: bool, max: usize) -> Option<(usize, usize)> {
    let mut out = Vec::new();
    let be = if be6 {
        IpAddr::V6("2001:db8:ff::9".parse().unwrap_or(Ipv6Addr::UNSPECIFIED))
    } else {
        v4([10, 0, 0, 9])
    };
    let o = Outer {
        src: if be6 {
            IpAddr::V6("2001:db8:fe::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED))
        } else {
            v4([10, 1, 0, 1])
        },
        dst: be,
        flow_label: 0x12345,
        dst_mac: BE_MAC,
        src_mac: DEV,
    };
    let r = match mode {
        0 => rewrite::dr(frame, p, BE_MAC, DEV, max, &mut out),
        1 => {
            let be = if p.ipv6 {
                IpAddr::V6("2001:db8:ff::9".parse().unwrap_or(Ipv6Addr::UNSPECIFIED))
            } else {
                v4([10, 0, 0, 9])
            };
            rewrite::nat_forward(frame, p, be, Some(8080), BE_MAC, DEV, max, &mut out)
        }
        2 => rewrite::encap_ipip(frame, p, &o, max, &mut out),
        _ => rewrite::encap_gue(frame, p, &o, 0xc123, 6080, max, &mut out),
    };
    match r {
        Err(RewriteError::TooBig { len, max }) => Some((len, max)),
        _ => None,
    }
}

fn reason(r: Result<(), Unanswerable>) -> u8 {
    match r {
        Ok(()) => 0,
        Err(Unanswerable::IcmpError) => 1,
        Err(Unanswerable::LaterFragment) => 2,
        Err(Unanswerable::NoDf) => 3,
        Err(Unanswerable::NotUnicast(_)) => 4,
        Err(Unanswerable::BelowMinimum { .. }) => 5,
    }
}

fn global(max_frame: u16, rate: u32, burst: u32) -> GlobalRepr {
    GlobalRepr {
        toeplitz_key: [0; lbnic_contract::target::entries::TOEPLITZ_KEY_LEN],
        device_mac: DEV,
        gue_port: 6080,
        tun_src_v4: Ipv4Addr::new(10, 1, 0, 0),
        tun_src_v4_len: 24,
        tun_src_v6: Ipv6Addr::UNSPECIFIED,
        tun_src_v6_len: 64,
        vip_count: 1,
        backend_count: 1,
        timeout_tcp_syn: 0,
        timeout_tcp_est: 0,
        timeout_tcp_fin: 0,
        timeout_udp: 0,
        max_frame,
        gateway_mac: [2, 0, 0, 0, 0, 0x77],
        icmp_rate: rate,
        icmp_burst: burst,
        image_id: [0; 16],
        parent_id: [0; 16],
    }
}

struct Stats {
    cases: usize,
    sent: usize,
    limited: usize,
    reasons: [usize; 7],
    quote_cut: usize,
    /// Answers: IPv6, quote cut at 576 / 1280, cut by max_frame, 2 VLAN tags.
    v6: usize,
    cut_limit: usize,
    cut_max: usize,
    qinq: usize,
}

/// One too-big packet (if `frame` is too big for `max_frame` once rewritten
/// in `mode`) into `s`, through the model's `too_big` and its bucket.
#[allow(clippy::too_many_arguments)]
fn record(
    s: &mut String,
    icmp: &mut RateLimit,
    stats: &mut Stats,
    (now, rate, burst): (u32, u32, u32),
    frame: &[u8],
    p: &Parsed,
    (mode, be6, max_frame, forward): (u8, bool, usize, bool),
) -> bool {
    let Some((len, max)) = rewrite(frame, p, mode, be6, max_frame) else {
        return false;
    };
    let g = global(max_frame as u16, rate, burst);
    let mtu = max.saturating_sub(len.saturating_sub(p.l3_len));
    let mut c = Counters::default();
    let mut out = Vec::new();
    let (rsn, sent) = if forward {
        let r = reason(answerable(frame, p, mtu));
        let sent = hw_model::pipeline::too_big(frame, p, &g, now, len, max, &mut out, &mut c, icmp);
        (r, sent)
    } else {
        (6, false)
    };
    let limited = c.get(Counter::IcmpRateLimited);
    let sent_c = c.get(Counter::IcmpTooBigSent);
    if sent != (sent_c == 1) {
        eprintln!("inconsistent counters");
        std::process::exit(1);
    }
    stats.cases += 1;
    stats.sent += sent as usize;
    stats.limited += limited as usize;
    stats.reasons[rsn as usize] += 1;
    if sent {
        let room = out.len() - p.l2_len - if p.ipv6 { 48 } else { 28 };
        stats.quote_cut += (room < p.l3_len) as usize;
        let limit = if p.ipv6 { 1280 - 48 } else { 576 - 28 };
        stats.cut_limit += (room < p.l3_len && room == limit) as usize;
        stats.cut_max += (room < p.l3_len && room < limit) as usize;
        stats.v6 += p.ipv6 as usize;
        stats.qinq += (p.l2_len == 22) as usize;
    }
    let frag = match p.frag {
        Frag::None => 0,
        Frag::First => 1,
        Frag::Later => 2,
    };
    let _ = write!(
        s,
        "P {:x} {now:x} {rate:x} {burst:x} {len:x} {max:x} {max_frame:x} {:x} {:x} {:x} {frag:x} {:x} ",
        forward as u8,
        p.l2_len,
        p.l3_len,
        p.ipv6 as u8,
        p.icmp_error.is_some() as u8
    );
    hex(s, &p.src_mac);
    s.push(' ');
    hex(s, &DEV);
    s.push(' ');
    hex(s, &addr16(p.src));
    s.push(' ');
    hex(s, &addr16(p.dst));
    let _ = write!(s, " {:x}", frame.len());
    for b in frame {
        let _ = write!(s, " {b:02x}");
    }
    let _ = write!(
        s,
        " {rsn:x} {:x} {limited:x} {:x}",
        sent as u8,
        if sent { out.len() } else { 0 }
    );
    if sent {
        for b in &out {
            let _ = write!(s, " {b:02x}");
        }
    }
    s.push('\n');
    true
}

fn too_big_vectors(rng: &mut Rng, stats: &mut Stats) -> String {
    let mut s = String::new();
    let mut icmp = RateLimit::new(tick_us());
    let mut now: u32 = 1000;
    let mut seg = 0u32;
    // Boundaries, budget ample: IPv4 packets of 546..=550 bytes (the quote
    // cut at 576) and others, IPv6 ones over 1280, every VLAN depth, mode
    // and backend family, max_frame just under the rewrite (1..3 bytes)
    // and where the quote meets the frame limit (offsets around 20, 28,
    // 40, 48), and the announced MTU at 67/68/69 and 1279/1280/1281.
    let sizes: [(bool, usize); 9] = [
        (false, 100),
        (false, 300),
        (false, 546),
        (false, 547),
        (false, 548),
        (false, 549),
        (false, 550),
        (true, 1300),
        (true, 1433),
    ];
    for (v6, l3) in sizes {
        for vlans in 0..3 {
            for (mode, be6) in [(0, v6), (1, v6), (2, false), (2, true), (3, false), (3, true)] {
                let spec = Spec {
                    vlans,
                    v6,
                    df: true,
                    frag: 0,
                    l4: 0,
                    options: 0,
                    src: unicast_src(rng, v6),
                    dst: dst_addr(rng, v6),
                    payload: l3 - if v6 { 48 } else { 28 },
                };
                let frame = build(rng, &spec);
                let Ok(p) = parse(&frame) else { continue };
                let Some((need, _)) = rewrite(&frame, &p, mode, be6, 0) else {
                    continue;
                };
                let head = need - p.l3_len;
                let min = if v6 { 1280 } else { 68 };
                let mut maxes: Vec<usize> = [1, 2, 3, 19, 20, 21, 27, 28, 29, 39, 40, 41, 47, 48, 49]
                    .iter()
                    .map(|d| need - d)
                    .collect();
                maxes.extend([head + min - 1, head + min, head + min + 1]);
                for max_frame in maxes {
                    now = now.wrapping_add(1);
                    record(
                        &mut s,
                        &mut icmp,
                        stats,
                        (now, 1_000_000, 1_000_000),
                        &frame,
                        &p,
                        (mode, be6, max_frame, true),
                    );
                }
            }
        }
    }
    let edge = stats.cases;
    while stats.cases < edge + 6000 {
        seg += 1;
        if rng.chance(5) {
            icmp.reset();
            s.push_str("R\n");
        }
        // A "bank": the budget, and how the frame size is picked.
        let (rate, burst) = match rng.below(8) {
            0 => (0, 50),
            1 => (1000, 1 + rng.below(4) as u32),
            2 => (1 + rng.below(500) as u32, 1 + rng.below(10) as u32),
            _ => (1_000_000, 1_000_000),
        };
        let n = 10 + rng.below(60);
        let mut tries = 0;
        let mut done = 0;
        while done < n && tries < 20 * n {
            tries += 1;
            now = match rng.below(10) {
                0 => now.wrapping_add(rng.below(5000) as u32),
                1..=5 => now,
                _ => now.wrapping_add(1),
            };
            let v6 = rng.chance(40);
            let spec = Spec {
                vlans: rng.pick(&[0, 0, 0, 1, 1, 2]),
                v6,
                df: rng.chance(80),
                frag: if rng.chance(80) { 0 } else { 1 + rng.below(2) as u8 },
                l4: if rng.chance(8) { 2 } else { rng.below(2) as u8 },
                options: if !v6 && rng.chance(15) {
                    1 + rng.below(10) as usize
                } else {
                    0
                },
                src: src_addr(rng, v6),
                dst: dst_addr(rng, v6),
                payload: match rng.below(8) {
                    0 => rng.below(40) as usize,
                    1 => 500 + rng.below(80) as usize,  // around the 576 cut
                    2 => 1170 + rng.below(80) as usize, // around the 1280 cut
                    3 => 1400 + rng.below(200) as usize, // jumbo-ish
                    _ => rng.below(1500) as usize,
                },
            };
            let frame = build(rng, &spec);
            let Ok(p) = parse(&frame) else { continue };
            let mode = rng.below(4) as u8;
            let be6 = if mode >= 2 { rng.chance(50) } else { p.ipv6 };
            // Fitting length under a huge max, then a max below it.
            let Some((need, _)) = rewrite(&frame, &p, mode, be6, 0) else {
                continue;
            };
            let max_frame = match rng.below(6) {
                // Just over: the announced MTU near the frame's own size.
                0 => need.saturating_sub(1 + rng.below(4) as usize),
                // Around the IPv6 minimum / the IPv4 minimum.
                1 => 1280 + need - p.l3_len - 2 + rng.below(5) as usize,
                2 => 68 + need - p.l3_len - 2 + rng.below(5) as usize,
                // The quote cut by max_frame rather than by 576 / 1280.
                3 => 40 + rng.below(600) as usize,
                _ => 60 + rng.below(need.saturating_sub(59) as u64) as usize,
            }
            .clamp(1, 0xffff);
            let forward = !rng.chance(7);
            if record(
                &mut s,
                &mut icmp,
                stats,
                (now, rate, burst),
                &frame,
                &p,
                (mode, be6, max_frame, forward),
            ) {
                done += 1;
            }
        }
        let _ = seg;
    }
    s
}

fn main() {
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            eprintln!("usage: rtl_vectors_icmp DIR");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(1);
    }
    let mut rng = Rng(0x1cb9_0d1e_5eed_0012);
    let rate = rate_vectors(&mut rng, tick_us());
    // A tick that does not divide 10^6 (the RTL bucket's other arithmetic,
    // a multiply by the tick): `lbnic_icmp_rate_tb -GTICK_US=7`.
    let rate7 = rate_vectors(&mut Rng(0x71c7_0000_0000_0007), 7);
    let mut st = Stats {
        cases: 0,
        sent: 0,
        limited: 0,
        reasons: [0; 7],
        quote_cut: 0,
        v6: 0,
        cut_limit: 0,
        cut_max: 0,
        qinq: 0,
    };
    let tb = too_big_vectors(&mut rng, &mut st);
    for (name, text) in [
        ("icmp_rate.txt", rate),
        ("icmp_rate_tick7.txt", rate7),
        ("icmp_too_big.txt", tb),
    ] {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "rtl_vectors_icmp: {} too-big packets ({} answered: {} IPv6, {} with 2 VLAN tags, quote cut in {} ({} at 576/1280, {} by max_frame); {} rate-limited), by reason {:?}",
        st.cases, st.sent, st.v6, st.qinq, st.quote_cut, st.cut_limit, st.cut_max, st.limited, st.reasons
    );
}
