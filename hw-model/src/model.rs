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
    /// Cycle model: cycles from the frame's arrival at the port to its last
    /// beat leaving TX (the functional model has no timing: `None`).
    pub latency_cycles: Option<u32>,
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
}
