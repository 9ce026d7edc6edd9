//! Inputs read whole, but never more than a documented cap.

use std::io::{self, Read};
use std::path::Path;

/// Why an input could not be read. `what` says which kind of input (a
/// config, a flow list), so the user knows which cap applies.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("reading {what} {path}: {error}")]
    Io {
        what: &'static str,
        path: String,
        error: io::Error,
    },
    #[error("{what} {path} is larger than {cap} bytes, the most lbnic reads for one")]
    TooLarge {
        what: &'static str,
        path: String,
        cap: u64,
    },
    #[error("{what} {path} is not UTF-8 text (first bad byte at offset {offset})")]
    NotText {
        what: &'static str,
        path: String,
        offset: usize,
    },
}

/// Read `path` whole if it holds at most `cap` bytes. Works on anything that
/// can be read (a pipe, `/dev/stdin`, a device): the read stops one byte
/// past the cap, so memory stays bounded whatever the file claims to be.
pub fn read_capped(path: &Path, cap: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let ioerr = |error| InputError::Io {
        what,
        path: path.display().to_string(),
        error,
    };
    let f = std::fs::File::open(path).map_err(ioerr)?;
    if let Ok(m) = f.metadata() {
        if m.is_dir() {
            return Err(ioerr(io::Error::other("is a directory")));
        }
        if m.is_file() && m.len() > cap {
            return Err(InputError::TooLarge {
                what,
                path: path.display().to_string(),
                cap,
            });
        }
    }
    let mut buf = Vec::new();
    f.take(cap + 1).read_to_end(&mut buf).map_err(ioerr)?;
    if buf.len() as u64 > cap {
        return Err(InputError::TooLarge {
            what,
            path: path.display().to_string(),
            cap,
        });
    }
    Ok(buf)
}

/// [`read_capped`] for text.
pub fn read_to_string_capped(path: &Path, cap: u64, what: &'static str) -> Result<String, InputError> {
    let bytes = read_capped(path, cap, what)?;
    String::from_utf8(bytes).map_err(|e| InputError::NotText {
        what,
        path: path.display().to_string(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Most bytes of user input an error message repeats.
pub const QUOTE_MAX: usize = 200;

/// User input as an error message shows it: Debug-quoted (control
/// characters escaped), and cut to [`QUOTE_MAX`] bytes with the full length
/// said, so a megabyte on one line cannot flood a terminal or a log.
pub fn quote(s: &str) -> String {
    if s.len() <= QUOTE_MAX {
        return format!("{s:?}");
    }
    let mut end = QUOTE_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_in_messages() {
        assert_eq!(quote("ab\n"), "\"ab\\n\"");
        let long = "é".repeat(1000);
        let q = quote(&long);
        assert!(q.len() < QUOTE_MAX + 30, "{q}");
        assert!(q.ends_with("... (2000 bytes)"), "{q}");
    }

    #[test]
    fn endless_inputs_stop_at_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20, "config").unwrap_err();
        assert!(
            matches!(e, InputError::TooLarge { cap, .. } if cap == 1 << 20),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "config /dev/zero is larger than 1048576 bytes, the most lbnic reads for one"
        );
    }

    #[test]
    fn small_files_read_whole_and_large_ones_are_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(read_capped(&p, 5, "x").unwrap(), b"hello");
        assert!(matches!(
            read_capped(&p, 4, "x"),
            Err(InputError::TooLarge { .. })
        ));
        std::fs::write(&p, b"ok\xff").unwrap();
        let e = read_to_string_capped(&p, 100, "config").unwrap_err();
        assert!(e.to_string().contains("offset 2"), "{e}");
        let e = read_capped(d.path(), 100, "config").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }
}
