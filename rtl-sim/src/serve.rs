//! The RTL as the device behind `lbnic serve --shm FILE --model rtl`:
//! [`RtlBackend`] implements `hw_emu`'s [`Backend`] over the harness, so
//! what a host writes into the file through VFIO reaches the RTL's ports.
//!
//! - registers: STAGED_* and CONTROL are AXI4-Lite writes (WRITE32); every
//!   register the serve loop publishes (COMMIT_SEQ / COMMIT_RESULT /
//!   ACTIVE_*, STATUS, the counters) is an AXI4-Lite read (READ32) of the
//!   RTL's register block, never a model's;
//! - a commit: the bank the host staged is copied into the RTL's inactive
//!   bank through the aperture (APWRITE), COMMIT is written and the RTL's
//!   own COMMIT logic validates it (clocks run until COMMIT_SEQ moves);
//! - conntrack lives in the harness, outside the RTL, as DRAM would: the
//!   hand-over on CONTROL.CT_HOST reads and writes it there (CTREAD /
//!   CTWRITE) while the RTL keeps off it (spec §12.2);
//! - traffic: frames go to the RTL's RX with device time from their
//!   timestamps (RX tuser), as in `--model rtl` replays.
//!
//! Every register operation first lets RX take the frames offered so far,
//! so it lands between two frames, as in [`RtlSim::flash_image`]. Every
//! wait is bounded in cycles and fails with a typed error naming it.

use crate::{RtlError, RtlOptions, RtlSim, BASE_CYCLES, COMMIT_POLL};
use hw_emu::backend::{Backend, BackendError};
use hw_model::device::Counters;
use hw_model::model::{Model, OutPacket};
use lbnic_contract::target::regs::{self, control, status};
use lbnic_contract::target::Target;
use std::time::Duration;

/// Registers are published from the RTL at most this often while traffic
/// flows (each is a bus read through the harness).
const PUBLISH_EVERY: Duration = Duration::from_millis(20);
/// The serve loop's heartbeat goes on through a call this long.
const MAX_STALL: Duration = Duration::from_secs(15);
/// Frames offered before the simulation is run until RX has taken them.
const KEEP_UP: u64 = 32;

pub struct RtlBackend {
    pub sim: RtlSim,
    /// CONTROL as last written.
    control: u32,
}

impl RtlBackend {
    /// Start the harness of `target` (located as [`RtlSim::new`] does).
    pub fn new(target: Target, opts: &RtlOptions) -> Result<RtlBackend, RtlError> {
        Ok(RtlBackend {
            sim: RtlSim::new(target, opts)?,
            control: 0,
        })
    }

    /// The frames offered so far have entered RX (a register operation
    /// lands between two frames).
    fn between_frames(&mut self) -> Result<(), RtlError> {
        if self.sim.queued > 0 {
            self.sim.take_all()?;
        }
        Ok(())
    }

    /// Every frame offered has left and the scrubber is idle: nothing of
    /// the pipeline touches the conntrack memory.
    fn quiesce(&mut self) -> Result<(), RtlError> {
        if self.sim.pending > 0 {
            self.sim.finish_run()?;
        }
        Ok(())
    }

    fn failed(&mut self) -> Result<(), RtlError> {
        match self.sim.take_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Backend for RtlBackend {
    fn name(&self) -> &'static str {
        "RTL simulation"
    }

    fn write_control(&mut self, value: u32) -> Result<(), BackendError> {
        let host = value & control::CT_HOST != 0;
        if host && self.control & control::CT_HOST == 0 {
            self.quiesce()?;
        } else {
            self.between_frames()?;
        }
        self.sim.write32(regs::CONTROL, value)?;
        self.control = value & !(control::RESET | control::CT_FLUSH);
        // RESET and CT_FLUSH read as set until done (a pass over every
        // bucket); CT_HOST_ACK follows CT_HOST.
        let t = self.sim.target();
        let limit = BASE_CYCLES + 8 * t.ct_buckets as u64 * t.ct_ways as u64;
        let mut waited = 0;
        loop {
            let v = self.sim.read_many(&[regs::CONTROL, regs::STATUS])?;
            let busy = v[0] & (control::RESET | control::CT_FLUSH);
            let ack = v[1] & status::CT_HOST_ACK != 0;
            if busy == 0 && ack == host {
                return Ok(());
            }
            if waited >= limit {
                let what = if busy != 0 {
                    "RESET / CT_FLUSH still set"
                } else {
                    "STATUS.CT_HOST_ACK does not follow CT_HOST"
                };
                return Err(RtlError::ControlTimeout {
                    value,
                    what,
                    cycles: waited,
                }
                .into());
            }
            self.sim.cycles(COMMIT_POLL)?;
            waited += COMMIT_POLL;
        }
    }

    fn read_conntrack(&mut self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
        let d = self.sim.ct_read(offset, out.len())?;
        out.copy_from_slice(&d);
        Ok(())
    }

    fn write_conntrack(&mut self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        Ok(self.sim.ct_write(offset, data)?)
    }

    fn write_register(&mut self, reg: u64, value: u32) -> Result<(), BackendError> {
        self.between_frames()?;
        Ok(self.sim.write32(reg, value)?)
    }

    fn read_registers(&mut self, rs: &[u64], out: &mut Vec<u32>) -> Result<(), BackendError> {
        self.between_frames()?;
        *out = self.sim.read_many(rs)?;
        Ok(())
    }

    fn inactive_bank(&mut self) -> Result<u8, BackendError> {
        self.between_frames()?;
        Ok(1 - (self.sim.read32(regs::ACTIVE_BANK)? & 1) as u8)
    }

    fn load_bank(&mut self, bank: u8, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        self.between_frames()?;
        let base = self.sim.map.bank_base[usize::from(bank & 1)];
        Ok(self.sim.write_aperture(base + offset, data)?)
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.between_frames()?;
        let generation = self.sim.read64(regs::STAGED_GEN_LO)?;
        self.sim.ring_commit(generation)?;
        Ok(())
    }

    fn input(&mut self, frame: &[u8], ts_ns: u64, out: &mut Vec<OutPacket>) -> Result<(), BackendError> {
        Model::input(&mut self.sim, frame.to_vec(), ts_ns);
        self.failed()?;
        // Keep the simulation abreast of the frames offered, so the serve
        // loop's steps between frames (a doorbell, CONTROL) come while the
        // traffic runs, not all after it in the final drain.
        if self.sim.queued >= KEEP_UP {
            self.sim.take_all()?;
        }
        out.extend(self.sim.take_output());
        Ok(self.failed()?)
    }

    fn drain(&mut self, out: &mut Vec<OutPacket>) -> Result<(), BackendError> {
        self.quiesce()?;
        out.extend(self.sim.take_output());
        Ok(self.failed()?)
    }

    fn counters(&mut self) -> Result<Counters, BackendError> {
        self.between_frames()?;
        self.sim.read_counters()?;
        Ok(self.sim.counters().clone())
    }

    fn publish_every(&self) -> Duration {
        PUBLISH_EVERY
    }

    /// A drain (FINISH: the frames in flight and a scrubber pass) or a
    /// commit (a bank through the aperture and the RTL's scan) is seconds
    /// of simulation in one call.
    fn max_stall(&self) -> Duration {
        MAX_STALL
    }
}
