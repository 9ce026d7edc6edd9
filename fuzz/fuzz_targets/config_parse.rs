//! Any text given to the config parser: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use table_compiler::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, "fuzz.toml", Path::new("/nonexistent"));
        let _ = table_compiler::target_file::parse(text, "fuzz-target.toml");
    }
});
