//! The model's lookup answers are the contract's: its fast VIP matcher
//! ranks as `Bank::match_vip` does (the one `lbnic lookup` and `ct build`
//! use), and it says itself whether a bank keeps cross-bucket state.

use hw_model::device::{ActiveBank, CrossBucket};
use lbnic_contract::image::{Bank, BankVip};
use lbnic_contract::target::entries::{addr_to_bytes, Mode, Proto, Scheduler};
use proptest::prelude::*;
use std::net::IpAddr;
use std::path::Path;
use table_compiler::config::Config;

fn example(name: &str) -> Bank {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
    let cfg = Config::load(&dir.join(name)).unwrap();
    let (img, _) = table_compiler::compile::compile(&cfg, None, None).unwrap();
    Bank::decode(&img).unwrap()
}

/// The example bank with its VIPs replaced by `vips` (address, protocol,
/// port), in slot order; overlaps the compiler would refuse are allowed, as
/// a device allows them.
fn with_vips(mut bank: Bank, vips: &[(IpAddr, Proto, u16)]) -> Bank {
    let template: BankVip = bank.vips.iter().flatten().next().unwrap().clone();
    bank.vips = vips
        .iter()
        .enumerate()
        .map(|(i, &(addr, proto, port))| {
            let mut v = template.clone();
            v.index = i as u16;
            v.name = format!("v{i}");
            (v.repr.addr, v.repr.proto, v.repr.port) = (addr, proto, port);
            Some(v)
        })
        .collect();
    bank
}

fn proto() -> impl Strategy<Value = Proto> {
    prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Any)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn model_matcher_is_the_contracts(
        vips in proptest::collection::vec((0usize..4, proto(), prop_oneof![Just(0u16), 79u16..82]), 0..16),
        dst in 0usize..4,
        proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8)],
        dport in prop_oneof![Just(0u16), 79u16..82],
    ) {
        let addrs: [IpAddr; 4] = [
            "192.0.2.10".parse().unwrap(),
            "192.0.2.11".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
            "::ffff:192.0.2.10".parse().unwrap(),
        ];
        let mut seen = std::collections::HashSet::new();
        let vips: Vec<_> = vips
            .into_iter()
            .filter(|v| seen.insert(*v))
            .map(|(a, p, port)| (addrs[a], p, port))
            .collect();
        static BASIC: std::sync::OnceLock<Bank> = std::sync::OnceLock::new();
        let bank = with_vips(BASIC.get_or_init(|| example("basic.toml")).clone(), &vips);
        let dst = addrs[dst];
        let want = bank.match_vip(proto, dst, dport).map(|v| v.index);
        let ab = ActiveBank::new(bank, 1, 0);
        prop_assert_eq!(ab.match_vip(&addr_to_bytes(dst), proto, dport), want);
    }
}

#[test]
fn the_model_says_which_banks_keep_cross_bucket_state() {
    let bank = example("basic.toml");
    let ab = ActiveBank::new(bank.clone(), 1, 0);
    // basic.toml: "api" is NAT and RR (the pointer is named), "dns" WRR.
    assert_eq!(
        ab.cross_bucket_state(),
        Some(CrossBucket::RoundRobin {
            vip: "api".into(),
            sched: Scheduler::Rr
        })
    );
    let keep = |f: &dyn Fn(&BankVip) -> bool| {
        let mut b = bank.clone();
        for v in b.vips.iter_mut() {
            if v.as_ref().is_some_and(|v| !f(v)) {
                *v = None;
            }
        }
        ActiveBank::new(b, 1, 0).cross_bucket_state()
    };
    assert_eq!(
        keep(&|v| v.name == "dns"),
        Some(CrossBucket::RoundRobin {
            vip: "dns".into(),
            sched: Scheduler::Wrr
        })
    );
    assert_eq!(
        keep(&|v| v.repr.sched.is_hashed() && v.repr.mode != Mode::Nat),
        None
    );
    let s = example("scale.toml");
    let nat = s
        .vips
        .iter()
        .flatten()
        .find(|v| v.repr.mode == Mode::Nat)
        .unwrap();
    assert_eq!(
        ActiveBank::new(s.clone(), 1, 0).cross_bucket_state(),
        Some(CrossBucket::NatReturn {
            vip: nat.name.clone()
        })
    );
    assert_eq!(
        CrossBucket::NatReturn { vip: "api".into() }.to_string(),
        "VIP api is NAT: a new flow's return entry lives in another flow's bucket"
    );
}
