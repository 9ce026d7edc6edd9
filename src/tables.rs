//! compile / inspect / diff / lookup / ct build.

use anyhow::{bail, Context, Result};
use lbnic_contract::image::{decode_conntrack, Bank, Image, ImageError, ImageKind};
use lbnic_contract::image::{format_id, Lineage, LineageEntry, Relation};
use lbnic_contract::target::ct::CtRepr;
use lbnic_contract::target::entries::FlowKey;
use lbnic_contract::target::Target;
use std::io::Write;
use std::path::Path;
use table_compiler::analysis::{self, VipInfo};
use table_compiler::compile::compile as compile_config;
use table_compiler::config::Config;
use table_compiler::ctimage;

/// Load and check an image. Only a read failure names the file by itself;
/// every other complaint (byte offset, section, CRC) gets the file added.
pub fn load_image(path: &Path) -> Result<Image> {
    Image::load(path).map_err(|e| match e {
        ImageError::Io { .. } => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(path.display().to_string()),
    })
}

pub fn load_bank(path: &Path) -> Result<(Image, Bank)> {
    let img = load_image(path)?;
    img.expect_kind(ImageKind::Bank)
        .with_context(|| format!("{}", path.display()))?;
    let bank = Bank::decode(&img).with_context(|| format!("{}", path.display()))?;
    Ok((img, bank))
}

/// Where a command's own summary goes: standard output, unless its output
/// file is standard output (`-o -`).
pub fn summary_out(output: &Path) -> Box<dyn Write> {
    if output == Path::new("-") {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn compile(
    config: &Path,
    output: &Path,
    previous: Option<&Path>,
    generation: Option<u64>,
    json: bool,
) -> Result<()> {
    let t_parse = std::time::Instant::now();
    let cfg = Config::load(config)?;
    tracing::info!(
        "parsed {} in {:.1} ms",
        config.display(),
        t_parse.elapsed().as_secs_f64() * 1e3
    );
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let prev = previous
        .map(|p| load_image(p).context("--previous"))
        .transpose()?;
    let t0 = std::time::Instant::now();
    let (image, report) = compile_config(&cfg, prev.as_ref(), generation)
        .with_context(|| format!("compiling {}", config.display()))?;
    let dt = t0.elapsed();
    let t_write = std::time::Instant::now();
    image.write_atomic(output)?;
    tracing::info!(
        "compiled in {:.1} ms, wrote {} in {:.1} ms",
        dt.as_secs_f64() * 1e3,
        output.display(),
        t_write.elapsed().as_secs_f64() * 1e3
    );
    // With `-o -` the image is standard output; the summary goes aside.
    let mut w = summary_out(output);
    if json {
        writeln!(w, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    writeln!(
        w,
        "{} -> {}: generation {}, {} VIPs, target {} ({:#018x}), {} bytes of bank, crc32c {:#010x}",
        config.display(),
        output.display(),
        report.generation,
        report.vips.len(),
        cfg.target.name,
        cfg.target.fingerprint(),
        image.device_len,
        image.device_crc()
    )?;
    for v in &report.vips {
        let moved = match v.moved {
            Some(m) => format!(
                "  moved {m} ({:.3}%)",
                100.0 * m as f64 / v.table_size.max(1) as f64
            ),
            None => String::new(),
        };
        let full = if v.full_rebuild {
            "  (no previous table: full build)"
        } else {
            ""
        };
        writeln!(
            w,
            "  {:<24} slot {:<4} {:<14} size {:<8}{moved}{full}",
            v.name, v.slot, v.scheduler, v.table_size
        )?;
    }
    Ok(())
}

fn print_vip(v: &VipInfo) {
    let bal = v.balance.map_or("-".to_string(), |b| format!("{b:.4}"));
    let port = if v.port == 0 {
        "*".to_string()
    } else {
        v.port.to_string()
    };
    outln!(
        "VIP {} (slot {}): {} {}  mode {}  scheduler {}  table {}  balance {}",
        v.name,
        v.slot,
        lbnic_contract::target::entries::endpoint(&v.address, port),
        v.protocol,
        v.mode,
        v.scheduler,
        v.table_size,
        bal
    );
    outln!(
        "  {:>5}  {:<24} {:<40} {:>7} {:<7} {:>8} {:>9} {:>9}",
        "index",
        "backend",
        "address",
        "weight",
        "state",
        "slots",
        "share%",
        "want%"
    );
    for b in &v.backends {
        outln!(
            "  {:>5}  {:<24} {:<40} {:>7} {:<7} {:>8} {:>9.4} {:>9.4}",
            b.index,
            b.name,
            b.address,
            b.weight,
            b.state,
            b.slots,
            100.0 * b.share,
            100.0 * b.weight_share
        );
    }
}

pub fn inspect(path: &Path, json: bool, only: Option<&str>, target: Option<&str>) -> Result<()> {
    let img = load_image(path)?;
    if let Some(t) = target {
        let t = table_compiler::target_file::resolve(t, Path::new("."))?;
        img.expect_target(&t)
            .with_context(|| format!("{}", path.display()))?;
    }
    let bank = match img.kind {
        ImageKind::Bank => Some(Bank::decode(&img).with_context(|| format!("{}", path.display()))?),
        ImageKind::Conntrack => None,
    };
    let mut info = analysis::image_info(&img, bank.as_ref());
    if let Some(name) = only {
        info.vips.retain(|v| v.name == name);
        if info.vips.is_empty() {
            bail!("{}: no VIP named {name:?}", path.display());
        }
    }
    if json {
        return print_json(&info);
    }
    outln!(
        "{}: {:?} image, generation {}, target {} ({}), config digest {}",
        path.display(),
        info.kind,
        info.generation,
        info.target,
        info.fingerprint,
        &info.config_digest[..16]
    );
    outln!(
        "device part {} bytes, crc32c {}",
        info.device_bytes,
        info.device_crc32c
    );
    if let Some(l) = &info.lineage {
        outln!("image id {}", format_id(&l.own.id));
        outln!("lineage: {}", describe_chain(l));
    }
    if img.kind == ImageKind::Conntrack {
        let n = decode_conntrack(&img)
            .with_context(|| format!("{}", path.display()))?
            .len();
        outln!("{n} conntrack entries");
    }
    for v in &info.vips {
        outln!();
        print_vip(v);
    }
    Ok(())
}

pub fn diff(old: &Path, new: &Path, json: bool) -> Result<()> {
    let (oi, ob) = load_bank(old)?;
    let (ni, nb) = load_bank(new)?;
    if oi.fingerprint() != ni.fingerprint() {
        tracing::warn!("the two images are for different targets");
    }
    let d = analysis::diff(&ob, &nb);
    let (ol, nl) = (oi.lineage()?, ni.lineage()?);
    let relation = ol.relation(&nl);
    let common = ol.common_ancestor(&nl);
    let warning = lineage_warning(relation, &ol, &nl, common.as_ref());
    if let Some(w) = &warning {
        tracing::warn!("{w}");
    }
    if json {
        #[derive(serde::Serialize)]
        struct DiffOut<'a> {
            old: &'a Lineage,
            new: &'a Lineage,
            lineage: Relation,
            common_ancestor: Option<LineageEntry>,
            warning: Option<String>,
            vips: Vec<analysis::VipDiff>,
        }
        return print_json(&DiffOut {
            old: &ol,
            new: &nl,
            lineage: relation,
            common_ancestor: common,
            warning,
            vips: d,
        });
    }
    outln!(
        "generation {} -> {}; lineage: {}",
        oi.generation,
        ni.generation,
        match relation {
            Relation::Same => "the same image".to_string(),
            Relation::Ancestor => format!("built from the old one{}", through(&nl, &ol)),
            Relation::Descendant => "the OLD image was built from the new one (arguments reversed?)".into(),
            Relation::Diverged => "DIVERGED".into(),
        }
    );
    outln!(
        "{:<24} {:<8} {:>9} {:>10} {:>9} {:>10} {:>9}  backends",
        "vip",
        "status",
        "size",
        "changed",
        "changed%",
        "minimal",
        "minimal%"
    );
    for v in &d {
        let mut b = String::new();
        if !v.backends_added.is_empty() {
            b += &format!("+{} ", v.backends_added.join(",+"));
        }
        if !v.backends_removed.is_empty() {
            b += &format!("-{}", v.backends_removed.join(",-"));
        }
        outln!(
            "{:<24} {:<8} {:>9} {:>10} {:>9.4} {:>10} {:>9.4}  {}",
            v.name,
            v.status,
            v.table_size,
            v.changed,
            100.0 * v.fraction,
            v.minimal,
            100.0 * v.minimal_fraction,
            b.trim()
        );
    }
    Ok(())
}

/// "gen 3 (id ...) <- gen 2 (id ...) <- ...", newest first.
pub fn describe_chain(l: &Lineage) -> String {
    let short = |e: &LineageEntry| format!("gen {} ({})", e.generation, &format_id(&e.id)[..12]);
    if l.ancestors.is_empty() {
        return format!("{}, a fresh compile (no --previous)", short(&l.own));
    }
    let mut s = short(&l.own);
    for a in l.ancestors.iter().rev() {
        s += " <- ";
        s += &short(a);
    }
    if l.dropped > 0 {
        s += &format!(" <- {} older", l.dropped);
    }
    s
}

/// ", through N other images" when `new` is not `old`'s direct child.
fn through(new: &Lineage, old: &Lineage) -> String {
    let pos = new.ancestors.iter().position(|a| a.id == old.own.id);
    match pos.map(|p| new.ancestors.len() - 1 - p) {
        Some(n) if n > 0 => format!(", through {n} other image{}", if n == 1 { "" } else { "s" }),
        _ => String::new(),
    }
}

/// Why two images' histories matter: `maglev-stable` tables and the slots
/// conntrack stores depend on the chain of `--previous` images.
pub fn lineage_warning(
    relation: Relation,
    old: &Lineage,
    new: &Lineage,
    common: Option<&LineageEntry>,
) -> Option<String> {
    let since = match common {
        Some(c) => format!(
            "they share history up to generation {} ({})",
            c.generation,
            &format_id(&c.id)[..12]
        ),
        None => "they share no history".to_string(),
    };
    match relation {
        Relation::Same | Relation::Ancestor => None,
        Relation::Descendant => Some(format!(
            "the old image (generation {}) was built from the new one (generation {}): arguments reversed?",
            old.own.generation, new.own.generation
        )),
        Relation::Diverged => Some(format!(
            "lineage mismatch: the new image was not built from the old one ({since}); maglev-stable tables and VIP/backend slots may differ by more than the update itself, so nodes running the two route some flows differently"
        )),
    }
}

/// What conntrack holds for a flow after a trace prefix.
#[derive(serde::Serialize)]
struct CtDecision {
    /// "hit" (the flow is pinned) or "miss" (it is scheduled as new).
    conntrack: &'static str,
    bucket: Option<u32>,
    way: Option<u32>,
    backend: Option<String>,
    state: Option<String>,
    packets: Option<u32>,
    bytes: Option<u64>,
    /// Ticks since its last packet, at the end of the prefix.
    idle_ticks: Option<u32>,
}

#[derive(serde::Serialize)]
struct LookupOut {
    #[serde(flatten)]
    new_flow: analysis::Lookup,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_trace: Option<CtDecision>,
}

pub fn lookup(
    path: &Path,
    flows: &[String],
    json: bool,
    trace: Option<&Path>,
    packets: Option<u64>,
) -> Result<()> {
    if flows.is_empty() {
        bail!("give at least one --flow 'tcp SRC:PORT -> DST:PORT'");
    }
    let (img, bank) = load_bank(path)?;
    let keys: Vec<FlowKey> = flows.iter().map(|f| f.parse()).collect::<Result<_, _>>()?;
    let dev = trace.map(|t| run_prefix(&img, t, packets)).transpose()?;
    let mut out = Vec::new();
    for key in &keys {
        let new_flow = analysis::lookup(&bank, key);
        let after_trace = dev.as_ref().map(|(dev, _)| match dev.ct_entry(key, false) {
            Some((bucket, way, e)) => CtDecision {
                conntrack: "hit",
                bucket: Some(bucket),
                way: Some(way),
                backend: bank
                    .vips
                    .get(e.vip as usize)
                    .and_then(Option::as_ref)
                    .and_then(|v| v.backend(e.backend))
                    .map(|b| b.name.clone()),
                state: Some(e.tcp_state.name().to_string()),
                packets: Some(e.packets),
                bytes: Some(e.bytes),
                idle_ticks: Some((dev.now as u32).wrapping_sub(e.last_seen)),
            },
            None => CtDecision {
                conntrack: "miss",
                bucket: None,
                way: None,
                backend: None,
                state: None,
                packets: None,
                bytes: None,
                idle_ticks: None,
            },
        });
        out.push(LookupOut {
            new_flow,
            after_trace,
        });
    }
    let unmatched: Vec<&str> = out
        .iter()
        .filter(|o| o.new_flow.vip.is_none())
        .map(|o| o.new_flow.flow.as_str())
        .collect();
    // A flow no VIP takes is an answer for people but a failure for
    // scripts: print everything, then exit 1 naming it.
    let verdict = || -> Result<()> {
        match unmatched.as_slice() {
            [] => Ok(()),
            [f] => bail!("{f} matches no VIP of {}", path.display()),
            fs => bail!(
                "{} of the flows match no VIP of {} (first: {})",
                fs.len(),
                path.display(),
                fs[0]
            ),
        }
    };
    if json {
        print_json(&out)?;
        return verdict();
    }
    if let Some((_, n)) = &dev {
        outln!(
            "after {n} packets of {}:",
            trace.map_or(String::new(), |t| t.display().to_string())
        );
    }
    for o in &out {
        let l = &o.new_flow;
        match (&l.vip, &l.backend) {
            (Some(v), Some(b)) => outln!(
                "{}: VIP {v}, flow hash {}, {} entry {} of {} -> backend {b} (index {}, {}), mode {}",
                l.flow,
                l.flow_hash,
                l.scheduler.unwrap_or("-"),
                l.table_index.unwrap_or(0),
                l.table_size.unwrap_or(0),
                l.backend_index.unwrap_or(0),
                l.backend_address.as_deref().unwrap_or("-"),
                l.mode.unwrap_or("-"),
            ),
            _ => outln!(
                "{}: flow hash {}: {}",
                l.flow,
                l.flow_hash,
                l.note.as_deref().unwrap_or("")
            ),
        }
        if let (Some(n), Some(_)) = (&l.note, &l.backend) {
            outln!("  note: {n}");
        }
        match &o.after_trace {
            Some(c) if c.conntrack == "hit" => {
                let b = c.backend.as_deref().unwrap_or("?");
                outln!(
                    "  conntrack: hit (bucket {}, way {}): pinned to {b}, {}, {} packets, {} bytes, idle {} ticks{}",
                    c.bucket.unwrap_or(0),
                    c.way.unwrap_or(0),
                    c.state.as_deref().unwrap_or("-"),
                    c.packets.unwrap_or(0),
                    c.bytes.unwrap_or(0),
                    c.idle_ticks.unwrap_or(0),
                    if l.backend.as_deref() == Some(b) { "" } else { " (a new flow would go elsewhere)" }
                );
            }
            Some(_) => outln!("  conntrack: miss: the next packet is scheduled as a new flow (above)"),
            None => {}
        }
    }
    verdict()
}

/// Run the first `limit` packets of `trace` through the functional model
/// with `img` flashed; returns the device and how many packets ran.
fn run_prefix(
    img: &Image,
    trace: &Path,
    limit: Option<u64>,
) -> Result<(hw_model::device::Device<hw_model::device::Memory>, u64)> {
    use hw_model::model::Model;
    let mut dev = hw_model::device::in_memory(img.target.clone()).context("creating the model device")?;
    dev.flash(img).context("flashing the image into the model")?;
    let mut m = hw_model::functional::Functional::new(dev);
    let mut n = 0u64;
    let reader =
        testbench::trace::TraceReader::open(trace).with_context(|| format!("opening {}", trace.display()))?;
    for pkt in reader {
        if limit.is_some_and(|l| n >= l) {
            break;
        }
        let pkt = pkt.with_context(|| format!("reading {}", trace.display()))?;
        m.input(pkt.data, pkt.ts_ns);
        n += 1;
        if n.is_multiple_of(4096) {
            m.take_output();
        }
    }
    m.flush();
    Ok((m.dev, n))
}

/// Largest flow list `ct build` reads: a million flows at ~200 bytes a line
/// is 200 MiB (the default target holds 2^20 ways).
pub const MAX_FLOW_LIST_LEN: u64 = 256 << 20;

pub fn ct_build(bank_path: &Path, flows: Option<&Path>, output: &Path) -> Result<()> {
    let (img, bank) = load_bank(bank_path)?;
    let list = match flows {
        None => Vec::new(),
        Some(p) => {
            let text = files::read_to_string_capped(p, MAX_FLOW_LIST_LEN, "flow list")?;
            ctimage::parse_flow_list(&text).with_context(|| format!("{}", p.display()))?
        }
    };
    let ct = ctimage::build(&img, &bank, &list)?;
    ct.write_atomic(output)?;
    let mut w = summary_out(output);
    writeln!(
        w,
        "{}: conntrack image with {} flows, {} bytes, crc32c {:#010x}",
        output.display(),
        list.len(),
        ct.device_len,
        ct.device_crc()
    )?;
    Ok(())
}

pub fn ct_list(path: &Path, bank_path: &Path) -> Result<()> {
    let img = load_image(path)?;
    let entries = decode_conntrack(&img).with_context(|| format!("{}", path.display()))?;
    let (_, bank) = load_bank(bank_path)?;
    for rec in flow_records(&entries, &bank) {
        outln!("{}", serde_json::to_string(&rec)?);
    }
    Ok(())
}

/// Conntrack entries as a flow list (names from `bank`; `#index` where the
/// bank has no such VIP or backend): what `ct build --flows` reads.
pub fn flow_records(entries: &[(u32, u32, CtRepr)], bank: &Bank) -> Vec<ctimage::FlowRecord> {
    entries
        .iter()
        .map(|(_, _, e)| {
            let vip = bank.vips.get(e.vip as usize).and_then(Option::as_ref);
            ctimage::FlowRecord {
                flow: e.key.to_string(),
                vip: vip.map_or(format!("#{}", e.vip), |v| v.name.clone()),
                backend: vip
                    .and_then(|v| v.backend(e.backend))
                    .map_or(format!("#{}", e.backend), |b| b.name.clone()),
                state: e.tcp_state,
                reverse: e.reverse,
                fragment: e.fragment,
                last_seen: e.last_seen,
                created: e.created,
                packets: e.packets,
                bytes: e.bytes,
            }
        })
        .collect()
}

pub fn target(reference: &str, json: bool) -> Result<()> {
    let t = table_compiler::target_file::resolve(reference, Path::new("."))?;
    let map = t.memory_map();
    if json {
        let mut v = serde_json::to_value(&t)?;
        v["fingerprint"] = format!("{:#018x}", t.fingerprint()).into();
        v["bank_len"] = map.bank_len.into();
        v["conntrack_offset"] = map.conntrack.start.into();
        v["conntrack_len"] = map.ct_len().into();
        v["aperture_len"] = map.aperture_len.into();
        v["bar_len"] = map.bar_len.into();
        return print_json(&v);
    }
    outln!("target {} fingerprint {:#018x}", t.name, t.fingerprint());
    out!("{}", toml_string(&t)?);
    outln!("{map}");
    Ok(())
}

/// Which header `lbnic target --emit` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EmitKind {
    /// SystemVerilog package `lbnic_pkg`.
    Sv,
    /// C11 header.
    C,
}

pub fn emit_header(reference: &str, kind: EmitKind, output: Option<&Path>) -> Result<()> {
    let t = table_compiler::target_file::resolve(reference, Path::new("."))?;
    let text = match kind {
        EmitKind::Sv => lbnic_contract::emit::emit_sv(&t),
        EmitKind::C => lbnic_contract::emit::emit_c(&t),
    };
    files::write(output.unwrap_or(Path::new("-")), &[text.as_bytes()])?;
    Ok(())
}

fn toml_string(t: &Target) -> Result<String> {
    Ok(toml::to_string(t)?)
}
