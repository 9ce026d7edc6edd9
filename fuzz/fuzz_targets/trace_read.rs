//! Capture files (pcap, pcapng) and replay schedules: every input ends in
//! packets or an error, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use testbench::trace::TraceReader;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(data).expect("write");
    if let Ok(mut r) = TraceReader::open(f.path()) {
        // A record is at least 16 bytes: more packets than that is a hang.
        let mut n = 0usize;
        while let Some(p) = r.next_packet() {
            n += 1;
            assert!(n <= data.len() / 16 + 1, "reader does not advance");
            if p.is_err() {
                break;
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = testbench::schedule::parse_line(line);
        }
    }
});
