//! What each bank of a device holds, as far as this host knows: the basis
//! of `--delta` (spec §4, "Delta flashing").
//!
//! The inactive bank holds the generation *before* the active one (or a
//! half-written flash, or whatever another host put there), so a delta
//! must be computed against that, not against the active image. Reading a
//! whole bank back over PCIe would cost more than writing it, so the host
//! tracks it instead: after every commit it records the bank's bytes and
//! the device state (active bank and generation, `COMMIT_SEQ`). A record
//! is only trusted while the device still shows exactly that state, and a
//! bank's record is deleted before anything is written to it, so a flash
//! killed half-way leaves no stale record. Should the belief still be wrong
//! (another host wrote the bank without committing), the device's CRC check
//! refuses the commit and the driver falls back to a full write: a wrong
//! record costs time, never correctness.

use crate::driver::Identity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct State {
    fingerprint: u64,
    active_bank: u8,
    active_generation: u64,
    commit_seq: u32,
    /// CRC32C of each bank's recorded bytes (`None`: unknown).
    banks: [Option<u32>; 2],
}

/// The records of one device, in a directory of their own.
#[derive(Debug, Clone)]
pub struct BankRecords {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("bank records in {dir}: {step}: {cause}")]
pub struct RecordError {
    dir: String,
    step: &'static str,
    cause: std::io::Error,
}

/// A file name for a device spec (`shm:/tmp/x` -> `shm_tmp_x`).
fn key(device: &str) -> String {
    let mut k = String::new();
    for c in device.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            c
        } else {
            '_'
        };
        if !(c == '_' && k.ends_with('_')) {
            k.push(c);
        }
    }
    k.trim_matches('_').to_string()
}

/// Where records live by default: `$LBNIC_STATE_DIR`, else
/// `$XDG_STATE_HOME/lbnic`, else `~/.local/state/lbnic`, else
/// `/var/lib/lbnic`.
pub fn default_state_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("LBNIC_STATE_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_STATE_HOME") {
        return d.join("lbnic");
    }
    if let Some(h) = env("HOME") {
        return h.join(".local/state/lbnic");
    }
    PathBuf::from("/var/lib/lbnic")
}

impl BankRecords {
    pub fn new(state_dir: &Path, device: &str) -> BankRecords {
        BankRecords {
            dir: state_dir.join(key(device)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, step: &'static str) -> impl Fn(std::io::Error) -> RecordError + '_ {
        move |source| RecordError {
            dir: self.dir.display().to_string(),
            step,
            cause: source,
        }
    }

    fn bank_path(&self, bank: u8) -> PathBuf {
        self.dir.join(format!("bank{bank}.bin"))
    }

    fn load_state(&self) -> Option<State> {
        let text = std::fs::read_to_string(self.dir.join("state.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn save_state(&self, s: &State) -> Result<(), RecordError> {
        let text = serde_json::to_vec_pretty(s).expect("state serialises");
        files::write(&self.dir.join("state.json"), &[&text]).map_err(|e| RecordError {
            dir: self.dir.display().to_string(),
            step: "writing state.json",
            cause: e.error,
        })
    }

    /// The bytes the inactive bank holds, if the records are still valid
    /// for the device as `id` shows it. `Err` explains why not.
    pub fn inactive_base(&self, id: &Identity, bank_len: usize) -> Result<Vec<u8>, String> {
        let s = self
            .load_state()
            .ok_or_else(|| format!("no records in {}", self.dir.display()))?;
        if s.fingerprint != id.fingerprint
            || s.active_bank != id.active_bank
            || s.active_generation != id.active_generation
            || s.commit_seq != id.commit_seq
        {
            return Err(format!(
                "the device changed since the last flash from this host (recorded generation {} in bank {}, commit {}; device has generation {} in bank {}, commit {})",
                s.active_generation, s.active_bank, s.commit_seq, id.active_generation, id.active_bank, id.commit_seq
            ));
        }
        let bank = id.inactive_bank();
        let crc =
            s.banks[bank as usize].ok_or_else(|| format!("bank {bank} was never flashed from this host"))?;
        let bytes =
            std::fs::read(self.bank_path(bank)).map_err(|e| format!("reading bank {bank} record: {e}"))?;
        if bytes.len() != bank_len || crc32c::crc32c(&bytes) != crc {
            return Err(format!("bank {bank} record is damaged"));
        }
        Ok(bytes)
    }

    /// Forget what `bank` holds (before writing to it).
    pub fn forget(&self, bank: u8) -> Result<(), RecordError> {
        if let Some(mut s) = self.load_state() {
            s.banks[bank as usize] = None;
            self.save_state(&s)?;
        }
        match std::fs::remove_file(self.bank_path(bank)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err("removing a bank record")(e)),
        }
    }

    /// After a commit: `bank` holds `bytes`, and the device is in state `id`.
    pub fn record(&self, bank: u8, bytes: &[u8], id: &Identity) -> Result<(), RecordError> {
        std::fs::create_dir_all(&self.dir).map_err(self.err("creating the directory"))?;
        let mut s = self
            .load_state()
            .filter(|s| s.fingerprint == id.fingerprint)
            .unwrap_or(State {
                fingerprint: id.fingerprint,
                active_bank: 0,
                active_generation: 0,
                commit_seq: 0,
                banks: [None, None],
            });
        files::write(&self.bank_path(bank), &[bytes]).map_err(|e| RecordError {
            dir: self.dir.display().to_string(),
            step: "writing a bank record",
            cause: e.error,
        })?;
        s.banks[bank as usize] = Some(crc32c::crc32c(bytes));
        s.active_bank = id.active_bank;
        s.active_generation = id.active_generation;
        s.commit_seq = id.commit_seq;
        self.save_state(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(bank: u8, gen: u64, seq: u32) -> Identity {
        Identity {
            device: "model".into(),
            id: 0,
            version: 0,
            fingerprint: 7,
            status: 0,
            control: 0,
            heartbeat: 0,
            active_bank: bank,
            active_generation: gen,
            commit_result: 1,
            commit_seq: seq,
            now_ticks: 0,
        }
    }

    #[test]
    fn records_are_trusted_only_while_the_device_is_unchanged() {
        let t = tempfile::tempdir().unwrap();
        let r = BankRecords::new(t.path(), "shm:/tmp/x");
        assert!(r.dir().ends_with("shm_tmp_x"));
        assert!(r.inactive_base(&ident(1, 1, 1), 4).is_err());
        r.record(1, b"aaaa", &ident(1, 1, 1)).unwrap();
        // Bank 0 unknown yet.
        assert!(r.inactive_base(&ident(1, 1, 1), 4).is_err());
        r.record(0, b"bbbb", &ident(0, 2, 2)).unwrap();
        assert_eq!(r.inactive_base(&ident(0, 2, 2), 4).unwrap(), b"aaaa");
        // Someone else committed meanwhile.
        assert!(r
            .inactive_base(&ident(0, 2, 3), 4)
            .unwrap_err()
            .contains("changed"));
        assert!(r.inactive_base(&ident(1, 3, 3), 4).is_err());
        // Forgotten before a write: no base.
        r.forget(1).unwrap();
        assert!(r.inactive_base(&ident(0, 2, 2), 4).is_err());
        // Damage is noticed.
        r.record(1, b"cccc", &ident(1, 3, 3)).unwrap();
        std::fs::write(r.dir().join("bank0.bin"), b"xxxx").unwrap();
        assert!(r
            .inactive_base(&ident(1, 3, 3), 4)
            .unwrap_err()
            .contains("damaged"));
    }
}
