//! The cycle-accurate model. Microarchitecture (docs/spec.md §12.2):
//!
//! ```text
//! MAC ->    RX -> FRONT -> CT_REQ -> CT_EXEC -> BACKEND -> REWRITE -> TX -> port
//! buffer    beats  parse,   bucket    in-order   on-chip   header     beats  wire
//!                  hash,    read      conntrack  table     rewrite /
//!                  VIP      (memory)  + sched    read      encap
//! ```
//!
//! - The ingress MAC cannot be held back: a frame arrives at its cycle into
//!   a receive buffer of `rx_buffer_bytes`, or is dropped (`rx_overflow`)
//!   if it does not fit. [`RxSource::Axis`] replaces it by a back-pressured
//!   AXI-Stream source (nothing lost; the backlog shows instead).
//! - RX and TX move one `datapath_bytes` beat per clock: a frame of L bytes
//!   occupies them for ceil(L / W) cycles; RX is store-and-forward. The
//!   egress port sends each frame for exactly its wire time at `port_gbps`
//!   (preamble, FCS and gap included), and TX starts a frame only once the
//!   port frees up (`tx_port`), so the output never exceeds the port.
//! - Between stages: FIFOs of `fifo_depth` packets with registered ready
//!   (a stage moves its head only if the next FIFO had room at the start of
//!   the cycle). FRONT, BACKEND and REWRITE are fixed-latency, one packet
//!   per clock.
//! - CT_REQ issues the reads of the packet's two candidate buckets
//!   (`ct_ways` beats each, one per channel group, in parallel: one
//!   outstanding slot) when the memory accepts them (`ct_max_outstanding`
//!   requests in flight, bandwidth of `ct_beats_per_cycle` beats per clock
//!   shared by writes, reads and the scrubber, in that priority).
//! - The **hazard table** (a CAM of buckets in flight) is what keeps
//!   conntrack exact although up to `ct_max_outstanding` packets are between
//!   their read and their update: a packet whose bucket is already in the
//!   table issues no read and takes the bucket its predecessor leaves
//!   (forwarding), so a SYN and the next packet of its flow, back to back,
//!   see the same entry. A new NAT flow read-modify-writes its return
//!   entry's buckets behind CT_EXEC, as does an insert that relocates a
//!   resident; such a bucket is locked in the table until the write
//!   completes, and packets needing it wait (`ct_hazard`). A NAT return
//!   entry takes one of the RTL's `CT_RMW_UNITS` posted units until its
//!   write; with none idle, or one holding a candidate bucket (whose write
//!   may fill it), CT_EXEC waits (`ct_units`, spec §12.3 decision 11). With
//!   [`CycleOptions::hazard_check`] off, every packet reads memory at issue
//!   and updates the bucket from that copy, as an RTL without the table
//!   would: `CycleStats::stale_reads` and the conntrack decisions then show
//!   what the table prevents.
//! - CT_EXEC executes strictly in packet order once the packet's buckets
//!   have arrived and are not locked, applying exactly the functional
//!   semantics ([`pipeline::execute_on`]) to the bucket data the packet
//!   received (its reads' copies, or the table's latest data where it
//!   forwards), then writes them back; it writes one beat per way it
//!   changes. So a hazard table that forgot a read or a lock shows up as a
//!   functional/cycle difference ([`CycleOptions::cam_forgets_reads`]).
//! - The scrubber walks the buckets with leftover bandwidth (one at a time,
//!   up to four reads in flight, on slots of its own: none of the packets'
//!   `ct_max_outstanding`) and reclaims entries expired as of the
//!   oldest packet not yet past CT_EXEC, which no packet can observe. When
//!   the pipeline goes idle, reads and locks in flight run out in real
//!   cycles; the idle time after them is skipped, the scrubber sweeping what
//!   its bandwidth and read slots allow meanwhile.
//!
//! A clock step computes every move from the state at the start of the
//! cycle (D: `decide`, a pure function, the scrubber's included), then
//! commits all of them (Q: `commit`), so evaluation order cannot leak into
//! the result. The scrubber takes the bandwidth a cycle's stages left, which
//! is known once they have moved: its inputs are registered at the end of
//! the cycle and it decides in the next `decide`, stamped with the cycle it
//! belongs to, before the stages, which see its read. Packets live in a slab and the FIFOs hold their
//! indices, so a move costs no copy.

use crate::ct::{CtMem, TimeoutTicks};
use crate::device::{ActiveBank, Counters, Device, DeviceError};
use crate::hist::Histogram;
use crate::model::{EdgeStats, Model, OutPacket, PacketCycles, Sent};
use crate::packet::{Frag, Parsed};
use crate::pipeline::{self, Decision, Meta};
use lbnic_contract::image::Image;
use lbnic_contract::lookup::CtBuckets;
use lbnic_contract::target::l1_bytes;
use lbnic_contract::target::regs::Counter;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Fixed latencies of the metadata stages, in cycles. FRONT's is the
/// reference RTL's (parse, Toeplitz, VIP CAM; spec §12.3), from the contract
/// so the RTL's package and the model share one number.
pub const FRONT_LATENCY: u64 = lbnic_contract::target::regs::FRONT_LATENCY;
/// CT_EXEC's, the reference RTL's too (spec §12.3 decision 2): the state is
/// decided when a packet executes, its decision leaves this much later.
pub const CT_EXEC_LATENCY: u64 = lbnic_contract::target::regs::CT_EXEC_LATENCY;
pub const BACKEND_LATENCY: u64 = 2;
pub const REWRITE_LATENCY: u64 = 2;
// The RTL's egress reading a frame again (see `egress_reads`): cycles
// beyond the frame's beats, measured against the RTL.
/// L_PRE, `lbnic_hdr_sums`: the read request, the buffer's latency and the
/// sums' pipeline (`lbnic_csum_pipe`, 3).
const PRE_PASS_CYCLES: u64 = 6;
/// `lbnic_icmp_too_big` pass 1: the request, the latency, S_DECIDE.
const PASS1_CYCLES: u64 = 4;
/// The answer's first beat after a rewrite's, beyond two reads of the frame
/// (REWRITE's own to its status, pass 1).
const ANSWER_CYCLES: u64 = 11;
/// `lbnic_icmp_too_big`'s descriptor and result handshakes.
const TOO_BIG_RESULT_CYCLES: u64 = 3;
/// From the answer's first beat to REWRITE's next packet, beyond pass 2's
/// read of the whole frame: its result (S_RES), the frame's release
/// (E_REL) and the egress back at E_IDLE, measured against the RTL on
/// back-to-back answers (spec §12.3 decision 3).
const PASS2_DONE_CYCLES: u64 = 7;
/// Scrub reads in flight at most.
const SCRUB_INFLIGHT: usize = 4;
/// From CT_EXEC's cycle to the request of a new NAT flow's posted
/// return-entry update (the contract's `CT_POSTED_ISSUE`): the reference
/// RTL writes the packet's own bucket, hashes the return key and reads its
/// candidates' full hints before it posts the update to a unit, which reads
/// a clock after this request and waits for it when posted sooner (spec
/// §12.3 decision 10). The update takes an outstanding slot then, not at
/// CT_EXEC.
const POSTED_ISSUE_CYCLES: u64 = lbnic_contract::target::regs::CT_POSTED_ISSUE;
/// The RTL's posted units (`lbnic_ct_rmw`), each busy with one update from
/// its post until its write is taken.
const UNITS: usize = lbnic_contract::target::regs::CT_RMW_UNITS as usize;
/// From a posted update's data (its request + `read_cycles`) to the first
/// cycle its unit is idle and holds no bucket: the unit's second read (a
/// cycle after the first), its match and its write, measured against the
/// RTL (spec §12.3 decision 11).
const UNIT_FREE: u64 = 12;
/// From a posted update's data to the cycle CT_EXEC may take a packet with
/// one of its buckets that it did not write (the RTL's head is taken as the
/// unit's lock clears); one cycle more for the bucket it wrote (the head
/// takes the write through its forwarding slot).
const UNIT_UNLOCK: u64 = 9;
/// From CT_EXEC's cycle to a new NAT flow's check for a unit (the RTL's
/// S_NAT_HA, after its own bucket's write and the return key's hash): an
/// idle one, and none holding a candidate bucket (its write may fill the
/// bucket whose full hint promised a free way). CT_EXEC takes no packet
/// until it passes: whether the return entry goes in line is known only
/// there, and one in line comes before the next packet (the contract's
/// `CT_UNIT_CHECK`; spec §12.3 decisions 11 and 14).
const UNIT_CHECK: u64 = lbnic_contract::target::regs::CT_UNIT_CHECK;
/// The same for a flow of a VIP that schedules by hash (the contract's
/// `CT_UNIT_CHECK_HASHED`; spec §12.3 decision 16).
const UNIT_CHECK_HASHED: u64 = lbnic_contract::target::regs::CT_UNIT_CHECK_HASHED;
/// From the cycle a held-up check passes to the update's request (the RTL
/// reads the hint, posts, and its unit reads the clock after).
const UNIT_LATE_ISSUE: u64 = 2;
/// A new NAT flow whose own insert found no free way (the RTL searches for
/// a relocation: reads the residents' hints and matches again, 26 clocks)
/// is checked for a unit at `UNIT_CHECK_SEARCH` (the RTL's check comes 36
/// to 44 clocks after the packet executed as its scheduling went; 44 on
/// round robin, the usual case), and its update requests its buckets
/// `SEARCH_ISSUE_EXTRA` later than [`POSTED_ISSUE_CYCLES`]: the RTL holds
/// both to fixed ages (`NAT_CHK_AGE_S`, `NAT_RD_AGE_S`), so their cycles
/// are the same whatever the packet's path (spec §12.3 decision 12).
const UNIT_CHECK_SEARCH: u64 = lbnic_contract::target::regs::CT_UNIT_CHECK_SEARCH;
const SEARCH_ISSUE_EXTRA: u64 =
    lbnic_contract::target::regs::CT_POSTED_ISSUE_SEARCH - lbnic_contract::target::regs::CT_POSTED_ISSUE;
/// A return entry inserted in line: from its reads' data to the first
/// cycle CT_EXEC takes the next packet, when it found a free way (its
/// match, its write) and when it searched for a relocation first (the
/// residents' hints, a second match, the relocation's post or the
/// eviction), measured against the RTL (spec §12.3 decision 12).
const INLINE_FREE: u64 = 10;
const INLINE_SEARCH: u64 = 36;
/// A relocation's target is read-modify-written by a posted unit in the
/// RTL: it reads the bucket `RELOC_ISSUE` cycles after the packet's CT_EXEC
/// cycle for its own insert's relocation, `INLINE_RELOC_ISSUE` after the
/// reads' data of a return entry inserted in line, and holds the bucket,
/// not idle, until `RELOC_UNIT` cycles after that read; measured against
/// the RTL (spec §12.3 decision 13).
const RELOC_ISSUE: u64 = 42;
const INLINE_RELOC_ISSUE: u64 = 34;
const RELOC_UNIT: u64 = 109;
/// Buckets the simulator touches at once (see `Cycle::warm`).
const WARM_GROUP: usize = 8;
/// Source items the simulator lets wait before it runs (memory bound only,
/// no modelled effect).
const SRC_WINDOW: usize = 4096;

/// How far [`Cycle::run`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Every source frame has been taken by RX.
    Taken,
    /// The model has reached the latest arrival (all earlier ones are
    /// admitted or dropped).
    Arrived,
    /// Every frame has left.
    Drained,
}

/// Why a stage could not move its head packet in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stall {
    /// RX finished a frame but FRONT's FIFO was full.
    RxBackpressure,
    /// CT_REQ: the memory had `ct_max_outstanding` reads in flight.
    CtOutstanding,
    /// CT_REQ: not enough memory bandwidth left this cycle.
    CtBandwidth,
    /// CT_EXEC: the bucket read had not returned yet.
    CtLatency,
    /// CT_EXEC: the bucket was locked by a NAT return-entry update.
    CtHazard,
    /// CT_EXEC: a new NAT flow held it until its check for a posted unit
    /// (`CT_UNIT_CHECK` cycles, `CT_UNIT_CHECK_HASHED` on Maglev: its
    /// return key hashed, its candidates' full hints read, which say
    /// whether the entry goes in line).
    CtNatCheck,
    /// CT_EXEC: a new NAT flow's return entry waited for a posted unit
    /// past its check (none idle, or one held a candidate bucket); counted
    /// whether or not a packet waited behind it.
    CtUnits,
    /// CT_EXEC: a new NAT flow's return entry was inserted in line (both
    /// candidates' full hints set), on CT_EXEC's own reads of them.
    CtInline,
    /// CT_EXEC: no bandwidth for its writes.
    CtWriteBandwidth,
    /// A stage's output FIFO was full.
    Backpressure,
    /// TX was still sending the previous frame's beats.
    TxBusy,
    /// TX had a frame but the egress port was still sending the previous
    /// one (port speed, with preamble and inter-frame gap).
    TxPort,
    /// A frame waited at the port while RX was still taking the previous
    /// one's beats (one `datapath_bytes` beat per clock).
    RxDatapath,
}

impl Stall {
    pub const ALL: [Stall; 13] = [
        Stall::RxBackpressure,
        Stall::CtOutstanding,
        Stall::CtBandwidth,
        Stall::CtLatency,
        Stall::CtHazard,
        Stall::CtNatCheck,
        Stall::CtUnits,
        Stall::CtInline,
        Stall::CtWriteBandwidth,
        Stall::Backpressure,
        Stall::TxBusy,
        Stall::TxPort,
        Stall::RxDatapath,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Stall::RxBackpressure => "rx_backpressure",
            Stall::CtOutstanding => "ct_outstanding",
            Stall::CtBandwidth => "ct_bandwidth",
            Stall::CtLatency => "ct_latency",
            Stall::CtHazard => "ct_hazard",
            Stall::CtNatCheck => "ct_nat_check",
            Stall::CtUnits => "ct_units",
            Stall::CtInline => "ct_inline",
            Stall::CtWriteBandwidth => "ct_write_bandwidth",
            Stall::Backpressure => "backpressure",
            Stall::TxBusy => "tx_busy",
            Stall::TxPort => "tx_port",
            Stall::RxDatapath => "rx_datapath",
        }
    }
}

/// The pipeline's stages, in packet order (docs/spec.md §12.2). One index
/// space for everything kept per stage: `CycleStats::busy`,
/// `CycleStats::fifo_high_water` and the input FIFOs (the FIFO in front of
/// a stage; RX's is the source backlog, so RX has no FIFO of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Rx,
    Front,
    CtReq,
    CtExec,
    Backend,
    Rewrite,
    Tx,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Rx,
        Stage::Front,
        Stage::CtReq,
        Stage::CtExec,
        Stage::Backend,
        Stage::Rewrite,
        Stage::Tx,
    ];
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Rx => "rx",
            Stage::Front => "front",
            Stage::CtReq => "ct_req",
            Stage::CtExec => "ct_exec",
            Stage::Backend => "backend",
            Stage::Rewrite => "rewrite",
            Stage::Tx => "tx",
        }
    }
    /// Index into the per-stage arrays.
    #[inline]
    pub const fn i(self) -> usize {
        self as usize
    }
}

/// Stage names in [`Stage`] order, indexing `busy` and `fifo_high_water`.
pub const STAGES: [&str; 7] = {
    let mut n = [""; 7];
    let mut i = 0;
    while i < 7 {
        n[i] = Stage::ALL[i].name();
        i += 1;
    }
    n
};

/// What the cycle model measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CycleStats {
    pub cycles: u64,
    /// Cycles each stage moved a packet (RX, TX: cycles carrying a beat).
    pub busy: [u64; 7],
    /// Cycles a stage's head packet could not move, by cause.
    pub stalls: [u64; 13],
    /// Highest occupancy of each stage's input FIFO; RX's is the port
    /// backlog: frames arrived at the port and waiting for RX (in the
    /// MAC's buffer, or held back at an AXI-Stream source), counted at
    /// each arrival.
    pub fifo_high_water: [usize; 7],
    /// Most bytes in the MAC's receive buffer at once (MAC source).
    pub rx_buffer_high_water: u64,
    /// Frames the MAC dropped because its receive buffer was full.
    pub rx_overflow: u64,
    /// Beats of the frames RX took (an oversize frame's too), not the
    /// cycles it then held a frame for FRONT (`busy` counts those).
    pub rx_beats: u64,
    /// Conntrack bucket reads issued by CT_REQ and NAT return updates.
    pub ct_reads: u64,
    /// Conntrack way writes (updates, inserts, scrubbed ways).
    pub ct_writes: u64,
    /// Packets that took their bucket from an in-flight predecessor.
    pub ct_forwarded: u64,
    pub scrub_reads: u64,
    /// Ways the scrubber reclaimed.
    pub scrubbed: u64,
    /// Of `ct_writes`, the scrubber's (its reclaimed ways before the final
    /// sweep, which writes none).
    pub scrub_writes: u64,
    /// Most reads in flight at once.
    pub ct_outstanding_high_water: u32,
    /// Packets that updated a bucket from a copy older than memory (only
    /// possible with the hazard check off).
    pub stale_reads: u64,
    /// Per packet that left: cycles from arrival at the port to its last
    /// bit leaving the egress port.
    pub latency_cycles: Histogram,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub first_arrival: Option<u64>,
    /// Cycle the egress port finished the last frame (rounded up).
    pub last_egress: u64,
    /// Bytes on the egress wire (`l1_bytes` of every frame that left).
    pub l1_bytes_out: u64,
}

impl CycleStats {
    /// The figures an RTL harness sees at the ports too.
    pub fn edges(&self) -> EdgeStats {
        EdgeStats {
            rx_beats: self.rx_beats,
            tx_beats: self.busy[Stage::Tx.i()],
            rx_port_high_water: self.fifo_high_water[Stage::Rx.i()] as u64,
            rx_datapath_stalls: self.stalls[Stall::RxDatapath as usize],
            tx_port_stalls: self.stalls[Stall::TxPort as usize],
            ct_reads: self.ct_reads,
            ct_writes: self.ct_writes - self.scrub_writes,
            scrub_reads: self.scrub_reads,
            scrub_writes: self.scrub_writes,
            ct_outstanding_high_water: self.ct_outstanding_high_water as u64,
        }
    }
}

/// Where RX's frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RxSource {
    /// A 100G MAC: frames arrive when the wire brings them and wait in its
    /// `rx_buffer_bytes` receive buffer; one arriving to a full buffer is
    /// dropped (`rx_overflow`). The hardware's port.
    #[default]
    Mac,
    /// An AXI-Stream source that RX back-pressures (`tready`): nothing is
    /// lost, frames wait at the source (an RTL testbench's driver).
    Axis,
}

impl RxSource {
    pub fn name(self) -> &'static str {
        match self {
            RxSource::Mac => "mac",
            RxSource::Axis => "axis",
        }
    }
}

/// Model options that are not hardware parameters (those come from the
/// target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleOptions {
    /// The hazard table in CT_REQ (on in the design). Off shows what the
    /// pipeline would do without it.
    pub hazard_check: bool,
    /// The ingress: a MAC that drops on overflow (the hardware), or a
    /// back-pressured AXI-Stream source.
    pub rx_source: RxSource,
    /// Fault injection for tests: a broken hazard table that does not
    /// record packets' bucket reads, so a later packet of the same bucket
    /// reads memory itself instead of taking its predecessor's result.
    /// The equivalence tests must catch it.
    pub cam_forgets_reads: bool,
}

impl Default for CycleOptions {
    fn default() -> Self {
        CycleOptions {
            hazard_check: true,
            rx_source: RxSource::Mac,
            cam_forgets_reads: false,
        }
    }
}

/// Target parameters the clock step uses, copied out once.
#[derive(Debug, Clone, Copy)]
struct Params {
    /// Depth of each stage's input FIFO, by [`Stage`] (RX: none).
    cap: [usize; 7],
    /// Hazard-table entries beyond which dead ones are purged.
    cam_limit: usize,
    bpc: i64,
    ways: i64,
    max_outstanding: usize,
    /// Cycles from a read's issue to its data: latency + burst - 1.
    read_cycles: u64,
    datapath_bytes: u64,
    /// The egress port's time unit is 1/`port_den` cycle: a byte on the
    /// wire takes `port_byte` of them (8 · clock_mhz / (port_gbps · 1000)
    /// cycles, exactly), so the long-run rate is exactly the port's.
    port_den: u128,
    port_byte: u128,
    rx_buffer_bytes: u64,
    /// Scrub reads in flight at most (also bounded by the memory's slots).
    scrub_slots: usize,
}

struct Src {
    seq: u64,
    frame: Vec<u8>,
    arrival: u64,
    ts_ns: u64,
    /// Longer than `max_rx_frame`: an AXI-Stream source still offers it,
    /// so RX takes its beats and drops it at its end (spec §12.3, "the
    /// edges"); a MAC never passes it on.
    oversize: bool,
}

enum SrcItem {
    Pkt(Src),
    Flash(Box<Image>),
}

/// A packet in the pipeline (a slab slot).
#[derive(Default)]
struct Flight {
    seq: u64,
    /// Holds a packet (not on the free list).
    busy: bool,
    frame: Vec<u8>,
    /// The emitted frame; the slot keeps the buffer for its next packet.
    out: Vec<u8>,
    /// Stage boundaries it passed (the output reports them).
    at: PacketCycles,
    /// May leave the stage it is in from this cycle on.
    ready_at: u64,
    meta: Meta,
    /// The bank active when the packet entered: it uses it for every
    /// lookup, whatever commits meanwhile.
    bank: Option<Arc<ActiveBank>>,
    enabled: bool,
    /// Ingress device time, conntrack ticks.
    now: u32,
    /// Its candidate buckets (`a` then `b`; index 0 and 1 below).
    bucket: Option<CtBuckets>,
    /// Cycle its data is there (reads returned, predecessors' forwarded).
    data_at: u64,
    decision: Option<Decision>,
    /// What REWRITE made of it (its output, if any, is `out`).
    sent: Option<Sent>,
    /// The candidate buckets as this packet's own reads returned them
    /// (`a` then `b`); CT_EXEC executes on these copies, or on what a
    /// predecessor left where the hazard table forwards.
    snapshot: Vec<u8>,
    /// Per candidate: taken from the hazard table (forwarded).
    fwd: [bool; 2],
    /// Per candidate: holds a reference in the hazard table.
    held: [bool; 2],
    /// Per candidate: the table entry's write generation when it joined; a
    /// later write (a posted read-modify-write, a scrub) is forwarded.
    joined: [u64; 2],
}

/// A hazard-table entry: a bucket with packets (or the scrubber) between
/// read and update, or locked by a return-entry update.
#[derive(Debug, Clone, Copy)]
struct Cam {
    refs: u32,
    /// Data there (read returned, lock released) from this cycle on.
    ready_at: u64,
    /// Writes to the bucket while in the table: the entry carries the
    /// latest data, which packets holding it take instead of their read.
    gen: u64,
    /// A packet's read is in it, and no posted update or scrub came after:
    /// a later packet takes the bucket from it instead of reading. Under a
    /// scrub or a posted update a packet reads the bucket itself and takes
    /// their write (gen), as the RTL's CT_REQ does (spec §12.3, "the
    /// edges").
    shared: bool,
    /// Posted NAT updates of the bucket not yet read: locked until they
    /// are, then until `ready_at`.
    posted: u32,
}

impl Cam {
    fn live(&self, now: u64) -> bool {
        self.refs > 0 || self.ready_at > now || self.posted > 0
    }
    /// The cycle from which CT_EXEC may take the bucket.
    fn lock(&self) -> u64 {
        if self.posted > 0 {
            u64::MAX
        } else {
            self.ready_at
        }
    }
}

/// Multiplicative hash for bucket numbers (the std SipHash is needlessly
/// slow on the per-cycle path).
#[derive(Default)]
struct BucketHasher(u64);

impl Hasher for BucketHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type CamMap = HashMap<u32, Cam, BuildHasherDefault<BucketHasher>>;

/// A posted NAT return-entry update (the RTL's command to a unit).
#[derive(Debug, Clone, Copy)]
struct Posted {
    /// The cycle it may request its buckets.
    due: u64,
    /// The cycle of its check for a unit: it posts then or, failing it,
    /// when it passes; CT_EXEC takes no packet before.
    check: u64,
    /// The return key's candidate buckets (`n` of them: one when equal).
    b: [u32; 2],
    n: usize,
    /// The one its entry went into: the unit writes only that.
    to: Option<u32>,
    /// Inserted in line by CT_EXEC (no unit), which takes no packet until
    /// [`INLINE_FREE`] or, having `searched`, [`INLINE_SEARCH`] after its
    /// data.
    inline: bool,
    searched: bool,
    /// The target of its entry's relocation (in line only: a unit's, after).
    moved: Option<u32>,
}

/// A posted unit busy with an update: the update's buckets (kept past
/// its read, which empties [`Posted`]'s queue entry) and the first cycle
/// the unit is idle (`u64::MAX` until its read is issued).
#[derive(Debug, Clone, Copy)]
struct Unit {
    b: [u32; 2],
    n: usize,
    idle_at: u64,
}

/// What CT_REQ does with its head this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    /// No conntrack access (stateless, no VIP, ...).
    Pass,
    /// The candidate buckets: per candidate, forwarded from the hazard
    /// table (else read); and how many reads that issues.
    Ct { fwd: [bool; 2], reads: usize },
}

impl Req {
    fn reads(self) -> usize {
        match self {
            Req::Pass => 0,
            Req::Ct { reads, .. } => reads,
        }
    }
    /// Outstanding-read slots: the candidates are one request, a bucket in
    /// each sub-table's channel group, read in parallel.
    fn slots(self) -> usize {
        (self.reads() > 0) as usize
    }
}

/// A packet's conntrack memory in CT_EXEC: its copies of its candidate
/// buckets, and the region for the buckets it read-modify-writes behind
/// (a NAT return entry, a relocation), which the hazard table locks.
struct Window<'a> {
    c: CtBuckets,
    copies: &'a mut [u8],
    mem: &'a mut [u8],
}

impl CtMem for Window<'_> {
    fn bucket(&self, b: u32, len: usize) -> &[u8] {
        if b == self.c.a {
            &self.copies[..len]
        } else if b == self.c.b {
            &self.copies[len..2 * len]
        } else {
            self.mem.bucket(b, len)
        }
    }
    fn bucket_mut(&mut self, b: u32, len: usize) -> &mut [u8] {
        if b == self.c.a {
            &mut self.copies[..len]
        } else if b == self.c.b {
            &mut self.copies[len..2 * len]
        } else {
            self.mem.bucket_mut(b, len)
        }
    }
}

/// A stage's decision about its head packet this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move<T = ()> {
    /// Nothing to move (empty, or the head is not due yet).
    Wait,
    Go(T),
    /// The head is due but cannot move: counted under this cause.
    Stall(Stall),
}

/// D: every stage's move in a cycle, decided from the state at its start.
#[derive(Debug, Clone, Copy)]
struct Next {
    /// Memory beat credit this cycle.
    tokens: i64,
    /// TX sent the last beat of its frame.
    tx_done: bool,
    /// TX starts sending its FIFO's head.
    tx: Move,
    rewrite: bool,
    backend: bool,
    exec: Move,
    req: Move<Req>,
    front: bool,
    /// RX hands its finished frame to FRONT.
    rx_deliver: Move,
    /// RX may start receiving the next frame.
    rx_free: bool,
    /// The scrubber's move for the cycle before (see [`Cycle::step`]).
    scrub: Option<ScrubPlan>,
    /// A frame waits at the port while RX takes the previous one's beats.
    rx_datapath: bool,
    /// The oldest posted NAT update due issues its reads (before CT_REQ's,
    /// as the RTL's units come before its queue at the port).
    posted: bool,
    /// The update waiting for a unit is posted (see [`UNIT_CHECK`]).
    unit_go: bool,
}

/// The scrubber's move as `decide` plans it: its decision, the beats it
/// uses (its read and the sweeps of the buckets whose reads returned), and
/// what the stages must see of it this cycle (its read, the buckets it
/// releases in the hazard table).
#[derive(Debug, Clone, Copy)]
struct ScrubPlan {
    m: ScrubMove,
    /// The cycle it belongs to (the one before `decide`'s).
    at: u64,
    used: i64,
    /// (bucket, completion cycle) of the read it issues.
    read: Option<(u32, u64)>,
    /// Scrub reads in flight that have returned by `at`.
    returned: usize,
}

/// The scrubber's decision in a cycle (see `Cycle::scrub_decide`).
#[derive(Debug, Clone, Copy)]
struct ScrubMove {
    /// Timeouts it may reclaim with; `None`: it pauses.
    to: Option<TimeoutTicks>,
    /// (bucket it steps past, whether it reads it: not if in flight).
    visit: Option<(u32, bool)>,
}

/// The counters `pipeline::emit` moves for a too-big packet: `drop_too_big`,
/// and its answer's fate (sent, rate-limited).
const TOO_BIG_COUNTERS: [Counter; 3] = [
    Counter::DropTooBig,
    Counter::IcmpTooBigSent,
    Counter::IcmpRateLimited,
];

/// A `Forward` that came out too big, as the RTL's `lbnic_icmp_too_big`
/// handles it (an answer implies both passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TooBig {
    /// Pass 1 read the frame (the descriptor alone did not refuse it).
    pass1: bool,
    /// The answer's beats, if one was sent (pass 2 read the frame).
    answer: Option<u64>,
}

/// Whether `lbnic_icmp_too_big` reads an IPv4 frame in pass 1 although no
/// answer came of it: only an ICMP error or a later fragment is refused on
/// the descriptor alone (IPv6's other rules need no frame either, so an
/// IPv6 frame is read only for an answer, sent or rate-limited).
fn pass1_v4(p: &Parsed) -> bool {
    !p.ipv6 && p.icmp_error.is_none() && p.frag != Frag::Later
}

/// Cycles the RTL's egress spends reading a packet's frame again, beyond
/// the model's fixed REWRITE latency: `first`, cycles its first TX beat
/// comes later; `busy`, cycles REWRITE takes no other packet after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EgressReads {
    first: u64,
    busy: u64,
}

/// The extra reads of a frame of `n` beats in the RTL's egress
/// (rtl/lbnic_egress.sv, its L_* lane states; spec §12.3 decision 3), beyond
/// a frame it only rewrites (read right behind the frame before it, as the
/// model's REWRITE and TX take one packet a clock), as measured with
/// `lbnic check --model rtl --against cycle`; such a packet holds back the
/// reads of those behind it until two clocks after its frame's release:
/// - `pre`, an ICMP error under a Forward or ReverseNat: L_PRE reads it
///   once through `lbnic_hdr_sums` (the quoted checksums) before REWRITE:
///   n + 6 cycles;
/// - a too-big Forward: REWRITE (L_RW) reads the whole frame before its
///   status says so, `lbnic_icmp_too_big`'s pass 1 reads it again (n + 4,
///   unless the descriptor refused it), and pass 2 streams the answer
///   while it reads the frame a third time: the answer's first beat comes
///   2n + 11 cycles after a rewrite's, and REWRITE stays busy until pass 2
///   has read the whole frame (the answer's m beats come with its first m,
///   and the unit drains the rest: max(n, m) beats) and the unit has
///   reported: n + 7 more. With no answer, pass 1 and the unit's
///   handshakes (3) hold it.
///
/// GUE's pre-pass is not charged: the RTL takes its sum at RX (spec §12.3
/// decision 3).
fn egress_reads(n: u64, pre: bool, too_big: Option<TooBig>) -> EgressReads {
    let pre = if pre { n + PRE_PASS_CYCLES } else { 0 };
    let (first, busy) = match too_big {
        None => (0, 0),
        Some(TooBig { answer: Some(m), .. }) => {
            let first = 2 * n + ANSWER_CYCLES;
            (first, first + n.max(m) + PASS2_DONE_CYCLES)
        }
        Some(TooBig { pass1, answer: None }) => {
            let pass1 = if pass1 { n + PASS1_CYCLES } else { 0 };
            (0, pass1 + TOO_BIG_RESULT_CYCLES)
        }
    };
    EgressReads {
        first: pre + first,
        busy: pre + busy,
    }
}

pub struct Cycle<B> {
    pub dev: Device<B>,
    pub stats: CycleStats,
    opts: CycleOptions,
    p: Params,
    now: u64,
    src: VecDeque<SrcItem>,
    seq: u64,
    last_arrival: u64,
    slots: Vec<Flight>,
    free: Vec<u32>,
    /// RX: the frame being received and the cycle its last beat is in.
    rx: Option<(u32, u64)>,
    /// The frame in RX is oversize: dropped at its end, not delivered.
    rx_drop: bool,
    /// Each stage's input FIFO, by [`Stage`] (RX's stays empty: its input
    /// is `src`).
    q: [Ring<u32>; 7],
    /// TX: frame being sent, the cycle after its last beat, and the cycle
    /// (rounded up) its last bit leaves the egress port.
    tx: Option<(u32, u64, u64)>,
    /// When the egress port is free, in 1/`port_den` cycles.
    port_free: u128,
    /// REWRITE takes no packet before this cycle: it is still reading the
    /// previous one's frame again (see [`egress_reads`]).
    rewrite_free: u64,
    cam: CamMap,
    /// Completion cycles of reads in flight, ascending (all reads take the
    /// same time).
    reads: Ring<u64>,
    /// Scrub reads in flight: (completes at, bucket).
    scrubs: VecDeque<(u64, u32)>,
    /// Posted NAT return-entry updates not yet read, in order; their
    /// buckets are locked until the write lands.
    posted: VecDeque<Posted>,
    /// The units busy with a posted update, in post order.
    units: Vec<Unit>,
    /// A new NAT flow whose update waits for a unit (see [`UNIT_CHECK`]):
    /// CT_EXEC takes no packet meanwhile.
    unit_wait: Option<Posted>,
    /// CT_EXEC takes no packet before this cycle: a return entry inserted
    /// in line (its reads issued).
    inline_until: u64,
    /// The cycles relocations' units read their targets, in order.
    reloc_reads: VecDeque<u64>,
    scrub_ptr: u32,
    /// What the scrubber's decision for this cycle needs from the stage
    /// moves: the spare beats, registered at the end of the cycle and
    /// decided on in the next `decide`.
    scrub_in: Option<i64>,
    tokens: i64,
    out: Vec<OutPacket>,
    /// Buckets to touch together (see `warm`).
    warm: Vec<u32>,
    /// Items at the front of `src` that have arrived at the port (and,
    /// with the MAC source, are in its buffer).
    src_arrived: usize,
    /// Bytes in the MAC's receive buffer (the arrived frames).
    rx_buf: u64,
    /// Port backlog bookkeeping: frames admitted at the port, frames RX has
    /// started, and the cycles of RX's starts not before the latest
    /// admission (see [`Cycle::admit`]).
    admitted: u64,
    started: u64,
    starts: VecDeque<u64>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Cycle<B> {
    pub fn new(dev: Device<B>) -> Cycle<B> {
        Cycle::with_options(dev, CycleOptions::default())
    }

    pub fn with_options(dev: Device<B>, opts: CycleOptions) -> Cycle<B> {
        let t = &dev.target;
        let depth = t.fifo_depth as usize;
        // CT_EXEC's queue holds every packet whose bucket read is in
        // flight, so it is as deep as the reads the memory takes (a
        // shallower one would cap throughput at depth / latency).
        let mut cap = [depth; 7];
        cap[Stage::Rx.i()] = 0;
        // FRONT's pipeline registers hold the packets of its latency, the
        // FIFO in front of it the rest.
        cap[Stage::Front.i()] = depth + FRONT_LATENCY as usize;
        // Likewise CT_EXEC's pipeline, in front of BACKEND.
        cap[Stage::Backend.i()] = depth + CT_EXEC_LATENCY as usize;
        cap[Stage::CtExec.i()] = depth.max(t.ct_max_outstanding as usize);
        let p = Params {
            cap,
            cam_limit: 4 * (t.ct_max_outstanding as usize + cap.iter().sum::<usize>()) + 64,
            bpc: t.ct_beats_per_cycle as i64,
            ways: t.ct_ways as i64,
            max_outstanding: t.ct_max_outstanding as usize,
            read_cycles: t.ct_latency_cycles as u64
                + (t.ct_ways as u64).div_ceil(t.ct_beats_per_cycle as u64)
                - 1,
            datapath_bytes: t.datapath_bytes as u64,
            port_den: t.port_gbps as u128 * 1000,
            port_byte: 8 * t.clock_mhz as u128,
            rx_buffer_bytes: t.rx_buffer_bytes as u64,
            scrub_slots: SCRUB_INFLIGHT,
        };
        Cycle {
            dev,
            stats: CycleStats::default(),
            opts,
            p,
            now: 0,
            src: VecDeque::new(),
            seq: 0,
            last_arrival: 0,
            slots: Vec::new(),
            free: Vec::new(),
            rx: None,
            rx_drop: false,
            q: std::array::from_fn(|i| Ring::with_capacity(p.cap[i])),
            tx: None,
            port_free: 0,
            rewrite_free: 0,
            cam: CamMap::default(),
            reads: Ring::with_capacity(p.max_outstanding + 1),
            scrubs: VecDeque::new(),
            posted: VecDeque::new(),
            units: Vec::with_capacity(UNITS),
            unit_wait: None,
            inline_until: 0,
            reloc_reads: VecDeque::new(),
            scrub_ptr: 0,
            scrub_in: None,
            tokens: 0,
            out: Vec::new(),
            warm: Vec::with_capacity(WARM_GROUP),
            src_arrived: 0,
            rx_buf: 0,
            admitted: 0,
            started: 0,
            starts: VecDeque::new(),
        }
    }

    fn beats(&self, len: usize) -> u64 {
        (len.max(1) as u64).div_ceil(self.p.datapath_bytes)
    }

    /// The current cycle.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Nanoseconds of modelled time at a cycle.
    pub fn cycle_ns(&self, c: u64) -> u64 {
        let mhz = self.dev.target.clock_mhz as u64;
        c / mhz * 1000 + c % mhz * 1000 / mhz
    }

    /// No packet anywhere in the pipeline (scrubs do not count: they are
    /// settled when the pipeline goes idle).
    fn idle(&self) -> bool {
        self.rx.is_none() && self.tx.is_none() && self.q.iter().all(Ring::is_empty)
    }

    fn alloc(&mut self) -> u32 {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Flight::default());
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[i as usize].busy = true;
        i
    }

    /// Return a slot; its frame buffer becomes the slot's output buffer.
    fn release(&mut self, i: u32) {
        let f = &mut self.slots[i as usize];
        f.busy = false;
        f.bank = None;
        f.decision = None;
        f.sent = None;
        let mut buf = std::mem::take(&mut f.frame);
        if buf.capacity() > f.out.capacity() {
            buf.clear();
            f.out = buf;
        }
        self.free.push(i);
    }

    /// Push onto stage `s`'s input FIFO, keeping its high-water mark.
    #[inline]
    fn push(&mut self, s: Stage, i: u32) {
        let q = &mut self.q[s.i()];
        q.push_back(i);
        let hw = &mut self.stats.fifo_high_water[s.i()];
        *hw = (*hw).max(q.len());
    }

    /// Take the head of stage `s`'s input FIFO (decided to move).
    #[inline]
    fn pop(&mut self, s: Stage) -> u32 {
        self.q[s.i()].pop_front().expect("decided on a head packet")
    }

    fn head(&self, s: Stage) -> Option<&Flight> {
        self.q[s.i()].front().map(|&i| &self.slots[i as usize])
    }

    /// A fixed-latency stage moves its head when it is due and the next
    /// FIFO has room.
    fn fifo_mv(&self, s: Stage, next_room: bool) -> bool {
        next_room && self.head(s).is_some_and(|f| f.ready_at <= self.now)
    }

    /// The oldest packet not yet past CT_EXEC (packets are in order there).
    fn oldest_unexecuted(&self) -> Option<&Flight> {
        [Stage::CtExec, Stage::CtReq, Stage::Front]
            .iter()
            .find_map(|&q| self.head(q))
            .or_else(|| self.rx.map(|(i, _)| &self.slots[i as usize]))
    }

    /// The timeouts the scrubber may apply now: none while a packet of an
    /// older bank is before CT_EXEC (its timeouts may differ).
    fn scrub_timeouts(&self) -> Option<TimeoutTicks> {
        let active = self.dev.active.as_ref()?;
        let oldest = self.oldest_unexecuted().and_then(|f| f.bank.as_ref());
        match oldest {
            Some(b) if !Arc::ptr_eq(b, active) => None,
            _ => Some(active.to),
        }
    }

    /// Ingress time (ticks) no unexecuted packet is older than.
    fn horizon(&self) -> u32 {
        self.oldest_unexecuted().map_or(self.dev.now as u32, |f| f.now)
    }

    /// Reclaim the expired ways of `bucket` at the horizon.
    fn apply_scrub(&mut self, bucket: u32, to: &TimeoutTicks) -> u64 {
        let h = self.horizon();
        let ct = self.dev.ct;
        let n = ct.sweep(self.dev.ct_mem_mut(), bucket, h, to) as u64;
        if let Some(c) = self.cam.get_mut(&bucket).filter(|_| n > 0) {
            c.gen += 1;
        }
        self.stats.scrubbed += n;
        self.stats.ct_writes += n;
        self.stats.scrub_writes += n;
        self.dev.counters.add(Counter::CtAgeouts, n);
        n
    }

    /// Nothing in flight in the memory: every read (the scrubber's and the
    /// NAT return updates' included) has returned before this cycle and no
    /// posted update waits to read, so no bucket is locked either.
    fn quiet(&self) -> bool {
        self.scrubs.is_empty()
            && self.posted.is_empty()
            && self.reloc_reads.is_empty()
            && self.units_idle()
            && self.now >= self.inline_until
            && self.reads.count_while(|&c| c < self.now) == self.reads.len()
    }

    /// End of the run: complete scrubs in flight (the horizon is the device
    /// time) and forget the memory's pending reads. Between packets the
    /// model instead steps until [`Cycle::quiet`].
    fn settle(&mut self) {
        let to = self.dev.active.as_ref().map(|b| b.to);
        while let Some((_, bucket)) = self.scrubs.pop_front() {
            if let Some(to) = &to {
                self.apply_scrub(bucket, to);
            }
        }
        self.reads.clear();
        self.posted.clear();
        self.reloc_reads.clear();
        self.units.clear();
        self.cam.clear();
    }

    /// Scrub as many buckets as `cycles` idle cycles allow: the bandwidth
    /// (`ways` beats a bucket), and the scrubber's reads in flight, each
    /// holding its slot for a read's latency.
    fn scrub_idle(&mut self, cycles: u64) {
        let Some(b) = self.dev.active.clone() else { return };
        let ct = self.dev.ct;
        let by_bandwidth = cycles * self.p.bpc as u64 / self.p.ways as u64;
        let by_latency = cycles / (self.p.read_cycles + 1) * self.p.scrub_slots as u64;
        let n = by_bandwidth.min(by_latency).min(ct.buckets as u64);
        let horizon = self.dev.now as u32;
        let mut reclaimed = 0u64;
        for _ in 0..n {
            reclaimed += ct.sweep(self.dev.ct_mem_mut(), self.scrub_ptr, horizon, &b.to) as u64;
            self.scrub_ptr = (self.scrub_ptr + 1) % ct.buckets;
        }
        self.stats.scrub_reads += n;
        self.stats.scrubbed += reclaimed;
        self.stats.ct_writes += reclaimed;
        self.stats.scrub_writes += reclaimed;
        self.dev.counters.add(Counter::CtAgeouts, reclaimed);
    }

    /// Advance the model until `until` holds.
    fn run(&mut self, until: Until) {
        loop {
            let done = match until {
                Until::Taken => self.src.is_empty(),
                Until::Arrived => self.src.is_empty() || self.now >= self.last_arrival,
                // (a posted update still to read or write is the RTL's
                // `rmw_busy`)
                Until::Drained => {
                    self.src.is_empty() && self.idle() && self.posted.is_empty() && self.units_idle()
                }
            };
            if done {
                self.flush_scrub();
                return;
            }
            if self.idle() {
                let next = match self.src.front() {
                    None => {
                        self.flush_scrub();
                        return;
                    }
                    Some(SrcItem::Pkt(p)) => Some(p.arrival),
                    Some(SrcItem::Flash(_)) => None,
                };
                // Skip the idle time, once the memory has nothing in flight
                // (reads, locks and scrubs finish in real cycles).
                if let Some(arrival) = next.filter(|&a| a > self.now) {
                    if self.quiet() {
                        self.flush_scrub();
                        if self.quiet() {
                            self.settle();
                            self.scrub_idle(arrival - self.now);
                            self.now = arrival;
                            self.tokens = self.p.bpc;
                        }
                    }
                }
            }
            self.step();
        }
    }

    /// CT_REQ's choice for its head packet, from the start-of-cycle state.
    fn req_kind(&self, f: &Flight, sp: Option<&ScrubPlan>) -> Req {
        let Some(c) = f.bucket else { return Req::Pass };
        let mut fwd = [false; 2];
        let mut reads = 0;
        for (k, b) in c.iter().enumerate() {
            fwd[k] = self.opts.hazard_check
                && self
                    .cam_entry(b, sp)
                    .is_some_and(|c| c.live(self.now) && c.shared);
            reads += !fwd[k] as usize;
        }
        Req::Ct { fwd, reads }
    }

    /// One clock. `decide` computes every move of this cycle from the state
    /// at its start (D): the scrubber's move for the cycle just ended (whose
    /// inputs, the beats the stages left and the reads they started, were
    /// registered at its end) and each stage's move, which already sees that
    /// scrub's read, hazard-table entries and beats. `commit` applies them
    /// (Q): the scrub, then the reads that returned, then the stages.
    fn step(&mut self) {
        let now = self.now;
        // What reached the port by this cycle (state at its start).
        self.admit(now);
        let next = self.decide();
        let used = self.commit(&next);
        // The scrubber may take only bandwidth no packet wanted this cycle.
        let spare = if matches!(next.req, Move::Stall(Stall::CtBandwidth)) {
            0
        } else {
            next.tokens - used
        };
        self.scrub_in = Some(spare);
        if self.cam.len() > self.p.cam_limit {
            self.cam.retain(|_, c| c.live(now));
        }
        self.tokens = next.tokens - used;
        self.now += 1;
        self.stats.cycles = self.now;
    }

    /// Commit the scrubber's move for the cycle just ended when no `step`
    /// follows to do it (the pipeline goes idle, or the caller takes over).
    fn flush_scrub(&mut self) {
        if let Some(spare) = self.scrub_in.take() {
            if let Some(plan) = self.plan_scrub(spare, self.now - 1) {
                let used = self.scrub_commit(&plan.m, plan.at);
                debug_assert_eq!(used, plan.used);
                self.tokens -= used;
            }
            self.stats.ct_outstanding_high_water =
                self.stats.ct_outstanding_high_water.max(self.reads.len() as u32);
        }
    }

    /// D: every stage's move this cycle, from the state at its start only
    /// (in particular "room" is the room a FIFO had at the start of the
    /// cycle: registered ready).
    #[inline]
    fn decide(&self) -> Next {
        let now = self.now;
        let scrub = self.scrub_in.and_then(|spare| self.plan_scrub(spare, now - 1));
        let sp = scrub.as_ref();
        let room: [bool; 7] = std::array::from_fn(|i| self.q[i].len() < self.p.cap[i]);
        // Beat credit: `bpc` more each clock, at most one clock's worth
        // banked. A burst may start with any credit left and run into debt
        // (its beats occupy the next clocks), so the long-run rate is
        // exactly `bpc` beats per clock.
        let bpc = self.p.bpc;
        let tokens = (self.tokens - sp.map_or(0, |p| p.used) + bpc).min(bpc);
        // The packets' reads in flight once those done by now have retired
        // (the scrubber's have their own slots: spec §12.3 decision 9).
        let outstanding = self.reads.len() - self.reads.count_while(|&c| c <= now);
        let (tx_done, tx) = self.decide_tx();
        // A new NAT flow's update posts as its check passes (not before
        // its cycle), and CT_EXEC goes on in that cycle.
        let unit_go = self
            .unit_wait
            .as_ref()
            .is_some_and(|w| now >= w.check && self.unit_free(&w.b[..w.n], now));
        // (`ct_units` counts every cycle a flow waits past its check, a
        // packet behind it or not: the units' pressure)
        let exec = match &self.unit_wait {
            Some(w) if now >= w.check && !unit_go => Move::Stall(Stall::CtUnits),
            w => match self.decide_exec(tokens, room[Stage::Backend.i()], sp) {
                Move::Go(()) if w.is_some_and(|w| now < w.check) => Move::Stall(Stall::CtNatCheck),
                Move::Go(()) if self.inline_busy(now) => Move::Stall(Stall::CtInline),
                m => m,
            },
        };
        // Writes (CT_EXEC) go first in the arbiter, then a posted update's
        // reads, then CT_REQ's.
        let execs = matches!(exec, Move::Go(()));
        let mut left = tokens - execs as i64;
        let posted = self
            .posted
            .front()
            .filter(|p| p.due <= now && outstanding < self.p.max_outstanding && left >= 1);
        if let Some(p) = posted {
            left -= p.n as i64 * self.p.ways;
        }
        let posted = posted.is_some();
        let req = self.decide_req(left, outstanding + posted as usize, room[Stage::CtExec.i()], sp);
        let (rx_deliver, rx_free, rx_datapath) = self.decide_rx(room[Stage::Front.i()]);
        Next {
            tokens,
            tx_done,
            tx,
            rewrite: self.rewrite_free <= now && self.fifo_mv(Stage::Rewrite, room[Stage::Tx.i()]),
            backend: self.fifo_mv(Stage::Backend, room[Stage::Rewrite.i()]),
            exec,
            req,
            front: self.fifo_mv(Stage::Front, room[Stage::CtReq.i()]),
            rx_deliver,
            rx_free,
            scrub,
            rx_datapath,
            posted,
            unit_go,
        }
    }

    /// Whether a new NAT flow's update with buckets `b` may be posted at
    /// cycle `t`: a unit is idle and none holds one of `b`.
    fn unit_free(&self, b: &[u32], t: u64) -> bool {
        let mut busy = self.units.iter().filter(|u| u.idle_at > t);
        busy.clone().count() < UNITS && !busy.any(|u| u.b[..u.n].iter().any(|x| b.contains(x)))
    }

    /// A return entry inserted in line holds CT_EXEC: waiting for its
    /// check, its reads, or until [`Cycle::inline_until`].
    fn inline_busy(&self, now: u64) -> bool {
        self.unit_wait.as_ref().is_some_and(|w| w.inline)
            || self.posted.iter().any(|p| p.inline)
            || now < self.inline_until
    }

    /// No unit busy and no new NAT flow waiting for one (the RTL's
    /// `rmw_busy` low, as far as the units go).
    fn units_idle(&self) -> bool {
        self.unit_wait.is_none() && self.units.iter().all(|u| u.idle_at <= self.now)
    }

    /// The hazard-table entry of `b` as the stages see it this cycle: the
    /// scrubber's move for the cycle before applied (its read claims the
    /// bucket, its returned reads release theirs).
    #[inline]
    fn cam_entry(&self, b: u32, sp: Option<&ScrubPlan>) -> Option<Cam> {
        let mut c = self.cam.get(&b).copied();
        if let (Some(p), true) = (sp, self.opts.hazard_check) {
            if let Some((_, data)) = p.read.filter(|r| r.0 == b) {
                c = Some(Cam {
                    refs: 1,
                    ready_at: data,
                    gen: c.map_or(0, |c| c.gen),
                    shared: false,
                    posted: 0,
                });
            }
            for k in 0..p.returned {
                if self.scrubs[k].1 == b {
                    if let Some(c) = c.as_mut() {
                        c.refs -= 1;
                    }
                }
            }
        }
        c
    }

    /// TX: (the frame on the wire sent its last beat, start the next). A
    /// frame starts only once the egress port has finished the previous one.
    #[inline]
    fn decide_tx(&self) -> (bool, Move) {
        let now = self.now;
        let done = matches!(self.tx, Some((_, end, _)) if end <= now);
        let free = self.tx.is_none() || done;
        let mv = if free {
            match self.fifo_mv(Stage::Tx, true) {
                false => Move::Wait,
                // The port frees up during this cycle: the frame follows the
                // previous one on the wire without a gap of its own.
                true if self.port_free < (now as u128 + 1) * self.p.port_den => Move::Go(()),
                true => Move::Stall(Stall::TxPort),
            }
        } else if !self.q[Stage::Tx.i()].is_empty() {
            Move::Stall(Stall::TxBusy)
        } else {
            Move::Wait
        };
        (done, mv)
    }

    /// CT_EXEC: in order, data there, not locked, write bandwidth.
    #[inline]
    fn decide_exec(&self, tokens: i64, room: bool, sp: Option<&ScrubPlan>) -> Move {
        let now = self.now;
        let Some(f) = self.head(Stage::CtExec).filter(|f| f.ready_at <= now) else {
            return Move::Wait;
        };
        let lock = match f.bucket {
            Some(c) if self.opts.hazard_check => c
                .iter()
                .map(|b| self.cam_entry(b, sp).map_or(0, |c| c.lock()))
                .max()
                .unwrap_or(0),
            _ => 0,
        };
        if f.data_at > now {
            Move::Stall(Stall::CtLatency)
        } else if lock > now {
            Move::Stall(Stall::CtHazard)
        } else if !room {
            Move::Stall(Stall::Backpressure)
        } else if f.bucket.is_some() && tokens < 1 {
            Move::Stall(Stall::CtWriteBandwidth)
        } else {
            Move::Go(())
        }
    }

    /// CT_REQ: issue the head's bucket read (or forward), with `left`
    /// beats of credit after CT_EXEC's writes.
    #[inline]
    fn decide_req(&self, left: i64, outstanding: usize, room: bool, sp: Option<&ScrubPlan>) -> Move<Req> {
        let Some(f) = self.head(Stage::CtReq).filter(|f| f.ready_at <= self.now) else {
            return Move::Wait;
        };
        let kind = self.req_kind(f, sp);
        if !room {
            Move::Stall(Stall::Backpressure)
        } else if kind.slots() > 0 && outstanding >= self.p.max_outstanding {
            Move::Stall(Stall::CtOutstanding)
        } else if kind.reads() > 0 && left < 1 {
            Move::Stall(Stall::CtBandwidth)
        } else {
            Move::Go(kind)
        }
    }

    /// RX: (deliver the finished frame to FRONT, RX may start the next, a
    /// frame waits at the port while RX is still taking beats).
    #[inline]
    fn decide_rx(&self, room: bool) -> (Move, bool, bool) {
        let done = matches!(self.rx, Some((_, end)) if end <= self.now);
        // (an oversize frame goes nowhere: it needs no room)
        let deliver = match (done, room || self.rx_drop) {
            (true, true) => Move::Go(()),
            (true, false) => Move::Stall(Stall::RxBackpressure),
            (false, _) => Move::Wait,
        };
        let datapath = self.rx.is_some() && !done && self.src_arrived > 0;
        (
            deliver,
            self.rx.is_none() || matches!(deliver, Move::Go(())),
            datapath,
        )
    }

    /// Q: commit every stage's move (downstream first, which only matters
    /// for the slab's reuse order). Returns the memory beats used.
    #[inline]
    fn commit(&mut self, next: &Next) -> i64 {
        let now = self.now;
        if let Some(p) = &next.scrub {
            let used = self.scrub_commit(&p.m, p.at);
            debug_assert_eq!(used, p.used, "the scrub uses the beats decide planned");
        }
        while self.reads.front().is_some_and(|&c| c <= now) {
            self.reads.pop_front();
        }
        let mut used = 0i64;
        if next.tx_done {
            let (i, _, end) = self.tx.take().expect("tx_done");
            self.finish_tx(i, end);
        }
        if let Some(()) = self.take(next.tx) {
            let i = self.pop(Stage::Tx);
            self.slots[i as usize].at.tx = now;
            let len = self.slots[i as usize].out.len();
            let n = self.beats(len);
            self.stats.busy[Stage::Tx.i()] += n;
            // The port sends the frame from when it is free (within this
            // cycle) for its time on the wire: fractions of a cycle carry
            // over, so back-to-back frames leave at exactly the port rate.
            let start = self.port_free.max(now as u128 * self.p.port_den);
            self.port_free = start + l1_bytes(len as u64) as u128 * self.p.port_byte;
            let wire_end = self.port_free.div_ceil(self.p.port_den) as u64;
            self.tx = Some((i, now + n, wire_end.max(now + n)));
        }
        if next.rewrite {
            self.rewrite(now);
        }
        if next.backend {
            let i = self.pop(Stage::Backend);
            self.stats.busy[Stage::Backend.i()] += 1;
            self.slots[i as usize].ready_at = now + REWRITE_LATENCY;
            self.push(Stage::Rewrite, i);
        }
        self.units.retain(|u| u.idle_at > now);
        if next.unit_go {
            let mut w = self.unit_wait.take().expect("unit_go");
            w.due = w.due.max(now + UNIT_LATE_ISSUE);
            self.post(w);
        }
        if let Some(()) = self.take(next.exec) {
            used += self.exec(now);
        }
        if next.posted {
            used += self.issue_posted(now);
        }
        // (a unit's read: it may exceed `ct_max_outstanding` by one, §12.2)
        while self.reloc_reads.front().is_some_and(|&t| t <= now) {
            self.reloc_reads.pop_front();
            self.reads.push_back(now + self.p.read_cycles);
            used += self.p.ways;
        }
        if let Some(kind) = self.take(next.req) {
            used += self.request(kind, now);
        }
        if next.front {
            let i = self.pop(Stage::Front);
            self.stats.busy[Stage::Front.i()] += 1;
            self.slots[i as usize].at.ct_req = now;
            self.slots[i as usize].ready_at = now + 1;
            self.push(Stage::CtReq, i);
        }
        if let Some(()) = self.take(next.rx_deliver) {
            self.rx_deliver(now);
        }
        if next.rx_datapath {
            self.stats.stalls[Stall::RxDatapath as usize] += 1;
        }
        if next.rx_free {
            self.rx_start(now);
        }
        if self.rx.is_some() {
            self.stats.busy[Stage::Rx.i()] += 1;
        }
        // Reads in flight during this cycle, every issue of it included.
        self.stats.ct_outstanding_high_water =
            self.stats.ct_outstanding_high_water.max(self.reads.len() as u32);
        used
    }

    /// The move to make, if any; a stall is counted.
    #[inline]
    fn take<T>(&mut self, m: Move<T>) -> Option<T> {
        match m {
            Move::Go(t) => Some(t),
            Move::Stall(s) => {
                self.stats.stalls[s as usize] += 1;
                None
            }
            Move::Wait => None,
        }
    }

    /// REWRITE's move: emit the frame, or drop it. Where the RTL's egress
    /// reads the frame from the packet buffer more than once (see
    /// [`egress_reads`]), the output waits for those reads and REWRITE takes
    /// no other packet meanwhile.
    fn rewrite(&mut self, now: u64) {
        let i = self.pop(Stage::Rewrite);
        self.stats.busy[Stage::Rewrite.i()] += 1;
        let w = self.p.datapath_bytes;
        let beats = |len: usize| (len.max(1) as u64).div_ceil(w);
        let f = &mut self.slots[i as usize];
        let n = beats(f.frame.len());
        let d = f.decision.expect("executed");
        let c = &self.dev.counters;
        let before = TOO_BIG_COUNTERS.map(|k| c.get(k));
        f.sent = pipeline::emit(
            &f.frame,
            f.bank.as_deref(),
            &f.meta,
            d,
            &mut f.out,
            &mut self.dev.counters,
            &mut self.dev.icmp,
        );
        let emitted = f.sent.is_some();
        let c = &self.dev.counters;
        let [too_big, sent, limited] = std::array::from_fn(|k| c.get(TOO_BIG_COUNTERS[k]) > before[k]);
        let out_beats = (emitted && sent).then(|| beats(f.out.len()));
        let too_big = (too_big && matches!(d, Decision::Forward { .. })).then(|| TooBig {
            pass1: sent || limited || f.meta.parsed.as_ref().is_some_and(pass1_v4),
            answer: out_beats,
        });
        let pre = matches!(d, Decision::Forward { .. } | Decision::ReverseNat { .. })
            && f.meta.parsed.as_ref().is_some_and(|p| p.icmp_error.is_some());
        let r = egress_reads(n, pre, too_big);
        self.rewrite_free = now + 1 + r.busy;
        if emitted {
            f.ready_at = now + 1 + r.first;
            self.push(Stage::Tx, i);
        } else {
            self.release(i);
        }
    }

    /// RX hands its finished frame to FRONT, which classifies it.
    fn rx_deliver(&mut self, now: u64) {
        let (i, _) = self.rx.take().expect("rx_deliver");
        if std::mem::take(&mut self.rx_drop) {
            self.release(i);
            return;
        }
        let d = &mut self.dev;
        let f = &mut self.slots[i as usize];
        pipeline::classify_into(
            &mut f.meta,
            f.bank.as_deref(),
            f.enabled,
            &f.frame,
            f.now,
            d.ct.buckets,
            &mut d.counters,
        );
        f.bucket = f.meta.class.bucket();
        f.ready_at = now + FRONT_LATENCY;
        let bucket = f.bucket;
        self.push(Stage::Front, i);
        if let Some(c) = bucket {
            self.warm(c.a);
        }
    }

    /// Simulator speed only (no modelled effect): gather the buckets packets
    /// will read and touch them a group at a time, so the host's cache
    /// misses overlap long before CT_EXEC needs the data.
    fn warm(&mut self, bucket: u32) {
        self.warm.push(bucket);
        if self.warm.len() < WARM_GROUP {
            return;
        }
        let mem = self.dev.ct_mem();
        let mut acc = 0u8;
        for &b in &self.warm {
            // Way 0's line, as in the functional model's batches.
            acc ^= mem[self.dev.ct.bucket_range(b).start];
        }
        std::hint::black_box(acc);
        self.warm.clear();
    }

    /// CT_EXEC's move: conntrack and scheduling for the head packet, on
    /// the bucket data it received: its own reads' copies, or the hazard
    /// table's latest data where it forwards (a predecessor's result, a
    /// posted read-modify-write or a scrub that landed since it joined).
    /// The result is written back to memory and the table. Returns the
    /// memory beats used.
    fn exec(&mut self, now: u64) -> i64 {
        let i = self.pop(Stage::CtExec);
        self.stats.busy[Stage::CtExec.i()] += 1;
        let blen = self.dev.ct.bucket_range(0).len();
        let f = &mut self.slots[i as usize];
        let (d, fx) = if let Some(c) = f.bucket {
            let mut stale = false;
            for (k, b) in c.iter().enumerate() {
                let mem = &self.dev.ct_mem()[self.dev.ct.bucket_range(b)];
                let copy = &mut f.snapshot[k * blen..(k + 1) * blen];
                let newer = f.held[k] && self.cam.get(&b).is_some_and(|e| e.gen != f.joined[k]);
                if f.fwd[k] || newer {
                    copy.copy_from_slice(mem);
                } else if !f.held[k] && copy != mem {
                    // Only without a (working) hazard table.
                    stale = true;
                }
            }
            self.stats.stale_reads += stale as u64;
            let x = self.dev.exec_parts();
            let mut w = Window {
                c,
                copies: &mut f.snapshot,
                mem: &mut *x.mem,
            };
            let r = pipeline::execute_on(
                &mut crate::device::Exec {
                    mem: &mut w,
                    ct: x.ct,
                    hints: &mut *x.hints,
                    ct_host: x.ct_host,
                    no_vip: x.no_vip,
                    parse_action: x.parse_action,
                    counters: &mut *x.counters,
                    rr: &mut *x.rr,
                },
                f.bank.as_deref(),
                &f.meta,
            );
            // Write the packet's buckets back.
            for (k, b) in c.iter().enumerate() {
                let r = self.dev.ct.bucket_range(b);
                self.dev.ct_mem_mut()[r].copy_from_slice(&f.snapshot[k * blen..(k + 1) * blen]);
                if f.held[k] {
                    if let Some(e) = self.cam.get_mut(&b) {
                        e.refs -= 1;
                        e.gen += 1;
                    }
                }
            }
            r
        } else {
            pipeline::execute_with_effects(&mut self.dev, f.bank.as_deref(), &f.meta)
        };
        f.decision = Some(d);
        f.at.decided = now + CT_EXEC_LATENCY;
        f.ready_at = now + CT_EXEC_LATENCY + BACKEND_LATENCY;
        let used = fx.writes as i64;
        self.stats.ct_writes += fx.writes as u64;
        // Posted read-modify-writes, whether or not the packet read the
        // bucket too (the RTL's unit reads both of its buckets, spec §12.3
        // "the edges"): each bucket costs its burst and stays locked until
        // its write has landed. A relocation's target is its unit's request
        // to the memory, `RELOC_ISSUE` cycles on (it may exceed
        // `ct_max_outstanding` by one; spec §12.2); a NAT return entry's
        // candidates are one request `POSTED_ISSUE_CYCLES` on, or when a
        // slot is free then (`issue_posted`), locked meanwhile.
        let data = now + self.p.read_cycles;
        let mut nat = ([0u32; 2], 0usize);
        for (k, &rb) in fx.rmw().iter().enumerate() {
            self.stats.ct_reads += 1;
            let is_nat = fx.rmw_is_nat(k) && nat.1 < 2;
            if is_nat {
                nat.0[nat.1] = rb;
                nat.1 += 1;
            }
            if self.opts.hazard_check {
                let c = self.cam.entry(rb).or_insert(Cam {
                    refs: 0,
                    ready_at: 0,
                    gen: 0,
                    shared: false,
                    posted: 0,
                });
                if is_nat {
                    c.posted += 1;
                } else {
                    c.ready_at = c.ready_at.max(data + 1);
                }
                c.gen += 1;
                c.shared = false;
            }
        }
        if let (Some(t), _) = fx.moved() {
            self.reloc(t, now + RELOC_ISSUE);
        }
        if nat.1 > 0 {
            let (own_search, searched) = fx.searched();
            let late = own_search as u64;
            self.unit_wait = Some(Posted {
                due: now + POSTED_ISSUE_CYCLES + late * SEARCH_ISSUE_EXTRA,
                check: now
                    + if own_search {
                        UNIT_CHECK_SEARCH
                    } else if fx.nat_hashed() {
                        UNIT_CHECK_HASHED
                    } else {
                        UNIT_CHECK
                    },
                b: nat.0,
                n: nat.1,
                to: fx.nat_to(),
                inline: fx.nat_inline(),
                searched,
                moved: fx.moved().1,
            });
        }
        self.push(Stage::Backend, i);
        used
    }

    /// A relocation's unit: it reads target `t` at cycle `at` and is busy,
    /// holding `t`, until [`RELOC_UNIT`] cycles after.
    fn reloc(&mut self, t: u32, at: u64) {
        let k = self.reloc_reads.partition_point(|&x| x <= at);
        self.reloc_reads.insert(k, at);
        self.units.push(Unit {
            b: [t, 0],
            n: 1,
            idle_at: at + RELOC_UNIT,
        });
    }

    /// Hand a NAT return entry's update to a unit.
    fn post(&mut self, p: Posted) {
        if !p.inline {
            self.units.push(Unit {
                b: p.b,
                n: p.n,
                idle_at: u64::MAX,
            });
        }
        self.posted.push_back(p);
    }

    /// The oldest posted NAT update's reads: its slot, its bursts, its
    /// buckets locked until its data is there. Returns the beats used.
    fn issue_posted(&mut self, now: u64) -> i64 {
        let p = self.posted.pop_front().expect("a posted update is due");
        let data = now + self.p.read_cycles;
        self.reads.push_back(data);
        // (units are issued in post order; one in line takes none)
        if p.inline {
            self.inline_until = data + if p.searched { INLINE_SEARCH } else { INLINE_FREE };
        } else if let Some(u) = self.units.iter_mut().find(|u| u.idle_at == u64::MAX) {
            u.idle_at = data + UNIT_FREE;
        }
        if let Some(t) = p.moved {
            self.reloc(t, data + INLINE_RELOC_ISSUE);
        }
        if self.opts.hazard_check {
            for &rb in &p.b[..p.n] {
                if let Some(c) = self.cam.get_mut(&rb) {
                    c.posted -= 1;
                    let wrote = p.to == Some(rb);
                    c.ready_at = c.ready_at.max(data + UNIT_UNLOCK + wrote as u64);
                }
            }
        }
        p.n as i64 * self.p.ways
    }

    /// CT_REQ's move: read each candidate bucket not in the hazard table,
    /// take the others from it. Returns the memory beats used.
    fn request(&mut self, kind: Req, now: u64) -> i64 {
        let i = self.pop(Stage::CtReq);
        self.stats.busy[Stage::CtReq.i()] += 1;
        let mut used = 0;
        let mut data_at = now;
        if let (Req::Ct { fwd, .. }, Some(c)) = (kind, self.slots[i as usize].bucket) {
            let blen = self.dev.ct.bucket_range(0).len();
            let mut held = [false; 2];
            let mut joined = [0u64; 2];
            let mut snap = std::mem::take(&mut self.slots[i as usize].snapshot);
            snap.resize(2 * blen, 0);
            for (k, b) in c.iter().enumerate() {
                if fwd[k] {
                    self.stats.ct_forwarded += 1;
                    let e = self.cam.get_mut(&b).expect("forwarded from a live entry");
                    e.refs += 1;
                    data_at = data_at.max(e.ready_at);
                    (held[k], joined[k]) = (true, e.gen);
                    continue;
                }
                let data = now + self.p.read_cycles;
                used += self.p.ways;
                self.stats.ct_reads += 1;
                data_at = data_at.max(data);
                // The read returns memory as it is now: no write to the
                // bucket is pending (else it would be in the table) but a
                // scrub's, whose zeroes the packet takes at CT_EXEC (gen),
                // or a posted update's, which the model applied as its
                // packet executed.
                let r = self.dev.ct.bucket_range(b);
                snap[k * blen..(k + 1) * blen].copy_from_slice(&self.dev.ct_mem()[r]);
                if self.opts.hazard_check && !self.opts.cam_forgets_reads {
                    let e = self.cam.entry(b).or_insert(Cam {
                        refs: 0,
                        ready_at: 0,
                        gen: 0,
                        shared: true,
                        posted: 0,
                    });
                    if !e.live(now) {
                        e.refs = 0;
                    }
                    e.refs += 1;
                    e.shared = true;
                    e.ready_at = e.ready_at.max(data);
                    (held[k], joined[k]) = (true, e.gen);
                }
            }
            if kind.slots() > 0 {
                self.reads.push_back(now + self.p.read_cycles);
            }
            let f = &mut self.slots[i as usize];
            f.snapshot = snap;
            (f.fwd, f.held, f.joined) = (fwd, held, joined);
        }
        let f = &mut self.slots[i as usize];
        f.data_at = data_at;
        f.ready_at = now + 1;
        self.push(Stage::CtExec, i);
        used
    }

    /// The scrubber's decision for cycle `at`, made in the next cycle's
    /// pure `decide` from the state at that cycle's start, which is the
    /// state cycle `at` ended in. What it sees:
    /// - `spare` (registered at the end of `at`): the beats CT_EXEC's writes
    ///   and CT_REQ's read left, 0 if CT_REQ was refused bandwidth;
    /// - its own reads in flight (`SCRUB_INFLIGHT` slots of its own: it
    ///   never holds one of the packets' `ct_max_outstanding`, decision 9);
    /// - the hazard table with `at`'s reads and releases, so it never reads
    ///   a bucket a packet just claimed;
    /// - the bank RX's flash (if any) made active and the oldest packet not
    ///   yet past CT_EXEC (for its timeouts and horizon);
    /// - whether any packet is left in the pipeline.
    ///
    /// Its read is stamped `at`, and the stages deciding the next cycle see
    /// it (the read in flight, the bucket locked, the beats taken), exactly
    /// as a scrubber arbitrating for `at`'s leftover bandwidth would leave
    /// them.
    #[inline]
    fn scrub_decide(&self, spare: i64, at: u64, returned: usize) -> ScrubMove {
        let wants = !self.idle() && spare >= self.p.ways && self.scrubs.len() < self.p.scrub_slots;
        // The timeouts (a look for the oldest packet) only when a read may
        // go out or a returned one is swept.
        let to = if wants || returned > 0 {
            self.scrub_timeouts()
        } else {
            None
        };
        let issue = wants && to.is_some();
        let visit = issue.then(|| {
            let bucket = self.scrub_ptr;
            (bucket, !self.cam.get(&bucket).is_some_and(|c| c.live(at)))
        });
        ScrubMove { to, visit }
    }

    /// The scrubber's move for cycle `at` with what it costs: its decision,
    /// its read, and the ways its returned reads reclaim (counted, not yet
    /// cleared).
    /// `None` when it does nothing (no read to issue, none returned).
    #[inline]
    fn plan_scrub(&self, spare: i64, at: u64) -> Option<ScrubPlan> {
        let mut returned = 0;
        while returned < self.scrubs.len() && self.scrubs[returned].0 <= at {
            returned += 1;
        }
        let m = self.scrub_decide(spare, at, returned);
        if m.visit.is_none() && returned == 0 {
            return None;
        }
        let read = m.visit.filter(|v| v.1).map(|(b, _)| (b, at + self.p.read_cycles));
        let mut used = read.map_or(0, |_| self.p.ways);
        if let Some(to) = m.to.as_ref().filter(|_| returned > 0) {
            let horizon = self.horizon();
            let ct = self.dev.ct;
            for k in 0..returned {
                let b = self.scrubs[k].1;
                // A bucket swept twice has nothing left the second time.
                if !(0..k).any(|j| self.scrubs[j].1 == b) {
                    used += ct.expired_ways(self.dev.ct_mem(), b, horizon, to) as i64;
                }
            }
        }
        Some(ScrubPlan {
            m,
            at,
            used,
            read,
            returned,
        })
    }

    /// The scrubber's commit for cycle `at`: step past the visited bucket
    /// and read it if it was not in flight; reclaim the buckets whose reads
    /// have returned. Returns the beats used.
    #[inline]
    fn scrub_commit(&mut self, m: &ScrubMove, at: u64) -> i64 {
        let now = at;
        let mut used = 0;
        if let Some((bucket, read)) = m.visit {
            self.scrub_ptr = (self.scrub_ptr + 1) % self.dev.ct.buckets;
            if read {
                let data = now + self.p.read_cycles;
                used += self.p.ways;
                // (its own slot, not a packet's: `scrubs` counts it)
                self.scrubs.push_back((data, bucket));
                self.stats.scrub_reads += 1;
                if self.opts.hazard_check {
                    // Packets reaching CT_REQ meanwhile read the bucket and
                    // take the scrub's write (`Cam::scrub`).
                    let gen = self.cam.get(&bucket).map_or(0, |c| c.gen);
                    self.cam.insert(
                        bucket,
                        Cam {
                            refs: 1,
                            ready_at: data,
                            gen,
                            shared: false,
                            posted: 0,
                        },
                    );
                }
            }
        }
        while self.scrubs.front().is_some_and(|&(d, _)| d <= now) {
            let (_, bucket) = self.scrubs.pop_front().expect("front");
            // Nothing is reclaimed while older-bank packets are in flight.
            if let Some(to) = &m.to {
                used += self.apply_scrub(bucket, to) as i64;
            }
            if let Some(c) = self.cam.get_mut(&bucket).filter(|_| self.opts.hazard_check) {
                c.refs -= 1;
            }
        }
        used
    }

    /// Frames that reach the port by cycle `now` arrive: with the MAC
    /// source each goes into the receive buffer, or is dropped when it does
    /// not fit (`rx_overflow`); an AXI-Stream source holds them. Also keeps
    /// the port backlog statistic: at a frame's arrival, the frames arrived
    /// minus those RX had started before it. The starts are remembered
    /// until no earlier arrival can come, so the figure is exact even when
    /// the simulator ran ahead of its input (AXI-Stream source, see
    /// [`Cycle::input_at_cycle`]).
    fn admit(&mut self, now: u64) {
        while let Some(it) = self.src.get(self.src_arrived) {
            let (arrival, len) = match it {
                SrcItem::Flash(_) => {
                    self.src_arrived += 1;
                    continue;
                }
                SrcItem::Pkt(p) if p.arrival <= now => (p.arrival, p.frame.len() as u64),
                SrcItem::Pkt(_) => return,
            };
            if self.opts.rx_source == RxSource::Mac && self.rx_buf + len > self.p.rx_buffer_bytes {
                self.src.remove(self.src_arrived);
                self.stats.rx_overflow += 1;
                self.dev.counters.inc(Counter::RxOverflow);
                continue;
            }
            self.src_arrived += 1;
            self.rx_buf += len;
            self.admitted += 1;
            while self.starts.front().is_some_and(|&c| c < arrival) {
                self.starts.pop_front();
            }
            let backlog = self.admitted - (self.started - self.starts.len() as u64);
            let hw = &mut self.stats.fifo_high_water[Stage::Rx.i()];
            *hw = (*hw).max(backlog as usize);
            if self.opts.rx_source == RxSource::Mac {
                self.stats.rx_buffer_high_water = self.stats.rx_buffer_high_water.max(self.rx_buf);
            }
        }
    }

    fn rx_start(&mut self, now: u64) {
        while self.src_arrived > 0 {
            self.src_arrived -= 1;
            match self.src.pop_front() {
                Some(SrcItem::Flash(img)) => {
                    if let Err(e) = self.dev.flash(&img) {
                        tracing::warn!("flash at packet boundary refused: {e}");
                    }
                }
                Some(SrcItem::Pkt(p)) => {
                    self.rx_buf -= p.frame.len() as u64;
                    self.started += 1;
                    self.starts.push_back(now);
                    let n = self.beats(p.frame.len());
                    self.stats.rx_beats += n;
                    // (an oversize frame moves no device time: it never
                    // reaches conntrack)
                    let ingress = match p.oversize {
                        false => self.dev.set_time_ns(p.ts_ns),
                        true => self.dev.now as u32,
                    };
                    let (bank, enabled) = (self.dev.active.clone(), self.dev.enabled());
                    let i = self.alloc();
                    let f = &mut self.slots[i as usize];
                    f.seq = p.seq;
                    f.frame = p.frame;
                    f.at = PacketCycles {
                        arrival: p.arrival,
                        ingress: now,
                        rx_done: now + n,
                        ..PacketCycles::default()
                    };
                    f.ready_at = now + n;
                    f.bank = bank;
                    f.enabled = enabled;
                    f.now = ingress;
                    f.bucket = None;
                    f.data_at = 0;
                    self.rx = Some((i, now + n));
                    self.rx_drop = p.oversize;
                    return;
                }
                None => unreachable!("arrived items are in the source"),
            }
        }
    }

    /// A frame's last beat left TX; `end` is the cycle its last bit left
    /// the egress port.
    fn finish_tx(&mut self, i: u32, end: u64) {
        let f = &mut self.slots[i as usize];
        let data = std::mem::take(&mut f.out);
        let (seq, at, sent) = (f.seq, f.at, f.sent);
        self.release(i);
        self.stats.packets_out += 1;
        self.stats.bytes_out += data.len() as u64;
        self.stats.l1_bytes_out += l1_bytes(data.len() as u64);
        self.stats.last_egress = end;
        let latency = end - at.arrival;
        self.stats.latency_cycles.record(latency);
        let ts_ns = self.cycle_ns(end);
        self.out.push(OutPacket {
            data,
            ts_ns,
            seq,
            cycles: Some(PacketCycles { egress: end, ..at }),
            sent,
        });
    }

    /// Run now up to the latest arrival (with a back-pressured source:
    /// until RX has taken every frame), instead of when the source queue
    /// fills: a cluster replay's router learns NAT flows from what the
    /// nodes have sent so far. The cycles run are the same either way.
    pub fn catch_up(&mut self) {
        self.run(match self.opts.rx_source {
            RxSource::Mac => Until::Arrived,
            RxSource::Axis => Until::Taken,
        });
    }

    /// Offer a frame at an explicit arrival cycle (for back-to-back replay
    /// at a port speed, or tests); `input` converts pcap time instead.
    pub fn input_at_cycle(&mut self, frame: Vec<u8>, arrival: u64, ts_ns: u64) {
        let arrival = arrival.max(self.last_arrival);
        self.last_arrival = arrival;
        self.stats.packets_in += 1;
        self.stats.bytes_in += frame.len() as u64;
        self.stats.first_arrival.get_or_insert(arrival);
        let seq = self.seq;
        self.seq += 1;
        // The length check: a MAC never lets an oversize frame in; from an
        // AXI-Stream source RX takes it and drops it.
        let oversize = !self.dev.mac_accepts(frame.len());
        if oversize && self.opts.rx_source == RxSource::Mac {
            return;
        }
        self.src.push_back(SrcItem::Pkt(Src {
            seq,
            frame,
            arrival,
            ts_ns,
            oversize,
        }));
        // A frame whose cycle the model has reached arrives now (the state
        // the next cycle starts from).
        if arrival <= self.now {
            self.admit(self.now);
        }
        // Keep the source queue short. The MAC's admissions must happen at
        // their cycle, so the model runs only up to the latest arrival (the
        // buffer bounds what waits); an AXI-Stream source may be far behind
        // (e.g. `--timing max`), so the model takes its frames in.
        if self.src.len() > SRC_WINDOW {
            self.run(match self.opts.rx_source {
                RxSource::Mac => Until::Arrived,
                RxSource::Axis => Until::Taken,
            });
        }
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Model for Cycle<B> {
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64) {
        // Integer arithmetic: epoch nanoseconds do not fit an f64 exactly.
        let arrival = (ts_ns as u128 * self.dev.target.clock_mhz as u128 / 1000) as u64;
        self.input_at_cycle(frame, arrival, ts_ns);
    }
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        img.expect_target(&self.dev.target)?;
        if self.src.is_empty() && self.idle() {
            return self.dev.flash(img);
        }
        self.src.push_back(SrcItem::Flash(Box::new(img.clone())));
        Ok(())
    }
    fn finish(&mut self) {
        self.run(Until::Drained);
        self.settle();
        // Final sweep: the scrubber's pass over the whole table.
        if let Some(b) = self.dev.active.clone() {
            let ct = self.dev.ct;
            let h = self.dev.now as u32;
            let mut n = 0u64;
            for bucket in 0..ct.buckets {
                n += ct.sweep(self.dev.ct_mem_mut(), bucket, h, &b.to) as u64;
            }
            self.stats.scrubbed += n;
            self.dev.counters.add(Counter::CtAgeouts, n);
        }
    }
    fn take_output(&mut self) -> Vec<OutPacket> {
        // The next batch likely has as many packets: keep the capacity.
        let cap = self.out.len();
        std::mem::replace(&mut self.out, Vec::with_capacity(cap))
    }
    fn take_output_into(&mut self, dst: &mut Vec<OutPacket>) {
        dst.clear();
        std::mem::swap(&mut self.out, dst);
    }
    fn counters(&self) -> &Counters {
        &self.dev.counters
    }
    /// The oldest packet still waiting at the source or in a slot: the
    /// pipeline holds at most a few hundred, so a scan is cheap next to the
    /// 256 inputs a replay hands on between two calls.
    fn settled(&self) -> u64 {
        let queued = self.src.iter().find_map(|s| match s {
            SrcItem::Pkt(p) => Some(p.seq),
            SrcItem::Flash(_) => None,
        });
        let flying = self.slots.iter().filter(|f| f.busy).map(|f| f.seq).min();
        [queued, flying].into_iter().flatten().min().unwrap_or(self.seq)
    }
}

/// A FIFO over a power-of-two ring: the model pushes and pops a few times
/// per clock, and `VecDeque`'s general bookkeeping showed up in profiles.
#[derive(Debug, Clone)]
struct Ring<T> {
    buf: Vec<T>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    fn with_capacity(n: usize) -> Ring<T> {
        Ring {
            buf: vec![T::default(); n.max(2).next_power_of_two()],
            head: 0,
            len: 0,
        }
    }
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
    #[inline]
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    fn front(&self) -> Option<&T> {
        (self.len > 0).then(|| &self.buf[self.head])
    }
    #[inline]
    fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let v = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(v)
    }
    #[inline]
    fn push_back(&mut self, v: T) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let mask = self.buf.len() - 1;
        self.buf[(self.head + self.len) & mask] = v;
        self.len += 1;
    }
    #[cold]
    fn grow(&mut self) {
        let mut b = Vec::with_capacity(self.buf.len() * 2);
        while let Some(v) = self.pop_front() {
            b.push(v);
        }
        let n = b.len();
        b.resize(n * 2, T::default());
        self.buf = b;
        self.head = 0;
        self.len = n;
    }
    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
    /// How many leading items `keep` holds for (the ring's order).
    #[inline]
    fn count_while(&self, keep: impl Fn(&T) -> bool) -> usize {
        let mask = self.buf.len() - 1;
        (0..self.len)
            .take_while(|&k| keep(&self.buf[(self.head + k) & mask]))
            .count()
    }
}

#[cfg(test)]
mod ring_tests {
    use super::Ring;

    #[test]
    fn fifo_order_across_wrap_and_growth() {
        let mut r: Ring<u32> = Ring::with_capacity(4);
        let mut next = 0;
        let mut want = 0;
        for round in 0..50 {
            for _ in 0..(round % 7) {
                r.push_back(next);
                next += 1;
            }
            for _ in 0..(round % 5) {
                if let Some(v) = r.pop_front() {
                    assert_eq!(v, want);
                    want += 1;
                }
            }
            assert_eq!(r.len() as u32, next - want);
        }
        while let Some(v) = r.pop_front() {
            assert_eq!(v, want);
            want += 1;
        }
        assert!(r.is_empty() && r.front().is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RTL's measured egress cycles (spec §12.3): a 141-beat frame.
    #[test]
    fn egress_reads_charge_the_rtls_passes() {
        let n = 141;
        let none = EgressReads { first: 0, busy: 0 };
        assert_eq!(egress_reads(n, false, None), none);
        assert_eq!(egress_reads(2, true, None), EgressReads { first: 8, busy: 8 });
        // An answer of 10 beats: 2n + 11 to its first beat; pass 2 reads
        // all 141 beats of the frame (10 of them with the answer's), then
        // 7 cycles of results and release.
        let sent = TooBig {
            pass1: true,
            answer: Some(10),
        };
        assert_eq!(
            egress_reads(n, false, Some(sent)),
            EgressReads {
                first: 293,
                busy: 293 + 148
            }
        );
        // No DF: pass 1 only; the RTL's egress one packet at a time took
        // 2n + 14 cycles against a rewritten frame's n + 7.
        let no_df = TooBig {
            pass1: true,
            answer: None,
        };
        assert_eq!(
            egress_reads(n, false, Some(no_df)),
            EgressReads {
                first: 0,
                busy: n + 7
            }
        );
        let refused = TooBig {
            pass1: false,
            answer: None,
        };
        assert_eq!(
            egress_reads(n, true, Some(refused)),
            EgressReads {
                first: n + 6,
                busy: n + 9
            }
        );
    }
}
