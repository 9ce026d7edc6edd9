//! The cycle-accurate model emits exactly the packets (bytes and order) and
//! counters of the functional reference, on random traffic with table
//! updates in the middle.

mod common;

use common::*;
use hw_model::cycle::{Cycle, CycleOptions, RxSource};
use hw_model::functional::Functional;
use hw_model::model::{Model, OutPacket};
use lbnic_contract::image::Image;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Ev {
    Pkt { frame: Vec<u8>, gap_ns: u64 },
    Update(usize),
}

fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    let client = (0u8..6, 1024u16..1030);
    prop_oneof![
        // Few clients so flows repeat, collide in buckets and age out.
        (
            client.clone(),
            prop::sample::select(vec![0x02u8, 0x10, 0x11, 0x04, 0x12]),
            0usize..200
        )
            .prop_map(|((c, p), f, n)| tcp(&format!("198.51.100.{c}"), p, "192.0.2.10", 80, f, n)),
        (
            client.clone(),
            prop::sample::select(vec![0x02u8, 0x10, 0x11]),
            0usize..100
        )
            .prop_map(|((c, p), f, n)| tcp(
                &format!("2001:db8:c::{c}"),
                p,
                "2001:db8::10",
                443,
                f,
                n
            )),
        // Beyond 1444 bytes of payload too big for GUE in 1514: ICMP answers.
        (client.clone(), 0usize..1500).prop_map(|((c, p), n)| udp(
            &format!("203.0.113.{c}"),
            p,
            "192.0.2.53",
            53,
            n
        )),
        (client.clone(), prop::sample::select(vec![0x02u8, 0x10])).prop_map(|((c, p), f)| tcp(
            &format!("198.51.100.{c}"),
            p,
            "192.0.2.20",
            8080,
            f,
            10
        )),
        // NAT replies from a backend to a client.
        (client.clone(), 0u8..2).prop_map(|((c, p), b)| tcp(
            &format!("10.0.2.{}", b + 1),
            9000,
            &format!("198.51.100.{c}"),
            p,
            0x10,
            20
        )),
        // Not for us.
        (client, 0usize..64).prop_map(|((c, p), n)| udp(&format!("198.51.100.{c}"), p, "192.0.2.99", 9, n)),
        // Garbage and truncated frames.
        prop::collection::vec(any::<u8>(), 0..80),
    ]
}

fn events() -> impl Strategy<Value = Vec<Ev>> {
    let ev = prop_oneof![
        20 => (frame_strategy(), prop::sample::select(vec![0u64, 0, 0, 3, 100, 5_000, 1_500_000_000]))
            .prop_map(|(frame, gap_ns)| Ev::Pkt { frame, gap_ns }),
        1 => (0usize..3).prop_map(Ev::Update),
    ];
    prop::collection::vec(ev, 1..120)
}

/// The cycle model with the back-pressured source.
const AXIS: CycleOptions = CycleOptions {
    hazard_check: true,
    rx_source: RxSource::Axis,
    cam_forgets_reads: false,
};

fn images() -> Vec<Image> {
    let t = test_target();
    let g1 = image_for(&config_text(false, false), &t, None);
    let g2 = image_for(&config_text(true, false), &t, Some(&g1));
    let g3 = image_for(&config_text(true, true), &t, Some(&g2));
    vec![g1, g2, g3]
}

fn run(model: &mut dyn Model, evs: &[Ev], imgs: &[Image]) -> Vec<OutPacket> {
    let mut ts = 1_000_000u64;
    let mut out = Vec::new();
    for e in evs {
        match e {
            Ev::Pkt { frame, gap_ns } => {
                ts += gap_ns;
                model.input(frame.clone(), ts);
            }
            Ev::Update(i) => model.flash(&imgs[*i]).unwrap(),
        }
        out.extend(model.take_output());
    }
    model.finish();
    out.extend(model.take_output());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cycle_model_equals_functional(evs in events()) {
        let imgs = images();
        let t = test_target();
        let mut f = Functional::new(device(&t, &imgs[0]));
        // A back-pressured source: a MAC's overflow drops (which the
        // functional model, without time, cannot have) would only hide
        // what this compares.
        let mut c = Cycle::with_options(device(&t, &imgs[0]), AXIS);
        let fo = run(&mut f, &evs, &imgs);
        let co = run(&mut c, &evs, &imgs);
        prop_assert_eq!(fo.len(), co.len());
        for (a, b) in fo.iter().zip(&co) {
            prop_assert_eq!(a.seq, b.seq);
            prop_assert_eq!(&a.data, &b.data, "packet {}", a.seq);
            prop_assert_eq!(a.sent, b.sent, "packet {}", a.seq);
        }
        prop_assert_eq!(f.counters(), c.counters());
        prop_assert_eq!(f.dev.ct_mem(), c.dev.ct_mem());
    }
}

/// The random traces above exercise what they claim to: forwarding in every
/// The random traces above exercise what they claim to: forwarding in every
/// mode, NAT replies, evictions, relocations, age-outs, hazards and stalls,
/// ICMP too-big answers and their rate limit.
fn busy_trace() -> Vec<Ev> {
    let mut evs = Vec::new();
    for i in 0..3000u32 {
        // A hot set of flows plus a cold stream that overflows the table;
        // classes share (client, port) so NAT replies meet their flows.
        let k = i / 6;
        let c8 = if k % 5 == 0 {
            (k % 200) as u8
        } else {
            (k % 4) as u8
        };
        let p = 1024 + (k % 2) as u16;
        let frame = match i % 6 {
            0 => tcp(
                &format!("198.51.100.{c8}"),
                p,
                "192.0.2.10",
                80,
                if i % 12 == 0 { 0x02 } else { 0x10 },
                40,
            ),
            1 => tcp(&format!("2001:db8:c::{c8:x}"), p, "2001:db8::10", 443, 0x10, 100),
            2 => udp(&format!("203.0.113.{c8}"), p, "192.0.2.53", 53, 64),
            3 => tcp(&format!("198.51.100.{c8}"), p, "192.0.2.20", 8080, 0x02, 10),
            4 => tcp("10.0.2.1", 9000, &format!("198.51.100.{c8}"), p, 0x10, 20),
            _ => udp(&format!("198.51.100.{c8}"), p, "192.0.2.99", 9, 10),
        };
        let gap_ns = if i % 500 == 0 { 4_000_000_000 } else { 0 };
        evs.push(Ev::Pkt { frame, gap_ns });
        if i % 8 == 0 {
            // Too big for GUE once encapsulated: answered, beyond the
            // burst of 50 within 500 back-to-back packets rate-limited.
            let frame = udp(&format!("203.0.113.{c8}"), p, "192.0.2.53", 53, 1460);
            evs.push(Ev::Pkt { frame, gap_ns: 0 });
        }
        if i == 1500 {
            evs.push(Ev::Update(1));
        }
    }
    evs
}

#[test]
fn equivalence_traffic_is_not_trivial() {
    use lbnic_contract::target::regs::Counter;
    let imgs = images();
    let t = test_target();
    let mut c = Cycle::with_options(device(&t, &imgs[0]), AXIS);
    let mut f = Functional::new(device(&t, &imgs[0]));
    let evs = busy_trace();
    let co = run(&mut c, &evs, &imgs);
    let fo = run(&mut f, &evs, &imgs);
    // The frames, and what each is (the decision a report attributes by).
    let key = |o: &Vec<OutPacket>| {
        o.iter()
            .map(|p| (p.seq, p.sent, p.data.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&co), key(&fo));
    assert!(co.iter().all(|p| p.sent.is_some()));
    let k = c.counters();
    for ctr in [
        Counter::TxPackets,
        Counter::CtHits,
        Counter::CtInserts,
        Counter::CtEvictions,
        Counter::CtAgeouts,
        Counter::CtRelocations,
        Counter::PassPackets,
        Counter::IcmpTooBigSent,
        Counter::IcmpRateLimited,
    ] {
        assert!(k.get(ctr) > 0, "{} is 0: {:?}", ctr.name(), k.named());
    }
    assert!(c.stats.ct_forwarded > 0);
    assert!(c.stats.stalls.iter().sum::<u64>() > 0, "{:?}", c.stats.stalls);
    assert_eq!(f.counters(), c.counters());
}

/// The equivalence check can fail: CT_EXEC executes on the bucket data a
/// packet received, so a hazard table that forgets packets' reads (a fault
/// injected through `CycleOptions`) makes the cycle model's decisions
/// differ from the functional model's on the same trace.
#[test]
fn a_broken_hazard_table_fails_equivalence() {
    let imgs = images();
    let t = test_target();
    let evs = busy_trace();
    let mut f = Functional::new(device(&t, &imgs[0]));
    let fo = run(&mut f, &evs, &imgs);
    let opts = CycleOptions {
        cam_forgets_reads: true,
        ..AXIS
    };
    let mut c = Cycle::with_options(device(&t, &imgs[0]), opts);
    let co = run(&mut c, &evs, &imgs);
    let key = |o: &Vec<OutPacket>| o.iter().map(|p| (p.seq, p.data.clone())).collect::<Vec<_>>();
    assert!(
        key(&co) != key(&fo) || f.counters() != c.counters(),
        "a broken hazard table went unnoticed"
    );
    assert!(c.stats.stale_reads > 0);
}

#[test]
fn syn_and_next_packet_back_to_back_go_to_the_same_backend() {
    let t = test_target();
    let imgs = images();
    let mut c = Cycle::new(device(&t, &imgs[0]));
    // Many flows, each SYN immediately followed by its ACK, back to back.
    for i in 0..200u16 {
        c.input_at_cycle(
            tcp("198.51.100.7", 2000 + i, "192.0.2.10", 80, 0x02, 0),
            i as u64 * 2,
            1_000_000,
        );
        c.input_at_cycle(
            tcp("198.51.100.7", 2000 + i, "192.0.2.10", 80, 0x10, 0),
            i as u64 * 2 + 1,
            1_000_000,
        );
    }
    c.finish();
    let out = c.take_output();
    assert_eq!(out.len(), 400);
    for pair in out.chunks(2) {
        assert_eq!(
            pair[0].data[..6],
            pair[1].data[..6],
            "SYN and ACK went to different backends"
        );
    }
    assert!(c.stats.ct_forwarded > 0, "the hazard check never forwarded");
    use lbnic_contract::target::regs::Counter;
    // 200 flows in a 128-entry table: once the candidates hold only
    // established entries a SYN is not stored (it may not evict one), and
    // its ACK misses and is scheduled alike; every other ACK hits.
    let k = c.counters();
    assert!(k.get(Counter::CtInsertRefused) > 0);
    assert_eq!(k.get(Counter::CtHits) + k.get(Counter::CtInsertRefused), 200);
}
