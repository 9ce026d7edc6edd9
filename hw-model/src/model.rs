//! What the functional reference and the cycle-accurate model have in
//! common, so a testbench can drive either and compare them.

use crate::device::{Counters, DeviceError};
use lbnic_contract::image::Image;

/// A frame that left the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPacket {
    pub data: Vec<u8>,
    /// Egress time: the input time for the functional model, the modelled
    /// time the last beat left for the cycle model.
    pub ts_ns: u64,
    /// Index of the input packet it came from.
    pub seq: u64,
    /// Where the frame was when, for the timed models (the functional
    /// model has no time: `None`).
    pub cycles: Option<PacketCycles>,
    /// What the pipeline made of its input; `None` where the model does
    /// not say (the RTL's simulation: its ports carry frames, not
    /// decisions).
    pub sent: Option<Sent>,
}

/// What a frame that left is, as the pipeline decided it, so a report can
/// take the backend from the decision instead of working it out again
/// from the frame and the bank (issue 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sent {
    /// Its input, unchanged (no VIP's traffic).
    Pass,
    /// Its input rewritten to backend `local` of the VIP in slot `slot`.
    Forward { slot: u16, local: u16 },
    /// A NAT reply from backend `local` of VIP `slot`, rewritten back to
    /// the VIP.
    Reply { slot: u16, local: u16 },
    /// In place of a packet too big once rewritten: the ICMP answer to its
    /// client.
    TooBig,
}

/// A frame's life in cycles of the run, at the stage boundaries both timed
/// models (the cycle model and the RTL's probes) share: what a
/// cycle-for-cycle comparison compares, and what names the stage where two
/// runs part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PacketCycles {
    /// Its first bit reached the ingress port.
    pub arrival: u64,
    /// RX took its first beat.
    pub ingress: u64,
    /// The cycle after RX took its last beat.
    pub rx_done: u64,
    /// It left FRONT into CT_REQ.
    pub ct_req: u64,
    /// CT_EXEC decided it: its decision leaves CT_EXEC for BACKEND's FIFO (the
    /// RTL: it is ready to leave the conntrack engine, whose egress takes it
    /// then or later).
    pub decided: u64,
    /// TX sent its first beat.
    pub tx: u64,
    /// Its last bit left the egress port (rounded up to a cycle).
    pub egress: u64,
}

impl PacketCycles {
    /// The stretches between the boundaries, in pipeline order, with their
    /// cycles: what a cycle compare sets side by side.
    pub fn stages(&self) -> [(&'static str, i128); 6] {
        let d = |a: u64, b: u64| b as i128 - a as i128;
        [
            (
                "waiting at the source (arrival to the first RX beat)",
                d(self.arrival, self.ingress),
            ),
            ("RX (its beats)", d(self.ingress, self.rx_done)),
            ("FRONT (end of RX to CT_REQ)", d(self.rx_done, self.ct_req)),
            ("conntrack (CT_REQ to the decision)", d(self.ct_req, self.decided)),
            (
                "BACKEND and REWRITE (the decision to the first TX beat)",
                d(self.decided, self.tx),
            ),
            (
                "TX and the egress port (first TX beat to the last bit out)",
                d(self.tx, self.egress),
            ),
        ]
    }
}

/// What a run looks like from the pipeline's edges: the ports and the
/// conntrack memory port. The cycle model counts these among its stats;
/// the RTL's harness counts them at the top's ports, so a cycle compare
/// sets them side by side (docs/spec.md §12.3, "The edges").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct EdgeStats {
    /// Cycles RX took a beat.
    pub rx_beats: u64,
    /// Cycles TX sent a beat.
    pub tx_beats: u64,
    /// Most frames arrived at the port and not yet started by RX, counted
    /// at each arrival (the cycle model's `fifo_high_water` of RX).
    pub rx_port_high_water: u64,
    /// Cycles a frame waited at the port while RX took the previous
    /// frame's beats.
    pub rx_datapath_stalls: u64,
    /// Cycles TX held a frame's first beat for the egress port.
    pub tx_port_stalls: u64,
    /// Conntrack buckets read for packets (CT_REQ's candidates, posted
    /// read-modify-writes, CT_EXEC's own reads); not the scrubber's.
    pub ct_reads: u64,
    /// Conntrack ways written for packets; not the scrubber's.
    pub ct_writes: u64,
    /// Buckets the scrubber read (the RTL's also the hint refresh's and
    /// its final pass after the last packet, which the cycle model
    /// sweeps without reads).
    pub scrub_reads: u64,
    /// Ways the scrubber wrote back (the RTL's final pass included).
    pub scrub_writes: u64,
    /// Most packets' read requests in flight at once (a packet's two
    /// candidates are one; the scrubber's reads have slots of their own,
    /// spec §12.3 decision 9).
    pub ct_outstanding_high_water: u64,
}

/// One figure of two runs' [`EdgeStats`], side by side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EdgeRow {
    pub name: &'static str,
    pub here: u64,
    pub reference: u64,
    /// Whether the two are counted alike, so they must be equal; `false`
    /// for the figures the two runs count differently (see [`EdgeStats`]).
    pub compared: bool,
}

impl EdgeRow {
    pub fn differs(&self) -> bool {
        self.compared && self.here != self.reference
    }
}

impl EdgeStats {
    /// Every figure with its name and whether both runs count it alike, in
    /// the order the RTL harness sends them (STATS, rtl/sim/README.md).
    pub fn figures(&self) -> [(&'static str, u64, bool); 10] {
        [
            ("rx_beats", self.rx_beats, true),
            ("tx_beats", self.tx_beats, true),
            ("rx_port_high_water", self.rx_port_high_water, true),
            ("rx_datapath_stalls", self.rx_datapath_stalls, true),
            ("tx_port_stalls", self.tx_port_stalls, true),
            ("ct_reads", self.ct_reads, true),
            ("ct_writes", self.ct_writes, true),
            ("scrub_reads", self.scrub_reads, false),
            ("scrub_writes", self.scrub_writes, false),
            ("ct_outstanding_high_water", self.ct_outstanding_high_water, true),
        ]
    }

    /// From values in [`EdgeStats::figures`]' order; `None` if there are
    /// fewer (a newer harness may send more, after them).
    pub fn from_figures(v: &[u64]) -> Option<EdgeStats> {
        let &[rx_beats, tx_beats, rx_port_high_water, rx_datapath_stalls, tx_port_stalls, ct_reads, ct_writes, scrub_reads, scrub_writes, ct_outstanding_high_water] =
            v.get(..10)?
        else {
            return None;
        };
        Some(EdgeStats {
            rx_beats,
            tx_beats,
            rx_port_high_water,
            rx_datapath_stalls,
            tx_port_stalls,
            ct_reads,
            ct_writes,
            scrub_reads,
            scrub_writes,
            ct_outstanding_high_water,
        })
    }

    /// Every figure of `self` against `reference`'s.
    pub fn rows(&self, reference: &EdgeStats) -> Vec<EdgeRow> {
        self.figures()
            .into_iter()
            .zip(reference.figures())
            .map(|((name, here, compared), (_, reference, _))| EdgeRow {
                name,
                here,
                reference,
                compared,
            })
            .collect()
    }
}

impl OutPacket {
    /// Cycles from arrival at the port to the last bit on the egress wire.
    pub fn latency_cycles(&self) -> Option<u32> {
        self.cycles
            .map(|c| c.egress.saturating_sub(c.arrival).min(u32::MAX as u64) as u32)
    }
}

pub trait Model {
    /// Offer a frame that arrives at `ts_ns` (non-decreasing; an earlier
    /// value is taken as "back to back").
    fn input(&mut self, frame: Vec<u8>, ts_ns: u64);
    /// Commit a bank between the packets given so far and the next one.
    fn flash(&mut self, img: &Image) -> Result<(), DeviceError>;
    /// Run until every packet given so far has left and the scrubber has
    /// swept the table.
    fn finish(&mut self);
    /// Frames that left so far, in egress order.
    fn take_output(&mut self) -> Vec<OutPacket>;
    /// [`Model::take_output`] into `dst` (cleared first); the model keeps
    /// `dst`'s old storage for the next frames, so a replay loop that calls
    /// this with the same vector allocates nothing.
    fn take_output_into(&mut self, dst: &mut Vec<OutPacket>);
    fn counters(&self) -> &Counters;
    /// Every input with a lower index (counting from 0, every frame
    /// offered) has left or was dropped, so whatever a replay keeps for it
    /// can go: without this a capture whose frames are all dropped would
    /// keep one record per input. 0 where the model cannot tell.
    fn settled(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_in_order() {
        let v: Vec<u64> = (1..=10).collect();
        let e = EdgeStats::from_figures(&v).unwrap();
        assert_eq!((e.rx_beats, e.tx_port_stalls, e.ct_writes), (1, 5, 7));
        assert_eq!(e.figures().map(|f| f.1).to_vec(), v);
        assert!(EdgeStats::from_figures(&v[..9]).is_none());
        assert_eq!(EdgeStats::from_figures(&[&v[..], &[99]].concat()), Some(e));
        // the two counted differently are not compared
        let r = e.rows(&EdgeStats::default());
        assert_eq!(r.iter().filter(|r| !r.compared).count(), 2);
        assert_eq!(r.iter().filter(|r| r.differs()).count(), 8);
    }
}
