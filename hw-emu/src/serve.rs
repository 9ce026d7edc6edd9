//! The device side of a shared-memory device (`lbnic serve --shm FILE`):
//! a device answering through a BAR-shaped file, as an FPGA answers through
//! its BAR. The device is a [`Backend`]: the `hw-model` functional model, or
//! the reference RTL in Verilator (`lbnic serve --model rtl`).
//!
//! The device keeps its own memory, as a device has its own registers and
//! its own copy of the tables; the file is the bus. Each [`ShmDevice::step`]
//! takes what the host wrote (`CONTROL`, a rung doorbell with the staged
//! registers and the inactive bank), hands it to the backend, and
//! publishes the backend's read-only registers and counters back. The
//! device therefore never computes on memory another process may be
//! changing: a bank is copied out of the file once when COMMIT is taken and
//! the backend validates its copy (the RTL with its own COMMIT logic), so a
//! host that keeps writing after ringing cannot make the device activate
//! bytes other than the ones it checked. Conntrack is live state: the
//! backend's copy is handed to the file when the host sets
//! `CONTROL.CT_HOST` (dump, preload) and taken back from the file when it
//! clears it; `STATUS.CT_HOST_ACK` tells the host each hand-over is done.
//!
//! A separate thread increments `HEARTBEAT` every 250 µs while the device
//! loop keeps stepping (it stops beating if the loop stalls for a second,
//! [`Backend::max_stall`]: longer for the RTL, whose simulation may run
//! several seconds in one step),
//! so the heartbeat says "the device is answering", not just "a thread
//! exists". It is the loop's, for either backend: the RTL's own
//! `HEARTBEAT` counts simulated microseconds, which stand still while the
//! simulation waits for the host.

use crate::backend::{Backend, BackendError, FunctionalBackend};
use host_driver::mmio::{RmwError, Style, Window};
use host_driver::shm::{ShmBar, ShmError};
use hw_model::device::{Counters, DeviceError};
use hw_model::model::OutPacket;
use lbnic_contract::target::regs::{self, control, status, Counter, ParseReason};
use lbnic_contract::target::{MemoryMap, Target};
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
    /// The backend failed at one step of the loop.
    #[error("serve: {backend}: {step}: {cause}")]
    Backend {
        backend: &'static str,
        step: &'static str,
        cause: BackendError,
    },
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

/// The error of `backend` at `step`.
fn berr(backend: &'static str, step: &'static str) -> impl FnOnce(BackendError) -> ServeError {
    move |cause| ServeError::Backend { backend, step, cause }
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

/// Bytes copied between the file and the backend at a time (banks and
/// conntrack are copied in pieces through one buffer of this size; the
/// loop tells the heartbeat it is alive after each, since a piece costs the
/// RTL a clock per word).
const CHUNK: usize = 64 << 10;

pub struct ShmDevice {
    backend: Box<dyn Backend>,
    bar: ShmBar,
    map: MemoryMap,
    path: PathBuf,
    /// CONTROL as last taken from the file.
    control: u32,
    published: Vec<u64>,
    values: Vec<u32>,
    buf: Vec<u8>,
    /// Traffic since the registers were last published, and when that was.
    dirty: bool,
    last_publish: Instant,
    offered: u64,
    epoch: Instant,
    alive_ms: Arc<AtomicU64>,
    heartbeat: Heartbeat,
}

impl ShmDevice {
    /// Create (or reuse) the file, size it to the target's BAR, reset the
    /// register block and start answering with the functional model.
    pub fn create(path: &Path, target: Target) -> Result<ShmDevice, ServeError> {
        let backend = FunctionalBackend::new(target.clone())?;
        ShmDevice::with_backend(path, target, Box::new(backend))
    }

    /// As [`ShmDevice::create`], with `backend` as the device.
    pub fn with_backend(
        path: &Path,
        target: Target,
        backend: Box<dyn Backend>,
    ) -> Result<ShmDevice, ServeError> {
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
        let epoch = Instant::now();
        let stall_ms = backend.max_stall().as_millis() as u64;
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
                        if now.saturating_sub(alive.load(Ordering::Relaxed)) < stall_ms {
                            beat = beat.wrapping_add(1);
                            let _ = hb_win.write32(regs::HEARTBEAT, beat);
                        }
                        std::thread::sleep(Duration::from_micros(250));
                    }
                })
                .map_err(io("starting the heartbeat thread"))?
        };
        let mut d = ShmDevice {
            backend,
            bar,
            map,
            path: path.to_path_buf(),
            control: 0,
            published: published_regs(),
            values: Vec::new(),
            buf: vec![0; CHUNK],
            dirty: false,
            last_publish: Instant::now(),
            offered: 0,
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

    /// What the device is.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Whether the host has set `CONTROL.ENABLE` (as last taken).
    pub fn enabled(&self) -> bool {
        self.control & control::ENABLE != 0
    }

    /// Act on what the host wrote and publish the device's registers (while
    /// traffic flows, at most every [`Backend::publish_every`]).
    pub fn step(&mut self) -> Result<Option<CommitEvent>, ServeError> {
        self.keepalive();
        let acted = self.take_control()?;
        let ev = self.take_doorbell()?;
        if acted
            || ev.is_some()
            || (self.dirty && self.last_publish.elapsed() >= self.backend.publish_every())
        {
            self.publish()?;
        }
        Ok(ev)
    }

    /// Offer a frame to the device at device time `ts_ns`; frames that left
    /// are appended to `out`.
    pub fn input(&mut self, frame: &[u8], ts_ns: u64, out: &mut Vec<OutPacket>) -> Result<(), ServeError> {
        self.dirty = true;
        self.offered += 1;
        let e = berr(self.backend.name(), "offering a frame");
        self.backend.input(frame, ts_ns, out).map_err(e)
    }

    /// Frames offered so far: the index (`OutPacket::seq`) of the next.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// Run until every frame offered has left; publish the registers.
    pub fn drain(&mut self, out: &mut Vec<OutPacket>) -> Result<(), ServeError> {
        let e = berr(self.backend.name(), "draining the pipeline");
        self.backend.drain(out).map_err(e)?;
        self.publish()
    }

    /// The device's counters.
    pub fn counters(&mut self) -> Result<Counters, ServeError> {
        let e = berr(self.backend.name(), "reading the counters");
        self.backend.counters().map_err(e)
    }

    /// Copy the conntrack region between the file and the backend.
    fn hand_over_ct(&mut self, to_file: bool) -> Result<(), ServeError> {
        let ct = self.map.conntrack.clone();
        let len = ct.end - ct.start;
        let mut off = 0u64;
        while off < len {
            let n = CHUNK.min((len - off) as usize);
            let buf = &mut self.buf[..n];
            if to_file {
                let e = berr(self.backend.name(), "reading the conntrack memory (CT_HOST set)");
                self.backend.read_conntrack(off, buf).map_err(e)?;
                self.bar.aperture.write_bytes(ct.start + off, buf)?;
            } else {
                self.bar.aperture.read_bytes(ct.start + off, buf)?;
                let e = berr(
                    self.backend.name(),
                    "writing the conntrack memory (CT_HOST cleared)",
                );
                self.backend.write_conntrack(off, buf).map_err(e)?;
            }
            off += n as u64;
            self.keepalive();
        }
        Ok(())
    }

    fn take_control(&mut self) -> Result<bool, ServeError> {
        let ctl = self.bar.regs.read32(regs::CONTROL)?;
        if ctl == self.control {
            return Ok(false);
        }
        let (was, now) = (self.control & control::CT_HOST != 0, ctl & control::CT_HOST != 0);
        if was && !now {
            // Take back what the host left there (a preload, or the dump)
            // while the device still keeps off it.
            self.hand_over_ct(false)?;
        }
        let e = berr(self.backend.name(), "writing CONTROL");
        self.backend.write_control(ctl).map_err(e)?;
        if !was && now {
            // The device has stopped using the table: hand it to the host
            // before acknowledging (publish).
            self.hand_over_ct(true)?;
        }
        let self_clearing = ctl & (control::RESET | control::CT_FLUSH);
        if self_clearing != 0 {
            self.bar.regs.clear_bits32(regs::CONTROL, self_clearing)?;
        }
        self.control = ctl & !self_clearing;
        Ok(true)
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
        for r in [
            regs::STAGED_GEN_LO,
            regs::STAGED_GEN_HI,
            regs::STAGED_LEN,
            regs::STAGED_CRC,
        ] {
            let v = self.bar.regs.read32(r)?;
            let e = berr(self.backend.name(), "writing STAGED_*");
            self.backend.write_register(r, v).map_err(e)?;
        }
        let generation = self.bar.regs.read32(regs::STAGED_GEN_LO)? as u64
            | (self.bar.regs.read32(regs::STAGED_GEN_HI)? as u64) << 32;
        let e = berr(self.backend.name(), "reading ACTIVE_BANK");
        let inactive = self.backend.inactive_bank().map_err(e)?;
        let (base, len) = (self.map.bank_base[usize::from(inactive & 1)], self.map.bank_len);
        // The one copy of the bank out of the file, in pieces.
        let mut off = 0u64;
        while off < len {
            let n = CHUNK.min((len - off) as usize);
            let buf = &mut self.buf[..n];
            self.bar.aperture.read_bytes(base + off, buf)?;
            let e = berr(self.backend.name(), "copying the staged bank into the device");
            self.backend.load_bank(inactive, off, buf).map_err(e)?;
            off += n as u64;
            self.keepalive();
        }
        let e = berr(self.backend.name(), "COMMIT");
        self.backend.commit().map_err(e)?;
        let e = berr(self.backend.name(), "reading the commit's result");
        self.backend
            .read_registers(
                &[
                    regs::COMMIT_RESULT,
                    regs::ACTIVE_BANK,
                    regs::ACTIVE_GEN_LO,
                    regs::ACTIVE_GEN_HI,
                ],
                &mut self.values,
            )
            .map_err(e)?;
        let v = &self.values;
        let ev = CommitEvent {
            generation,
            result: v[0],
            active_bank: (v[1] & 1) as u8,
            active_generation: v[2] as u64 | (v[3] as u64) << 32,
            validate: t0.elapsed(),
        };
        Ok(Some(ev))
    }

    /// Write the read-only registers and counters to the file.
    pub fn publish(&mut self) -> Result<(), ServeError> {
        let e = berr(self.backend.name(), "reading the registers");
        self.backend
            .read_registers(&self.published, &mut self.values)
            .map_err(e)?;
        for (&r, &v) in self.published.iter().zip(&self.values) {
            self.bar.regs.write32(r, v)?;
        }
        self.dirty = false;
        self.last_publish = Instant::now();
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
