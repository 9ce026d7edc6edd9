//! lbnic testbench: trace I/O, the traffic generator, the replay engine
//! (functional or cycle-accurate model, table updates mid-trace, sharding
//! across threads), golden compare, and the throughput report.
//!
//! No `unsafe` but in [`mapped`] (mapping a capture file read-only).
#![deny(unsafe_code)]

pub mod attribution;
pub mod chart;
pub mod cluster;
pub mod compare;
pub mod ecmp;
pub mod edge;
pub mod events;
pub mod frag;
pub mod gen;
#[allow(unsafe_code)]
mod mapped;
pub mod replay;
pub mod report;
pub mod schedule;
mod session;
mod shard;
pub mod stats;
pub mod timing;
pub mod trace;
