//! Conntrack on the device: dump (decoded to a flow list), load, flush.

use super::{driver, emit, DeviceArg};
use crate::tables::load_image;
use anyhow::{bail, Context, Result};
use lbnic_contract::image::{decode_conntrack, Image, ImageKind, SectionKind};
use lbnic_contract::target::ct::{CtRepr, CtWay};
use lbnic_contract::target::entries::CT_WAY_LEN;
use lbnic_contract::target::Target;
use std::path::Path;

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

pub(super) fn dump(
    dev: &DeviceArg,
    bank_path: &Path,
    output: Option<&Path>,
    image: Option<&Path>,
) -> Result<()> {
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
        Some(p) => files::write(p, &[text.as_bytes()])?,
        None => emit(&text)?,
    }
    if let Some(p) = image {
        ct.write_atomic(p)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!("{}: {} conntrack entries dumped", d.describe(), entries.len());
    Ok(())
}

pub(super) fn load(dev: &DeviceArg, image: &Path) -> Result<()> {
    let img = load_image(image)?;
    img.expect_kind(ImageKind::Conntrack)
        .with_context(|| image.display().to_string())?;
    let mut d = driver(dev, &img.target)?;
    d.ct_load(&img)?;
    let n = decode_conntrack(&img)?.len();
    outln!(
        "{}: loaded {} ({n} flows, {} bytes)",
        d.describe(),
        image.display(),
        img.device_len
    );
    Ok(())
}

pub(super) fn flush(dev: &DeviceArg, target: &str) -> Result<()> {
    let t = table_compiler::target_file::resolve(target, Path::new("."))?;
    let mut d = driver(dev, &t)?;
    d.ct_flush()?;
    outln!("{}: conntrack flushed", d.describe());
    Ok(())
}
