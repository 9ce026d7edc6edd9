//! The packet layer of the pipeline: typed header views, the parser, the
//! checksums and the forwarding modes' rewrites.

pub mod checksum;
pub mod headers;
pub mod parse;
pub mod rewrite;

pub use parse::{parse, parse_into, Frag, Inner, ParseError, Parsed};
