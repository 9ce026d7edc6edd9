//! The register block: 32-bit little-endian registers at the register BAR
//! offset. 64-bit values are two registers, low word first; the host reads
//! HI, LO, HI and retries if HI moved (works for live hardware and for a
//! shared-memory device alike, since it needs no read side effects).

/// Bytes decoded by the register block.
pub const BLOCK_LEN: u64 = 0x1000;

/// `ID` reads this ("LBNC" in little-endian ASCII).
pub const ID_MAGIC: u32 = u32::from_le_bytes(*b"LBNC");
/// Value the host writes to `COMMIT` to ring the doorbell; any other value
/// is ignored, so a stray write cannot swap banks.
pub const COMMIT_MAGIC: u32 = 0xC0AA_17ED;

pub const ID: u64 = 0x000;
/// `major << 16 | minor` of the contract.
pub const VERSION: u64 = 0x004;
pub const FINGERPRINT_LO: u64 = 0x008;
pub const FINGERPRINT_HI: u64 = 0x00C;
pub const CONTROL: u64 = 0x010;
pub const STATUS: u64 = 0x014;
pub const SCRATCH: u64 = 0x018;
/// Incremented by the device at least every millisecond while alive.
pub const HEARTBEAT: u64 = 0x01C;
pub const STAGED_GEN_LO: u64 = 0x020;
pub const STAGED_GEN_HI: u64 = 0x024;
/// Bytes of the inactive bank covered by `STAGED_CRC` (from bank offset 0).
pub const STAGED_LEN: u64 = 0x028;
/// CRC32C of those bytes.
pub const STAGED_CRC: u64 = 0x02C;
pub const COMMIT: u64 = 0x030;
/// 0 or 1: the bank the pipeline reads.
pub const ACTIVE_BANK: u64 = 0x034;
pub const ACTIVE_GEN_LO: u64 = 0x038;
pub const ACTIVE_GEN_HI: u64 = 0x03C;
/// Result of the last commit, one of the `COMMIT_*` codes.
pub const COMMIT_RESULT: u64 = 0x040;
/// Incremented each time the device finishes handling a doorbell, whatever
/// the result, so the host can tell "not yet" from "refused".
pub const COMMIT_SEQ: u64 = 0x044;
/// Device time, in conntrack ticks (`Target::ct_tick_us`).
pub const NOW_LO: u64 = 0x048;
pub const NOW_HI: u64 = 0x04C;
/// First of the 64-bit counters, see [`Counter`].
pub const COUNTERS: u64 = 0x100;
/// First of the 64-bit parse-error counters, one per [`ParseReason`].
pub const PARSE_ERRORS: u64 = 0x200;

/// A named register, for generated headers (`lbnic target --emit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg {
    pub name: &'static str,
    pub offset: u64,
}

const fn reg(name: &'static str, offset: u64) -> Reg {
    Reg { name, offset }
}

/// The 32-bit registers below `COUNTERS`, in address order.
pub const REGISTERS: &[Reg] = &[
    reg("id", ID),
    reg("version", VERSION),
    reg("fingerprint_lo", FINGERPRINT_LO),
    reg("fingerprint_hi", FINGERPRINT_HI),
    reg("control", CONTROL),
    reg("status", STATUS),
    reg("scratch", SCRATCH),
    reg("heartbeat", HEARTBEAT),
    reg("staged_gen_lo", STAGED_GEN_LO),
    reg("staged_gen_hi", STAGED_GEN_HI),
    reg("staged_len", STAGED_LEN),
    reg("staged_crc", STAGED_CRC),
    reg("commit", COMMIT),
    reg("active_bank", ACTIVE_BANK),
    reg("active_gen_lo", ACTIVE_GEN_LO),
    reg("active_gen_hi", ACTIVE_GEN_HI),
    reg("commit_result", COMMIT_RESULT),
    reg("commit_seq", COMMIT_SEQ),
    reg("now_lo", NOW_LO),
    reg("now_hi", NOW_HI),
];

use super::field::Bit;

pub const CONTROL_BITS: &[Bit] = &[
    Bit {
        name: "enable",
        mask: control::ENABLE,
    },
    Bit {
        name: "reset",
        mask: control::RESET,
    },
    Bit {
        name: "ct_flush",
        mask: control::CT_FLUSH,
    },
    Bit {
        name: "ct_host",
        mask: control::CT_HOST,
    },
];

pub const STATUS_BITS: &[Bit] = &[
    Bit {
        name: "ready",
        mask: status::READY,
    },
    Bit {
        name: "commit_busy",
        mask: status::COMMIT_BUSY,
    },
    Bit {
        name: "running",
        mask: status::RUNNING,
    },
    Bit {
        name: "ct_host_ack",
        mask: status::CT_HOST_ACK,
    },
];

/// `COMMIT_RESULT` codes with their header names.
pub const COMMIT_RESULTS: &[(&str, u32)] = &[
    ("none", COMMIT_NONE),
    ("ok", COMMIT_OK),
    ("bad_crc", COMMIT_BAD_CRC),
    ("bad_len", COMMIT_BAD_LEN),
    ("bad_table", COMMIT_BAD_TABLE),
];

/// `CONTROL` bits.
pub mod control {
    /// Pipeline processes traffic.
    pub const ENABLE: u32 = 1 << 0;
    /// Self-clearing: reset counters, pipeline state and conntrack.
    pub const RESET: u32 = 1 << 1;
    /// Self-clearing: invalidate every conntrack entry.
    pub const CT_FLUSH: u32 = 1 << 2;
    /// Host owns the conntrack region (preload/dump); the pipeline treats
    /// every lookup as a miss and inserts nothing while it is set.
    pub const CT_HOST: u32 = 1 << 3;
}

/// `STATUS` bits.
pub mod status {
    pub const READY: u32 = 1 << 0;
    /// A commit is being validated.
    pub const COMMIT_BUSY: u32 = 1 << 1;
    /// The pipeline is processing traffic.
    pub const RUNNING: u32 = 1 << 2;
    /// The device has seen `CONTROL.CT_HOST` and handed the conntrack
    /// region to the host (no lookup or insert in flight); cleared once it
    /// has taken the region back. The host waits for it both ways.
    pub const CT_HOST_ACK: u32 = 1 << 3;
}

/// `COMMIT_RESULT` codes.
pub const COMMIT_NONE: u32 = 0;
pub const COMMIT_OK: u32 = 1;
pub const COMMIT_BAD_CRC: u32 = 2;
pub const COMMIT_BAD_LEN: u32 = 3;
pub const COMMIT_BAD_TABLE: u32 = 4;

pub fn commit_result_name(code: u32) -> &'static str {
    match code {
        COMMIT_NONE => "none",
        COMMIT_OK => "ok",
        COMMIT_BAD_CRC => "crc mismatch",
        COMMIT_BAD_LEN => "bad length",
        COMMIT_BAD_TABLE => "table failed validation",
        _ => "unknown",
    }
}

macro_rules! counters {
    ($($(#[$m:meta])* $name:ident = $text:literal,)*) => {
        /// The device's 64-bit counters, in register order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Counter { $($(#[$m])* $name,)* }

        impl Counter {
            pub const ALL: &'static [Counter] = &[$(Counter::$name,)*];
            /// Stable snake_case name used in JSON and reports.
            pub fn name(self) -> &'static str {
                match self { $(Counter::$name => $text,)* }
            }
        }
    };
}

counters! {
    RxPackets = "rx_packets",
    RxBytes = "rx_bytes",
    TxPackets = "tx_packets",
    TxBytes = "tx_bytes",
    /// Passed unchanged (no VIP / unparsable with action `pass`).
    PassPackets = "pass_packets",
    DropParse = "drop_parse",
    DropNoVip = "drop_no_vip",
    /// VIP has no backend that may take a new flow.
    DropNoBackend = "drop_no_backend",
    /// Not forwarded for size: the rewrite would exceed `max_frame`
    /// (whether or not an ICMP too-big answer went back).
    DropTooBig = "drop_too_big",
    /// ICMP error that cannot be routed (RR/WRR miss, NAT VIP).
    DropUnroutable = "drop_unroutable",
    CtHits = "ct_hits",
    CtMisses = "ct_misses",
    CtInserts = "ct_inserts",
    CtEvictions = "ct_evictions",
    CtAgeouts = "ct_ageouts",
    Commits = "commits",
    CommitErrors = "commit_errors",
    /// Fragments (first and later, IPv4 and IPv6) of VIP traffic, each
    /// routed by its datagram's fragment entry.
    FragPackets = "frag_packets",
    /// A later fragment whose (address, protocol) has several VIPs and no
    /// fragment entry (its first fragment, which has ports, did not come
    /// first): no way to tell its VIP.
    DropFragAmbiguous = "drop_frag_ambiguous",
    /// ICMP "fragmentation needed" / "packet too big" answers sent.
    IcmpTooBigSent = "icmp_too_big_sent",
    /// Too-big answers the device's ICMP rate limiter suppressed.
    IcmpRateLimited = "icmp_rate_limited",
    /// Longer than the target's `max_rx_frame`: the MAC dropped it.
    RxOversize = "rx_oversize",
    /// Shorter than 60 bytes without FCS: taken as if the sender had padded
    /// it (captures are taken before padding).
    RxUndersize = "rx_undersize",
    /// Arrived while the MAC's receive buffer was full: dropped (cycle
    /// model with the MAC source only; the functional model has no time).
    RxOverflow = "rx_overflow",
    /// Inserts that found both candidate buckets full and moved a resident
    /// entry to its other candidate bucket to make room (no eviction).
    CtRelocations = "ct_relocations",
    /// New embryonic (SYN) entries not inserted because the only victim
    /// left was a live established entry: a SYN flood cannot evict one.
    CtInsertRefused = "ct_insert_refused",
}

/// Bytes at the start of a frame the parser sees (the header window the
/// receive path hands it; spec §12.1.1). A header the parser must read that
/// ends past them is a parse error [`ParseReason::ExtHeaderChain`]: only
/// IPv6 extension headers can push one there (without them the worst case,
/// QinQ + IPv4 with options + ICMPv4 quoting IPv4 with options, ends at byte
/// 154).
pub const PARSE_WINDOW: usize = 256;

/// Clocks the reference RTL's parser (`lbnic_parse`) takes from its input to
/// its output: input register, L2/L3, the packet's IPv6 extension-header walk
/// (8 clocks, one header each), L4 read, the ICMPv6 quote's walk (8 clocks),
/// L4 checks. The walk is pointer chasing (a header's offset is known only
/// once the previous one's length is read), so a clock per header is what
/// 322 MHz allows (spec §12.3).
pub const PARSE_LATENCY: u64 = 20;

/// FRONT's fixed latency in clocks for a lone packet: the parse, then
/// `lbnic_front`'s classification (Toeplitz, VIP CAM, candidate buckets:
/// 7 + its two multiplier stages). The cycle model's FRONT stage takes it
/// (`hw_model::cycle::FRONT_LATENCY`), `lbnic_top` checks its parts against
/// it, tests/rtl.rs checks the RTL's measured FRONT cycles against the
/// model's.
pub const FRONT_LATENCY: u64 = PARSE_LATENCY + 9;

/// CT_EXEC's fixed latency in clocks: from the cycle a packet executes (its
/// candidate buckets there and its turn come) to the cycle its decision
/// leaves for BACKEND. The conntrack state is decided in that first cycle
/// (the next packet executes on it); the rest, the usable check of a hit's
/// backend, scheduling (the Maglev index, started as the packet enters,
/// the RR/WRR pointer, the LUT and BACKEND reads), is pipelined behind it,
/// and the writes follow the decision. The reference RTL's conntrack engine
/// lets each decision go exactly this many clocks after the clock the cycle
/// model executes its packet (spec §12.3, decision 2); the cycle model's
/// CT_EXEC takes it (`hw_model::cycle::CT_EXEC_LATENCY`).
pub const CT_EXEC_LATENCY: u64 = 26;

/// From the cycle CT_EXEC executes a new NAT flow's packet to the cycle the
/// cycle model requests its posted return entry's candidate buckets (one
/// request, `hw_model::cycle`): the reference RTL's own path to that read
/// when it was fixed (the packet's bucket written, the return key hashed,
/// its candidates' hints read; spec §12.3 decision 10). The RTL's unit reads
/// a clock after the model's request (CT_REQ's requests go out on its port
/// the next clock) and holds a command CT_EXEC posted sooner until then.
pub const CT_POSTED_ISSUE: u64 = CT_EXEC_LATENCY + 6;
const _: () = assert!(CT_POSTED_ISSUE < 255);

/// The same for a flow whose own insert found no free way: the RTL's
/// search for a relocation (the residents' hints, a second match) comes
/// first, and its latest path to the read is this (spec §12.3 decision 12).
pub const CT_POSTED_ISSUE_SEARCH: u64 = CT_POSTED_ISSUE + 14;
const _: () = assert!(CT_POSTED_ISSUE_SEARCH < 255);

/// From the cycle CT_EXEC executes a new NAT flow's packet to its check
/// for a posted unit (an idle one, none holding a candidate of the return
/// key), which is also the first cycle CT_EXEC may take the next packet:
/// until its candidates' full hints are read CT_EXEC cannot know whether
/// the return entry goes in line, and one in line must be placed before
/// the next packet executes. The reference RTL's path to that check on
/// round robin (the backend read in CT_EXEC, then the return key hashed),
/// which it holds every such flow to, however soon its path got there
/// (spec §12.3 decision 14).
pub const CT_UNIT_CHECK: u64 = 25;
const _: () = assert!(CT_UNIT_CHECK < 255);

/// The same for a flow of a VIP that schedules by hash (Maglev): the
/// RTL's CT_REQ pre-schedules its backend while the packet's reads are
/// out, so its return key is hashed during its match (spec §12.3
/// decision 16).
pub const CT_UNIT_CHECK_HASHED: u64 = 14;
const _: () = assert!(CT_UNIT_CHECK_HASHED <= CT_UNIT_CHECK);

/// The same for a flow whose own insert found no free way (its search for
/// a relocation first; spec §12.3 decision 12).
pub const CT_UNIT_CHECK_SEARCH: u64 = CT_UNIT_CHECK + 19;
const _: () = assert!(CT_UNIT_CHECK_SEARCH < 255);

/// The conntrack memory port's tags (spec §12.3 decision 9): a read names
/// its requester so that responses may come back in any order and a
/// memory controller can count outstanding requests, and the RTL harness
/// groups reads into requests from the tag alone. Tags are `CT_TAG_BITS`
/// wide. A tag with the top bit (`CT_TAG_QUEUED`) set is a queued packet's
/// candidate read in CT_REQ, `{1, entry, side}` (side a = 0, b = 1);
/// otherwise CT_EXEC's own reads (`CT_TAG_EXEC_A`, `_B`, the relocation
/// target `_T`), or posted unit u's side s at `CT_TAG_RMW + 2u + s`,
/// `CT_RMW_UNITS` units.
pub const CT_TAG_BITS: u32 = 8;
pub const CT_TAG_QUEUED: u64 = 1 << (CT_TAG_BITS - 1);
pub const CT_TAG_EXEC_A: u64 = 0;
pub const CT_TAG_EXEC_B: u64 = 1;
pub const CT_TAG_EXEC_T: u64 = 2;
pub const CT_TAG_RMW: u64 = 3;
pub const CT_RMW_UNITS: u64 = 4;
const _: () = assert!(CT_TAG_RMW + 2 * CT_RMW_UNITS <= CT_TAG_QUEUED);

/// Why a frame could not be parsed; each has a counter at
/// `PARSE_ERRORS + 8 * reason`. Frames that parse but are not load-balancer
/// traffic (not IP, not TCP/UDP/ICMP-error) are not parse errors: they take
/// the no-VIP path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ParseReason {
    Truncated,
    BadIpVersion,
    BadIhl,
    BadLength,
    ExtHeaderChain,
    BadUdpLength,
    BadTcpOffset,
    BadInner,
}

impl ParseReason {
    pub const ALL: &'static [ParseReason] = &[
        ParseReason::Truncated,
        ParseReason::BadIpVersion,
        ParseReason::BadIhl,
        ParseReason::BadLength,
        ParseReason::ExtHeaderChain,
        ParseReason::BadUdpLength,
        ParseReason::BadTcpOffset,
        ParseReason::BadInner,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ParseReason::Truncated => "truncated",
            ParseReason::BadIpVersion => "bad_ip_version",
            ParseReason::BadIhl => "bad_ihl",
            ParseReason::BadLength => "bad_length",
            ParseReason::ExtHeaderChain => "ext_header_chain",
            ParseReason::BadUdpLength => "bad_udp_length",
            ParseReason::BadTcpOffset => "bad_tcp_offset",
            ParseReason::BadInner => "bad_inner",
        }
    }
    pub fn offset(self) -> u64 {
        PARSE_ERRORS + 8 * self as u64
    }
}

impl Counter {
    /// Register offset of the counter's low word.
    pub fn offset(self) -> u64 {
        COUNTERS + 8 * self as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_fit_the_block_and_do_not_overlap_control() {
        let last = Counter::ALL.last().unwrap().offset() + 8;
        assert!(last <= BLOCK_LEN);
        const { assert!(NOW_HI < COUNTERS) };
        assert_eq!(Counter::RxPackets.offset(), COUNTERS);
        assert_eq!(Counter::ALL.len(), Counter::CtInsertRefused as usize + 1);
        assert!(last <= PARSE_ERRORS);
        assert_eq!(ParseReason::ALL.len(), ParseReason::BadInner as usize + 1);
        assert!(ParseReason::BadInner.offset() + 8 <= BLOCK_LEN);
    }

    /// The register table has every 32-bit register: contiguous from 0 to
    /// the last one before the counters, so a register added in between
    /// without a table row leaves a gap.
    #[test]
    fn register_table_is_contiguous() {
        for (i, r) in REGISTERS.iter().enumerate() {
            assert_eq!(r.offset, 4 * i as u64, "{}", r.name);
        }
        assert_eq!(REGISTERS.last().unwrap().offset, NOW_HI);
        for (i, (_, c)) in COMMIT_RESULTS.iter().enumerate() {
            assert_eq!(*c, i as u32);
        }
        assert!(COMMIT_RESULTS
            .iter()
            .all(|(_, c)| commit_result_name(*c) != "unknown"));
        assert_eq!(commit_result_name(COMMIT_RESULTS.len() as u32), "unknown");
    }

    #[test]
    fn id_magic_is_ascii() {
        assert_eq!(&ID_MAGIC.to_le_bytes(), b"LBNC");
    }
}
