//! `shm:<file>`: the register block and the aperture over a shared-memory
//! file laid out exactly like the device's BAR (the file `lbnic serve
//! --shm` answers on, or the host file behind a QEMU ivshmem device).

use crate::access::{AccessError, DeviceAccess};
use crate::mmio::{self, Style, Window};
use lbnic_contract::target::{regs, Target};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    #[error("shm device {path}: {step}: {cause}")]
    Io {
        path: String,
        step: &'static str,
        cause: std::io::Error,
    },
    #[error(
        "shm device {path} does not exist: start `lbnic serve --shm {path}` first (it creates the file)"
    )]
    Missing { path: String },
    #[error("shm device {path} is {got} bytes, but target {target} needs a {need}-byte BAR: is it the file `lbnic serve --shm` uses, with the same target?")]
    TooSmall {
        path: String,
        got: u64,
        need: u64,
        target: String,
    },
    #[error("a shared-memory device is one BAR, but target {target} puts the register block in BAR{reg} and the aperture in BAR{ap}")]
    SplitBars { target: String, reg: u8, ap: u8 },
}

/// The register-block and aperture windows of a BAR-shaped file, checked
/// against the target's layout. Shared by the host side ([`ShmAccess`]) and
/// the device side (`hw_emu::serve::ShmDevice`), so both map the file the
/// same way.
pub struct ShmBar {
    pub file: File,
    pub regs: Window,
    pub aperture: Window,
}

impl ShmBar {
    pub fn map(path: &Path, target: &Target, file: File) -> Result<ShmBar, ShmError> {
        let p = path.display().to_string();
        let io = |step: &'static str| {
            let p = p.clone();
            move |source| ShmError::Io {
                path: p,
                step,
                cause: source,
            }
        };
        if target.bar.register_bar != target.bar.aperture_bar {
            return Err(ShmError::SplitBars {
                target: target.name.clone(),
                reg: target.bar.register_bar,
                ap: target.bar.aperture_bar,
            });
        }
        let map = target.memory_map();
        let got = file.metadata().map_err(io("reading its size"))?.len();
        if got < map.bar_len {
            return Err(ShmError::TooSmall {
                path: p,
                got,
                need: map.bar_len,
                target: target.name.clone(),
            });
        }
        let fd = file.as_raw_fd();
        let regs = Window::map(
            fd,
            target.bar.register_offset,
            regs::BLOCK_LEN as usize,
            Style::Atomic,
        )
        .map_err(io("mapping the register block"))?;
        let aperture = Window::map(
            fd,
            target.bar.aperture_offset,
            map.aperture_len as usize,
            Style::Atomic,
        )
        .map_err(io("mapping the aperture"))?;
        Ok(ShmBar { file, regs, aperture })
    }
}

/// Host side of a shared-memory device.
pub struct ShmAccess {
    path: PathBuf,
    bar: ShmBar,
    claimed: bool,
}

impl ShmAccess {
    pub fn open(path: &Path, target: &Target) -> Result<ShmAccess, ShmError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    ShmError::Missing {
                        path: path.display().to_string(),
                    }
                } else {
                    ShmError::Io {
                        path: path.display().to_string(),
                        step: "opening",
                        cause: source,
                    }
                }
            })?;
        Ok(ShmAccess {
            path: path.to_path_buf(),
            bar: ShmBar::map(path, target, file)?,
            claimed: false,
        })
    }
}

impl DeviceAccess for ShmAccess {
    fn describe(&self) -> String {
        format!("shm:{}", self.path.display())
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        self.bar.regs.read32(reg).map_err(AccessError::reg)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        self.bar.regs.write32(reg, v).map_err(AccessError::reg)
    }
    fn aperture_len(&self) -> u64 {
        self.bar.aperture.len()
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        self.bar.aperture.read_bytes(offset, out).map_err(AccessError::ap)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        self.bar
            .aperture
            .write_bytes(offset, data)
            .map_err(AccessError::ap)
    }
    fn claim(&mut self) -> Result<(), AccessError> {
        if self.claimed {
            return Ok(());
        }
        match mmio::try_lock_exclusive(&self.bar.file) {
            Ok(true) => {
                self.claimed = true;
                Ok(())
            }
            Ok(false) => Err(AccessError::Busy(self.describe())),
            Err(source) => Err(AccessError::Io {
                op: "locking the shm file",
                offset: 0,
                cause: source,
            }),
        }
    }
}
