//! Which device to open, from its spec (`vfio:<pci-address>`, `shm:<file>`,
//! `model`, `model:<target.toml>`), and opening the bus backends. Kept
//! apart from [`crate::access`] so the backends can depend on the access
//! trait without the trait's module depending on them.

use crate::access::DeviceAccess;
use lbnic_contract::target::Target;
use std::path::PathBuf;

/// Which device: parsed from `vfio:<pci-address>`, `shm:<file>`, `model` or
/// `model:<target.toml>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    Vfio(String),
    Shm(PathBuf),
    /// In-process model; `None`: the target given to [`open`].
    Model(Option<PathBuf>),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "bad device {}: {why} (use vfio:<pci-address>, shm:<file>, model or model:<target.toml>)",
        files::quote(spec)
    )]
    BadSpec { spec: String, why: String },
    #[error(transparent)]
    Shm(#[from] crate::shm::ShmError),
    #[error(transparent)]
    Vfio(#[from] crate::vfio::VfioOpenError),
    #[error("{spec}: the in-process model is not a host-driver backend: open it with hw-emu's ModelAccess")]
    InProcess { spec: String },
}

impl std::str::FromStr for DeviceSpec {
    type Err = OpenError;
    fn from_str(s: &str) -> Result<DeviceSpec, OpenError> {
        let bad = |why: &str| OpenError::BadSpec {
            spec: s.to_string(),
            why: why.to_string(),
        };
        if s == "model" {
            return Ok(DeviceSpec::Model(None));
        }
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no backend prefix"))?;
        match kind {
            "vfio" => Ok(DeviceSpec::Vfio(
                crate::pci::normalize_address(rest).map_err(|e| bad(&e))?,
            )),
            "shm" if !rest.is_empty() => Ok(DeviceSpec::Shm(PathBuf::from(rest))),
            "shm" => Err(bad("no file after shm:")),
            "model" if !rest.is_empty() => Ok(DeviceSpec::Model(Some(PathBuf::from(rest)))),
            "model" => Err(bad("no target file after model:")),
            _ => Err(bad(&format!("unknown backend {}", files::quote(kind)))),
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Vfio(a) => write!(f, "vfio:{a}"),
            DeviceSpec::Shm(p) => write!(f, "shm:{}", p.display()),
            DeviceSpec::Model(None) => write!(f, "model"),
            DeviceSpec::Model(Some(p)) => write!(f, "model:{}", p.display()),
        }
    }
}

/// Open a device laid out as `target` says (which BAR and offset hold the
/// register block and the aperture). Nothing is read or written yet: the
/// identity check is the protocol's first step ([`crate::Driver::identify`]).
///
/// Only the bus backends (`vfio:`, `shm:`): a `model` spec is refused with
/// [`OpenError::InProcess`]; the caller that has the simulator (the CLI)
/// opens it with `hw_emu::ModelAccess`.
pub fn open(spec: &DeviceSpec, target: &Target) -> Result<Box<dyn DeviceAccess>, OpenError> {
    Ok(match spec {
        DeviceSpec::Vfio(addr) => Box::new(crate::vfio::VfioAccess::open(addr, target)?),
        DeviceSpec::Shm(path) => Box::new(crate::shm::ShmAccess::open(path, target)?),
        DeviceSpec::Model(_) => {
            return Err(OpenError::InProcess {
                spec: spec.to_string(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for (s, want) in [
            ("vfio:0000:00:03.0", DeviceSpec::Vfio("0000:00:03.0".into())),
            ("vfio:00:03.0", DeviceSpec::Vfio("0000:00:03.0".into())),
            ("shm:/tmp/x", DeviceSpec::Shm("/tmp/x".into())),
            ("model", DeviceSpec::Model(None)),
            ("model:t.toml", DeviceSpec::Model(Some("t.toml".into()))),
        ] {
            let got: DeviceSpec = s.parse().unwrap();
            assert_eq!(got, want, "{s}");
            let again: DeviceSpec = got.to_string().parse().unwrap();
            assert_eq!(again, got);
        }
        for s in [
            "",
            "shm:",
            "vfio:zz",
            "vfio:0000:00:03",
            "pci:1",
            "model:",
            "/tmp/x",
        ] {
            let e = s.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(e.contains("use vfio:"), "{s}: {e}");
        }
    }

    #[test]
    fn the_model_is_not_opened_here() {
        let spec: DeviceSpec = "model".parse().unwrap();
        assert!(matches!(
            open(&spec, &Target::builtin()),
            Err(OpenError::InProcess { .. })
        ));
    }
}
