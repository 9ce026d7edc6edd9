//! Flow strings and flow lists: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use table_compiler::ctimage::parse_flow_list;
use lbnic_contract::target::entries::FlowKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<FlowKey>();
        let _ = parse_flow_list(text);
    }
});
