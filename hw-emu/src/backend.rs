//! The device behind a shared-memory file, as the serve loop
//! ([`crate::serve::ShmDevice`]) needs it: a register block, two banks, a
//! conntrack memory and a packet pipeline. The functional model
//! ([`FunctionalBackend`]) is one; the reference RTL in Verilator
//! (`lbnic_rtl_sim::serve`, crate `lbnic-rtl-sim` with its `serve`
//! feature) is the other, kept out
//! of this crate so `hw-emu` does not depend on the simulator.
//!
//! The serve loop owns the bus (the file): it takes what the host wrote,
//! hands it to the backend in these calls, and publishes the registers the
//! backend reports. Every call may take device time (the RTL runs clocks);
//! none may wait without bound.

use hw_model::device::{in_memory, Counters, DeviceError, Memory};
use hw_model::functional::Functional;
use hw_model::model::OutPacket;
use lbnic_contract::target::{regs, Target};
use std::time::Duration;

/// A backend's error, kept whole for `{:#}` (the serve loop adds the step).
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub trait Backend: Send {
    /// What it is, for logs and errors ("functional model", "RTL").
    fn name(&self) -> &'static str;
    /// The host wrote CONTROL (`value`, self-clearing bits included): act on
    /// it; return once RESET / CT_FLUSH are done and CT_HOST is
    /// acknowledged (set: no conntrack access left; clear: taken back).
    fn write_control(&mut self, value: u32) -> Result<(), BackendError>;
    /// Bytes `offset..offset + out.len()` of the conntrack memory, in the
    /// layout of the region in the BAR (only while CT_HOST is acknowledged).
    fn read_conntrack(&mut self, offset: u64, out: &mut [u8]) -> Result<(), BackendError>;
    /// Write them (only while CT_HOST is acknowledged).
    fn write_conntrack(&mut self, offset: u64, data: &[u8]) -> Result<(), BackendError>;
    /// A register the host writes (STAGED_*).
    fn write_register(&mut self, reg: u64, value: u32) -> Result<(), BackendError>;
    /// Registers as the host would read them, in order.
    fn read_registers(&mut self, regs: &[u64], out: &mut Vec<u32>) -> Result<(), BackendError>;
    /// The bank a commit validates now (the inactive one).
    fn inactive_bank(&mut self) -> Result<u8, BackendError>;
    /// Bytes `offset..` of bank `bank`: the device's copy of what the host
    /// wrote into the file.
    fn load_bank(&mut self, bank: u8, offset: u64, data: &[u8]) -> Result<(), BackendError>;
    /// Ring COMMIT (STAGED_* given) and return once COMMIT_SEQ moved.
    fn commit(&mut self) -> Result<(), BackendError>;
    /// Offer a frame at device time `ts_ns`; frames that left meanwhile are
    /// appended to `out` (in egress order, `seq` = the frame's index among
    /// all offered).
    fn input(&mut self, frame: &[u8], ts_ns: u64, out: &mut Vec<OutPacket>) -> Result<(), BackendError>;
    /// Run until every frame offered has left (or was dropped); the rest of
    /// the output goes to `out`.
    fn drain(&mut self, out: &mut Vec<OutPacket>) -> Result<(), BackendError>;
    /// The counters as the host would read them.
    fn counters(&mut self) -> Result<Counters, BackendError>;
    /// Least time between two publications of the registers while traffic
    /// flows (reading them costs the RTL a bus transaction each).
    fn publish_every(&self) -> Duration {
        Duration::ZERO
    }
    /// Longest time one call may take before the serve loop's heartbeat
    /// stops (the loop is taken for hung beyond it).
    fn max_stall(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// The functional model as the device (`lbnic serve --model functional`):
/// a register write acts at once, as in [`crate::ModelAccess`].
pub struct FunctionalBackend {
    pub model: Functional<Memory>,
    seq: u64,
}

impl FunctionalBackend {
    pub fn new(target: Target) -> Result<FunctionalBackend, DeviceError> {
        Ok(FunctionalBackend {
            model: Functional::new(in_memory(target)?),
            seq: 0,
        })
    }
}

fn slice(len: usize, offset: u64, n: usize, what: &str) -> Result<std::ops::Range<usize>, BackendError> {
    let o = usize::try_from(offset).unwrap_or(usize::MAX);
    match o.checked_add(n) {
        Some(end) if end <= len => Ok(o..end),
        _ => Err(format!("{what} at {offset:#x}+{n} is outside its {len} bytes").into()),
    }
}

impl Backend for FunctionalBackend {
    fn name(&self) -> &'static str {
        "functional model"
    }
    fn write_control(&mut self, value: u32) -> Result<(), BackendError> {
        Ok(self.model.dev.host_write32(regs::CONTROL, value)?)
    }
    fn read_conntrack(&mut self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
        let m = self.model.dev.ct_mem();
        let r = slice(m.len(), offset, out.len(), "conntrack read")?;
        out.copy_from_slice(&m[r]);
        Ok(())
    }
    fn write_conntrack(&mut self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        let m = self.model.dev.ct_mem_mut();
        let r = slice(m.len(), offset, data.len(), "conntrack write")?;
        m[r].copy_from_slice(data);
        Ok(())
    }
    fn write_register(&mut self, reg: u64, value: u32) -> Result<(), BackendError> {
        Ok(self.model.dev.host_write32(reg, value)?)
    }
    fn read_registers(&mut self, rs: &[u64], out: &mut Vec<u32>) -> Result<(), BackendError> {
        let dev = &mut self.model.dev;
        dev.publish();
        let reg_off = dev.target.bar.register_offset as usize;
        let bar = dev.bar();
        out.clear();
        for &r in rs {
            let o = slice(bar.len(), (reg_off as u64) + r, 4, "register read")?;
            let mut b = [0u8; 4];
            b.copy_from_slice(&bar[o]);
            out.push(u32::from_le_bytes(b));
        }
        Ok(())
    }
    fn inactive_bank(&mut self) -> Result<u8, BackendError> {
        Ok(self.model.dev.active.as_ref().map_or(1, |a| 1 - a.index))
    }
    fn load_bank(&mut self, bank: u8, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        let dev = &mut self.model.dev;
        let bank_len = dev.map.bank_len as usize;
        let r = slice(bank_len, offset, data.len(), "bank write")?;
        let base = dev.map.bank_base[usize::from(bank & 1)] as usize;
        dev.aperture_mut()[base + r.start..base + r.end].copy_from_slice(data);
        Ok(())
    }
    fn commit(&mut self) -> Result<(), BackendError> {
        Ok(self.model.dev.host_write32(regs::COMMIT, regs::COMMIT_MAGIC)?)
    }
    fn input(&mut self, frame: &[u8], ts_ns: u64, out: &mut Vec<OutPacket>) -> Result<(), BackendError> {
        let seq = self.seq;
        self.seq += 1;
        if let Some(o) = self.model.process(frame, ts_ns) {
            out.push(OutPacket {
                data: o.to_vec(),
                ts_ns,
                seq,
                cycles: None,
                sent: self.model.sent(),
            });
        }
        Ok(())
    }
    fn drain(&mut self, _out: &mut Vec<OutPacket>) -> Result<(), BackendError> {
        // `process` answers every frame at once: nothing in flight.
        Ok(())
    }
    fn counters(&mut self) -> Result<Counters, BackendError> {
        Ok(self.model.dev.counters.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Target {
        table_compiler::target_file::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/targets/small.toml"
        )))
        .unwrap()
    }

    /// Out-of-range pieces are errors naming what, never panics; in-range
    /// ones land in the model's memory.
    #[test]
    fn functional_backend_bounds_and_copies() {
        let t = small();
        let map = t.memory_map();
        let mut b = FunctionalBackend::new(t).unwrap();
        let e = b.load_bank(1, map.bank_len - 4, &[0; 8]).unwrap_err().to_string();
        assert!(e.contains("bank write"), "{e}");
        let e = b.write_conntrack(u64::MAX, &[1]).unwrap_err().to_string();
        assert!(e.contains("conntrack write"), "{e}");
        b.load_bank(1, 16, &[7; 8]).unwrap();
        let base = map.bank_base[1] as usize;
        assert_eq!(&b.model.dev.aperture()[base + 16..base + 24], &[7; 8]);
        b.write_conntrack(64, &[9; 64]).unwrap();
        let mut back = [0u8; 64];
        b.read_conntrack(64, &mut back).unwrap();
        assert_eq!(back, [9; 64]);
        assert_eq!(b.inactive_bank().unwrap(), 1);
        let mut v = Vec::new();
        b.read_registers(&[regs::ID, regs::COMMIT_SEQ], &mut v).unwrap();
        assert_eq!(v, [regs::ID_MAGIC, 0]);
    }
}
