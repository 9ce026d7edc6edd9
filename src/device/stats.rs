//! `stats`: device state and counters, once or refreshed with rates.

use super::{driver, emit, stop_flag, DeviceArg};
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn stats_json(s: &host_driver::Stats, rates: Option<&[f64]>) -> serde_json::Value {
    let mut v = serde_json::to_value(s).expect("stats serialise");
    let counters: serde_json::Map<String, serde_json::Value> = s
        .counters
        .iter()
        .map(|(n, c)| (n.to_string(), (*c).into()))
        .collect();
    let parse: serde_json::Map<String, serde_json::Value> = s
        .parse_errors
        .iter()
        .map(|(n, c)| (n.to_string(), (*c).into()))
        .collect();
    v["counters"] = counters.into();
    v["parse_errors"] = parse.into();
    v["fingerprint"] = format!("{:#018x}", s.identity.fingerprint).into();
    if let Some(r) = rates {
        let m: serde_json::Map<String, serde_json::Value> = s
            .counters
            .iter()
            .zip(r)
            .map(|((n, _), r)| (n.to_string(), (*r).into()))
            .collect();
        v["rates_per_s"] = m.into();
    }
    v
}

fn render_stats(s: &host_driver::Stats, rates: Option<&[f64]>) -> String {
    let mut o = String::new();
    let id = &s.identity;
    wln!(
        o,
        "{}: contract {}.{}, fingerprint {:#018x}, {}{}{}{}, heartbeat {}",
        id.device,
        id.version >> 16,
        id.version & 0xffff,
        id.fingerprint,
        if s.ready { "ready" } else { "not ready" },
        if s.running { ", running" } else { ", stopped" },
        if s.commit_busy { ", commit busy" } else { "" },
        if s.ct_host { ", conntrack host-owned" } else { "" },
        id.heartbeat
    );
    wln!(
        o,
        "active generation {} in bank {}; last commit: {} (commit #{}); device time {} ticks",
        id.active_generation,
        id.active_bank,
        s.commit_result_name,
        id.commit_seq,
        id.now_ticks
    );
    for (i, (n, v)) in s.counters.iter().enumerate() {
        match rates {
            Some(r) => wln!(o, "  {n:<16} {v:>16} {:>14.1}/s", r[i]),
            None => wln!(o, "  {n:<16} {v:>16}"),
        }
    }
    let parse: Vec<String> = s
        .parse_errors
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    if !parse.is_empty() {
        wln!(o, "  parse errors: {}", parse.join(", "));
    }
    o
}

pub(super) fn stats(
    dev: &DeviceArg,
    target: &str,
    json: bool,
    watch: bool,
    interval: u64,
    count: Option<u64>,
) -> Result<()> {
    let t = table_compiler::target_file::resolve(target, Path::new("."))?;
    let mut d = driver(dev, &t)?;
    if !watch {
        let s = d.stats()?;
        if json {
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&stats_json(&s, None))?
            ))?;
        } else {
            emit(&render_stats(&s, None))?;
        }
        return Ok(());
    }
    let stop = stop_flag()?;
    let tty = std::io::stdout().is_terminal();
    let mut prev: Option<(Instant, Vec<u64>)> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let s = d.stats()?;
        let now = Instant::now();
        let vals: Vec<u64> = s.counters.iter().map(|(_, v)| *v).collect();
        let rates: Option<Vec<f64>> = prev.as_ref().map(|(t0, p)| {
            let dt = now.duration_since(*t0).as_secs_f64().max(1e-9);
            vals.iter()
                .zip(p)
                .map(|(a, b)| a.wrapping_sub(*b) as f64 / dt)
                .collect()
        });
        if json {
            emit(&format!(
                "{}\n",
                serde_json::to_string(&stats_json(&s, rates.as_deref()))?
            ))?;
        } else {
            let clear = if tty { "\x1b[2J\x1b[H" } else { "" };
            let zero = vec![0.0; vals.len()];
            emit(&format!(
                "{clear}{}\n",
                render_stats(&s, Some(rates.as_deref().unwrap_or(&zero)))
            ))?;
        }
        std::io::stdout().flush()?;
        prev = Some((now, vals));
        n += 1;
        if count.is_some_and(|c| n >= c) {
            break;
        }
        let until = Instant::now() + Duration::from_millis(interval);
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}
