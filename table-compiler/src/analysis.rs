//! What `inspect`, `diff` and `lookup` report about images.

use lbnic_contract::image::{Bank, BankVip, Image};
use lbnic_contract::lookup::{flow_hash_ip, lookup_index};
use lbnic_contract::target::entries::FlowKey;
use lbnic_contract::toeplitz::Toeplitz;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    pub index: u16,
    pub name: String,
    pub address: String,
    pub weight: u32,
    pub state: &'static str,
    pub slots: u32,
    /// Fraction of the table.
    pub share: f64,
    /// Fraction its weight asks for among active backends.
    pub weight_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VipInfo {
    pub slot: u16,
    pub name: String,
    pub address: String,
    pub port: u16,
    pub protocol: &'static str,
    pub mode: &'static str,
    pub scheduler: &'static str,
    pub table_size: u32,
    pub backends: Vec<BackendInfo>,
    /// max/min over active backends of (slot share / weight share); 1.0 is
    /// perfect. `None` without at least one active backend.
    pub balance: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub kind: lbnic_contract::image::ImageKind,
    pub target: String,
    pub fingerprint: String,
    pub generation: u64,
    pub config_digest: String,
    pub device_bytes: u64,
    pub device_crc32c: String,
    pub sections: Vec<lbnic_contract::image::Section>,
    /// Bank images: the image's id and the images it was compiled through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<lbnic_contract::image::Lineage>,
    pub vips: Vec<VipInfo>,
}

pub fn vip_info(v: &BankVip) -> VipInfo {
    let counts = v.slot_counts();
    let m = v.table.len() as f64;
    let total_w: u64 = v
        .backends
        .iter()
        .flatten()
        .filter(|b| b.repr.state == lbnic_contract::target::entries::BackendState::Active)
        .map(|b| b.repr.weight as u64)
        .sum();
    let mut backends = Vec::new();
    let mut ratios = Vec::new();
    for (i, b) in v.backends.iter().enumerate() {
        let Some(b) = b else { continue };
        let active = b.repr.state == lbnic_contract::target::entries::BackendState::Active;
        let ws = if active && total_w > 0 {
            b.repr.weight as f64 / total_w as f64
        } else {
            0.0
        };
        let share = if m > 0.0 { counts[i] as f64 / m } else { 0.0 };
        if ws > 0.0 {
            ratios.push(share / ws);
        }
        backends.push(BackendInfo {
            index: i as u16,
            name: b.name.clone(),
            address: b.repr.addr.to_string(),
            weight: b.repr.weight,
            state: b.repr.state.name(),
            slots: counts[i],
            share,
            weight_share: ws,
        });
    }
    let balance = if ratios.is_empty() {
        None
    } else {
        let max = ratios.iter().cloned().fold(f64::MIN, f64::max);
        let min = ratios.iter().cloned().fold(f64::MAX, f64::min);
        Some(if min > 0.0 { max / min } else { f64::INFINITY })
    };
    VipInfo {
        slot: v.index,
        name: v.name.clone(),
        address: v.repr.addr.to_string(),
        port: v.repr.port,
        protocol: v.repr.proto.name(),
        mode: v.repr.mode.name(),
        scheduler: v.repr.sched.name(),
        table_size: v.repr.lut_size,
        backends,
        balance,
    }
}

pub fn image_info(img: &Image, bank: Option<&Bank>) -> ImageInfo {
    let lineage = match img.kind {
        // `Image::from_bytes` has checked it already.
        lbnic_contract::image::ImageKind::Bank => img.lineage().ok(),
        lbnic_contract::image::ImageKind::Conntrack => None,
    };
    ImageInfo {
        lineage,
        kind: img.kind,
        target: img.target.name.clone(),
        fingerprint: format!("{:#018x}", img.fingerprint()),
        generation: img.generation,
        config_digest: hex::encode(img.config_digest),
        device_bytes: img.device_len,
        device_crc32c: format!("{:#010x}", img.device_crc()),
        sections: img.sections.clone(),
        vips: bank
            .map(|b| b.vips.iter().flatten().map(vip_info).collect())
            .unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VipDiff {
    pub name: String,
    /// "changed", "added", "removed" or "resized".
    pub status: &'static str,
    pub table_size: u32,
    pub changed: u64,
    pub fraction: f64,
    /// The fewest entries any table with the new per-backend counts could
    /// change: sum over backends of max(0, old count - new count).
    pub minimal: u64,
    pub minimal_fraction: f64,
    pub backends_added: Vec<String>,
    pub backends_removed: Vec<String>,
}

fn counts_by_name(v: &BankVip) -> HashMap<&str, u64> {
    let mut m = HashMap::new();
    for &e in &v.table {
        if let Some(b) = v.backend(e) {
            *m.entry(b.name.as_str()).or_insert(0) += 1;
        }
    }
    m
}

fn names(v: &BankVip) -> Vec<&str> {
    v.backends.iter().flatten().map(|b| b.name.as_str()).collect()
}

pub fn diff(old: &Bank, new: &Bank) -> Vec<VipDiff> {
    let mut out = Vec::new();
    for nv in new.vips.iter().flatten() {
        let size = nv.table.len() as u32;
        let Some(ov) = old.vip_by_name(&nv.name) else {
            out.push(VipDiff {
                name: nv.name.clone(),
                status: "added",
                table_size: size,
                changed: size as u64,
                fraction: 1.0,
                minimal: size as u64,
                minimal_fraction: 1.0,
                backends_added: names(nv).into_iter().map(String::from).collect(),
                backends_removed: vec![],
            });
            continue;
        };
        let on: Vec<&str> = names(ov);
        let nn: Vec<&str> = names(nv);
        let added: Vec<String> = nn
            .iter()
            .filter(|n| !on.contains(n))
            .map(|s| s.to_string())
            .collect();
        let removed: Vec<String> = on
            .iter()
            .filter(|n| !nn.contains(n))
            .map(|s| s.to_string())
            .collect();
        if ov.table.len() != nv.table.len() {
            out.push(VipDiff {
                name: nv.name.clone(),
                status: "resized",
                table_size: size,
                changed: size as u64,
                fraction: 1.0,
                minimal: size as u64,
                minimal_fraction: 1.0,
                backends_added: added,
                backends_removed: removed,
            });
            continue;
        }
        let changed = ov
            .table
            .iter()
            .zip(&nv.table)
            .filter(|(&a, &b)| ov.backend(a).map(|x| &x.name) != nv.backend(b).map(|x| &x.name))
            .count() as u64;
        let oc = counts_by_name(ov);
        let nc = counts_by_name(nv);
        let minimal: u64 = oc
            .iter()
            .map(|(n, &c)| c.saturating_sub(*nc.get(n).unwrap_or(&0)))
            .sum();
        let f = |x: u64| if size == 0 { 0.0 } else { x as f64 / size as f64 };
        out.push(VipDiff {
            name: nv.name.clone(),
            status: "changed",
            table_size: size,
            changed,
            fraction: f(changed),
            minimal,
            minimal_fraction: f(minimal),
            backends_added: added,
            backends_removed: removed,
        });
    }
    for ov in old.vips.iter().flatten() {
        if new.vip_by_name(&ov.name).is_none() {
            out.push(VipDiff {
                name: ov.name.clone(),
                status: "removed",
                table_size: ov.table.len() as u32,
                changed: ov.table.len() as u64,
                fraction: 1.0,
                minimal: ov.table.len() as u64,
                minimal_fraction: 1.0,
                backends_added: vec![],
                backends_removed: names(ov).into_iter().map(String::from).collect(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    pub flow: String,
    pub vip: Option<String>,
    pub flow_hash: String,
    pub scheduler: Option<&'static str>,
    /// Table entry used (hashed schedulers only).
    pub table_index: Option<u32>,
    pub table_size: Option<u32>,
    pub backend: Option<String>,
    pub backend_index: Option<u16>,
    pub backend_address: Option<String>,
    pub mode: Option<&'static str>,
    pub note: Option<String>,
}

/// Which backend a new flow gets. For RR/WRR the answer depends on how many
/// new flows came first; this reports the first slot.
pub fn lookup(bank: &Bank, flow: &FlowKey) -> Lookup {
    let tz = Toeplitz::new(&bank.global.toeplitz_key);
    let hash = flow_hash_ip(&tz, flow.src, flow.dst, Some((flow.src_port, flow.dst_port)));
    let mut out = Lookup {
        flow: flow.to_string(),
        vip: None,
        flow_hash: format!("{hash:#010x}"),
        scheduler: None,
        table_index: None,
        table_size: None,
        backend: None,
        backend_index: None,
        backend_address: None,
        mode: None,
        note: None,
    };
    let Some(v) = bank.match_vip(flow.proto, flow.dst, flow.dst_port) else {
        out.note = Some("no VIP matches: the packet takes the target's no-VIP action".into());
        return out;
    };
    out.vip = Some(v.name.clone());
    out.scheduler = Some(v.repr.sched.name());
    out.mode = Some(v.repr.mode.name());
    out.table_size = Some(v.repr.lut_size);
    if v.table.is_empty() {
        out.note = Some("VIP has no active backend: new flows are dropped".into());
        return out;
    }
    let idx = if v.repr.sched.is_hashed() {
        lookup_index(hash, v.repr.lut_size)
    } else {
        out.note = Some(format!(
            "{} steps a per-VIP pointer per new flow; shown is the first new flow's slot",
            v.repr.sched.name()
        ));
        0
    };
    out.table_index = Some(idx);
    let local = v.table[idx as usize];
    out.backend_index = Some(local);
    if let Some(b) = v.backend(local) {
        out.backend = Some(b.name.clone());
        out.backend_address = Some(b.repr.addr.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_parse_v4_v6_and_reject_junk() {
        let f: FlowKey = "tcp 198.51.100.7:40000 -> 192.0.2.10:80".parse().unwrap();
        assert_eq!(f.src_port, 40000);
        assert_eq!(f.to_string(), "tcp 198.51.100.7:40000 -> 192.0.2.10:80");
        let f: FlowKey = "UDP [2001:db8::1]:5000->[2001:db8::10]:53".parse().unwrap();
        assert_eq!(f.proto, 17);
        for bad in [
            "",
            "tcp",
            "icmp 1.1.1.1:1 -> 2.2.2.2:2",
            "tcp 1.1.1.1 -> 2.2.2.2:2",
            "tcp 1.1.1.1:1 -> [::1]:2",
        ] {
            assert!(bad.parse::<FlowKey>().is_err(), "{bad}");
        }
    }
}
