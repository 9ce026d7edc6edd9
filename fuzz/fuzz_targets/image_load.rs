//! Any bytes given to the image loader: an error, never a panic.
//!
//! Random bytes almost never get past the header and section CRCs, so half
//! the inputs are instead edits to a real image (small target) whose CRCs
//! are recomputed afterwards: that reaches the entry decoders and the
//! semantic checks (backend ranges, table sizes, names) behind them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;
use table_compiler::compile::compile;
use table_compiler::config::Config;
use lbnic_contract::image::{Bank, Image};

const CONFIG: &str = r#"
target = "targets/small.toml"
[device]
gateway_mac = "02:00:00:00:00:fe"
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
mode = "nat"
table_size = 251
backend = [
  { name = "a", address = "10.0.0.1", port = 8080, mac = "02:00:00:00:00:01" },
  { name = "b", address = "10.0.0.2", port = 8080, weight = 3 },
  { name = "c", address = "10.0.0.3", port = 8080, state = "drain" },
]
[[vip]]
name = "v6"
address = "2001:db8::1"
protocol = "udp"
mode = "tun-gue"
scheduler = "wrr"
backend = [{ name = "x", address = "2001:db8:1::1", weight = 2 }, { name = "y", address = "192.0.2.99", weight = 4 }]
"#;

fn base() -> &'static Image {
    static BASE: OnceLock<Image> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let cfg = Config::parse(CONFIG, "fuzz.toml", &dir).expect("fuzz base config");
        compile(&cfg, None, Some(1)).expect("fuzz base image").0
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // (offset u32 LE, xor u8) edits to the payload, then fresh CRCs.
        let mut img = base().clone();
        let len = img.payload.len();
        for e in rest.chunks_exact(5) {
            let at = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize % len;
            img.payload[at] ^= e[4];
        }
        for s in &mut img.sections {
            s.crc32c = crc32c::crc32c(&img.payload[s.range()]);
        }
        img.to_bytes()
    };
    if let Ok(img) = Image::from_bytes(&bytes) {
        let _ = Bank::decode(&img);
    }
});
