//! Any bytes given to the packet parser and the tunnel decoder: an error,
//! never a panic; frames that parse survive every rewrite with valid
//! checksums and decode back from every encapsulation. The body is shared
//! with the stable smoke test `model-tests/tests/fuzz_smoke.rs`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../model-tests/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

fuzz_target!(|data: &[u8]| {
    fuzz_harness::packet_parse(data);
});
