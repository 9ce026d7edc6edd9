//! End-to-end tests of the device commands over a shared-memory device:
//! `lbnic serve --shm` in the background, `lbnic flash / verify / stats /
//! ct` against it, dead and hung devices, a flash killed half-way, and a
//! table update under traffic.

mod common;

use common::device::*;
use lbnic_contract::image::Image;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn shm_flash_verify_stats_conntrack_and_clean_shutdown() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let serve = Serve::start(&shm, &["--target", &small_target()]);
    let g1 = t.compile("g1", 1, None, |s| s);
    let g2 = t.compile("g2", 2, Some(&g1), |s| s.replace("weight = 2", "weight = 3"));
    let out = t.ok(&["flash", "-d", &dev, &g1]);
    assert!(out.contains("generation 1 active in bank 1"), "{out}");
    t.ok(&["verify", "-d", &dev, &g1]);
    let e = t.fails(&["verify", "-d", &dev, &g2]);
    assert!(
        e.contains("active generation is 1, the image is generation 2"),
        "{e}"
    );
    let r = t.json(&["flash", "-d", &dev, &g2, "--json"]);
    assert_eq!(r["bank"], 0);
    assert_eq!(r["delta"], false);
    let s = stats(&t, &dev);
    assert_eq!(s["active_generation"], 2);
    assert_eq!(s["active_bank"], 0);
    assert_eq!(s["counters"]["commits"], 2);
    assert_eq!(s["counters"]["commit_errors"], 0);
    assert_eq!(s["running"], true);
    // Human output and --watch with rates (bounded by --count).
    let h = t.ok(&["stats", "-d", &dev, "--target", &small_target()]);
    assert!(h.contains("active generation 2 in bank 0"), "{h}");
    let w = t.ok(&[
        "stats",
        "-d",
        &dev,
        "--target",
        &small_target(),
        "--watch",
        "--json",
        "--interval",
        "50",
        "--count",
        "2",
    ]);
    let lines: Vec<Value> = w.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1]["rates_per_s"]["rx_packets"].is_number());
    assert!(lines[1]["heartbeat"].as_u64() != lines[0]["heartbeat"].as_u64());

    // Conntrack: preload, dump (a flow list ct build takes back), flush.
    let flows = t.p("flows.jsonl");
    std::fs::write(
        &flows,
        r#"{"flow": "tcp 198.51.100.7:40000 -> 192.0.2.10:80", "vip": "web", "backend": "web-2", "state": "established"}
{"flow": "tcp [2001:db8::7]:5000 -> [2001:db8::10]:443", "vip": "web6", "backend": "web6-3", "state": "established", "packets": 7, "bytes": 700}
"#,
    )
    .unwrap();
    let ct = t.s("ct.img");
    t.ok(&[
        "ct",
        "build",
        "--bank",
        &g2,
        "--flows",
        flows.to_str().unwrap(),
        "-o",
        &ct,
    ]);
    t.ok(&["ct", "load", "-d", &dev, &ct]);
    let dumped = t.s("dumped.jsonl");
    let dump_img = t.s("dumped.img");
    t.ok(&[
        "ct", "dump", "-d", &dev, "--bank", &g2, "-o", &dumped, "--image", &dump_img,
    ]);
    let listed = t.ok(&["ct", "list", &ct, "--bank", &g2]);
    assert_eq!(std::fs::read_to_string(&dumped).unwrap(), listed);
    // The dump turns back into the same image.
    let rebuilt = t.s("rebuilt.img");
    t.ok(&["ct", "build", "--bank", &g2, "--flows", &dumped, "-o", &rebuilt]);
    assert_eq!(
        Image::load(Path::new(&rebuilt)).unwrap().device(),
        Image::load(Path::new(&ct)).unwrap().device()
    );
    assert_eq!(t.ok(&["ct", "list", &dump_img, "--bank", &g2]), listed);
    assert_eq!(stats(&t, &dev)["ct_host"], false);
    t.ok(&["ct", "flush", "-d", &dev, "--target", &small_target()]);
    assert_eq!(t.ok(&["ct", "dump", "-d", &dev, "--bank", &g2]), "");
    // A conntrack image for another target is refused.
    let big = t.s("big.img");
    t.ok(&["compile", "examples/basic.toml", "-o", &big]);
    let big_ct = t.s("big-ct.img");
    t.ok(&["ct", "build", "--bank", &big, "-o", &big_ct]);
    let e = t.fails(&["ct", "load", "-d", &dev, &big_ct]);
    assert!(e.contains("BAR") || e.contains("fingerprint"), "{e}");

    // SIGTERM: a clean stop, and the device reads as gone.
    let (ok, log) = serve.stop();
    assert!(ok, "{log:?}");
    assert!(log.iter().any(|l| l.contains("lbnic serve: stopped")), "{log:?}");
    let s = stats(&t, &dev);
    assert_eq!(s["ready"], false);
    assert_eq!(s["running"], false);
}

#[test]
fn wrong_target_and_bad_devices_are_refused_before_any_write() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let e = t.fails(&["flash", "-d", &dev, "examples/basic.toml"]);
    assert!(e.contains("not an lbnic image"), "{e}");
    let _serve = Serve::start(&shm, &["--target", &small_target()]);
    let g1 = t.compile("g1", 1, None, |s| s);
    t.ok(&["flash", "-d", &dev, &g1]);
    let before = std::fs::read(&shm).unwrap();
    // An image for the default target: its BAR is bigger than this file.
    let big = t.s("big.img");
    t.ok(&["compile", "examples/basic.toml", "-o", &big]);
    let e = t.fails(&["flash", "-d", &dev, &big]);
    assert!(e.contains("needs a 268435456-byte BAR"), "{e}");
    // A target with the same layout but another fingerprint.
    let other = t.p("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(small_target()).unwrap() + "clock_mhz = 300\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(t.p("g1.toml"))
        .unwrap()
        .replace(&small_target(), other.to_str().unwrap());
    std::fs::write(t.p("other-cfg.toml"), text).unwrap();
    let o = t.s("other.img");
    t.ok(&["compile", t.p("other-cfg.toml").to_str().unwrap(), "-o", &o]);
    let e = t.fails(&["flash", "-d", &dev, &o]);
    assert!(e.contains("refused before any write"), "{e}");
    let after = std::fs::read(&shm).unwrap();
    // Nothing but the live registers (heartbeat) changed.
    let ap = table_compiler::target_file::load(Path::new(&small_target()))
        .unwrap()
        .bar
        .aperture_offset as usize;
    assert!(before[ap..] == after[ap..], "the aperture changed");
    for bad in ["shm:", "pci:1", "vfio:nonsense", "vfio:0000:7f:1f.7"] {
        let e = t.fails(&["stats", "-d", bad]);
        assert!(
            e.contains("vfio:") || e.contains("no such PCI device"),
            "{bad}: {e}"
        );
    }
    let e = t.fails(&["stats", "-d", &format!("shm:{}", t.s("missing"))]);
    assert!(e.contains("start `lbnic serve --shm"), "{e}");
    let bar_len = table_compiler::target_file::load(Path::new(&small_target()))
        .unwrap()
        .memory_map()
        .bar_len;
    std::fs::write(t.p("zero"), vec![0u8; bar_len as usize]).unwrap();
    let e = t.fails(&[
        "stats",
        "-d",
        &format!("shm:{}", t.s("zero")),
        "--target",
        &small_target(),
    ]);
    assert!(e.contains("nothing has initialised this file"), "{e}");
}

#[test]
fn a_dead_or_hung_device_fails_with_a_clear_error_in_bounded_time() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let g1 = t.compile("g1", 1, None, |s| s);
    let g2 = t.compile("g2", 2, Some(&g1), |s| s);
    let serve = Serve::start(&shm, &["--target", &small_target()]);
    t.ok(&["flash", "-d", &dev, &g1]);
    // Hung: the process is stopped (registers stay, nothing answers).
    serve.signal("-STOP");
    let t0 = Instant::now();
    let e = t.fails(&["flash", "-d", &dev, &g2, "--timeout", "1"]);
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    assert!(
        e.contains("heartbeat stayed at") && e.contains("not running"),
        "{e}"
    );
    serve.signal("-CONT");
    t.ok(&["flash", "-d", &dev, &g2]);
    t.ok(&["verify", "-d", &dev, &g2]);
    // Dead: killed outright.
    serve.signal("-KILL");
    drop(serve);
    let t0 = Instant::now();
    let e = t.fails(&["flash", "-d", &dev, &g1]);
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(e.contains("not running"), "{e}");
    // The active bank is as the last good flash left it.
    t.ok(&["verify", "-d", &dev, &g2]);
}

/// Kill a flash while it writes the inactive bank: the active bank is
/// untouched, and the next flash (delta too) succeeds.
#[test]
fn a_flash_killed_half_way_leaves_the_active_bank_and_the_next_flash_succeeds() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    // The default target: a 16 MiB bank takes long enough to write.
    let g1 = t.s("g1.img");
    t.ok(&["compile", "examples/basic.toml", "-o", &g1, "--generation", "1"]);
    let text = std::fs::read_to_string(root().join("examples/basic.toml")).unwrap();
    std::fs::write(t.p("g2.toml"), text.replace("weight = 2", "weight = 3")).unwrap();
    let g2 = t.s("g2.img");
    t.ok(&[
        "compile",
        t.p("g2.toml").to_str().unwrap(),
        "-o",
        &g2,
        "--previous",
        &g1,
    ]);
    let serve = Serve::start(&shm, &[]);
    t.ok(&["flash", "-d", &dev, &g1]);
    let t_def = lbnic_contract::target::Target::builtin();
    let map = t_def.memory_map();
    let img2 = Image::load(Path::new(&g2)).unwrap();
    // Bank 0 is inactive (and empty); kill the flash as soon as its first
    // page holds the new image, i.e. while it writes the 16 MiB bank.
    let file = std::fs::File::open(&shm).unwrap();
    let bank0 = t_def.bar.aperture_offset + map.bank_base[0];
    let first = &img2.device()[..4096];
    let mut child = Command::new(bin())
        .args(["flash", "-d", &dev, &g2])
        .env("LBNIC_STATE_DIR", t.p("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut page = vec![0u8; 4096];
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        file.read_exact_at(&mut page, bank0).unwrap();
        if page == first {
            child.kill().unwrap();
            break;
        }
        assert!(Instant::now() < until, "the flash never started writing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the flash finished before it could be killed"
        );
    }
    child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    // Killed before it committed: generation 1 active and intact.
    let s = t.json(&["stats", "-d", &dev, "--json"]);
    assert_eq!(s["active_generation"], 1, "the killed flash committed: {s}");
    assert_eq!(s["counters"]["commits"], 1);
    t.ok(&["verify", "-d", &dev, &g1]);
    // The next flash, even asked as a delta, writes the whole bank (the
    // killed flash left no record of bank 0) and succeeds.
    let r = t.json(&["flash", "-d", &dev, &g2, "--delta", "--json"]);
    assert_eq!(r["delta"], false);
    assert_eq!(r["generation"], 2);
    t.ok(&["verify", "-d", &dev, &g2]);
    drop(serve);
}

/// Delta flashing over shm: a one-backend change writes a few KiB, the
/// device's CRC check catches a wrong base, and records follow the device.
#[test]
fn delta_flash_over_shm() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let _serve = Serve::start(&shm, &["--target", &small_target()]);
    let add = |s: String| {
        s.replace(
            "[[vip.backend]]\nname = \"web6-3\"",
            "[[vip.backend]]\nname = \"web6-4\"\naddress = \"2001:db8:1::4\"\n\n[[vip.backend]]\nname = \"web6-3\"",
        )
    };
    let g1 = t.compile("g1", 1, None, |s| s);
    let g2 = t.compile("g2", 2, Some(&g1), |s| s.replace("weight = 2", "weight = 3"));
    let g3 = t.compile("g3", 3, Some(&g2), move |s| {
        add(s.replace("weight = 2", "weight = 3"))
    });
    t.ok(&["flash", "-d", &dev, &g1]);
    let r = t.json(&["flash", "-d", &dev, &g2, "--delta", "--json"]);
    assert_eq!(r["delta"], false, "bank 0 was never flashed: full");
    let r = t.json(&["flash", "-d", &dev, &g3, "--delta", "--json"]);
    assert_eq!(r["delta"], true);
    assert_eq!(r["delta_fell_back"], false);
    let written = r["bytes_written"].as_u64().unwrap();
    assert!(
        written > 0 && written < r["bank_len"].as_u64().unwrap() / 10,
        "{r}"
    );
    t.ok(&["verify", "-d", &dev, &g3]);
    // Another host flashed meanwhile: the records no longer match, full write.
    let other = Tmp::new();
    other.ok(&["flash", "-d", &dev, &g1]);
    let r = t.json(&["flash", "-d", &dev, &g3, "--delta", "--json"]);
    assert_eq!(r["delta"], false);
    t.ok(&["verify", "-d", &dev, &g3]);
    // A wrong explicit base (bank 0 holds g1, not g3): the device refuses
    // the CRC, the driver writes the full bank and commits again.
    let r = t.json(&["flash", "-d", &dev, &g2, "--delta", "--base", &g3, "--json"]);
    assert_eq!(r["delta"], true);
    assert_eq!(r["delta_fell_back"], true);
    t.ok(&["verify", "-d", &dev, &g2]);
    let s = stats(&t, &dev);
    assert_eq!(s["counters"]["commit_errors"], 1);
}

/// A table update (a backend drained, one added) committed while `serve
/// --rx` replays established flows: no packet is lost and no established
/// connection moves; new flows respect the new tables.
#[test]
fn a_table_update_under_traffic_loses_no_packet_and_moves_no_connection() {
    let t = Tmp::new();
    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let g1 = t.compile("g1", 1, None, |s| s);
    let drain = |s: String| s.replace("name = \"web-2\"\n", "name = \"web-2\"\nstate = \"drain\"\n");
    let g2 = t.compile("g2", 2, Some(&g1), drain);
    // Long-lived flows to every VIP (TCP with handshakes, UDP), starting
    // over the whole trace, no closes, nothing malformed.
    let text = std::fs::read_to_string(t.p("g1.toml")).unwrap();
    let cfg = table_compiler::config::Config::parse(&text, "g1.toml", &root().join("examples")).unwrap();
    let packets = 6000u64;
    let spec = testbench::gen::GenSpec {
        seed: 5,
        packets,
        flows: 400,
        popularity: testbench::gen::Popularity::Zipf(0.6),
        ipv6: 0.3,
        handshake: true,
        flow_len: 0,
        rate: testbench::gen::Rate::Pps(100_000.0),
        ..testbench::gen::GenSpec::default()
    };
    let trace = t.p("rx.pcap");
    testbench::gen::generate(&cfg, spec, &trace, |_| {}).unwrap();
    let out = t.s("tx.pcap");
    let mut serve = Serve::start(
        &shm,
        &[
            "--target",
            &small_target(),
            "--rx",
            trace.to_str().unwrap(),
            "--tx",
            &out,
            "--pps",
            "3000",
        ],
    );
    t.ok(&["flash", "-d", &dev, &g1]);
    // Let a quarter of the traffic through, then update the tables.
    let until = Instant::now() + Duration::from_secs(60);
    while stats(&t, &dev)["counters"]["rx_packets"].as_u64().unwrap() < packets / 4 {
        assert!(Instant::now() < until, "traffic never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.ok(&["flash", "-d", &dev, &g2, "--delta"]);
    let after = serve.commit_at_packet(2, Duration::from_secs(60));
    assert!(after > packets / 8 && after < packets, "commit at packet {after}");
    let summary = serve.first_replay_summary();
    assert!(
        summary.contains(&format!("{packets} packets in, {packets} out")),
        "{summary}"
    );
    let (ok, log) = serve.stop();
    assert!(ok, "{log:?}");

    let input = read_trace(&trace);
    let output = read_trace(Path::new(&out));
    assert_eq!(output.len(), input.len(), "packets lost");
    let web2_mac = vec![0x02, 0x00, 0x0a, 0x00, 0x01, 0x02];
    let mut seen: HashMap<String, (Backend, usize)> = HashMap::new();
    let (mut straddling, mut straddling_on_web2, mut new_after) = (0, 0, 0);
    for (i, (inp, outp)) in input.iter().zip(&output).enumerate() {
        let f = flow_of(inp);
        let b = backend_of(outp);
        let before_commit = (i as u64) < after;
        match seen.get(&f) {
            Some((b0, first)) => {
                assert_eq!(&b, b0, "flow {f} moved at packet {i} (first seen at {first})");
                if !before_commit && (*first as u64) < after {
                    straddling += 1;
                    if b.0 == web2_mac {
                        straddling_on_web2 += 1;
                    }
                }
            }
            None => {
                if !before_commit {
                    new_after += 1;
                    assert_ne!(b.0, web2_mac, "new flow {f} sent to the drained backend");
                }
                seen.insert(f, (b, i));
            }
        }
    }
    eprintln!(
        "update under traffic: commit after packet {after} of {packets}; {straddling} later packets of \
established flows (none moved), {straddling_on_web2} of them on the drained backend; {new_after} new flows after it"
    );
    // The update landed mid-traffic, on connections it could have moved.
    assert!(straddling > 1000, "{straddling}");
    assert!(
        straddling_on_web2 > 0,
        "no established flow on the drained backend"
    );
    assert!(new_after > 0, "no new flow after the update");
}
