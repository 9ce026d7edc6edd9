//! The hardware contract: target parameters, memory map, register map and
//! entry encodings. This module is the only place an offset or an encoding is
//! written down; `hw-model` and `host-driver` use it and never restate one.
//! `docs/spec.md` documents the same facts for people.

pub mod ct;
pub mod entries;
pub mod field;
pub mod layouts;
pub mod memmap;
pub mod regs;

use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher24;
use std::hash::Hasher;

pub use memmap::MemoryMap;

/// Image format and register-block version; part of the fingerprint so that a
/// format change can never be flashed onto a device built for the old one.
pub const CONTRACT_VERSION_MAJOR: u16 = 2;
pub const CONTRACT_VERSION_MINOR: u16 = 1;

/// Shortest Ethernet frame without FCS; a shorter one is padded to it on
/// the wire.
pub const MIN_FRAME: u32 = 60;

/// Bytes a frame of `len` bytes (without FCS) occupies on the wire: padded
/// to [`MIN_FRAME`], plus FCS (4), preamble and SFD (8) and the
/// inter-frame gap (12).
pub const fn l1_bytes(len: u64) -> u64 {
    let l = if len < MIN_FRAME as u64 {
        MIN_FRAME as u64
    } else {
        len
    };
    l + 4 + 8 + 12
}

/// What the pipeline does with a packet it cannot serve (no VIP, unparsable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissAction {
    /// Forward unchanged (the NIC also carries non-LB traffic).
    Pass,
    /// Drop and count.
    Drop,
}

impl MissAction {
    pub const ALL: &'static [MissAction] = &[MissAction::Pass, MissAction::Drop];
    pub fn name(self) -> &'static str {
        match self {
            MissAction::Pass => "pass",
            MissAction::Drop => "drop",
        }
    }
    pub fn code(self) -> u8 {
        match self {
            MissAction::Pass => 0,
            MissAction::Drop => 1,
        }
    }
}

/// Which BAR and offset hold the register block and the memory aperture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BarLayout {
    pub register_bar: u8,
    pub register_offset: u64,
    pub aperture_bar: u8,
    pub aperture_offset: u64,
}

impl Default for BarLayout {
    fn default() -> Self {
        // Everything in BAR2 so that an ivshmem-plain device (whose only
        // shared-memory BAR is BAR2) can stand in for the FPGA.
        BarLayout {
            register_bar: 2,
            register_offset: 0,
            aperture_bar: 2,
            aperture_offset: 0x1_0000,
        }
    }
}

/// A target description: the parameters a given FPGA/SmartNIC build was
/// synthesised with. Images are compiled for exactly one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// Human name; not part of the fingerprint.
    pub name: String,
    /// Pipeline clock.
    pub clock_mhz: u32,
    /// Datapath width in bytes per beat (64 = a 512-bit AXI-Stream).
    pub datapath_bytes: u32,
    /// Port speed the design must keep up with; the cycle model's egress
    /// port sends at exactly this rate.
    pub port_gbps: u32,
    /// Longest frame the ingress MAC accepts, bytes without FCS; longer
    /// ones are dropped and counted (`rx_oversize`) before the pipeline.
    pub max_rx_frame: u32,
    /// The ingress MAC's receive buffer in bytes: a MAC cannot hold the
    /// wire back, so a frame arriving to a full buffer is dropped
    /// (`rx_overflow`).
    pub rx_buffer_bytes: u32,
    /// VIP table entries (on-chip CAM/hash).
    pub max_vips: u32,
    /// Backend table entries, shared by all VIPs (global 16-bit index).
    pub max_backends: u32,
    /// Width of one lookup-table (Maglev / RR / WRR) entry: a VIP-local
    /// backend index, so a VIP has at most `2^lut_entry_bits` backends.
    pub lut_entry_bits: u32,
    /// Total lookup-table entries across all VIPs (sum of every VIP's M).
    pub lut_entries: u32,
    /// Conntrack hash buckets (power of two).
    pub ct_buckets: u32,
    /// Ways per bucket; each way is one 64-byte beat of the bucket's burst.
    pub ct_ways: u32,
    /// Conntrack memory read latency, request to first data beat.
    pub ct_latency_cycles: u32,
    /// Conntrack read requests the memory controller accepts in flight.
    pub ct_max_outstanding: u32,
    /// Conntrack memory bandwidth in 64-byte beats per clock (reads+writes).
    pub ct_beats_per_cycle: u32,
    /// Depth of each inter-stage FIFO, in packets.
    pub fifo_depth: u32,
    /// Conntrack timestamp tick, in microseconds of device time.
    pub ct_tick_us: u32,
    /// No VIP matched.
    pub no_vip_action: MissAction,
    /// The packet could not be parsed.
    pub parse_error_action: MissAction,
    pub bar: BarLayout,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            name: "default".into(),
            // 512 bits at 322 MHz, as 100G MAC cores run: the datapath
            // then carries every frame size at line rate (spec §12.2).
            clock_mhz: 322,
            datapath_bytes: 64,
            port_gbps: 100,
            // The usual 100G jumbo setting: a balancer in front of servers
            // on a 9000-byte MTU network must not drop their frames.
            max_rx_frame: 9600,
            rx_buffer_bytes: 65536,
            max_vips: 256,
            max_backends: 65536,
            lut_entry_bits: 14,
            lut_entries: 1 << 23,
            ct_buckets: 1 << 18,
            ct_ways: 8,
            ct_latency_cycles: 100,
            ct_max_outstanding: 128,
            ct_beats_per_cycle: 16,
            fifo_depth: 64,
            ct_tick_us: 1000,
            no_vip_action: MissAction::Pass,
            parse_error_action: MissAction::Drop,
            bar: BarLayout::default(),
        }
    }
}

/// Why a target description is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("reading target file {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("target file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("target {name}: field `{field}`: {message}")]
    Invalid {
        name: String,
        field: &'static str,
        message: String,
    },
}

impl Target {
    /// The built-in default target.
    pub fn builtin() -> Target {
        Target::default()
    }

    pub fn validate(&self) -> Result<(), TargetError> {
        let bad = |field: &'static str, message: String| TargetError::Invalid {
            name: self.name.clone(),
            field,
            message,
        };
        let pow2 = |v: u32| v != 0 && v.is_power_of_two();
        if self.clock_mhz == 0 || self.clock_mhz > 2000 {
            return Err(bad(
                "clock_mhz",
                format!("{} is outside 1..=2000", self.clock_mhz),
            ));
        }
        if !pow2(self.datapath_bytes) || !(8..=256).contains(&self.datapath_bytes) {
            return Err(bad(
                "datapath_bytes",
                format!("{} must be a power of two in 8..=256", self.datapath_bytes),
            ));
        }
        if self.port_gbps == 0 || self.port_gbps > 1600 {
            return Err(bad(
                "port_gbps",
                format!("{} is outside 1..=1600", self.port_gbps),
            ));
        }
        if !(MIN_FRAME..=16384).contains(&self.max_rx_frame) {
            return Err(bad(
                "max_rx_frame",
                format!("{} is outside {MIN_FRAME}..=16384", self.max_rx_frame),
            ));
        }
        if self.rx_buffer_bytes < self.max_rx_frame || self.rx_buffer_bytes > (1 << 24) {
            return Err(bad(
                "rx_buffer_bytes",
                format!(
                    "{} is outside max_rx_frame ({})..=16777216 (it must hold the longest frame)",
                    self.rx_buffer_bytes, self.max_rx_frame
                ),
            ));
        }
        if self.max_vips == 0 || self.max_vips > 65535 {
            return Err(bad("max_vips", format!("{} is outside 1..=65535", self.max_vips)));
        }
        if self.max_backends == 0 || self.max_backends > 65536 {
            return Err(bad(
                "max_backends",
                format!(
                    "{} is outside 1..=65536 (16-bit backend index)",
                    self.max_backends
                ),
            ));
        }
        if !(4..=16).contains(&self.lut_entry_bits) {
            return Err(bad(
                "lut_entry_bits",
                format!("{} is outside 4..=16", self.lut_entry_bits),
            ));
        }
        if self.lut_entries == 0 || self.lut_entries > (1 << 28) {
            return Err(bad(
                "lut_entries",
                format!("{} is outside 1..=2^28", self.lut_entries),
            ));
        }
        if !pow2(self.ct_buckets) || self.ct_buckets > (1 << 26) {
            return Err(bad(
                "ct_buckets",
                format!("{} must be a power of two up to 2^26", self.ct_buckets),
            ));
        }
        if !(1..=16).contains(&self.ct_ways) {
            return Err(bad("ct_ways", format!("{} is outside 1..=16", self.ct_ways)));
        }
        if self.ct_latency_cycles == 0 || self.ct_latency_cycles > 100_000 {
            return Err(bad(
                "ct_latency_cycles",
                format!("{} is outside 1..=100000", self.ct_latency_cycles),
            ));
        }
        if self.ct_max_outstanding == 0 || self.ct_max_outstanding > 65536 {
            return Err(bad(
                "ct_max_outstanding",
                format!("{} is outside 1..=65536", self.ct_max_outstanding),
            ));
        }
        if self.ct_beats_per_cycle == 0 || self.ct_beats_per_cycle > 1024 {
            return Err(bad(
                "ct_beats_per_cycle",
                format!("{} is outside 1..=1024", self.ct_beats_per_cycle),
            ));
        }
        if self.fifo_depth < 2 || self.fifo_depth > 65536 {
            return Err(bad(
                "fifo_depth",
                format!("{} is outside 2..=65536", self.fifo_depth),
            ));
        }
        if self.ct_tick_us == 0 || self.ct_tick_us > 1_000_000 {
            return Err(bad(
                "ct_tick_us",
                format!("{} is outside 1..=1000000", self.ct_tick_us),
            ));
        }
        if self.bar.register_bar > 5 || self.bar.aperture_bar > 5 {
            return Err(bad("bar", "BAR numbers are 0..=5".into()));
        }
        let map = MemoryMap::for_target(self);
        if !self.bar.register_offset.is_multiple_of(4096) || !self.bar.aperture_offset.is_multiple_of(4096) {
            return Err(bad(
                "bar",
                "register and aperture offsets must be 4 KiB aligned".into(),
            ));
        }
        if self.bar.register_bar == self.bar.aperture_bar {
            let r = self.bar.register_offset..self.bar.register_offset + regs::BLOCK_LEN;
            let a = self.bar.aperture_offset..self.bar.aperture_offset + map.aperture_len;
            if r.start < a.end && a.start < r.end {
                return Err(bad("bar", "register block overlaps the memory aperture".into()));
            }
        }
        Ok(())
    }

    /// Largest number of backends a single VIP can address.
    pub fn max_backends_per_vip(&self) -> u32 {
        (1u32 << self.lut_entry_bits).min(self.max_backends)
    }

    pub fn memory_map(&self) -> MemoryMap {
        MemoryMap::for_target(self)
    }

    /// A 64-bit fingerprint of every parameter that changes what the hardware
    /// does or where things live. It goes into each image and into the
    /// device's FINGERPRINT registers; a mismatch is refused.
    pub fn fingerprint(&self) -> u64 {
        let mut h = SipHasher24::new_with_keys(0x6c62_6e69_635f_7467, 0x6669_6e67_6572_7072);
        let words: [u64; 23] = [
            CONTRACT_VERSION_MAJOR as u64,
            self.clock_mhz as u64,
            self.datapath_bytes as u64,
            self.port_gbps as u64,
            self.max_rx_frame as u64,
            self.rx_buffer_bytes as u64,
            self.max_vips as u64,
            self.max_backends as u64,
            self.lut_entry_bits as u64,
            self.lut_entries as u64,
            self.ct_buckets as u64,
            self.ct_ways as u64,
            self.ct_latency_cycles as u64,
            self.ct_max_outstanding as u64,
            self.ct_beats_per_cycle as u64,
            self.fifo_depth as u64,
            self.ct_tick_us as u64,
            self.no_vip_action.code() as u64,
            self.parse_error_action.code() as u64,
            self.bar.register_bar as u64,
            self.bar.register_offset,
            self.bar.aperture_bar as u64,
            self.bar.aperture_offset,
        ];
        for w in words {
            h.write(&w.to_le_bytes());
        }
        h.finish()
    }

    /// Packets per second at line rate for frames of `frame_len` bytes
    /// (without FCS): adds FCS, preamble+SFD and the inter-frame gap.
    pub fn line_rate_pps(&self, frame_len: u32) -> f64 {
        let wire_bits = (l1_bytes(frame_len as u64) * 8) as f64;
        self.port_gbps as f64 * 1e9 / wire_bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_target_is_valid() {
        Target::builtin().validate().unwrap();
    }

    #[test]
    fn fingerprint_tracks_parameters_not_name() {
        let a = Target::builtin();
        let mut b = a.clone();
        b.name = "renamed".into();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.ct_ways = 4;
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn mac_parameters_are_checked() {
        let t = Target {
            max_rx_frame: 16385,
            ..Target::builtin()
        };
        assert!(t.validate().unwrap_err().to_string().contains("max_rx_frame"));
        let t = Target {
            max_rx_frame: 9600,
            rx_buffer_bytes: 9599,
            ..Target::builtin()
        };
        assert!(t.validate().unwrap_err().to_string().contains("rx_buffer_bytes"));
        let mut b = Target::builtin();
        b.rx_buffer_bytes = 1 << 20;
        assert_ne!(Target::builtin().fingerprint(), b.fingerprint());
    }

    #[test]
    fn l1_pads_short_frames_and_adds_24_bytes() {
        assert_eq!(l1_bytes(54), 84);
        assert_eq!(l1_bytes(60), 84);
        assert_eq!(l1_bytes(1514), 1538);
    }

    #[test]
    fn line_rate_64b_at_100g() {
        let pps = Target::builtin().line_rate_pps(60);
        assert!((pps - 148_809_523.8).abs() < 1.0, "{pps}");
    }
}
