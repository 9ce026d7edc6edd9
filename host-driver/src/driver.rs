//! The host side of the contract (spec §3, §4): identify the device, flash
//! a bank (full or delta), commit it, verify it, read the counters, and
//! preload / dump / flush conntrack. Every wait for the device is bounded
//! by a timeout and every error names the step that failed.

use crate::access::{AccessError, DeviceAccess};
use crate::delta;
use lbnic_contract::image::{Image, ImageError, ImageKind};
use lbnic_contract::target::entries::{BACKEND_ENTRY_LEN, VIP_ENTRY_LEN};
use lbnic_contract::target::regs::{self, control, status, Counter, ParseReason};
use lbnic_contract::target::{MemoryMap, Target, CONTRACT_VERSION_MAJOR};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Bytes moved per aperture call (progress granularity).
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{device}: {step}: {cause}")]
    Access {
        device: String,
        step: &'static str,
        cause: AccessError,
    },
    #[error(
        "{device}: no lbnic register block (ID reads {id:#010x}, expected {:#010x} \"LBNC\"){hint}",
        regs::ID_MAGIC
    )]
    NotLbnic {
        device: String,
        id: u32,
        hint: &'static str,
    },
    #[error(
        "{device}: device speaks contract {major}.{minor}, this driver speaks {CONTRACT_VERSION_MAJOR}.x"
    )]
    Version { device: String, major: u16, minor: u16 },
    #[error("{device} runs target fingerprint {device_fp:#018x}, but the image was built for target {image_target} ({image_fp:#018x}): refused before any write")]
    WrongTarget {
        device: String,
        device_fp: u64,
        image_target: String,
        image_fp: u64,
    },
    #[error("{device} runs target fingerprint {device_fp:#018x}, but this command assumed target {target} ({target_fp:#018x}): pass the device's target with --target")]
    TargetMismatch {
        device: String,
        device_fp: u64,
        target: String,
        target_fp: u64,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{device}: heartbeat stayed at {heartbeat} for {waited_ms} ms: the device is not running (for shm: is `lbnic serve --shm` running on this file?)")]
    Dead {
        device: String,
        heartbeat: u32,
        waited_ms: u128,
    },
    #[error("{device}: a commit is already in progress (STATUS.COMMIT_BUSY); another host may be flashing")]
    Busy { device: String },
    #[error("{device} did not answer COMMIT within {:.1} s (COMMIT_SEQ stayed at {seq}): is the device (or `lbnic serve`) running? The active bank is unchanged (unless the device wakes up and commits the staged generation {generation})", waited.as_secs_f64())]
    CommitTimeout {
        device: String,
        waited: Duration,
        seq: u32,
        generation: u64,
    },
    #[error("{device} refused generation {generation}: {result}; generation {active} stays active")]
    CommitRefused {
        device: String,
        generation: u64,
        code: u32,
        result: &'static str,
        active: u64,
    },
    #[error("{device}: after COMMIT the device reports generation {got} in bank {got_bank}, expected {want} in bank {want_bank}")]
    WrongActive {
        device: String,
        want: u64,
        want_bank: u8,
        got: u64,
        got_bank: u8,
    },
    #[error("{device}: {what}: bank {bank} differs at bank offset {offset:#x} ({place}): expected {want:#04x}, read {got:#04x}; {count} bytes differ")]
    Mismatch {
        device: String,
        what: &'static str,
        bank: u8,
        offset: u64,
        place: String,
        want: u8,
        got: u8,
        count: u64,
    },
    #[error("{device}: active generation is {active}, the image is generation {image}")]
    GenerationMismatch { device: String, active: u64, image: u64 },
    #[error(
        "{device}: conntrack image differs from the device at conntrack offset {offset:#x} after loading"
    )]
    CtReadback { device: String, offset: u64 },
    #[error("{device} did not {what} within {ms} ms")]
    Timeout {
        device: String,
        what: &'static str,
        ms: u128,
    },
}

/// What the read-only registers say.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub device: String,
    pub id: u32,
    pub version: u32,
    pub fingerprint: u64,
    pub status: u32,
    pub control: u32,
    pub heartbeat: u32,
    pub active_bank: u8,
    pub active_generation: u64,
    pub commit_result: u32,
    pub commit_seq: u32,
    pub now_ticks: u64,
}

impl Identity {
    pub fn inactive_bank(&self) -> u8 {
        1 - self.active_bank
    }
}

/// Counters and state, for `lbnic stats`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    #[serde(flatten)]
    pub identity: Identity,
    pub ready: bool,
    pub running: bool,
    pub commit_busy: bool,
    pub ct_host: bool,
    pub commit_result_name: &'static str,
    /// (name, value) in register order.
    pub counters: Vec<(&'static str, u64)>,
    pub parse_errors: Vec<(&'static str, u64)>,
}

impl Stats {
    pub fn counter(&self, c: Counter) -> u64 {
        self.counters[c as usize].1
    }
}

#[derive(Debug, Clone, Default)]
pub struct FlashOptions {
    /// What the inactive bank is believed to hold. With it, only the words
    /// that differ are written; if the belief was wrong the device refuses
    /// the commit (CRC) and the driver writes the full bank and commits
    /// again.
    pub delta_base: Option<Vec<u8>>,
    /// Skip reading the written bytes back after the commit.
    pub no_readback: bool,
    /// Leave `CONTROL.ENABLE` as it is (default: set it after a commit).
    pub no_enable: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlashReport {
    pub device: String,
    pub generation: u64,
    pub previous_generation: u64,
    pub bank: u8,
    pub bank_len: u64,
    pub delta: bool,
    /// The delta's base was wrong: the full bank was written after all.
    pub delta_fell_back: bool,
    pub bytes_written: u64,
    pub write_ranges: usize,
    pub bytes_read_back: u64,
    pub write_ms: f64,
    pub commit_ms: f64,
    pub readback_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerifyReport {
    pub device: String,
    pub generation: u64,
    pub bank: u8,
    pub bytes: u64,
    pub crc32c: u32,
}

/// One range covering `n` bytes.
fn whole(n: usize) -> Vec<std::ops::Range<usize>> {
    std::iter::once(0..n).collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Where a bank offset falls: section and entry, for error messages.
pub fn describe_bank_offset(t: &Target, map: &MemoryMap, off: u64) -> String {
    let entry = |r: &std::ops::Range<u64>, len: u64| (off - r.start) / len;
    if map.global.contains(&off) {
        format!("GLOBAL byte {off}")
    } else if map.vip.contains(&off) {
        format!("VIP entry {}", entry(&map.vip, VIP_ENTRY_LEN as u64))
    } else if map.backend.contains(&off) {
        format!("BACKEND entry {}", entry(&map.backend, BACKEND_ENTRY_LEN as u64))
    } else if map.lut.contains(&off) {
        format!(
            "LUT entry {}",
            (off - map.lut.start) * 8 / t.lut_entry_bits as u64
        )
    } else {
        "padding".into()
    }
}

/// A device and the target it was built for.
pub struct Driver<A: DeviceAccess> {
    dev: A,
    target: Target,
    map: MemoryMap,
    /// Longest wait for the device to act on a doorbell or control bit.
    pub timeout: Duration,
    /// Longest wait for the heartbeat to move before a flash.
    pub liveness_timeout: Duration,
    /// Pause between two polls of a register.
    pub poll_interval: Duration,
}

impl<A: DeviceAccess> Driver<A> {
    pub fn new(dev: A, target: Target) -> Driver<A> {
        Driver {
            dev,
            map: target.memory_map(),
            target,
            timeout: Duration::from_secs(2),
            liveness_timeout: Duration::from_secs(1),
            poll_interval: Duration::from_micros(100),
        }
    }

    pub fn access(&self) -> &A {
        &self.dev
    }
    pub fn access_mut(&mut self) -> &mut A {
        &mut self.dev
    }
    pub fn target(&self) -> &Target {
        &self.target
    }
    pub fn map(&self) -> &MemoryMap {
        &self.map
    }
    pub fn describe(&self) -> String {
        self.dev.describe()
    }

    fn err(&self, step: &'static str) -> impl Fn(AccessError) -> DriverError {
        let device = self.dev.describe();
        move |source| DriverError::Access {
            device: device.clone(),
            step,
            cause: source,
        }
    }

    fn r32(&mut self, reg: u64, step: &'static str) -> Result<u32, DriverError> {
        let e = self.err(step);
        self.dev.read32(reg).map_err(e)
    }
    fn w32(&mut self, reg: u64, v: u32, step: &'static str) -> Result<(), DriverError> {
        let e = self.err(step);
        self.dev.write32(reg, v).map_err(e)
    }
    fn r64(&mut self, reg: u64, step: &'static str) -> Result<u64, DriverError> {
        let e = self.err(step);
        self.dev.read64(reg).map_err(e)
    }

    /// Read the identity registers and check ID and contract version.
    pub fn identify(&mut self) -> Result<Identity, DriverError> {
        let step = "reading the identity registers";
        let id = self.r32(regs::ID, step)?;
        let device = self.describe();
        if id != regs::ID_MAGIC {
            let hint = match (id, self.describe().starts_with("shm:")) {
                (0, true) => ": nothing has initialised this file; start `lbnic serve --shm` on it",
                (0xffff_ffff, _) => ": all ones, the device is not responding or the BAR is not decoded",
                (_, _) => ": wrong device, or wrong BAR/offset in the target (--target)",
            };
            return Err(DriverError::NotLbnic { device, id, hint });
        }
        let version = self.r32(regs::VERSION, step)?;
        if (version >> 16) as u16 != CONTRACT_VERSION_MAJOR {
            return Err(DriverError::Version {
                device,
                major: (version >> 16) as u16,
                minor: version as u16,
            });
        }
        Ok(Identity {
            device,
            id,
            version,
            fingerprint: self.r64(regs::FINGERPRINT_LO, step)?,
            status: self.r32(regs::STATUS, step)?,
            control: self.r32(regs::CONTROL, step)?,
            heartbeat: self.r32(regs::HEARTBEAT, step)?,
            active_bank: (self.r32(regs::ACTIVE_BANK, step)? & 1) as u8,
            active_generation: self.r64(regs::ACTIVE_GEN_LO, step)?,
            commit_result: self.r32(regs::COMMIT_RESULT, step)?,
            commit_seq: self.r32(regs::COMMIT_SEQ, step)?,
            now_ticks: self.r64(regs::NOW_LO, step)?,
        })
    }

    /// Identify, and check the device runs this driver's target.
    pub fn identify_target(&mut self) -> Result<Identity, DriverError> {
        let id = self.identify()?;
        if id.fingerprint != self.target.fingerprint() {
            return Err(DriverError::TargetMismatch {
                device: id.device,
                device_fp: id.fingerprint,
                target: self.target.name.clone(),
                target_fp: self.target.fingerprint(),
            });
        }
        Ok(id)
    }

    /// Wait until `cond` holds for a register, or time out.
    fn wait_reg(
        &mut self,
        reg: u64,
        timeout: Duration,
        step: &'static str,
        mut cond: impl FnMut(u32) -> bool,
    ) -> Result<Option<u32>, DriverError> {
        let t0 = Instant::now();
        loop {
            let v = self.r32(reg, step)?;
            if cond(v) {
                return Ok(Some(v));
            }
            if t0.elapsed() >= timeout {
                return Ok(None);
            }
            std::thread::sleep(self.poll_interval);
        }
    }

    /// The heartbeat moves within the liveness timeout.
    pub fn check_alive(&mut self) -> Result<(), DriverError> {
        let hb = self.r32(regs::HEARTBEAT, "reading the heartbeat")?;
        let t0 = Instant::now();
        let to = self.liveness_timeout;
        if self
            .wait_reg(regs::HEARTBEAT, to, "reading the heartbeat", |v| v != hb)?
            .is_none()
        {
            return Err(DriverError::Dead {
                device: self.describe(),
                heartbeat: hb,
                waited_ms: t0.elapsed().as_millis(),
            });
        }
        Ok(())
    }

    /// Check that `img` may go to this device: a bank image for the
    /// device's target. Nothing is written.
    pub fn check_image(&mut self, img: &Image, kind: ImageKind) -> Result<Identity, DriverError> {
        img.expect_kind(kind)?;
        let id = self.identify()?;
        if id.fingerprint != img.fingerprint() || img.fingerprint() != self.target.fingerprint() {
            return Err(DriverError::WrongTarget {
                device: id.device,
                device_fp: id.fingerprint,
                image_target: img.target.name.clone(),
                image_fp: img.fingerprint(),
            });
        }
        Ok(id)
    }

    fn write_ranges(
        &mut self,
        base: u64,
        data: &[u8],
        ranges: &[std::ops::Range<usize>],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, DriverError> {
        let total: u64 = ranges.iter().map(|r| r.len() as u64).sum();
        let mut done = 0u64;
        progress(0, total);
        for r in ranges {
            let mut at = r.start;
            while at < r.end {
                let end = (at + CHUNK).min(r.end);
                let e = self.err("writing the inactive bank");
                self.dev
                    .write_aperture(base + at as u64, &data[at..end])
                    .map_err(e)?;
                done += (end - at) as u64;
                progress(done, total);
                at = end;
            }
        }
        Ok(done)
    }

    /// Compare device memory with `want` over `ranges`; the first
    /// difference is an error.
    fn compare(
        &mut self,
        what: &'static str,
        bank: u8,
        want: &[u8],
        ranges: &[std::ops::Range<usize>],
    ) -> Result<u64, DriverError> {
        let base = self.map.bank_base[bank as usize];
        let mut buf = vec![0u8; CHUNK];
        let mut read = 0u64;
        for r in ranges {
            let mut at = r.start;
            while at < r.end {
                let end = (at + CHUNK).min(r.end);
                let b = &mut buf[..end - at];
                let e = self.err("reading the bank back");
                self.dev.read_aperture(base + at as u64, b).map_err(e)?;
                read += b.len() as u64;
                if let Some(i) = b.iter().zip(&want[at..end]).position(|(x, y)| x != y) {
                    let count = b.iter().zip(&want[at..end]).filter(|(x, y)| x != y).count() as u64;
                    let offset = (at + i) as u64;
                    return Err(DriverError::Mismatch {
                        device: self.describe(),
                        what,
                        bank,
                        offset,
                        place: describe_bank_offset(&self.target, &self.map, offset),
                        want: want[at + i],
                        got: b[i],
                        count,
                    });
                }
                at = end;
            }
        }
        Ok(read)
    }

    /// Stage and ring: STAGED_GEN/LEN/CRC, note COMMIT_SEQ, COMMIT, then
    /// poll COMMIT_SEQ. Returns the device's result code.
    fn commit(&mut self, img: &Image) -> Result<u32, DriverError> {
        let st = "writing the staged generation, length and CRC";
        self.w32(regs::STAGED_GEN_LO, img.generation as u32, st)?;
        self.w32(regs::STAGED_GEN_HI, (img.generation >> 32) as u32, st)?;
        self.w32(regs::STAGED_LEN, img.device_len as u32, st)?;
        self.w32(regs::STAGED_CRC, img.device_crc(), st)?;
        let seq = self.r32(regs::COMMIT_SEQ, "reading COMMIT_SEQ")?;
        self.w32(regs::COMMIT, regs::COMMIT_MAGIC, "ringing COMMIT")?;
        let t0 = Instant::now();
        let to = self.timeout;
        if self
            .wait_reg(regs::COMMIT_SEQ, to, "polling COMMIT_SEQ", |v| v != seq)?
            .is_none()
        {
            return Err(DriverError::CommitTimeout {
                device: self.describe(),
                waited: t0.elapsed(),
                seq,
                generation: img.generation,
            });
        }
        self.r32(regs::COMMIT_RESULT, "reading COMMIT_RESULT")
    }

    /// Flash a bank image (spec §4): check identity and target, check the
    /// device is alive, write the inactive bank (all of it, or only what
    /// differs from `opts.delta_base`), stage, commit, wait for the new
    /// active generation, read back, enable.
    pub fn flash(
        &mut self,
        img: &Image,
        opts: &FlashOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<FlashReport, DriverError> {
        let t_start = Instant::now();
        let id = self.check_image(img, ImageKind::Bank)?;
        let claim = self.err("claiming the device");
        self.dev.claim().map_err(claim)?;
        if id.status & status::COMMIT_BUSY != 0 {
            return Err(DriverError::Busy { device: id.device });
        }
        self.check_alive()?;
        let bank = id.inactive_bank();
        let base = self.map.bank_base[bank as usize];
        let new = img.device();
        let full = whole(new.len());
        let delta_ranges = opts
            .delta_base
            .as_deref()
            .filter(|b| b.len() == new.len())
            .map(|b| delta::changed_ranges(b, new, delta::MERGE_GAP));
        if opts.delta_base.is_some() && delta_ranges.is_none() {
            tracing::warn!("delta base has the wrong length; writing the full bank");
        }
        let ranges: &[std::ops::Range<usize>] = delta_ranges.as_deref().unwrap_or(&full);
        let t_write = Instant::now();
        let mut written = self.write_ranges(base, new, ranges, progress)?;
        let mut write_time = t_write.elapsed();
        let t_commit = Instant::now();
        let mut result = self.commit(img)?;
        let mut commit_time = t_commit.elapsed();
        let mut fell_back = false;
        let mut final_ranges = ranges.to_vec();
        if result == regs::COMMIT_BAD_CRC && delta_ranges.is_some() {
            tracing::warn!(
                "{}: the inactive bank did not hold the delta's base (CRC refused); writing the full bank",
                self.describe()
            );
            fell_back = true;
            let t = Instant::now();
            written += self.write_ranges(base, new, &full, progress)?;
            write_time += t.elapsed();
            let t = Instant::now();
            result = self.commit(img)?;
            commit_time += t.elapsed();
            final_ranges = full.clone();
        }
        if result != regs::COMMIT_OK {
            return Err(DriverError::CommitRefused {
                device: self.describe(),
                generation: img.generation,
                code: result,
                result: regs::commit_result_name(result),
                active: id.active_generation,
            });
        }
        let after = self.identify()?;
        if after.active_generation != img.generation || after.active_bank != bank {
            return Err(DriverError::WrongActive {
                device: after.device,
                want: img.generation,
                want_bank: bank,
                got: after.active_generation,
                got_bank: after.active_bank,
            });
        }
        let t_rb = Instant::now();
        let read_back = if opts.no_readback {
            0
        } else {
            self.compare("read-back after commit", bank, new, &final_ranges)?
        };
        let readback_time = t_rb.elapsed();
        if !opts.no_enable && after.control & control::ENABLE == 0 {
            let c = after.control & !(control::RESET | control::CT_FLUSH);
            self.w32(regs::CONTROL, c | control::ENABLE, "setting CONTROL.ENABLE")?;
        }
        Ok(FlashReport {
            device: self.describe(),
            generation: img.generation,
            previous_generation: id.active_generation,
            bank,
            bank_len: new.len() as u64,
            delta: delta_ranges.is_some(),
            delta_fell_back: fell_back,
            bytes_written: written,
            write_ranges: final_ranges.len(),
            bytes_read_back: read_back,
            write_ms: ms(write_time),
            commit_ms: ms(commit_time),
            readback_ms: ms(readback_time),
            total_ms: ms(t_start.elapsed()),
        })
    }

    /// The active bank holds exactly `img`'s tables at `img`'s generation.
    pub fn verify(&mut self, img: &Image) -> Result<VerifyReport, DriverError> {
        let id = self.check_image(img, ImageKind::Bank)?;
        if id.active_generation != img.generation {
            return Err(DriverError::GenerationMismatch {
                device: id.device,
                active: id.active_generation,
                image: img.generation,
            });
        }
        let want = img.device();
        let n = self.compare("verify", id.active_bank, want, &whole(want.len()))?;
        Ok(VerifyReport {
            device: id.device,
            generation: id.active_generation,
            bank: id.active_bank,
            bytes: n,
            crc32c: img.device_crc(),
        })
    }

    /// The identity and the GLOBAL entry of the active bank (all zero on a
    /// device never flashed): which image the device runs, without reading
    /// the whole bank back.
    pub fn active_global(&mut self) -> Result<(Identity, Vec<u8>), DriverError> {
        let id = self.identify()?;
        let g = self.map.global.clone();
        let mut global = vec![0u8; (g.end - g.start) as usize];
        let at = self.map.bank_base[id.active_bank as usize] + g.start;
        let e = self.err("reading the active bank's GLOBAL entry");
        self.dev.read_aperture(at, &mut global).map_err(e)?;
        Ok((id, global))
    }

    /// Every counter and status register.
    pub fn stats(&mut self) -> Result<Stats, DriverError> {
        let identity = self.identify()?;
        let step = "reading the counters";
        let mut counters = Vec::with_capacity(Counter::ALL.len());
        for c in Counter::ALL {
            counters.push((c.name(), self.r64(c.offset(), step)?));
        }
        let mut parse_errors = Vec::with_capacity(ParseReason::ALL.len());
        for r in ParseReason::ALL {
            parse_errors.push((r.name(), self.r64(r.offset(), step)?));
        }
        let st = identity.status;
        Ok(Stats {
            ready: st & status::READY != 0,
            running: st & status::RUNNING != 0,
            commit_busy: st & status::COMMIT_BUSY != 0,
            ct_host: st & status::CT_HOST_ACK != 0,
            commit_result_name: regs::commit_result_name(identity.commit_result),
            identity,
            counters,
            parse_errors,
        })
    }

    /// Set or clear `CONTROL.CT_HOST` and wait for the device to hand the
    /// conntrack region over (or take it back).
    fn ct_host(&mut self, on: bool) -> Result<(), DriverError> {
        let step = "writing CONTROL.CT_HOST";
        let c = self.r32(regs::CONTROL, step)? & !(control::RESET | control::CT_FLUSH);
        let v = if on {
            c | control::CT_HOST
        } else {
            c & !control::CT_HOST
        };
        self.w32(regs::CONTROL, v, step)?;
        let to = self.timeout;
        let t0 = Instant::now();
        let ok = self.wait_reg(regs::STATUS, to, "polling STATUS.CT_HOST_ACK", |s| {
            (s & status::CT_HOST_ACK != 0) == on
        })?;
        if ok.is_none() {
            return Err(DriverError::Timeout {
                device: self.describe(),
                what: if on {
                    "hand the conntrack region to the host (STATUS.CT_HOST_ACK)"
                } else {
                    "take the conntrack region back (STATUS.CT_HOST_ACK)"
                },
                ms: t0.elapsed().as_millis(),
            });
        }
        Ok(())
    }

    /// A consistent snapshot of the conntrack region (the pipeline pauses
    /// conntrack while the host reads it).
    pub fn ct_dump(&mut self) -> Result<Vec<u8>, DriverError> {
        self.identify_target()?;
        self.ct_host(true)?;
        let mut mem = vec![0u8; self.map.ct_len() as usize];
        let r = self.read_ct(&mut mem);
        let back = self.ct_host(false);
        r?;
        back?;
        Ok(mem)
    }

    fn read_ct(&mut self, mem: &mut [u8]) -> Result<(), DriverError> {
        let base = self.map.conntrack.start;
        for (i, c) in mem.chunks_mut(CHUNK).enumerate() {
            let e = self.err("reading the conntrack region");
            self.dev.read_aperture(base + (i * CHUNK) as u64, c).map_err(e)?;
        }
        Ok(())
    }

    /// Preload the conntrack region from a conntrack image (read back
    /// before the device takes the region again).
    pub fn ct_load(&mut self, img: &Image) -> Result<(), DriverError> {
        self.check_image(img, ImageKind::Conntrack)?;
        let claim = self.err("claiming the device");
        self.dev.claim().map_err(claim)?;
        self.ct_host(true)?;
        let r = self.write_ct(img.device());
        let back = self.ct_host(false);
        r?;
        back
    }

    fn write_ct(&mut self, data: &[u8]) -> Result<(), DriverError> {
        let base = self.map.conntrack.start;
        for (i, c) in data.chunks(CHUNK).enumerate() {
            let e = self.err("writing the conntrack region");
            self.dev.write_aperture(base + (i * CHUNK) as u64, c).map_err(e)?;
        }
        let mut back = vec![0u8; data.len()];
        self.read_ct(&mut back)?;
        if let Some(i) = back.iter().zip(data).position(|(a, b)| a != b) {
            return Err(DriverError::CtReadback {
                device: self.describe(),
                offset: i as u64,
            });
        }
        Ok(())
    }

    /// Invalidate every conntrack entry (`CONTROL.CT_FLUSH`, self-clearing).
    pub fn ct_flush(&mut self) -> Result<(), DriverError> {
        self.identify_target()?;
        let claim = self.err("claiming the device");
        self.dev.claim().map_err(claim)?;
        let step = "writing CONTROL.CT_FLUSH";
        let c = self.r32(regs::CONTROL, step)? & !control::RESET;
        self.w32(regs::CONTROL, c | control::CT_FLUSH, step)?;
        let t0 = Instant::now();
        let to = self.timeout;
        let ok = self.wait_reg(regs::CONTROL, to, "polling CONTROL.CT_FLUSH", |v| {
            v & control::CT_FLUSH == 0
        })?;
        if ok.is_none() {
            return Err(DriverError::Timeout {
                device: self.describe(),
                what: "finish the conntrack flush (CONTROL.CT_FLUSH still set)",
                ms: t0.elapsed().as_millis(),
            });
        }
        Ok(())
    }
}
