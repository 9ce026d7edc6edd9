//! `vfio:<pci-address>`: a PCI device bound to vfio-pci. The container,
//! group and device come from `vfio-ioctls` (without KVM); the BARs are
//! mapped with memmap2 through our own checked [`Window`]s, because that
//! crate's `region_read`/`region_write` only log their errors. A BAR (or a
//! part of it) the kernel does not let us mmap (no `MMAP` flag, or outside
//! every sparse-mmap area) is reached with positioned reads and writes on
//! the device descriptor instead.

use crate::access::{AccessError, DeviceAccess};
use crate::mmio::{self, Style, Window};
use crate::pci::{bind_hint, Sysfs};
use lbnic_contract::target::{regs, Target};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use vfio_bindings::bindings::vfio::{
    VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_REGION_INFO_FLAG_MMAP,
    VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_ioctls::{VfioContainer, VfioDevice, VfioError, VfioOps, VfioRegionInfoCap};

/// PCI COMMAND register: memory space and bus master enable.
const PCI_COMMAND: u64 = 0x04;
const PCI_COMMAND_MEMORY: u16 = 1 << 1;
const PCI_COMMAND_MASTER: u16 = 1 << 2;

#[derive(Debug, thiserror::Error)]
pub enum VfioOpenError {
    #[error("vfio:{addr}: no such PCI device (see `lbnic devices`)")]
    NoDevice { addr: String },
    #[error("vfio:{addr}: the device has no IOMMU group, so VFIO cannot use it: the IOMMU is off. Enable it (kernel: intel_iommu=on or amd_iommu=on; QEMU: -device intel-iommu,intremap=on -machine kernel-irqchip=split)")]
    NoIommu { addr: String },
    #[error("vfio:{addr}: /dev/vfio/vfio is missing: load the VFIO modules (modprobe vfio-pci)")]
    NoVfio { addr: String },
    #[error("vfio:{addr}: the device is bound to {}, not vfio-pci. Bind it: {hint}", driver.as_deref().map_or("no driver".to_string(), |d| format!("driver {d}")))]
    NotVfio {
        addr: String,
        driver: Option<String>,
        hint: String,
    },
    #[error("vfio:{addr}: IOMMU group {group} is not viable: every device in it must be bound to vfio-pci (or to no driver); {offenders}")]
    GroupNotViable {
        addr: String,
        group: u32,
        offenders: String,
    },
    #[error("vfio:{addr}: permission denied opening {path}: run as root, or give your user access to {path} (and raise RLIMIT_MEMLOCK)")]
    Permission { addr: String, path: String },
    #[error("vfio:{addr}: {path} is busy: another process (a VM, or another lbnic) has the group open")]
    Busy { addr: String, path: String },
    #[error("vfio:{addr}: {step}: {cause}")]
    Vfio {
        addr: String,
        step: &'static str,
        cause: VfioError,
    },
    #[error("vfio:{addr}: {step}: {cause}")]
    Io {
        addr: String,
        step: &'static str,
        cause: std::io::Error,
    },
    #[error("vfio:{addr}: BAR{bar} is {size:#x} bytes, but target {target} needs {need:#x} (register block and aperture at its BAR offsets): wrong device or wrong --target?")]
    BarTooSmall {
        addr: String,
        bar: u8,
        size: u64,
        need: u64,
        target: String,
    },
    #[error("vfio:{addr}: BAR{bar} is not readable and writable through VFIO (region flags {flags:#x})")]
    BarAccess { addr: String, bar: u8, flags: u32 },
}

/// A range of one BAR: mapped, or through the device descriptor.
enum Region {
    Mapped(Window),
    Pio { file: File, base: u64, len: u64 },
}

impl Region {
    fn len(&self) -> u64 {
        match self {
            Region::Mapped(w) => w.len(),
            Region::Pio { len, .. } => *len,
        }
    }
    fn check(&self, offset: u64, n: usize, align: u64) -> Result<u64, crate::mmio::OutOfBounds> {
        let size = self.len();
        if !offset.is_multiple_of(align) || offset.checked_add(n as u64).is_none_or(|e| e > size) {
            return Err(crate::mmio::OutOfBounds { offset, len: n, size });
        }
        Ok(offset)
    }
    fn read32(&self, offset: u64) -> Result<u32, AccessError> {
        match self {
            Region::Mapped(w) => w.read32(offset).map_err(AccessError::reg),
            Region::Pio { file, base, .. } => {
                self.check(offset, 4, 4).map_err(AccessError::reg)?;
                let mut b = [0u8; 4];
                file.read_exact_at(&mut b, base + offset)
                    .map_err(|source| AccessError::Io {
                        op: "register read",
                        offset,
                        cause: source,
                    })?;
                Ok(u32::from_le_bytes(b))
            }
        }
    }
    fn write32(&self, offset: u64, v: u32) -> Result<(), AccessError> {
        match self {
            Region::Mapped(w) => w.write32(offset, v).map_err(AccessError::reg),
            Region::Pio { file, base, .. } => {
                self.check(offset, 4, 4).map_err(AccessError::reg)?;
                file.write_all_at(&v.to_le_bytes(), base + offset)
                    .map_err(|source| AccessError::Io {
                        op: "register write",
                        offset,
                        cause: source,
                    })
            }
        }
    }
    fn read_bytes(&self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        match self {
            Region::Mapped(w) => w.read_bytes(offset, out).map_err(AccessError::ap),
            Region::Pio { file, base, .. } => {
                self.check(offset, out.len(), 1).map_err(AccessError::ap)?;
                file.read_exact_at(out, base + offset)
                    .map_err(|source| AccessError::Io {
                        op: "aperture read",
                        offset,
                        cause: source,
                    })
            }
        }
    }
    fn write_bytes(&self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        match self {
            Region::Mapped(w) => w.write_bytes(offset, data).map_err(AccessError::ap),
            Region::Pio { file, base, .. } => {
                self.check(offset, data.len(), 1).map_err(AccessError::ap)?;
                file.write_all_at(data, base + offset)
                    .map_err(|source| AccessError::Io {
                        op: "aperture write",
                        offset,
                        cause: source,
                    })
            }
        }
    }
}

pub struct VfioAccess {
    addr: String,
    sysfs_path: PathBuf,
    regs: Option<Region>,
    aperture: Option<Region>,
    dev: Option<VfioDevice>,
    _container: Arc<VfioContainer>,
}

impl VfioAccess {
    pub fn open(addr: &str, target: &Target) -> Result<VfioAccess, VfioOpenError> {
        Self::open_in(&Sysfs::default(), addr, target)
    }

    pub fn open_in(sys: &Sysfs, addr: &str, target: &Target) -> Result<VfioAccess, VfioOpenError> {
        let a = addr.to_string();
        let info = sys
            .device(addr)
            .ok_or_else(|| VfioOpenError::NoDevice { addr: a.clone() })?;
        let Some(group) = info.iommu_group else {
            return Err(VfioOpenError::NoIommu { addr: a });
        };
        if info.driver.as_deref() != Some("vfio-pci") {
            return Err(VfioOpenError::NotVfio {
                hint: bind_hint(addr, info.driver.as_deref()),
                addr: a,
                driver: info.driver,
            });
        }
        if !sys.dev_vfio.join("vfio").exists() {
            return Err(VfioOpenError::NoVfio { addr: a });
        }
        let group_path = sys.dev_vfio.join(group.to_string()).display().to_string();
        let map_open = |e: VfioError, step: &'static str| -> VfioOpenError {
            let errno = |io: &std::io::Error| io.raw_os_error();
            match &e {
                VfioError::OpenContainer(io) | VfioError::OpenGroup(io, _)
                    if matches!(errno(io), Some(libc::EACCES) | Some(libc::EPERM)) =>
                {
                    let path = match &e {
                        VfioError::OpenContainer(_) => sys.dev_vfio.join("vfio").display().to_string(),
                        _ => group_path.clone(),
                    };
                    VfioOpenError::Permission {
                        addr: a.clone(),
                        path,
                    }
                }
                VfioError::OpenGroup(io, _) if errno(io) == Some(libc::EBUSY) => VfioOpenError::Busy {
                    addr: a.clone(),
                    path: group_path.clone(),
                },
                VfioError::GroupViable => {
                    let offenders: Vec<String> = sys
                        .group_members(group)
                        .into_iter()
                        .filter_map(|m| sys.device(&m))
                        .filter(|d| d.driver.as_deref().is_some_and(|x| x != "vfio-pci"))
                        .map(|d| format!("{} is bound to {}", d.address, d.driver.unwrap_or_default()))
                        .collect();
                    VfioOpenError::GroupNotViable {
                        addr: a.clone(),
                        group,
                        offenders: if offenders.is_empty() {
                            "check /sys/kernel/iommu_groups/<group>/devices".into()
                        } else {
                            offenders.join(", ")
                        },
                    }
                }
                _ => VfioOpenError::Vfio {
                    addr: a.clone(),
                    step,
                    cause: e,
                },
            }
        };
        let container =
            Arc::new(VfioContainer::new(None).map_err(|e| map_open(e, "opening the VFIO container"))?);
        let sysfs_path = sys.device_dir(addr);
        let dev = VfioDevice::new(&sysfs_path, container.clone() as Arc<dyn VfioOps>, false)
            .map_err(|e| map_open(e, "opening the device through its group"))?;
        let io = |step: &'static str| {
            let a = a.clone();
            move |source| VfioOpenError::Io {
                addr: a,
                step,
                cause: source,
            }
        };
        let file = mmio::dup_fd(&dev).map_err(io("duplicating the device descriptor"))?;
        enable_bus_master(&dev, &file).map_err(io("enabling memory space and bus mastering"))?;
        let region = |bar: u8, off: u64, len: u64| -> Result<Region, VfioOpenError> {
            let index = VFIO_PCI_BAR0_REGION_INDEX + bar as u32;
            let (flags, size, base) = (
                dev.get_region_flags(index),
                dev.get_region_size(index),
                dev.get_region_offset(index),
            );
            let need = off + len;
            if size < need {
                return Err(VfioOpenError::BarTooSmall {
                    addr: a.clone(),
                    bar,
                    size,
                    need,
                    target: target.name.clone(),
                });
            }
            let rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
            if flags & rw != rw {
                return Err(VfioOpenError::BarAccess {
                    addr: a.clone(),
                    bar,
                    flags,
                });
            }
            let mappable = flags & VFIO_REGION_INFO_FLAG_MMAP != 0 && {
                let sparse: Vec<_> = dev
                    .get_region_caps(index)
                    .into_iter()
                    .filter_map(|c| match c {
                        VfioRegionInfoCap::SparseMmap(s) => Some(s.areas),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                sparse.is_empty()
                    || sparse
                        .iter()
                        .any(|ar| ar.offset <= off && off + len <= ar.offset + ar.size)
            };
            if mappable {
                match Window::map(dev.as_raw_fd(), base + off, len as usize, Style::Volatile) {
                    Ok(w) => return Ok(Region::Mapped(w)),
                    Err(e) => tracing::warn!(
                        "vfio:{addr}: mapping BAR{bar}+{off:#x} failed ({e}); using read/write on the device"
                    ),
                }
            } else {
                tracing::info!(
                    "vfio:{addr}: BAR{bar}+{off:#x} is not mmappable; using read/write on the device"
                );
            }
            Ok(Region::Pio {
                file: file
                    .try_clone()
                    .map_err(io("duplicating the device descriptor"))?,
                base: base + off,
                len,
            })
        };
        let map = target.memory_map();
        let regs = region(
            target.bar.register_bar,
            target.bar.register_offset,
            regs::BLOCK_LEN,
        )?;
        let aperture = region(
            target.bar.aperture_bar,
            target.bar.aperture_offset,
            map.aperture_len,
        )?;
        tracing::info!(
            "vfio:{addr}: group {group}, registers {}, aperture {}",
            kind(&regs),
            kind(&aperture)
        );
        Ok(VfioAccess {
            addr: a,
            sysfs_path,
            regs: Some(regs),
            aperture: Some(aperture),
            dev: Some(dev),
            _container: container,
        })
    }

    fn regs(&self) -> &Region {
        self.regs.as_ref().expect("regions live until drop")
    }
    fn ap(&self) -> &Region {
        self.aperture.as_ref().expect("regions live until drop")
    }
}

fn kind(r: &Region) -> &'static str {
    match r {
        Region::Mapped(_) => "mmapped",
        Region::Pio { .. } => "via read/write",
    }
}

fn enable_bus_master(dev: &VfioDevice, file: &File) -> std::io::Result<()> {
    let cfg = dev.get_region_offset(VFIO_PCI_CONFIG_REGION_INDEX);
    let mut b = [0u8; 2];
    file.read_exact_at(&mut b, cfg + PCI_COMMAND)?;
    let cmd = u16::from_le_bytes(b);
    let want = cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    if want != cmd {
        file.write_all_at(&want.to_le_bytes(), cfg + PCI_COMMAND)?;
    }
    Ok(())
}

impl Drop for VfioAccess {
    fn drop(&mut self) {
        // Unmap before closing the device.
        self.regs = None;
        self.aperture = None;
        if let Some(dev) = self.dev.take() {
            // vfio-ioctls' drop unwraps the group link; if the device was
            // unbound underneath us it would panic: leak the descriptor
            // instead (the kernel closes it at exit).
            if self.sysfs_path.join("iommu_group").exists() {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(dev)));
                if r.is_err() {
                    tracing::warn!("vfio:{}: closing the device failed", self.addr);
                }
            } else {
                tracing::warn!("vfio:{}: device vanished; not releasing its group", self.addr);
                std::mem::forget(dev);
            }
        }
    }
}

impl DeviceAccess for VfioAccess {
    fn describe(&self) -> String {
        format!("vfio:{}", self.addr)
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        self.regs().read32(reg)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        self.regs().write32(reg, v)
    }
    fn aperture_len(&self) -> u64 {
        self.ap().len()
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        self.ap().read_bytes(offset, out)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        self.ap().write_bytes(offset, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pre-checks explain the usual failures before touching VFIO.
    #[test]
    fn usual_failures_are_explained() {
        let t = tempfile::tempdir().unwrap();
        let sys = Sysfs {
            root: t.path().join("sys"),
            dev_vfio: t.path().join("dev-vfio"),
        };
        let target = Target::builtin();
        let e = VfioAccess::open_in(&sys, "0000:00:03.0", &target).err().unwrap();
        assert!(matches!(e, VfioOpenError::NoDevice { .. }), "{e}");
        let dir = sys.device_dir("0000:00:03.0");
        std::fs::create_dir_all(&dir).unwrap();
        let e = VfioAccess::open_in(&sys, "0000:00:03.0", &target).err().unwrap();
        assert!(e.to_string().contains("IOMMU is off"), "{e}");
        std::fs::create_dir_all(sys.root.join("kernel/iommu_groups/3")).unwrap();
        std::os::unix::fs::symlink(sys.root.join("kernel/iommu_groups/3"), dir.join("iommu_group")).unwrap();
        std::fs::create_dir_all(sys.root.join("bus/pci/drivers/ivshmem")).unwrap();
        std::os::unix::fs::symlink(sys.root.join("bus/pci/drivers/ivshmem"), dir.join("driver")).unwrap();
        let e = VfioAccess::open_in(&sys, "0000:00:03.0", &target)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("bound to driver ivshmem") && e.contains("driver_override"),
            "{e}"
        );
        std::fs::remove_file(dir.join("driver")).unwrap();
        std::fs::create_dir_all(sys.root.join("bus/pci/drivers/vfio-pci")).unwrap();
        std::os::unix::fs::symlink(sys.root.join("bus/pci/drivers/vfio-pci"), dir.join("driver")).unwrap();
        let e = VfioAccess::open_in(&sys, "0000:00:03.0", &target)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("modprobe vfio-pci"), "{e}");
    }
}
