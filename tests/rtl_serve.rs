//! `lbnic serve --model rtl`: the reference RTL (Verilator harness, small
//! target) as the device behind a shared-memory file. The same host session
//! runs against `--model functional` and `--model rtl`: flash and verify
//! through host-driver's `shm:` access, a replay after the commit, a
//! conntrack preload and dump, a commit the RTL's own COMMIT logic refuses
//! (bad CRC), a delta flash and a second replay. Both devices must answer
//! alike: the same output frames (equal, for the first replay, to `lbnic
//! replay --model functional`), the same counters, the same conntrack.
//!
//! Needs the harness: `scripts/rtl-sim.sh --target examples/targets/small.toml`;
//! without it the test says so and skips, unless LBNIC_RTL_REQUIRED=1 (CI).

mod common;

use common::device::*;
use host_driver::shm::ShmAccess;
use host_driver::DeviceAccess;
use lbnic_contract::image::Image;
use lbnic_contract::target::regs;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// What one session against one device saw.
#[derive(Debug)]
struct Seen {
    replay1: Vec<Vec<u8>>,
    replay2: Vec<Vec<u8>>,
    counters: Vec<(String, u64)>,
    dumped: String,
    refused: u32,
}

/// The counters both devices must agree on (the RTL's scrubber counts
/// age-outs the model finds free uncounted, spec §12.2).
fn counters(s: &Value) -> Vec<(String, u64)> {
    s["counters"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with("ct_ageouts"))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// Frame for frame, naming the first that differs (not the whole list).
fn same_frames(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: frames out");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: frame {i} differs:\n got  {:02x?}\n want {:02x?}",
            got[i], want[i]
        );
    }
}

/// Wait until the replay log line `replay N:` appears.
fn replayed(serve: &mut Serve, n: u32) -> String {
    serve.wait_line(&format!("replay {n}:"), Duration::from_secs(300))
}

/// A doorbell for `img` staged with a wrong CRC, written as a host would
/// (host-driver's shm access): COMMIT_RESULT once COMMIT_SEQ moves.
fn bad_crc_commit(shm: &Path, img: &Image) -> u32 {
    let t = &img.target;
    let mut a = ShmAccess::open(shm, t).unwrap();
    let active = a.read32(regs::ACTIVE_BANK).unwrap() & 1;
    let base = t.memory_map().bank_base[1 - active as usize];
    a.write_aperture(base, img.device()).unwrap();
    a.write64(regs::STAGED_GEN_LO, img.generation).unwrap();
    a.write32(regs::STAGED_LEN, img.device_len as u32).unwrap();
    a.write32(regs::STAGED_CRC, !img.device_crc()).unwrap();
    let seq = a.read32(regs::COMMIT_SEQ).unwrap();
    a.write32(regs::COMMIT, regs::COMMIT_MAGIC).unwrap();
    let t0 = Instant::now();
    while a.read32(regs::COMMIT_SEQ).unwrap() == seq {
        assert!(t0.elapsed() < Duration::from_secs(60), "COMMIT_SEQ never moved");
        std::thread::sleep(Duration::from_millis(1));
    }
    a.read32(regs::COMMIT_RESULT).unwrap()
}

fn session(t: &Tmp, model: &str, g1: &str, g2: &str, ct: &str, trace: &Path) -> Seen {
    let shm = t.s(&format!("dev-{model}"));
    let dev = format!("shm:{shm}");
    let out = t.s(&format!("tx-{model}.pcap"));
    let mut serve = Serve::start(
        &shm,
        &[
            "--target",
            &small_target(),
            "--model",
            model,
            "--rx",
            trace.to_str().unwrap(),
            "--tx",
            &out,
        ],
    );
    assert!(
        serve.log[0].contains(if model == "rtl" {
            "RTL simulation"
        } else {
            "functional model"
        }),
        "{:?}",
        serve.log
    );
    let timeout = ["--timeout", "30"];
    t.ok(&[&["flash", "-d", &dev, g1][..], &timeout].concat());
    t.ok(&["verify", "-d", &dev, g1]);
    replayed(&mut serve, 1);
    let replay1 = read_trace(Path::new(&out));
    // Conntrack: a preload replaces what the replay left; dumped back.
    t.ok(&[&["ct", "load", "-d", &dev, ct][..], &timeout].concat());
    let dumped = t.ok(&[&["ct", "dump", "-d", &dev, "--bank", g1][..], &timeout].concat());
    // A bad CRC: the device's own validation refuses it; g1 stays.
    let refused = bad_crc_commit(Path::new(&shm), &Image::load(Path::new(g2)).unwrap());
    t.ok(&["verify", "-d", &dev, g1]);
    t.ok(&[&["flash", "-d", &dev, g2, "--delta"][..], &timeout].concat());
    t.ok(&["verify", "-d", &dev, g2]);
    replayed(&mut serve, 2);
    let replay2 = read_trace(Path::new(&out));
    let s = stats(t, &dev);
    assert_eq!(s["active_generation"], 2, "{s}");
    let (ok, log) = serve.stop();
    assert!(ok, "{log:?}");
    Seen {
        replay1,
        replay2,
        counters: counters(&s),
        dumped,
        refused,
    }
}

#[test]
fn rtl_behind_the_shm_device_answers_as_the_functional_model() {
    let t = Tmp::new();
    if common::rtl_harness("examples/targets/small.toml").is_none() {
        return;
    }
    let g1 = t.compile("g1", 1, None, |s| s);
    let g2 = t.compile("g2", 2, Some(&g1), |s| s.replace("weight = 2", "weight = 3"));
    let text = std::fs::read_to_string(t.p("g1.toml")).unwrap();
    let cfg = table_compiler::config::Config::parse(&text, "g1.toml", &root().join("examples")).unwrap();
    let spec = testbench::gen::GenSpec {
        seed: 13,
        packets: 400,
        flows: 60,
        ipv6: 0.3,
        handshake: true,
        rate: testbench::gen::Rate::Pps(100_000.0),
        ..testbench::gen::GenSpec::default()
    };
    let trace = t.p("rx.pcap");
    testbench::gen::generate(&cfg, spec, &trace, |_| {}).unwrap();
    let flows = t.p("flows.jsonl");
    std::fs::write(
        &flows,
        r#"{"flow": "tcp 198.51.100.7:40000 -> 192.0.2.10:80", "vip": "web", "backend": "web-2", "state": "established"}
{"flow": "udp 198.51.100.9:5353 -> 192.0.2.53:53", "vip": "dns", "backend": "dns-b", "state": "none"}
"#,
    )
    .unwrap();
    let ct = t.s("ct.img");
    t.ok(&[
        "ct",
        "build",
        "--bank",
        &g1,
        "--flows",
        flows.to_str().unwrap(),
        "-o",
        &ct,
    ]);

    let f = session(&t, "functional", &g1, &g2, &ct, &trace);
    let r = session(&t, "rtl", &g1, &g2, &ct, &trace);

    // The first replay is `lbnic replay --model functional` of the trace.
    let want = t.s("want.pcap");
    t.ok(&[
        "replay",
        &g1,
        trace.to_str().unwrap(),
        "--model",
        "functional",
        "-o",
        &want,
    ]);
    let want = read_trace(Path::new(&want));
    assert!(want.len() > 300, "{} frames out", want.len());
    same_frames(&f.replay1, &want, "functional serve vs lbnic replay");
    same_frames(&r.replay1, &want, "RTL serve vs lbnic replay --model functional");
    same_frames(
        &r.replay2,
        &f.replay2,
        "second replay (after ct load and the delta flash)",
    );
    assert_eq!(r.refused, regs::COMMIT_BAD_CRC);
    assert_eq!(f.refused, regs::COMMIT_BAD_CRC);
    assert_eq!(r.dumped.lines().count(), 2, "{}", r.dumped);
    assert_eq!(r.dumped, f.dumped);
    let get = |c: &[(String, u64)], k: &str| c.iter().find(|(n, _)| n == k).map(|p| p.1);
    assert_eq!(get(&r.counters, "rx_packets"), Some(800));
    assert_eq!(get(&r.counters, "commits"), Some(2));
    assert_eq!(get(&r.counters, "commit_errors"), Some(1));
    assert_eq!(r.counters, f.counters);
}

/// Without the harness, `serve --model rtl` fails at once, naming the build
/// command, and leaves no BAR file behind.
#[test]
fn serve_rtl_without_the_harness_names_the_build_command() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let o = std::process::Command::new(bin())
        .args([
            "serve",
            "--shm",
            &shm,
            "--target",
            "examples/targets/small.toml",
            "--model",
            "rtl",
        ])
        .env("LBNIC_RTL_SIM_DIR", t.p("no-harness"))
        .current_dir(root())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains("scripts/rtl-sim.sh --target examples/targets/small.toml"),
        "{e}"
    );
    assert!(!Path::new(&shm).exists());
}
