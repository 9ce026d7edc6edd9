//! `lbnic`: compile load-balancer configs into FPGA/SmartNIC table images,
//! inspect and compare them, and look flows up in them.

/// `println!` for command output. A closed standard output (`lbnic target |
/// head -1`) ends the process as SIGPIPE ends a C tool (status 141, our
/// temporaries removed) where `println!` would panic.
macro_rules! outln {
    () => {
        $crate::stdout_write(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::stdout_write(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` with [`outln!`]'s handling of a closed standard output.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::stdout_write(format_args!($($t)*))
    };
}

mod device;
mod tables;
mod traffic;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lbnic",
    version,
    about = "Offload a stateful L4 load balancer (Maglev + conntrack, LVS DR/TUN/NAT) into an FPGA/SmartNIC pipeline",
    long_about = "lbnic offloads a stateful L4 load balancer into an FPGA/SmartNIC pipeline. It \
compiles a load-balancer config (TOML) into fixed-size, bit-exact table images for a hardware \
target; flashes them into a device (VFIO, or a shared-memory device served by the model), commits \
them atomically, verifies them and reads counters; replays pcaps through a cycle-accurate model of \
the pipeline for throughput analysis; and checks hardware or RTL-simulation output against it.\n\n\
Typical use:\n  lbnic compile examples/basic.toml -o basic.img\n  lbnic inspect basic.img\n  \
lbnic lookup basic.img --flow 'tcp 198.51.100.7:40000 -> 192.0.2.10:80'\n  \
lbnic gen examples/basic.toml -o trace.pcap && lbnic replay basic.img trace.pcap --model cycle\n  \
lbnic check basic.img trace.pcap --expect rtl-out.pcap\n  \
lbnic flash --device vfio:0000:03:00.0 basic.img && lbnic stats --device vfio:0000:03:00.0\n\n\
Set LBNIC_LOG (e.g. LBNIC_LOG=debug) or pass -v for more detail on stderr."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile a config into a bank image (VIP, backend and lookup tables).
    ///
    /// The image is written atomically: a failed compile leaves no file. With
    /// --previous, VIP and backend slots of surviving names are kept (so live
    /// conntrack entries stay valid) and `maglev-stable` VIPs move only the
    /// entries they must.
    Compile {
        /// Config file (TOML); see examples/basic.toml.
        config: PathBuf,
        /// Output image.
        #[arg(short, long)]
        output: PathBuf,
        /// The image currently on the device (same target): keeps slots
        /// stable, feeds `maglev-stable`, and becomes the new image's parent
        /// in its lineage.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Generation number to stamp (default: previous + 1, or 1).
        #[arg(long)]
        generation: Option<u64>,
        /// Print the compile report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show what an image holds: its id and lineage (the images it was
    /// compiled through), per VIP the table size, each backend's weight and
    /// slot count, and the balance (max/min of slot share over weight share;
    /// 1.0 is perfect).
    Inspect {
        image: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Only this VIP.
        #[arg(long)]
        vip: Option<String>,
        /// Refuse the image unless it was built for this target
        /// ("default" or a target TOML file).
        #[arg(long)]
        target: Option<String>,
    },
    /// Compare two bank images: per VIP, how many lookup-table entries point
    /// at a different backend, and the fewest any rebuild could have changed.
    /// Also says how their lineages relate (the new one built from the old,
    /// reversed, or diverged) and warns when they do not share a history:
    /// nodes running the two route some flows differently.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Which backend a new flow gets, and through which table entry; with
    /// --trace, also what conntrack decides for it after that traffic.
    ///
    /// With --trace the trace (pcap or pcapng; the first --packets of it) is
    /// run through the functional model with the image flashed, and each
    /// flow's conntrack entry is reported: a hit pins the flow to its
    /// backend whatever the table says now (weight changes, drains), a miss
    /// means the next packet is scheduled as a new flow.
    Lookup {
        image: PathBuf,
        /// e.g. 'tcp 198.51.100.7:40000 -> 192.0.2.10:80' or
        /// 'udp [2001:db8::1]:5000 -> [2001:db8::10]:53' (repeatable)
        #[arg(long)]
        flow: Vec<String>,
        /// Traffic to run first (pcap or pcapng).
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Only the first N packets of --trace.
        #[arg(long, requires = "trace")]
        packets: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Show a target: its parameters, fingerprint and memory map; or, with
    /// --emit, generate a header for hardware from the contract.
    ///
    /// `--emit sv` writes the SystemVerilog package `lbnic_pkg` (register
    /// offsets, control/status bits, counters, entry layouts as byte offsets
    /// and packed structs, code enums, memory-map section bases, every target
    /// parameter, the fingerprint); `--emit c` writes the same as a C11
    /// header for firmware and C drivers. The files committed under rtl/
    /// (rtl/pkg/lbnic_pkg.sv, rtl/include/lbnic_contract.h) are the default
    /// target's; scripts/gen-headers.sh regenerates them.
    Target {
        /// "default" or a target TOML file.
        #[arg(default_value = "default")]
        target: String,
        #[arg(long, conflicts_with = "emit")]
        json: bool,
        /// Generate a header: `sv` (SystemVerilog package) or `c` (C header).
        #[arg(long, value_enum)]
        emit: Option<tables::EmitKind>,
        /// Where to write the generated header (`-` or omitted: stdout).
        #[arg(short, long, requires = "emit")]
        output: Option<PathBuf>,
    },
    /// Conntrack images and state.
    #[command(subcommand)]
    Ct(CtCmd),
    #[command(flatten)]
    Device(device::DeviceCmd),
    /// Generate a deterministic traffic capture for a config's VIPs.
    ///
    /// Flows (TCP with handshakes and teardowns, UDP; IPv4/IPv6), uniform or
    /// Zipf popularity, frame-size mixes, SYN floods, non-VIP and malformed
    /// frames, NAT replies, at line rate or a given packet rate.
    Gen(traffic::GenArgs),
    /// Replay a capture through the pipeline model and report throughput,
    /// stalls, latency, drops, conntrack and per-backend load.
    ///
    /// Example: lbnic replay basic.img trace.pcap -o out.pcap --model cycle --report report/
    Replay(traffic::ReplayArgs),
    /// Replay a capture through a cluster of N devices behind an ECMP
    /// router, with node churn, flashes and rolling updates mid-trace;
    /// report per-node load and why connections changed backend.
    ///
    /// Example: lbnic cluster basic.img trace.pcap --nodes 4 --ecmp resilient --events events.txt
    Cluster(traffic::ClusterArgs),
    /// Golden compare: replay a capture and diff the output against an
    /// expected capture packet by packet (exit 0 if equal, 1 if not).
    ///
    /// Use it to check an RTL simulation's or a NIC's output against the model.
    Check(traffic::CheckArgs),
}

#[derive(Subcommand)]
enum CtCmd {
    /// Build a conntrack image (empty, or preloaded from a flow list) for
    /// the target and hash key of a bank image.
    Build {
        /// The bank image the flows refer to (VIP and backend names).
        #[arg(long)]
        bank: PathBuf,
        /// Flow list, JSON lines: {"flow": "tcp 1.2.3.4:5 -> 192.0.2.10:80",
        /// "vip": "web", "backend": "web-1", "state": "established"}.
        #[arg(long)]
        flows: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// List the flows in a conntrack image (as a flow list).
    List {
        image: PathBuf,
        /// Bank image to turn indices back into names.
        #[arg(long)]
        bank: PathBuf,
    },
    #[command(flatten)]
    Device(device::CtDeviceCmd),
}

/// Write command output; see [`outln!`].
fn stdout_write(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        files::remove_temporaries();
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LBNIC_LOG")
        // vfio-ioctls logs routine probing misses (IRQ indexes a device
        // does not have) as warnings; keep them out unless asked for.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},vfio_ioctls=error")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    // Every command but `serve` (which stops cleanly on its own) removes its
    // temporary files and dies of SIGINT/SIGTERM, as a Unix tool should.
    if !matches!(cli.cmd, Cmd::Device(device::DeviceCmd::Serve { .. })) {
        if let Err(e) = files::install_signal_cleanup() {
            tracing::warn!("no signal handler: {e}; an interrupted command may leave a temporary file");
        }
    }
    let r = match cli.cmd {
        Cmd::Compile {
            config,
            output,
            previous,
            generation,
            json,
        } => tables::compile(&config, &output, previous.as_deref(), generation, json),
        Cmd::Inspect {
            image,
            json,
            vip,
            target,
        } => tables::inspect(&image, json, vip.as_deref(), target.as_deref()),
        Cmd::Diff { old, new, json } => tables::diff(&old, &new, json),
        Cmd::Lookup {
            image,
            flow,
            trace,
            packets,
            json,
        } => tables::lookup(&image, &flow, json, trace.as_deref(), packets),
        Cmd::Target {
            target,
            json,
            emit: None,
            ..
        } => tables::target(&target, json),
        Cmd::Target {
            target,
            emit: Some(kind),
            output,
            ..
        } => tables::emit_header(&target, kind, output.as_deref()),
        Cmd::Ct(CtCmd::Build { bank, flows, output }) => tables::ct_build(&bank, flows.as_deref(), &output),
        Cmd::Ct(CtCmd::List { image, bank }) => tables::ct_list(&image, &bank),
        Cmd::Ct(CtCmd::Device(c)) => device::run_ct(c),
        Cmd::Device(c) => device::run(c),
        Cmd::Gen(a) => traffic::gen(a),
        Cmd::Replay(a) => traffic::replay(a),
        Cmd::Check(a) => traffic::check(a),
        Cmd::Cluster(a) => traffic::cluster(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// clap's own errors, except that a rejected value is quoted as every other
/// message quotes user input (at most 200 bytes), not repeated whole.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::ValueValidation {
        let value = match e.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(v)) => v.clone(),
            _ => String::new(),
        };
        let arg = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(a)) => a.clone(),
            _ => "an argument".into(),
        };
        let why = std::error::Error::source(&e).map_or(String::new(), |s| format!(": {s}"));
        eprintln!("error: invalid value {} for '{arg}'{why}", files::quote(&value));
        eprintln!("\nFor more information, try '--help'.");
        return ExitCode::from(2);
    }
    e.exit()
}
