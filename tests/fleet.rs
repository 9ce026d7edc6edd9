//! End-to-end tests of `lbnic fleet flash` (a rolling update) against
//! several `lbnic serve --shm` devices: under traffic with no established
//! connection moved, refused on a lineage mismatch before any write, and
//! stopped (saying where) when a device dies mid-rollout.

mod common;

use common::device::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The example's `web` VIP (direct routing: the destination MAC names the
/// backend) on `maglev-stable`, whose tables depend on their history.
fn stable(s: String) -> String {
    s.replacen("scheduler = \"maglev\"", "scheduler = \"maglev-stable\"", 1)
}

/// A fifth `web` backend.
fn add_web5(s: String) -> String {
    let anchor = "state = \"drain\"\n";
    assert!(s.contains(anchor));
    s.replacen(
        anchor,
        "state = \"drain\"\n\n[[vip.backend]]\nname = \"web-5\"\naddress = \"10.0.1.5\"\nmac = \"02:00:0a:00:01:05\"\n",
        1,
    )
}

fn generation(t: &Tmp, dev: &str) -> u64 {
    stats(t, dev)["active_generation"].as_u64().unwrap()
}

/// Wait (bounded) until `dev` has received at least `n` packets.
fn wait_rx(t: &Tmp, dev: &str, n: u64) {
    let until = Instant::now() + Duration::from_secs(120);
    while stats(t, dev)["counters"]["rx_packets"].as_u64().unwrap() < n {
        assert!(Instant::now() < until, "{dev}: traffic never reached {n} packets");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Long-lived flows (TCP with handshakes, never closed; UDP) to every VIP
/// of g1.toml, starting over the whole trace, so flows are established
/// before an update and new ones start after it.
fn traffic(t: &Tmp, packets: u64, flows: u32) -> PathBuf {
    let text = std::fs::read_to_string(t.p("g1.toml")).unwrap();
    let cfg = table_compiler::config::Config::parse(&text, "g1.toml", &root().join("examples")).unwrap();
    let spec = testbench::gen::GenSpec {
        seed: 11,
        packets,
        flows,
        popularity: testbench::gen::Popularity::Zipf(0.6),
        ipv6: 0.3,
        handshake: true,
        flow_len: 0,
        rate: testbench::gen::Rate::Pps(100_000.0),
        ..testbench::gen::GenSpec::default()
    };
    let trace = t.p("rx.pcap");
    testbench::gen::generate(&cfg, spec, &trace, |_| {}).unwrap();
    trace
}

/// `n` served devices on the small target (`shm:` specs), replaying
/// `rx` at 2500 packets/s after each commit (output in tx<i>.pcap).
fn served(t: &Tmp, n: usize, rx: Option<&Path>) -> (Vec<Serve>, Vec<String>) {
    let mut serves = Vec::new();
    let mut devs = Vec::new();
    for i in 0..n {
        let shm = t.s(&format!("dev{i}"));
        let out = t.s(&format!("tx{i}.pcap"));
        let target = small_target();
        let mut args = vec!["--target", target.as_str()];
        if let Some(rx) = rx {
            args.extend(["--rx", rx.to_str().unwrap(), "--tx", &out, "--pps", "2500"]);
        }
        serves.push(Serve::start(&shm, &args));
        devs.push(format!("shm:{shm}"));
    }
    (serves, devs)
}

/// `fleet flash IMAGE -d ... EXTRA`.
fn fleet_args<'a>(img: &'a str, devs: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["fleet", "flash", img];
    for d in devs {
        a.extend(["-d", d.as_str()]);
    }
    a.extend(extra);
    a
}

/// Three served devices replay established TCP/UDP flows; `fleet flash`
/// moves them from generation 1 to generation 2 (one more `web` backend,
/// compiled with --previous) one at a time while the traffic flows. Every
/// device ends at generation 2, verified, and in every device's output no
/// established connection changed backend.
#[test]
fn a_rolling_flash_under_traffic_moves_no_established_connection() {
    let t = Tmp::new();
    let g1 = t.compile("g1", 1, None, stable);
    let g2 = t.compile("g2", 2, Some(&g1), |s| add_web5(stable(s)));
    let packets = 15_000u64;
    let trace = traffic(&t, packets, 600);
    let (serves, devs) = served(&t, 3, Some(&trace));
    for d in &devs {
        t.ok(&["flash", "-d", d, &g1]);
    }
    for d in &devs {
        wait_rx(&t, d, 1000);
    }
    let r = t.json(&fleet_args(&g2, &devs, &["--watch", "400ms", "--json"]));
    eprintln!(
        "rolling flash of 3 devices under traffic: {:.0} ms in all; per device (ms): {}",
        r["total_ms"].as_f64().unwrap(),
        r["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{} {:.1}", s["step"].as_str().unwrap(), s["ms"].as_f64().unwrap()))
                .collect::<Vec<_>>()
                .join(", "))
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert_eq!(r["result"], "ok", "{r:#}");
    assert_eq!(r["updated"].as_array().unwrap().len(), 3, "{r:#}");
    for (i, d) in r["devices"].as_array().unwrap().iter().enumerate() {
        assert_eq!(d["device"], devs[i].as_str());
        assert_eq!(d["result"], "updated");
        assert_eq!(d["before_generation"], 1);
        assert_eq!(d["after_generation"], 2);
        let steps: Vec<&str> = d["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["check", "write", "commit", "verify", "watch"]);
        // Watched under traffic, and nothing dropped.
        assert!(d["watch"]["rx_packets"].as_u64().unwrap() > 0, "{d:#}");
        assert_eq!(d["watch"]["drops"], 0, "{d:#}");
    }
    for d in &devs {
        t.ok(&["verify", "-d", d, &g2]);
    }
    let (mut straddling, mut moved, mut new_on_web5) = (0u64, 0u64, 0u64);
    let web5_mac = vec![0x02, 0x00, 0x0a, 0x00, 0x01, 0x05];
    let input = read_trace(&trace);
    for (i, mut serve) in serves.into_iter().enumerate() {
        // The update landed in the middle of the first replay.
        let after = serve.commit_at_packet(2, Duration::from_secs(180));
        assert!(after < packets, "device {i}: commit at packet {after}");
        let summary = serve.first_replay_summary();
        assert!(
            summary.contains(&format!("{packets} packets in, {packets} out")),
            "device {i}: {summary}"
        );
        let (ok, log) = serve.stop();
        assert!(ok, "{log:?}");
        let output = read_trace(&t.p(&format!("tx{i}.pcap")));
        assert_eq!(output.len(), input.len(), "device {i}: packets lost");
        let mut seen: HashMap<String, (Backend, usize)> = HashMap::new();
        for (k, (inp, outp)) in input.iter().zip(&output).enumerate() {
            let f = flow_of(inp);
            let b = backend_of(outp);
            match seen.get(&f) {
                Some((b0, first)) => {
                    if &b != b0 {
                        moved += 1;
                        eprintln!("device {i}: flow {f} moved at packet {k} (first seen at {first})");
                    }
                    if k as u64 >= after && (*first as u64) < after {
                        straddling += 1;
                    }
                }
                None => {
                    if k as u64 >= after && b.0 == web5_mac {
                        new_on_web5 += 1;
                    }
                    seen.insert(f, (b, k));
                }
            }
        }
    }
    eprintln!(
        "rolling flash under traffic: 3 devices; {straddling} packets of connections established before \
their device's update, {moved} moved; {new_on_web5} new flows after it went to the added backend"
    );
    assert_eq!(moved, 0, "established connections changed backend");
    assert!(straddling > 1000, "{straddling}");
    assert!(new_on_web5 > 0, "no new flow reached the added backend");
}

/// Devices must run the image or one it was compiled through: a device
/// running the same config compiled fresh (another history) refuses the
/// whole update before anything is written anywhere, naming the device;
/// `--ignore-lineage` flashes anyway, with a warning.
#[test]
fn a_device_from_another_history_refuses_the_update_before_any_write() {
    let t = Tmp::new();
    let g1 = t.compile("g1", 1, None, stable);
    let g2 = t.compile("g2", 2, Some(&g1), |s| add_web5(stable(s)));
    // The same config and generation as g2, compiled without --previous.
    let fresh = t.compile("fresh", 2, None, |s| add_web5(stable(s)));
    let (_serves, devs) = served(&t, 3, None);
    t.ok(&["flash", "-d", &devs[0], &g1]);
    t.ok(&["flash", "-d", &devs[1], &fresh]);
    // devs[2] is never flashed: no history, fine.
    let fresh_id = t.json(&["inspect", &fresh, "--json"])["lineage"]["own"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before: Vec<(u64, u64)> = devs
        .iter()
        .map(|d| {
            let s = stats(&t, d);
            (
                s["active_generation"].as_u64().unwrap(),
                s["counters"]["commits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(before, [(1, 1), (2, 1), (0, 0)]);
    let mut args = fleet_args(&g2, &devs, &["--watch", "0"]);
    let e = t.fails(&args);
    assert!(e.contains("refused before any write"), "{e}");
    assert!(
        e.contains(&format!(
            "{} runs generation 2 (image id {fresh_id}), which is neither this image nor in its lineage",
            devs[1]
        )),
        "{e}"
    );
    assert!(!e.contains(&format!("{} runs generation 1", devs[0])), "{e}");
    let after: Vec<(u64, u64)> = devs
        .iter()
        .map(|d| {
            let s = stats(&t, d);
            (
                s["active_generation"].as_u64().unwrap(),
                s["counters"]["commits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(after, before, "a device was written");
    t.ok(&["verify", "-d", &devs[0], &g1]);
    t.ok(&["verify", "-d", &devs[1], &fresh]);

    args.push("--json");
    args.push("--ignore-lineage");
    let o = t.lbnic(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("NOT in the image's lineage"), "{err}");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let lineage: Vec<&str> = r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["lineage"].as_str().unwrap())
        .collect();
    assert_eq!(lineage, ["ancestor", "ignored", "empty"]);
    for d in &devs {
        t.ok(&["verify", "-d", d, &g2]);
    }
}

/// `fleet flash` in the background, its stderr line by line.
struct Fleet {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    err: Vec<String>,
}

impl Fleet {
    fn start(t: &Tmp, args: &[&str]) -> Fleet {
        let mut child = Command::new(bin())
            .args(args)
            .env("LBNIC_STATE_DIR", t.p("state"))
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lbnic fleet flash");
        let e = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(e).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Fleet {
            child,
            lines,
            err: Vec::new(),
        }
    }

    fn wait_line(&mut self, what: &str, within: Duration) {
        let until = Instant::now() + within;
        loop {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(l) => {
                    let hit = l.contains(what);
                    self.err.push(l);
                    if hit {
                        return;
                    }
                }
                Err(_) => panic!("fleet flash never printed {what:?}:\n{}", self.err.join("\n")),
            }
        }
    }

    /// Wait (bounded) for the exit; its status, stdout and all of stderr.
    fn finish(mut self, within: Duration) -> (bool, String, String) {
        let until = Instant::now() + within;
        let st = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("fleet flash did not finish:\n{}", self.err.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut out).unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.err.push(l);
        }
        (st.success(), out, self.err.join("\n"))
    }
}

/// A device that dies before its turn stops the rollout there: the devices
/// before it are updated, the ones after it untouched, and the error says
/// which device failed at which step.
#[test]
fn a_device_dying_mid_rollout_stops_it_and_says_where() {
    let t = Tmp::new();
    let g1 = t.compile("g1", 1, None, stable);
    let g2 = t.compile("g2", 2, Some(&g1), |s| add_web5(stable(s)));
    let (serves, devs) = served(&t, 3, None);
    for d in &devs {
        t.ok(&["flash", "-d", d, &g1]);
    }
    let mut fleet = Fleet::start(&t, &fleet_args(&g2, &devs, &["--watch", "3s", "--json"]));
    // Device 2 dies while device 1 is being watched.
    fleet.wait_line(&format!("[1/3] {}: watching", devs[0]), Duration::from_secs(60));
    serves[1].signal("-KILL");
    let (ok, out, err) = fleet.finish(Duration::from_secs(60));
    assert!(!ok, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&format!("rolling update stopped at {}, step check", devs[1])),
        "{err}"
    );
    assert!(err.contains("heartbeat"), "{err}");
    assert!(err.contains(&format!("updated: {}\n", devs[0])), "{err}");
    assert!(err.contains(&format!("not touched: {}", devs[2])), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["result"], "failed");
    assert_eq!(r["failed"], devs[1].as_str());
    assert_eq!(r["failed_step"], "check");
    let res: Vec<&str> = r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert_eq!(res, ["updated", "failed", "untouched"]);
    assert_eq!(generation(&t, &devs[0]), 2);
    assert_eq!(generation(&t, &devs[1]), 1);
    assert_eq!(generation(&t, &devs[2]), 1);
    t.ok(&["verify", "-d", &devs[2], &g1]);
    assert_eq!(stats(&t, &devs[2])["counters"]["commits"], 1);
}

/// Dry runs on in-process models, a device already running the image,
/// and arguments refused before anything is opened.
#[test]
fn model_devices_skips_and_bad_arguments() {
    let t = Tmp::new();
    let g1 = t.compile("g1", 1, None, stable);
    let r = t.json(&[
        "fleet", "flash", &g1, "-d", "model", "-d", "model", "--watch", "0", "--json",
    ]);
    assert_eq!(r["result"], "ok", "{r:#}");
    assert_eq!(r["updated"].as_array().unwrap().len(), 2);
    assert_eq!(r["devices"][0]["before_generation"], 0);

    let shm = t.s("dev");
    let dev = format!("shm:{shm}");
    let _serve = Serve::start(&shm, &["--target", &small_target()]);
    t.ok(&["flash", "-d", &dev, &g1]);
    let o = t.lbnic(&["fleet", "flash", &g1, "-d", &dev, "--watch", "0"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already runs this image (verified): skipped"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 updated, 1 skipped"));
    assert_eq!(stats(&t, &dev)["counters"]["commits"], 1);
    // --delta: from the third flash on, only what changed is written.
    let g2 = t.compile("g2", 2, Some(&g1), |s| add_web5(stable(s)));
    let g3 = t.compile("g3", 3, Some(&g2), |s| {
        add_web5(stable(s)).replace("weight = 2", "weight = 3")
    });
    t.ok(&["flash", "-d", &dev, &g2]);
    let r = t.json(&[
        "fleet", "flash", &g3, "-d", &dev, "--delta", "--watch", "0", "--json",
    ]);
    let f = &r["devices"][0]["flash"];
    assert_eq!(f["delta"], true, "{r:#}");
    assert!(
        f["bytes_written"].as_u64().unwrap() < f["bank_len"].as_u64().unwrap() / 4,
        "{f:#}"
    );
    assert_eq!(r["devices"][0]["lineage"], "ancestor");
    t.ok(&["verify", "-d", &dev, &g3]);

    let e = t.fails(&["fleet", "flash", &g1, "-d", &dev, "-d", &dev]);
    assert!(e.contains("named twice"), "{e}");
    let e = t.fails(&["fleet", "flash", &g1, "-d", "model", "--drop-counter", "nope"]);
    assert!(e.contains("no such counter"), "{e}");
    let e = t.fails(&["fleet", "flash", &g1, "-d", "model", "--watch", "2h"]);
    assert!(e.contains("unit"), "{e}");
    // A device of another target: refused before any write, named.
    let other = t.s("other");
    let _o = Serve::start(&other, &[]);
    let e = t.fails(&[
        "fleet",
        "flash",
        &g1,
        "-d",
        "model",
        "-d",
        &format!("shm:{other}"),
    ]);
    assert!(e.contains("refused before any write"), "{e}");
    assert!(e.contains(&format!("shm:{other}")), "{e}");
}

/// An image that drops new flows (every `web` backend drained) fails the
/// first device's watch under traffic: the rollout stops there, the next
/// device keeps its image.
#[test]
fn drops_rising_during_the_watch_stop_the_rollout() {
    let t = Tmp::new();
    let g1 = t.compile("g1", 1, None, stable);
    let drain_web = |s: String| {
        let mut s = stable(s);
        for b in ["web-1", "web-2", "web-3"] {
            let name = format!("name = \"{b}\"\n");
            s = s.replacen(&name, &format!("{name}state = \"drain\"\n"), 1);
        }
        s
    };
    let bad = t.compile("bad", 2, Some(&g1), drain_web);
    // Many flows, so new ones start during the watch.
    let trace = traffic(&t, 15_000, 3000);
    let (_serves, devs) = served(&t, 2, Some(&trace));
    for d in &devs {
        t.ok(&["flash", "-d", d, &g1]);
    }
    for d in &devs {
        wait_rx(&t, d, 500);
    }
    let o = t.lbnic(&fleet_args(
        &bad,
        &devs,
        &["--watch", "1s", "--min-packets", "50", "--json"],
    ));
    let err = String::from_utf8_lossy(&o.stderr);
    eprintln!(
        "{}",
        err.lines()
            .filter(|l| l.contains("watch"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!("rolling update stopped at {}, step watch", devs[0])),
        "{err}"
    );
    assert!(err.contains("dropped (drop_no_backend + drop_parse)"), "{err}");
    assert!(err.contains(&format!("not touched: {}", devs[1])), "{err}");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = &r["devices"][0]["watch"];
    assert!(w["drops"].as_u64().unwrap() > 0, "{w:#}");
    assert_eq!(w["baseline_drops"], 0, "{w:#}");
    assert_eq!(r["devices"][1]["result"], "untouched");
    assert_eq!(generation(&t, &devs[0]), 2);
    assert_eq!(generation(&t, &devs[1]), 1);
}
