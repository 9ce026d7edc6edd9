//! Device commands: flash, verify, stats, devices, serve, and conntrack
//! dump / load / flush.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use host_driver::pci::{bind_hint, Sysfs};
use host_driver::records::{default_state_dir, BankRecords};
use host_driver::serve::ShmDevice;
use host_driver::{DeviceAccess, DeviceSpec, Driver, FlashOptions};
use lbnic_contract::image::{decode_conntrack, Image, ImageKind, SectionKind};
use lbnic_contract::target::entries::{CtRepr, CtWay, CT_WAY_LEN};
use lbnic_contract::target::regs::{self, Counter};
use lbnic_contract::target::Target;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `writeln!` into a String (cannot fail).
macro_rules! wln {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($t)*);
    }};
}

/// Write to stdout; a closed pipe (`| head`) ends the output quietly.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

const DEVICE_HELP: &str = "vfio:<pci-address> (a device bound to vfio-pci), shm:<file> (a shared-memory \
device answered by `lbnic serve --shm <file>`), or model / model:<target.toml> (the in-process model, \
for dry runs)";

#[derive(Args, Clone)]
pub struct DeviceArg {
    /// The device: vfio:0000:03:00.0, shm:/dev/shm/lbnic, or model.
    #[arg(long, short = 'd', long_help = DEVICE_HELP)]
    device: DeviceSpec,
    /// Seconds to wait for the device to act on a doorbell or control bit.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

#[derive(Subcommand)]
pub enum DeviceCmd {
    /// Flash a bank image: check the device's ID, version and target
    /// fingerprint, write the inactive bank, stage generation, length and
    /// CRC32C, ring COMMIT, wait for the new active generation, read back.
    ///
    /// With --delta only the words that differ from what the inactive bank
    /// holds are written. This host records what it flashed to each bank
    /// (in --state-dir); if the device changed since (another host, a
    /// restart) the full bank is written instead, and if the record was
    /// wrong after all the device refuses the CRC and the full bank is
    /// written and committed.
    Flash {
        #[command(flatten)]
        dev: DeviceArg,
        /// Bank image (`lbnic compile`).
        image: PathBuf,
        /// Write only what changed.
        #[arg(long)]
        delta: bool,
        /// With --delta: the image the inactive bank holds, instead of this
        /// host's records.
        #[arg(long, requires = "delta")]
        base: Option<PathBuf>,
        /// Where this host records what each bank holds [default:
        /// $LBNIC_STATE_DIR, $XDG_STATE_HOME/lbnic, ~/.local/state/lbnic].
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Do not read the written bytes back after the commit.
        #[arg(long)]
        no_readback: bool,
        /// Leave CONTROL.ENABLE as it is (default: enable the pipeline).
        #[arg(long)]
        no_enable: bool,
        #[arg(long)]
        json: bool,
    },
    /// Check that the device's active bank holds exactly this image, at
    /// this image's generation (reads the whole bank back).
    Verify {
        #[command(flatten)]
        dev: DeviceArg,
        image: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Device state and counters.
    Stats {
        #[command(flatten)]
        dev: DeviceArg,
        /// The device's target ("default" or a TOML file): where its
        /// register block is.
        #[arg(long, default_value = "default")]
        target: String,
        #[arg(long)]
        json: bool,
        /// Refresh (with per-second rates) until Ctrl-C.
        #[arg(long)]
        watch: bool,
        /// Milliseconds between refreshes with --watch.
        #[arg(long, default_value_t = 1000)]
        interval: u64,
        /// Stop --watch after this many refreshes.
        #[arg(long)]
        count: Option<u64>,
    },
    /// PCI devices VFIO can use: driver, IOMMU group, whether bound to
    /// vfio-pci.
    Devices {
        /// Also devices without an IOMMU group.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Run the model as a device behind a shared-memory file: poll the
    /// doorbell, validate and commit banks, keep the heartbeat and counters
    /// up to date, and (with --rx) replay traffic after each commit, once
    /// the pipeline is enabled. A commit that arrives during a replay takes
    /// effect between two packets (and starts no second replay). Stops
    /// cleanly on SIGINT/SIGTERM.
    Serve {
        /// The file (created and sized to the target's BAR if needed).
        #[arg(long)]
        shm: PathBuf,
        /// The device's target ("default" or a TOML file).
        #[arg(long, default_value = "default")]
        target: String,
        /// Trace (pcap/pcapng) replayed through the pipeline after each
        /// commit.
        #[arg(long)]
        rx: Option<PathBuf>,
        /// Where the frames that leave go (rewritten after each replay).
        #[arg(long, requires = "rx")]
        tx: Option<PathBuf>,
        /// Replay at most this many packets per second (so a table update
        /// can land mid-traffic); default as fast as possible.
        #[arg(long, requires = "rx")]
        pps: Option<f64>,
        /// Microseconds between two polls of the doorbell when idle.
        #[arg(long, default_value_t = 200)]
        poll_us: u64,
    },
}

#[derive(Subcommand)]
pub enum CtDeviceCmd {
    /// Dump the device's conntrack table as a flow list (what `ct build
    /// --flows` reads), and optionally as a conntrack image. The pipeline
    /// pauses conntrack while the table is read (CONTROL.CT_HOST).
    Dump {
        #[command(flatten)]
        dev: DeviceArg,
        /// The bank image active on the device (target, hash key, names).
        #[arg(long)]
        bank: PathBuf,
        /// Flow list output (default: stdout); written atomically.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write the table as a conntrack image (`ct load` takes it).
        #[arg(long)]
        image: Option<PathBuf>,
    },
    /// Preload the conntrack table from a conntrack image (`ct build`),
    /// e.g. to warm a standby before failover. Replaces the whole table.
    Load {
        #[command(flatten)]
        dev: DeviceArg,
        image: PathBuf,
    },
    /// Invalidate every conntrack entry (CONTROL.CT_FLUSH).
    Flush {
        #[command(flatten)]
        dev: DeviceArg,
        #[arg(long, default_value = "default")]
        target: String,
    },
}

use crate::tables::load_image;

fn driver(dev: &DeviceArg, target: &Target) -> Result<Driver<Box<dyn DeviceAccess>>> {
    let access = host_driver::open(&dev.device, target)?;
    let mut d = Driver::new(access, target.clone());
    d.timeout = Duration::from_secs_f64(dev.timeout.max(0.001));
    Ok(d)
}

fn progress_bar(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub fn run(cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::Flash {
            dev,
            image,
            delta,
            base,
            state_dir,
            no_readback,
            no_enable,
            json,
        } => flash(
            &dev,
            &image,
            delta,
            base.as_deref(),
            state_dir,
            no_readback,
            no_enable,
            json,
        ),
        DeviceCmd::Verify { dev, image, json } => verify(&dev, &image, json),
        DeviceCmd::Stats {
            dev,
            target,
            json,
            watch,
            interval,
            count,
        } => stats(&dev, &target, json, watch, interval, count),
        DeviceCmd::Devices { all, json } => devices(all, json),
        DeviceCmd::Serve {
            shm,
            target,
            rx,
            tx,
            pps,
            poll_us,
        } => serve(&shm, &target, rx.as_deref(), tx.as_deref(), pps, poll_us),
    }
}

pub fn run_ct(cmd: CtDeviceCmd) -> Result<()> {
    match cmd {
        CtDeviceCmd::Dump {
            dev,
            bank,
            output,
            image,
        } => ct_dump(&dev, &bank, output.as_deref(), image.as_deref()),
        CtDeviceCmd::Load { dev, image } => {
            let img = load_image(&image)?;
            img.expect_kind(ImageKind::Conntrack)
                .with_context(|| image.display().to_string())?;
            let mut d = driver(&dev, &img.target)?;
            d.ct_load(&img)?;
            let n = decode_conntrack(&img)?.len();
            println!(
                "{}: loaded {} ({n} flows, {} bytes)",
                d.describe(),
                image.display(),
                img.device_len
            );
            Ok(())
        }
        CtDeviceCmd::Flush { dev, target } => {
            let t = table_compiler::target_file::resolve(&target, Path::new("."))?;
            let mut d = driver(&dev, &t)?;
            d.ct_flush()?;
            println!("{}: conntrack flushed", d.describe());
            Ok(())
        }
    }
}

/// Records are per host and per device; the in-process model has none.
fn records(dev: &DeviceSpec, state_dir: Option<PathBuf>) -> Option<BankRecords> {
    match dev {
        DeviceSpec::Model(_) => None,
        _ => Some(BankRecords::new(
            &state_dir.unwrap_or_else(default_state_dir),
            &dev.to_string(),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn flash(
    dev: &DeviceArg,
    path: &Path,
    delta: bool,
    base: Option<&Path>,
    state_dir: Option<PathBuf>,
    no_readback: bool,
    no_enable: bool,
    json: bool,
) -> Result<()> {
    let img = load_image(path)?;
    img.expect_kind(ImageKind::Bank)
        .with_context(|| path.display().to_string())?;
    let mut d = driver(dev, &img.target)?;
    // Identity and target first: a wrong image is refused before any write.
    let id = d.check_image(&img, ImageKind::Bank)?;
    let recs = records(&dev.device, state_dir);
    let inactive = id.inactive_bank();
    let delta_base = if !delta {
        None
    } else if let Some(b) = base {
        let bi = load_image(b)?;
        bi.expect_target(&img.target)
            .with_context(|| format!("--base {}", b.display()))?;
        Some(bi.device().to_vec())
    } else {
        match recs.as_ref().map(|r| r.inactive_base(&id, img.device().len())) {
            Some(Ok(bytes)) => Some(bytes),
            Some(Err(why)) => {
                eprintln!("delta: {why}; writing the full bank");
                None
            }
            None => {
                eprintln!("delta: no bank records for {}; writing the full bank", dev.device);
                None
            }
        }
    };
    if let Some(r) = &recs {
        r.forget(inactive)?;
    }
    let opts = FlashOptions {
        delta_base,
        no_readback,
        no_enable,
    };
    let pb = progress_bar("writing bank");
    let report = d.flash(&img, &opts, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    if let Some(r) = &recs {
        let after = d.identify()?;
        r.record(report.bank, img.device(), &after)?;
    }
    if json {
        return crate::tables::print_json(&report);
    }
    let how = match (report.delta, report.delta_fell_back) {
        (false, _) => "full".to_string(),
        (true, false) => format!("delta, {} ranges", report.write_ranges),
        (true, true) => "delta refused by the device's CRC check, then full".to_string(),
    };
    println!(
        "{}: generation {} active in bank {} (was {}): wrote {} of {} bytes ({how}) in {:.1} ms, commit {:.1} ms, read back {} bytes in {:.1} ms; total {:.1} ms",
        report.device,
        report.generation,
        report.bank,
        report.previous_generation,
        report.bytes_written,
        report.bank_len,
        report.write_ms,
        report.commit_ms,
        report.bytes_read_back,
        report.readback_ms,
        report.total_ms
    );
    Ok(())
}

fn verify(dev: &DeviceArg, path: &Path, json: bool) -> Result<()> {
    let img = load_image(path)?;
    let mut d = driver(dev, &img.target)?;
    let r = d.verify(&img)?;
    if json {
        return crate::tables::print_json(&r);
    }
    println!(
        "{}: bank {} holds {} exactly: generation {}, {} bytes, crc32c {:#010x}",
        r.device,
        r.bank,
        path.display(),
        r.generation,
        r.bytes,
        r.crc32c
    );
    Ok(())
}

fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for s in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(s, stop.clone()).context("installing the signal handler")?;
    }
    Ok(stop)
}

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

fn stats(
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

fn devices(all: bool, json: bool) -> Result<()> {
    let sys = Sysfs::default();
    let list = sys.devices().context("reading /sys/bus/pci/devices")?;
    let iommu = sys.iommu_enabled();
    let mut o = String::new();
    let shown: Vec<_> = list
        .into_iter()
        .filter(|d| all || d.iommu_group.is_some())
        .collect();
    if json {
        return crate::tables::print_json(&serde_json::json!({
            "iommu": iommu,
            "devices": shown,
        }));
    }
    if !iommu {
        wln!(
            o,
            "no IOMMU groups: the IOMMU is off, so no device can be used through VFIO. Enable it \
(kernel command line intel_iommu=on or amd_iommu=on, and VT-d/AMD-Vi in the firmware; in QEMU \
-device intel-iommu,intremap=on -machine kernel-irqchip=split). Use --all to list every PCI device."
        );
        if !all {
            return emit(&o);
        }
    }
    wln!(
        o,
        "{:<13} {:<11} {:<9} {:<14} {:>5}  use",
        "address",
        "vendor:dev",
        "class",
        "driver",
        "group"
    );
    for d in &shown {
        let id = format!(
            "{}:{}",
            d.vendor.trim_start_matches("0x"),
            d.device.trim_start_matches("0x")
        );
        let group = d.iommu_group.map_or("-".into(), |g| g.to_string());
        let usage = if d.vfio_ready {
            format!("--device vfio:{}", d.address)
        } else if d.iommu_group.is_none() {
            "no IOMMU group".into()
        } else if d.driver.as_deref() == Some("vfio-pci") {
            format!("bound to vfio-pci, but /dev/vfio/{group} is missing")
        } else {
            format!("bind: {}", bind_hint(&d.address, d.driver.as_deref()))
        };
        wln!(
            o,
            "{:<13} {:<11} {:<9} {:<14} {:>5}  {}{}",
            d.address,
            id,
            d.class,
            d.driver.as_deref().unwrap_or("-"),
            group,
            usage,
            d.note.as_deref().map_or(String::new(), |n| format!("  [{n}]"))
        );
    }
    if shown.is_empty() {
        wln!(o, "(no devices)");
    }
    emit(&o)
}

/// Valid ways of a raw conntrack region, with invalid ways zeroed (the
/// device only clears VALID when it frees a way).
fn live_conntrack(t: &Target, mut mem: Vec<u8>) -> Result<Vec<u8>> {
    let map = t.memory_map();
    for b in 0..t.ct_buckets {
        for w in 0..t.ct_ways {
            let off = map.ct_way(b, w) as usize;
            let way = &mut mem[off..off + CT_WAY_LEN];
            match CtRepr::parse(&CtWay::new_unchecked(&*way)) {
                Ok(Some(_)) => {}
                Ok(None) => way.fill(0),
                Err(e) => bail!("conntrack bucket {b} way {w} (conntrack offset {off:#x}): {e}"),
            }
        }
    }
    Ok(mem)
}

fn ct_dump(dev: &DeviceArg, bank_path: &Path, output: Option<&Path>, image: Option<&Path>) -> Result<()> {
    let (bimg, bank) = crate::tables::load_bank(bank_path)?;
    let mut d = driver(dev, &bimg.target)?;
    let id = d.identify_target()?;
    if id.active_generation != bimg.generation {
        eprintln!(
            "warning: the device runs generation {}, {} is generation {}: names may not match",
            id.active_generation,
            bank_path.display(),
            bimg.generation
        );
    }
    let mem = live_conntrack(&bimg.target, d.ct_dump()?)?;
    let len = mem.len() as u64;
    let ct = Image::assemble(
        ImageKind::Conntrack,
        &bimg.target,
        id.active_generation,
        bimg.config_digest,
        mem,
        &[(SectionKind::Conntrack, 0..len)],
        &[],
    );
    let entries = decode_conntrack(&ct)?;
    let mut text = String::new();
    for rec in crate::tables::flow_records(&entries, &bank) {
        text += &serde_json::to_string(&rec)?;
        text.push('\n');
    }
    match output {
        Some(p) => lbnic_contract::image::write_atomic(p, &[text.as_bytes()])
            .with_context(|| format!("writing {}", p.display()))?,
        None => emit(&text)?,
    }
    if let Some(p) = image {
        ct.write_atomic(p)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!("{}: {} conntrack entries dumped", d.describe(), entries.len());
    Ok(())
}

/// What a replay did, for the log.
struct Replay {
    packets: u64,
    sent: u64,
    /// Commits during the replay: (after how many packets, generation, result).
    commits: Vec<(u64, u64, u32)>,
    stopped: bool,
}

fn log_commit(ev: &host_driver::serve::CommitEvent, during: Option<u64>) {
    let when = during.map_or(String::new(), |n| format!(" during the replay, after packet {n}"));
    if ev.result == regs::COMMIT_OK {
        println!(
            "commit: generation {} active in bank {}{when} (validated in {:.1} ms)",
            ev.generation,
            ev.active_bank,
            ev.validate.as_secs_f64() * 1e3
        );
    } else {
        println!(
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
    for pkt in reader {
        let pkt = pkt?;
        first.get_or_insert(pkt.ts_ns);
        let ts = (pkt.ts_ns + *offset).max(last);
        last = ts;
        if let Some(out) = dev.model.process(&pkt.data, ts) {
            r.sent += 1;
            if let Some(w) = writer.as_mut() {
                w.write(ts, out)?;
            }
        }
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
    dev.step()?;
    if let Some(w) = writer {
        if !r.stopped {
            w.finish()?;
        }
    }
    Ok(r)
}

fn serve(
    shm: &Path,
    target: &str,
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
    let mut dev = ShmDevice::create(shm, t.clone())?;
    let map = t.memory_map();
    println!(
        "lbnic serve: shm:{} ready (target {}, fingerprint {:#018x}, BAR {} bytes)",
        shm.display(),
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
        if pending && dev.model.dev.enabled() {
            pending = false;
            if let Some(rx) = rx {
                replays += 1;
                let r = replay(&mut dev, rx, tx, pps, &mut offset, &stop)?;
                let c = &dev.model.dev.counters;
                println!(
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
                    println!(
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
    println!("lbnic serve: stopped");
    Ok(())
}
