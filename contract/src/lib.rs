//! The lbnic hardware contract: what the table compiler, the models, the
//! driver and the RTL must agree on, written down once. Target parameters,
//! the memory and register maps, entry encodings, the image format and its
//! bank decode, the flow hash, and the lookup semantics (VIP match, conntrack
//! bucket, lookup index).
//!
//! Nothing here parses configs or builds tables; that is `table-compiler`.
//! `docs/spec.md` documents the same facts for people, and
//! `lbnic target --emit sv|c` turns them into headers for hardware.

pub mod emit;
pub mod image;
pub mod lineage;
pub mod lookup;
pub mod target;
pub mod toeplitz;

pub use lookup::{
    best_vip, ct_bucket, ct_page_buckets, flow_hash, flow_hash_ip, is_prime, lookup_index, proto_matches,
    vip_rank, CtBuckets, CT_PAGE_BUCKETS,
};
