//! Files as a Unix tool should treat them. Inputs are read with a size cap
//! (a config, a schedule or an image named `/dev/zero` must fail, not fill
//! memory); outputs never clobber what the user did not mean to replace and
//! never leave half a file behind.

pub mod input;
pub mod output;

pub use input::{quote, read_capped, read_to_string_capped, InputError, QUOTE_MAX};
pub use output::{
    classify, install_signal_cleanup, remove_temporaries, write, Destination, Output, OutputError,
};
