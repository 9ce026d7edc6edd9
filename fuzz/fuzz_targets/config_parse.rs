//! Any text given to the config parser: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use table_compiler::config::Config;
use table_compiler::target::Target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, "fuzz.toml", Path::new("/nonexistent"));
        let _ = Target::from_toml(text, "fuzz-target.toml");
    }
});
