//! The device as the host sees it: the register block and the memory
//! aperture of the contract, over a byte buffer the size of the BAR (a
//! `Vec<u8>` in-process, a shared-memory file for `lbnic serve`). Host
//! writes land in the buffer; [`Device::poll`] acts on them (doorbell,
//! self-clearing control bits) and [`Device::publish`] writes the device's
//! read-only registers and counters back.

use crate::ct::{CtMem, CtTable, FullHints, TimeoutTicks};
use crate::packet::icmp::RateLimit;
use lbnic_contract::image::{Bank, Image, ImageKind};
use lbnic_contract::lookup::{best_vip, ct_bucket, proto_matches};
use lbnic_contract::target::ct::CtKey;
use lbnic_contract::target::ct::{CtRepr, CtWay};
use lbnic_contract::target::entries::{addr_to_bytes, FlowKey, Mode, Proto, Scheduler, CT_WAY_LEN};
use lbnic_contract::target::regs::{self, control, status, Counter, ParseReason};
use lbnic_contract::target::{MemoryMap, MissAction, Target, CONTRACT_VERSION_MAJOR, CONTRACT_VERSION_MINOR};
use lbnic_contract::toeplitz::Toeplitz;
use std::sync::Arc;

pub const N_COUNTERS: usize = Counter::ALL.len();
pub const N_PARSE: usize = ParseReason::ALL.len();

/// The device's counters, kept natively and published to the registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub c: [u64; N_COUNTERS],
    pub parse: [u64; N_PARSE],
}

impl Counters {
    pub fn inc(&mut self, c: Counter) {
        self.c[c as usize] += 1;
    }
    pub fn add(&mut self, c: Counter, n: u64) {
        self.c[c as usize] += n;
    }
    pub fn get(&self, c: Counter) -> u64 {
        self.c[c as usize]
    }
    pub fn parse_error(&mut self, r: ParseReason) {
        self.parse[r as usize] += 1;
    }
    /// Add the counters of another device that ran a disjoint share of the
    /// same traffic (a shard of the conntrack buckets) and committed the
    /// same updates: those commits happened once, not once per device.
    pub fn merge_shard(&mut self, other: &Counters) {
        for (i, (a, b)) in self.c.iter_mut().zip(other.c).enumerate() {
            if i == Counter::Commits as usize || i == Counter::CommitErrors as usize {
                *a = b;
            } else {
                *a += b;
            }
        }
        for (a, b) in self.parse.iter_mut().zip(other.parse) {
            *a += b;
        }
    }
    /// (name, value) pairs, counters then parse errors (`parse_<reason>`).
    pub fn named(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = Counter::ALL
            .iter()
            .map(|c| (c.name().to_string(), self.get(*c)))
            .collect();
        v.extend(
            ParseReason::ALL
                .iter()
                .map(|r| (format!("parse_{}", r.name()), self.parse[*r as usize])),
        );
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device memory is {got} bytes, the target's BAR needs {need}")]
    BarTooSmall { got: usize, need: u64 },
    #[error("the emulated device needs the register block and the aperture in one BAR (target has BAR{0} and BAR{1})")]
    SplitBars(u8, u8),
    #[error("register access at {offset:#x} ({len} bytes) is outside the register block or misaligned")]
    BadRegister { offset: u64, len: usize },
    #[error("aperture access at {offset:#x}+{len} is outside the {size:#x}-byte aperture")]
    BadAperture { offset: u64, len: usize, size: u64 },
    #[error("image: {0}")]
    Image(lbnic_contract::image::ImageError),
    #[error("allocating {len} bytes of device memory: {cause}")]
    Alloc { len: usize, cause: std::io::Error },
    #[error("commit of generation {generation} refused: {result}")]
    CommitRefused { generation: u64, result: &'static str },
    /// A device outside this process failed (the RTL simulation behind
    /// `lbnic-rtl-sim`); the message says what and how to fix it.
    #[error("{0}")]
    External(String),
}

// By hand rather than `#[from]`: the message carries the cause, so it is not
// also a `source()` (it would print twice under `{e:#}`).
impl From<lbnic_contract::image::ImageError> for DeviceError {
    fn from(e: lbnic_contract::image::ImageError) -> DeviceError {
        DeviceError::Image(e)
    }
}

/// A validated bank, decoded for the pipeline. Packets hold an `Arc` to the
/// bank they entered with, so a commit never splits a packet across banks.
#[derive(Debug)]
pub struct ActiveBank {
    pub bank: Bank,
    pub generation: u64,
    pub index: u8,
    pub tz: Toeplitz,
    pub to: TimeoutTicks,
    /// Some VIP is NAT: non-VIP packets need a reverse conntrack lookup.
    pub has_nat: bool,
    /// VIP address -> (protocol, port, slot) of every VIP on it: one hash
    /// lookup per packet, then the contract's ranking over the (few) VIPs
    /// sharing an address.
    by_addr: AddrTable,
}

/// VIP address -> the VIPs on it: an open-addressing table sized to a
/// quarter full, probed linearly, hashed by one multiply (the per-packet
/// lookup; a general hash map cost more than the rest of classification).
#[derive(Debug)]
struct AddrTable {
    /// (address, range into `vips`); an empty slot has an empty range.
    slots: Vec<([u8; 16], u32, u32)>,
    shift: u32,
    /// (protocol, port, slot) of every VIP, grouped by address, in slot
    /// order within an address (a tie goes to the lowest slot).
    vips: Vec<(Proto, u16, u16)>,
}

impl AddrTable {
    fn new(mut entries: Vec<([u8; 16], (Proto, u16, u16))>) -> AddrTable {
        entries.sort_unstable_by_key(|e| (e.0, e.1 .2));
        let bits = (entries.len().max(1) * 4)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        let mut t = AddrTable {
            slots: vec![([0; 16], 0, 0); 1 << bits],
            shift: 64 - bits,
            vips: entries.iter().map(|e| e.1).collect(),
        };
        let mut i = 0;
        while i < entries.len() {
            let a = entries[i].0;
            let n = entries[i..].iter().take_while(|e| e.0 == a).count();
            let mut s = t.home(&a);
            while t.slots[s].2 != 0 {
                s = (s + 1) & (t.slots.len() - 1);
            }
            t.slots[s] = (a, i as u32, (i + n) as u32);
            i += n;
        }
        t
    }

    #[inline]
    fn home(&self, a: &[u8; 16]) -> usize {
        let lo = u64::from_le_bytes(a[..8].try_into().expect("8"));
        let hi = u64::from_le_bytes(a[8..].try_into().expect("8"));
        ((lo ^ hi.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, a: &[u8; 16]) -> &[(Proto, u16, u16)] {
        let mask = self.slots.len() - 1;
        let mut s = self.home(a);
        loop {
            let (k, start, end) = &self.slots[s];
            if *end == 0 {
                return &[];
            }
            if k == a {
                return &self.vips[*start as usize..*end as usize];
            }
            s = (s + 1) & mask;
        }
    }
}

impl ActiveBank {
    pub fn new(bank: Bank, generation: u64, index: u8) -> ActiveBank {
        let mut entries = Vec::new();
        let mut has_nat = false;
        for v in bank.vips.iter().flatten() {
            let a = addr_to_bytes(v.repr.addr);
            entries.push((a, (v.repr.proto, v.repr.port, v.index)));
            has_nat |= v.repr.mode == Mode::Nat;
        }
        let by_addr = AddrTable::new(entries);
        ActiveBank {
            tz: Toeplitz::new(&bank.global.toeplitz_key),
            to: TimeoutTicks::from_global(&bank.global),
            bank,
            generation,
            index,
            has_nat,
            by_addr,
        }
    }

    /// The VIP for a packet, ranked by the contract
    /// ([`lbnic_contract::lookup::best_vip`]).
    #[inline]
    pub fn match_vip(&self, dst: &[u8; 16], proto: u8, dport: u16) -> Option<u16> {
        best_vip(self.by_addr.get(dst), |v| (v.0, v.1), proto, dport).map(|v| v.2)
    }

    /// The one VIP a non-first fragment can belong to: the only VIP on that
    /// address and protocol (fragments carry no ports). `Err(n)` gives how
    /// many VIPs there are when it is not exactly one.
    pub fn match_fragment(&self, dst: &[u8; 16], proto: u8) -> Result<u16, usize> {
        let mut it = self
            .by_addr
            .get(dst)
            .iter()
            .filter(|&&(p, _, _)| proto_matches(p, proto));
        match (it.next(), it.count()) {
            (Some(&(_, _, slot)), 0) => Ok(slot),
            (None, _) => Err(0),
            (Some(_), n) => Err(n + 1),
        }
    }

    /// Whether this bank keeps state that spans conntrack buckets, and
    /// which VIP does, if it does. Without it, a packet's whole effect is
    /// on its own bucket (its conntrack ways), so a trace can be replayed
    /// split by bucket with the same result; see [`CrossBucket`] for what
    /// breaks that.
    pub fn cross_bucket_state(&self) -> Option<CrossBucket> {
        self.bank.vips.iter().flatten().find_map(|v| {
            if matches!(v.repr.sched, Scheduler::Rr | Scheduler::Wrr) {
                Some(CrossBucket::RoundRobin {
                    vip: v.name.clone(),
                    sched: v.repr.sched,
                })
            } else if v.repr.mode == Mode::Nat {
                Some(CrossBucket::NatReturn { vip: v.name.clone() })
            } else {
                None
            }
        })
    }

    pub fn vip(&self, slot: u16) -> Option<&lbnic_contract::image::BankVip> {
        self.bank.vips.get(slot as usize).and_then(Option::as_ref)
    }
}

/// A VIP whose packets change state outside their own conntrack bucket
/// ([`ActiveBank::cross_bucket_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossBucket {
    /// RR/WRR: one pointer per VIP steps on every new flow, whatever its
    /// bucket, so which backend a flow gets depends on every new flow
    /// before it.
    RoundRobin { vip: String, sched: Scheduler },
    /// NAT: a new flow also inserts its return entry, keyed on the reply's
    /// tuple (backend -> client), whose bucket is unrelated to the flow's.
    NatReturn { vip: String },
}

impl std::fmt::Display for CrossBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrossBucket::RoundRobin { vip, sched } => write!(
                f,
                "VIP {vip} uses {}: its round-robin pointer orders new flows across all shards",
                sched.name()
            ),
            CrossBucket::NatReturn { vip } => write!(
                f,
                "VIP {vip} is NAT: a new flow's return entry lives in another flow's bucket"
            ),
        }
    }
}

/// What CT_EXEC works with besides the bank: the conntrack memory (the
/// region, or the bucket copies a packet received) and the device state
/// the stage updates.
pub struct Exec<'a, M: CtMem + ?Sized> {
    pub mem: &'a mut M,
    pub ct: CtTable,
    /// The per-bucket full hints (on-chip), refreshed for every bucket an
    /// insert writes.
    pub hints: &'a mut FullHints,
    /// The host owns conntrack (CONTROL.CT_HOST): no lookups.
    pub ct_host: bool,
    pub no_vip: MissAction,
    pub parse_action: MissAction,
    pub counters: &'a mut Counters,
    pub rr: &'a mut [u32],
}

/// Device state: everything the pipeline and the host can observe.
pub struct Device<B> {
    pub target: Target,
    pub map: MemoryMap,
    bar: B,
    reg_off: usize,
    ap_off: usize,
    /// The CONNTRACK region, BAR-relative (looked up per packet).
    ct_range: std::ops::Range<usize>,
    pub active: Option<Arc<ActiveBank>>,
    pub counters: Counters,
    /// Per-VIP-slot RR/WRR pointer.
    pub rr: Vec<u32>,
    /// The ICMP too-big answers' token bucket (GLOBAL `icmp_rate`/`icmp_burst`).
    pub icmp: RateLimit,
    pub ct: CtTable,
    /// On-chip per-bucket "full" hints (conntrack relocation targets).
    pub ct_hints: FullHints,
    /// CONTROL.CT_HOST as last polled: on its release the device rebuilds
    /// the hints from what the host left in the region.
    ct_host_seen: bool,
    /// Device time, conntrack ticks (monotonic).
    pub now: u64,
    heartbeat: u32,
    commit_seq: u32,
    commit_result: u32,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Device<B> {
    pub fn new(target: Target, bar: B) -> Result<Device<B>, DeviceError> {
        let map = target.memory_map();
        if target.bar.register_bar != target.bar.aperture_bar {
            return Err(DeviceError::SplitBars(
                target.bar.register_bar,
                target.bar.aperture_bar,
            ));
        }
        if (bar.as_ref().len() as u64) < map.bar_len {
            return Err(DeviceError::BarTooSmall {
                got: bar.as_ref().len(),
                need: map.bar_len,
            });
        }
        let mut d = Device {
            reg_off: target.bar.register_offset as usize,
            ap_off: target.bar.aperture_offset as usize,
            ct_range: (target.bar.aperture_offset + map.conntrack.start) as usize
                ..(target.bar.aperture_offset + map.conntrack.end) as usize,
            ct: CtTable::from_map(&map, target.ct_ways),
            ct_hints: FullHints::new(target.ct_buckets),
            ct_host_seen: false,
            rr: vec![0; target.max_vips as usize],
            icmp: RateLimit::new(target.ct_tick_us),
            target,
            map,
            bar,
            active: None,
            counters: Counters::default(),
            now: 0,
            heartbeat: 0,
            commit_seq: 0,
            commit_result: regs::COMMIT_NONE,
        };
        d.publish();
        Ok(d)
    }

    fn reg(&self, off: u64) -> u32 {
        let o = self.reg_off + off as usize;
        u32::from_le_bytes(self.bar.as_ref()[o..o + 4].try_into().expect("4"))
    }
    fn set_reg(&mut self, off: u64, v: u32) {
        let o = self.reg_off + off as usize;
        self.bar.as_mut()[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn set_reg64(&mut self, off: u64, v: u64) {
        self.set_reg(off, v as u32);
        self.set_reg(off + 4, (v >> 32) as u32);
    }

    pub fn control(&self) -> u32 {
        self.reg(regs::CONTROL)
    }
    pub fn enabled(&self) -> bool {
        self.control() & control::ENABLE != 0
    }
    /// Host owns the conntrack region: lookups miss, nothing is inserted.
    pub fn ct_host(&self) -> bool {
        self.control() & control::CT_HOST != 0
    }

    /// The whole BAR (for a device-side owner such as `lbnic serve`).
    pub fn bar(&self) -> &[u8] {
        self.bar.as_ref()
    }

    pub fn aperture(&self) -> &[u8] {
        &self.bar.as_ref()[self.ap_off..self.ap_off + self.map.aperture_len as usize]
    }
    pub fn aperture_mut(&mut self) -> &mut [u8] {
        let (o, n) = (self.ap_off, self.map.aperture_len as usize);
        &mut self.bar.as_mut()[o..o + n]
    }
    /// The CONNTRACK region.
    #[inline]
    pub fn ct_mem(&self) -> &[u8] {
        &self.bar.as_ref()[self.ct_range.clone()]
    }
    #[inline]
    pub fn ct_mem_mut(&mut self) -> &mut [u8] {
        &mut self.bar.as_mut()[self.ct_range.clone()]
    }

    /// What CT_EXEC works with, over this device's conntrack region.
    pub fn exec_parts(&mut self) -> Exec<'_, [u8]> {
        let ct_host = self.ct_host();
        Exec {
            mem: &mut self.bar.as_mut()[self.ct_range.clone()],
            ct: self.ct,
            hints: &mut self.ct_hints,
            ct_host,
            no_vip: self.target.no_vip_action,
            parse_action: self.target.parse_error_action,
            counters: &mut self.counters,
            rr: &mut self.rr,
        }
    }

    /// Write-touch the conntrack memory of `buckets` (clamped to the
    /// region). A lookup before the first insert would map the shared zero
    /// page, and the insert's copy-on-write then flushes the TLB of every
    /// CPU the process runs on: a replay that runs several devices side by
    /// side touches its share up front.
    pub fn prefault(&mut self, buckets: std::ops::Range<u32>) {
        let ct = self.ct;
        let mem = self.ct_mem_mut();
        let a = ct.bucket_range(buckets.start).start;
        let z = ct.bucket_range(buckets.end).start.min(mem.len());
        for i in (a..z).step_by(4096) {
            mem[i] = 0;
        }
    }

    fn check_reg(&self, offset: u64, len: usize) -> Result<(), DeviceError> {
        if !offset.is_multiple_of(4) || offset + len as u64 > regs::BLOCK_LEN {
            return Err(DeviceError::BadRegister { offset, len });
        }
        Ok(())
    }
    fn check_ap(&self, offset: u64, len: usize) -> Result<(), DeviceError> {
        let size = self.map.aperture_len;
        if offset.checked_add(len as u64).is_none_or(|e| e > size) {
            return Err(DeviceError::BadAperture { offset, len, size });
        }
        Ok(())
    }

    /// Host register read (publishes device state first).
    pub fn host_read32(&mut self, offset: u64) -> Result<u32, DeviceError> {
        self.check_reg(offset, 4)?;
        self.publish();
        Ok(self.reg(offset))
    }

    /// Host register write; the device acts on it at once.
    pub fn host_write32(&mut self, offset: u64, v: u32) -> Result<(), DeviceError> {
        self.check_reg(offset, 4)?;
        self.set_reg(offset, v);
        self.poll();
        Ok(())
    }

    pub fn host_write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check_ap(offset, data.len())?;
        self.aperture_mut()[offset as usize..offset as usize + data.len()].copy_from_slice(data);
        Ok(())
    }

    pub fn host_read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DeviceError> {
        self.check_ap(offset, out.len())?;
        out.copy_from_slice(&self.aperture()[offset as usize..offset as usize + out.len()]);
        Ok(())
    }

    /// Act on what the host wrote: self-clearing control bits and the
    /// commit doorbell. Called after every in-process host write and by the
    /// polling loop of a shared-memory device.
    pub fn poll(&mut self) {
        let c = self.control();
        if c & control::RESET != 0 {
            self.counters = Counters::default();
            self.rr.iter_mut().for_each(|p| *p = 0);
            self.icmp.reset();
            self.ct_mem_mut().fill(0);
            self.ct_hints.clear();
            self.set_reg(regs::CONTROL, c & !(control::RESET | control::CT_FLUSH));
        } else if c & control::CT_FLUSH != 0 {
            self.ct_mem_mut().fill(0);
            self.ct_hints.clear();
            self.set_reg(regs::CONTROL, c & !control::CT_FLUSH);
        }
        let host = self.ct_host();
        if self.ct_host_seen && !host {
            // The host may have written the region: one pass over it.
            let ct = self.ct;
            let mem = &self.bar.as_ref()[self.ct_range.clone()];
            ct.refresh_hints(mem, &mut self.ct_hints);
        }
        self.ct_host_seen = host;
        if self.reg(regs::COMMIT) != 0 {
            let magic = self.reg(regs::COMMIT) == regs::COMMIT_MAGIC;
            self.set_reg(regs::COMMIT, 0);
            if magic {
                self.commit();
            }
        }
        self.publish();
    }

    fn commit(&mut self) {
        let inactive = self.active.as_ref().map_or(1, |a| 1 - a.index);
        let gen = self.reg(regs::STAGED_GEN_LO) as u64 | (self.reg(regs::STAGED_GEN_HI) as u64) << 32;
        let len = self.reg(regs::STAGED_LEN) as u64;
        let crc = self.reg(regs::STAGED_CRC);
        let base = self.map.bank_base[inactive as usize] as usize;
        let result = if len != self.map.bank_len {
            regs::COMMIT_BAD_LEN
        } else {
            let bytes = &self.aperture()[base..base + len as usize];
            if crc32c::crc32c(bytes) != crc {
                regs::COMMIT_BAD_CRC
            } else {
                match Bank::decode_raw(&self.target, bytes, None, 0) {
                    Err(e) => {
                        tracing::warn!("commit of generation {gen}: bank failed validation: {e}");
                        regs::COMMIT_BAD_TABLE
                    }
                    Ok(bank) => {
                        self.activate(bank, gen, inactive);
                        regs::COMMIT_OK
                    }
                }
            }
        };
        if result == regs::COMMIT_OK {
            self.counters.inc(Counter::Commits);
        } else {
            self.counters.inc(Counter::CommitErrors);
        }
        self.commit_result = result;
        self.commit_seq = self.commit_seq.wrapping_add(1);
    }

    fn activate(&mut self, bank: Bank, generation: u64, index: u8) {
        // Keep RR pointers of surviving slots, wrapped to the new size.
        for v in bank.vips.iter().flatten() {
            let p = &mut self.rr[v.index as usize];
            *p = if v.repr.lut_size == 0 {
                0
            } else {
                *p % v.repr.lut_size
            };
        }
        self.active = Some(Arc::new(ActiveBank::new(bank, generation, index)));
    }

    /// Write the read-only registers and counters.
    pub fn publish(&mut self) {
        self.heartbeat = self.heartbeat.wrapping_add(1);
        self.set_reg(regs::ID, regs::ID_MAGIC);
        self.set_reg(
            regs::VERSION,
            (CONTRACT_VERSION_MAJOR as u32) << 16 | CONTRACT_VERSION_MINOR as u32,
        );
        self.set_reg64(regs::FINGERPRINT_LO, self.target.fingerprint());
        let st = status::READY
            | if self.enabled() { status::RUNNING } else { 0 }
            | if self.ct_host() { status::CT_HOST_ACK } else { 0 };
        self.set_reg(regs::STATUS, st);
        self.set_reg(regs::HEARTBEAT, self.heartbeat);
        let (bank, gen) = self
            .active
            .as_ref()
            .map_or((0, 0), |a| (a.index as u32, a.generation));
        self.set_reg(regs::ACTIVE_BANK, bank);
        self.set_reg64(regs::ACTIVE_GEN_LO, gen);
        self.set_reg(regs::COMMIT_RESULT, self.commit_result);
        self.set_reg(regs::COMMIT_SEQ, self.commit_seq);
        self.set_reg64(regs::NOW_LO, self.now);
        for c in Counter::ALL {
            self.set_reg64(c.offset(), self.counters.get(*c));
        }
        for r in ParseReason::ALL {
            self.set_reg64(r.offset(), self.counters.parse[*r as usize]);
        }
    }

    /// The ingress MAC's length check, before the pipeline (both models):
    /// a frame longer than `max_rx_frame` is dropped and counted
    /// (`rx_oversize`); one shorter than the 60-byte minimum is counted
    /// (`rx_undersize`) and taken as if the sender had padded it, because
    /// captures are taken before the NIC pads. Returns whether it enters.
    pub fn mac_accepts(&mut self, len: usize) -> bool {
        if len > self.target.max_rx_frame as usize {
            self.counters.inc(Counter::RxOversize);
            return false;
        }
        if len < lbnic_contract::target::MIN_FRAME as usize {
            self.counters.inc(Counter::RxUndersize);
        }
        true
    }

    /// Advance device time to a packet's ingress timestamp (never back).
    pub fn set_time_ns(&mut self, ns: u64) -> u32 {
        let t = ns / (self.target.ct_tick_us as u64 * 1000);
        self.now = self.now.max(t);
        self.now as u32
    }

    /// Flash a bank image through the register protocol, as a host driver
    /// would, and enable the pipeline. For in-process use and tests; the
    /// host driver does the same with timeouts and read-back.
    pub fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        img.expect_kind(ImageKind::Bank)?;
        img.expect_target(&self.target)?;
        let inactive = self.active.as_ref().map_or(1, |a| 1 - a.index);
        let base = self.map.bank_base[inactive as usize];
        self.host_write_aperture(base, img.device())?;
        self.host_write32(regs::STAGED_GEN_LO, img.generation as u32)?;
        self.host_write32(regs::STAGED_GEN_HI, (img.generation >> 32) as u32)?;
        self.host_write32(regs::STAGED_LEN, img.device_len as u32)?;
        self.host_write32(regs::STAGED_CRC, img.device_crc())?;
        self.host_write32(regs::COMMIT, regs::COMMIT_MAGIC)?;
        if self.commit_result != regs::COMMIT_OK {
            return Err(DeviceError::CommitRefused {
                generation: img.generation,
                result: regs::commit_result_name(self.commit_result),
            });
        }
        let c = self.control();
        self.host_write32(regs::CONTROL, c | control::ENABLE)?;
        Ok(())
    }

    /// Load a conntrack image into the live region (host-owned meanwhile).
    pub fn load_conntrack(&mut self, img: &Image) -> Result<(), DeviceError> {
        img.expect_kind(ImageKind::Conntrack)?;
        img.expect_target(&self.target)?;
        let c = self.control();
        self.host_write32(regs::CONTROL, c | control::CT_HOST)?;
        self.host_write_aperture(self.map.conntrack.start, img.device())?;
        self.host_write32(regs::CONTROL, c & !control::CT_HOST)?;
        Ok(())
    }

    pub fn commit_result(&self) -> u32 {
        self.commit_result
    }

    /// The conntrack entry a packet of `flow` would find now (forward, or
    /// with `reverse` a NAT return entry): (bucket, way, entry). None when
    /// no bank is active or no live entry holds the flow.
    pub fn ct_entry(&self, flow: &FlowKey, reverse: bool) -> Option<(u32, u32, CtRepr)> {
        let b = self.active.as_ref()?;
        let key = CtKey::from_flow(flow);
        let c = ct_bucket(key.flow_hash(&b.tz), self.ct.buckets);
        let s = self
            .ct
            .find(self.ct_mem(), c, &key, reverse, self.now as u32, &b.to)?;
        let r = self.ct.bucket_range(s.bucket);
        let raw = &self.ct_mem()[r.start + s.way as usize * CT_WAY_LEN..][..CT_WAY_LEN];
        let entry = CtRepr::parse(&CtWay::new_unchecked(raw)).ok().flatten()?;
        Some((s.bucket, s.way, entry))
    }
}

/// Zeroed, anonymous device memory for an in-process device. Backed by a
/// private mapping with transparent huge pages requested: the conntrack
/// region is tens of MiB touched at random, and with 4 KiB pages nearly
/// every bucket access would also miss the TLB.
pub struct Memory(memmap2::MmapMut);

impl Memory {
    pub fn zeroed(len: usize) -> std::io::Result<Memory> {
        let m = memmap2::MmapMut::map_anon(len)?;
        #[cfg(target_os = "linux")]
        if let Err(e) = m.advise(memmap2::Advice::HugePage) {
            tracing::debug!("no transparent huge pages for device memory: {e}");
        }
        Ok(Memory(m))
    }
}

impl AsRef<[u8]> for Memory {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsMut<[u8]> for Memory {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// An in-process device over zeroed memory of the target's BAR size.
pub fn in_memory(target: Target) -> Result<Device<Memory>, DeviceError> {
    let n = target.memory_map().bar_len as usize;
    let mem = Memory::zeroed(n).map_err(|e| DeviceError::Alloc { len: n, cause: e })?;
    Device::new(target, mem)
}
