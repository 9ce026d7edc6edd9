//! Device commands: flash, verify, stats, devices, fleet flash, serve, and conntrack
//! dump / load / flush. This file holds the command line and opens
//! devices; each job lives in its own module.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use host_driver::{DeviceAccess, DeviceSpec, Driver};
use hw_emu::ModelAccess;
use lbnic_contract::target::Target;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// `writeln!` into a String (cannot fail).
macro_rules! wln {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($t)*);
    }};
}

// After `wln!`, so the job modules can use it.
mod ct;
mod flash;
mod fleet;
mod list;
mod serve;
mod stats;

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
    /// Several devices at once (a cluster of load balancers).
    #[command(subcommand)]
    Fleet(fleet::FleetCmd),
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
        /// The device: `functional` (the model) or `rtl` (the reference RTL
        /// in Verilator: registers, aperture and traffic go to its ports;
        /// build it first with `scripts/rtl-sim.sh --target FILE`, this
        /// target; `$LBNIC_RTL_SIM_DIR` overrides where it is looked for).
        #[arg(long, default_value = "functional", value_parser = ["functional", "rtl"])]
        model: String,
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

/// Open a device. The bus backends are host-driver's; the in-process model
/// (`model`, `model:<target.toml>`) is hw-emu's, and its target file is
/// read here.
fn open(spec: &DeviceSpec, target: &Target) -> Result<Box<dyn DeviceAccess>> {
    let model = |t: Target| -> Result<Box<dyn DeviceAccess>> {
        Ok(Box::new(ModelAccess::new(t).context("in-process model")?))
    };
    match spec {
        DeviceSpec::Model(None) => model(target.clone()),
        DeviceSpec::Model(Some(p)) => model(table_compiler::target_file::load(p).context("model target")?),
        _ => Ok(host_driver::open(spec, target)?),
    }
}

fn driver(dev: &DeviceArg, target: &Target) -> Result<Driver<Box<dyn DeviceAccess>>> {
    let access = open(&dev.device, target)?;
    let mut d = Driver::new(access, target.clone());
    d.timeout = Duration::from_secs_f64(dev.timeout.max(0.001));
    Ok(d)
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
        } => flash::flash(
            &dev,
            &image,
            delta,
            base.as_deref(),
            state_dir,
            no_readback,
            no_enable,
            json,
        ),
        DeviceCmd::Verify { dev, image, json } => flash::verify(&dev, &image, json),
        DeviceCmd::Stats {
            dev,
            target,
            json,
            watch,
            interval,
            count,
        } => stats::stats(&dev, &target, json, watch, interval, count),
        DeviceCmd::Devices { all, json } => list::devices(all, json),
        DeviceCmd::Fleet(fleet::FleetCmd::Flash(a)) => fleet::flash(a),
        DeviceCmd::Serve {
            shm,
            target,
            model,
            rx,
            tx,
            pps,
            poll_us,
        } => serve::serve(&shm, &target, &model, rx.as_deref(), tx.as_deref(), pps, poll_us),
    }
}

pub fn run_ct(cmd: CtDeviceCmd) -> Result<()> {
    match cmd {
        CtDeviceCmd::Dump {
            dev,
            bank,
            output,
            image,
        } => ct::dump(&dev, &bank, output.as_deref(), image.as_deref()),
        CtDeviceCmd::Load { dev, image } => ct::load(&dev, &image),
        CtDeviceCmd::Flush { dev, target } => ct::flush(&dev, &target),
    }
}

fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for s in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(s, stop.clone()).context("installing the signal handler")?;
    }
    Ok(stop)
}
