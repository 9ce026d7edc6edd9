//! Bit-exact encodings of every table entry, smoltcp `wire` style: a `field`
//! module of byte ranges, and a `Repr` per entry with `parse` (checked) and
//! `emit`. All multi-byte integers are little-endian; addresses are stored
//! as 16 bytes, IPv4 as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) with
//! the entry's `V6` flag clear.

use bitvec::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const GLOBAL_LEN: usize = 256;
pub const VIP_ENTRY_LEN: usize = 64;
pub const BACKEND_ENTRY_LEN: usize = 32;
pub const CT_WAY_LEN: usize = 64;
pub const NAME_LEN: usize = 32;
pub const TOEPLITZ_KEY_LEN: usize = 40;

/// Why a table entry does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("{table} entry: buffer of {got} bytes, need {need}")]
    Truncated {
        table: &'static str,
        got: usize,
        need: usize,
    },
    #[error("{table} entry: field `{field}` has invalid value {value}")]
    BadField {
        table: &'static str,
        field: &'static str,
        value: u64,
    },
}

fn check_len(table: &'static str, buf: &[u8], need: usize) -> Result<(), EntryError> {
    if buf.len() < need {
        Err(EntryError::Truncated {
            table,
            got: buf.len(),
            need,
        })
    } else {
        Ok(())
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4-byte slice"))
}

/// How a field's bytes are read. Generated headers (`lbnic target --emit`)
/// and the layout tests are built from the `FIELDS` table of each entry.
/// `addr:port`, with an IPv6 address in brackets (`[2001:db8::10]:443`),
/// the one way every message and report writes an endpoint.
pub fn endpoint(addr: impl std::fmt::Display, port: impl std::fmt::Display) -> String {
    let a = addr.to_string();
    if a.contains(':') {
        format!("[{a}]:{port}")
    } else {
        format!("{a}:{port}")
    }
}

/// 16-byte stored form of an address.
pub fn addr_to_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Inverse of [`addr_to_bytes`], given the entry's V6 flag.
pub fn addr_from_bytes(b: &[u8], v6: bool) -> IpAddr {
    let o: [u8; 16] = b[..16].try_into().expect("16-byte slice");
    if v6 {
        IpAddr::V6(Ipv6Addr::from(o))
    } else {
        IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    }
}

/// LVS forwarding mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// Direct routing: rewrite the destination MAC only.
    #[serde(rename = "dr")]
    Dr,
    /// IP-in-IP (IPv4 in IPv4, IPv6 in IPv6).
    #[serde(rename = "tun-ipip")]
    TunIpip,
    /// Generic UDP Encapsulation (variant 1: the inner IP packet directly
    /// after the UDP header).
    #[serde(rename = "tun-gue")]
    TunGue,
    /// Destination NAT with incremental checksum update; replies reversed.
    #[serde(rename = "nat")]
    Nat,
}

impl Mode {
    /// Every variant, in code order (generated headers list these).
    pub const ALL: &'static [Mode] = &[Mode::Dr, Mode::TunIpip, Mode::TunGue, Mode::Nat];
    pub fn code(self) -> u8 {
        match self {
            Mode::Dr => 0,
            Mode::TunIpip => 1,
            Mode::TunGue => 2,
            Mode::Nat => 3,
        }
    }
    pub fn from_code(c: u8) -> Option<Mode> {
        Some(match c {
            0 => Mode::Dr,
            1 => Mode::TunIpip,
            2 => Mode::TunGue,
            3 => Mode::Nat,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dr => "dr",
            Mode::TunIpip => "tun-ipip",
            Mode::TunGue => "tun-gue",
            Mode::Nat => "nat",
        }
    }
}

/// How a new flow picks its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheduler {
    /// Lookup-table index from the flow hash (Maglev).
    Maglev,
    /// Same hardware behaviour as `Maglev`; the compiler moves the minimum
    /// number of entries relative to the previous image.
    MaglevStable,
    /// The pipeline steps a per-VIP pointer through the slot table.
    Rr,
    /// As `Rr`, over a weighted, interleaved slot table.
    Wrr,
}

impl Scheduler {
    /// Every variant, in code order (generated headers list these).
    pub const ALL: &'static [Scheduler] = &[
        Scheduler::Maglev,
        Scheduler::MaglevStable,
        Scheduler::Rr,
        Scheduler::Wrr,
    ];
    pub fn code(self) -> u8 {
        match self {
            Scheduler::Maglev => 0,
            Scheduler::MaglevStable => 1,
            Scheduler::Rr => 2,
            Scheduler::Wrr => 3,
        }
    }
    pub fn from_code(c: u8) -> Option<Scheduler> {
        Some(match c {
            0 => Scheduler::Maglev,
            1 => Scheduler::MaglevStable,
            2 => Scheduler::Rr,
            3 => Scheduler::Wrr,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Maglev => "maglev",
            Scheduler::MaglevStable => "maglev-stable",
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
        }
    }
    /// Hash-indexed (Maglev) rather than stepped (RR/WRR).
    pub fn is_hashed(self) -> bool {
        matches!(self, Scheduler::Maglev | Scheduler::MaglevStable)
    }
}

/// L4 protocol a VIP matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    /// TCP and UDP.
    Any,
}

impl Proto {
    /// Every variant, in code order (generated headers list these).
    pub const ALL: &'static [Proto] = &[Proto::Tcp, Proto::Udp, Proto::Any];
    /// IP protocol number stored in the entry; 0 = any.
    pub fn code(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Any => 0,
        }
    }
    pub fn from_code(c: u8) -> Option<Proto> {
        Some(match c {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            0 => Proto::Any,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Any => "any",
        }
    }
}

/// Backend state as the pipeline sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendState {
    /// Takes new flows (if weight > 0) and keeps existing ones.
    Active,
    /// No new flows; conntrack keeps existing ones (same as weight 0).
    Drain,
    /// No flows at all: a conntrack hit on it is treated as a miss and the
    /// flow is rescheduled.
    Down,
}

impl BackendState {
    /// Every variant, in code order (generated headers list these).
    pub const ALL: &'static [BackendState] = &[BackendState::Active, BackendState::Drain, BackendState::Down];
    pub fn code(self) -> u8 {
        match self {
            BackendState::Active => 0,
            BackendState::Drain => 1,
            BackendState::Down => 2,
        }
    }
    pub fn from_code(c: u8) -> Option<BackendState> {
        Some(match c {
            0 => BackendState::Active,
            1 => BackendState::Drain,
            2 => BackendState::Down,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            BackendState::Active => "active",
            BackendState::Drain => "drain",
            BackendState::Down => "down",
        }
    }
}

/// Bank-global settings (the GLOBAL section, 256 bytes).
pub mod global_field {
    use std::ops::Range;
    pub const TOEPLITZ_KEY: Range<usize> = 0..40;
    pub const DEVICE_MAC: Range<usize> = 40..46;
    pub const GUE_PORT: Range<usize> = 46..48;
    pub const TUN_SRC_V4: Range<usize> = 48..52;
    pub const TUN_SRC_V4_LEN: usize = 52;
    pub const TUN_SRC_V6_LEN: usize = 53;
    pub const VIP_COUNT: Range<usize> = 54..56;
    pub const TUN_SRC_V6: Range<usize> = 56..72;
    pub const TIMEOUT_TCP_SYN: Range<usize> = 72..76;
    pub const TIMEOUT_TCP_EST: Range<usize> = 76..80;
    pub const TIMEOUT_TCP_FIN: Range<usize> = 80..84;
    pub const TIMEOUT_UDP: Range<usize> = 84..88;
    pub const BACKEND_COUNT: Range<usize> = 88..92;
    pub const MAX_FRAME: Range<usize> = 92..94;
    pub const GATEWAY_MAC: Range<usize> = 94..100;
    /// ICMP too-big answers per second (0: never answer).
    pub const ICMP_RATE: Range<usize> = 100..104;
    /// Answers the limiter may send back to back.
    pub const ICMP_BURST: Range<usize> = 104..108;
    /// This bank's image id (host bookkeeping, ignored by the pipeline):
    /// a fleet flash reads it from a device's active bank to check lineage.
    pub const IMAGE_ID: Range<usize> = 108..124;
    /// The id of the image this one was compiled from (`--previous`), zero
    /// for a fresh compile.
    pub const PARENT_ID: Range<usize> = 124..140;
    /// Zero; reserved for later contract versions.
    pub const RESERVED: Range<usize> = 140..256;

    use crate::target::field::Field;
    pub const FIELDS: &[Field] = &[
        Field::bytes("toeplitz_key", TOEPLITZ_KEY),
        Field::bytes("device_mac", DEVICE_MAC),
        Field::int("gue_port", GUE_PORT),
        Field::bytes("tun_src_v4", TUN_SRC_V4),
        Field::byte("tun_src_v4_len", TUN_SRC_V4_LEN),
        Field::byte("tun_src_v6_len", TUN_SRC_V6_LEN),
        Field::int("vip_count", VIP_COUNT),
        Field::bytes("tun_src_v6", TUN_SRC_V6),
        Field::int("timeout_tcp_syn", TIMEOUT_TCP_SYN),
        Field::int("timeout_tcp_est", TIMEOUT_TCP_EST),
        Field::int("timeout_tcp_fin", TIMEOUT_TCP_FIN),
        Field::int("timeout_udp", TIMEOUT_UDP),
        Field::int("backend_count", BACKEND_COUNT),
        Field::int("max_frame", MAX_FRAME),
        Field::bytes("gateway_mac", GATEWAY_MAC),
        Field::int("icmp_rate", ICMP_RATE),
        Field::int("icmp_burst", ICMP_BURST),
        Field::bytes("image_id", IMAGE_ID),
        Field::bytes("parent_id", PARENT_ID),
        Field::reserved("reserved", RESERVED),
    ];
}

/// The GLOBAL section. Timeouts are in conntrack ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalRepr {
    pub toeplitz_key: [u8; TOEPLITZ_KEY_LEN],
    /// Source MAC of everything the device emits.
    pub device_mac: [u8; 6],
    pub gue_port: u16,
    /// Outer source prefix for TUN; the host part comes from the flow hash so
    /// that receivers still get RSS entropy.
    pub tun_src_v4: Ipv4Addr,
    pub tun_src_v4_len: u8,
    pub tun_src_v6: Ipv6Addr,
    pub tun_src_v6_len: u8,
    pub vip_count: u16,
    pub backend_count: u32,
    pub timeout_tcp_syn: u32,
    pub timeout_tcp_est: u32,
    pub timeout_tcp_fin: u32,
    pub timeout_udp: u32,
    /// Largest frame (without FCS) the device may emit: the egress MTU plus
    /// the L2 header. A packet whose rewrite would be longer is not
    /// forwarded (and may be answered with an ICMP too-big).
    pub max_frame: u16,
    /// Next hop towards clients (destination MAC of NAT replies).
    pub gateway_mac: [u8; 6],
    /// ICMP too-big answers per second, device-wide (0: none are sent).
    pub icmp_rate: u32,
    /// Token-bucket depth of that limiter: answers sent back to back.
    pub icmp_burst: u32,
    /// Lineage (`crate::image::Lineage`): set when the image is assembled.
    pub image_id: [u8; 16],
    pub parent_id: [u8; 16],
}

impl GlobalRepr {
    pub fn parse(b: &[u8]) -> Result<GlobalRepr, EntryError> {
        use global_field as f;
        check_len("global", b, GLOBAL_LEN)?;
        let v4_len = b[f::TUN_SRC_V4_LEN];
        if v4_len > 32 {
            return Err(EntryError::BadField {
                table: "global",
                field: "tun_src_v4_len",
                value: v4_len as u64,
            });
        }
        let v6_len = b[f::TUN_SRC_V6_LEN];
        if v6_len > 128 {
            return Err(EntryError::BadField {
                table: "global",
                field: "tun_src_v6_len",
                value: v6_len as u64,
            });
        }
        let s4: [u8; 4] = b[f::TUN_SRC_V4].try_into().expect("4");
        let s6: [u8; 16] = b[f::TUN_SRC_V6].try_into().expect("16");
        Ok(GlobalRepr {
            toeplitz_key: b[f::TOEPLITZ_KEY].try_into().expect("40"),
            device_mac: b[f::DEVICE_MAC].try_into().expect("6"),
            gue_port: u16_at(b, f::GUE_PORT.start),
            tun_src_v4: Ipv4Addr::from(s4),
            tun_src_v4_len: v4_len,
            tun_src_v6: Ipv6Addr::from(s6),
            tun_src_v6_len: v6_len,
            vip_count: u16_at(b, f::VIP_COUNT.start),
            backend_count: u32_at(b, f::BACKEND_COUNT.start),
            timeout_tcp_syn: u32_at(b, f::TIMEOUT_TCP_SYN.start),
            timeout_tcp_est: u32_at(b, f::TIMEOUT_TCP_EST.start),
            timeout_tcp_fin: u32_at(b, f::TIMEOUT_TCP_FIN.start),
            timeout_udp: u32_at(b, f::TIMEOUT_UDP.start),
            max_frame: u16_at(b, f::MAX_FRAME.start),
            gateway_mac: b[f::GATEWAY_MAC].try_into().expect("6"),
            icmp_rate: u32_at(b, f::ICMP_RATE.start),
            icmp_burst: u32_at(b, f::ICMP_BURST.start),
            image_id: b[f::IMAGE_ID].try_into().expect("16"),
            parent_id: b[f::PARENT_ID].try_into().expect("16"),
        })
    }

    pub fn emit(&self, b: &mut [u8]) {
        use global_field as f;
        b[..GLOBAL_LEN].fill(0);
        b[f::TOEPLITZ_KEY].copy_from_slice(&self.toeplitz_key);
        b[f::DEVICE_MAC].copy_from_slice(&self.device_mac);
        b[f::GUE_PORT].copy_from_slice(&self.gue_port.to_le_bytes());
        b[f::TUN_SRC_V4].copy_from_slice(&self.tun_src_v4.octets());
        b[f::TUN_SRC_V4_LEN] = self.tun_src_v4_len;
        b[f::TUN_SRC_V6].copy_from_slice(&self.tun_src_v6.octets());
        b[f::TUN_SRC_V6_LEN] = self.tun_src_v6_len;
        b[f::VIP_COUNT].copy_from_slice(&self.vip_count.to_le_bytes());
        b[f::BACKEND_COUNT].copy_from_slice(&self.backend_count.to_le_bytes());
        b[f::TIMEOUT_TCP_SYN].copy_from_slice(&self.timeout_tcp_syn.to_le_bytes());
        b[f::TIMEOUT_TCP_EST].copy_from_slice(&self.timeout_tcp_est.to_le_bytes());
        b[f::TIMEOUT_TCP_FIN].copy_from_slice(&self.timeout_tcp_fin.to_le_bytes());
        b[f::TIMEOUT_UDP].copy_from_slice(&self.timeout_udp.to_le_bytes());
        b[f::MAX_FRAME].copy_from_slice(&self.max_frame.to_le_bytes());
        b[f::GATEWAY_MAC].copy_from_slice(&self.gateway_mac);
        b[f::ICMP_RATE].copy_from_slice(&self.icmp_rate.to_le_bytes());
        b[f::ICMP_BURST].copy_from_slice(&self.icmp_burst.to_le_bytes());
        b[f::IMAGE_ID].copy_from_slice(&self.image_id);
        b[f::PARENT_ID].copy_from_slice(&self.parent_id);
    }
}

/// VIP entry (64 bytes).
pub mod vip_field {
    use std::ops::Range;
    pub const ADDR: Range<usize> = 0..16;
    pub const PORT: Range<usize> = 16..18;
    pub const PROTO: usize = 18;
    pub const FLAGS: usize = 19;
    pub const MODE: usize = 20;
    pub const SCHED: usize = 21;
    pub const BACKEND_COUNT: Range<usize> = 22..24;
    pub const BACKEND_BASE: Range<usize> = 24..28;
    pub const LUT_BASE: Range<usize> = 28..32;
    pub const LUT_SIZE: Range<usize> = 32..36;
    /// Zero; reserved for later contract versions.
    pub const RESERVED: Range<usize> = 36..64;

    pub const FLAG_VALID: u8 = 1 << 0;
    pub const FLAG_V6: u8 = 1 << 1;

    use crate::target::field::{Bit, Field};
    pub const FIELDS: &[Field] = &[
        Field::bytes("addr", ADDR),
        Field::int("port", PORT),
        Field::byte("proto", PROTO),
        Field::byte("flags", FLAGS),
        Field::byte("mode", MODE),
        Field::byte("sched", SCHED),
        Field::int("backend_count", BACKEND_COUNT),
        Field::int("backend_base", BACKEND_BASE),
        Field::int("lut_base", LUT_BASE),
        Field::int("lut_size", LUT_SIZE),
        Field::reserved("reserved", RESERVED),
    ];
    pub const FLAG_BITS: &[Bit] = &[
        Bit {
            name: "valid",
            mask: FLAG_VALID as u32,
        },
        Bit {
            name: "v6",
            mask: FLAG_V6 as u32,
        },
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipRepr {
    pub addr: IpAddr,
    /// 0 matches any destination port.
    pub port: u16,
    pub proto: Proto,
    pub mode: Mode,
    pub sched: Scheduler,
    /// Backends of this VIP are `backend_base .. backend_base+backend_count`
    /// in the backend table; lookup-table entries index into that range.
    pub backend_base: u32,
    pub backend_count: u16,
    /// First lookup-table entry of this VIP, and the table size M.
    pub lut_base: u32,
    pub lut_size: u32,
}

impl VipRepr {
    /// `Ok(None)` for an invalid (unused) slot.
    pub fn parse(b: &[u8]) -> Result<Option<VipRepr>, EntryError> {
        use vip_field as f;
        check_len("vip", b, VIP_ENTRY_LEN)?;
        let flags = b[f::FLAGS];
        if flags & f::FLAG_VALID == 0 {
            return Ok(None);
        }
        let bad = |field, value: u8| EntryError::BadField {
            table: "vip",
            field,
            value: value as u64,
        };
        if flags & !(f::FLAG_VALID | f::FLAG_V6) != 0 {
            return Err(bad("flags", flags));
        }
        let v6 = flags & f::FLAG_V6 != 0;
        Ok(Some(VipRepr {
            addr: addr_from_bytes(&b[f::ADDR], v6),
            port: u16_at(b, f::PORT.start),
            proto: Proto::from_code(b[f::PROTO]).ok_or(bad("proto", b[f::PROTO]))?,
            mode: Mode::from_code(b[f::MODE]).ok_or(bad("mode", b[f::MODE]))?,
            sched: Scheduler::from_code(b[f::SCHED]).ok_or(bad("sched", b[f::SCHED]))?,
            backend_count: u16_at(b, f::BACKEND_COUNT.start),
            backend_base: u32_at(b, f::BACKEND_BASE.start),
            lut_base: u32_at(b, f::LUT_BASE.start),
            lut_size: u32_at(b, f::LUT_SIZE.start),
        }))
    }

    pub fn emit(&self, b: &mut [u8]) {
        use vip_field as f;
        b[..VIP_ENTRY_LEN].fill(0);
        b[f::ADDR].copy_from_slice(&addr_to_bytes(self.addr));
        b[f::PORT].copy_from_slice(&self.port.to_le_bytes());
        b[f::PROTO] = self.proto.code();
        b[f::FLAGS] = f::FLAG_VALID | if self.addr.is_ipv6() { f::FLAG_V6 } else { 0 };
        b[f::MODE] = self.mode.code();
        b[f::SCHED] = self.sched.code();
        b[f::BACKEND_COUNT].copy_from_slice(&self.backend_count.to_le_bytes());
        b[f::BACKEND_BASE].copy_from_slice(&self.backend_base.to_le_bytes());
        b[f::LUT_BASE].copy_from_slice(&self.lut_base.to_le_bytes());
        b[f::LUT_SIZE].copy_from_slice(&self.lut_size.to_le_bytes());
    }
}

/// Backend entry (32 bytes).
pub mod backend_field {
    use std::ops::Range;
    pub const ADDR: Range<usize> = 0..16;
    pub const MAC: Range<usize> = 16..22;
    /// NAT destination port; 0 keeps the client's destination port.
    pub const PORT: Range<usize> = 22..24;
    pub const WEIGHT: Range<usize> = 24..28;
    pub const FLAGS: usize = 28;
    pub const STATE: usize = 29;
    pub const VIP: Range<usize> = 30..32;

    pub const FLAG_VALID: u8 = 1 << 0;
    pub const FLAG_V6: u8 = 1 << 1;

    use crate::target::field::{Bit, Field};
    pub const FIELDS: &[Field] = &[
        Field::bytes("addr", ADDR),
        Field::bytes("mac", MAC),
        Field::int("port", PORT),
        Field::int("weight", WEIGHT),
        Field::byte("flags", FLAGS),
        Field::byte("state", STATE),
        Field::int("vip", VIP),
    ];
    pub const FLAG_BITS: &[Bit] = &[
        Bit {
            name: "valid",
            mask: FLAG_VALID as u32,
        },
        Bit {
            name: "v6",
            mask: FLAG_V6 as u32,
        },
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendRepr {
    pub addr: IpAddr,
    pub mac: [u8; 6],
    pub port: u16,
    pub weight: u32,
    pub state: BackendState,
    /// Owning VIP index (backends are not shared between VIPs).
    pub vip: u16,
}

impl BackendRepr {
    pub fn parse(b: &[u8]) -> Result<Option<BackendRepr>, EntryError> {
        use backend_field as f;
        check_len("backend", b, BACKEND_ENTRY_LEN)?;
        let flags = b[f::FLAGS];
        if flags & f::FLAG_VALID == 0 {
            return Ok(None);
        }
        if flags & !(f::FLAG_VALID | f::FLAG_V6) != 0 {
            return Err(EntryError::BadField {
                table: "backend",
                field: "flags",
                value: flags as u64,
            });
        }
        Ok(Some(BackendRepr {
            addr: addr_from_bytes(&b[f::ADDR], flags & f::FLAG_V6 != 0),
            mac: b[f::MAC].try_into().expect("6"),
            port: u16_at(b, f::PORT.start),
            weight: u32_at(b, f::WEIGHT.start),
            state: BackendState::from_code(b[f::STATE]).ok_or(EntryError::BadField {
                table: "backend",
                field: "state",
                value: b[f::STATE] as u64,
            })?,
            vip: u16_at(b, f::VIP.start),
        }))
    }

    pub fn emit(&self, b: &mut [u8]) {
        use backend_field as f;
        b[..BACKEND_ENTRY_LEN].fill(0);
        b[f::ADDR].copy_from_slice(&addr_to_bytes(self.addr));
        b[f::MAC].copy_from_slice(&self.mac);
        b[f::PORT].copy_from_slice(&self.port.to_le_bytes());
        b[f::WEIGHT].copy_from_slice(&self.weight.to_le_bytes());
        b[f::FLAGS] = f::FLAG_VALID | if self.addr.is_ipv6() { f::FLAG_V6 } else { 0 };
        b[f::STATE] = self.state.code();
        b[f::VIP].copy_from_slice(&self.vip.to_le_bytes());
    }
}

/// TCP connection state kept per conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpState {
    /// UDP, or a TCP flow first seen mid-stream.
    None,
    SynSeen,
    Established,
    /// FIN seen from either side.
    Closing,
    /// RST seen.
    Closed,
}

impl TcpState {
    /// Every variant, in code order (generated headers list these).
    pub const ALL: &'static [TcpState] = &[
        TcpState::None,
        TcpState::SynSeen,
        TcpState::Established,
        TcpState::Closing,
        TcpState::Closed,
    ];
    pub fn code(self) -> u8 {
        match self {
            TcpState::None => 0,
            TcpState::SynSeen => 1,
            TcpState::Established => 2,
            TcpState::Closing => 3,
            TcpState::Closed => 4,
        }
    }
    /// The name flow lists use.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSeen => "syn-seen",
            TcpState::Established => "established",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
        }
    }
    pub fn from_code(c: u8) -> Option<TcpState> {
        Some(match c {
            0 => TcpState::None,
            1 => TcpState::SynSeen,
            2 => TcpState::Established,
            3 => TcpState::Closing,
            4 => TcpState::Closed,
            _ => return None,
        })
    }
}

/// The 5-tuple a conntrack entry is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FlowKey {
    pub proto: u8,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
}

impl FlowKey {
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            proto: self.proto,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

impl std::fmt::Display for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = match self.proto {
            6 => "tcp".to_string(),
            17 => "udp".to_string(),
            n => format!("proto{n}"),
        };
        write!(
            f,
            "{p} {} -> {}",
            endpoint(self.src, self.src_port),
            endpoint(self.dst, self.dst_port)
        )
    }
}

/// A name slot (32 bytes, host-only): UTF-8, zero-padded.
pub fn name_emit(name: &str, b: &mut [u8]) {
    b[..NAME_LEN].fill(0);
    b[..name.len()].copy_from_slice(name.as_bytes());
}

pub fn name_parse(b: &[u8]) -> Result<String, EntryError> {
    check_len("name", b, NAME_LEN)?;
    let end = b[..NAME_LEN].iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
    std::str::from_utf8(&b[..end])
        .map(str::to_string)
        .map_err(|e| EntryError::BadField {
            table: "name",
            field: "utf8",
            value: e.valid_up_to() as u64,
        })
}

/// The LUT section: `lut_entry_bits`-wide entries packed LSB-first with no
/// padding (entry i occupies bits `[i*w, (i+1)*w)`, bit k of the section
/// being bit `k % 8` of byte `k / 8`).
pub struct Lut<'a> {
    bits: &'a BitSlice<u8, Lsb0>,
    width: usize,
}

impl<'a> Lut<'a> {
    pub fn new(section: &'a [u8], width: u32) -> Lut<'a> {
        Lut {
            bits: section.view_bits::<Lsb0>(),
            width: width as usize,
        }
    }
    pub fn capacity(&self) -> usize {
        self.bits.len() / self.width
    }
    /// `None` past the end of the section.
    pub fn get(&self, i: usize) -> Option<u16> {
        let start = i.checked_mul(self.width)?;
        let end = start.checked_add(self.width)?;
        self.bits.get(start..end).map(|s| s.load_le::<u16>())
    }
}

pub struct LutMut<'a> {
    bytes: &'a mut [u8],
    width: usize,
}

impl<'a> LutMut<'a> {
    pub fn new(section: &'a mut [u8], width: u32) -> LutMut<'a> {
        LutMut {
            bytes: section,
            width: width as usize,
        }
    }

    /// Store `entries` starting at entry `base`, leaving every other bit as
    /// it was: the same little-endian bit stream as [`Lut`] reads, packed
    /// through a 64-bit accumulator (a table of 8 M entries takes a few ms,
    /// where a `BitSlice` store per entry took 80). Panics only on a caller
    /// bug (range past the section), which the compiler checks beforehand.
    pub fn store(&mut self, base: usize, entries: &[u16]) {
        if entries.is_empty() {
            return;
        }
        let w = self.width;
        let mask = (1u64 << w) - 1;
        let start = base * w;
        let end = start + entries.len() * w;
        let mut i = start / 8;
        // Bits below `start` in its byte belong to whatever is stored before.
        let mut n = start % 8;
        let mut acc = self.bytes[i] as u64 & ((1 << n) - 1);
        for &e in entries {
            acc |= (e as u64 & mask) << n;
            n += w;
            if n >= 32 {
                self.bytes[i..i + 4].copy_from_slice(&(acc as u32).to_le_bytes());
                acc >>= 32;
                n -= 32;
                i += 4;
            }
        }
        while n >= 8 {
            self.bytes[i] = acc as u8;
            acc >>= 8;
            n -= 8;
            i += 1;
        }
        if n > 0 {
            // Bits from `end` on in the last byte belong to what follows.
            let keep = !((1u8 << n) - 1);
            self.bytes[i] = (self.bytes[i] & keep) | acc as u8;
        }
        debug_assert_eq!(i * 8 + n, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_round_trip_v4_v6() {
        for addr in ["192.0.2.10".parse().unwrap(), "2001:db8::10".parse().unwrap()] {
            let v = VipRepr {
                addr,
                port: 443,
                proto: Proto::Tcp,
                mode: Mode::TunGue,
                sched: Scheduler::Wrr,
                backend_base: 77,
                backend_count: 12,
                lut_base: 1234,
                lut_size: 65537,
            };
            let mut b = [0u8; VIP_ENTRY_LEN];
            v.emit(&mut b);
            assert_eq!(VipRepr::parse(&b).unwrap(), Some(v));
        }
        assert_eq!(VipRepr::parse(&[0u8; VIP_ENTRY_LEN]).unwrap(), None);
        assert!(VipRepr::parse(&[1u8; 10]).is_err());
    }

    #[test]
    fn vip_layout_is_bit_exact() {
        let v = VipRepr {
            addr: "192.0.2.10".parse().unwrap(),
            port: 0x1234,
            proto: Proto::Udp,
            mode: Mode::Nat,
            sched: Scheduler::Maglev,
            backend_base: 0x0102_0304,
            backend_count: 0x0506,
            lut_base: 0x0a0b_0c0d,
            lut_size: 0x11,
        };
        let mut b = [0u8; VIP_ENTRY_LEN];
        v.emit(&mut b);
        assert_eq!(
            &b[0..16],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10]
        );
        assert_eq!(&b[16..24], &[0x34, 0x12, 17, 0x01, 3, 0, 0x06, 0x05]);
        assert_eq!(&b[24..36], &[4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 0x11, 0, 0, 0]);
    }

    #[test]
    fn lut_packs_14_bit_entries_lsb_first() {
        let mut sec = vec![0u8; 7];
        LutMut::new(&mut sec, 14).store(0, &[0x3fff, 0x0001, 0x2aaa]);
        // entry0 = 14 ones, entry1 starts at bit 14.
        assert_eq!(sec[0], 0xff);
        assert_eq!(sec[1], 0x3f | 0x40);
        let l = Lut::new(&sec, 14);
        assert_eq!(l.get(0), Some(0x3fff));
        assert_eq!(l.get(1), Some(1));
        assert_eq!(l.get(2), Some(0x2aaa));
        assert_eq!(l.capacity(), 4);
        assert_eq!(l.get(4), None);
    }

    proptest::proptest! {
        /// The accumulator packer writes exactly the bits a plain
        /// `BitSlice` store does, and nothing else.
        #[test]
        fn lut_store_is_the_bitslice_store(
            width in 4u32..=16,
            base in 0usize..40,
            entries in proptest::collection::vec(proptest::prelude::any::<u16>(), 0..80),
            fill in proptest::prelude::any::<u8>(),
        ) {
            let len = (base + entries.len()) * width as usize / 8 + 3;
            let mut fast = vec![fill; len];
            LutMut::new(&mut fast, width).store(base, &entries);
            let mut plain = vec![fill; len];
            let bits = plain.view_bits_mut::<Lsb0>();
            let w = width as usize;
            for (k, &e) in entries.iter().enumerate() {
                bits[(base + k) * w..(base + k + 1) * w].store_le::<u16>(e);
            }
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    /// `ALL` lists exactly the codes `from_code` accepts.
    #[test]
    fn enum_tables_are_complete() {
        fn check<E: Copy + PartialEq + std::fmt::Debug>(
            all: &[E],
            code: fn(E) -> u8,
            from: fn(u8) -> Option<E>,
        ) {
            let decodable: Vec<E> = (0..=255u8).filter_map(from).collect();
            assert_eq!(decodable.len(), all.len(), "{all:?}");
            for &e in all {
                assert_eq!(from(code(e)), Some(e));
            }
        }
        check(Mode::ALL, Mode::code, Mode::from_code);
        check(Scheduler::ALL, Scheduler::code, Scheduler::from_code);
        check(Proto::ALL, Proto::code, Proto::from_code);
        check(BackendState::ALL, BackendState::code, BackendState::from_code);
        check(TcpState::ALL, TcpState::code, TcpState::from_code);
    }

    #[test]
    fn names_round_trip_and_reject_bad_utf8() {
        let mut b = [0u8; NAME_LEN];
        name_emit("web-01", &mut b);
        assert_eq!(name_parse(&b).unwrap(), "web-01");
        b[0] = 0xff;
        assert!(name_parse(&b).is_err());
    }
}

/// The text form of a flow used by `lookup`, flow lists and error
/// messages: `tcp 198.51.100.7:40000 -> 192.0.2.10:80`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("flow {}: {message} (expected e.g. 'tcp 198.51.100.7:40000 -> 192.0.2.10:80' or 'udp [2001:db8::1]:5000 -> [2001:db8::10]:53')", files::quote(input))]
pub struct FlowParseError {
    pub input: String,
    pub message: String,
}

impl std::str::FromStr for FlowKey {
    type Err = FlowParseError;
    fn from_str(s: &str) -> Result<FlowKey, FlowParseError> {
        let err = |m: &str| FlowParseError {
            input: s.to_string(),
            message: m.to_string(),
        };
        let s2 = s.trim();
        let (proto, rest) = s2
            .split_once(char::is_whitespace)
            .ok_or_else(|| err("missing protocol"))?;
        let proto = match proto.to_ascii_lowercase().as_str() {
            "tcp" => 6,
            "udp" => 17,
            _ => return Err(err("protocol must be tcp or udp")),
        };
        let (a, b) = rest.split_once("->").ok_or_else(|| err("missing '->'"))?;
        let src: std::net::SocketAddr = a.trim().parse().map_err(|_| err("bad source address:port"))?;
        let dst: std::net::SocketAddr = b
            .trim()
            .parse()
            .map_err(|_| err("bad destination address:port"))?;
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(err("source and destination must be the same address family"));
        }
        Ok(FlowKey {
            proto,
            src: src.ip(),
            src_port: src.port(),
            dst: dst.ip(),
            dst_port: dst.port(),
        })
    }
}
