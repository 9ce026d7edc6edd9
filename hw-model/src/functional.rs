//! The functional reference: plain and obviously correct. Each packet goes
//! through classify -> execute -> emit before the next one starts; a table
//! commit happens between two packets.

use crate::device::{Counters, Device, DeviceError};
use crate::model::{Model, OutPacket};
use crate::pipeline;
use table_compiler::image::Image;

pub struct Functional<B> {
    pub dev: Device<B>,
    out: Vec<OutPacket>,
    seq: u64,
    buf: Vec<u8>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Functional<B> {
    pub fn new(dev: Device<B>) -> Functional<B> {
        Functional {
            dev,
            out: Vec::new(),
            seq: 0,
            buf: Vec::with_capacity(2048),
        }
    }

    /// Process one frame that arrived at `ts_ns`; the frame that leaves (if
    /// any) is returned.
    pub fn process(&mut self, frame: &[u8], ts_ns: u64) -> Option<&[u8]> {
        let now = self.dev.set_time_ns(ts_ns);
        let d = &mut self.dev;
        let meta = pipeline::classify(
            d.active.as_ref(),
            d.enabled(),
            frame,
            now,
            d.ct.buckets,
            &mut d.counters,
        );
        let decision = pipeline::execute(d, &meta);
        pipeline::emit(frame, &meta, decision, &mut self.buf, &mut d.counters).then_some(&self.buf[..])
    }

    /// Reclaim every conntrack entry expired at the current device time, as
    /// the scrubber eventually does.
    pub fn sweep(&mut self) {
        let d = &mut self.dev;
        let Some(b) = d.active.clone() else { return };
        let (ct, now) = (d.ct, d.now as u32);
        let mut n = 0u64;
        for bucket in 0..ct.buckets {
            n += ct.sweep(d.ct_mem_mut(), bucket, now, &b.to) as u64;
        }
        d.counters
            .add(table_compiler::target::regs::Counter::CtAgeouts, n);
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Model for Functional<B> {
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64) {
        let seq = self.seq;
        self.seq += 1;
        if let Some(o) = self.process(&frame, ts_ns) {
            let data = o.to_vec();
            self.out.push(OutPacket { data, ts_ns, seq });
        }
    }
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError> {
        self.dev.flash(img)
    }
    fn finish(&mut self) {
        self.sweep();
    }
    fn take_output(&mut self) -> Vec<OutPacket> {
        std::mem::take(&mut self.out)
    }
    fn counters(&self) -> &Counters {
        &self.dev.counters
    }
}
