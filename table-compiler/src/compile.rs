//! Config -> bank image. VIP slots and VIP-local backend indices are what
//! conntrack entries store, so a compile with `--previous` keeps both for
//! every VIP and backend that survives (matched by name); only new ones get
//! fresh slots, taken from those the previous image did not use. Without a
//! previous image, slots follow name order, so the same config always gives
//! the same bytes.

use crate::config::{Config, Vip};
use crate::maglev::{self, Perm};
use crate::sched;
use lbnic_contract::image::{Bank, BankVip, Image, ImageError, ImageKind, SectionKind};
use lbnic_contract::lineage;
use lbnic_contract::target::entries::{
    name_emit, BackendRepr, GlobalRepr, LutMut, Scheduler, VipRepr, BACKEND_ENTRY_LEN, NAME_LEN,
    VIP_ENTRY_LEN,
};
use lbnic_contract::target::{MemoryMap, Target};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("previous image: {0}")]
    Previous(ImageError),
    #[error("previous image was built for target {prev:#018x}, the config's target {name} is {now:#018x}")]
    PreviousTarget { prev: u64, name: String, now: u64 },
    #[error("vip {vip}: {message}")]
    Vip { vip: String, message: String },
    #[error("{0}")]
    Capacity(String),
}

/// What a compile did, per VIP, for the CLI to report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VipReport {
    pub name: String,
    pub slot: u16,
    pub scheduler: &'static str,
    pub table_size: u32,
    /// Entries whose backend changed against the previous image (by name).
    pub moved: Option<u64>,
    /// `maglev-stable` fell back to a full build (no usable previous table).
    pub full_rebuild: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CompileReport {
    pub generation: u64,
    pub vips: Vec<VipReport>,
    pub warnings: Vec<String>,
}

/// Pick slots for `names` (in order): keep the previous slot of a name, give
/// new names the lowest slot unused now and in the previous image, then any
/// free slot. Returns one slot per name.
fn allocate(names: &[&str], prev: &HashMap<String, u32>, limit: u32) -> Result<Vec<u32>, u32> {
    let mut taken: BTreeSet<u32> = BTreeSet::new();
    let mut out = vec![u32::MAX; names.len()];
    for (i, n) in names.iter().enumerate() {
        if let Some(&s) = prev.get(*n) {
            out[i] = s;
            taken.insert(s);
        }
    }
    let prev_used: BTreeSet<u32> = prev.values().copied().collect();
    let mut fresh = (0..limit).filter(|s| !prev_used.contains(s));
    let mut reuse = (0..limit).filter(|s| prev_used.contains(s));
    for (i, _) in names.iter().enumerate() {
        if out[i] != u32::MAX {
            continue;
        }
        let s = fresh
            .by_ref()
            .find(|s| !taken.contains(s))
            .or_else(|| reuse.by_ref().find(|s| !taken.contains(s)))
            .ok_or(limit)?;
        out[i] = s;
        taken.insert(s);
    }
    Ok(out)
}

struct Planned<'a> {
    vip: &'a Vip,
    slot: u32,
    /// VIP-local index of each backend (in the config's name order).
    local: Vec<u16>,
    backend_count: u16,
    prev: Option<&'a BankVip>,
}

/// Build the lookup table of one VIP, as VIP-local indices.
fn build_table(p: &Planned, seed: &[u8; 16]) -> (Vec<u16>, bool) {
    let v = p.vip;
    let weights: Vec<u32> = v.backends.iter().map(|b| b.effective_weight()).collect();
    let to_local = |t: Vec<u16>| t.into_iter().map(|e| p.local[e as usize]).collect::<Vec<_>>();
    match v.sched {
        Scheduler::Rr => (to_local(sched::rr_slots(&weights)), false),
        Scheduler::Wrr => (to_local(sched::wrr_slots(&weights)), false),
        Scheduler::Maglev | Scheduler::MaglevStable => {
            let m = v.table_size;
            let perms: Vec<Perm> = v
                .backends
                .iter()
                .zip(&weights)
                .map(|(b, &w)| Perm::new(seed, &b.name, m, w))
                .collect();
            let prev_table = p.prev.filter(|pv| {
                v.sched == Scheduler::MaglevStable && pv.repr.sched.is_hashed() && pv.repr.lut_size == m
            });
            let table = match prev_table {
                Some(pv) => {
                    let pos: HashMap<&str, u16> = v
                        .backends
                        .iter()
                        .enumerate()
                        .map(|(i, b)| (b.name.as_str(), i as u16))
                        .collect();
                    let prev: Vec<Option<u16>> = pv
                        .table
                        .iter()
                        .map(|&e| pv.backend(e).and_then(|b| pos.get(b.name.as_str()).copied()))
                        .collect();
                    maglev::populate_stable(&perms, &prev, m)
                }
                None => maglev::populate(&perms, m),
            };
            let full = v.sched == Scheduler::MaglevStable && prev_table.is_none();
            (table.map(to_local).unwrap_or_default(), full)
        }
    }
}

/// Compile `cfg` into a bank image. `previous` (a bank image for the same
/// target) keeps slots stable and feeds `maglev-stable`.
pub fn compile(
    cfg: &Config,
    previous: Option<&Image>,
    generation: Option<u64>,
) -> Result<(Image, CompileReport), CompileError> {
    let t = &cfg.target;
    let prev_bank = previous.map(|img| decode_previous(img, t)).transpose()?;
    let prev_lineage = previous
        .map(|img| img.lineage().map_err(CompileError::Previous))
        .transpose()?;
    let prev_vips: HashMap<String, &BankVip> = prev_bank
        .iter()
        .flat_map(|b| b.vips.iter().flatten())
        .map(|v| (v.name.clone(), v))
        .collect();
    let clock = std::time::Instant::now();
    let lap =
        |what: &str| tracing::debug!("compile: {what} at {:.1} ms", clock.elapsed().as_secs_f64() * 1e3);
    let plans = plan(cfg, &prev_vips)?;
    lap("slots planned");

    // The digest hashes the whole config (64k backends in scale.toml): do it
    // beside the tables rather than after them.
    let (tables, digest): (Vec<(Vec<u16>, bool)>, [u8; 32]) = rayon::join(
        || {
            plans
                .par_iter()
                .map(|p| build_table(p, &cfg.maglev_seed))
                .collect()
        },
        || cfg.digest(),
    );
    lap("tables built");

    let mut e = BankEmitter::new(t);
    let mut reports = Vec::with_capacity(plans.len());
    for (p, (table, full)) in plans.iter().zip(&tables) {
        reports.push(e.vip(p, table, *full)?);
    }
    lap("entries emitted");
    let vip_count = plans.iter().map(|p| p.slot + 1).max().unwrap_or(0);
    let parent = prev_lineage.as_ref().map_or([0; 16], |l| l.own.id);
    e.global(cfg, vip_count, parent);

    let generation = generation.unwrap_or_else(|| previous.map_or(1, |p| p.generation + 1));
    let map = &e.map;
    let image = Image::assemble(
        ImageKind::Bank,
        t,
        generation,
        digest,
        e.bank,
        &[
            (SectionKind::Global, map.global.clone()),
            (SectionKind::Vip, map.vip.clone()),
            (SectionKind::Backend, map.backend.clone()),
            (SectionKind::Lut, map.lut.clone()),
        ],
        &[
            (SectionKind::Names, e.names),
            (
                SectionKind::Lineage,
                prev_lineage.map_or_else(lineage::empty_section, |l| l.child_section()),
            ),
        ],
    );
    lap("image assembled");
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((
        image,
        CompileReport {
            generation,
            vips: reports,
            warnings: cfg.warnings.clone(),
        },
    ))
}

/// The previous image of a `--previous` chain, for the same target.
fn decode_previous(img: &Image, t: &Target) -> Result<Bank, CompileError> {
    if img.fingerprint() != t.fingerprint() {
        return Err(CompileError::PreviousTarget {
            prev: img.fingerprint(),
            name: t.name.clone(),
            now: t.fingerprint(),
        });
    }
    Bank::decode(img).map_err(CompileError::Previous)
}

/// VIP slots and VIP-local backend slots, kept where the previous image had
/// them so a stable update changes only what it must. Sorted by slot.
fn plan<'a>(
    cfg: &'a Config,
    prev_vips: &HashMap<String, &'a BankVip>,
) -> Result<Vec<Planned<'a>>, CompileError> {
    let t = &cfg.target;
    let prev_slots: HashMap<String, u32> = prev_vips
        .iter()
        .map(|(n, v)| (n.clone(), v.index as u32))
        .collect();
    let names: Vec<&str> = cfg.vips.iter().map(|v| v.name.as_str()).collect();
    let slots = allocate(&names, &prev_slots, t.max_vips)
        .map_err(|l| CompileError::Capacity(format!("no free VIP slot (target has {l})")))?;
    let mut plans = Vec::with_capacity(cfg.vips.len());
    for (v, &slot) in cfg.vips.iter().zip(&slots) {
        let prev = prev_vips.get(&v.name).copied();
        let prev_local: HashMap<String, u32> = prev
            .map(|pv| {
                pv.backends
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| b.as_ref().map(|b| (b.name.clone(), i as u32)))
                    .collect()
            })
            .unwrap_or_default();
        let bnames: Vec<&str> = v.backends.iter().map(|b| b.name.as_str()).collect();
        let per_vip = t.max_backends_per_vip();
        let local = allocate(&bnames, &prev_local, per_vip).map_err(|_| CompileError::Vip {
            vip: v.name.clone(),
            message: format!("no free backend slot below {per_vip}; compile without --previous to compact"),
        })?;
        let backend_count = local.iter().max().map_or(0, |m| m + 1);
        plans.push(Planned {
            vip: v,
            slot,
            local: local.iter().map(|&l| l as u16).collect(),
            backend_count: backend_count as u16,
            prev,
        });
    }
    plans.sort_by_key(|p| p.slot);
    Ok(plans)
}

/// Writes the bank's entries and the names section; VIPs go in slot order,
/// each taking the next backend and lookup ranges.
struct BankEmitter<'a> {
    t: &'a Target,
    map: MemoryMap,
    bank: Vec<u8>,
    names: Vec<u8>,
    backend_base: u32,
    lut_base: u32,
    backend_total: u32,
}

impl<'a> BankEmitter<'a> {
    fn new(t: &'a Target) -> BankEmitter<'a> {
        let map = t.memory_map();
        // Room for the host sections too, so assembling the image appends
        // instead of copying the whole bank.
        let mut bank = Vec::with_capacity(map.bank_len as usize + map.names_backend.end as usize + 64 * 1024);
        bank.resize(map.bank_len as usize, 0u8);
        let names = vec![0u8; map.names_backend.end as usize];
        BankEmitter {
            t,
            map,
            bank,
            names,
            backend_base: 0,
            lut_base: 0,
            backend_total: 0,
        }
    }

    fn vip(&mut self, p: &Planned, table: &[u16], full: bool) -> Result<VipReport, CompileError> {
        let (t, map) = (self.t, &self.map);
        let v = p.vip;
        if self.backend_base as u64 + p.backend_count as u64 > t.max_backends as u64 {
            return Err(CompileError::Capacity(format!(
                "backend table full at VIP {} (target has {}); holes left by --previous count too",
                v.name, t.max_backends
            )));
        }
        if self.lut_base as u64 + table.len() as u64 > t.lut_entries as u64 {
            return Err(CompileError::Capacity(format!(
                "lookup tables full at VIP {} (target has {} entries)",
                v.name, t.lut_entries
            )));
        }
        let repr = VipRepr {
            addr: v.addr,
            port: v.port,
            proto: v.proto,
            mode: v.mode,
            sched: v.sched,
            backend_base: self.backend_base,
            backend_count: p.backend_count,
            lut_base: self.lut_base,
            lut_size: table.len() as u32,
        };
        let off = map.vip_entry(p.slot) as usize;
        repr.emit(&mut self.bank[off..off + VIP_ENTRY_LEN]);
        let noff = map.names_vip.start as usize + p.slot as usize * NAME_LEN;
        name_emit(&v.name, &mut self.names[noff..noff + NAME_LEN]);
        for (b, &local) in v.backends.iter().zip(&p.local) {
            let g = self.backend_base + local as u32;
            let off = map.backend_entry(g) as usize;
            BackendRepr {
                addr: b.addr,
                mac: b.mac,
                port: b.port,
                weight: b.weight,
                state: b.state,
                vip: p.slot as u16,
            }
            .emit(&mut self.bank[off..off + BACKEND_ENTRY_LEN]);
            let noff = map.names_backend.start as usize + g as usize * NAME_LEN;
            name_emit(&b.name, &mut self.names[noff..noff + NAME_LEN]);
        }
        LutMut::new(
            &mut self.bank[map.lut.start as usize..map.lut.end as usize],
            t.lut_entry_bits,
        )
        .store(self.lut_base as usize, table);
        self.backend_base += p.backend_count as u32;
        self.backend_total += v.backends.len() as u32;
        self.lut_base += table.len() as u32;
        Ok(VipReport {
            name: v.name.clone(),
            slot: p.slot as u16,
            scheduler: v.sched.name(),
            table_size: table.len() as u32,
            moved: moved_entries(p, table),
            full_rebuild: full,
        })
    }

    /// The global entry; timeouts go from seconds to the target's ticks.
    fn global(&mut self, cfg: &Config, vip_count: u32, parent_id: [u8; 16]) {
        let t = self.t;
        let tick = |s: u32| ((s as u64 * 1_000_000) / t.ct_tick_us as u64).min(u32::MAX as u64) as u32;
        let g = &self.map.global;
        GlobalRepr {
            toeplitz_key: cfg.toeplitz_key,
            device_mac: cfg.device_mac,
            gue_port: cfg.gue_port,
            tun_src_v4: cfg.tunnel_v4.0,
            tun_src_v4_len: cfg.tunnel_v4.1,
            tun_src_v6: cfg.tunnel_v6.0,
            tun_src_v6_len: cfg.tunnel_v6.1,
            vip_count: vip_count as u16,
            backend_count: self.backend_total,
            timeout_tcp_syn: tick(cfg.timeouts.tcp_syn_s),
            timeout_tcp_est: tick(cfg.timeouts.tcp_established_s),
            timeout_tcp_fin: tick(cfg.timeouts.tcp_closing_s),
            timeout_udp: tick(cfg.timeouts.udp_s),
            max_frame: cfg.max_frame,
            gateway_mac: cfg.gateway_mac.unwrap_or([0; 6]),
            icmp_rate: cfg.icmp_rate,
            icmp_burst: cfg.icmp_burst,
            // Written by `Image::assemble`, which hashes the finished bank.
            image_id: [0; 16],
            parent_id,
        }
        .emit(&mut self.bank[g.start as usize..g.end as usize]);
    }
}

/// Lookup entries whose backend (by name) differs from the previous
/// image's; `None` when the table size changed or the VIP is new.
fn moved_entries(p: &Planned, table: &[u16]) -> Option<u64> {
    p.prev.filter(|pv| pv.table.len() == table.len()).map(|pv| {
        let mut new_name = vec![""; p.backend_count as usize];
        for (b, &l) in p.vip.backends.iter().zip(&p.local) {
            new_name[l as usize] = b.name.as_str();
        }
        pv.table
            .iter()
            .zip(table)
            .filter(|(&o, &n)| pv.backend(o).map(|b| b.name.as_str()) != Some(new_name[n as usize]))
            .count() as u64
    })
}
