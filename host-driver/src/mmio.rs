//! Every `unsafe` block of host-driver lives here.
//!
//! A [`Window`] is a mapped range of device memory: a BAR mapped through
//! VFIO, or a shared-memory file standing in for one. Rust references are
//! never formed over it, since the other side (the device, another process,
//! a guest) changes it behind the compiler's back; every access goes
//! through a raw pointer, bounds-checked and aligned, in one of two styles:
//!
//! - [`Style::Volatile`] for real MMIO (a BAR): each access is exactly one
//!   load or store of its width, never merged, split, elided or reordered
//!   against other volatile accesses, which is what a device register needs.
//! - [`Style::Atomic`] for memory shared with another process (`shm:` files,
//!   the device side of `lbnic serve`): volatile accesses racing with
//!   another thread's writes are data races (undefined behaviour) in Rust's
//!   memory model, whereas atomic accesses are not. Lock-free atomics are
//!   address-free, so they synchronise across processes mapping the same
//!   file. Registers use acquire loads and release stores (a doorbell store
//!   publishes the bank written before it); bulk copies use relaxed 64-bit
//!   accesses, which compile to plain moves on x86-64.
//!
//! Besides windows: an advisory lock on a file and a duplicate of a raw
//! descriptor (VFIO's device fd), both thin FFI/ownership wrappers.

use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// How a window is accessed; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Volatile,
    Atomic,
}

/// An access outside a window or misaligned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("access at {offset:#x} ({len} bytes) is outside the {size:#x}-byte window or misaligned")]
pub struct OutOfBounds {
    pub offset: u64,
    pub len: usize,
    pub size: u64,
}

/// A read-modify-write that could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RmwError {
    #[error(transparent)]
    OutOfBounds(#[from] OutOfBounds),
    #[error("read-modify-write at {offset:#x}: a volatile (MMIO) window has no atomic read-modify-write; only atomic-style (shared-memory) windows do")]
    NotAtomic { offset: u64 },
}

/// A mapped range of device memory. The mapping lives as long as the window.
pub struct Window {
    map: MmapRaw,
    style: Style,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window")
            .field("len", &self.map.len())
            .field("style", &self.style)
            .finish()
    }
}

impl Window {
    /// Map `len` bytes of `fd` at `offset` (page-aligned), shared and
    /// writable. `fd` is a regular file or a VFIO device descriptor.
    pub fn map(fd: RawFd, offset: u64, len: usize, style: Style) -> std::io::Result<Window> {
        let map = MmapOptions::new().offset(offset).len(len).map_raw(fd)?;
        Ok(Window { map, style })
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    pub fn style(&self) -> Style {
        self.style
    }

    fn check(&self, offset: u64, len: usize, align: u64) -> Result<usize, OutOfBounds> {
        let size = self.len();
        let oob = OutOfBounds { offset, len, size };
        if !offset.is_multiple_of(align) || offset.checked_add(len as u64).is_none_or(|e| e > size) {
            return Err(oob);
        }
        Ok(offset as usize)
    }

    /// One aligned 32-bit load.
    pub fn read32(&self, offset: u64) -> Result<u32, OutOfBounds> {
        let o = self.check(offset, 4, 4)?;
        // Atomic style: AtomicU32 has the layout of u32, and every other
        // access to this word from this process is atomic too.
        // SAFETY: `check` proved o..o+4 inside the live, page-aligned mapping
        // and o 4-aligned: a valid, aligned u32 pointer; no Rust reference to
        // the mapping exists, and any bytes read are a valid u32.
        unsafe {
            let p = self.map.as_mut_ptr().add(o).cast::<u32>();
            Ok(match self.style {
                Style::Volatile => u32::from_le(p.read_volatile()),
                Style::Atomic => u32::from_le(AtomicU32::from_ptr(p).load(Ordering::Acquire)),
            })
        }
    }

    /// One aligned 32-bit store.
    pub fn write32(&self, offset: u64, v: u32) -> Result<(), OutOfBounds> {
        let o = self.check(offset, 4, 4)?;
        // SAFETY: as in `read32`: in bounds, aligned, no references, and the
        // mapping is writable (mapped shared read-write).
        unsafe {
            let p = self.map.as_mut_ptr().add(o).cast::<u32>();
            match self.style {
                Style::Volatile => p.write_volatile(v.to_le()),
                Style::Atomic => AtomicU32::from_ptr(p).store(v.to_le(), Ordering::Release),
            }
        }
        Ok(())
    }

    /// An atomic read-modify-write of one aligned 32-bit word; `f` gets the
    /// word and returns its old value (little-endian as stored). Volatile
    /// windows have no atomic read-modify-write and refuse.
    fn rmw32(&self, offset: u64, f: impl FnOnce(&AtomicU32) -> u32) -> Result<u32, RmwError> {
        let o = self.check(offset, 4, 4)?;
        if self.style != Style::Atomic {
            return Err(RmwError::NotAtomic { offset });
        }
        // SAFETY: as in `read32` (in bounds, aligned, no references to the
        // mapping); the window is atomic-style, so every access to this word
        // from this process is atomic. The reference does not outlive `f`.
        let word = unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(o).cast::<u32>()) };
        Ok(u32::from_le(f(word)))
    }

    /// Atomically replace a 32-bit word, returning the old value (the
    /// device side taking a doorbell).
    pub fn swap32(&self, offset: u64, v: u32) -> Result<u32, RmwError> {
        self.rmw32(offset, |w| w.swap(v.to_le(), Ordering::AcqRel))
    }

    /// Atomically clear bits of a 32-bit word (self-clearing control bits,
    /// without losing bits the other side sets meanwhile).
    pub fn clear_bits32(&self, offset: u64, bits: u32) -> Result<u32, RmwError> {
        self.rmw32(offset, |w| w.fetch_and(!bits.to_le(), Ordering::AcqRel))
    }

    /// Copy `data` into the window at `offset`: 64-bit accesses where
    /// aligned, single bytes at unaligned edges.
    pub fn write_bytes(&self, offset: u64, data: &[u8]) -> Result<(), OutOfBounds> {
        let o = self.check(offset, data.len(), 1)?;
        let base = self.map.as_mut_ptr();
        let mut i = 0;
        while i < data.len() {
            let at = o + i;
            if at % 8 == 0 && data.len() - i >= 8 {
                let v = u64::from_ne_bytes(data[i..i + 8].try_into().expect("8 bytes"));
                // SAFETY: at..at+8 is inside the window (checked above: the
                // whole o..o+len is), `at` is 8-aligned and so is the mapping
                // base; no references to the mapping exist.
                unsafe {
                    let p = base.add(at).cast::<u64>();
                    match self.style {
                        Style::Volatile => p.write_volatile(v),
                        Style::Atomic => AtomicU64::from_ptr(p).store(v, Ordering::Relaxed),
                    }
                }
                i += 8;
            } else {
                // SAFETY: `at` is inside the checked range; bytes need no
                // alignment.
                unsafe {
                    let p = base.add(at);
                    match self.style {
                        Style::Volatile => p.write_volatile(data[i]),
                        Style::Atomic => AtomicU8::from_ptr(p).store(data[i], Ordering::Relaxed),
                    }
                }
                i += 1;
            }
        }
        if self.style == Style::Atomic {
            std::sync::atomic::fence(Ordering::Release);
        }
        Ok(())
    }

    /// Copy from the window at `offset` into `out`.
    pub fn read_bytes(&self, offset: u64, out: &mut [u8]) -> Result<(), OutOfBounds> {
        let o = self.check(offset, out.len(), 1)?;
        if self.style == Style::Atomic {
            std::sync::atomic::fence(Ordering::Acquire);
        }
        let base = self.map.as_mut_ptr();
        let mut i = 0;
        while i < out.len() {
            let at = o + i;
            if at % 8 == 0 && out.len() - i >= 8 {
                // SAFETY: as in `write_bytes`: in bounds, 8-aligned, no
                // references; any bit pattern is a valid u64.
                let v = unsafe {
                    let p = base.add(at).cast::<u64>();
                    match self.style {
                        Style::Volatile => p.read_volatile(),
                        Style::Atomic => AtomicU64::from_ptr(p).load(Ordering::Relaxed),
                    }
                };
                out[i..i + 8].copy_from_slice(&v.to_ne_bytes());
                i += 8;
            } else {
                // SAFETY: `at` is inside the checked range.
                out[i] = unsafe {
                    let p = base.add(at);
                    match self.style {
                        Style::Volatile => p.read_volatile(),
                        Style::Atomic => AtomicU8::from_ptr(p).load(Ordering::Relaxed),
                    }
                };
                i += 1;
            }
        }
        Ok(())
    }

    /// Set `len` bytes at `offset` to zero.
    pub fn zero(&self, offset: u64, len: usize) -> Result<(), OutOfBounds> {
        self.check(offset, len, 1)?;
        let chunk = [0u8; 4096];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(chunk.len());
            self.write_bytes(offset + done as u64, &chunk[..n])?;
            done += n;
        }
        Ok(())
    }
}

/// Try to take an exclusive advisory lock on `file` without blocking
/// (released when the file is closed, also when the process is killed).
/// `Ok(false)`: another process holds it.
pub fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock only reads its integer arguments; the descriptor is
    // owned by `file`, which outlives the call.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

/// A `File` duplicating a descriptor that something else owns (the VFIO
/// device fd, which vfio-ioctls exposes only as a raw fd), for positioned
/// reads and writes of its regions.
pub fn dup_fd(owner: &impl AsRawFd) -> std::io::Result<File> {
    // SAFETY: `owner` keeps the descriptor open for the duration of the
    // borrow, which ends inside this function after the duplicate is made.
    let fd = unsafe { BorrowedFd::borrow_raw(owner.as_raw_fd()) };
    Ok(File::from(fd.try_clone_to_owned()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(style: Style) -> (tempfile::NamedTempFile, Window) {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(8192).unwrap();
        let w = Window::map(f.as_file().as_raw_fd(), 0, 8192, style).unwrap();
        (f, w)
    }

    #[test]
    fn registers_and_bytes_round_trip_in_both_styles() {
        for style in [Style::Volatile, Style::Atomic] {
            let (f, w) = window(style);
            w.write32(0x10, 0xdead_beef).unwrap();
            assert_eq!(w.read32(0x10).unwrap(), 0xdead_beef);
            let data: Vec<u8> = (0..100u8).collect();
            w.write_bytes(3, &data).unwrap();
            let mut back = vec![0u8; 100];
            w.read_bytes(3, &mut back).unwrap();
            assert_eq!(back, data);
            // The file sees little-endian registers.
            let bytes = std::fs::read(f.path()).unwrap();
            assert_eq!(&bytes[3..103], &data[..]);
            w.zero(0, 8192).unwrap();
            assert_eq!(w.read32(0x10).unwrap(), 0);
        }
    }

    #[test]
    fn out_of_bounds_and_misaligned_are_refused() {
        let (_f, w) = window(Style::Volatile);
        assert!(w.read32(8192).is_err());
        assert!(w.read32(8190).is_err());
        assert!(w.read32(2).is_err());
        assert!(w.write32(u64::MAX - 1, 0).is_err());
        assert!(w.write_bytes(8000, &[0u8; 193]).is_err());
        assert!(w.read_bytes(u64::MAX, &mut [0u8; 2]).is_err());
        // Read-modify-write needs atomics.
        assert_eq!(w.swap32(0, 1), Err(RmwError::NotAtomic { offset: 0 }));
        assert!(matches!(w.swap32(8192, 1), Err(RmwError::OutOfBounds(_))));
    }

    #[test]
    fn atomic_rmw() {
        let (_f, w) = window(Style::Atomic);
        w.write32(0, 0b1111).unwrap();
        assert_eq!(w.clear_bits32(0, 0b0110).unwrap(), 0b1111);
        assert_eq!(w.read32(0).unwrap(), 0b1001);
        assert_eq!(w.swap32(0, 7).unwrap(), 0b1001);
        assert_eq!(w.read32(0).unwrap(), 7);
    }

    #[test]
    fn lock_is_exclusive_between_open_files() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let a = File::open(f.path()).unwrap();
        let b = File::open(f.path()).unwrap();
        assert!(try_lock_exclusive(&a).unwrap());
        assert!(!try_lock_exclusive(&b).unwrap());
        drop(a);
        assert!(try_lock_exclusive(&b).unwrap());
    }
}
