//! The device side of a shared-memory device (`lbnic serve --shm FILE`):
//! the `hw-model` device answering through a BAR-shaped file, as an FPGA
//! answers through its BAR.
//!
//! The model keeps its own memory, as a device has its own registers and
//! its own copy of the tables; the file is the bus. Each [`ShmDevice::step`]
//! takes what the host wrote (`CONTROL`, a rung doorbell with the staged
//! registers and the inactive bank), lets the model act on it, and
//! publishes the read-only registers and counters back. The model
//! therefore never computes on memory another process may be changing: a
//! bank is copied out of the file when COMMIT is taken and validated on the
//! copy, so a host that keeps writing after ringing cannot make the device
//! activate bytes other than the ones it checked. Conntrack is live state:
//! the model's copy is handed to the file when the host sets
//! `CONTROL.CT_HOST` (dump, preload) and taken back from the file when it
//! clears it; `STATUS.CT_HOST_ACK` tells the host each hand-over is done.
//!
//! A separate thread increments `HEARTBEAT` every 250 µs while the device
//! loop keeps stepping (it stops beating if the loop stalls for a second),
//! so the heartbeat says "the device is answering", not just "a thread
//! exists".

use host_driver::mmio::{RmwError, Style, Window};
use host_driver::shm::{ShmBar, ShmError};
use hw_model::device::{in_memory, DeviceError, Memory};
use hw_model::functional::Functional;
use lbnic_contract::target::regs::{self, control, status, Counter, ParseReason};
use lbnic_contract::target::Target;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("serve {path}: {step}: {cause}")]
    Io {
        path: String,
        step: &'static str,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error("serve: device model: {0}")]
    Model(DeviceError),
    #[error("serve: shared-memory access: {0}")]
    Window(host_driver::mmio::OutOfBounds),
    /// Not `#[from]`: the message already carries the cause.
    #[error("serve: shared-memory access: {0}")]
    Rmw(RmwError),
}

// By hand rather than `#[from]`: the message already carries the cause, so
// it is not also a `source()` (it would print twice under `{e:#}`).
impl From<DeviceError> for ServeError {
    fn from(e: DeviceError) -> ServeError {
        ServeError::Model(e)
    }
}

impl From<host_driver::mmio::OutOfBounds> for ServeError {
    fn from(e: host_driver::mmio::OutOfBounds) -> ServeError {
        ServeError::Window(e)
    }
}

impl From<RmwError> for ServeError {
    fn from(e: RmwError) -> ServeError {
        ServeError::Rmw(e)
    }
}

/// A commit the device handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEvent {
    pub generation: u64,
    /// `regs::COMMIT_*`.
    pub result: u32,
    /// The active bank afterwards.
    pub active_bank: u8,
    pub active_generation: u64,
    pub validate: Duration,
}

/// Read-only registers the device publishes, in the order it writes them;
/// `COMMIT_SEQ` goes last so a host that sees it move sees the rest.
fn published_regs() -> Vec<u64> {
    let mut v = vec![
        regs::ID,
        regs::VERSION,
        regs::FINGERPRINT_LO,
        regs::FINGERPRINT_HI,
        regs::STATUS,
        regs::ACTIVE_BANK,
        regs::ACTIVE_GEN_LO,
        regs::ACTIVE_GEN_HI,
        regs::COMMIT_RESULT,
        regs::NOW_LO,
        regs::NOW_HI,
    ];
    for c in Counter::ALL {
        v.extend([c.offset(), c.offset() + 4]);
    }
    for r in ParseReason::ALL {
        v.extend([r.offset(), r.offset() + 4]);
    }
    v.push(regs::COMMIT_SEQ);
    v
}

struct Heartbeat {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// How long the device loop may go without stepping before the heartbeat
/// stops.
const STALL: Duration = Duration::from_secs(1);

pub struct ShmDevice {
    pub model: Functional<Memory>,
    bar: ShmBar,
    path: PathBuf,
    /// CONTROL as last taken from the file.
    control: u32,
    published: Vec<u64>,
    epoch: Instant,
    alive_ms: Arc<AtomicU64>,
    heartbeat: Heartbeat,
}

impl ShmDevice {
    /// Create (or reuse) the file, size it to the target's BAR, reset the
    /// register block and start answering.
    pub fn create(path: &Path, target: Target) -> Result<ShmDevice, ServeError> {
        let p = path.display().to_string();
        let io = |step: &'static str| {
            let p = p.clone();
            move |source| ServeError::Io {
                path: p,
                step,
                cause: source,
            }
        };
        let map = target.memory_map();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io("creating the file"))?;
        if file.metadata().map_err(io("reading its size"))?.len() < map.bar_len {
            file.set_len(map.bar_len).map_err(io("sizing it to the BAR"))?;
        }
        let bar = ShmBar::map(path, &target, file)?;
        // Power-on reset of the register block; banks and conntrack in the
        // file are left alone but nothing is active until a commit.
        bar.regs.zero(0, regs::BLOCK_LEN as usize)?;
        let hb_win = Window::map(
            bar.file.as_raw_fd(),
            target.bar.register_offset,
            regs::BLOCK_LEN as usize,
            Style::Atomic,
        )
        .map_err(io("mapping the register block for the heartbeat"))?;
        let model = Functional::new(in_memory(target)?);
        let epoch = Instant::now();
        let alive_ms = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (stop, alive) = (stop.clone(), alive_ms.clone());
            std::thread::Builder::new()
                .name("lbnic-heartbeat".into())
                .spawn(move || {
                    let mut beat = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let now = epoch.elapsed().as_millis() as u64;
                        if now.saturating_sub(alive.load(Ordering::Relaxed)) < STALL.as_millis() as u64 {
                            beat = beat.wrapping_add(1);
                            let _ = hb_win.write32(regs::HEARTBEAT, beat);
                        }
                        std::thread::sleep(Duration::from_micros(250));
                    }
                })
                .map_err(io("starting the heartbeat thread"))?
        };
        let mut d = ShmDevice {
            model,
            bar,
            path: path.to_path_buf(),
            control: 0,
            published: published_regs(),
            epoch,
            alive_ms,
            heartbeat: Heartbeat {
                stop,
                handle: Some(handle),
            },
        };
        d.publish()?;
        Ok(d)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Something for [`ShmDevice::step`] to do (cheap: two loads), for a
    /// traffic loop that checks between packets.
    pub fn pending(&self) -> bool {
        self.bar.regs.read32(regs::COMMIT).is_ok_and(|c| c != 0)
            || self
                .bar
                .regs
                .read32(regs::CONTROL)
                .is_ok_and(|c| c != self.control)
    }

    /// Tell the heartbeat the device loop is alive.
    pub fn keepalive(&self) {
        self.alive_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Act on what the host wrote and publish the device's registers.
    pub fn step(&mut self) -> Result<Option<CommitEvent>, ServeError> {
        self.keepalive();
        self.take_control()?;
        let ev = self.take_doorbell()?;
        self.publish()?;
        Ok(ev)
    }

    fn take_control(&mut self) -> Result<(), ServeError> {
        let ctl = self.bar.regs.read32(regs::CONTROL)?;
        if ctl == self.control {
            return Ok(());
        }
        let (was, now) = (self.control & control::CT_HOST != 0, ctl & control::CT_HOST != 0);
        let ct = self.model.dev.map.conntrack.clone();
        if !was && now {
            // Hand the live table to the host before acknowledging.
            self.bar.aperture.write_bytes(ct.start, self.model.dev.ct_mem())?;
        } else if was && !now {
            // Take back what the host left there (a preload, or the dump).
            self.bar
                .aperture
                .read_bytes(ct.start, self.model.dev.ct_mem_mut())?;
        }
        self.model.dev.host_write32(regs::CONTROL, ctl)?;
        let self_clearing = ctl & (control::RESET | control::CT_FLUSH);
        if self_clearing != 0 {
            self.bar.regs.clear_bits32(regs::CONTROL, self_clearing)?;
        }
        self.control = ctl & !self_clearing;
        Ok(())
    }

    fn take_doorbell(&mut self) -> Result<Option<CommitEvent>, ServeError> {
        let bell = self.bar.regs.swap32(regs::COMMIT, 0)?;
        if bell != regs::COMMIT_MAGIC {
            if bell != 0 {
                tracing::debug!("ignoring COMMIT write {bell:#010x} (not the magic)");
            }
            return Ok(None);
        }
        let t0 = Instant::now();
        let st = self.bar.regs.read32(regs::STATUS)?;
        self.bar.regs.write32(regs::STATUS, st | status::COMMIT_BUSY)?;
        let dev = &mut self.model.dev;
        for r in [
            regs::STAGED_GEN_LO,
            regs::STAGED_GEN_HI,
            regs::STAGED_LEN,
            regs::STAGED_CRC,
        ] {
            let v = self.bar.regs.read32(r)?;
            dev.host_write32(r, v)?;
        }
        let generation = self.bar.regs.read32(regs::STAGED_GEN_LO)? as u64
            | (self.bar.regs.read32(regs::STAGED_GEN_HI)? as u64) << 32;
        let inactive = dev.active.as_ref().map_or(1, |a| 1 - a.index);
        let base = dev.map.bank_base[inactive as usize];
        let len = dev.map.bank_len as usize;
        self.bar
            .aperture
            .read_bytes(base, &mut dev.aperture_mut()[base as usize..base as usize + len])?;
        dev.host_write32(regs::COMMIT, regs::COMMIT_MAGIC)?;
        let (active_bank, active_generation) =
            dev.active.as_ref().map_or((0, 0), |a| (a.index, a.generation));
        let ev = CommitEvent {
            generation,
            result: dev.commit_result(),
            active_bank,
            active_generation,
            validate: t0.elapsed(),
        };
        Ok(Some(ev))
    }

    /// Write the read-only registers and counters to the file.
    pub fn publish(&mut self) -> Result<(), ServeError> {
        let dev = &mut self.model.dev;
        dev.publish();
        let reg_off = dev.target.bar.register_offset as usize;
        let bar = dev.bar();
        for &r in &self.published {
            let o = reg_off + r as usize;
            let v = u32::from_le_bytes(bar[o..o + 4].try_into().expect("4 bytes"));
            self.bar.regs.write32(r, v)?;
        }
        Ok(())
    }
}

impl Drop for ShmDevice {
    fn drop(&mut self) {
        self.heartbeat.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.handle.take() {
            let _ = h.join();
        }
        // Gone: no longer READY or RUNNING.
        let _ = self.bar.regs.write32(regs::STATUS, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use host_driver::shm::ShmAccess;
    use host_driver::{DeviceAccess, Driver, FlashOptions};
    use lbnic_contract::image::Bank;
    use std::sync::atomic::AtomicBool;

    fn small() -> Target {
        table_compiler::target_file::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/targets/small.toml"
        )))
        .unwrap()
    }

    fn image(generation: u64) -> lbnic_contract::image::Image {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
        let text = std::fs::read_to_string(dir.join("basic.toml"))
            .unwrap()
            .replace("target = \"default\"", "target = \"targets/small.toml\"")
            .replace("table_size = 65537", "table_size = 4099");
        let cfg = table_compiler::config::Config::parse(&text, "basic.toml", dir).unwrap();
        table_compiler::compile::compile(&cfg, None, Some(generation))
            .unwrap()
            .0
    }

    /// The device loop in a thread, the host in this one, over one file.
    #[test]
    fn host_and_device_over_one_file() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let path = f.path().to_path_buf();
        let t = small();
        let dev = ShmDevice::create(&path, t.clone()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let device = {
            let stop = stop.clone();
            let mut dev = dev;
            std::thread::spawn(move || {
                let mut commits = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(ev) = dev.step().unwrap() {
                        commits.push(ev);
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
                commits
            })
        };
        let mut d = Driver::new(ShmAccess::open(&path, &t).unwrap(), t.clone());
        d.check_alive().unwrap();
        let a = image(1);
        d.flash(&a, &FlashOptions::default(), &mut |_, _| {}).unwrap();
        d.verify(&a).unwrap();
        // A doorbell with a bad CRC: refused, generation 1 stays.
        let b = image(2);
        let dev_access = d.access_mut();
        dev_access
            .write_aperture(t.memory_map().bank_base[0], b.device())
            .unwrap();
        dev_access.write64(regs::STAGED_GEN_LO, 2).unwrap();
        dev_access.write32(regs::STAGED_LEN, b.device_len as u32).unwrap();
        dev_access.write32(regs::STAGED_CRC, !b.device_crc()).unwrap();
        let seq = dev_access.read32(regs::COMMIT_SEQ).unwrap();
        dev_access.write32(regs::COMMIT, regs::COMMIT_MAGIC).unwrap();
        let t0 = Instant::now();
        while dev_access.read32(regs::COMMIT_SEQ).unwrap() == seq {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_micros(100));
        }
        assert_eq!(
            dev_access.read32(regs::COMMIT_RESULT).unwrap(),
            regs::COMMIT_BAD_CRC
        );
        d.verify(&a).unwrap();
        // A stray COMMIT value is ignored.
        d.access_mut().write32(regs::COMMIT, 1).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(d.identify().unwrap().commit_seq, seq + 1);
        // Conntrack hand-over both ways, and a flush.
        let flows = table_compiler::ctimage::parse_flow_list(
            r#"{"flow": "udp 198.51.100.9:5353 -> 192.0.2.53:53", "vip": "dns", "backend": "dns-b", "state": "none"}"#,
        )
        .unwrap();
        let ct = table_compiler::ctimage::build(&a, &Bank::decode(&a).unwrap(), &flows).unwrap();
        d.ct_load(&ct).unwrap();
        assert_eq!(d.ct_dump().unwrap(), ct.device());
        d.ct_flush().unwrap();
        assert!(d.ct_dump().unwrap().iter().all(|&x| x == 0));
        let s = d.stats().unwrap();
        assert_eq!(s.counter(Counter::Commits), 1);
        assert_eq!(s.counter(Counter::CommitErrors), 1);
        stop.store(true, Ordering::Relaxed);
        let commits = device.join().unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].result, regs::COMMIT_OK);
        assert_eq!(commits[1].result, regs::COMMIT_BAD_CRC);
        // Stopped: not ready, heartbeat still.
        let mut d = Driver::new(ShmAccess::open(&path, &t).unwrap(), t);
        d.liveness_timeout = Duration::from_millis(50);
        assert_eq!(d.identify().unwrap().status, 0);
        assert!(d.check_alive().is_err());
    }
}
