//! Headers for hardware, generated from the contract's own tables: a
//! SystemVerilog package for the RTL (`emit_sv`) and a C header for firmware
//! and C drivers (`emit_c`). Both render the same item list, built from the
//! constants and tables the Rust code uses (`*_field::FIELDS`,
//! `regs::REGISTERS`, `Counter::ALL`, the enums' `ALL`, `MemoryMap`,
//! `Target`), so a header can never say something the Rust side does not.
//!
//! Output is deterministic (no timestamps): the default target's headers are
//! committed under `rtl/` and a test fails when they are stale.

use crate::image;
use crate::target::ct::{ct_field, CT_KEY_LEN};
use crate::target::entries::{BackendState, Mode, Proto, Scheduler, TcpState, NAME_LEN, TOEPLITZ_KEY_LEN};
use crate::target::field::{FieldKind, Layout};
use crate::target::layouts::LAYOUTS;
use crate::target::memmap::SECTION_ALIGN;
use crate::target::regs::{self, Counter, ParseReason};
use crate::target::{MissAction, Target, CONTRACT_VERSION_MAJOR, CONTRACT_VERSION_MINOR};
use std::fmt::Write;

/// How a constant is typed and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// 32-bit, decimal (counts, sizes, parameters).
    Dec,
    /// 32-bit, hex (register offsets, masks, magics).
    Hex,
    /// 64-bit, hex (byte addresses and lengths in the aperture, fingerprint).
    Hex64,
}

enum Item {
    /// Starts a group; rendered as a comment.
    Group(String),
    Const {
        name: String,
        value: u64,
        ty: Ty,
    },
    Enum {
        name: &'static str,
        variants: Vec<(String, u64)>,
    },
    Layout(&'static Layout),
}

fn upper(s: &str) -> String {
    s.to_ascii_uppercase().replace(['-', '.'], "_")
}

struct Items(Vec<Item>);

impl Items {
    fn group(&mut self, title: &str) {
        self.0.push(Item::Group(title.to_string()));
    }
    fn c(&mut self, name: impl Into<String>, value: u64, ty: Ty) {
        self.0.push(Item::Const {
            name: name.into(),
            value,
            ty,
        });
    }
    fn e<E: Copy>(&mut self, name: &'static str, all: &[E], code: fn(E) -> u8, label: fn(E) -> &'static str) {
        let variants = all
            .iter()
            .map(|&v| (format!("{}_{}", upper(name), upper(label(v))), code(v) as u64))
            .collect();
        self.0.push(Item::Enum { name, variants });
    }
}

/// Every target parameter as (name, value), names as in a target TOML file
/// (`bar.register_bar` for nested keys). A test checks this covers every
/// field `Target` serializes, so a new parameter cannot be left out.
pub fn target_params(t: &Target) -> Vec<(&'static str, u64)> {
    vec![
        ("clock_mhz", t.clock_mhz as u64),
        ("datapath_bytes", t.datapath_bytes as u64),
        ("port_gbps", t.port_gbps as u64),
        ("max_rx_frame", t.max_rx_frame as u64),
        ("rx_buffer_bytes", t.rx_buffer_bytes as u64),
        ("max_vips", t.max_vips as u64),
        ("max_backends", t.max_backends as u64),
        ("lut_entry_bits", t.lut_entry_bits as u64),
        ("lut_entries", t.lut_entries as u64),
        ("ct_buckets", t.ct_buckets as u64),
        ("ct_ways", t.ct_ways as u64),
        ("ct_latency_cycles", t.ct_latency_cycles as u64),
        ("ct_max_outstanding", t.ct_max_outstanding as u64),
        ("ct_beats_per_cycle", t.ct_beats_per_cycle as u64),
        ("fifo_depth", t.fifo_depth as u64),
        ("ct_tick_us", t.ct_tick_us as u64),
        ("no_vip_action", t.no_vip_action.code() as u64),
        ("parse_error_action", t.parse_error_action.code() as u64),
        ("bar.register_bar", t.bar.register_bar as u64),
        ("bar.register_offset", t.bar.register_offset),
        ("bar.aperture_bar", t.bar.aperture_bar as u64),
        ("bar.aperture_offset", t.bar.aperture_offset),
    ]
}

fn items(t: &Target) -> Items {
    let mut it = Items(Vec::new());
    let map = t.memory_map();

    it.group("Contract and target identity");
    it.c("CONTRACT_VERSION_MAJOR", CONTRACT_VERSION_MAJOR as u64, Ty::Dec);
    it.c("CONTRACT_VERSION_MINOR", CONTRACT_VERSION_MINOR as u64, Ty::Dec);
    it.c(
        "CONTRACT_VERSION",
        ((CONTRACT_VERSION_MAJOR as u64) << 16) | CONTRACT_VERSION_MINOR as u64,
        Ty::Hex,
    );
    it.c("TARGET_FINGERPRINT", t.fingerprint(), Ty::Hex64);
    it.c("ID_MAGIC", regs::ID_MAGIC as u64, Ty::Hex);
    it.c("COMMIT_MAGIC", regs::COMMIT_MAGIC as u64, Ty::Hex);
    it.c("IMAGE_MAGIC", u64::from_le_bytes(image::MAGIC), Ty::Hex64);
    it.c("IMAGE_FORMAT_VERSION", image::FORMAT_VERSION as u64, Ty::Dec);
    it.c("IMAGE_HEADER_LEN", image::HEADER_LEN as u64, Ty::Dec);

    it.group("Target parameters (bar.* are the BAR layout)");
    for (name, v) in target_params(t) {
        let ty = if name.ends_with("_offset") {
            Ty::Hex64
        } else {
            Ty::Dec
        };
        it.c(format!("TARGET_{}", upper(name)), v, ty);
    }
    it.c(
        "TARGET_MAX_BACKENDS_PER_VIP",
        t.max_backends_per_vip() as u64,
        Ty::Dec,
    );
    it.c(
        "TARGET_CT_BUCKET_BITS",
        t.ct_buckets.trailing_zeros() as u64,
        Ty::Dec,
    );
    // Conntrack placement (lookup::ct_bucket): two candidates per key in
    // one page, `b` from the top bits of hash * CT_BUCKET_MIX.
    it.c(
        "TARGET_CT_PAGE_BUCKETS",
        crate::lookup::ct_page_buckets(t.ct_buckets) as u64,
        Ty::Dec,
    );
    it.c("CT_BUCKET_MIX", crate::lookup::CT_BUCKET_MIX as u64, Ty::Hex);

    it.group("Memory map, bytes: sections are bank-relative, the rest aperture-relative");
    it.c("SECTION_ALIGN", SECTION_ALIGN, Ty::Hex);
    for (name, r) in [
        ("GLOBAL", &map.global),
        ("VIP", &map.vip),
        ("BACKEND", &map.backend),
        ("LUT", &map.lut),
    ] {
        it.c(format!("MEM_{name}_BASE"), r.start, Ty::Hex64);
        it.c(format!("MEM_{name}_LEN"), r.end - r.start, Ty::Hex64);
    }
    it.c("MEM_BANK_LEN", map.bank_len, Ty::Hex64);
    it.c("MEM_BANK0_BASE", map.bank_base[0], Ty::Hex64);
    it.c("MEM_BANK1_BASE", map.bank_base[1], Ty::Hex64);
    it.c("MEM_CONNTRACK_BASE", map.conntrack.start, Ty::Hex64);
    it.c("MEM_CONNTRACK_LEN", map.ct_len(), Ty::Hex64);
    it.c("MEM_CT_BUCKET_LEN", map.ct_bucket_len, Ty::Hex64);
    it.c("MEM_APERTURE_LEN", map.aperture_len, Ty::Hex64);
    it.c("MEM_BAR_LEN", map.bar_len, Ty::Hex64);

    it.group("Register block: byte offsets from the register BAR offset; 64-bit values are LO then HI");
    it.c("REG_BLOCK_LEN", regs::BLOCK_LEN, Ty::Hex);
    for r in regs::REGISTERS {
        it.c(format!("REG_{}", upper(r.name)), r.offset, Ty::Hex);
    }
    it.c("REG_COUNTERS", regs::COUNTERS, Ty::Hex);
    it.c("REG_PARSE_ERRORS", regs::PARSE_ERRORS, Ty::Hex);
    for b in regs::CONTROL_BITS {
        it.c(format!("CONTROL_{}", upper(b.name)), b.mask as u64, Ty::Hex);
    }
    for b in regs::STATUS_BITS {
        it.c(format!("STATUS_{}", upper(b.name)), b.mask as u64, Ty::Hex);
    }
    for (name, code) in regs::COMMIT_RESULTS {
        it.c(format!("COMMIT_RESULT_{}", upper(name)), *code as u64, Ty::Dec);
    }

    it.group("64-bit counters: register offset of the low word");
    it.c("COUNTER_COUNT", Counter::ALL.len() as u64, Ty::Dec);
    for c in Counter::ALL {
        it.c(format!("COUNTER_{}", upper(c.name())), c.offset(), Ty::Hex);
    }
    it.c("PARSE_REASON_COUNT", ParseReason::ALL.len() as u64, Ty::Dec);
    it.c("PARSE_WINDOW", regs::PARSE_WINDOW as u64, Ty::Dec);
    it.c("PARSE_LATENCY", regs::PARSE_LATENCY, Ty::Dec);
    it.c("FRONT_LATENCY", regs::FRONT_LATENCY, Ty::Dec);
    it.c("CT_EXEC_LATENCY", regs::CT_EXEC_LATENCY, Ty::Dec);
    it.c("CT_POSTED_ISSUE", regs::CT_POSTED_ISSUE, Ty::Dec);
    it.c("CT_POSTED_ISSUE_SEARCH", regs::CT_POSTED_ISSUE_SEARCH, Ty::Dec);
    it.c("CT_UNIT_CHECK", regs::CT_UNIT_CHECK, Ty::Dec);
    it.c("CT_UNIT_CHECK_HASHED", regs::CT_UNIT_CHECK_HASHED, Ty::Dec);
    it.c("CT_UNIT_CHECK_SEARCH", regs::CT_UNIT_CHECK_SEARCH, Ty::Dec);
    it.c("CT_TAG_BITS", regs::CT_TAG_BITS as u64, Ty::Dec);
    it.c("CT_TAG_QUEUED", regs::CT_TAG_QUEUED, Ty::Hex);
    it.c("CT_TAG_EXEC_A", regs::CT_TAG_EXEC_A, Ty::Dec);
    it.c("CT_TAG_EXEC_B", regs::CT_TAG_EXEC_B, Ty::Dec);
    it.c("CT_TAG_EXEC_T", regs::CT_TAG_EXEC_T, Ty::Dec);
    it.c("CT_TAG_RMW", regs::CT_TAG_RMW, Ty::Dec);
    it.c("CT_RMW_UNITS", regs::CT_RMW_UNITS, Ty::Dec);
    for r in ParseReason::ALL {
        it.c(format!("PARSE_ERROR_{}", upper(r.name())), r.offset(), Ty::Hex);
    }

    it.group("Codes stored in entries and target parameters");
    it.e("mode", Mode::ALL, Mode::code, Mode::name);
    it.e("sched", Scheduler::ALL, Scheduler::code, Scheduler::name);
    it.e("proto", Proto::ALL, Proto::code, Proto::name);
    it.e(
        "backend_state",
        BackendState::ALL,
        BackendState::code,
        BackendState::name,
    );
    it.e("tcp_state", TcpState::ALL, TcpState::code, TcpState::name);
    it.e("miss_action", MissAction::ALL, MissAction::code, MissAction::name);

    it.group("Entry layouts: byte offsets and lengths; integers are little-endian");
    it.c("TOEPLITZ_KEY_LEN", TOEPLITZ_KEY_LEN as u64, Ty::Dec);
    it.c("NAME_LEN", NAME_LEN as u64, Ty::Dec);
    it.c("CT_KEY_OFF", ct_field::KEY.start as u64, Ty::Dec);
    it.c("CT_KEY_LEN", CT_KEY_LEN as u64, Ty::Dec);
    for l in LAYOUTS {
        it.0.push(Item::Layout(l));
    }
    it
}

/// A layout's offset/length/flag constants (both languages list them).
fn layout_consts(l: &Layout) -> Vec<(String, u64, Ty)> {
    let n = upper(l.name);
    let mut v = vec![(format!("{n}_LEN"), l.len as u64, Ty::Dec)];
    for f in l.fields {
        let fname = upper(f.name);
        v.push((format!("{n}_{fname}_OFF"), f.offset as u64, Ty::Dec));
        v.push((format!("{n}_{fname}_LEN"), f.len as u64, Ty::Dec));
    }
    for b in l.flags {
        v.push((format!("{n}_FLAG_{}", upper(b.name)), b.mask as u64, Ty::Hex));
    }
    v
}

fn sv_value(value: u64, ty: Ty) -> (&'static str, String) {
    match ty {
        Ty::Dec => ("int unsigned", format!("{value}")),
        Ty::Hex => ("int unsigned", format!("32'h{:08x}", value as u32)),
        Ty::Hex64 => ("logic [63:0]", format!("64'h{:016x}", value)),
    }
}

fn header(t: &Target, lang: &str, comment: &str, out: &str) -> String {
    let mut h = String::new();
    let l = |h: &mut String, s: &str| {
        let _ = writeln!(h, "{comment}{}{s}", if s.is_empty() { "" } else { " " });
    };
    l(
        &mut h,
        "Generated from the lbnic hardware contract (crate lbnic-contract). DO NOT EDIT.",
    );
    l(
        &mut h,
        &format!("Target: {}, fingerprint {:#018x}.", t.name, t.fingerprint()),
    );
    l(
        &mut h,
        &format!("Command: lbnic target {} --emit {lang} -o {out}", t.name),
    );
    l(
        &mut h,
        "(scripts/gen-headers.sh regenerates the committed default-target files.)",
    );
    h
}

/// The SystemVerilog package `lbnic_pkg` (file `lbnic_pkg.sv`).
///
/// Packed structs (`<entry>_t`) map one entry onto bits: the entry's byte
/// `k` is struct bits `[8k+7:8k]`, so the field at the lowest offset is the
/// last member. Assigning the 512-bit memory beat (byte `k` on bits
/// `[8k+7:8k]`, little-endian byte lanes) to a `ct_way_t` gives each integer
/// field its value directly; byte-string fields (addresses, MACs, keys) are
/// `logic [n-1:0][7:0]`, element `k` being octet `k`.
pub fn emit_sv(t: &Target) -> String {
    let mut o = header(t, "sv", "//", "rtl/pkg/lbnic_pkg.sv");
    o.push_str(
        "//
// No `import lbnic_pkg::*` (Yosys rejects it): use qualified names,
// e.g. lbnic_pkg::REG_COMMIT, lbnic_pkg::ct_way_t.
//
// Packed structs <entry>_t: byte k of the entry is bits [8k+7:8k], so the
// field at offset 0 is the LAST member and a 512-bit memory beat (byte k on
// bits [8k+7:8k], little-endian byte lanes) assigns to a ct_way_t or vip_t
// directly. Integer fields are little-endian and read as numbers; byte-string
// fields (addresses, MACs, keys) are logic [n-1:0][7:0] with element k =
// octet k (IPv4 is IPv4-mapped: octets 12..15 of the address).
/* verilator lint_off UNUSEDPARAM */
package lbnic_pkg;
",
    );
    for item in items(t).0 {
        match item {
            Item::Group(title) => {
                let _ = write!(o, "\n  // {title}\n");
            }
            Item::Const { name, value, ty } => {
                let (typ, v) = sv_value(value, ty);
                let _ = writeln!(o, "  localparam {typ} {name} = {v};");
            }
            Item::Enum { name, variants } => {
                let _ = writeln!(o, "  typedef enum logic [7:0] {{");
                for (i, (vname, code)) in variants.iter().enumerate() {
                    let sep = if i + 1 < variants.len() { "," } else { "" };
                    let _ = writeln!(o, "    {vname} = 8'd{code}{sep}");
                }
                let _ = writeln!(o, "  }} {name}_e;");
            }
            Item::Layout(l) => {
                let _ = write!(o, "\n  // {} ({} bytes)\n", l.name, l.len);
                for (name, v, ty) in layout_consts(l) {
                    let (typ, v) = sv_value(v, ty);
                    let _ = writeln!(o, "  localparam {typ} {name} = {v};");
                }
                let _ = writeln!(
                    o,
                    "  localparam int unsigned {}_BITS = {};",
                    upper(l.name),
                    8 * l.len
                );
                let _ = writeln!(o, "  typedef struct packed {{");
                for f in l.fields.iter().rev() {
                    let hi = f.offset * 8 + f.len * 8 - 1;
                    let lo = f.offset * 8;
                    let decl = match f.kind {
                        FieldKind::Bytes => format!("logic [{}:0][7:0]", f.len - 1),
                        FieldKind::Int | FieldKind::Reserved => format!("logic [{}:0]", f.len * 8 - 1),
                    };
                    let note = match f.kind {
                        FieldKind::Reserved => ", zero",
                        FieldKind::Bytes => ", bytes",
                        FieldKind::Int => "",
                    };
                    let _ = writeln!(
                        o,
                        "    {decl} {}; // bytes {}..{}, bits [{hi}:{lo}]{note}",
                        f.name,
                        f.offset,
                        f.offset + f.len
                    );
                }
                let _ = writeln!(o, "  }} {}_t;", l.name);
            }
        }
    }
    o.push_str("\nendpackage\n/* verilator lint_on UNUSEDPARAM */\n");
    o
}

/// The C11 header `lbnic_contract.h`: `LBNIC_`-prefixed macros and enums.
pub fn emit_c(t: &Target) -> String {
    let mut o = header(t, "c", "//", "rtl/include/lbnic_contract.h");
    o.push_str(
        "//
// Offsets and lengths are bytes. Entry integers are little-endian; address,
// MAC and key fields are byte strings (IPv4 as IPv4-mapped IPv6).
#ifndef LBNIC_CONTRACT_H
#define LBNIC_CONTRACT_H

#include <stdint.h>
",
    );
    let def = |o: &mut String, name: &str, value: u64, ty: Ty| {
        let v = match ty {
            Ty::Dec => format!("{value}u"),
            Ty::Hex => format!("0x{:08x}u", value as u32),
            Ty::Hex64 => format!("0x{value:016x}ULL"),
        };
        let _ = writeln!(o, "#define LBNIC_{name} {v}");
    };
    for item in items(t).0 {
        match item {
            Item::Group(title) => {
                let _ = write!(o, "\n// {title}\n");
            }
            Item::Const { name, value, ty } => def(&mut o, &name, value, ty),
            Item::Enum { name, variants } => {
                let _ = writeln!(o, "enum lbnic_{name} {{");
                for (vname, code) in &variants {
                    let _ = writeln!(o, "    LBNIC_{vname} = {code},");
                }
                let _ = writeln!(o, "}};");
            }
            Item::Layout(l) => {
                let _ = write!(o, "\n// {} ({} bytes)\n", l.name, l.len);
                for (name, v, ty) in layout_consts(l) {
                    def(&mut o, &name, v, ty);
                }
            }
        }
    }
    o.push_str("\n#endif // LBNIC_CONTRACT_H\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key `Target` serializes (except its name) is a parameter, so a
    /// new target parameter cannot be missing from the headers.
    #[test]
    fn target_params_cover_every_field() {
        let t = Target::builtin();
        let v = serde_json::to_value(&t).unwrap();
        let mut keys = Vec::new();
        for (k, val) in v.as_object().unwrap() {
            match val.as_object() {
                Some(inner) => keys.extend(inner.keys().map(|ik| format!("{k}.{ik}"))),
                None if k != "name" => keys.push(k.clone()),
                None => {}
            }
        }
        let mut ours: Vec<String> = target_params(&t).iter().map(|(n, _)| n.to_string()).collect();
        keys.sort();
        ours.sort();
        assert_eq!(keys, ours);
    }

    #[test]
    fn output_is_deterministic_and_names_the_target() {
        let t = Target::builtin();
        assert_eq!(emit_sv(&t), emit_sv(&t));
        let fp = format!("{:#018x}", t.fingerprint());
        assert!(emit_sv(&t).contains(&fp));
        assert!(emit_c(&t).contains(&fp));
        assert!(emit_sv(&t).contains(&format!("TARGET_FINGERPRINT = 64'h{:016x};", t.fingerprint())));
    }

    #[test]
    fn names_are_unique() {
        let t = Target::builtin();
        let c = emit_c(&t);
        let mut names: Vec<&str> = c
            .lines()
            .filter_map(|l| l.strip_prefix("#define LBNIC_"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate constant names");
    }
}
