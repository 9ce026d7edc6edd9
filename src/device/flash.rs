//! `flash` and `verify`: bank images onto the device, with this host's
//! records of what each bank holds (for delta flashing).

use super::{driver, DeviceArg};
use crate::tables::load_image;
use anyhow::{Context, Result};
use host_driver::records::{default_state_dir, BankRecords};
use host_driver::{DeviceSpec, FlashOptions, Identity};
use lbnic_contract::image::ImageKind;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub(super) fn progress_bar(what: &str) -> indicatif::ProgressBar {
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

/// Records are per host and per device; the in-process model has none.
pub(super) fn records(dev: &DeviceSpec, state_dir: Option<PathBuf>) -> Option<BankRecords> {
    match dev {
        DeviceSpec::Model(_) => None,
        _ => Some(BankRecords::new(
            &state_dir.unwrap_or_else(default_state_dir),
            &dev.to_string(),
        )),
    }
}

/// What this host recorded the inactive bank holds, the base of a delta;
/// `None` (said on stderr) when it does not know: a full write.
pub(super) fn recorded_base(
    dev: &DeviceSpec,
    recs: Option<&BankRecords>,
    id: &Identity,
    len: usize,
) -> Option<Vec<u8>> {
    match recs.map(|r| r.inactive_base(id, len)) {
        Some(Ok(bytes)) => Some(bytes),
        Some(Err(why)) => {
            eprintln!("delta: {dev}: {why}; writing the full bank");
            None
        }
        None => {
            eprintln!("delta: no bank records for {dev}; writing the full bank");
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn flash(
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
        recorded_base(&dev.device, recs.as_ref(), &id, img.device().len())
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
    outln!(
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

pub(super) fn verify(dev: &DeviceArg, path: &Path, json: bool) -> Result<()> {
    let img = load_image(path)?;
    let mut d = driver(dev, &img.target)?;
    let r = d.verify(&img)?;
    if json {
        return crate::tables::print_json(&r);
    }
    outln!(
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
