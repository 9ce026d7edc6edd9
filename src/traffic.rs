//! gen / replay / check: the testbench on the command line. The work is in
//! the `testbench` crate; this module parses arguments and prints.

use anyhow::{bail, Context, Result};
use clap::Args;
use hw_model::model::{EdgeStats, PacketCycles};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lbnic_contract::image::{Image, ImageKind};
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use table_compiler::config::Config;
use testbench::compare::{self, Comparison, Mask};
use testbench::gen::{self, GenSpec, Popularity, Rate, Sizes};
use testbench::replay::{self, Emitted, ModelKind, Options, ReplayError, RxSource, Timing};
use testbench::report::Report;
use testbench::timing::TimingComparison;
use testbench::trace::{Format, TraceReader, TraceWriter};

const UPDATES_HELP: &str = "Table updates mid-trace: a text file with one update per line, \
`at packet N: flash IMAGE` (the bank is committed between input packets N-1 and N, 0-based, so \
packet N is the first to use it; IMAGE is relative to the file; `#` starts a comment; lines in \
packet order). Errors name the line.";

/// Arguments of `lbnic gen`.
#[derive(Args)]
pub struct GenArgs {
    /// Load-balancer config (TOML): traffic goes to its VIPs.
    config: PathBuf,
    /// Output capture (.pcap, or .pcapng for pcapng); written atomically.
    #[arg(short, long)]
    output: PathBuf,
    /// Packets to generate.
    #[arg(short = 'n', long, default_value_t = 10_000)]
    packets: u64,
    /// Distinct client flows.
    #[arg(long, default_value_t = 1_000)]
    flows: u32,
    /// Seed: the same seed and options give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Flow popularity: `uniform`, or `zipf[:S]` (exponent S, default 1.1).
    #[arg(long, default_value = "uniform")]
    popularity: String,
    /// Frame sizes including the 4-byte FCS (64 = minimum): a size (`64`),
    /// `imix` (7x64, 4x594, 1x1518), `uniform:LO-HI`, or a distribution
    /// `SIZE:WEIGHT,...` (e.g. `64:7,594:4,1518:1`).
    #[arg(long, default_value = "64")]
    sizes: String,
    /// Timing: `line` (back to back at the target's port speed),
    /// `line:GBPS`, `pps:RATE` (evenly spaced) or `poisson:RATE`.
    #[arg(long, default_value = "line")]
    rate: String,
    /// Share of flows to IPv6 VIPs (when the config has both families).
    #[arg(long, default_value_t = 0.25)]
    ipv6: f64,
    /// Share of packets that are spoofed SYNs from random sources.
    #[arg(long, default_value_t = 0.0)]
    syn_flood: f64,
    /// Share of packets to addresses that are no VIP.
    #[arg(long, default_value_t = 0.0)]
    non_vip: f64,
    /// Share of malformed frames (bad headers, truncated, wrong lengths).
    #[arg(long, default_value_t = 0.0)]
    malformed: f64,
    /// Share of NAT-VIP packets that are backend replies (backend -> client),
    /// sent from the backend the model picked for the flow.
    #[arg(long, default_value_t = 0.3)]
    nat_replies: f64,
    /// Mean data packets per TCP connection before its FIN (0: never close).
    #[arg(long, default_value_t = 20)]
    flow_len: u32,
    /// TCP flows start mid-stream (no SYN).
    #[arg(long)]
    no_handshake: bool,
    /// Share of flow data packets sent as a fragmented datagram (1600-4500
    /// bytes, fragmented for a 1280-byte path MTU, fragments shuffled).
    #[arg(long, default_value_t = 0.0)]
    fragments: f64,
    /// Instead of flows: the edge-case capture (testbench::edge), the same
    /// hand-shaped set for every VIP of the config: VLAN and QinQ tags (both
    /// orders), IPv4 options, IPv6 extension headers, fragmented datagrams
    /// in any order with duplicates, ICMP errors about known and unknown
    /// flows (both sides of NAT VIPs), NAT replies, frames truncated inside
    /// every header, bad lengths/IHL/offsets, a third VLAN tag, jumbograms,
    /// jumbo frames around device.max_frame and the target's max_rx_frame,
    /// minimum and undersize frames. Uses --seed and --rate (a packet rate,
    /// or 1 Mpps for `line`); the count is fixed by the config (-n ignored).
    #[arg(long)]
    edge_cases: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// How input frames arrive in the model.
fn parse_timing(s: &str) -> Result<Timing> {
    Ok(match s {
        "pcap" => Timing::Pcap,
        "max" => Timing::Max,
        "line" => Timing::Line(0.0),
        _ => match s.strip_prefix("line:") {
            Some(g) => {
                let g: f64 = g
                    .parse()
                    .with_context(|| format!("bad port speed in --timing {}", files::quote(s)))?;
                if !(g > 0.0 && g.is_finite()) {
                    bail!("--timing {s}: the port speed must be positive");
                }
                Timing::Line(g)
            }
            None => bail!("--timing {}: use pcap, line, line:GBPS or max", files::quote(s)),
        },
    })
}

fn parse_popularity(s: &str) -> Result<Popularity> {
    match s {
        "uniform" => Ok(Popularity::Uniform),
        "zipf" => Ok(Popularity::Zipf(1.1)),
        _ => match s.strip_prefix("zipf:") {
            Some(x) => {
                Ok(Popularity::Zipf(x.parse().with_context(|| {
                    format!("bad Zipf exponent in {}", files::quote(s))
                })?))
            }
            None => bail!("--popularity {}: use uniform, zipf or zipf:S", files::quote(s)),
        },
    }
}

fn frame_size(s: &str) -> Result<u16> {
    let n: u16 = s
        .trim()
        .parse()
        .with_context(|| format!("bad frame size {}", files::quote(s)))?;
    if !(64..=9004).contains(&n) {
        bail!("frame size {n} is outside 64..=9004 (sizes include the 4-byte FCS)");
    }
    Ok(n - 4)
}

fn parse_sizes(s: &str) -> Result<Sizes> {
    if s == "imix" {
        return Ok(Sizes::Imix);
    }
    if let Some(r) = s.strip_prefix("uniform:") {
        let (a, b) = r
            .split_once('-')
            .with_context(|| format!("--sizes {}: use uniform:LO-HI", files::quote(s)))?;
        let (a, b) = (frame_size(a)?, frame_size(b)?);
        if a > b {
            bail!("--sizes {}: LO is above HI", files::quote(s));
        }
        return Ok(Sizes::Uniform(a, b));
    }
    if s.contains(':') || s.contains(',') {
        let mut m = Vec::new();
        for part in s.split(',') {
            let (n, w) = part
                .split_once(':')
                .with_context(|| format!("--sizes: {} is not SIZE:WEIGHT", files::quote(part)))?;
            let w: u32 = w
                .trim()
                .parse()
                .with_context(|| format!("bad weight in {}", files::quote(part)))?;
            m.push((frame_size(n)?, w));
        }
        return Ok(Sizes::Mix(m));
    }
    Ok(Sizes::Fixed(frame_size(s)?))
}

fn parse_rate(s: &str, port_gbps: u32) -> Result<Rate> {
    let num = |x: &str| -> Result<f64> {
        x.parse()
            .with_context(|| format!("bad number in --rate {}", files::quote(s)))
    };
    Ok(match s.split_once(':') {
        None if s == "line" => Rate::LineRate(port_gbps as f64),
        Some(("line", g)) => Rate::LineRate(num(g)?),
        Some(("pps", r)) => Rate::Pps(num(r)?),
        Some(("poisson", r)) => Rate::Poisson(num(r)?),
        _ => bail!(
            "--rate {}: use line, line:GBPS, pps:RATE or poisson:RATE",
            files::quote(s)
        ),
    })
}

fn bar(len: u64, what: &str) -> ProgressBar {
    styled_bar(
        len,
        what,
        "{msg} [{bar:30}] {percent:>3}% {elapsed_precise} (eta {eta})",
    )
}

/// A replay's bar: its position is bytes of the capture read, so the rate
/// and ETA are the reader's; the message adds packets and packets/s.
fn replay_bar(len: u64) -> ProgressBar {
    styled_bar(
        len,
        "replaying",
        "{msg} [{bar:30}] {percent:>3}% {binary_bytes_per_sec} {elapsed_precise} (eta {eta})",
    )
}

fn styled_bar(len: u64, what: &str, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub fn gen(a: GenArgs) -> Result<()> {
    let cfg = Config::load(&a.config)?;
    if a.edge_cases {
        return gen_edge(&cfg, &a);
    }
    let spec = GenSpec {
        seed: a.seed,
        packets: a.packets,
        flows: a.flows,
        popularity: parse_popularity(&a.popularity)?,
        sizes: parse_sizes(&a.sizes)?,
        ipv6: a.ipv6,
        syn_flood: a.syn_flood,
        non_vip: a.non_vip,
        malformed: a.malformed,
        nat_replies: a.nat_replies,
        handshake: !a.no_handshake,
        flow_len: a.flow_len,
        fragments: a.fragments,
        rate: parse_rate(&a.rate, cfg.target.port_gbps)?,
        ..GenSpec::default()
    };
    let pb = bar(a.packets, "generating");
    let summary = gen::generate(&cfg, spec, &a.output, |n| pb.set_position(n)).map_err(|e| match e {
        gen::GenError::Trace(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("generating {}", a.output.display())),
    })?;
    pb.finish_and_clear();
    let mut w = crate::tables::summary_out(&a.output);
    if a.json {
        writeln!(w, "{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(());
    }
    writeln!(
        w,
        "{}: {} packets, {} bytes over {:.3} ms",
        a.output.display(),
        summary.packets,
        summary.bytes,
        summary.duration_ns as f64 / 1e6
    )?;
    writeln!(
        w,
        "  flow packets {} (SYN {}, FIN {}, UDP {}, NAT replies {}), SYN flood {}, non-VIP {}, malformed {}",
        summary.flow_packets,
        summary.syn,
        summary.fin,
        summary.udp,
        summary.nat_replies,
        summary.syn_flood,
        summary.non_vip,
        summary.malformed
    )?;
    if summary.fragmented > 0 {
        writeln!(
            w,
            "  fragmented datagrams {} ({} fragments)",
            summary.fragmented, summary.fragments
        )?;
    }
    Ok(())
}

/// `lbnic gen --edge-cases`.
fn gen_edge(cfg: &Config, a: &GenArgs) -> Result<()> {
    let gap_ns = match parse_rate(&a.rate, cfg.target.port_gbps)? {
        Rate::Pps(p) | Rate::Poisson(p) => (1e9 / p).max(1.0) as u64,
        Rate::LineRate(_) => 1000,
    };
    let start = GenSpec::default().start_ns;
    let summary =
        testbench::edge::generate_edge(cfg, a.seed, start, gap_ns, &a.output).map_err(|e| match e {
            testbench::edge::EdgeError::Trace(_) => anyhow::Error::new(e),
            e => anyhow::Error::new(e).context(format!("generating {}", a.output.display())),
        })?;
    let mut w = crate::tables::summary_out(&a.output);
    if a.json {
        writeln!(w, "{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(());
    }
    writeln!(
        w,
        "{}: {} edge-case packets, {} bytes, for {} VIPs",
        a.output.display(),
        summary.packets,
        summary.bytes,
        summary.vips
    )?;
    for (g, n) in &summary.groups {
        writeln!(w, "  {g}: {n}")?;
    }
    Ok(())
}

/// Model options shared by replay, check and cluster.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Which model: `functional` (the reference, fast), `cycle`
    /// (cycle-accurate: throughput, stalls, latency) or `rtl` (the
    /// reference RTL in Verilator, one device; build it first with
    /// `scripts/rtl-sim.sh --target FILE`, the image's target; frames wait
    /// at an AXI-Stream source; `$LBNIC_RTL_SIM_DIR` overrides where it is
    /// looked for).
    #[arg(long, default_value = "functional", value_parser = ["functional", "cycle", "rtl"])]
    model: String,
    /// Input timing: `pcap` (the capture's timestamps), `line` or
    /// `line:GBPS` (back to back at the target's or the given port speed),
    /// `max` (as fast as the pipeline takes them: its capacity).
    #[arg(long, default_value = "pcap")]
    timing: String,
    /// The cycle model's ingress: `mac` (a 100G MAC: a frame arriving to a
    /// full receive buffer is dropped and counted as `rx_overflow`) or
    /// `axis` (an AXI-Stream source the pipeline back-pressures: nothing
    /// is lost). Default: `axis` with `--timing max`, else `mac`.
    #[arg(long, value_parser = ["mac", "axis"])]
    rx_source: Option<String>,
    /// Leave out frames the capture's snaplen cut (by default the model
    /// sees the captured bytes, which usually count as a parse drop).
    #[arg(long)]
    skip_truncated: bool,
    /// Most flows followed for the backend-change analysis (memory ~80
    /// bytes each).
    #[arg(long, default_value_t = 2_000_000)]
    flow_cap: usize,
    /// Refuse a damaged capture. By default a capture that is cut short or
    /// has garbage after its last packet (a crashed tcpdump's) is replayed
    /// up to the damage, with a warning naming the packet and byte offset.
    #[arg(long)]
    strict: bool,
}

impl RunArgs {
    fn options(&self, image: &Image) -> Result<Options> {
        let mut timing = parse_timing(&self.timing)?;
        if timing == Timing::Line(0.0) {
            timing = Timing::Line(image.target.port_gbps as f64);
        }
        let model = match self.model.as_str() {
            "cycle" => ModelKind::Cycle,
            "rtl" => ModelKind::Rtl,
            _ => ModelKind::Functional,
        };
        if model == ModelKind::Rtl && self.rx_source.as_deref() == Some("mac") {
            bail!("--model rtl drives an AXI-Stream source (frames wait until RX takes them): --rx-source mac is the cycle model's");
        }
        Ok(Options {
            model,
            timing,
            rx_source: match self.rx_source.as_deref() {
                Some("axis") => RxSource::Axis,
                Some(_) => RxSource::Mac,
                None if timing == Timing::Max => RxSource::Axis,
                None => RxSource::Mac,
            },
            skip_truncated: self.skip_truncated,
            flow_cap: self.flow_cap,
            stop_at_damage: !self.strict,
            ..Options::default()
        })
    }
}

/// Options shared by replay and check.
#[derive(Args, Clone)]
pub struct ModelArgs {
    #[command(flatten)]
    run: RunArgs,
    #[arg(long, help = UPDATES_HELP)]
    updates: Option<PathBuf>,
    /// Threads for the functional model (sharded by flow; same output as
    /// one thread). Banks with RR/WRR or NAT VIPs, and the cycle and RTL models,
    /// replay on one thread (the report says why).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

impl ModelArgs {
    fn options(&self, image: &Image) -> Result<Options> {
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        let updates = match &self.updates {
            Some(p) => testbench::schedule::load(p)?,
            None => Vec::new(),
        };
        for u in &updates {
            u.image.expect_target(&image.target).with_context(|| {
                format!(
                    "{}:{}: {} is for another target than the replayed image",
                    self.updates
                        .as_ref()
                        .map_or(String::new(), |p| p.display().to_string()),
                    u.line,
                    u.path.display()
                )
            })?;
        }
        Ok(Options {
            threads: self.threads,
            updates,
            ..self.run.options(image)?
        })
    }
}

/// Arguments of `lbnic replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// Bank image to flash before the first packet.
    image: PathBuf,
    /// Input capture (pcap or pcapng).
    trace: PathBuf,
    /// Write what leaves the device here (.pcapng for pcapng, else pcap
    /// with ns timestamps); written atomically.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Write an HTML report with SVG charts (throughput over time, latency
    /// distribution, per-backend load) and report.json into this directory.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

fn load_image(p: &Path) -> Result<Image> {
    let img = crate::tables::load_image(p)?;
    img.expect_kind(ImageKind::Bank)
        .with_context(|| format!("{}: replay needs a bank image", p.display()))?;
    Ok(img)
}

fn run(
    image_path: &Path,
    trace: &Path,
    ma: &ModelArgs,
    keep_output: bool,
    sink: &mut replay::Sink<'_>,
) -> Result<(Report, Image)> {
    run_shown(image_path, trace, ma, keep_output, sink, true)
}

/// [`run`], with or without the progress bar (a second run beside the
/// first, as `check --against` makes, keeps quiet).
fn run_shown(
    image_path: &Path,
    trace: &Path,
    ma: &ModelArgs,
    keep_output: bool,
    sink: &mut replay::Sink<'_>,
    show: bool,
) -> Result<(Report, Image)> {
    let image = load_image(image_path)?;
    let opts = Options {
        keep_output,
        ..ma.options(&image)?
    };
    // Standard input and pipes have no length: the bar then just counts.
    let len = std::fs::metadata(trace).map_or(0, |m| m.len());
    let pb = if show {
        replay_bar(len)
    } else {
        ProgressBar::hidden()
    };
    let t0 = std::time::Instant::now();
    let progress = |packets: u64, bytes: u64| {
        pb.set_position(bytes);
        let s = t0.elapsed().as_secs_f64();
        if !pb.is_hidden() && s > 0.0 {
            pb.set_message(format!(
                "replaying: {:.1}M packets, {:.2} Mpps",
                packets as f64 / 1e6,
                packets as f64 / s / 1e6
            ));
        }
    };
    // Trace errors name the trace already; the rest get it added once.
    let mut report = replay::replay(&image, trace, &opts, sink, &progress).map_err(|e| match e {
        ReplayError::Trace(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("replaying {}", trace.display())),
    })?;
    pb.finish_and_clear();
    if let Some(d) = &report.damage {
        eprintln!("warning: the capture is damaged, replayed the packets before it: {d}");
    }
    report.image = format!("{} (generation {})", image_path.display(), image.generation);
    Ok((report, image))
}

pub fn replay(a: ReplayArgs) -> Result<()> {
    let mut writer = match &a.output {
        Some(p) => Some(TraceWriter::create(p, Format::for_path(p))?),
        None => None,
    };
    let mut sink = |e: &Emitted<'_>| -> Result<(), ReplayError> {
        if let Some(w) = writer.as_mut() {
            w.write(e.ts, e.data).map_err(ReplayError::Trace)?;
        }
        Ok(())
    };
    let (report, _) = run(&a.image, &a.trace, &a.model, a.output.is_some(), &mut sink)?;
    if let Some(w) = writer {
        w.finish()?;
    }
    if let Some(dir) = &a.report {
        testbench::chart::write_report(dir, &report)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
    }
    let mut w = crate::tables::summary_out(a.output.as_deref().unwrap_or(Path::new("")));
    if a.json {
        writeln!(w, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        write!(w, "{}", report.to_text())?;
        if let Some(o) = &a.output {
            writeln!(
                w,
                "\noutput: {} ({} packets)",
                o.display(),
                report.achieved.packets
            )?;
        }
        if let Some(d) = &a.report {
            writeln!(w, "report: {}", d.join("index.html").display())?;
        }
    }
    Ok(())
}

/// Arguments of `lbnic check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Bank image to flash before the first packet.
    image: PathBuf,
    /// Input capture fed to the model.
    trace: PathBuf,
    /// Expected output (golden capture: your RTL simulation's or NIC's
    /// output, or an earlier `lbnic replay -o`), compared packet by packet
    /// in order.
    #[arg(long, required_unless_present = "against", conflicts_with = "against")]
    expect: Option<PathBuf>,
    /// Instead of a golden capture, compare against another model run on
    /// the same trace with the same options, side by side: `functional`
    /// compares the bytes; `cycle` also each packet's egress cycle and
    /// reports the first packet whose cycle differs, and why as far as the
    /// cycles tell, and the figures both count at the ports and the memory
    /// port (stalls, the port backlog's high water, bucket reads and way
    /// writes; any that differs fails too) (`--model rtl --against cycle`:
    /// the RTL checked cycle for cycle; the cycle model then takes the
    /// RTL's AXI-Stream source).
    #[arg(long, value_parser = ["functional", "cycle"])]
    against: Option<String>,
    /// With `--against cycle`: write every output's stage cycles in both
    /// runs here as CSV (one row per output: index, input packet, length,
    /// then arrival, ingress, rx_done, ct_req, decided, tx, egress here and
    /// in the reference), to plot or diff; written atomically, also when
    /// the check fails.
    #[arg(long, requires = "against")]
    cycles: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Fields allowed to differ (repeatable): eth.src, eth.dst, ip.id,
    /// ip.ttl, ip.checksum, ipv6.flowlabel, ipv6.hoplimit, l4.sport,
    /// l4.checksum, outer, or a byte range START..END.
    #[arg(long)]
    mask: Vec<String>,
    /// Differing packets shown in full.
    #[arg(long, default_value_t = 10)]
    max_diffs: usize,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
}

/// A reference output: a golden capture's frame, or another model's.
struct Want {
    data: Vec<u8>,
    cycles: Option<PacketCycles>,
}

type NextWant<'a> = dyn FnMut() -> Option<Result<Want>> + 'a;

pub fn check(a: CheckArgs) -> Result<()> {
    let masks: Vec<Mask> = a
        .mask
        .iter()
        .map(|m| Mask::parse(m).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    if a.cycles.is_some() && a.against.as_deref() != Some("cycle") {
        bail!("--cycles needs --against cycle (the functional model has no cycles)");
    }
    let (Some(against), None) = (&a.against, &a.expect) else {
        let path = a
            .expect
            .as_deref()
            .context("check needs --expect FILE or --against MODEL")?;
        let mut golden = TraceReader::open(path)?;
        let mut next = || {
            golden.next_packet().map(|r| {
                r.map(|w| Want {
                    data: w.data,
                    cycles: None,
                })
                .map_err(anyhow::Error::new)
            })
        };
        return compare_run(&a, &masks, &path.display().to_string(), &mut next, &|| None);
    };
    // The reference runs beside the model under test and hands its outputs
    // over a bounded channel: memory stays flat whatever the trace.
    let mut ra = a.model.clone();
    ra.run.model = against.clone();
    if a.model.run.model == "rtl" && ra.run.rx_source.is_none() {
        ra.run.rx_source = Some("axis".into());
    }
    let what = format!("the {against} model");
    let (tx, rx) = std::sync::mpsc::sync_channel::<Want>(4096);
    // Set when the reference stops because the run under test did (whose
    // own error is then the one to report).
    let orphaned = std::sync::atomic::AtomicBool::new(false);
    // The reference's edge figures, set before its outputs' channel closes.
    let ref_edges = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        let reference = s.spawn(|| {
            let tx = tx;
            let mut sink = |e: &Emitted<'_>| -> Result<(), ReplayError> {
                let w = Want {
                    data: e.data.to_vec(),
                    cycles: e.cycles,
                };
                tx.send(w).map_err(|_| {
                    orphaned.store(true, std::sync::atomic::Ordering::Relaxed);
                    ReplayError::Sink("the run under test stopped".into())
                })
            };
            let r = run_shown(&a.image, &a.trace, &ra, true, &mut sink, false);
            if let (Ok((rep, _)), Ok(mut e)) = (&r, ref_edges.lock()) {
                *e = rep.edge;
            }
            r
        });
        let mut next = || rx.recv().ok().map(Ok);
        let edges = || ref_edges.lock().ok().and_then(|e| *e);
        let checked = compare_run(&a, &masks, &what, &mut next, &edges);
        drop(rx);
        let ran = reference
            .join()
            .map_err(|_| anyhow::anyhow!("{what}: the reference run panicked"))?;
        // The reference's own failure first: one that stopped early shows up
        // as missing packets otherwise.
        if !orphaned.load(std::sync::atomic::Ordering::Relaxed) {
            ran.with_context(|| format!("{what} (--against {against})"))?;
        }
        checked
    })
}

/// Run the model under test and compare its outputs with `next_want`'s,
/// in order; print and fail on any difference.
fn compare_run(
    a: &CheckArgs,
    masks: &[Mask],
    reference: &str,
    next_want: &mut NextWant<'_>,
    ref_edges: &dyn Fn() -> Option<EdgeStats>,
) -> Result<()> {
    let timed = a.against.as_deref() == Some("cycle");
    let mut csv = match &a.cycles {
        Some(p) => {
            let mut w = std::io::BufWriter::new(files::Output::create(p)?);
            let cols = [
                "arrival", "ingress", "rx_done", "ct_req", "decided", "tx", "egress",
            ];
            let head: Vec<String> = ["here", "ref"]
                .iter()
                .flat_map(|side| cols.iter().map(move |c| format!("{side}_{c}")))
                .collect();
            writeln!(w, "index,seq,len,{}", head.join(","))?;
            Some(w)
        }
        None => None,
    };
    let mut cmp = Comparison::default();
    let mut timing = TimingComparison::default();
    let mut hex: Vec<(String, String)> = Vec::new();
    let mut index = 0u64;
    let mut sink = |e: &Emitted<'_>| -> Result<(), ReplayError> {
        let want = next_want()
            .transpose()
            .map_err(|e| ReplayError::Sink(format!("{reference}: {e:#}")))?;
        let before = cmp.diffs.len();
        cmp.push(
            index,
            Some(e.data),
            want.as_ref().map(|w| &w.data[..]),
            masks,
            a.max_diffs,
        );
        if cmp.diffs.len() > before {
            let d = cmp.diffs.last_mut().expect("pushed");
            let at = d.first_byte.unwrap_or(0);
            d.got = format!("{} (from input packet {})", d.got, e.seq);
            let w = want.as_ref().map_or(&[][..], |w| &w.data[..]);
            hex.push((compare::hex_context(e.data, at), compare::hex_context(w, at)));
        }
        if let (true, Some(w)) = (timed, &want) {
            timing.push(index, e.seq, e.cycles, w.cycles);
            if let (Some(out), Some(g), Some(r)) = (csv.as_mut(), e.cycles, w.cycles) {
                let row = |c: PacketCycles| {
                    [
                        c.arrival, c.ingress, c.rx_done, c.ct_req, c.decided, c.tx, c.egress,
                    ]
                    .map(|v| v.to_string())
                    .join(",")
                };
                writeln!(out, "{index},{},{},{},{}", e.seq, e.data.len(), row(g), row(r))
                    .map_err(|e| ReplayError::Sink(format!("--cycles: {e}")))?;
            }
        }
        index += 1;
        Ok(())
    };
    let (report, _) = run(&a.image, &a.trace, &a.model, true, &mut sink)?;
    // What replay's report would warn about (traffic refused for size...).
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(w) = csv {
        w.into_inner().map_err(|e| e.into_error())?.commit()?;
    }
    // Whatever the reference has beyond the model's output.
    while let Some(w) = next_want() {
        let w = w?;
        cmp.push(index, None, Some(&w.data), masks, a.max_diffs);
        index += 1;
    }
    // (the reference has ended: its outputs' channel is closed)
    if let (true, Some(here), Some(there)) = (timed, report.edge, ref_edges()) {
        timing.set_edges(&here, &there);
    }
    if a.json {
        // The model's counters too, so a script can compare them with
        // another model's `replay --json` without running this one twice.
        let mut v = serde_json::to_value(&cmp)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("counters".into(), serde_json::to_value(&report.counters)?);
            if timed {
                o.insert("timing".into(), serde_json::to_value(&timing)?);
            }
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (d, (hg, hw)) in cmp.diffs.iter().zip(&hex) {
            outln!(
                "packet {}: first difference at byte {} (got {} bytes, expected {})",
                d.index,
                d.first_byte.map_or("-".into(), |b| b.to_string()),
                d.got_len,
                d.want_len
            );
            outln!("  got:      {}", d.got);
            outln!("  expected: {}", d.want);
            outln!("  got:      {hg}");
            outln!("  expected: {hw}");
        }
        outln!(
            "{} packets compared: {} match, {} differ, {} extra from the model, {} missing from the model{}",
            cmp.compared,
            cmp.matched,
            cmp.diff_count,
            cmp.got_extra,
            cmp.want_extra,
            if masks.is_empty() {
                String::new()
            } else {
                format!(" (masked: {})", a.mask.join(", "))
            }
        );
        if timed {
            print_timing(&timing);
        }
    }
    if !cmp.ok() {
        bail!(
            "output differs from {reference}: {} packets differ, {} extra, {} missing",
            cmp.diff_count,
            cmp.got_extra,
            cmp.want_extra
        );
    }
    if !timing.ok() {
        bail!(
            "timing differs from {reference}: {} of {} packets left at another cycle{}{}",
            timing.differ,
            timing.compared,
            if timing.untimed > 0 {
                format!(", {} without cycles", timing.untimed)
            } else {
                String::new()
            },
            match timing.edges_differ() {
                0 => String::new(),
                n => format!(", {n} figure(s) at the ports differ"),
            }
        );
    }
    Ok(())
}

fn print_timing(t: &TimingComparison) {
    outln!(
        "{} packets compared cycle for cycle: {} left at another cycle (largest difference {} cycles){}",
        t.compared,
        t.differ,
        t.max_abs_delta,
        if t.untimed > 0 {
            format!(", {} without cycles", t.untimed)
        } else {
            String::new()
        }
    );
    if t.compared > 0 {
        let l = |s: &testbench::timing::LatencySummary| {
            format!(
                "p50 {} p99 {} p99.9 {} max {} mean {:.1}",
                s.p50, s.p99, s.p999, s.max, s.mean
            )
        };
        outln!(
            "latency (arrival to last bit out), cycles: here {}; reference {}; histograms {}",
            l(&t.latency_here),
            l(&t.latency_ref),
            if t.histograms_equal { "equal" } else { "differ" }
        );
    }
    if !t.edges.is_empty() {
        outln!(
            "at the ports and the memory port: {} of {} figures counted alike differ",
            t.edges_differ(),
            t.edges.iter().filter(|r| r.compared).count()
        );
        outln!("  {:<28} {:>12} {:>12}", "figure", "here", "reference");
        for r in &t.edges {
            let mark = if !r.compared {
                "  (counted differently: not compared)"
            } else if r.differs() {
                "  differs"
            } else {
                ""
            };
            outln!("  {:<28} {:>12} {:>12}{mark}", r.name, r.here, r.reference);
        }
    }
    if t.differ > 0 {
        outln!("  {:<60} {:>9} {:>15}", "stage", "differ", "here - ref");
        for st in &t.stages {
            let range = match st.differ {
                0 => "0".to_string(),
                _ if st.min_delta == st.max_delta => format!("{:+}", st.min_delta),
                n => format!(
                    "{:+}..{:+} (mean {:+.1})",
                    st.min_delta,
                    st.max_delta,
                    st.sum_delta as f64 / n as f64
                ),
            };
            outln!("  {:<60} {:>9} {:>15}", st.stage, st.differ, range);
        }
    }
    if let Some(f) = &t.first {
        outln!(
            "first: output {} (input packet {}): egress cycle {} here, {} in the reference",
            f.index,
            f.seq,
            f.got.egress,
            f.want.egress
        );
        outln!("  {:<60} {:>9} {:>9}", "cycles in", "here", "reference");
        for ((name, g), (_, w)) in f.got.stages().into_iter().zip(f.want.stages()) {
            outln!("  {name:<60} {g:>9} {w:>9}");
        }
        if let Some(p) = f.previous_egress {
            outln!("  the previous output left at cycle {p} in both");
        }
        outln!("  why: {}", f.why);
    }
}

const EVENTS_HELP: &str = "Events mid-trace, one per line (`#` comments; paths relative to the \
file; lines in packet order; packet N, 0-based, is the first to see the event): `at packet N: node K \
down` (the router stops sending to K; its conntrack is lost), `at packet N: node K up` (restarts with \
an empty conntrack and the bank last assigned to it), `at packet N: flash IMAGE` (every node at once), \
`at packet N: flash IMAGE on node K`, `at packet N: rollout IMAGE every G packets` (node 0 at N, node 1 \
at N+G, ...). Backend add/drain/remove: flash an image compiled with the change (--previous). Errors \
name the line.";

/// Arguments of `lbnic cluster`.
#[derive(Args)]
pub struct ClusterArgs {
    /// Bank image every node starts with.
    image: PathBuf,
    /// Input capture (pcap or pcapng).
    trace: PathBuf,
    /// Load-balancer nodes behind the router.
    #[arg(long, default_value_t = 4)]
    nodes: u16,
    /// The router's next-hop selection: `modulo` (hash mod the live nodes:
    /// a node change remaps most flows) or `resilient[:BUCKETS]` (a bucket
    /// table, 4096 by default: only the changed node's share moves).
    #[arg(long, default_value = "resilient")]
    ecmp: String,
    #[arg(long, help = EVENTS_HELP)]
    events: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn cluster(a: ClusterArgs) -> Result<()> {
    use testbench::cluster::{self, Spec, MAX_NODES};
    if a.nodes == 0 || a.nodes > MAX_NODES {
        bail!("--nodes {}: a cluster has 1..={MAX_NODES} nodes", a.nodes);
    }
    let ecmp = testbench::ecmp::EcmpKind::parse(&a.ecmp).map_err(anyhow::Error::msg)?;
    let image = load_image(&a.image)?;
    let opts = Options {
        keep_output: false,
        ..a.run.options(&image)?
    };
    let events = match &a.events {
        Some(p) => testbench::events::load(p, a.nodes)?,
        None => Default::default(),
    };
    for (p, img) in &events.images {
        img.expect_target(&image.target).with_context(|| {
            format!(
                "{}: {} is for another target than {}",
                a.events
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
                p.display(),
                a.image.display()
            )
        })?;
    }
    let spec = Spec {
        nodes: a.nodes,
        ecmp,
        events: &events,
    };
    let len = std::fs::metadata(&a.trace).map_or(0, |m| m.len());
    let pb = bar(len, "replaying through the cluster");
    let mut report = cluster::cluster(&image, &a.trace, &opts, &spec, &|_, bytes| pb.set_position(bytes))
        .map_err(|e| match e {
            ReplayError::Trace(_) => anyhow::Error::new(e),
            e => anyhow::Error::new(e).context(format!("replaying {}", a.trace.display())),
        })?;
    pb.finish_and_clear();
    if let Some(d) = &report.damage {
        eprintln!("warning: the capture is damaged, replayed the packets before it: {d}");
    }
    report.image = format!("{} (generation {})", a.image.display(), image.generation);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.to_text());
    }
    Ok(())
}
