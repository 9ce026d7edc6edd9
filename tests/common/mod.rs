//! Helpers shared by the CLI end-to-end tests: run `lbnic`, expect success,
//! read JSON, and a scratch directory.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn lbnic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbnic"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run lbnic")
}

/// Succeeds; its stdout.
pub fn ok(args: &[&str]) -> String {
    let o = lbnic(args);
    assert!(
        o.status.success(),
        "lbnic {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

pub fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

pub struct Tmp(pub tempfile::TempDir);

impl Tmp {
    pub fn new() -> Tmp {
        Tmp(tempfile::tempdir().unwrap())
    }
    pub fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    pub fn s(&self, name: &str) -> String {
        self.p(name).to_str().unwrap().to_string()
    }
    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.p(name), text).unwrap();
        self.s(name)
    }
}

/// Device tests: `lbnic serve` devices and what their output says.
pub mod device;

/// The Verilator harness of the RTL for `target` (as `lbnic target` takes
/// it: "default" or a file relative to the workspace), if built; when it is
/// not: None (the test skips, saying how to build it), or a failure under
/// LBNIC_RTL_REQUIRED=1 (CI).
pub fn rtl_harness(target: &str) -> Option<PathBuf> {
    let t = json(&["target", target, "--json"]);
    let fp = t["fingerprint"]
        .as_str()
        .unwrap()
        .trim_start_matches("0x")
        .to_string();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("LBNIC_RTL_SIM_DIR").map_or_else(|| root.join("rtl/build/sim"), PathBuf::from);
    let bin = dir.join(&fp).join("lbnic_sim");
    if bin.is_file() {
        return Some(bin);
    }
    let cmd = if target == "default" {
        "scripts/rtl-sim.sh".to_string()
    } else {
        format!("scripts/rtl-sim.sh --target {target}")
    };
    if std::env::var("LBNIC_RTL_REQUIRED").as_deref() == Ok("1") {
        panic!(
            "LBNIC_RTL_REQUIRED=1 but the RTL simulation {} is not built: {cmd}",
            bin.display()
        );
    }
    eprintln!(
        "skipped: the RTL simulation is not built ({}); build it with `{cmd}`",
        bin.display()
    );
    None
}
