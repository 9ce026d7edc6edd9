//! A capture file mapped into memory, read-only: the one module of the
//! crate allowed `unsafe` (the crate is `#![deny(unsafe_code)]`).
//!
//! Why: a replay reads its capture once, front to back. Through `read`,
//! every byte is copied from the page cache into the reader's buffer, then
//! again into the frame; a mapping leaves the first copy out (issue 14).
//!
//! What is mapped: a non-empty regular file. Standard input, pipes, FIFOs
//! and devices are streamed through a buffer as before ([`map`] says
//! `None`), and so is any file when `LBNIC_NO_MMAP` is set in the
//! environment (to compare, or to avoid the policy below).
//!
//! Files changed underneath, the policy:
//! - The mapping is private and read-only (`MAP_PRIVATE`, `PROT_READ`) and
//!   as long as the file was when it was opened; nothing past that length
//!   is read (a capture still growing is read up to its length at open).
//! - Bytes rewritten in place during a replay may or may not be seen,
//!   depending on whether their page was read yet. They are parsed as any
//!   input is: a record that no longer parses is damage, reported with its
//!   packet index and offset, never a panic.
//! - Truncation: reading a mapped page past the file's new end raises
//!   `SIGBUS`, which would end the process. The reader checks the file's
//!   length with `fstat` before it reads each [`CHECK`] bytes
//!   ([`Map::check`]) and ends with an error ("the file shrank underneath
//!   the replay") when it shrank; a truncation that lands between a check
//!   and the reads it covers can still end the process with `SIGBUS` (no
//!   signal handler is installed). Whoever may truncate a capture while it
//!   is replayed should stream it instead (`lbnic replay IMAGE - < FILE`, or
//!   `LBNIC_NO_MMAP=1`).
//!
//! Memory stays bounded on a capture of any size: the pages already read
//! are given back every [`RELEASE`] bytes (`MADV_DONTNEED`; a clean private
//! file page is dropped, and would be read again from the file).

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};
use std::fs::File;
use std::io;

/// Bytes read between two checks of the file's length.
pub(crate) const CHECK: usize = 1 << 20;

/// Bytes read before the pages behind them are given back.
pub(crate) const RELEASE: usize = 16 << 20;

/// A mapped capture file.
pub(crate) struct Map {
    map: Mmap,
    file: File,
    /// Bytes `..checked` were within the file at the last check.
    checked: usize,
    /// Pages `..released` were given back.
    released: usize,
}

/// Map `file`, if it is a non-empty regular file and mapping is not turned
/// off (`LBNIC_NO_MMAP`); `None`: stream it.
pub(crate) fn map(file: &File) -> io::Result<Option<Map>> {
    if std::env::var_os("LBNIC_NO_MMAP").is_some() {
        return Ok(None);
    }
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.len() == 0 {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(meta.len()) else {
        return Ok(None);
    };
    // What another process can still do to the file (rewrite or truncate
    // it) is the policy in the module documentation: rewritten bytes are
    // parsed as untrusted input, truncation is checked for (`Map::check`)
    // before every `CHECK` bytes are read.
    // SAFETY: private, read-only, `len` bytes: the length of the regular
    // file `meta` describes; changes underneath: the policy above.
    let map = unsafe { MmapOptions::new().len(len).map_copy_read_only(file)? };
    // Only a hint: a failure changes nothing but speed.
    let _ = map.advise(Advice::Sequential);
    Ok(Some(Map {
        map,
        file: file.try_clone()?,
        checked: 0,
        released: 0,
    }))
}

impl Map {
    /// The whole file as it was mapped.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Before reading bytes up to `upto`: make sure the file still holds
    /// what was mapped (checked once per [`CHECK`] bytes).
    #[inline]
    pub fn check(&mut self, upto: usize) -> io::Result<()> {
        if upto <= self.checked {
            return Ok(());
        }
        let now = self.file.metadata()?.len();
        if now < self.map.len() as u64 {
            return Err(io::Error::other(format!(
                "the file shrank underneath the replay (from {} to {now} bytes)",
                self.map.len()
            )));
        }
        self.checked = upto.saturating_add(CHECK).min(self.map.len());
        Ok(())
    }

    /// Bytes `..done` are read and will not be looked at again: give back
    /// their pages every [`RELEASE`] bytes.
    #[inline]
    pub fn consumed(&mut self, done: usize) {
        if done < self.released + RELEASE {
            return;
        }
        let end = done & !(page_size() - 1);
        if end <= self.released {
            return;
        }
        // For a private mapping of a file that was never written,
        // MADV_DONTNEED only drops the pages: were they read again, they
        // would come back from the file.
        // SAFETY: in the mapping, page aligned, and unborrowed: `&mut self`,
        // no slice of the map is held across calls, `..done` is not read again.
        let r = unsafe {
            self.map
                .unchecked_advise_range(UncheckedAdvice::DontNeed, self.released, end - self.released)
        };
        // Only memory: a failure changes nothing the replay sees.
        let _ = r;
        self.released = end;
    }
}

fn page_size() -> usize {
    // Every page size Linux uses divides 64 KiB; releasing on 64 KiB
    // boundaries is page aligned without asking the system.
    1 << 16
}
