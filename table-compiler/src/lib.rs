//! lbnic table compiler: config -> bank and conntrack images (Maglev,
//! maglev-stable, RR/WRR), and analysis of compiled tables. The hardware
//! contract the images follow is `lbnic_contract`.

pub mod analysis;
pub mod compile;
pub mod config;
pub mod ctimage;
pub mod maglev;
pub mod sched;
pub mod target_file;
pub mod toml_error;
