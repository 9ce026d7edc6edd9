//! The one small interface every backend implements: 32/64-bit register
//! reads and writes in the register block, bulk reads and writes in the
//! memory aperture, all bounds-checked. Offsets are relative to the
//! register block and to the aperture (the contract's coordinates), so the
//! protocol code never sees a BAR.

use crate::mmio::OutOfBounds;
use lbnic_contract::target::{regs, Target};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("register access at {offset:#x} ({len} bytes) is outside the {size:#x}-byte register block or not 4-byte aligned")]
    BadRegister { offset: u64, len: usize, size: u64 },
    #[error("aperture access at {offset:#x}+{len} is outside the {size:#x}-byte aperture")]
    BadAperture { offset: u64, len: usize, size: u64 },
    #[error("{op} at {offset:#x}: {source}")]
    Io {
        op: &'static str,
        offset: u64,
        source: std::io::Error,
    },
    /// A device emulated in this process (`hw-emu`) failed. The message
    /// carries the cause, so it is not also a `source()`.
    #[error("{backend}: {error}")]
    Emulated {
        backend: &'static str,
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("another process is already changing this device ({0}); wait for it to finish")]
    Busy(String),
}

impl AccessError {
    pub(crate) fn reg(e: OutOfBounds) -> AccessError {
        AccessError::BadRegister {
            offset: e.offset,
            len: e.len,
            size: regs::BLOCK_LEN,
        }
    }
    pub(crate) fn ap(e: OutOfBounds) -> AccessError {
        AccessError::BadAperture {
            offset: e.offset,
            len: e.len,
            size: e.size,
        }
    }
}

/// Checks shared by backends that do not get them from a
/// [`crate::mmio::Window`] (the in-process model of `hw-emu`).
pub fn check_reg(offset: u64) -> Result<(), AccessError> {
    if !offset.is_multiple_of(4) || offset.checked_add(4).is_none_or(|e| e > regs::BLOCK_LEN) {
        return Err(AccessError::BadRegister {
            offset,
            len: 4,
            size: regs::BLOCK_LEN,
        });
    }
    Ok(())
}

pub fn check_ap(offset: u64, len: usize, size: u64) -> Result<(), AccessError> {
    if offset.checked_add(len as u64).is_none_or(|e| e > size) {
        return Err(AccessError::BadAperture { offset, len, size });
    }
    Ok(())
}

/// Register block and aperture of one device.
pub trait DeviceAccess: Send {
    /// `vfio:0000:00:03.0`, `shm:/dev/shm/lbnic`, `model`.
    fn describe(&self) -> String;
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError>;
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError>;
    fn aperture_len(&self) -> u64;
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError>;
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError>;

    /// Become the only host writing to the device, for an operation that
    /// changes it (flash, conntrack load/flush). Held until the access is
    /// dropped. VFIO groups are exclusive by themselves.
    fn claim(&mut self) -> Result<(), AccessError> {
        Ok(())
    }

    /// A 64-bit register pair (low word first), read HI, LO, HI and retried
    /// while HI moves, so a counter carrying between the two reads is never
    /// torn (spec §3).
    fn read64(&mut self, reg: u64) -> Result<u64, AccessError> {
        let mut hi = self.read32(reg + 4)?;
        for _ in 0..8 {
            let lo = self.read32(reg)?;
            let hi2 = self.read32(reg + 4)?;
            if hi2 == hi {
                return Ok((hi as u64) << 32 | lo as u64);
            }
            hi = hi2;
        }
        // A counter cannot carry into HI eight times in a row; a device
        // doing so is broken. Report the last consistent-looking value.
        let lo = self.read32(reg)?;
        Ok((hi as u64) << 32 | lo as u64)
    }

    /// A 64-bit register pair, LO then HI.
    fn write64(&mut self, reg: u64, v: u64) -> Result<(), AccessError> {
        self.write32(reg, v as u32)?;
        self.write32(reg + 4, (v >> 32) as u32)
    }
}

impl<T: DeviceAccess + ?Sized> DeviceAccess for Box<T> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        (**self).read32(reg)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        (**self).write32(reg, v)
    }
    fn aperture_len(&self) -> u64 {
        (**self).aperture_len()
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        (**self).read_aperture(offset, out)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        (**self).write_aperture(offset, data)
    }
    fn claim(&mut self) -> Result<(), AccessError> {
        (**self).claim()
    }
}

/// Which device: parsed from `vfio:<pci-address>`, `shm:<file>`, `model` or
/// `model:<target.toml>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    Vfio(String),
    Shm(PathBuf),
    /// In-process model; `None`: the target given to [`open`].
    Model(Option<PathBuf>),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("bad device {spec:?}: {why} (use vfio:<pci-address>, shm:<file>, model or model:<target.toml>)")]
    BadSpec { spec: String, why: String },
    #[error(transparent)]
    Shm(#[from] crate::shm::ShmError),
    #[error(transparent)]
    Vfio(#[from] crate::vfio::VfioOpenError),
    #[error("{spec}: the in-process model is not a host-driver backend: open it with hw-emu's ModelAccess")]
    InProcess { spec: String },
}

impl std::str::FromStr for DeviceSpec {
    type Err = OpenError;
    fn from_str(s: &str) -> Result<DeviceSpec, OpenError> {
        let bad = |why: &str| OpenError::BadSpec {
            spec: s.to_string(),
            why: why.to_string(),
        };
        if s == "model" {
            return Ok(DeviceSpec::Model(None));
        }
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no backend prefix"))?;
        match kind {
            "vfio" => Ok(DeviceSpec::Vfio(
                crate::pci::normalize_address(rest).map_err(|e| bad(&e))?,
            )),
            "shm" if !rest.is_empty() => Ok(DeviceSpec::Shm(PathBuf::from(rest))),
            "shm" => Err(bad("no file after shm:")),
            "model" if !rest.is_empty() => Ok(DeviceSpec::Model(Some(PathBuf::from(rest)))),
            "model" => Err(bad("no target file after model:")),
            _ => Err(bad(&format!("unknown backend {kind:?}"))),
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Vfio(a) => write!(f, "vfio:{a}"),
            DeviceSpec::Shm(p) => write!(f, "shm:{}", p.display()),
            DeviceSpec::Model(None) => write!(f, "model"),
            DeviceSpec::Model(Some(p)) => write!(f, "model:{}", p.display()),
        }
    }
}

/// Open a device laid out as `target` says (which BAR and offset hold the
/// register block and the aperture). Nothing is read or written yet: the
/// identity check is the protocol's first step ([`crate::Driver::identify`]).
///
/// Only the bus backends (`vfio:`, `shm:`): a `model` spec is refused with
/// [`OpenError::InProcess`]; the caller that has the simulator (the CLI)
/// opens it with `hw_emu::ModelAccess`.
pub fn open(spec: &DeviceSpec, target: &Target) -> Result<Box<dyn DeviceAccess>, OpenError> {
    Ok(match spec {
        DeviceSpec::Vfio(addr) => Box::new(crate::vfio::VfioAccess::open(addr, target)?),
        DeviceSpec::Shm(path) => Box::new(crate::shm::ShmAccess::open(path, target)?),
        DeviceSpec::Model(_) => {
            return Err(OpenError::InProcess {
                spec: spec.to_string(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for (s, want) in [
            ("vfio:0000:00:03.0", DeviceSpec::Vfio("0000:00:03.0".into())),
            ("vfio:00:03.0", DeviceSpec::Vfio("0000:00:03.0".into())),
            ("shm:/tmp/x", DeviceSpec::Shm("/tmp/x".into())),
            ("model", DeviceSpec::Model(None)),
            ("model:t.toml", DeviceSpec::Model(Some("t.toml".into()))),
        ] {
            let got: DeviceSpec = s.parse().unwrap();
            assert_eq!(got, want, "{s}");
            let again: DeviceSpec = got.to_string().parse().unwrap();
            assert_eq!(again, got);
        }
        for s in [
            "",
            "shm:",
            "vfio:zz",
            "vfio:0000:00:03",
            "pci:1",
            "model:",
            "/tmp/x",
        ] {
            let e = s.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(e.contains("use vfio:"), "{s}: {e}");
        }
    }

    #[test]
    fn the_model_is_not_opened_here() {
        let spec: DeviceSpec = "model".parse().unwrap();
        assert!(matches!(
            open(&spec, &Target::builtin()),
            Err(OpenError::InProcess { .. })
        ));
    }
}
