//! lbnic table compiler: the hardware contract ([`target`]) and the
//! config -> image compiler (Maglev, RR/WRR, conntrack images).

pub mod analysis;
pub mod compile;
pub mod config;
pub mod ctimage;
pub mod image;
pub mod maglev;
pub mod sched;
pub mod target;
pub mod toeplitz;
