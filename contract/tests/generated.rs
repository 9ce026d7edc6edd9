//! The committed hardware headers under `rtl/` are the default target's and
//! up to date, and the C header compiles and agrees with the Rust values.
//! (Verilator/Yosys lint of the SV package is a step of scripts/test.sh, so
//! that `cargo test` needs no HDL tools.)

use lbnic_contract::emit::{emit_c, emit_sv};
use lbnic_contract::target::ct::ct_field;
use lbnic_contract::target::entries::{vip_field, Mode, TcpState, CT_WAY_LEN};
use lbnic_contract::target::regs::{self, Counter, ParseReason};
use lbnic_contract::target::Target;
use std::path::{Path, PathBuf};
use std::process::Command;

const REGEN: &str = "regenerate with scripts/gen-headers.sh, i.e.\n  \
cargo run -q -- target --emit sv -o rtl/pkg/lbnic_pkg.sv\n  \
cargo run -q -- target --emit c -o rtl/include/lbnic_contract.h";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check_committed(rel: &str, want: &str) {
    let path = root().join(rel);
    let have = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}; {REGEN}"));
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "length".to_string(), |i| format!("line {}", i + 1));
        panic!("{rel} is stale (first difference: {line}); {REGEN}");
    }
}

#[test]
fn committed_sv_package_is_current() {
    check_committed("rtl/pkg/lbnic_pkg.sv", &emit_sv(&Target::builtin()));
}

#[test]
fn committed_c_header_is_current() {
    check_committed("rtl/include/lbnic_contract.h", &emit_c(&Target::builtin()));
}

/// Compile a C file that includes the header and `_Static_assert`s values
/// the Rust side computes, then run it to compare the 64-bit fingerprint.
#[test]
fn c_header_compiles_and_agrees() {
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("gcc not found: skipping the C header compile check");
        return;
    }
    let t = Target::builtin();
    let map = t.memory_map();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lbnic_contract.h"), emit_c(&t)).unwrap();
    let checks = [
        ("LBNIC_REG_COMMIT", regs::COMMIT),
        ("LBNIC_REG_NOW_HI", regs::NOW_HI),
        ("LBNIC_CONTROL_CT_HOST", regs::control::CT_HOST as u64),
        ("LBNIC_STATUS_CT_HOST_ACK", regs::status::CT_HOST_ACK as u64),
        ("LBNIC_COUNTER_CT_HITS", Counter::CtHits.offset()),
        ("LBNIC_PARSE_ERROR_BAD_INNER", ParseReason::BadInner.offset()),
        ("LBNIC_ID_MAGIC", regs::ID_MAGIC as u64),
        ("LBNIC_COMMIT_MAGIC", regs::COMMIT_MAGIC as u64),
        ("LBNIC_CT_WAY_LEN", CT_WAY_LEN as u64),
        ("LBNIC_CT_WAY_LAST_SEEN_OFF", ct_field::LAST_SEEN.start as u64),
        ("LBNIC_CT_WAY_FLAG_REVERSE", ct_field::FLAG_REVERSE as u64),
        ("LBNIC_CT_WAY_FLAG_FRAG", ct_field::FLAG_FRAG as u64),
        (
            "LBNIC_CT_KEY_LEN",
            (ct_field::KEY.end - ct_field::KEY.start) as u64,
        ),
        ("LBNIC_VIP_LUT_SIZE_OFF", vip_field::LUT_SIZE.start as u64),
        ("LBNIC_MODE_NAT", Mode::Nat.code() as u64),
        ("LBNIC_TCP_STATE_CLOSED", TcpState::Closed.code() as u64),
        ("LBNIC_MEM_CONNTRACK_BASE", map.conntrack.start),
        ("LBNIC_MEM_LUT_BASE", map.lut.start),
        ("LBNIC_MEM_BAR_LEN", map.bar_len),
        ("LBNIC_TARGET_CT_BUCKETS", t.ct_buckets as u64),
        ("LBNIC_TARGET_BAR_APERTURE_OFFSET", t.bar.aperture_offset),
        ("LBNIC_TARGET_FINGERPRINT", t.fingerprint()),
    ];
    let mut c = String::from("#include <stdio.h>\n#include \"lbnic_contract.h\"\n\n");
    for (name, v) in checks {
        c.push_str(&format!("_Static_assert({name} == {v}ULL, \"{name}\");\n"));
    }
    c.push_str(
        "\nint main(void) {\n    printf(\"%016llx\\n\", (unsigned long long)LBNIC_TARGET_FINGERPRINT);\n    \
         uint64_t fp = LBNIC_TARGET_FINGERPRINT;\n    return fp == 0;\n}\n",
    );
    let src = dir.path().join("check.c");
    let exe = dir.path().join("check");
    std::fs::write(&src, c).unwrap();
    let out = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc rejected the header:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        format!("{:016x}", t.fingerprint())
    );
}
