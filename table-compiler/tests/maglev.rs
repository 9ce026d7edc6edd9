//! The promises of docs/spec.md §8, checked on built tables over random
//! configs: balance, disruption (plain and stable) and order independence.
//! (That the fast builder makes exactly the table of the plain algorithm is
//! checked beside it, in `maglev.rs`.)

use proptest::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use table_compiler::compile::compile;
use table_compiler::config::Config;
use table_compiler::maglev::{populate, populate_stable, quotas, Perm};

const M: u32 = 65537;

fn perms(seed: &[u8; 16], names: &[String], weights: &[u32], m: u32) -> Vec<Perm> {
    names
        .iter()
        .zip(weights)
        .map(|(n, &w)| Perm::new(seed, n, m, w))
        .collect()
}

fn counts(table: &[u16], n: usize) -> Vec<u64> {
    let mut c = vec![0u64; n];
    for &e in table {
        c[e as usize] += 1;
    }
    c
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// `|count - m*w/W| < 1` in integers: every backend within one entry of its
/// exact share.
fn within_one_entry(c: &[u64], w: &[u32], m: u32) -> Result<(), TestCaseError> {
    let total: u64 = w.iter().map(|&x| x as u64).sum();
    for (i, (&c, &w)) in c.iter().zip(w).enumerate() {
        let exact = m as u64 * w as u64; // share * total
        let diff = (c * total).abs_diff(exact);
        prop_assert!(
            diff < total,
            "backend {i}: {c} entries, exact share {}",
            exact as f64 / total as f64
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Equal weights: every backend gets floor(M/N) or ceil(M/N) entries.
    #[test]
    fn equal_weights_get_floor_or_ceil(
        m in prop::sample::select(vec![251u32, 4093, 65537]),
        n in 1usize..=1000,
        seed in any::<[u8; 16]>(),
    ) {
        let n = n.min(m as usize);
        let p = perms(&seed, &names("be", n), &vec![1; n], m);
        let t = populate(&p, m).unwrap();
        prop_assert_eq!(t.len(), m as usize);
        let (lo, hi) = (m as u64 / n as u64, (m as u64).div_ceil(n as u64));
        for (i, c) in counts(&t, n).into_iter().enumerate() {
            prop_assert!(c == lo || c == hi, "backend {}: {} entries, want {} or {}", i, c, lo, hi);
        }
    }

    /// Weights: every backend within one entry of its exact share M·w/W, so
    /// within 1% of it wherever that share is 100 entries or more (M =
    /// 65537, up to 1000 backends). Drained (weight 0) backends get none.
    #[test]
    fn weighted_shares_are_within_one_entry(
        n in 1usize..=1000,
        spread in prop::sample::select(vec![2u32, 10, 1000]),
        raw in prop::collection::vec(any::<u32>(), 1000),
        drained in prop::collection::vec(any::<bool>(), 1000),
        seed in any::<[u8; 16]>(),
    ) {
        let w: Vec<u32> = (0..n)
            .map(|i| if drained[i] && i % 7 == 0 { 0 } else { 1 + raw[i] % spread })
            .collect();
        prop_assume!(w.iter().any(|&x| x > 0));
        let p = perms(&seed, &names("be", n), &w, M);
        let c = counts(&populate(&p, M).unwrap(), n);
        within_one_entry(&c, &w, M)?;
        let total: u64 = w.iter().map(|&x| x as u64).sum();
        for (i, (&c, &w)) in c.iter().zip(&w).enumerate() {
            let exact = M as f64 * w as f64 / total as f64;
            if w == 0 {
                prop_assert_eq!(c, 0);
            } else if exact >= 100.0 {
                prop_assert!((c as f64 - exact).abs() <= 0.01 * exact, "backend {}: {} vs {}", i, c, exact);
            }
        }
    }

    /// Plain maglev, 100 backends, one removed: never a wholesale
    /// reshuffle. (The typical figure is checked below.)
    #[test]
    fn maglev_removal_disruption_is_bounded(
        gone in 0usize..100,
        seed in any::<[u8; 16]>(),
    ) {
        let (changed, minimal) = removal(&seed, gone);
        prop_assert!(changed <= 3.0 * minimal, "changed {} entries, minimum {}", changed, minimal);
    }

    /// maglev-stable: after any mix of removals, additions and weight
    /// changes exactly the minimal number of entries change, and every
    /// backend ends within one entry of its exact share.
    #[test]
    fn stable_moves_exactly_the_minimum(
        m in prop::sample::select(vec![1021u32, 65537]),
        n in 2usize..=200,
        change in prop::collection::vec(0u8..10, 200),
        added in 0usize..20,
        raw in prop::collection::vec(1u32..=10, 220),
        seed in any::<[u8; 16]>(),
    ) {
        let old_names = names("be", n);
        let old_w: Vec<u32> = raw[..n].to_vec();
        let old = populate(&perms(&seed, &old_names, &old_w, m), m).unwrap();
        // change: 0 removes, 1 doubles the weight, 2 drains, else keeps.
        let mut new_names = Vec::new();
        let mut new_w = Vec::new();
        for i in 0..n {
            match change[i] {
                0 => continue,
                1 => new_w.push(old_w[i] * 2),
                2 => new_w.push(0),
                _ => new_w.push(old_w[i]),
            }
            new_names.push(old_names[i].clone());
        }
        for j in 0..added {
            new_names.push(format!("new-{j}"));
            new_w.push(raw[n + j]);
        }
        prop_assume!(new_w.iter().any(|&x| x > 0));
        // Backends in stable-name order, as the compiler hands them over.
        let mut order: Vec<usize> = (0..new_names.len()).collect();
        order.sort_by(|&a, &b| new_names[a].cmp(&new_names[b]));
        let new_names: Vec<String> = order.iter().map(|&i| new_names[i].clone()).collect();
        let new_w: Vec<u32> = order.iter().map(|&i| new_w[i]).collect();
        let index: HashMap<&str, u16> = new_names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u16)).collect();
        let prev: Vec<Option<u16>> = old.iter().map(|&e| index.get(old_names[e as usize].as_str()).copied()).collect();
        let new = populate_stable(&perms(&seed, &new_names, &new_w, m), &prev, m).unwrap();

        let changed = prev.iter().zip(&new).filter(|(p, &n)| **p != Some(n)).count() as u64;
        let q = quotas(&new_w, m);
        let old_counts = counts(&old, n);
        let minimal: u64 = (0..n)
            .map(|i| {
                let quota = index.get(old_names[i].as_str()).map_or(0, |&j| q[j as usize] as u64);
                old_counts[i].saturating_sub(quota)
            })
            .sum();
        prop_assert_eq!(changed, minimal);
        within_one_entry(&counts(&new, new_names.len()), &new_w, m)?;
    }
}

/// Entries that change, and the minimum that must (the removed backend's),
/// when backend `gone` of 100 leaves a plain `maglev` table (M = 65537).
fn removal(seed: &[u8; 16], gone: usize) -> (f64, f64) {
    let all = names("be", 100);
    let old = populate(&perms(seed, &all, &[1; 100], M), M).unwrap();
    let left: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != gone)
        .map(|(_, n)| n.clone())
        .collect();
    let new = populate(&perms(seed, &left, &[1; 99], M), M).unwrap();
    let changed = old
        .iter()
        .zip(&new)
        .filter(|(&o, &n)| all[o as usize] != left[n as usize])
        .count();
    let minimal = old.iter().filter(|&&o| o as usize == gone).count();
    (changed as f64, minimal as f64)
}

/// Removing 1 of 100 backends changes about 1.5x the minimal number of
/// entries, as in the paper: over 50 configs x 4 removals the mean stays
/// below 1.7x and 95% of removals below 2x. (A config where two backends
/// draw the same skip, about 7% of 100-backend configs, sits near 2.1x for
/// every removal: their permutations are shifts of each other.)
#[test]
fn maglev_removal_disrupts_about_one_and_a_half_times_the_minimum() {
    let mut ratios = Vec::new();
    for s in 0u32..50 {
        let mut seed = *b"disruption-seed.";
        seed[..4].copy_from_slice(&s.wrapping_mul(0x9e37_79b9).to_le_bytes());
        for k in 0..4 {
            let (changed, minimal) = removal(&seed, (s as usize * 31 + k * 17) % 100);
            ratios.push(changed / minimal);
        }
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    let within_2x = ratios.iter().filter(|&&r| r <= 2.0).count() as f64 / ratios.len() as f64;
    assert!(mean < 1.7, "mean {mean:.3}x the minimum");
    assert!(
        within_2x >= 0.95,
        "only {:.1}% of removals within 2x",
        100.0 * within_2x
    );
}

/// A config with `vips` VIPs of `backends` backends each, VIPs and backends
/// written in the order the permutations give.
fn config_text(
    vips: usize,
    backends: usize,
    vip_order: &[usize],
    be_order: &[usize],
    sched: &[&str],
) -> String {
    let mut s = String::from("[device]\ngateway_mac = \"02:00:00:00:00:fe\"\n");
    for &v in vip_order.iter().filter(|&&v| v < vips) {
        s += &format!(
            "[[vip]]\nname = \"vip-{v}\"\naddress = \"192.0.2.{}\"\nport = 80\nmode = \"tun-ipip\"\nscheduler = \"{}\"\n",
            v + 1,
            sched[v % sched.len()]
        );
        if sched[v % sched.len()].starts_with("maglev") {
            s += "table_size = 4093\n";
        }
        s += "backend = [\n";
        for &b in be_order.iter().filter(|&&b| b < backends) {
            s += &format!(
                "  {{ name = \"be-{v}-{b}\", address = \"10.{v}.0.{}\", weight = {} }},\n",
                b + 1,
                1 + (b * 7 + v) % 5
            );
        }
        s += "]\n";
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The same config, VIPs and backends in any order, gives a
    /// byte-identical image.
    #[test]
    fn any_order_gives_the_same_bytes(
        vips in 1usize..6,
        backends in 1usize..40,
        vip_order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        be_order in Just((0..40).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let sched = ["maglev", "wrr", "maglev-stable", "rr"];
        let sorted: Vec<usize> = (0..40).collect();
        let a = config_text(vips, backends, &sorted, &sorted, &sched);
        let b = config_text(vips, backends, &vip_order, &be_order, &sched);
        let parse = |t: &str| Config::parse(t, "t.toml", Path::new(".")).unwrap();
        let img_a = compile(&parse(&a), None, Some(3)).unwrap().0.to_bytes();
        let img_b = compile(&parse(&b), None, Some(3)).unwrap().0.to_bytes();
        prop_assert!(img_a == img_b, "images differ for\n{}", b);
    }
}

/// Parsing in pieces and building tables in parallel change nothing: one
/// thread or several, the same bytes.
#[test]
fn thread_count_does_not_matter() {
    // 60 VIPs of 40 backends: more than two parse pieces of config.
    let order: Vec<usize> = (0..60).collect();
    let text = config_text(60, 40, &order, &order, &["maglev", "wrr"]);
    assert!(text.len() > 2 * 64 * 1024, "{} bytes", text.len());
    let build = || {
        let cfg = Config::parse(&text, "t.toml", Path::new(".")).unwrap();
        compile(&cfg, None, Some(1)).unwrap().0.to_bytes()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(build);
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(build);
    assert!(one == four);
}
