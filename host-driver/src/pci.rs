//! PCI devices as sysfs shows them: driver, IOMMU group, VFIO binding.
//! Used by `lbnic devices` and to explain why a VFIO open cannot work.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// `DDDD:BB:DD.F` (the domain may be left out: `BB:DD.F`).
pub fn normalize_address(a: &str) -> Result<String, String> {
    let parts: Vec<&str> = a.split(':').collect();
    let (dom, bus, devfn) = match parts.as_slice() {
        [b, df] => ("0000", *b, *df),
        [d, b, df] => (*d, *b, *df),
        _ => return Err(format!("{a:?} is not a PCI address like 0000:00:03.0")),
    };
    let (dev, func) = devfn
        .split_once('.')
        .ok_or_else(|| format!("{a:?} is not a PCI address like 0000:00:03.0 (no .function)"))?;
    let hex = |s: &str, n: usize, max: u32| -> Result<u32, String> {
        if s.is_empty() || s.len() > n {
            return Err(format!("{a:?}: {s:?} is not a {n}-digit hex field"));
        }
        let v = u32::from_str_radix(s, 16).map_err(|_| format!("{a:?}: {s:?} is not hex"))?;
        if v > max {
            return Err(format!("{a:?}: {s:?} is out of range"));
        }
        Ok(v)
    };
    let (d, b, dv, f) = (
        hex(dom, 4, 0xffff)?,
        hex(bus, 2, 0xff)?,
        hex(dev, 2, 0x1f)?,
        hex(func, 1, 7)?,
    );
    Ok(format!("{d:04x}:{b:02x}:{dv:02x}.{f:x}"))
}

/// One PCI function.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PciDevice {
    pub address: String,
    pub vendor: String,
    pub device: String,
    pub class: String,
    pub driver: Option<String>,
    pub driver_override: Option<String>,
    pub iommu_group: Option<u32>,
    /// Bound to vfio-pci and its group node exists: usable as `vfio:<address>`.
    pub vfio_ready: bool,
    /// What the device is, when we know (ivshmem stands in for the FPGA).
    pub note: Option<String>,
}

/// A sysfs tree (`/sys`, or a fake one in tests).
#[derive(Debug, Clone)]
pub struct Sysfs {
    pub root: PathBuf,
    /// Where the VFIO group nodes are (`/dev/vfio`).
    pub dev_vfio: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs {
            root: PathBuf::from("/sys"),
            dev_vfio: PathBuf::from("/dev/vfio"),
        }
    }
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn link_name(p: &Path) -> Option<String> {
    std::fs::read_link(p)
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
}

impl Sysfs {
    pub fn device_dir(&self, addr: &str) -> PathBuf {
        self.root.join("bus/pci/devices").join(addr)
    }

    /// Whether any IOMMU group exists (the IOMMU is on).
    pub fn iommu_enabled(&self) -> bool {
        std::fs::read_dir(self.root.join("kernel/iommu_groups"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    }

    pub fn device(&self, addr: &str) -> Option<PciDevice> {
        let dir = self.device_dir(addr);
        if !dir.exists() {
            return None;
        }
        let driver = link_name(&dir.join("driver"));
        let iommu_group: Option<u32> = link_name(&dir.join("iommu_group")).and_then(|g| g.parse().ok());
        let vendor = read_trim(&dir.join("vendor")).unwrap_or_default();
        let device = read_trim(&dir.join("device")).unwrap_or_default();
        let vfio_ready = driver.as_deref() == Some("vfio-pci")
            && iommu_group.is_some_and(|g| self.dev_vfio.join(g.to_string()).exists());
        let note = match (vendor.as_str(), device.as_str()) {
            ("0x1af4", "0x1110") => Some("QEMU ivshmem (BAR2 = shared memory: an lbnic stand-in)".into()),
            _ => None,
        };
        Some(PciDevice {
            address: addr.to_string(),
            class: read_trim(&dir.join("class")).unwrap_or_default(),
            vendor,
            device,
            driver,
            driver_override: read_trim(&dir.join("driver_override"))
                .filter(|s| s != "(null)" && !s.is_empty()),
            iommu_group,
            vfio_ready,
            note,
        })
    }

    /// Every PCI function, sorted by address.
    pub fn devices(&self) -> std::io::Result<Vec<PciDevice>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(self.root.join("bus/pci/devices"))? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(d) = self.device(&name) {
                v.push(d);
            }
        }
        v.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(v)
    }

    /// The functions sharing an IOMMU group (all must be bound to vfio-pci
    /// or to no driver for the group to be usable).
    pub fn group_members(&self, group: u32) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(
            self.root
                .join("kernel/iommu_groups")
                .join(group.to_string())
                .join("devices"),
        )
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
        v.sort();
        v
    }
}

/// How to bind a device to vfio-pci (for error messages and `lbnic devices`).
pub fn bind_hint(addr: &str, driver: Option<&str>) -> String {
    let unbind = match driver {
        Some(d) => format!("echo {addr} > /sys/bus/pci/drivers/{d}/unbind; "),
        None => String::new(),
    };
    format!(
        "modprobe vfio-pci; {unbind}echo vfio-pci > /sys/bus/pci/devices/{addr}/driver_override; \
echo {addr} > /sys/bus/pci/drivers_probe"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn addresses_normalize() {
        assert_eq!(normalize_address("0000:00:03.0").unwrap(), "0000:00:03.0");
        assert_eq!(normalize_address("3:A1:1f.7").unwrap(), "0003:a1:1f.7");
        assert_eq!(normalize_address("00:03.0").unwrap(), "0000:00:03.0");
        for bad in [
            "",
            "00:03",
            "0000:00:20.0",
            "0000:00:03.8",
            "x:00:03.0",
            "00000:00:03.0",
            "1:2:3:4.0",
        ] {
            assert!(normalize_address(bad).is_err(), "{bad}");
        }
    }

    /// A fake sysfs: one ivshmem device on vfio-pci in group 5, one NIC on
    /// another driver sharing that group.
    #[test]
    fn fake_sysfs_listing() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("sys");
        let devs = root.join("bus/pci/devices");
        let groups = root.join("kernel/iommu_groups/5/devices");
        let drivers = root.join("bus/pci/drivers");
        std::fs::create_dir_all(&groups).unwrap();
        std::fs::create_dir_all(drivers.join("vfio-pci")).unwrap();
        std::fs::create_dir_all(drivers.join("e1000e")).unwrap();
        for (a, v, d, drv) in [
            ("0000:00:03.0", "0x1af4", "0x1110", "vfio-pci"),
            ("0000:00:04.0", "0x8086", "0x10d3", "e1000e"),
        ] {
            let dir = devs.join(a);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("vendor"), format!("{v}\n")).unwrap();
            std::fs::write(dir.join("device"), format!("{d}\n")).unwrap();
            std::fs::write(dir.join("class"), "0x050000\n").unwrap();
            std::fs::write(dir.join("driver_override"), "(null)\n").unwrap();
            symlink(drivers.join(drv), dir.join("driver")).unwrap();
            symlink(root.join("kernel/iommu_groups/5"), dir.join("iommu_group")).unwrap();
            std::fs::create_dir_all(groups.join(a)).unwrap();
        }
        let dev_vfio = t.path().join("dev-vfio");
        std::fs::create_dir_all(&dev_vfio).unwrap();
        std::fs::write(dev_vfio.join("5"), "").unwrap();
        let s = Sysfs { root, dev_vfio };
        assert!(s.iommu_enabled());
        let all = s.devices().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].driver.as_deref(), Some("vfio-pci"));
        assert_eq!(all[0].iommu_group, Some(5));
        assert!(all[0].vfio_ready);
        assert!(all[0].note.is_some());
        assert_eq!(all[0].driver_override, None);
        assert!(!all[1].vfio_ready);
        assert_eq!(s.group_members(5), vec!["0000:00:03.0", "0000:00:04.0"]);
        assert!(s.device("0000:00:09.0").is_none());
        assert!(bind_hint("0000:00:04.0", Some("e1000e")).contains("drivers/e1000e/unbind"));
    }
}
