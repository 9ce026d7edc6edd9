//! Target descriptions from TOML files. The target itself is part of the
//! contract (`lbnic_contract::target`); reading one from a user's file is a
//! config job, so it lives here with the other TOML parsing.

use crate::toml_error::describe_toml_error;
use lbnic_contract::target::{Target, TargetError};
use std::path::Path;

/// Resolve a target reference from a config or the command line: `"default"`
/// or a TOML path (relative paths are taken relative to `base_dir`).
pub fn resolve(reference: &str, base_dir: &Path) -> Result<Target, TargetError> {
    if reference == "default" {
        return Ok(Target::builtin());
    }
    load(&base_dir.join(reference))
}

/// Largest target file read (a target is a few dozen lines).
pub const MAX_TARGET_LEN: u64 = 1 << 20;

pub fn load(path: &Path) -> Result<Target, TargetError> {
    let text = files::read_to_string_capped(path, MAX_TARGET_LEN, "target file").map_err(|e| match e {
        files::InputError::Io { path, error, .. } => TargetError::Io { path, error },
        other => TargetError::Parse {
            path: path.display().to_string(),
            message: other.to_string(),
        },
    })?;
    parse(&text, &path.display().to_string())
}

/// Parse a TOML target; fields left out take the built-in default.
pub fn parse(text: &str, origin: &str) -> Result<Target, TargetError> {
    let t: Target = toml::from_str(text).map_err(|e| TargetError::Parse {
        path: origin.to_string(),
        message: describe_toml_error(text, &e),
    })?;
    t.validate()?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_toml_takes_defaults_and_rejects_unknown() {
        let t = parse("name = \"small\"\nct_buckets = 1024\n", "t.toml").unwrap();
        assert_eq!(t.ct_buckets, 1024);
        assert_eq!(t.clock_mhz, Target::builtin().clock_mhz);
        let e = parse("ct_bucket = 1024\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("ct_bucket"), "{e}");
        let e = parse("ct_buckets = 1000\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
    }
}
