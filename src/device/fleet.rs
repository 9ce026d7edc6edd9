//! `fleet flash`: one bank image onto several devices as a rolling update
//! (spec §4, "Rolling update"). Every device is checked before anything is
//! written anywhere; then one device at a time is written, committed,
//! verified and watched, and the first failure stops the rollout.

use super::flash::{progress_bar, recorded_base, records};
use super::{driver, DeviceArg};
use crate::tables::load_image;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use host_driver::{DeviceAccess, DeviceSpec, Driver, DriverError, FlashOptions, FlashReport, Identity};
use lbnic_contract::image::{format_id, Image, ImageId, ImageKind, Lineage};
use lbnic_contract::lineage::ZERO_ID;
use lbnic_contract::target::entries::global_field;
use lbnic_contract::target::regs::{status, Counter};
use serde::Serialize;
use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Drv = Driver<Box<dyn DeviceAccess>>;

const FLEET_FLASH_HELP: &str = "\
Flash one bank image to several devices as a rolling update.

Before anything is written anywhere, every device is opened and claimed, its \
ID, contract version and target fingerprint are checked against the image, it \
must be alive (heartbeat) and not mid-commit, and the image it runs is read \
from its active bank. A device that runs an image which is neither this image \
nor in this image's lineage (the chain of images it was compiled from with \
--previous) is refused: a `maglev-stable` table depends on its history, so \
nodes with different histories send the same flow to different backends. \
Nothing is written to any device then. --ignore-lineage flashes anyway. A \
device never flashed is fine; a device already running the image is skipped.

Then, one device at a time, in the order given: check (unchanged since the \
first check, alive), write the inactive bank (full, or --delta), commit, \
verify (the whole active bank read back), and watch its counters for --watch: \
the heartbeat keeps moving, the active generation stays, `commit_errors` does \
not rise, and the share of received packets dropped (by default \
drop_no_backend + drop_parse, see --drop-counter) is not more than \
--max-drop-rise percentage points above the device's own share before its \
flash (measured from the first check to its turn, at least --watch long). A \
watch that sees fewer than --min-packets received packets does not judge \
drops. Then --gap, then the next device.

The first failure stops the rollout: the error says which devices were \
updated, which one failed at which step (check, write, commit, verify, watch) \
and why, and which were not touched; the exit status is non-zero. A device \
that failed at write or commit still runs its old image (the host only \
writes the inactive bank). Progress goes to stderr, the summary to stdout \
(--json: per device its generation before and after, steps, timings, \
result).";

#[derive(Subcommand)]
pub enum FleetCmd {
    /// Flash one image to several devices, one at a time: check all
    /// (identity, target, lineage) before any write, then per device write,
    /// commit, verify and watch its counters; stop at the first failure.
    #[command(long_about = FLEET_FLASH_HELP)]
    Flash(FleetFlashArgs),
}

#[derive(Args)]
pub struct FleetFlashArgs {
    /// Bank image (`lbnic compile`, usually with --previous set to what
    /// the devices run).
    image: PathBuf,
    /// A device, repeated in rollout order: vfio:<pci-address>,
    /// shm:<file> or model.
    #[arg(long = "device", short = 'd', required = true, value_name = "DEVICE")]
    devices: Vec<DeviceSpec>,
    /// Write only what changed on each device (this host's bank records;
    /// a device it has no record of gets the full bank).
    #[arg(long)]
    delta: bool,
    /// Where this host records what each bank holds [default:
    /// $LBNIC_STATE_DIR, $XDG_STATE_HOME/lbnic, ~/.local/state/lbnic].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// How long to watch each device after its commit (e.g. 2s, 500ms,
    /// 0 for a single look).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    watch: Duration,
    /// Pause between one device's watch and the next device's write.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    gap: Duration,
    /// A counter the watch's drop check adds up (repeatable; replaces the
    /// default drop_no_backend and drop_parse).
    #[arg(long = "drop-counter", value_name = "COUNTER", default_values_t = [
        Counter::DropNoBackend.name().to_string(),
        Counter::DropParse.name().to_string(),
    ])]
    drop_counters: Vec<String>,
    /// Most the dropped share of received packets may rise during a watch
    /// over the device's share before its flash, in percentage points.
    #[arg(long, default_value_t = 1.0)]
    max_drop_rise: f64,
    /// Fewest received packets a watch needs to judge drops.
    #[arg(long, default_value_t = 100)]
    min_packets: u64,
    /// Flash devices whose active image is not in this image's lineage
    /// (with a warning).
    #[arg(long)]
    ignore_lineage: bool,
    /// Seconds to wait for a device to act on a doorbell or control bit.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
    #[arg(long)]
    json: bool,
}

/// `2s`, `500ms`, `1.5s`, `1m`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| "expected a duration such as 2s, 500ms or 0".to_string())?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s or m)")),
    };
    let secs = v * scale;
    if !(secs.is_finite() && (0.0..=86_400.0).contains(&secs)) {
        return Err("a duration from 0 to 24 hours".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where a device's update stopped.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Check,
    Write,
    Commit,
    Verify,
    Watch,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Check => "check",
            Step::Write => "write",
            Step::Commit => "commit",
            Step::Verify => "verify",
            Step::Watch => "watch",
        }
    }
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// Runs the image now, verified and watched.
    Updated,
    /// Already ran the image.
    Skipped,
    Failed,
    /// Nothing was written to it.
    Untouched,
}

/// A device's active image against the image's lineage (spec §4).
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum LineageCheck {
    /// Runs the image itself.
    Same,
    /// Runs one of the images it was compiled through.
    Ancestor,
    /// Never flashed, or an image without an id: no history to break.
    Empty,
    /// Another history; refused.
    Mismatch,
    /// Another history, flashed anyway (--ignore-lineage).
    Ignored,
}

#[derive(Serialize)]
struct StepTime {
    step: Step,
    ms: f64,
}

#[derive(Serialize, Default)]
struct WatchReport {
    ms: f64,
    samples: u32,
    rx_packets: u64,
    drops: u64,
    drop_pct: Option<f64>,
    baseline_rx_packets: u64,
    baseline_drops: u64,
    baseline_drop_pct: Option<f64>,
    /// Enough packets (--min-packets) to judge drops.
    judged: bool,
}

#[derive(Serialize)]
struct DeviceReport {
    device: String,
    result: Outcome,
    before_generation: Option<u64>,
    before_image_id: Option<String>,
    /// How the image it ran relates to the image's lineage.
    lineage: Option<LineageCheck>,
    after_generation: Option<u64>,
    /// The check of every device before any write.
    first_check_ms: f64,
    /// Steps completed, with their time.
    steps: Vec<StepTime>,
    failed_step: Option<Step>,
    error: Option<String>,
    flash: Option<FlashReport>,
    watch: Option<WatchReport>,
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum FleetResult {
    Ok,
    /// Refused before any write.
    Refused,
    /// Stopped at a device.
    Failed,
}

#[derive(Serialize)]
struct FleetReport {
    image: String,
    generation: u64,
    image_id: String,
    lineage: Lineage,
    result: FleetResult,
    updated: Vec<String>,
    skipped: Vec<String>,
    failed: Option<String>,
    failed_step: Option<Step>,
    untouched: Vec<String>,
    total_ms: f64,
    devices: Vec<DeviceReport>,
}

/// The counters a watch looks at, at one moment.
#[derive(Clone, Debug)]
struct Sample {
    at: Instant,
    heartbeat: u32,
    generation: u64,
    rx: u64,
    drops: u64,
    commit_errors: u64,
}

fn sample(d: &mut Drv, drop: &[Counter]) -> Result<Sample, DriverError> {
    let s = d.stats()?;
    Ok(Sample {
        at: Instant::now(),
        heartbeat: s.identity.heartbeat,
        generation: s.identity.active_generation,
        rx: s.counter(Counter::RxPackets),
        drops: drop.iter().map(|c| s.counter(*c)).fold(0, u64::wrapping_add),
        commit_errors: s.counter(Counter::CommitErrors),
    })
}

/// Received packets and drops from `a` to `b`.
fn window(a: &Sample, b: &Sample) -> (u64, u64) {
    (b.rx.wrapping_sub(a.rx), b.drops.wrapping_sub(a.drops))
}

fn pct(drops: u64, rx: u64) -> Option<f64> {
    (rx > 0).then(|| drops as f64 * 100.0 / rx as f64)
}

/// What the first check found on a device.
struct Pre {
    id: Identity,
    /// GLOBAL `image_id` of the active bank (zero: never flashed, or an
    /// image from before lineage).
    image_id: ImageId,
    sample: Sample,
}

/// A device taking part: its driver, and what the first check found.
struct Member {
    spec: DeviceSpec,
    label: String,
    drv: Option<Drv>,
    pre: Option<Pre>,
    report: DeviceReport,
}

impl Member {
    fn new(spec: &DeviceSpec, label: String) -> Member {
        Member {
            spec: spec.clone(),
            label,
            drv: None,
            pre: None,
            report: DeviceReport {
                device: spec.to_string(),
                result: Outcome::Untouched,
                before_generation: None,
                before_image_id: None,
                lineage: None,
                after_generation: None,
                first_check_ms: 0.0,
                steps: Vec::new(),
                failed_step: None,
                error: None,
                flash: None,
                watch: None,
            },
        }
    }
}

/// Open-time checks that write nothing: identity, target, claim, not
/// mid-commit, alive; then the first counter sample.
fn precheck(d: &mut Drv, img: &Image, drop: &[Counter]) -> Result<Pre, DriverError> {
    d.check_image(img, ImageKind::Bank)?;
    if let Err(cause) = d.access_mut().claim() {
        return Err(DriverError::Access {
            device: d.describe(),
            step: "claiming the device",
            cause,
        });
    }
    let (id, global) = d.active_global()?;
    let image_id: ImageId = global[global_field::IMAGE_ID]
        .try_into()
        .expect("GLOBAL holds an image id");
    if id.status & status::COMMIT_BUSY != 0 {
        return Err(DriverError::Busy { device: id.device });
    }
    d.check_alive()?;
    let sample = sample(d, drop)?;
    Ok(Pre { id, image_id, sample })
}

/// The lineage rule (spec §4): a device may take the image if it runs the
/// image, one of its ancestors, or nothing with an id.
fn lineage_check(pre: &Pre, lineage: &Lineage, ignore: bool) -> (LineageCheck, String) {
    let id = &pre.image_id;
    let short = format_id(id)[..12].to_string();
    if *id == ZERO_ID {
        let what = if pre.id.active_generation == 0 {
            "never flashed".to_string()
        } else {
            format!(
                "generation {} has no image id (built before lineage)",
                pre.id.active_generation
            )
        };
        (LineageCheck::Empty, format!("{what}: no history to check"))
    } else if *id == lineage.own.id {
        (LineageCheck::Same, format!("runs this image ({short})"))
    } else if lineage.contains(id) {
        (
            LineageCheck::Ancestor,
            format!("its image ({short}) is in the image's lineage"),
        )
    } else if ignore {
        (
            LineageCheck::Ignored,
            format!("its image ({short}) is NOT in the image's lineage (ignored: --ignore-lineage)"),
        )
    } else {
        (
            LineageCheck::Mismatch,
            format!("its image ({short}) is NOT in the image's lineage"),
        )
    }
}

/// The same device named twice (a `model` is a new in-process device each
/// time, so it may repeat).
fn same_device_key(spec: &DeviceSpec) -> Option<String> {
    match spec {
        DeviceSpec::Model(_) => None,
        DeviceSpec::Shm(p) => Some(format!(
            "shm:{}",
            std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display()
        )),
        DeviceSpec::Vfio(_) => Some(spec.to_string()),
    }
}

struct Limits {
    watch: Duration,
    drop: Vec<Counter>,
    max_drop_rise: f64,
    min_packets: u64,
}

pub(super) fn flash(a: FleetFlashArgs) -> Result<()> {
    let t_start = Instant::now();
    let img = load_image(&a.image)?;
    img.expect_kind(ImageKind::Bank)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.image.display()))?;
    let lineage = img
        .lineage()
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.image.display()))?;
    let lim = Limits::from_args(&a)?;
    check_distinct(&a.devices)?;
    let n = a.devices.len();
    let chain = crate::tables::describe_chain(&lineage);
    eprintln!(
        "fleet flash: {} (generation {}, lineage {chain}) to {n} device{}: checking every device before any write",
        a.image.display(),
        img.generation,
        if n == 1 { "" } else { "s" }
    );
    let mut members: Vec<Member> = a
        .devices
        .iter()
        .enumerate()
        .map(|(i, spec)| Member::new(spec, format!("[{}/{n}] {spec}", i + 1)))
        .collect();
    let mut report = FleetReport {
        image: a.image.display().to_string(),
        generation: img.generation,
        image_id: format_id(&lineage.own.id),
        lineage: lineage.clone(),
        result: FleetResult::Ok,
        updated: Vec::new(),
        skipped: Vec::new(),
        failed: None,
        failed_step: None,
        untouched: Vec::new(),
        total_ms: 0.0,
        devices: Vec::new(),
    };
    let refusals = check_all(&mut members, &img, &lineage, &lim, &a);
    if !refusals.is_empty() {
        report.result = FleetResult::Refused;
        let msg = format!(
            "refused before any write, nothing was written to any device:\n  {}",
            refusals.join("\n  ")
        );
        return finish(report, members, t_start, a.json, Some(msg));
    }
    let failure = roll(&mut members, &img, &lim, &a);
    let msg = failure.map(|(dev, step, e)| {
        report.result = FleetResult::Failed;
        failure_message(&members, &dev, step, &e)
    });
    finish(report, members, t_start, a.json, msg)
}

impl Limits {
    fn from_args(a: &FleetFlashArgs) -> Result<Limits> {
        if !(a.max_drop_rise.is_finite() && a.max_drop_rise >= 0.0) {
            bail!("--max-drop-rise must be a number of percentage points, 0 or more");
        }
        let mut drop = Vec::new();
        for n in &a.drop_counters {
            match Counter::ALL.iter().find(|c| c.name() == n) {
                Some(c) if !drop.contains(c) => drop.push(*c),
                Some(_) => {}
                None => bail!(
                    "--drop-counter {n:?}: no such counter (one of: {})",
                    Counter::ALL
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        Ok(Limits {
            watch: a.watch,
            drop,
            max_drop_rise: a.max_drop_rise,
            min_packets: a.min_packets,
        })
    }
}

/// The same device named twice is refused (a `model` is a new in-process
/// device each time, so it may repeat).
fn check_distinct(devices: &[DeviceSpec]) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (i, s) in devices.iter().enumerate() {
        if let Some(k) = same_device_key(s) {
            if let Some(j) = seen.insert(k, i) {
                bail!(
                    "{s} is named twice (devices {} and {}): each device once",
                    j + 1,
                    i + 1
                );
            }
        }
    }
    Ok(())
}

/// Step 1, every device before any write: the checks of [`precheck`] and
/// the lineage rule; then the devices already running the image are marked
/// skipped. Returns why devices are refused (empty: go ahead).
fn check_all(
    members: &mut [Member],
    img: &Image,
    lineage: &Lineage,
    lim: &Limits,
    a: &FleetFlashArgs,
) -> Vec<String> {
    let chain = crate::tables::describe_chain(lineage);
    let mut refusals: Vec<String> = Vec::new();
    for m in members.iter_mut() {
        let t = Instant::now();
        let arg = DeviceArg {
            device: m.spec.clone(),
            timeout: a.timeout,
        };
        let r = driver(&arg, &img.target).and_then(|mut d| {
            let pre = precheck(&mut d, img, &lim.drop)?;
            Ok((d, pre))
        });
        match r {
            Ok((d, pre)) => {
                m.report.before_generation = Some(pre.id.active_generation);
                m.report.before_image_id = Some(format_id(&pre.image_id));
                m.report.first_check_ms = ms(t.elapsed());
                let (check, said) = lineage_check(&pre, lineage, a.ignore_lineage);
                m.report.lineage = Some(check);
                eprintln!(
                    "{}: runs generation {} (bank {}), target and heartbeat ok; {said}",
                    m.label, pre.id.active_generation, pre.id.active_bank
                );
                if check == LineageCheck::Mismatch {
                    m.report.failed_step = Some(Step::Check);
                    m.report.error = Some(said.clone());
                    refusals.push(format!(
                        "{} runs generation {} (image id {}), which is neither this image nor in its lineage ({chain}): nodes with different histories route the same flows to different backends (--ignore-lineage flashes anyway)",
                        m.spec,
                        pre.id.active_generation,
                        format_id(&pre.image_id)
                    ));
                } else if check == LineageCheck::Ignored {
                    tracing::warn!(
                        "{}: runs generation {} (image id {}), not in the image's lineage; flashing anyway (--ignore-lineage)",
                        m.spec,
                        pre.id.active_generation,
                        format_id(&pre.image_id)
                    );
                }
                m.drv = Some(d);
                m.pre = Some(pre);
            }
            Err(e) => {
                let e = format!("{e:#}");
                let dev = m.spec.to_string();
                // Driver errors start with the device already.
                let why = e.strip_prefix(&format!("{dev}: ")).unwrap_or(&e);
                eprintln!("{}: {why}", m.label);
                m.report.error = Some(e.clone());
                m.report.failed_step = Some(Step::Check);
                refusals.push(format!("{dev}: {why}"));
            }
        }
    }
    // Devices already running the image: the same generation, and the
    // whole active bank reads back as the image.
    if refusals.is_empty() {
        for m in members.iter_mut() {
            let (Some(d), Some(pre)) = (m.drv.as_mut(), m.pre.as_ref()) else {
                continue;
            };
            if pre.image_id == lineage.own.id
                && pre.id.active_generation == img.generation
                && d.verify(img).is_ok()
            {
                eprintln!("{}: already runs this image (verified): skipped", m.label);
                m.report.result = Outcome::Skipped;
                m.report.after_generation = Some(img.generation);
            }
        }
    }
    refusals
}

/// Step 2, one device at a time; the first failure stops: (device, step,
/// why).
fn roll(
    members: &mut [Member],
    img: &Image,
    lim: &Limits,
    a: &FleetFlashArgs,
) -> Option<(String, Step, String)> {
    let t_pre = Instant::now();
    let mut first = true;
    let mut failure = None;
    for m in members.iter_mut() {
        if m.report.result == Outcome::Skipped {
            continue;
        }
        if !first && !a.gap.is_zero() {
            eprintln!("{}: waiting {:.1} s (--gap)", m.label, a.gap.as_secs_f64());
            std::thread::sleep(a.gap);
        }
        first = false;
        // The drop baseline spans at least one watch.
        let base_until = t_pre + lim.watch;
        if Instant::now() < base_until {
            eprintln!("{}: measuring the drop baseline", m.label);
            std::thread::sleep(base_until.saturating_duration_since(Instant::now()));
        }
        match update(m, img, lim, a.delta, a.state_dir.clone()) {
            Ok(()) => m.report.result = Outcome::Updated,
            Err((step, e)) => {
                let e = format!("{e:#}");
                let e = e
                    .strip_prefix(&format!("{}: ", m.spec))
                    .map_or(e.clone(), str::to_string);
                eprintln!("{}: FAILED at {}: {e}", m.label, step.name());
                m.report.result = Outcome::Failed;
                m.report.failed_step = Some(step);
                m.report.error = Some(e.clone());
                // Best effort: what the device runs now.
                m.report.after_generation = m
                    .drv
                    .as_mut()
                    .and_then(|d| d.identify().ok())
                    .map(|id| id.active_generation);
                failure = Some((m.spec.to_string(), step, e));
                break;
            }
        }
    }
    failure
}

/// Where the rollout stopped and what it left behind.
fn failure_message(members: &[Member], dev: &str, step: Step, e: &str) -> String {
    let names = |o: Outcome| {
        let v: Vec<String> = members
            .iter()
            .filter(|m| m.report.result == o)
            .map(|m| m.spec.to_string())
            .collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let still = match step {
        Step::Check => "; nothing was written to it",
        Step::Write => "; only its inactive bank was written, it runs its old image",
        Step::Commit => "; it runs its old image (unless it commits the staged generation later)",
        Step::Verify | Step::Watch => "; it runs the new image",
    };
    let skipped = match names(Outcome::Skipped).as_str() {
        "none" => String::new(),
        s => format!("\n  already running it: {s}"),
    };
    format!(
        "rolling update stopped at {dev}, step {}: {e}{still}\n  updated: {}{skipped}\n  not touched: {}",
        step.name(),
        names(Outcome::Updated),
        names(Outcome::Untouched),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Print the summary (stdout) and turn a failure into the exit status.
fn finish(
    mut report: FleetReport,
    members: Vec<Member>,
    t_start: Instant,
    json: bool,
    failure: Option<String>,
) -> Result<()> {
    report.total_ms = ms(t_start.elapsed());
    for m in members {
        let name = m.spec.to_string();
        match m.report.result {
            Outcome::Updated => report.updated.push(name),
            Outcome::Skipped => report.skipped.push(name),
            Outcome::Failed => {
                report.failed = Some(name);
                report.failed_step = m.report.failed_step;
            }
            Outcome::Untouched => report.untouched.push(name),
        }
        report.devices.push(m.report);
    }
    if json {
        crate::tables::print_json(&report)?;
    } else {
        let mut o = String::new();
        wln!(
            o,
            "fleet flash {} (generation {}): {} updated, {} skipped, {} not touched{} in {:.0} ms",
            report.image,
            report.generation,
            report.updated.len(),
            report.skipped.len(),
            report.untouched.len(),
            report
                .failed
                .as_ref()
                .map_or(String::new(), |f| format!(", {f} failed")),
            report.total_ms
        );
        for d in &report.devices {
            let gen = |g: Option<u64>| g.map_or("?".to_string(), |g| g.to_string());
            let steps: Vec<String> = d
                .steps
                .iter()
                .map(|s| format!("{} {:.0} ms", s.step.name(), s.ms))
                .collect();
            let res = match (d.result, d.failed_step) {
                (Outcome::Failed, Some(s)) => format!("failed at {}", s.name()),
                (Outcome::Untouched, Some(_)) if d.lineage == Some(LineageCheck::Mismatch) => {
                    "refused: not in the image's lineage".to_string()
                }
                (Outcome::Untouched, Some(s)) => format!("refused at {}", s.name()),
                (r, _) => format!("{r:?}").to_lowercase(),
            };
            let steps = if steps.is_empty() {
                String::new()
            } else {
                format!(" ({})", steps.join(", "))
            };
            wln!(
                o,
                "  {}: generation {} -> {}: {res}{steps}",
                d.device,
                gen(d.before_generation),
                gen(d.after_generation.or(d.before_generation)),
            );
        }
        super::emit(&o)?;
    }
    match failure {
        Some(msg) => bail!(msg),
        None => Ok(()),
    }
}

/// Which step a failed `Driver::flash` was in: `phase` follows its
/// progress (the write starts, the write is done).
fn flash_step(e: &DriverError, phase: Step) -> Step {
    match e {
        DriverError::Mismatch { .. } => Step::Verify,
        DriverError::CommitTimeout { .. }
        | DriverError::CommitRefused { .. }
        | DriverError::WrongActive { .. } => Step::Commit,
        _ => phase,
    }
}

/// Check, write, commit, verify and watch one device.
fn update(
    m: &mut Member,
    img: &Image,
    lim: &Limits,
    delta: bool,
    state_dir: Option<PathBuf>,
) -> Result<(), (Step, anyhow::Error)> {
    let label = m.label.clone();
    let d = m.drv.as_mut().expect("checked devices have a driver");
    let pre = m.pre.as_ref().expect("checked devices have a first check");
    let rep = &mut m.report;
    let fail = |s: Step| move |e: DriverError| (s, anyhow::Error::new(e));

    // Check: nothing changed since the first check, and alive.
    let t = Instant::now();
    let id = d.check_image(img, ImageKind::Bank).map_err(fail(Step::Check))?;
    if id.commit_seq != pre.id.commit_seq || id.active_generation != pre.id.active_generation {
        return Err((
            Step::Check,
            anyhow::anyhow!(
                "{} changed since the first check (generation {} -> {}, commit #{} -> #{}): another host is flashing it",
                id.device,
                pre.id.active_generation,
                id.active_generation,
                pre.id.commit_seq,
                id.commit_seq
            ),
        ));
    }
    if id.status & status::COMMIT_BUSY != 0 {
        return Err((Step::Check, DriverError::Busy { device: id.device }.into()));
    }
    d.check_alive().map_err(fail(Step::Check))?;
    let before = sample(d, &lim.drop).map_err(fail(Step::Check))?;
    rep.steps.push(StepTime {
        step: Step::Check,
        ms: ms(t.elapsed()),
    });

    // Write and commit.
    let recs = records(&m.spec, state_dir);
    let delta_base = if delta {
        recorded_base(&m.spec, recs.as_ref(), &id, img.device().len())
    } else {
        None
    };
    if let Some(r) = &recs {
        r.forget(id.inactive_bank())
            .map_err(|e| (Step::Write, anyhow::Error::new(e)))?;
    }
    let opts = FlashOptions {
        delta_base,
        // The verify step reads the whole bank back.
        no_readback: true,
        no_enable: false,
    };
    eprintln!(
        "{label}: writing bank {} ({})",
        id.inactive_bank(),
        if opts.delta_base.is_some() {
            "delta"
        } else {
            "full"
        }
    );
    let phase = Cell::new(Step::Check);
    let pb = progress_bar("writing bank");
    let r = d.flash(img, &opts, &mut |done, total| {
        phase.set(if done >= total { Step::Commit } else { Step::Write });
        pb.set_length(total);
        pb.set_position(done);
    });
    pb.finish_and_clear();
    let fr = r.map_err(|e| {
        let s = flash_step(&e, phase.get());
        (s, anyhow::Error::new(e))
    })?;
    rep.steps.push(StepTime {
        step: Step::Write,
        ms: fr.write_ms,
    });
    rep.steps.push(StepTime {
        step: Step::Commit,
        ms: fr.commit_ms,
    });
    rep.after_generation = Some(fr.generation);
    eprintln!(
        "{label}: generation {} active in bank {}: wrote {} of {} bytes{} in {:.1} ms, commit {:.1} ms",
        fr.generation,
        fr.bank,
        fr.bytes_written,
        fr.bank_len,
        if fr.delta_fell_back {
            " (delta refused by the CRC check, then full)"
        } else {
            ""
        },
        fr.write_ms,
        fr.commit_ms
    );
    rep.flash = Some(fr);
    if let Some(r) = &recs {
        let after = d.identify().map_err(fail(Step::Commit))?;
        r.record(after.active_bank, img.device(), &after)
            .map_err(|e| (Step::Commit, anyhow::Error::new(e)))?;
    }

    // Verify: the whole active bank.
    let t = Instant::now();
    let v = d.verify(img).map_err(fail(Step::Verify))?;
    rep.steps.push(StepTime {
        step: Step::Verify,
        ms: ms(t.elapsed()),
    });
    eprintln!(
        "{label}: verified ({} bytes in {:.1} ms)",
        v.bytes,
        ms(t.elapsed())
    );

    // Watch.
    eprintln!("{label}: watching for {:.1} s", lim.watch.as_secs_f64());
    let t = Instant::now();
    let mut w = WatchReport::default();
    let r = watch(d, img, lim, &pre.sample, &before, &mut w);
    w.ms = ms(t.elapsed());
    rep.steps.push(StepTime {
        step: Step::Watch,
        ms: w.ms,
    });
    let said = match (w.drop_pct, w.judged) {
        (Some(p), true) => format!(
            "{} packets, {p:.2}% dropped (before: {})",
            w.rx_packets,
            w.baseline_drop_pct
                .map_or("no traffic".to_string(), |b| format!("{b:.2}%"))
        ),
        _ => format!(
            "{} packets, too few to judge drops (--min-packets {})",
            w.rx_packets, lim.min_packets
        ),
    };
    rep.watch = Some(w);
    match r {
        Ok(()) => {
            eprintln!("{label}: ok: {said}; heartbeat moving, commit_errors unchanged");
            Ok(())
        }
        Err(e) => {
            rep.steps.pop();
            Err((Step::Watch, e))
        }
    }
}

/// Watch a freshly flashed device for `lim.watch`: alive, still on the
/// image's generation, no commit errors, drops not up by more than the
/// limit over the baseline (`base_from` to `base_to`, before its flash).
fn watch(
    d: &mut Drv,
    img: &Image,
    lim: &Limits,
    base_from: &Sample,
    base_to: &Sample,
    w: &mut WatchReport,
) -> Result<()> {
    let dev = d.describe();
    let s0 = sample(d, &lim.drop)?;
    let t0 = Instant::now();
    let mut beat = (s0.heartbeat, s0.at);
    let look = |s: &Sample| -> Result<()> {
        if s.generation != img.generation {
            bail!(
                "{dev}: the active generation changed to {} (another host?)",
                s.generation
            );
        }
        if s.commit_errors != s0.commit_errors {
            bail!(
                "{dev}: commit_errors rose from {} to {}",
                s0.commit_errors,
                s.commit_errors
            );
        }
        Ok(())
    };
    w.samples = 1;
    look(&s0)?;
    let mut last = s0.clone();
    while t0.elapsed() < lim.watch {
        let left = lim.watch.saturating_sub(t0.elapsed());
        std::thread::sleep(left.min(Duration::from_millis(100)));
        let s = sample(d, &lim.drop)?;
        w.samples += 1;
        if s.heartbeat != beat.0 {
            beat = (s.heartbeat, s.at);
        } else if s.at.duration_since(beat.1) > d.liveness_timeout {
            bail!(
                "{dev}: heartbeat stayed at {} for {} ms: the device stopped",
                s.heartbeat,
                s.at.duration_since(beat.1).as_millis()
            );
        }
        look(&s)?;
        last = s;
    }
    d.check_alive()?;
    if !lim.watch.is_zero() {
        let s = sample(d, &lim.drop)?;
        w.samples += 1;
        look(&s)?;
        last = s;
    }
    let (rx, drops) = window(&s0, &last);
    let (brx, bdrops) = window(base_from, base_to);
    w.rx_packets = rx;
    w.drops = drops;
    w.drop_pct = pct(drops, rx);
    w.baseline_rx_packets = brx;
    w.baseline_drops = bdrops;
    w.baseline_drop_pct = pct(bdrops, brx);
    w.judged = !lim.watch.is_zero() && rx >= lim.min_packets.max(1);
    if w.judged {
        let now = w.drop_pct.unwrap_or(0.0);
        let before = w.baseline_drop_pct.unwrap_or(0.0);
        if now > before + lim.max_drop_rise {
            bail!(
                "{dev}: {now:.2}% of received packets dropped ({}), {before:.2}% before its flash: more than --max-drop-rise {} points up",
                lim.drop.iter().map(|c| c.name()).collect::<Vec<_>>().join(" + "),
                lim.max_drop_rise
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use host_driver::AccessError;
    use lbnic_contract::image::LineageEntry;

    #[test]
    fn durations_parse() {
        for (s, ms) in [
            ("2s", 2000),
            ("500ms", 500),
            ("0", 0),
            ("1.5", 1500),
            ("1m", 60_000),
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms), "{s}");
        }
        for s in ["", "x", "2h", "-1s", "1e9s", "nan"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn the_lineage_rule() {
        let e = |generation, b| LineageEntry {
            generation,
            id: [b; 16],
        };
        let l = Lineage {
            ancestors: vec![e(1, 1), e(2, 2)],
            dropped: 0,
            own: e(3, 3),
        };
        let pre = |generation, b| Pre {
            id: Identity {
                device: "d".into(),
                id: 0,
                version: 0,
                fingerprint: 0,
                status: 0,
                control: 0,
                heartbeat: 0,
                active_bank: 0,
                active_generation: generation,
                commit_result: 0,
                commit_seq: 0,
                now_ticks: 0,
            },
            image_id: [b; 16],
            sample: Sample {
                at: Instant::now(),
                heartbeat: 0,
                generation,
                rx: 0,
                drops: 0,
                commit_errors: 0,
            },
        };
        use LineageCheck::*;
        for (g, b, ignore, want) in [
            (0, 0, false, Empty),
            (5, 0, false, Empty),
            (3, 3, false, Same),
            (1, 1, false, Ancestor),
            (2, 2, false, Ancestor),
            (2, 9, false, Mismatch),
            (2, 9, true, Ignored),
        ] {
            assert_eq!(lineage_check(&pre(g, b), &l, ignore).0, want, "{g} {b} {ignore}");
        }
    }

    #[test]
    fn a_flash_error_names_its_step() {
        let e = DriverError::Dead {
            device: "d".into(),
            heartbeat: 1,
            waited_ms: 1,
        };
        assert_eq!(flash_step(&e, Step::Check), Step::Check);
        let e = DriverError::Access {
            device: "d".into(),
            step: "writing the inactive bank",
            cause: AccessError::Busy("d".into()),
        };
        assert_eq!(flash_step(&e, Step::Write), Step::Write);
        let e = DriverError::CommitTimeout {
            device: "d".into(),
            waited: Duration::from_secs(1),
            seq: 0,
            generation: 2,
        };
        assert_eq!(flash_step(&e, Step::Write), Step::Commit);
    }
}
