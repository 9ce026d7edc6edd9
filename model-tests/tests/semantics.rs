//! The functional reference does what docs/spec.md §12.1 says: TCP state
//! and its timeouts, drain and down, eviction and age-out, NAT replies,
//! RR/WRR pointers, fragments, ICMP errors, and commits between packets.
//! Each scenario also runs through the cycle model, which must agree.

mod common;

use common::*;
use hw_model::cycle::Cycle;
use hw_model::device::Memory;
use hw_model::functional::Functional;
use hw_model::model::{Model, OutPacket};
use hw_model::packet::checksum;
use lbnic_contract::image::Image;
use lbnic_contract::target::entries::{FlowKey, TcpState};
use lbnic_contract::target::regs::Counter;
use std::net::IpAddr;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x11;
const RST: u8 = 0x04;
/// One conntrack tick (the test target counts milliseconds).
const MS: u64 = 1_000_000;

fn flow(src: &str, sport: u16, dst: &str, dport: u16) -> FlowKey {
    FlowKey {
        proto: 6,
        src: src.parse().unwrap(),
        src_port: sport,
        dst: dst.parse().unwrap(),
        dst_port: dport,
    }
}

fn functional(img: &Image) -> Functional<Memory> {
    Functional::new(device(&img.target, img))
}

/// Run `frames` (with their times) through both models; check they agree
/// and return the functional model's output.
fn both(imgs: &[&Image], events: &[(Option<usize>, Vec<u8>, u64)]) -> (Vec<OutPacket>, Functional<Memory>) {
    let t = imgs[0].target.clone();
    let mut f = Functional::new(device(&t, imgs[0]));
    let mut c = Cycle::new(device(&t, imgs[0]));
    for (flash, frame, ts) in events {
        if let Some(i) = flash {
            f.flash(imgs[*i]).unwrap();
            c.flash(imgs[*i]).unwrap();
        }
        f.input(frame.clone(), *ts);
        c.input(frame.clone(), *ts);
    }
    let fo = f.take_output();
    c.finish();
    let co = c.take_output();
    assert_eq!(fo.len(), co.len());
    for (a, b) in fo.iter().zip(&co) {
        assert_eq!((a.seq, &a.data), (b.seq, &b.data));
    }
    f.finish();
    assert_eq!(f.counters(), c.counters());
    (fo, f)
}

fn dst_mac(o: &OutPacket) -> [u8; 6] {
    o.data[..6].try_into().unwrap()
}

fn state(f: &Functional<Memory>, k: &FlowKey) -> Option<TcpState> {
    f.dev.ct_entry(k, false).map(|(_, _, e)| e.tcp_state)
}

#[test]
fn tcp_state_follows_syn_ack_fin_rst_and_times_out_by_state() {
    let img = image_for(&config_text(false, false), &test_target(), None);
    let mut f = functional(&img);
    let k = flow("198.51.100.1", 1000, "192.0.2.10", 80);
    let pkt = |flags| tcp("198.51.100.1", 1000, "192.0.2.10", 80, flags, 0);
    f.process(&pkt(SYN), 0);
    assert_eq!(state(&f, &k), Some(TcpState::SynSeen));
    f.process(&pkt(ACK), 10 * MS);
    assert_eq!(state(&f, &k), Some(TcpState::Established));
    f.process(&pkt(FIN), 20 * MS);
    assert_eq!(state(&f, &k), Some(TcpState::Closing));
    // Closing times out after 1 s idle (tcp_closing_s = 1).
    f.process(&tcp("198.51.100.9", 9, "192.0.2.10", 80, SYN, 0), 1020 * MS);
    assert_eq!(
        state(&f, &k),
        Some(TcpState::Closing),
        "1000 ticks idle is not yet over"
    );
    f.process(&tcp("198.51.100.9", 9, "192.0.2.10", 80, ACK, 0), 1021 * MS);
    assert_eq!(state(&f, &k), None, "expired after more than 1000 ticks idle");

    // A lone SYN lives tcp_syn_s = 2 s; established flows 5 s.
    let k2 = flow("198.51.100.2", 2000, "192.0.2.10", 80);
    let k3 = flow("198.51.100.3", 3000, "192.0.2.10", 80);
    f.process(&tcp("198.51.100.2", 2000, "192.0.2.10", 80, SYN, 0), 3000 * MS);
    f.process(&tcp("198.51.100.3", 3000, "192.0.2.10", 80, ACK, 0), 3000 * MS);
    assert_eq!(
        state(&f, &k3),
        Some(TcpState::Established),
        "picked up mid-stream"
    );
    f.process(&tcp("198.51.100.9", 9, "192.0.2.10", 80, ACK, 0), 5001 * MS);
    assert_eq!(state(&f, &k2), None);
    assert_eq!(state(&f, &k3), Some(TcpState::Established));
    f.process(&tcp("198.51.100.9", 9, "192.0.2.10", 80, ACK, 0), 8001 * MS);
    assert_eq!(state(&f, &k3), None);

    // RST closes; a RST that misses creates nothing.
    let k4 = flow("198.51.100.4", 4000, "192.0.2.10", 80);
    f.process(&tcp("198.51.100.4", 4000, "192.0.2.10", 80, SYN, 0), 9000 * MS);
    f.process(&tcp("198.51.100.4", 4000, "192.0.2.10", 80, RST, 0), 9001 * MS);
    assert_eq!(state(&f, &k4), Some(TcpState::Closed));
    let inserts = f.counters().get(Counter::CtInserts);
    f.process(&tcp("198.51.100.5", 5000, "192.0.2.10", 80, RST, 0), 9002 * MS);
    assert_eq!(f.counters().get(Counter::CtInserts), inserts);
    assert!(f
        .dev
        .ct_entry(&flow("198.51.100.5", 5000, "192.0.2.10", 80), false)
        .is_none());
}

#[test]
fn drained_backend_keeps_its_flows_and_gets_no_new_ones() {
    let t = test_target();
    let g1 = image_for(&config_text(false, false), &t, None);
    let g3 = image_for(&config_text(true, true), &t, Some(&g1));
    let b1_mac = [2, 0, 0, 0, 0, 1];
    let mut ev = Vec::new();
    for i in 0..40u16 {
        ev.push((
            None,
            tcp("198.51.100.7", 10_000 + i, "192.0.2.10", 80, SYN, 0),
            i as u64 * MS,
        ));
    }
    // Drain b1 (and add b3), then every flow sends again, and 40 new flows
    // start.
    for i in 0..40u16 {
        let flash = (i == 0).then_some(1);
        ev.push((
            flash,
            tcp("198.51.100.7", 10_000 + i, "192.0.2.10", 80, ACK, 0),
            (100 + i as u64) * MS,
        ));
    }
    for i in 0..40u16 {
        ev.push((
            None,
            tcp("198.51.100.8", 20_000 + i, "192.0.2.10", 80, SYN, 0),
            (200 + i as u64) * MS,
        ));
    }
    let (out, _) = both(&[&g1, &g3], &ev);
    assert_eq!(out.len(), 120);
    let before: Vec<[u8; 6]> = out[..40].iter().map(dst_mac).collect();
    let after: Vec<[u8; 6]> = out[40..80].iter().map(dst_mac).collect();
    assert_eq!(before, after, "established flows stay on their backend");
    assert!(before.contains(&b1_mac), "some flows were on b1");
    assert!(
        out[80..].iter().all(|o| dst_mac(o) != b1_mac),
        "no new flow goes to drained b1"
    );
}

#[test]
fn down_backend_flows_are_rescheduled() {
    let t = test_target();
    let text = |state: &str| {
        format!(
            "[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\ntable_size = 251\n\
             [[vip.backend]]\nname = \"a\"\naddress = \"10.0.0.1\"\nmac = \"02:00:00:00:00:0a\"\nstate = \"{state}\"\n\
             [[vip.backend]]\nname = \"b\"\naddress = \"10.0.0.2\"\nmac = \"02:00:00:00:00:0b\"\n"
        )
    };
    let g1 = image_for(&text("active"), &t, None);
    let g2 = image_for(&text("down"), &t, Some(&g1));
    let mut ev = Vec::new();
    for i in 0..30u16 {
        ev.push((
            None,
            tcp("198.51.100.7", 10_000 + i, "192.0.2.10", 80, SYN, 0),
            i as u64 * MS,
        ));
    }
    for i in 0..30u16 {
        ev.push((
            (i == 0).then_some(1),
            tcp("198.51.100.7", 10_000 + i, "192.0.2.10", 80, ACK, 0),
            (50 + i as u64) * MS,
        ));
    }
    let (out, f) = both(&[&g1, &g2], &ev);
    let a = [2, 0, 0, 0, 0, 0x0a];
    assert!(out[..30].iter().any(|o| dst_mac(o) == a));
    assert!(
        out[30..].iter().all(|o| dst_mac(o) != a),
        "nothing reaches a down backend"
    );
    // The moved flows were re-pointed in place: one entry per flow.
    assert_eq!(
        f.counters().get(Counter::CtInserts),
        30 + out[..30].iter().filter(|o| dst_mac(o) == a).count() as u64
    );
}

/// Two buckets of two ways: every flow's candidates are the same two
/// buckets and no relocation can help, so a fifth flow evicts by class
/// (embryonic first), then by least recently seen; a SYN does not evict an
/// established entry.
#[test]
fn full_candidates_evict_embryonic_first_then_the_least_recently_seen() {
    let t = lbnic_contract::target::Target {
        ct_buckets: 2,
        ..test_target()
    };
    let img = image_for(&config_text(false, false), &t, None);
    let k = |p: u16| flow("198.51.100.1", p, "192.0.2.10", 80);
    let pkt = |p: u16, flags| (None, tcp("198.51.100.1", p, "192.0.2.10", 80, flags, 0));
    let at = |(f, p): (Option<usize>, Vec<u8>), ms: u64| (f, p, ms * MS);
    let ev = vec![
        at(pkt(1000, SYN), 0),
        at(pkt(1001, SYN), 1),
        at(pkt(1002, ACK), 2), // picked up established
        at(pkt(1003, ACK), 3),
        at(pkt(1000, ACK), 4), // 1000 established
        at(pkt(1004, SYN), 5), // full: evicts 1001, the only embryonic entry
        at(pkt(1005, ACK), 6), // evicts 1004 (embryonic) although newest
        at(pkt(1006, SYN), 7), // only established left: not stored
        at(pkt(1007, ACK), 8), // evicts the least recently seen: 1002
    ];
    let (_, f) = both(&[&img], &ev);
    let c = f.counters();
    assert_eq!(c.get(Counter::CtEvictions), 3);
    assert_eq!(c.get(Counter::CtInsertRefused), 1);
    assert_eq!(c.get(Counter::CtRelocations), 0);
    let mut f = functional(&img);
    for (_, frame, ts) in &ev {
        f.process(frame, *ts);
    }
    for (p, kept) in [
        (1000, true),
        (1001, false),
        (1002, false),
        (1003, true),
        (1004, false),
        (1005, true),
        (1006, false),
        (1007, true),
    ] {
        assert_eq!(f.dev.ct_entry(&k(p), false).is_some(), kept, "flow {p}");
    }
}

#[test]
fn expired_entries_are_counted_once_as_age_outs() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    let mut ev = Vec::new();
    for i in 0..20u16 {
        ev.push((
            None,
            udp("203.0.113.1", 5000 + i, "192.0.2.53", 53, 10),
            i as u64 * MS,
        ));
    }
    // udp_s = 3: ten seconds later all 20 are expired; one more packet.
    ev.push((None, udp("203.0.113.2", 1, "192.0.2.53", 53, 10), 10_000 * MS));
    let (_, f) = both(&[&img], &ev);
    let c = f.counters();
    assert_eq!(c.get(Counter::CtInserts), 21);
    // 20 expired entries, each counted once, whether an insert reused its
    // way or the final sweep reclaimed it; the last flow is still live.
    assert_eq!(c.get(Counter::CtAgeouts), 20);
}

#[test]
fn nat_replies_get_the_vip_back_as_source() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    let ev = vec![
        (None, tcp("198.51.100.7", 40000, "192.0.2.20", 8080, SYN, 0), 0),
        (None, tcp("198.51.100.7", 40001, "192.0.2.20", 8080, SYN, 0), MS),
    ];
    let (out, mut f) = both(&[&img], &ev);
    let ip_dst = |o: &OutPacket| -> [u8; 4] { o.data[30..34].try_into().unwrap() };
    let dport = |o: &OutPacket| u16::from_be_bytes([o.data[36], o.data[37]]);
    // RR over n1, n2 (port 9000).
    assert_eq!((ip_dst(&out[0]), dport(&out[0])), ([10, 0, 2, 1], 9000));
    assert_eq!((ip_dst(&out[1]), dport(&out[1])), ([10, 0, 2, 2], 9000));
    // The reply from n2 to the second client.
    let reply = tcp("10.0.2.2", 9000, "198.51.100.7", 40001, SYN | ACK, 0);
    let o = f.process(&reply, 2 * MS).expect("reply forwarded").to_vec();
    assert_eq!(&o[..6], &[0x02, 0, 0x5e, 0, 0, 0xfe], "to the gateway MAC");
    assert_eq!(&o[26..30], &[192, 0, 2, 20], "source is the VIP");
    assert_eq!(
        u16::from_be_bytes([o[34], o[35]]),
        8080,
        "source port is the VIP's"
    );
    assert_eq!(&o[30..34], &[198, 51, 100, 7]);
    assert_eq!(
        checksum::ipv4_header(&o[14..34]),
        u16::from_be_bytes([o[24], o[25]])
    );
    // A "reply" from a backend to a client it never served is not NAT
    // traffic: the no-VIP action (pass by default) applies.
    let passed = f.counters().get(Counter::PassPackets);
    f.process(&tcp("10.0.2.1", 9000, "198.51.100.99", 1, ACK, 0), 3 * MS);
    assert_eq!(f.counters().get(Counter::PassPackets), passed + 1);
}

#[test]
fn wrr_hands_out_new_flows_in_weight_proportion() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    let ev: Vec<_> = (0..40u16)
        .map(|i| {
            (
                None,
                udp("203.0.113.5", 7000 + i, "192.0.2.53", 53, 20),
                i as u64 * MS,
            )
        })
        .collect();
    let (out, _) = both(&[&img], &ev);
    // GUE: the outer IPv4 destination is the backend (g1 weight 3, g2 1).
    let outer_dst = |o: &OutPacket| -> [u8; 4] { o.data[30..34].try_into().unwrap() };
    let g1 = out.iter().filter(|o| outer_dst(o) == [198, 18, 0, 1]).count();
    let g2 = out.iter().filter(|o| outer_dst(o) == [198, 18, 0, 2]).count();
    assert_eq!((g1, g2), (30, 10));
    // Smooth WRR interleaves: never more than three g1 in a row.
    let seq: Vec<bool> = out.iter().map(|o| outer_dst(o) == [198, 18, 0, 1]).collect();
    assert!(seq.windows(4).all(|w| w.iter().any(|&x| !x)), "{seq:?}");
}

/// An IPv4 TCP frame, fragmented: `offset` in 8-byte units, `more` = MF.
fn fragment(src: [u8; 4], sport: u16, offset: u16, more: bool) -> Vec<u8> {
    let mut f = tcp4_frame(src, sport, [192, 0, 2, 10], 80, ACK, 100);
    let ff = (if more { 0x2000 } else { 0 }) | offset;
    f[20..22].copy_from_slice(&ff.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::ipv4_header(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

#[test]
fn fragments_and_icmp_errors_follow_the_rules() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    let src = [198, 51, 100, 33];
    let mut ev = Vec::new();
    // A later fragment first: it schedules the datagram (2-tuple hash) and
    // makes its fragment entry; the first fragment and the last follow it.
    ev.push((None, fragment(src, 4444, 10, true), 0));
    ev.push((None, fragment(src, 4444, 0, true), MS));
    ev.push((None, fragment(src, 4444, 20, false), 2 * MS));
    // An ICMP "fragmentation needed" about the flow's reply direction
    // (VIP -> client), as a router on the client's path would send it.
    let inner = tcp4_frame([192, 0, 2, 10], 80, src, 4444, ACK, 54);
    let mut icmp = vec![0u8; 8];
    icmp[0] = 3;
    icmp[1] = 4;
    icmp.extend_from_slice(&inner[14..14 + 28]);
    let c = !checksum::fold(checksum::sum(0, &icmp));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let b =
        etherparse::PacketBuilder::ethernet2(CLIENT_MAC, DEV_MAC).ipv4([203, 0, 113, 1], [192, 0, 2, 10], 64);
    let mut frame = Vec::new();
    b.write(&mut frame, etherparse::IpNumber::ICMP, &icmp).unwrap();
    ev.push((None, frame, 3 * MS));
    // The flow's next packet, whole: its own 5-tuple entry.
    ev.push((None, tcp4_frame(src, 4444, [192, 0, 2, 10], 80, ACK, 100), 4 * MS));
    let (out, f) = both(&[&img], &ev);
    assert_eq!(out.len(), 5);
    let c = f.counters();
    assert_eq!(c.get(Counter::FragPackets), 3);
    assert_eq!(
        (c.get(Counter::CtInserts), c.get(Counter::CtHits)),
        (2, 2),
        "one fragment entry (two hits on it), then the flow's own entry; the ICMP error inserts nothing"
    );
    // The datagram stayed together.
    assert_eq!(dst_mac(&out[0]), dst_mac(&out[1]));
    assert_eq!(dst_mac(&out[0]), dst_mac(&out[2]));
    // The ICMP error (a miss: the Maglev entry of the flow's 5-tuple) went
    // where the flow's whole packet went.
    assert_eq!(dst_mac(&out[3]), dst_mac(&out[4]));
    // The fragment entry is keyed on the identification, flagged FRAG,
    // state "none"; it is not the flow's entry.
    let k = flow("198.51.100.33", 4444, "192.0.2.10", 80);
    assert!(f.dev.ct_entry(&k, false).is_some_and(|(_, _, e)| !e.fragment));
}

/// The ones'-complement sum over `data` (with `acc`) verifies.
fn sums_ok(acc: u32, data: &[u8]) -> bool {
    checksum::fold(checksum::sum(acc, data)) == 0xffff
}

#[test]
fn nat_icmp_errors_are_translated_and_leave_conntrack_alone() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    let (client, vip, n1) = ("198.51.100.7", "192.0.2.20", "10.0.2.1");
    let syn = tcp(client, 40000, vip, 8080, SYN, 0);
    // What the balancer sends n1 (RR: the first flow), and what n1 answers.
    let fwd = tcp(client, 40000, n1, 9000, SYN, 0);
    let answer = tcp(n1, 9000, client, 40000, SYN | ACK, 0);
    let reply = tcp(vip, 8080, client, 40000, SYN | ACK, 0);
    // n1 refuses the forwarded packet; a router on the client's side
    // cannot forward the reply. Back to back with the SYN that creates
    // the entries (the cycle model's hazard path), and again later.
    let out_err = icmp_error(n1, client, 3, 3, ip_packet(&fwd), 40);
    let in_err = icmp_error("203.0.113.1", vip, 3, 4, ip_packet(&reply), 40);
    let ev = vec![
        (None, syn.clone(), 0),
        (None, out_err.clone(), 0),
        (None, in_err.clone(), 0),
        (None, out_err.clone(), 10 * MS),
        (None, in_err.clone(), 10 * MS),
        // Without an entry: the client's side error is unroutable (only
        // conntrack knows the backend); the backend's side one is not NAT
        // traffic (no-VIP action: pass).
        (
            None,
            icmp_error(
                "203.0.113.1",
                vip,
                3,
                4,
                ip_packet(&tcp(vip, 8080, client, 1, ACK, 0)),
                40,
            ),
            11 * MS,
        ),
        (
            None,
            icmp_error(n1, client, 3, 3, ip_packet(&tcp(client, 1, n1, 9000, ACK, 0)), 40),
            11 * MS,
        ),
    ];
    let (out, f) = both(&[&img], &ev);
    assert_eq!(out.len(), 6);
    for (o, to_client) in [
        (&out[1], true),
        (&out[2], false),
        (&out[3], true),
        (&out[4], false),
    ] {
        let ip = &o.data[14..];
        let (icmp, quote) = (&ip[20..], &ip[28..]);
        assert!(sums_ok(0, &ip[..20]), "outer IPv4 header checksum");
        assert!(sums_ok(0, icmp), "ICMP checksum");
        assert!(sums_ok(0, &quote[..20]), "quoted IPv4 header checksum");
        // The quote is the receiver's own packet, cut where the router cut.
        let (mac, src, dst, own) = if to_client {
            (
                [0x02, 0, 0x5e, 0, 0, 0xfe],
                [192, 0, 2, 20],
                [198, 51, 100, 7],
                &syn,
            )
        } else {
            (dst_mac(&out[0]), [203, 0, 113, 1], [10, 0, 2, 1], &answer)
        };
        assert_eq!(dst_mac(o), mac);
        assert_eq!((&ip[12..16], &ip[16..20]), (&src[..], &dst[..]));
        assert_eq!(quote, &ip_packet(own)[..40]);
    }
    assert_eq!(out[5].data, ev[6].1, "passed unchanged");
    let c = f.counters();
    assert_eq!(c.get(Counter::DropUnroutable), 1);
    assert_eq!(c.get(Counter::CtInserts), 2, "the flow and its NAT return entry");
    // Errors are not traffic of the flow: neither entry was refreshed.
    let k = flow(client, 40000, vip, 8080);
    let r = flow(n1, 9000, client, 40000);
    for (k, rev) in [(k, false), (r, true)] {
        let (_, _, e) = f.dev.ct_entry(&k, rev).expect("entry");
        assert_eq!((e.last_seen, e.packets, e.tcp_state), (0, 1, TcpState::SynSeen));
    }
}

/// The two VIPs of `later_fragment_*`: one address, ports 80 and 443.
const SHARED: &str = "[[vip]]\nname = \"a\"\naddress = \"192.0.2.10\"\nport = 80\ntable_size = 251\n\
                backend = [{ name = \"x\", address = \"10.0.0.1\", mac = \"02:00:00:00:00:01\" }]\n\
                [[vip]]\nname = \"b\"\naddress = \"192.0.2.10\"\nport = 443\ntable_size = 251\n\
                backend = [{ name = \"y\", address = \"10.0.0.2\", mac = \"02:00:00:00:00:02\" }]\n";

/// An IPv4 TCP fragment to port `dport` of 192.0.2.10 with identification `id`.
fn fragment_to(dport: u16, id: u16, offset: u16, more: bool) -> Vec<u8> {
    let mut f = tcp4_frame([198, 51, 100, 1], 1, [192, 0, 2, 10], dport, ACK, 100);
    f[18..20].copy_from_slice(&id.to_be_bytes());
    let ff = (if more { 0x2000 } else { 0 }) | offset;
    f[20..22].copy_from_slice(&ff.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::ipv4_header(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

#[test]
fn later_fragment_to_a_shared_address_follows_its_fragment_entry() {
    let t = test_target();
    let img = image_for(SHARED, &t, None);
    let ev = [
        // Datagram 1: the later fragment comes first and cannot tell VIP a
        // from VIP b: dropped. The first fragment (port 443) then makes
        // the entry, which the last fragment follows to b.
        (None, fragment_to(443, 1, 10, true), 0),
        (None, fragment_to(443, 1, 0, true), MS),
        (None, fragment_to(443, 1, 20, false), 2 * MS),
        // Datagram 2 (port 80, first fragment first): all at a.
        (None, fragment_to(80, 2, 0, true), 3 * MS),
        (None, fragment_to(80, 2, 10, false), 4 * MS),
    ];
    let (out, f) = both(&[&img], &ev);
    let c = f.counters();
    assert_eq!(c.get(Counter::DropFragAmbiguous), 1);
    assert_eq!(c.get(Counter::FragPackets), 5);
    let macs: Vec<u8> = out.iter().map(|o| o.data[5]).collect();
    assert_eq!(macs, [2, 2, 1, 1], "b, b, then a, a");
}

#[test]
fn a_commit_lands_between_two_packets() {
    let t = test_target();
    let text = |b: &str| {
        format!(
            "[[vip]]\nname = \"web\"\naddress = \"192.0.2.10\"\nport = 80\ntable_size = 251\n\
             [[vip.backend]]\nname = \"{b}\"\naddress = \"10.0.0.1\"\nmac = \"02:00:00:00:00:{b}\"\n"
        )
    };
    let g1 = image_for(&text("aa"), &t, None);
    let g2 = image_for(&text("bb"), &t, Some(&g1));
    // Back to back (same timestamp), the flash between packets 99 and 100:
    // in the cycle model earlier packets are still in the pipeline then.
    let ev: Vec<_> = (0..200u16)
        .map(|i| {
            (
                (i == 100).then_some(1),
                tcp("198.51.100.7", 30_000 + i, "192.0.2.10", 80, SYN, 0),
                0,
            )
        })
        .collect();
    let (out, _) = both(&[&g1, &g2], &ev);
    assert!(out[..100].iter().all(|o| o.data[5] == 0xaa));
    assert!(out[100..].iter().all(|o| o.data[5] == 0xbb));
}

#[test]
fn ipv6_vip_tunnels_to_its_ipv6_backend() {
    let t = test_target();
    let img = image_for(&config_text(false, false), &t, None);
    // IPv6 TUN-IPIP VIP: the outer header is IPv6 to the backend.
    let ev = vec![(None, tcp("2001:db8:c::1", 5555, "2001:db8::10", 443, SYN, 10), 0)];
    let (out, f) = both(&[&img], &ev);
    assert_eq!(u16::from_be_bytes([out[0].data[12], out[0].data[13]]), 0x86dd);
    assert_eq!(out[0].data[14 + 6], 41, "IPv6 in IPv6");
    let outer_dst: [u8; 16] = out[0].data[14 + 24..14 + 40].try_into().unwrap();
    let s1: IpAddr = "2001:db8:1::1".parse().unwrap();
    let s2: IpAddr = "2001:db8:1::2".parse().unwrap();
    let d = IpAddr::from(outer_dst);
    assert!(d == s1 || d == s2, "{d}");
    assert_eq!(f.counters().get(Counter::CtInserts), 1);
}
