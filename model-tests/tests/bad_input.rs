//! Malformed frames: each gives the exact `ParseError` and counter reason at
//! the parser, and through both models the per-reason counter and the
//! target's `parse_error_action`; frames that are simply not balancer
//! traffic take `no_vip_action` instead. Nothing panics.

mod common;

use common::*;
use hw_model::cycle::Cycle;
use hw_model::functional::Functional;
use hw_model::model::Model;
use hw_model::packet::{parse, ParseError};
use lbnic_contract::target::regs::{Counter, ParseReason};
use lbnic_contract::target::{MissAction, Target};

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    err: ParseError,
}

fn set16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn tcp4() -> Vec<u8> {
    tcp("198.51.100.7", 40000, "192.0.2.10", 80, 0x02, 0)
}
fn udp4() -> Vec<u8> {
    udp("203.0.113.5", 5353, "192.0.2.53", 53, 12)
}
fn tcp6() -> Vec<u8> {
    tcp("2001:db8:c::7", 40000, "2001:db8::10", 443, 0x02, 0)
}
fn udp6() -> Vec<u8> {
    udp("2001:db8:c::7", 5000, "2001:db8::53", 53, 12)
}
fn quoted() -> Vec<u8> {
    ip_packet(&tcp("192.0.2.10", 80, "198.51.100.7", 40000, 0x12, 20)).to_vec()
}

/// An IPv4 frame whose IP total length is cut to `tl` and the frame with it.
fn cut4(f: &[u8], tl: usize) -> Vec<u8> {
    let mut g = f[..14 + tl].to_vec();
    set16(&mut g, 16, tl as u16);
    fix_ipv4_csum(&mut g, 14);
    g
}

/// Every malformed frame we can name, with the error it must give.
fn malformed() -> Vec<Case> {
    use ParseError::*;
    let mut v = Vec::new();
    let mut c = |name, frame, err| v.push(Case { name, frame, err });

    // -- truncated at each layer
    c("empty frame", vec![], Truncated { at: 0, need: 14 });
    c(
        "13 bytes of Ethernet",
        tcp4()[..13].to_vec(),
        Truncated { at: 13, need: 14 },
    );
    let t = tagged(&tcp4(), &[(0x8100, 5)]);
    c("VLAN tag cut", t[..16].to_vec(), Truncated { at: 16, need: 18 });
    let t = tagged(&tcp4(), &[(0x88a8, 5), (0x8100, 6)]);
    c(
        "inner QinQ tag cut",
        t[..20].to_vec(),
        Truncated { at: 20, need: 22 },
    );
    c(
        "IPv4 header cut",
        tcp4()[..30].to_vec(),
        Truncated { at: 30, need: 34 },
    );
    let mut f = tcp4();
    f[14] = 0x4f; // IHL 15: 60 bytes of header in a 40-byte packet
    c("IPv4 options cut", f, Truncated { at: 54, need: 74 });
    c(
        "IPv6 header cut",
        tcp6()[..50].to_vec(),
        Truncated { at: 50, need: 54 },
    );
    let f = ipv6_with_ext(&tcp6(), &[Ext::DestOpts(8)]);
    let mut f = f[..54 + 4].to_vec();
    set16(&mut f, 18, 4);
    c("IPv6 extension header cut", f, Truncated { at: 58, need: 62 });
    let mut f = ipv6_with_ext(&tcp6(), &[Ext::DestOpts(8)]);
    f[55] = 5; // claims 48 bytes, 28 are there
    c(
        "IPv6 extension header longer than the packet",
        f,
        Truncated { at: 82, need: 102 },
    );
    c(
        "TCP header cut",
        cut4(&tcp4(), 30),
        Truncated { at: 44, need: 54 },
    );
    c(
        "UDP header cut",
        cut4(&udp4(), 24),
        Truncated { at: 38, need: 42 },
    );
    let f = icmp_error("203.0.113.1", "192.0.2.10", 3, 1, &quoted(), 28);
    c("ICMP header cut", cut4(&f, 26), Truncated { at: 40, need: 42 });
    let f = udp6();
    let mut f = f[..54 + 6].to_vec();
    set16(&mut f, 18, 6);
    c("UDP over IPv6 cut", f, Truncated { at: 60, need: 62 });

    // -- IP version does not match the ethertype
    let mut f = tcp4();
    f[14] = 0x65;
    c("version 6 in an IPv4 ethertype", f, BadIpVersion(6));
    let mut f = tcp6();
    f[14] = 0x45;
    c("version 4 in an IPv6 ethertype", f, BadIpVersion(4));
    let mut f = tcp4();
    f[14] = 0x75;
    c("version 7", f, BadIpVersion(7));

    // -- IHL below 5
    for ihl in [0u8, 1, 4] {
        let mut f = tcp4();
        f[14] = 0x40 | ihl;
        c("IHL < 5", f, BadIhl(ihl as usize * 4));
    }

    // -- lengths
    let mut f = tcp4();
    set16(&mut f, 16, 9000);
    c(
        "IPv4 total length past the frame",
        f,
        BadLength {
            claimed: 9000,
            have: 40,
        },
    );
    let mut f = tcp4();
    set16(&mut f, 16, 19);
    c(
        "IPv4 total length below the IHL",
        f,
        BadLength {
            claimed: 19,
            have: 40,
        },
    );
    let mut f = ipv4_with_options(&tcp4(), &[1, 1, 1, 0]);
    set16(&mut f, 16, 22);
    c(
        "IPv4 total length inside the options",
        f,
        BadLength {
            claimed: 22,
            have: 44,
        },
    );
    let mut f = tcp6();
    set16(&mut f, 18, 21);
    c(
        "IPv6 payload length past the frame",
        f,
        BadLength {
            claimed: 61,
            have: 60,
        },
    );
    let mut f = tcp6();
    set16(&mut f, 18, 0);
    c(
        "IPv6 payload length 0 (jumbogram)",
        f,
        BadLength {
            claimed: 40,
            have: 60,
        },
    );

    // -- IPv6 extension-header chains
    c(
        "nine extension headers",
        ipv6_with_ext(&tcp6(), &[Ext::DestOpts(8); 9]),
        ExtHeaderChain,
    );
    c(
        "hop-by-hop not first",
        ipv6_with_ext(&tcp6(), &[Ext::DestOpts(8), Ext::HopByHop(8)]),
        ExtHeaderChain,
    );
    // A chain that points back at itself: each header's next header is 60
    // again, as far as the packet goes.
    let mut f = ipv6_with_ext(&udp6(), &[Ext::DestOpts(8); 10]);
    for i in 0..10 {
        f[54 + 8 * i] = 60;
    }
    c("extension-header loop", f, ExtHeaderChain);

    // -- UDP lengths
    for (name, len) in [("UDP length 0", 0u16), ("UDP length 7", 7)] {
        let mut f = udp4();
        set16(&mut f, 38, len);
        c(name, f, BadUdpLength(len as usize));
    }
    let mut f = udp4();
    set16(&mut f, 38, 21);
    c("UDP length past the segment", f, BadUdpLength(21));
    let mut f = udp6();
    set16(&mut f, 58, 0);
    c("UDP length 0 over IPv6", f, BadUdpLength(0));

    // -- TCP data offset
    for doff in [0u8, 4] {
        let mut f = tcp4();
        f[46] = doff << 4;
        c("TCP data offset < 5", f, BadTcpOffset(doff as usize * 4));
    }
    let mut f = tcp4();
    f[46] = 15 << 4;
    c("TCP data offset beyond the segment", f, BadTcpOffset(60));
    let mut f = tcp6();
    f[66] = 6 << 4;
    c("TCP data offset beyond the segment (IPv6)", f, BadTcpOffset(24));

    // -- ICMP errors whose inner packet is garbage
    c(
        "ICMP error quoting 10 bytes",
        icmp_error("203.0.113.1", "192.0.2.10", 3, 1, &quoted(), 10),
        BadInner,
    );
    let mut q = quoted();
    q[0] = 0x65;
    c(
        "ICMP error quoting a wrong IP version",
        icmp_error("203.0.113.1", "192.0.2.10", 3, 1, &q, 28),
        BadInner,
    );
    let mut q = quoted();
    q[0] = 0x43;
    c(
        "ICMP error quoting IHL 3",
        icmp_error("203.0.113.1", "192.0.2.10", 11, 0, &q, 28),
        BadInner,
    );
    let mut q = quoted();
    q[0] = 0x4f;
    c(
        "ICMP error quoting options it does not carry",
        icmp_error("203.0.113.1", "192.0.2.10", 12, 0, &q, 40),
        BadInner,
    );
    c(
        "ICMP error quoting no ports",
        icmp_error("203.0.113.1", "192.0.2.10", 3, 4, &quoted(), 22),
        BadInner,
    );
    c(
        "ICMPv6 error quoting half a header",
        icmp_error("2001:db8:ffff::1", "2001:db8::53", 1, 0, ip_packet(&udp6()), 30),
        BadInner,
    );
    let inner = ipv6_with_ext(&udp6(), &[Ext::DestOpts(8); 9]);
    c(
        "ICMPv6 error quoting a too-long chain",
        icmp_error("2001:db8:ffff::1", "2001:db8::53", 2, 0, ip_packet(&inner), 200),
        BadInner,
    );
    v
}

/// Well-formed frames that are not balancer traffic: the no-VIP path.
fn not_balancer_traffic() -> Vec<Case> {
    use ParseError::*;
    let mut v = Vec::new();
    let mut c = |name, frame, err| v.push(Case { name, frame, err });
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&CLIENT_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    arp.resize(60, 0);
    c("ARP", arp, NotIp(0x0806));
    let mut f = tcp4();
    f[12..14].copy_from_slice(&0x88ccu16.to_be_bytes());
    c("LLDP ethertype", f, NotIp(0x88cc));
    c(
        "three VLAN tags",
        tagged(&tcp4(), &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)]),
        NotIp(0x8100),
    );
    let mut f = tcp4();
    f[23] = 47;
    fix_ipv4_csum(&mut f, 14);
    c("GRE", f, UnsupportedL4(47));
    c(
        "ICMP echo",
        icmp_error("198.51.100.7", "192.0.2.10", 8, 0, &[0; 16], 16),
        IcmpNotError(8),
    );
    c(
        "ICMPv6 echo",
        icmp_error("2001:db8:c::7", "2001:db8::10", 128, 0, &[0; 16], 16),
        IcmpNotError(128),
    );
    let echo = icmp_error("192.0.2.10", "198.51.100.7", 0, 0, &[0; 8], 8);
    c(
        "ICMP error about an echo reply",
        icmp_error("203.0.113.1", "192.0.2.10", 3, 1, ip_packet(&echo), 28),
        UnsupportedInner(1),
    );
    v
}

#[test]
fn every_reason_is_produced_by_some_frame() {
    let cases = malformed();
    for r in ParseReason::ALL {
        assert!(
            cases.iter().any(|c| c.err.reason() == Some(*r)),
            "no frame gives {}",
            r.name()
        );
    }
}

#[test]
fn parser_gives_the_exact_error() {
    for c in malformed().iter().chain(&not_balancer_traffic()) {
        let got = parse(&c.frame);
        assert_eq!(got, Err(c.err), "{}: {:02x?}", c.name, c.frame);
    }
    for c in malformed() {
        assert!(c.err.reason().is_some(), "{}", c.name);
    }
    for c in not_balancer_traffic() {
        assert_eq!(c.err.reason(), None, "{}", c.name);
    }
}

/// Every prefix of valid frames of each kind: an error or a parse, never a
/// panic; a cut inside the headers is always `Truncated` or a length error.
#[test]
fn every_truncation_of_valid_frames() {
    let frames = [
        tcp4(),
        udp6(),
        tagged(&udp4(), &[(0x88a8, 1), (0x8100, 2)]),
        ipv4_with_options(&tcp4(), &[1, 1, 1, 0]),
        ipv6_with_ext(&tcp6(), &[Ext::HopByHop(8), Ext::Routing(16), Ext::DestOpts(8)]),
        icmp_error("203.0.113.1", "192.0.2.10", 3, 1, &quoted(), 48),
        icmp_error("2001:db8:ffff::1", "2001:db8::53", 1, 0, ip_packet(&udp6()), 60),
    ];
    for f in &frames {
        assert!(parse(f).is_ok());
        for n in 0..f.len() {
            match parse(&f[..n]) {
                Err(ParseError::Truncated { at, need }) => assert!(at <= n && need > at, "{n}: {at} {need}"),
                Err(ParseError::BadLength { .. }) => {}
                other => panic!("cut at {n} of {f:02x?}: {other:?}"),
            }
        }
    }
}

fn target_with(no_vip: MissAction, parse_err: MissAction) -> Target {
    let mut t = test_target();
    t.no_vip_action = no_vip;
    t.parse_error_action = parse_err;
    t
}

/// Feed every case through both models on a target with the given actions
/// and check each frame's counters (functional, frame by frame) and the
/// totals and outputs of the cycle model.
fn through_the_models(no_vip: MissAction, parse_err: MissAction) {
    let t = target_with(no_vip, parse_err);
    let img = image_for(&config_text(false, false), &t, None);
    let mut f = Functional::new(device(&t, &img));
    let mut cyc = Cycle::new(device(&t, &img));
    let bad = malformed();
    let other = not_balancer_traffic();
    let mut ts = 1_000_000u64;
    let mut want_out = Vec::new();
    for (c, is_parse_error) in bad
        .iter()
        .map(|c| (c, true))
        .chain(other.iter().map(|c| (c, false)))
    {
        ts += 1000;
        let before = f.counters().clone();
        let out = f.process(&c.frame, ts).map(|o| o.to_vec());
        let after = f.counters().clone();
        let d = |ctr: Counter| after.get(ctr) - before.get(ctr);
        assert_eq!(d(Counter::RxPackets), 1, "{}", c.name);
        let action = if is_parse_error { parse_err } else { no_vip };
        let (drop_ctr, other_drop) = if is_parse_error {
            (Counter::DropParse, Counter::DropNoVip)
        } else {
            (Counter::DropNoVip, Counter::DropParse)
        };
        match action {
            MissAction::Pass => {
                assert_eq!(out.as_deref(), Some(&c.frame[..]), "{}: passed unchanged", c.name);
                assert_eq!(
                    (d(Counter::PassPackets), d(Counter::TxPackets)),
                    (1, 1),
                    "{}",
                    c.name
                );
                assert_eq!(d(drop_ctr), 0, "{}", c.name);
            }
            MissAction::Drop => {
                assert_eq!(out, None, "{}", c.name);
                assert_eq!((d(drop_ctr), d(Counter::TxPackets)), (1, 0), "{}", c.name);
            }
        }
        assert_eq!(d(other_drop), 0, "{}", c.name);
        for r in ParseReason::ALL {
            let want = u64::from(c.err.reason() == Some(*r));
            assert_eq!(
                after.parse[*r as usize] - before.parse[*r as usize],
                want,
                "{}: {}",
                c.name,
                r.name()
            );
        }
        // No conntrack work for any of them.
        assert_eq!(d(Counter::CtMisses) + d(Counter::CtHits), 0, "{}", c.name);
        if let Some(o) = out {
            want_out.push(o);
        }
        cyc.input(c.frame.clone(), ts);
    }
    cyc.finish();
    let got: Vec<Vec<u8>> = cyc.take_output().into_iter().map(|o| o.data).collect();
    assert_eq!(got, want_out);
    assert_eq!(cyc.counters(), f.counters());
    let k = cyc.counters();
    for r in ParseReason::ALL {
        let n = bad.iter().filter(|c| c.err.reason() == Some(*r)).count() as u64;
        assert_eq!(k.parse[*r as usize], n, "{}", r.name());
    }
    assert_eq!(k.get(Counter::RxPackets), (bad.len() + other.len()) as u64);
}

#[test]
fn counted_by_reason_default_actions() {
    // The built-in default: pass what is not ours, drop what is broken.
    let d = Target::default();
    assert_eq!(
        (d.no_vip_action, d.parse_error_action),
        (MissAction::Pass, MissAction::Drop)
    );
    through_the_models(MissAction::Pass, MissAction::Drop);
}

#[test]
fn counted_by_reason_inverted_actions() {
    through_the_models(MissAction::Drop, MissAction::Pass);
}
