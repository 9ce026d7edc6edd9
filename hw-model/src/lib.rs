//! lbnic pipeline model.
//!
//! - [`device`]: the register block, memory aperture and commit protocol of
//!   the contract, over a byte buffer;
//! - [`ct`]: conntrack over the contract's memory layout;
//! - [`pipeline`]: the stages' work (classify, execute, emit);
//! - [`functional`]: the reference model, packet by packet;
//! - [`cycle`]: the cycle-accurate model;
//! - [`model`]: the interface both models share;
//! - [`hist`]: the latency histogram reports use;
//! - [`packet`]: header views, parser, checksums and rewrites.

pub mod ct;
pub mod cycle;
pub mod device;
pub mod functional;
pub mod hist;
pub mod model;
pub mod packet;
pub mod pipeline;
