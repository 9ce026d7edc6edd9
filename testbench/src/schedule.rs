//! Table updates applied in the middle of a replay.
//!
//! A schedule is a text file, one update per line:
//!
//! ```text
//! # comments and blank lines are ignored
//! at packet 50000: flash gen2.img
//! at packet 120000: flash gen3.img
//! ```
//!
//! `at packet N` means: the bank is committed between input packets N-1 and
//! N (0-based), so packet N is the first one to use it. Image paths are
//! relative to the schedule file. Lines must be in non-decreasing packet
//! order; every error names the file and line.

use lbnic_contract::image::{Image, ImageKind};
use std::path::{Path, PathBuf};

/// One update: commit `image` before input packet `at_packet`.
#[derive(Debug, Clone)]
pub struct Update {
    pub at_packet: u64,
    pub path: PathBuf,
    pub image: Image,
    /// Line of the schedule it came from (1-based).
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Read(files::InputError),
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: image {image}: {cause}")]
    Image {
        path: String,
        line: usize,
        image: String,
        cause: Box<lbnic_contract::image::ImageError>,
    },
}

/// A schedule line split into its packet number and its action (`None`
/// for a blank or comment line). `what` names the expected form in errors.
pub fn split_line<'a>(line: &'a str, what: &str) -> Result<Option<(u64, &'a str)>, String> {
    let l = line.split('#').next().unwrap_or("").trim();
    if l.is_empty() {
        return Ok(None);
    }
    let rest = l
        .strip_prefix("at packet")
        .ok_or_else(|| format!("expected `at packet N: {what}`, got {}", files::quote(l)))?;
    let (n, action) = rest
        .split_once(':')
        .ok_or_else(|| "missing `:` after the packet number".to_string())?;
    let n: u64 = n
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("bad packet number {}", files::quote(n.trim())))?;
    Ok(Some((n, action.trim())))
}

/// One parsed line before its image is loaded: (packet, image path).
pub fn parse_line(line: &str) -> Result<Option<(u64, &str)>, String> {
    let Some((n, action)) = split_line(line, "flash IMAGE")? else {
        return Ok(None);
    };
    let image = action
        .trim()
        .strip_prefix("flash")
        .filter(|s| s.starts_with(char::is_whitespace))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!(
                "expected `flash IMAGE` after the packet number, got {:?}",
                action.trim()
            )
        })?;
    Ok(Some((n, image)))
}

/// Load a bank image named by line `line` of schedule `p` (relative to
/// `base`).
pub fn load_image(p: &str, line: usize, base: &Path, img: &str) -> Result<(PathBuf, Image), ScheduleError> {
    let ipath = base.join(img);
    let image = Image::load(&ipath)
        .and_then(|im| im.expect_kind(ImageKind::Bank).map(|_| im))
        .map_err(|source| ScheduleError::Image {
            path: p.to_string(),
            line,
            image: ipath.display().to_string(),
            cause: Box::new(source),
        })?;
    Ok((ipath, image))
}

/// Parse `text` (from `path`, whose directory anchors relative image paths)
/// and load every image.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Update>, ScheduleError> {
    let p = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out: Vec<Update> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let syntax = |message: String| ScheduleError::Syntax {
            path: p.clone(),
            line: i + 1,
            message,
        };
        let Some((n, img)) = parse_line(line).map_err(syntax)? else {
            continue;
        };
        if let Some(prev) = out.last() {
            if n < prev.at_packet {
                return Err(syntax(format!(
                    "packet {n} comes before packet {} of line {}: keep the schedule in order",
                    prev.at_packet, prev.line
                )));
            }
        }
        let (ipath, image) = load_image(&p, i + 1, base, img)?;
        out.push(Update {
            at_packet: n,
            path: ipath,
            image,
            line: i + 1,
        });
    }
    Ok(out)
}

/// Largest update schedule read (a line per update).
pub const MAX_SCHEDULE_LEN: u64 = 1 << 20;

pub fn load(path: &Path) -> Result<Vec<Update>, ScheduleError> {
    let text = files::read_to_string_capped(path, MAX_SCHEDULE_LEN, "update schedule")
        .map_err(ScheduleError::Read)?;
    parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_line("  # x").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert_eq!(
            parse_line("at packet 50_000: flash gen2.img # note").unwrap(),
            Some((50000, "gen2.img"))
        );
        assert_eq!(
            parse_line("at packet 7 :  flash  a b.img").unwrap(),
            Some((7, "a b.img"))
        );
        for bad in [
            "at 5: flash x",
            "at packet x: flash y",
            "at packet 5 flash y",
            "at packet 5: flush y",
            "at packet 5: flash",
            "at packet 5: flashy",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(
            "# c\n\nat packet 5: flash nope.img\n",
            Path::new("/nonexistent/s.txt"),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/s.txt:3: image"), "{e}");
        let e = parse("at packet 5 flash x\n", Path::new("s.txt")).unwrap_err();
        assert!(e.to_string().starts_with("s.txt:1: missing"), "{e}");
    }
}
