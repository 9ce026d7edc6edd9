//! `devices`: PCI devices VFIO can use, and how to bind the others.

use super::emit;
use anyhow::{Context, Result};
use host_driver::pci::{bind_hint, Sysfs};

pub(super) fn devices(all: bool, json: bool) -> Result<()> {
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
