//! Any bytes given to the image loader: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use table_compiler::image::{Bank, Image};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = Image::from_bytes(data) {
        let _ = Bank::decode(&img);
    }
});
