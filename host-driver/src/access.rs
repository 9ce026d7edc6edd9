//! The one small interface every backend implements: 32/64-bit register
//! reads and writes in the register block, bulk reads and writes in the
//! memory aperture, all bounds-checked. Offsets are relative to the
//! register block and to the aperture (the contract's coordinates), so the
//! protocol code never sees a BAR.

use crate::mmio::OutOfBounds;
use lbnic_contract::target::regs;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("register access at {offset:#x} ({len} bytes) is outside the {size:#x}-byte register block or not 4-byte aligned")]
    BadRegister { offset: u64, len: usize, size: u64 },
    #[error("aperture access at {offset:#x}+{len} is outside the {size:#x}-byte aperture")]
    BadAperture { offset: u64, len: usize, size: u64 },
    #[error("{op} at {offset:#x}: {cause}")]
    Io {
        op: &'static str,
        offset: u64,
        cause: std::io::Error,
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
