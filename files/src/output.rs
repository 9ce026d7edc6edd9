//! Output files written the way a user expects of a Unix tool.
//!
//! - A regular file (or a path that does not exist yet) is written to a
//!   temporary file beside it and renamed over it on [`Output::commit`], so a
//!   failed or interrupted command never leaves half an output behind nor
//!   destroys the previous one. The new file keeps the old file's mode, or
//!   takes 0666 less the umask when it is new.
//! - A symlink is followed to its target (the link stays a link).
//! - A FIFO, character or block device is opened and written directly, as
//!   `cp` and `tcpdump -w` do: replacing `/dev/null` with a regular file
//!   would break the host.
//! - `-` is standard output.
//!
//! Temporary files are registered while they exist, so that
//! [`install_signal_cleanup`] can remove them when SIGINT or SIGTERM ends
//! the process (destructors do not run then).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why an output could not be written. `path` is the path the user gave.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {step}: {error}")]
pub struct OutputError {
    pub path: String,
    pub step: &'static str,
    pub error: io::Error,
}

/// tempfile's errors end in " at path <random name>"; the user asked for
/// another path, so the name of our temporary only confuses.
fn without_temp_path(error: io::Error) -> io::Error {
    let text = error.to_string();
    match text.split_once(" at path ") {
        Some((msg, _)) => io::Error::new(error.kind(), msg.to_string()),
        None => error,
    }
}

fn oerr<'a>(path: &'a Path, step: &'static str) -> impl FnOnce(io::Error) -> OutputError + 'a {
    move |error| OutputError {
        path: path.display().to_string(),
        step,
        error: without_temp_path(error),
    }
}

/// What an output path is, after following symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`.
    Stdout,
    /// A regular file, or nothing yet: written atomically at this path.
    File(PathBuf),
    /// A FIFO or device: written in place.
    Special(PathBuf),
}

/// Most symlinks followed, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// Classify `path`. A symlink chain is followed (a dangling link names the
/// file to create); a directory or socket is refused.
pub fn classify(path: &Path) -> Result<Destination, OutputError> {
    if path.as_os_str() == "-" {
        return Ok(Destination::Stdout);
    }
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::File(p)),
            Err(e) => return Err(oerr(path, "looking at the output path")(e)),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let link = std::fs::read_link(&p).map_err(oerr(path, "reading the symlink"))?;
            p = match p.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            };
            continue;
        }
        if ft.is_file() {
            return Ok(Destination::File(p));
        }
        if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            return Ok(Destination::Special(p));
        }
        let what = if ft.is_dir() {
            "is a directory"
        } else {
            "is not a file, FIFO or device"
        };
        return Err(OutputError {
            path: path.display().to_string(),
            step: "looking at the output path",
            error: io::Error::other(what),
        });
    }
    Err(OutputError {
        path: path.display().to_string(),
        step: "following symlinks",
        error: io::Error::other(format!("more than {MAX_LINKS} symlinks")),
    })
}

static TEMPORARIES: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn registry() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic while holding the lock leaves the set as it was: still usable.
    TEMPORARIES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Remove every temporary output file this process still has open. Safe
/// to call from the signal-handling thread; returns how many it removed.
pub fn remove_temporaries() -> usize {
    remove_registered(&mut registry())
}

fn remove_registered(set: &mut BTreeSet<PathBuf>) -> usize {
    let n = set.iter().filter(|p| std::fs::remove_file(p).is_ok()).count();
    set.clear();
    n
}

/// On SIGINT or SIGTERM: remove the temporaries, then die of the signal
/// (the conventional status, 128 + signal, for the shell). Commands that
/// handle the signals themselves (a server that stops cleanly) do not
/// call this.
pub fn install_signal_cleanup() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signal-cleanup".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                // The lock is held until the process is gone, so no other
                // thread can create (and leave behind) a temporary after
                // the sweep.
                let mut set = registry();
                remove_registered(&mut set);
                // Restore the default action and raise it again.
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

enum Sink {
    Temp {
        file: Option<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
    Direct(File),
    Stdout(io::Stdout),
}

/// An output being written; nothing is at the destination until
/// [`Output::commit`] (for regular files). Dropping it uncommitted removes
/// the temporary.
pub struct Output {
    path: PathBuf,
    sink: Sink,
}

impl Output {
    /// Open `path` for writing as its kind requires (see the module docs).
    pub fn create(path: &Path) -> Result<Output, OutputError> {
        let sink = match classify(path)? {
            Destination::Stdout => Sink::Stdout(io::stdout()),
            Destination::Special(p) => Sink::Direct(
                OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(oerr(path, "opening"))?,
            ),
            Destination::File(dest) => {
                let dir = match dest.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                // The kernel applies the umask to 0666 for a new file; an
                // existing file keeps its mode, as `cp` and shell redirection
                // leave it.
                let mode = std::fs::metadata(&dest).map_or(0o666, |m| m.permissions().mode() & 0o7777);
                // Held from before the temporary exists until it is
                // registered: a signal's sweep waits for it, and cannot run
                // in between and miss the file (as it once did).
                let mut set = registry();
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".tmp")
                    .permissions(Permissions::from_mode(mode))
                    .tempfile_in(&dir)
                    .map_err(oerr(path, "creating a temporary file beside it"))?;
                if mode != 0o666 {
                    // An existing mode is kept exactly, umask or not.
                    tmp.as_file()
                        .set_permissions(Permissions::from_mode(mode))
                        .map_err(oerr(path, "setting the mode"))?;
                }
                set.insert(tmp.path().to_path_buf());
                drop(set);
                Sink::Temp {
                    file: Some(tmp),
                    dest,
                }
            }
        };
        Ok(Output {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Standard output, a FIFO or a device: the bytes are gone as written,
    /// so a format that must seek back cannot go there.
    pub fn is_stream(&self) -> bool {
        !matches!(self.sink, Sink::Temp { .. })
    }

    /// Make the output final: flush, sync and (for regular files) rename
    /// the temporary over the destination.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let path = self.path.clone();
        match &mut self.sink {
            Sink::Stdout(s) => s.flush().map_err(oerr(&path, "flushing standard output")),
            Sink::Direct(f) => f.flush().map_err(oerr(&path, "flushing")),
            Sink::Temp { file, dest } => {
                let tmp = file.take().expect("committed once");
                let tmp_path = tmp.path().to_path_buf();
                let result = tmp
                    .as_file()
                    .sync_all()
                    .map_err(oerr(&path, "syncing"))
                    .and_then(|()| {
                        tmp.persist(&*dest)
                            .map(drop)
                            .map_err(|e| oerr(&path, "renaming into place")(e.error))
                    });
                registry().remove(&tmp_path);
                result
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Temp { file, .. } => file
                .as_mut()
                .expect("not committed")
                .write(buf)
                .map_err(without_temp_path),
            Sink::Direct(f) => f.write(buf),
            Sink::Stdout(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Temp { file, .. } => file
                .as_mut()
                .expect("not committed")
                .flush()
                .map_err(without_temp_path),
            Sink::Direct(f) => f.flush(),
            Sink::Stdout(s) => s.flush(),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::Temp { file: Some(tmp), .. } = &self.sink {
            // NamedTempFile removes the file itself; forget it here.
            registry().remove(tmp.path());
        }
    }
}

/// Write `parts` to `path` in one go (see [`Output`]).
pub fn write(path: &Path, parts: &[&[u8]]) -> Result<(), OutputError> {
    let mut out = Output::create(path)?;
    for p in parts {
        out.write_all(p).map_err(oerr(path, "writing"))?;
    }
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// `remove_temporaries` removes every live temporary of the process, so
    /// tests that hold one run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn temporaries_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn regular_file_is_replaced_atomically_and_keeps_its_mode() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.bin");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let mut o = Output::create(&p).unwrap();
        o.write_all(b"new").unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"old",
            "nothing changes before commit"
        );
        assert_eq!(temporaries_in(d.path()).len(), 1);
        o.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(temporaries_in(d.path()).is_empty());
    }

    #[test]
    fn new_file_takes_the_umask() {
        let _g = serial();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .unwrap();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("new.bin");
        write(&p, &[b"x"]).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o666 & !umask
        );
    }

    #[test]
    fn dropped_output_leaves_nothing() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.bin");
        let mut o = Output::create(&p).unwrap();
        o.write_all(b"partial").unwrap();
        drop(o);
        assert!(!p.exists());
        assert!(temporaries_in(d.path()).is_empty());
    }

    #[test]
    fn symlink_is_followed_and_stays_a_link() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real.bin");
        std::fs::write(&real, b"old").unwrap();
        let link = d.path().join("link.bin");
        symlink("real.bin", &link).unwrap();
        write(&link, &[b"new"]).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A dangling link names the file to create.
        let dangling = d.path().join("dangling");
        symlink("created.bin", &dangling).unwrap();
        write(&dangling, &[b"x"]).unwrap();
        assert_eq!(std::fs::read(d.path().join("created.bin")).unwrap(), b"x");
    }

    #[test]
    fn devices_are_written_in_place() {
        let _g = serial();
        assert_eq!(
            classify(Path::new("/dev/null")).unwrap(),
            Destination::Special("/dev/null".into())
        );
        write(Path::new("/dev/null"), &[b"discarded"]).unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn directories_and_link_loops_are_refused() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let e = Output::create(d.path()).err().unwrap();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let a = d.path().join("a");
        let b = d.path().join("b");
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        let e = Output::create(&a).err().unwrap();
        assert!(e.to_string().contains("symlinks"), "{e}");
    }

    #[test]
    fn registry_cleanup_removes_live_temporaries() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let o = Output::create(&d.path().join("x")).unwrap();
        assert_eq!(temporaries_in(d.path()).len(), 1);
        assert!(remove_temporaries() >= 1);
        assert!(temporaries_in(d.path()).is_empty());
        drop(o);
    }

    /// A signal's sweep holds the registry; a temporary created meanwhile
    /// must wait for it, not appear unregistered (CI once saw one left
    /// behind by SIGTERM).
    #[test]
    fn no_temporary_appears_while_the_sweep_holds_the_registry() {
        let _g = serial();
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("x");
        let held = registry();
        let t = std::thread::spawn(move || Output::create(&dest).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            temporaries_in(d.path()).is_empty(),
            "created before it could be registered"
        );
        drop(held);
        let o = t.join().unwrap();
        assert_eq!(temporaries_in(d.path()).len(), 1);
        drop(o);
        assert!(temporaries_in(d.path()).is_empty());
    }

    #[test]
    fn dash_is_stdout() {
        let _g = serial();
        assert_eq!(classify(Path::new("-")).unwrap(), Destination::Stdout);
        assert!(Output::create(Path::new("-")).unwrap().is_stream());
    }
}
