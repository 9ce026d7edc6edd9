//! The reference RTL as a third model behind [`hw_model::model::Model`]:
//! [`RtlSim`] spawns the Verilator harness (rtl/sim/lbnic_sim.cpp, built per
//! target by `scripts/rtl-sim.sh` into `rtl/build/sim/<fingerprint>/`) and
//! drives it over [`protocol`]. Nothing here needs Verilator to compile: a
//! missing harness is [`RtlError::NotBuilt`], whose message is the build
//! command.
//!
//! What the model does as the other two do: frames arrive at their cycle
//! (the cycle model's arrival conversion; the harness's AXI-Stream source
//! holds a frame until RX takes it, the cycle model's `RxSource::Axis`),
//! device time is the frame's `ts_ns` (RX tuser in conntrack ticks), a bank
//! is flashed through the register protocol (aperture write of the inactive
//! bank, STAGED_*, COMMIT, COMMIT_SEQ / COMMIT_RESULT, CONTROL.ENABLE) as
//! `hw_model::device::Device::flash` does, and `finish` runs until the
//! pipeline is idle and its scrubber has swept the table.

pub mod protocol;
#[cfg(feature = "serve")]
pub mod serve;

use hw_model::device::{Counters, DeviceError};
use hw_model::model::{EdgeStats, Model, OutPacket};
use lbnic_contract::image::{Image, ImageError, ImageKind};
use lbnic_contract::target::regs::{self, control, Counter, ParseReason};
use lbnic_contract::target::{MemoryMap, Target};
use protocol::{Command, DecodeError, Event, OutFrame};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Environment variable naming the directory of the built harnesses
/// (instead of `rtl/build/sim`): `$LBNIC_RTL_SIM_DIR/<fingerprint>/lbnic_sim`,
/// or `$LBNIC_RTL_SIM_DIR/lbnic_sim`.
pub const SIM_DIR_ENV: &str = "LBNIC_RTL_SIM_DIR";
/// The harness's file name in its directory.
pub const SIM_BIN: &str = "lbnic_sim";
/// Frames queued at the harness's source before it is told to take them in
/// (keeps its queue, and so its memory, short).
const RUN_EVERY: u64 = 1024;
/// Cycle bounds: RUN and FINISH get a budget of these per frame waiting,
/// plus a base; a bound reached is an error, never a hang.
const CYCLES_PER_FRAME: u64 = 50_000;
pub(crate) const BASE_CYCLES: u64 = 2_000_000;
/// COMMIT_SEQ is polled every this many cycles.
pub(crate) const COMMIT_POLL: u64 = 4096;
/// Aperture writes go in messages of at most this many bytes.
const AP_CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RtlError {
    #[error(
        "the RTL simulation of target `{target}` (fingerprint {fingerprint:016x}) is not built \
(looked for {looked}); build it with `{command}` (Verilator; `--install` installs it with apt-get)"
    )]
    NotBuilt {
        target: String,
        fingerprint: u64,
        looked: String,
        command: String,
    },
    #[error("starting the RTL simulation {path}: {cause}")]
    Spawn { path: PathBuf, cause: io::Error },
    #[error(
        "the RTL simulation {path} was built for target fingerprint {got:016x}, the image's target is \
{want:016x}; rebuild it with `{command}`"
    )]
    WrongTarget {
        path: PathBuf,
        got: u64,
        want: u64,
        command: String,
    },
    #[error(
        "the RTL simulation {path} speaks protocol version {got}, this lbnic speaks {}; rebuild it \
with `{command}`",
        protocol::VERSION
    )]
    Version {
        path: PathBuf,
        got: u32,
        command: String,
    },
    #[error("the RTL simulation failed: {0}")]
    Sim(String),
    #[error("the RTL simulation exited unexpectedly ({status}){stderr}")]
    Exited { status: String, stderr: String },
    #[error("talking to the RTL simulation: {0}")]
    Io(io::Error),
    #[error("the RTL simulation's output: {0}")]
    Decode(DecodeError),
    #[error("the RTL simulation answered {got} where {want} was expected")]
    Unexpected { got: String, want: &'static str },
    #[error("image: {0}")]
    Image(ImageError),
    #[error("the RTL refused the commit of generation {generation}: {result}")]
    CommitRefused { generation: u64, result: &'static str },
    #[error("the RTL's COMMIT of generation {generation} did not complete in {cycles} cycles")]
    CommitTimeout { generation: u64, cycles: u64 },
    #[error("the RTL did not finish CONTROL = {value:#x} in {cycles} cycles ({what})")]
    ControlTimeout {
        value: u32,
        what: &'static str,
        cycles: u64,
    },
    #[error("aperture access at {offset:#x}+{len} is not in 64-bit words")]
    Unaligned { offset: u64, len: usize },
    #[error("the RTL simulation stopped after an earlier error: {0}")]
    Stopped(String),
}

impl From<ImageError> for RtlError {
    fn from(e: ImageError) -> RtlError {
        RtlError::Image(e)
    }
}

impl From<RtlError> for DeviceError {
    fn from(e: RtlError) -> DeviceError {
        match e {
            RtlError::CommitRefused { generation, result } => {
                DeviceError::CommitRefused { generation, result }
            }
            RtlError::Image(e) => DeviceError::Image(e),
            e => DeviceError::External(e.to_string()),
        }
    }
}

/// Where to find the harness, and what to tell the user when it is not
/// there.
#[derive(Debug, Clone, Default)]
pub struct RtlOptions {
    /// Directory of the built harnesses (default: `$LBNIC_RTL_SIM_DIR`, else
    /// `rtl/build/sim` under the current directory or the source tree).
    pub sim_dir: Option<PathBuf>,
    /// The target file the image was built for, named in the build command
    /// of [`RtlError::NotBuilt`] (default: found by the target's name under
    /// examples/targets/, or the built-in default target).
    pub target_file: Option<String>,
}

/// The source tree this crate was built in (the harness's default home).
fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The command that builds the harness of `target`.
pub fn build_command(target: &Target, target_file: Option<&str>) -> String {
    let file = match target_file {
        Some(f) => Some(f.to_string()),
        None if target.fingerprint() == Target::default().fingerprint() => None,
        None => {
            let rel = format!("examples/targets/{}.toml", target.name);
            if source_root().join(&rel).is_file() || Path::new(&rel).is_file() {
                Some(rel)
            } else {
                Some(format!("<the TOML file of target `{}`>", target.name))
            }
        }
    };
    match file {
        None => "scripts/rtl-sim.sh".into(),
        Some(f) => format!("scripts/rtl-sim.sh --target {f}"),
    }
}

/// The directory name of a target's harness: its fingerprint in hex.
pub fn fingerprint_dir(target: &Target) -> String {
    format!("{:016x}", target.fingerprint())
}

/// The harness binary of `target`, or [`RtlError::NotBuilt`] naming the
/// build command.
pub fn locate(target: &Target, opts: &RtlOptions) -> Result<PathBuf, RtlError> {
    let fp = fingerprint_dir(target);
    let mut cands = Vec::new();
    let root = opts
        .sim_dir
        .clone()
        .or_else(|| std::env::var_os(SIM_DIR_ENV).map(PathBuf::from));
    match root {
        Some(r) => {
            cands.push(r.join(&fp).join(SIM_BIN));
            cands.push(r.join(SIM_BIN));
        }
        None => {
            cands.push(Path::new("rtl/build/sim").join(&fp).join(SIM_BIN));
            cands.push(source_root().join("rtl/build/sim").join(&fp).join(SIM_BIN));
        }
    }
    if let Some(p) = cands.iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    Err(RtlError::NotBuilt {
        target: target.name.clone(),
        fingerprint: target.fingerprint(),
        looked: cands
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        command: build_command(target, opts.target_file.as_deref()),
    })
}

/// The RTL simulation of one device.
pub struct RtlSim {
    target: Target,
    map: MemoryMap,
    path: PathBuf,
    command: String,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    events: Receiver<Result<Event, DecodeError>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Replies of commands sent without waiting (RUN), still to come.
    unacked: usize,
    out: Vec<OutPacket>,
    counters: Counters,
    seq: u64,
    last_arrival: u64,
    /// Frames sent since the last RUN.
    queued: u64,
    /// Frames sent since the last FINISH (the FINISH budget).
    pending: u64,
    /// The first error; everything after it fails with it.
    failed: Option<String>,
    error: Option<RtlError>,
    /// The cycle the harness reported last.
    pub cycle: u64,
}

impl RtlSim {
    /// Start the harness of `target` (located by [`locate`]).
    pub fn new(target: Target, opts: &RtlOptions) -> Result<RtlSim, RtlError> {
        let path = locate(&target, opts)?;
        let command = build_command(&target, opts.target_file.as_deref());
        RtlSim::spawn(target, &path, Some(command))
    }

    /// Start the harness at `path` for `target`.
    pub fn spawn(target: Target, path: &Path, command: Option<String>) -> Result<RtlSim, RtlError> {
        let command = command.unwrap_or_else(|| build_command(&target, None));
        let mut child = Process::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|cause| RtlError::Spawn {
                path: path.to_path_buf(),
                cause,
            })?;
        let (tx, events) = mpsc::channel();
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let stdin = child.stdin.take().map(BufWriter::new);
        // The reader drains the harness's output as it comes, so neither
        // side ever blocks on a full pipe while the other waits.
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                let mut r = io::BufReader::with_capacity(1 << 16, out);
                loop {
                    match Event::read_from(&mut r) {
                        Ok(Some(e)) => {
                            if tx.send(Ok(e)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = stderr_pipe {
            let keep = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    if let Ok(mut k) = keep.lock() {
                        k.extend_from_slice(&buf[..n]);
                        let over = k.len().saturating_sub(8192);
                        k.drain(..over);
                    }
                }
            });
        }
        let mut sim = RtlSim {
            map: target.memory_map(),
            target,
            path: path.to_path_buf(),
            command,
            child,
            stdin,
            events,
            stderr,
            unacked: 0,
            out: Vec::new(),
            counters: Counters::default(),
            seq: 0,
            last_arrival: 0,
            queued: 0,
            pending: 0,
            failed: None,
            error: None,
            cycle: 0,
        };
        match sim.next_event()? {
            Event::Hello {
                version, fingerprint, ..
            } => {
                if version != protocol::VERSION {
                    return Err(RtlError::Version {
                        path: sim.path.clone(),
                        got: version,
                        command: sim.command.clone(),
                    });
                }
                if fingerprint != sim.target.fingerprint() {
                    return Err(RtlError::WrongTarget {
                        path: sim.path.clone(),
                        got: fingerprint,
                        want: sim.target.fingerprint(),
                        command: sim.command.clone(),
                    });
                }
            }
            e => return Err(unexpected(&e, "HELLO")),
        }
        Ok(sim)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The harness binary this runs.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first error the [`Model`] methods (which cannot return one) met,
    /// taken; after it the simulation does nothing.
    pub fn take_error(&mut self) -> Option<RtlError> {
        self.error.take()
    }

    /// Whether an error stopped the simulation.
    pub fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    fn note<T>(&mut self, r: Result<T, RtlError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some(e.to_string());
                    self.error = Some(e);
                }
                None
            }
        }
    }

    fn check(&self) -> Result<(), RtlError> {
        match &self.failed {
            Some(m) => Err(RtlError::Stopped(m.clone())),
            None => Ok(()),
        }
    }

    fn send(&mut self, c: &Command<'_>) -> Result<(), RtlError> {
        let w = self
            .stdin
            .as_mut()
            .ok_or_else(|| RtlError::Stopped("input closed".into()))?;
        if let Err(e) = c.write_to(w) {
            return Err(self.died(RtlError::Io(e)));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RtlError> {
        if let Some(w) = self.stdin.as_mut() {
            if let Err(e) = w.flush() {
                return Err(self.died(RtlError::Io(e)));
            }
        }
        Ok(())
    }

    /// The error to report for a broken pipe: the harness's own message if
    /// it sent one, else how it exited.
    fn died(&mut self, fallback: RtlError) -> RtlError {
        loop {
            match self.events.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(Event::Error(m))) => return RtlError::Sim(m),
                Ok(Ok(Event::Out(o))) => self.take_out(o),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return RtlError::Decode(e),
                Err(_) => break,
            }
        }
        match self.exit_status() {
            Some(e) => e,
            None => fallback,
        }
    }

    fn exit_status(&mut self) -> Option<RtlError> {
        let t0 = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => {
                    // let the stderr reader catch up
                    std::thread::sleep(Duration::from_millis(50));
                    let tail = self
                        .stderr
                        .lock()
                        .map(|k| String::from_utf8_lossy(&k).trim().to_string())
                        .unwrap_or_default();
                    return Some(RtlError::Exited {
                        status: st.to_string(),
                        stderr: if tail.is_empty() {
                            String::new()
                        } else {
                            format!(": {tail}")
                        },
                    });
                }
                Ok(None) if t0.elapsed() < Duration::from_secs(2) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => return None,
            }
        }
    }

    fn take_out(&mut self, o: OutFrame) {
        let mhz = self.target.clock_mhz.max(1) as u64;
        let c = o.cycles.egress;
        self.out.push(OutPacket {
            data: o.data,
            ts_ns: c / mhz * 1000 + c % mhz * 1000 / mhz,
            seq: o.index,
            cycles: Some(o.cycles),
            // The ports carry frames, not the decision that made them.
            sent: None,
        });
    }

    /// The next event that is not an output frame.
    fn next_event(&mut self) -> Result<Event, RtlError> {
        loop {
            match self.events.recv() {
                Ok(Ok(Event::Out(o))) => self.take_out(o),
                Ok(Ok(Event::Error(m))) => return Err(RtlError::Sim(m)),
                Ok(Ok(e)) => return Ok(e),
                Ok(Err(e)) => return Err(RtlError::Decode(e)),
                Err(_) => {
                    let e = self.exit_status().unwrap_or(RtlError::Exited {
                        status: "output closed".into(),
                        stderr: String::new(),
                    });
                    return Err(e);
                }
            }
        }
    }

    /// The reply to the last command that has one (earlier unawaited RUN
    /// replies skipped).
    fn reply(&mut self) -> Result<Event, RtlError> {
        self.flush()?;
        loop {
            let e = self.next_event()?;
            if self.unacked > 0 {
                self.unacked -= 1;
                if matches!(e, Event::Done(_)) {
                    continue;
                }
                return Err(unexpected(&e, "DONE"));
            }
            return Ok(e);
        }
    }

    /// Output frames that have arrived, without waiting.
    fn pump(&mut self) -> Result<(), RtlError> {
        loop {
            match self.events.try_recv() {
                Ok(Ok(Event::Out(o))) => self.take_out(o),
                Ok(Ok(Event::Done(c))) if self.unacked > 0 => {
                    self.unacked -= 1;
                    self.cycle = c;
                }
                Ok(Ok(Event::Error(m))) => return Err(RtlError::Sim(m)),
                Ok(Ok(e)) => return Err(unexpected(&e, "an output frame")),
                Ok(Err(e)) => return Err(RtlError::Decode(e)),
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => {
                    return Err(self.died(RtlError::Stopped("output closed".into())))
                }
            }
        }
    }

    fn done(&mut self, c: &Command<'_>) -> Result<u64, RtlError> {
        self.send(c)?;
        match self.reply()? {
            Event::Done(cy) => {
                self.cycle = cy;
                Ok(cy)
            }
            e => Err(unexpected(&e, "DONE")),
        }
    }

    /// AXI4-Lite register write.
    pub fn write32(&mut self, addr: u64, value: u32) -> Result<(), RtlError> {
        self.check()?;
        self.send(&Command::Write32 {
            addr: addr as u32,
            value,
        })
    }

    /// AXI4-Lite register read.
    pub fn read32(&mut self, addr: u64) -> Result<u32, RtlError> {
        self.check()?;
        self.send(&Command::Read32 { addr: addr as u32 })?;
        match self.reply()? {
            Event::Read32(v) => Ok(v),
            e => Err(unexpected(&e, "READ32")),
        }
    }

    /// A 64-bit register pair, LO then HI.
    pub fn read64(&mut self, addr: u64) -> Result<u64, RtlError> {
        let lo = self.read32(addr)?;
        let hi = self.read32(addr + 4)?;
        Ok((hi as u64) << 32 | lo as u64)
    }

    /// Registers in order, the reads sent at once and the replies taken
    /// after (one round trip to the harness, not one per register).
    pub fn read_many(&mut self, addrs: &[u64]) -> Result<Vec<u32>, RtlError> {
        self.check()?;
        for &a in addrs {
            self.send(&Command::Read32 { addr: a as u32 })?;
        }
        self.flush()?;
        let mut out = Vec::with_capacity(addrs.len());
        for _ in addrs {
            match self.reply()? {
                Event::Read32(v) => out.push(v),
                e => return Err(unexpected(&e, "READ32")),
            }
        }
        Ok(out)
    }

    /// Read the conntrack memory (the harness's, outside the RTL; in the
    /// layout of the BAR's conntrack region). Only while `CONTROL.CT_HOST`
    /// holds the RTL off it.
    pub fn ct_read(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, RtlError> {
        self.check()?;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(AP_CHUNK);
            self.send(&Command::CtRead {
                offset: offset + out.len() as u64,
                len: n as u32,
            })?;
            match self.reply()? {
                Event::CtRead(d) if d.len() == n => out.extend_from_slice(&d),
                e => return Err(unexpected(&e, "CTREAD")),
            }
        }
        Ok(out)
    }

    /// Write the conntrack memory; as [`RtlSim::ct_read`].
    pub fn ct_write(&mut self, offset: u64, data: &[u8]) -> Result<(), RtlError> {
        self.check()?;
        for (i, c) in data.chunks(AP_CHUNK).enumerate() {
            self.send(&Command::CtWrite {
                offset: offset + (i * AP_CHUNK) as u64,
                data: c,
            })?;
        }
        Ok(())
    }

    /// Aperture write (64-bit words).
    pub fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), RtlError> {
        self.check()?;
        if !offset.is_multiple_of(8) || !data.len().is_multiple_of(8) {
            return Err(RtlError::Unaligned {
                offset,
                len: data.len(),
            });
        }
        for (i, c) in data.chunks(AP_CHUNK).enumerate() {
            self.send(&Command::ApWrite {
                offset: offset + (i * AP_CHUNK) as u64,
                data: c,
            })?;
        }
        Ok(())
    }

    /// Aperture read (64-bit words).
    pub fn read_aperture(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, RtlError> {
        self.check()?;
        if !offset.is_multiple_of(8) || !len.is_multiple_of(8) {
            return Err(RtlError::Unaligned { offset, len });
        }
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(AP_CHUNK);
            self.send(&Command::ApRead {
                offset: offset + out.len() as u64,
                len: n as u32,
            })?;
            match self.reply()? {
                Event::ApRead(d) if d.len() == n => out.extend_from_slice(&d),
                e => return Err(unexpected(&e, "APREAD")),
            }
        }
        Ok(out)
    }

    /// Run `n` cycles.
    pub fn cycles(&mut self, n: u64) -> Result<u64, RtlError> {
        self.check()?;
        self.done(&Command::Cycles { n })
    }

    /// Offer a frame at an explicit arrival cycle (the replay's clock);
    /// `ts_ns` is its ingress time.
    pub fn input_at_cycle(&mut self, frame: &[u8], arrival: u64, ts_ns: u64) {
        if self.failed.is_some() {
            return;
        }
        let r = self.try_input(frame, arrival, ts_ns);
        self.note(r);
    }

    fn try_input(&mut self, frame: &[u8], arrival: u64, ts_ns: u64) -> Result<(), RtlError> {
        let arrival = arrival.max(self.last_arrival);
        self.last_arrival = arrival;
        self.seq += 1;
        self.queued += 1;
        self.pending += 1;
        self.send(&Command::Frame {
            ts_ns,
            arrival,
            data: frame,
        })?;
        if self.queued >= RUN_EVERY {
            self.send(&Command::Run {
                max_cycles: BASE_CYCLES + self.queued * CYCLES_PER_FRAME,
            })?;
            self.queued = 0;
            self.unacked += 1;
            self.flush()?;
            self.pump()?;
        }
        Ok(())
    }

    /// RX has taken every frame given so far.
    fn take_all(&mut self) -> Result<(), RtlError> {
        let q = std::mem::take(&mut self.queued);
        self.done(&Command::Run {
            max_cycles: BASE_CYCLES + q * CYCLES_PER_FRAME,
        })?;
        Ok(())
    }

    /// Flash a bank image through the register protocol between the frames
    /// given so far and the next (the RTL drains before the swap).
    pub fn flash_image(&mut self, img: &Image) -> Result<(), RtlError> {
        self.check()?;
        img.expect_kind(ImageKind::Bank)?;
        img.expect_target(&self.target)?;
        self.take_all()?;
        let active = self.read32(regs::ACTIVE_BANK)? & 1;
        let inactive = 1 - active as usize;
        let base = self.map.bank_base[inactive];
        self.write_aperture(base, img.device())?;
        self.write32(regs::STAGED_GEN_LO, img.generation as u32)?;
        self.write32(regs::STAGED_GEN_HI, (img.generation >> 32) as u32)?;
        self.write32(regs::STAGED_LEN, img.device_len as u32)?;
        self.write32(regs::STAGED_CRC, img.device_crc())?;
        let result = self.ring_commit(img.generation)?;
        if result != regs::COMMIT_OK {
            return Err(RtlError::CommitRefused {
                generation: img.generation,
                result: regs::commit_result_name(result),
            });
        }
        let c = self.read32(regs::CONTROL)? & !(control::RESET | control::CT_FLUSH);
        if c & control::ENABLE == 0 {
            self.write32(regs::CONTROL, c | control::ENABLE)?;
        }
        Ok(())
    }

    /// Write COMMIT (STAGED_* written, the bank in the inactive bank) and
    /// run until COMMIT_SEQ moves; COMMIT_RESULT. `generation` names the
    /// commit in a timeout.
    pub fn ring_commit(&mut self, generation: u64) -> Result<u32, RtlError> {
        let seq = self.read32(regs::COMMIT_SEQ)?;
        self.write32(regs::COMMIT, regs::COMMIT_MAGIC)?;
        // The scan of the bank: length / 8 clocks, and the drain.
        let limit = BASE_CYCLES + 4 * (self.map.bank_len / 8);
        let mut waited = 0;
        while self.read32(regs::COMMIT_SEQ)? == seq {
            if waited >= limit {
                return Err(RtlError::CommitTimeout {
                    generation,
                    cycles: waited,
                });
            }
            self.cycles(COMMIT_POLL)?;
            waited += COMMIT_POLL;
        }
        self.read32(regs::COMMIT_RESULT)
    }

    /// Run until every frame given has left (or was dropped) and the
    /// scrubber has swept the table, then read the counters.
    pub fn finish_run(&mut self) -> Result<(), RtlError> {
        self.check()?;
        let t = &self.target;
        // A scrubber pass: every bucket read (latency, its ways at the
        // port's bandwidth) and written back, one at a time at worst.
        let sweep = t.ct_buckets as u64
            * (2 * t.ct_latency_cycles as u64
                + 2 * (t.ct_ways as u64).div_ceil(t.ct_beats_per_cycle as u64)
                + 8);
        let pending = std::mem::take(&mut self.pending);
        self.queued = 0;
        self.done(&Command::Finish {
            max_cycles: BASE_CYCLES + 2 * sweep + pending * CYCLES_PER_FRAME,
        })?;
        self.read_counters()
    }

    /// What the harness counted at the top's ports since reset (every frame
    /// given so far is taken into account only once it has left: call
    /// after [`RtlSim::finish_run`]).
    pub fn edge_stats(&mut self) -> Result<EdgeStats, RtlError> {
        self.check()?;
        self.send(&Command::Stats)?;
        match self.reply()? {
            Event::Stats(v) => match EdgeStats::from_figures(&v) {
                Some(e) => Ok(e),
                None => Err(unexpected(&Event::Stats(v), "STATS of 10 figures")),
            },
            e => Err(unexpected(&e, "STATS")),
        }
    }

    /// Read every counter over the registers into the cache
    /// [`Model::counters`] returns.
    pub fn read_counters(&mut self) -> Result<(), RtlError> {
        let mut addrs = Vec::new();
        for a in Counter::ALL
            .iter()
            .map(|k| k.offset())
            .chain(ParseReason::ALL.iter().map(|r| r.offset()))
        {
            addrs.extend([a, a + 4]);
        }
        let v = self.read_many(&addrs)?;
        let pair = |i: usize| (v[2 * i + 1] as u64) << 32 | v[2 * i] as u64;
        let mut c = Counters::default();
        for (i, k) in Counter::ALL.iter().enumerate() {
            c.c[*k as usize] = pair(i);
        }
        for (i, r) in ParseReason::ALL.iter().enumerate() {
            c.parse[*r as usize] = pair(Counter::ALL.len() + i);
        }
        self.counters = c;
        Ok(())
    }

    /// Output frames so far (after the frames the harness has sent).
    fn collect(&mut self) {
        let r = self.pump();
        self.note(r);
    }
}

fn unexpected(e: &Event, want: &'static str) -> RtlError {
    let got = match e {
        Event::Hello { .. } => "HELLO".to_string(),
        Event::Out(o) => format!("an output frame (index {})", o.index),
        Event::Read32(v) => format!("READ32 {v:#x}"),
        Event::ApRead(d) => format!("APREAD of {} bytes", d.len()),
        Event::CtRead(d) => format!("CTREAD of {} bytes", d.len()),
        Event::Stats(v) => format!("STATS of {} figures", v.len()),
        Event::Done(c) => format!("DONE at cycle {c}"),
        Event::Error(m) => format!("ERROR {m}"),
    };
    RtlError::Unexpected { got, want }
}

impl Model for RtlSim {
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64) {
        // the cycle model's conversion (integer: epoch ns do not fit an f64)
        let arrival = (ts_ns as u128 * self.target.clock_mhz as u128 / 1000) as u64;
        self.input_at_cycle(&frame, arrival, ts_ns);
    }
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        let r = self.flash_image(img);
        if let Err(e) = &r {
            // a refused commit leaves the simulation usable
            if !matches!(e, RtlError::CommitRefused { .. } | RtlError::Image(_)) && self.failed.is_none() {
                self.failed = Some(e.to_string());
            }
        }
        r.map_err(DeviceError::from)
    }
    fn finish(&mut self) {
        let r = self.finish_run();
        self.note(r);
    }
    fn take_output(&mut self) -> Vec<OutPacket> {
        self.collect();
        std::mem::take(&mut self.out)
    }
    fn take_output_into(&mut self, dst: &mut Vec<OutPacket>) {
        self.collect();
        dst.clear();
        std::mem::swap(&mut self.out, dst);
    }
    fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for RtlSim {
    fn drop(&mut self) {
        if let Some(mut w) = self.stdin.take() {
            let _ = Command::Quit.write_to(&mut w);
            let _ = w.flush();
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(500) {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Target {
        Target {
            name: "small".into(),
            ct_buckets: 1024,
            ct_ways: 4,
            ..Target::default()
        }
    }

    #[test]
    fn not_built_names_the_build_command() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RtlOptions {
            sim_dir: Some(dir.path().to_path_buf()),
            target_file: None,
        };
        let t = small();
        let e = locate(&t, &opts).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, RtlError::NotBuilt { .. }), "{msg}");
        assert!(
            msg.contains("`scripts/rtl-sim.sh --target examples/targets/small.toml`"),
            "{msg}"
        );
        assert!(msg.contains(&fingerprint_dir(&t)), "{msg}");
        // the default target builds without --target; a given file is named
        let e = locate(&Target::default(), &opts).unwrap_err().to_string();
        assert!(e.contains("`scripts/rtl-sim.sh`"), "{e}");
        let opts = RtlOptions {
            target_file: Some("my/target.toml".into()),
            ..opts
        };
        let e = locate(&t, &opts).unwrap_err().to_string();
        assert!(e.contains("`scripts/rtl-sim.sh --target my/target.toml`"), "{e}");
        // and RtlSim::new says the same
        let e = RtlSim::new(t, &opts).err().expect("no harness there").to_string();
        assert!(e.contains("scripts/rtl-sim.sh --target my/target.toml"), "{e}");
    }

    #[test]
    fn locate_finds_the_fingerprint_directory() {
        let dir = tempfile::tempdir().unwrap();
        let t = small();
        let d = dir.path().join(fingerprint_dir(&t));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(SIM_BIN), b"").unwrap();
        let opts = RtlOptions {
            sim_dir: Some(dir.path().to_path_buf()),
            target_file: None,
        };
        assert_eq!(locate(&t, &opts).unwrap(), d.join(SIM_BIN));
    }
}
