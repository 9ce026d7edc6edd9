//! The functional reference: plain and obviously correct. Each packet goes
//! through classify -> execute -> emit in input order; a table commit
//! happens between two packets.
//!
//! One concession to speed, which changes no result: [`Model::input`]
//! classifies a packet at once but executes packets in groups of
//! [`BATCH`], touching the group's conntrack buckets first so their cache
//! misses overlap instead of being paid one after another. Classification
//! depends only on the frame and the active bank, and every call that can
//! change the bank, or that looks at the output or the device, executes the
//! group first.

use crate::device::{Counters, Device, DeviceError};
use crate::model::{Model, OutPacket, Sent};
use crate::pipeline::{self, Meta};
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::Counter;

/// Packets classified before the group executes.
pub const BATCH: usize = 32;

struct Pending {
    frame: Vec<u8>,
    ts_ns: u64,
    seq: u64,
    meta: Meta,
}

pub struct Functional<B> {
    /// The device. [`Model::input`] may hold up to [`BATCH`] classified
    /// packets: call [`Functional::flush`] before touching it directly.
    pub dev: Device<B>,
    out: Vec<OutPacket>,
    seq: u64,
    buf: Vec<u8>,
    pending: Vec<Pending>,
    /// Slots of `pending` in use.
    used: usize,
    /// What the last [`Functional::process`] sent.
    sent: Option<Sent>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Functional<B> {
    pub fn new(dev: Device<B>) -> Functional<B> {
        Functional {
            dev,
            out: Vec::new(),
            seq: 0,
            buf: Vec::with_capacity(2048),
            pending: Vec::with_capacity(BATCH),
            used: 0,
            sent: None,
        }
    }

    /// Process one frame that arrived at `ts_ns`; the frame that leaves (if
    /// any) is returned.
    pub fn process(&mut self, frame: &[u8], ts_ns: u64) -> Option<&[u8]> {
        self.flush();
        self.sent = None;
        if !self.dev.mac_accepts(frame.len()) {
            return None;
        }
        let now = self.dev.set_time_ns(ts_ns);
        let d = &mut self.dev;
        let bank = d.active.clone();
        let (enabled, buckets) = (d.enabled(), d.ct.buckets);
        let meta = pipeline::classify(bank.as_deref(), enabled, frame, now, buckets, &mut d.counters);
        let decision = pipeline::execute(&mut self.dev, bank.as_deref(), &meta);
        self.sent = pipeline::emit(
            frame,
            bank.as_deref(),
            &meta,
            decision,
            &mut self.buf,
            &mut self.dev.counters,
            &mut self.dev.icmp,
        );
        self.sent.map(|_| &self.buf[..])
    }

    /// The frame the last [`Functional::process`] emitted (if it emitted one).
    pub fn output(&self) -> &[u8] {
        &self.buf
    }

    /// What the last [`Functional::process`] emitted, if it emitted a frame.
    pub fn sent(&self) -> Option<Sent> {
        self.sent
    }

    /// Execute every classified packet still waiting.
    pub fn flush(&mut self) {
        if self.used == 0 {
            return;
        }
        // Touch the buckets the group will read so the misses overlap.
        let ct = self.dev.ct;
        let mem = self.dev.ct_mem();
        let mut acc = 0u8;
        for p in &self.pending[..self.used] {
            if let Some(c) = p.meta.class.bucket() {
                // Way 0's line of each candidate: most lookups end there,
                // and more lines per packet would only queue more misses.
                for b in c.iter() {
                    acc ^= mem[ct.bucket_range(b).start];
                }
            }
        }
        std::hint::black_box(acc);
        // A commit flushes first, so the whole group entered with this bank.
        let bank = self.dev.active.clone();
        let bank = bank.as_deref();
        for i in 0..self.used {
            let p = &mut self.pending[i];
            let decision = pipeline::execute(&mut self.dev, bank, &p.meta);
            if let Some(sent) = pipeline::emit(
                &p.frame,
                bank,
                &p.meta,
                decision,
                &mut self.buf,
                &mut self.dev.counters,
                &mut self.dev.icmp,
            ) {
                // The output leaves in `buf`; the input's buffer becomes the
                // next `buf`, so a replay allocates nothing here.
                let mut frame = std::mem::take(&mut p.frame);
                frame.clear();
                let data = std::mem::replace(&mut self.buf, frame);
                self.out.push(OutPacket {
                    data,
                    ts_ns: p.ts_ns,
                    seq: p.seq,
                    cycles: None,
                    sent: Some(sent),
                });
            }
        }
        self.used = 0;
    }

    /// Reclaim every conntrack entry expired at the current device time, as
    /// the scrubber eventually does.
    pub fn sweep(&mut self) {
        self.flush();
        let d = &mut self.dev;
        let Some(b) = d.active.clone() else { return };
        let (ct, now) = (d.ct, d.now as u32);
        let mut n = 0u64;
        for bucket in 0..ct.buckets {
            n += ct.sweep(d.ct_mem_mut(), bucket, now, &b.to) as u64;
        }
        d.counters.add(Counter::CtAgeouts, n);
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Model for Functional<B> {
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64) {
        // The sequence number counts every offered frame, as the cycle
        // model's does.
        if !self.dev.mac_accepts(frame.len()) {
            self.seq += 1;
            return;
        }
        if self.used == self.pending.len() {
            self.pending.push(Pending {
                frame: Vec::new(),
                ts_ns: 0,
                seq: 0,
                meta: Meta::default(),
            });
        }
        // Classified in place: a Meta is a few hundred bytes.
        let now = self.dev.set_time_ns(ts_ns);
        let d = &mut self.dev;
        let p = &mut self.pending[self.used];
        let (enabled, buckets) = (d.enabled(), d.ct.buckets);
        pipeline::classify_into(
            &mut p.meta,
            d.active.as_deref(),
            enabled,
            &frame,
            now,
            buckets,
            &mut d.counters,
        );
        p.frame = frame;
        p.ts_ns = ts_ns;
        p.seq = self.seq;
        self.seq += 1;
        self.used += 1;
        if self.used == BATCH {
            self.flush();
        }
    }
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        self.flush();
        self.dev.flash(img)
    }
    fn finish(&mut self) {
        self.sweep();
    }
    fn take_output(&mut self) -> Vec<OutPacket> {
        self.flush();
        // The next batch likely has as many packets: keep the capacity.
        let cap = self.out.len();
        std::mem::replace(&mut self.out, Vec::with_capacity(cap))
    }
    fn take_output_into(&mut self, dst: &mut Vec<OutPacket>) {
        self.flush();
        dst.clear();
        std::mem::swap(&mut self.out, dst);
    }
    fn counters(&self) -> &Counters {
        &self.dev.counters
    }
    fn settled(&self) -> u64 {
        match self.used {
            0 => self.seq,
            _ => self.pending[0].seq,
        }
    }
}
