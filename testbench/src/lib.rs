//! lbnic testbench: trace I/O, and (with the testbench issue) the traffic
//! generator, golden compare and throughput analysis.

pub mod compare;
pub mod gen;
pub mod trace;
