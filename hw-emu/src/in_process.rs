//! The `model` device spec: the device emulator of `hw-model` in this process. Every
//! register write is acted on at once (the device's `poll`), as an FPGA
//! would between two bus cycles. For tests it can also be *frozen*: it then
//! stops answering (registers read back stale, writes wait) until thawed,
//! which is how a hung or absent device looks to the host.

use host_driver::access::{check_ap, check_reg, AccessError, DeviceAccess};
use hw_model::device::{in_memory, Device, DeviceError, Memory};
use lbnic_contract::target::Target;

/// A model error as host-driver sees it.
fn model_err(e: DeviceError) -> AccessError {
    AccessError::Emulated {
        backend: "in-process model",
        error: Box::new(e),
    }
}

pub struct ModelAccess {
    dev: Device<Memory>,
    frozen: bool,
    /// Register writes made while frozen, applied in order on thaw.
    pending: Vec<(u64, u32)>,
    writes: u64,
    bytes_written: u64,
}

impl ModelAccess {
    pub fn new(target: Target) -> Result<ModelAccess, DeviceError> {
        Ok(ModelAccess {
            dev: in_memory(target)?,
            frozen: false,
            pending: Vec::new(),
            writes: 0,
            bytes_written: 0,
        })
    }

    pub fn device(&self) -> &Device<Memory> {
        &self.dev
    }
    pub fn device_mut(&mut self) -> &mut Device<Memory> {
        &mut self.dev
    }

    /// Stop answering: reads return what the registers last held, the
    /// heartbeat stops, register writes are held back.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Answer again, acting on the writes made meanwhile.
    pub fn thaw(&mut self) -> Result<(), AccessError> {
        self.frozen = false;
        for (r, v) in std::mem::take(&mut self.pending) {
            self.dev.host_write32(r, v).map_err(model_err)?;
        }
        Ok(())
    }

    /// Aperture writes and bytes written so far (for delta tests).
    pub fn aperture_writes(&self) -> (u64, u64) {
        (self.writes, self.bytes_written)
    }
}

impl DeviceAccess for ModelAccess {
    fn describe(&self) -> String {
        "model".into()
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        if self.frozen {
            check_reg(reg)?;
            if let Some(&(_, v)) = self.pending.iter().rev().find(|(r, _)| *r == reg) {
                return Ok(v);
            }
            let o = (self.dev.target.bar.register_offset + reg) as usize;
            let b = &self.dev.bar()[o..o + 4];
            return Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")));
        }
        self.dev.host_read32(reg).map_err(model_err)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        if self.frozen {
            check_reg(reg)?;
            self.pending.push((reg, v));
            return Ok(());
        }
        self.dev.host_write32(reg, v).map_err(model_err)
    }
    fn aperture_len(&self) -> u64 {
        self.dev.map.aperture_len
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        check_ap(offset, out.len(), self.aperture_len())?;
        self.dev.host_read_aperture(offset, out).map_err(model_err)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        check_ap(offset, data.len(), self.aperture_len())?;
        self.writes += 1;
        self.bytes_written += data.len() as u64;
        self.dev.host_write_aperture(offset, data).map_err(model_err)
    }
}
