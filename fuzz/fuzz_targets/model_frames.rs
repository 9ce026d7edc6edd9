//! Any bytes, read as frames with timestamps and table commits, through the
//! functional reference and the cycle-accurate model on a small target
//! with every mode and scheduler: no panic, the same frames out, the same
//! counters and conntrack memory. The body is shared with the stable smoke
//! test `model-tests/tests/fuzz_smoke.rs`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../model-tests/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

fuzz_target!(|data: &[u8]| {
    fuzz_harness::model_frames(data);
});
