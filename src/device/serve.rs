//! `serve`: the model, or the RTL simulation, as a device behind a
//! shared-memory file, replaying traffic after each commit.

use super::stop_flag;
use anyhow::{bail, Result};
use hw_emu::serve::{CommitEvent, ShmDevice};
use hw_model::model::OutPacket;
use lbnic_contract::target::regs::{self, Counter};
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a replay did, for the log.
struct Replay {
    packets: u64,
    sent: u64,
    /// Commits during the replay: (after how many packets, generation, result).
    commits: Vec<(u64, u64, u32)>,
    stopped: bool,
}

fn log_commit(ev: &CommitEvent, during: Option<u64>) {
    let when = during.map_or(String::new(), |n| format!(" during the replay, after packet {n}"));
    if ev.result == regs::COMMIT_OK {
        outln!(
            "commit: generation {} active in bank {}{when} (validated in {:.1} ms)",
            ev.generation,
            ev.active_bank,
            ev.validate.as_secs_f64() * 1e3
        );
    } else {
        outln!(
            "commit: generation {} refused: {}{when}; generation {} stays active",
            ev.generation,
            regs::commit_result_name(ev.result),
            ev.active_generation
        );
    }
}

fn replay(
    dev: &mut ShmDevice,
    rx: &Path,
    tx: Option<&Path>,
    pps: Option<f64>,
    offset: &mut u64,
    stop: &AtomicBool,
) -> Result<Replay> {
    let reader = testbench::trace::TraceReader::open(rx)?;
    let mut writer = match tx {
        Some(p) => Some(testbench::trace::TraceWriter::create(
            p,
            testbench::trace::Format::for_path(p),
        )?),
        None => None,
    };
    let mut r = Replay {
        packets: 0,
        sent: 0,
        commits: Vec::new(),
        stopped: false,
    };
    let t0 = Instant::now();
    let mut last_step = Instant::now();
    let (mut first, mut last) = (None, 0u64);
    // Frames offered and not yet out (or dropped): (index, ingress time);
    // an output is written at its frame's ingress time, whichever backend
    // (the RTL's frames leave later, in order).
    let mut inflight: VecDeque<(u64, u64)> = VecDeque::new();
    let mut outs: Vec<OutPacket> = Vec::new();
    let mut emit =
        |outs: &mut Vec<OutPacket>, inflight: &mut VecDeque<(u64, u64)>, r: &mut Replay| -> Result<()> {
            for o in outs.drain(..) {
                while inflight.front().is_some_and(|f| f.0 < o.seq) {
                    inflight.pop_front();
                }
                let ts = inflight.front().filter(|f| f.0 == o.seq).map_or(o.ts_ns, |f| f.1);
                r.sent += 1;
                if let Some(w) = writer.as_mut() {
                    w.write(ts, &o.data)?;
                }
            }
            Ok(())
        };
    for pkt in reader {
        let pkt = pkt?;
        first.get_or_insert(pkt.ts_ns);
        let ts = (pkt.ts_ns + *offset).max(last);
        last = ts;
        inflight.push_back((dev.offered(), ts));
        dev.input(&pkt.data, ts, &mut outs)?;
        emit(&mut outs, &mut inflight, &mut r)?;
        r.packets += 1;
        // Between two packets: act on the host (a commit lands here).
        if dev.pending() || last_step.elapsed() >= Duration::from_micros(200) {
            if let Some(ev) = dev.step()? {
                log_commit(&ev, Some(r.packets));
                r.commits.push((r.packets, ev.generation, ev.result));
            }
            last_step = Instant::now();
        }
        if let Some(pps) = pps {
            let due = t0 + Duration::from_secs_f64(r.packets as f64 / pps);
            while Instant::now() < due && !stop.load(Ordering::Relaxed) {
                if let Some(ev) = dev.step()? {
                    log_commit(&ev, Some(r.packets));
                    r.commits.push((r.packets, ev.generation, ev.result));
                }
                last_step = Instant::now();
                std::thread::sleep((due - Instant::now().min(due)).min(Duration::from_micros(200)));
            }
        }
        if stop.load(Ordering::Relaxed) {
            r.stopped = true;
            break;
        }
    }
    // The next replay starts 1 ms of device time after this one ended.
    if let Some(f) = first {
        *offset = (last + 1_000_000).saturating_sub(f);
    }
    dev.drain(&mut outs)?;
    emit(&mut outs, &mut inflight, &mut r)?;
    // A doorbell rung while the last frames drained lands here (logged
    // as during the replay: the frames before it were all offered).
    if let Some(ev) = dev.step()? {
        log_commit(&ev, Some(r.packets));
        r.commits.push((r.packets, ev.generation, ev.result));
    }
    if let Some(w) = writer {
        if !r.stopped {
            w.finish()?;
        }
    }
    Ok(r)
}

pub(super) fn serve(
    shm: &Path,
    target: &str,
    model: &str,
    rx: Option<&Path>,
    tx: Option<&Path>,
    pps: Option<f64>,
    poll_us: u64,
) -> Result<()> {
    let t = table_compiler::target_file::resolve(target, Path::new("."))?;
    if let Some(p) = pps {
        if !(p.is_finite() && p > 0.0) {
            bail!("--pps must be a positive number of packets per second");
        }
    }
    if let Some(rx) = rx {
        // Refuse a bad trace now, not after the first commit.
        testbench::trace::TraceReader::open(rx)?;
    }
    let stop = stop_flag()?;
    let mut dev = match model {
        "rtl" => {
            let opts = lbnic_rtl_sim::RtlOptions {
                sim_dir: None,
                target_file: (target != "default").then(|| target.to_string()),
            };
            let sim = lbnic_rtl_sim::serve::RtlBackend::new(t.clone(), &opts)?;
            ShmDevice::with_backend(shm, t.clone(), Box::new(sim))?
        }
        _ => ShmDevice::create(shm, t.clone())?,
    };
    let map = t.memory_map();
    outln!(
        "lbnic serve: shm:{} ready ({}, target {}, fingerprint {:#018x}, BAR {} bytes)",
        shm.display(),
        dev.backend_name(),
        t.name,
        t.fingerprint(),
        map.bar_len
    );
    std::io::stdout().flush()?;
    let mut offset = 0u64;
    let mut replays = 0u64;
    // A replay waits for the pipeline to be enabled (flash sets ENABLE
    // right after the commit).
    let mut pending = false;
    while !stop.load(Ordering::Relaxed) {
        if let Some(ev) = dev.step()? {
            log_commit(&ev, None);
            pending |= rx.is_some() && ev.result == regs::COMMIT_OK;
        }
        if pending && dev.enabled() {
            pending = false;
            if let Some(rx) = rx {
                replays += 1;
                let r = replay(&mut dev, rx, tx, pps, &mut offset, &stop)?;
                let c = dev.counters()?;
                outln!(
                    "replay {replays}: {} packets in, {} out{}; rx {} tx {} drops(no-vip {}, no-backend {}, parse {}); ct hits {} misses {}",
                    r.packets,
                    r.sent,
                    if r.stopped { " (stopped)" } else { "" },
                    c.get(Counter::RxPackets),
                    c.get(Counter::TxPackets),
                    c.get(Counter::DropNoVip),
                    c.get(Counter::DropNoBackend),
                    c.get(Counter::DropParse),
                    c.get(Counter::CtHits),
                    c.get(Counter::CtMisses),
                );
                for (after, g, res) in &r.commits {
                    outln!(
                        "replay {replays}: commit of generation {g} ({}) between packets {after} and {}",
                        regs::commit_result_name(*res),
                        after + 1
                    );
                }
            }
        }
        std::io::stdout().flush()?;
        std::thread::sleep(Duration::from_micros(poll_us));
    }
    drop(dev);
    outln!("lbnic serve: stopped");
    Ok(())
}
