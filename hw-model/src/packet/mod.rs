//! The packet layer of the pipeline: typed header views, the parser, the
//! checksums, the forwarding modes' rewrites (and the NAT of ICMP errors),
//! the ICMP too-big answer and a decoder for the tunnels they emit.

pub mod checksum;
pub mod decap;
pub mod headers;
pub mod icmp;
pub mod icmp_nat;
pub mod parse;
pub mod rewrite;

pub use decap::{decap, Decap, DecapError, Tunnel};
pub use parse::{parse, parse_into, Frag, Inner, ParseError, Parsed};
