//! End-to-end tests of the testbench commands: gen -> replay -> check round
//! trips for every forwarding mode and scheduler (IPv4 and IPv6), table
//! updates mid-trace, golden-compare failures, damaged captures, tshark
//! dissection of the output.

use serde_json::Value;
use std::process::Command;

mod common;

use common::{json, lbnic, ok, Tmp};

/// Fails with exit code 1, no panic; (stdout, stderr).
fn fails(args: &[&str]) -> (String, String) {
    let o = lbnic(args);
    assert_eq!(o.status.code(), Some(1), "lbnic {args:?} should exit 1");
    let (out, err) = (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    );
    assert!(!err.contains("panicked"), "{err}");
    (out, err)
}

const MODES: [&str; 4] = ["dr", "tun-ipip", "tun-gue", "nat"];
const SCHEDS: [&str; 4] = ["maglev", "maglev-stable", "rr", "wrr"];

/// One VIP per (mode, scheduler, family): 32 VIPs, 3 backends each with
/// weights 1, 2, 3; odd schedulers carry UDP. Tunnels of IPv6 VIPs with a
/// weighted scheduler go over an IPv4 underlay (family change).
fn all_modes_config() -> String {
    let mut s =
        String::from("[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n\n");
    let mut i = 0;
    for v6 in [false, true] {
        for mode in MODES {
            for (k, sched) in SCHEDS.iter().enumerate() {
                i += 1;
                let addr = if v6 {
                    format!("2001:db8::{:x}", 0x100 + i)
                } else {
                    format!("192.0.2.{}", 100 + i)
                };
                let proto = if k % 2 == 1 { "udp" } else { "tcp" };
                s += &format!(
                    "[[vip]]\nname = \"v{i}-{mode}-{sched}\"\naddress = \"{addr}\"\nport = {}\nprotocol = \"{proto}\"\n\
                     mode = \"{mode}\"\nscheduler = \"{sched}\"\n",
                    1000 + i
                );
                if sched.starts_with("maglev") {
                    s += "table_size = 1021\n";
                }
                for b in 1..=3 {
                    let cross = mode.starts_with("tun") && v6 && *sched == "wrr";
                    let baddr = if v6 && !cross {
                        format!("2001:db8:{i:x}::{b}")
                    } else {
                        format!("10.{i}.0.{b}")
                    };
                    s += &format!(
                        "[[vip.backend]]\nname = \"b{b}\"\naddress = \"{baddr}\"\nweight = {b}\n\
                         mac = \"02:00:00:{i:02x}:00:{b:02x}\"\n"
                    );
                    if mode == "nat" && b == 1 {
                        s += "port = 9000\n";
                    }
                }
                s += "\n";
            }
        }
    }
    s
}

fn tshark_check(files: &[&str], extra: &[&str]) {
    let have = Command::new("sh")
        .args(["-c", "command -v tshark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("LBNIC_REQUIRE_TSHARK").is_none(),
            "tshark is required (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED tshark dissection: tshark not installed (scripts/test.sh installs it)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/tshark-check.sh");
    let o = Command::new("bash")
        .arg(script)
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "tshark check failed:\n{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("malformed=0 expert_errors=0 bad_checksums=0 unverified=0"),
        "{out}"
    );
}

fn backends_of<'a>(r: &'a Value, vip: &str) -> Vec<&'a Value> {
    r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["vip"] == vip)
        .collect()
}

#[test]
fn every_mode_and_scheduler_round_trips() {
    let t = Tmp::new();
    let cfg = t.write("all.toml", &all_modes_config());
    let img = t.s("all.img");
    ok(&["compile", &cfg, "-o", &img]);
    let trace = t.s("in.pcap");
    let g = json(&[
        "gen",
        &cfg,
        "-o",
        &trace,
        "-n",
        "40000",
        "--flows",
        "3000",
        "--sizes",
        "imix",
        "--ipv6",
        "0.5",
        "--nat-replies",
        "0.3",
        "--non-vip",
        "0.01",
        "--json",
    ]);
    assert_eq!(g["packets"], 40000);
    assert!(g["nat_replies"].as_u64().unwrap() > 500, "{g}");
    // (No malformed frames here: the target passes non-IP frames unchanged,
    // and tshark rightly calls a broken input frame malformed.)
    let out = t.s("out.pcap");
    let r = json(&["replay", &img, &trace, "-o", &out, "--json"]);
    assert_eq!(r["offered"]["packets"], 40000);
    assert_eq!(r["flows"]["moved"], 0);
    // Every output frame maps to a backend, but for the ICMP too-big
    // answers to IMIX's 1518-byte frames to tunnel VIPs.
    let sent = r["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "icmp_too_big_sent")
        .unwrap()[1]
        .clone();
    assert_eq!(
        r["flows"]["unattributed"], sent,
        "every other output frame maps to a backend"
    );
    // Every VIP's backends took flows, in proportion to the table.
    let vips: std::collections::BTreeSet<String> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["vip"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(vips.len(), 32);
    for v in &vips {
        let bs = backends_of(&r, v);
        let flows: Vec<u64> = bs.iter().map(|b| b["flows"].as_u64().unwrap()).collect();
        let total: u64 = flows.iter().sum();
        assert!(total >= 20, "{v}: {flows:?}");
        for b in &bs {
            let f = b["flows"].as_u64().unwrap() as f64;
            let want = b["expected_share"].as_f64().unwrap() * total as f64;
            if v.ends_with("-rr") || v.ends_with("-wrr") {
                // The pointer hands out slots in turn: within a round.
                assert!(
                    (f - want).abs() <= 6.0,
                    "{v} {}: {f} flows, want {want}",
                    b["backend"]
                );
            } else {
                assert!(f > 0.0, "{v} {}: no flows", b["backend"]);
            }
            if v.contains("-nat-") && b["packets"].as_u64().unwrap() > 40 {
                assert!(
                    b["replies"].as_u64().unwrap() > 0,
                    "{v}: NAT replies rewritten back"
                );
            }
        }
        if v.ends_with("-rr") {
            let (lo, hi) = (flows.iter().min().unwrap(), flows.iter().max().unwrap());
            assert!(hi - lo <= 3, "{v}: rr {flows:?}");
        }
    }
    // Golden compare against itself: functional and cycle model.
    let s = ok(&["check", &img, &trace, "--expect", &out]);
    assert!(s.contains(" 0 differ"), "{s}");
    let s = ok(&["check", &img, &trace, "--expect", &out, "--model", "cycle"]);
    assert!(s.contains(" 0 differ, 0 extra from the model, 0 missing"), "{s}");
    // pcapng output reads back the same.
    let ng = t.s("out.pcapng");
    ok(&["replay", &img, &trace, "-o", &ng]);
    ok(&["check", &img, &trace, "--expect", &ng]);
    tshark_check(&[&out], &["--require-ipip", "--require-gue"]);
}

/// `gen --fragments`: shuffled fragmented datagrams (IPv4 and IPv6) to
/// every mode and scheduler; in the output of both models every datagram's
/// fragments are at one backend, read from the frames as a user would (DR:
/// destination MAC; tunnels: outer destination; NAT: the rewritten
/// destination).
#[test]
fn fragmented_datagrams_stay_together_in_every_mode_and_scheduler() {
    use hw_model::packet::{decap, parse, Frag};
    use std::collections::{BTreeMap, BTreeSet};
    let t = Tmp::new();
    let cfg = t.write("all.toml", &all_modes_config());
    let img = t.s("all.img");
    ok(&["compile", &cfg, "-o", &img]);
    let trace = t.s("in.pcap");
    let g = json(&[
        "gen",
        &cfg,
        "-o",
        &trace,
        "-n",
        "30000",
        "--flows",
        "2000",
        "--ipv6",
        "0.5",
        "--fragments",
        "0.3",
        "--nat-replies",
        "0",
        "--json",
    ]);
    let (dgrams, frags) = (
        g["fragmented"].as_u64().unwrap(),
        g["fragments"].as_u64().unwrap(),
    );
    assert!(dgrams > 2000 && frags > 2 * dgrams, "{g}");
    let out = t.s("out.pcap");
    let r = json(&["replay", &img, &trace, "-o", &out, "--json"]);
    let c = |name: &str| {
        let all = r["counters"].as_array().unwrap();
        all.iter()
            .find(|p| p[0] == name)
            .unwrap_or_else(|| panic!("no counter {name}"))[1]
            .clone()
    };
    assert_eq!(c("frag_packets"), frags);
    assert_eq!(c("drop_frag_ambiguous"), 0);
    assert_eq!(c("drop_too_big"), 0, "fragments fit every encapsulation");
    // The cycle model's output is the same, byte for byte. `gen` offers at
    // 100 GbE line rate and the tunnels lengthen every fragment, so behind a
    // MAC the egress port would make the receive buffer overflow: the
    // back-pressured AXI-Stream source compares the decisions alone.
    let s = ok(&[
        "check",
        &img,
        &trace,
        "--expect",
        &out,
        "--model",
        "cycle",
        "--rx-source",
        "axis",
    ]);
    assert!(s.contains(" 0 differ, 0 extra from the model, 0 missing"), "{s}");
    // all_modes_config: VIPs are 192.0.2.x and 2001:db8::x, backends not.
    let is_vip = |a: &str| a.starts_with("192.0.2.") || a.starts_with("2001:db8::");
    // (client, VIP or "nat", protocol, id) -> backends.
    let mut at: BTreeMap<(String, String, u8, u32), BTreeSet<String>> = BTreeMap::new();
    let mut seen = 0;
    for p in testbench::trace::TraceReader::open(std::path::Path::new(&out)).unwrap() {
        let f = p.unwrap().data;
        let (inner, backend) = match decap(&f, 6080) {
            Ok(d) => (d.inner, d.outer.dst.to_string()),
            Err(_) => {
                let q = parse(&f).unwrap();
                // DR keeps the VIP as destination; NAT rewrote it.
                let be = if is_vip(&q.dst.to_string()) {
                    format!("{:02x?}", &f[..6])
                } else {
                    q.dst.to_string()
                };
                (q, be)
            }
        };
        if inner.frag == Frag::None {
            continue;
        }
        seen += 1;
        let vip = inner.dst.to_string();
        let vip = if is_vip(&vip) { vip } else { "nat".into() };
        at.entry((inner.src.to_string(), vip, inner.proto, inner.frag_id))
            .or_default()
            .insert(backend);
    }
    assert_eq!(seen, frags, "every fragment left");
    let split: Vec<_> = at.iter().filter(|(_, b)| b.len() > 1).collect();
    assert!(
        split.is_empty(),
        "{} of {} datagrams split: {:?}",
        split.len(),
        at.len(),
        &split[..split.len().min(3)]
    );
}

/// A config whose VIPs are all shardable (Maglev, no NAT).
fn maglev_config(extra_backend: bool, drain_b2: bool, remove_b3: bool) -> String {
    let mut s = String::from("[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n");
    for (i, (mode, sched, addr, v6)) in [
        ("dr", "maglev-stable", "192.0.2.10", false),
        ("tun-ipip", "maglev-stable", "2001:db8::10", true),
        ("tun-gue", "maglev", "192.0.2.11", false),
    ]
    .iter()
    .enumerate()
    {
        s += &format!(
            "[[vip]]\nname = \"s{i}\"\naddress = \"{addr}\"\nport = 80\nprotocol = \"any\"\nmode = \"{mode}\"\n\
             scheduler = \"{sched}\"\ntable_size = 4093\n"
        );
        for b in 1..=4 {
            if b == 3 && remove_b3 {
                continue;
            }
            let a = if *v6 {
                format!("2001:db8:{i}::{b}")
            } else {
                format!("10.{i}.0.{b}")
            };
            s += &format!(
                "[[vip.backend]]\nname = \"b{b}\"\naddress = \"{a}\"\nmac = \"02:00:00:0{i}:00:0{b}\"\n"
            );
            if b == 2 && drain_b2 {
                s += "state = \"drain\"\n";
            }
        }
        if extra_backend {
            let a = if *v6 {
                format!("2001:db8:{i}::99")
            } else {
                format!("10.{i}.0.99")
            };
            s += &format!(
                "[[vip.backend]]\nname = \"new\"\naddress = \"{a}\"\nmac = \"02:00:00:0{i}:00:99\"\n"
            );
        }
    }
    s
}

/// g1.img and its update g2.img (a backend added, b2 drained, b3 removed
/// in every VIP): (g1 config, g1 image).
fn two_generations(t: &Tmp) -> (String, String) {
    let c1 = t.write("g1.toml", &maglev_config(false, false, false));
    let c2 = t.write("g2.toml", &maglev_config(true, true, true));
    let (i1, i2) = (t.s("g1.img"), t.s("g2.img"));
    ok(&["compile", &c1, "-o", &i1]);
    ok(&["compile", &c2, "-o", &i2, "--previous", &i1]);
    (c1, i1)
}

#[test]
fn mid_trace_update_breaks_no_established_connection() {
    let t = Tmp::new();
    let (c1, i1) = two_generations(&t);
    let trace = t.s("in.pcap");
    ok(&[
        "gen",
        &c1,
        "-o",
        &trace,
        "-n",
        "30000",
        "--flows",
        "1500",
        "--flow-len",
        "40",
        "--sizes",
        "uniform:64-1518",
    ]);
    let sched = t.write(
        "updates.txt",
        "# add a backend, drain b2 and remove b3 of every VIP\nat packet 15000: flash g2.img\n",
    );
    for model in ["functional", "cycle"] {
        let r = json(&[
            "replay",
            &i1,
            &trace,
            "--updates",
            &sched,
            "--model",
            model,
            "--json",
        ]);
        let f = &r["flows"];
        assert_eq!(f["broken"], 0, "{model}: {f}");
        assert_eq!(f["expired"], 0, "{model}: {f}");
        // Exactly the removed backend's flows move.
        let moved = f["moved"].as_u64().unwrap();
        assert!(moved > 20, "{model}: {f}");
        assert_eq!(moved, f["backend_removed"].as_u64().unwrap(), "{model}: {f}");
        assert_eq!(r["updates"][0]["generation"], 2);
        assert_eq!(
            r["counters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[0] == "commits")
                .unwrap()[1],
            2
        );
        for v in ["s0", "s1", "s2"] {
            let bs = backends_of(&r, v);
            let get = |n: &str| *bs.iter().find(|b| b["backend"] == n).unwrap();
            assert!(
                get("new")["flows"].as_u64().unwrap() > 0,
                "{model} {v}: the added backend took flows"
            );
            assert_eq!(get("b2")["table_share"], 0.0, "{v}: drained");
            assert!(get("b2")["packets"].as_u64().unwrap() > 0);
        }
    }
    // The same schedule through check: cycle output equals functional.
    let out = t.s("out.pcap");
    ok(&["replay", &i1, &trace, "--updates", &sched, "-o", &out]);
    ok(&[
        "check",
        &i1,
        &trace,
        "--updates",
        &sched,
        "--expect",
        &out,
        "--model",
        "cycle",
    ]);
    // Without the update the output differs (the golden saw it).
    let (s, e) = fails(&["check", &i1, &trace, "--expect", &out]);
    assert!(s.contains("first difference at byte"), "{s}");
    assert!(e.contains("output differs"), "{e}");
}

#[test]
fn threads_give_the_same_output_and_fall_back_when_they_cannot() {
    let t = Tmp::new();
    let (c1, i1) = two_generations(&t);
    let trace = t.s("in.pcap");
    ok(&[
        "gen",
        &c1,
        "-o",
        &trace,
        "-n",
        "30000",
        "--flows",
        "2000",
        "--syn-flood",
        "0.05",
        "--non-vip",
        "0.02",
        "--malformed",
        "0.02",
    ]);
    let sched = t.write("u.txt", "at packet 7777: flash g2.img\n");
    let (o1, o3) = (t.s("o1.pcap"), t.s("o3.pcap"));
    let r1 = json(&["replay", &i1, &trace, "-o", &o1, "--updates", &sched, "--json"]);
    let r3 = json(&[
        "replay",
        &i1,
        &trace,
        "-o",
        &o3,
        "--updates",
        &sched,
        "--threads",
        "3",
        "--json",
    ]);
    assert_eq!(r3["threads"], 3);
    assert_eq!(std::fs::read(&o1).unwrap(), std::fs::read(&o3).unwrap());
    for k in ["counters", "backends", "flows", "conntrack"] {
        assert_eq!(r1[k], r3[k], "{k}");
    }
    // RR and NAT VIPs cannot be sharded: one thread, and the report says why.
    let cfg = t.write("all.toml", &all_modes_config());
    let img = t.s("all.img");
    ok(&["compile", &cfg, "-o", &img]);
    let r = json(&["replay", &img, &trace, "--threads", "2", "--json"]);
    assert_eq!(r["threads"], 1);
    assert!(
        r["threads_note"].as_str().unwrap().contains("rr"),
        "{}",
        r["threads_note"]
    );
}

/// examples/basic.toml compiled, and `packets` of generated traffic over
/// `flows` flows: (image, trace).
fn basic_image_and_trace(t: &Tmp, packets: &str, flows: &str) -> (String, String) {
    let img = t.s("b.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    let trace = t.s("in.pcap");
    ok(&[
        "gen",
        "examples/basic.toml",
        "-o",
        &trace,
        "-n",
        packets,
        "--flows",
        flows,
    ]);
    (img, trace)
}

/// `check --against cycle` runs the cycle model beside the model under
/// test and compares every packet's egress cycle too: the cycle model
/// against itself is equal packet for packet (also at line rate, where
/// back-pressure shapes every cycle), and a model without time fails
/// instead of passing vacuously.
#[test]
fn check_against_the_cycle_model_compares_every_packets_cycle() {
    let t = Tmp::new();
    let (img, trace) = basic_image_and_trace(&t, "3000", "100");
    let cycle_vs_cycle = ["check", &img, &trace, "--model", "cycle", "--against", "cycle"];
    let j = json(&[&cycle_vs_cycle[..], &["--timing", "line", "--json"]].concat());
    let n = j["compared"].as_u64().unwrap();
    assert!(n > 2000, "{j}");
    assert_eq!(j["timing"]["compared"].as_u64(), Some(n), "{j}");
    assert_eq!(j["timing"]["differ"], 0, "{j}");
    assert!(j["timing"]["first"].is_null(), "{j}");
    assert_eq!(j["timing"]["histograms_equal"], true, "{j}");
    assert!(j["timing"]["latency_here"]["p50"].as_u64().unwrap() >= 139, "{j}");
    let (s, e) = fails(&["check", &img, &trace, "--against", "cycle"]);
    assert!(s.contains(&format!("{n} without cycles")), "{s}");
    assert!(e.contains("timing differs from the cycle model"), "{e}");
    // Every output's cycles in both runs, as CSV.
    let csv = t.s("cycles.csv");
    ok(&[&cycle_vs_cycle[..], &["--cycles", &csv]].concat());
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("index,seq,len,here_arrival,"));
    let rows: Vec<Vec<u64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len() as u64, n);
    assert!(rows
        .iter()
        .all(|r| r.len() == 17 && r[3..10] == r[10..17] && r[9] > r[3]));
    let (_, e) = fails(&["check", &img, &trace, "--against", "functional", "--cycles", &csv]);
    assert!(e.contains("--cycles needs --against cycle"), "{e}");
    // Bytes only against the functional model; one reference at a time.
    ok(&[
        "check",
        &img,
        &trace,
        "--model",
        "cycle",
        "--against",
        "functional",
    ]);
    let o = lbnic(&["check", &img, &trace, "--against", "cycle", "--expect", &trace]);
    assert_eq!(o.status.code(), Some(2), "clap refuses --against with --expect");
}

#[test]
fn check_shows_the_first_differing_byte_and_masks() {
    let t = Tmp::new();
    let (img, trace) = basic_image_and_trace(&t, "500", "50");
    let golden = t.s("golden.pcap");
    ok(&["replay", &img, &trace, "-o", &golden]);
    // Flip the TTL of output packet 7 (IPv4 DR or IPv6...): find an IPv4 one.
    let mut bytes = std::fs::read(&golden).unwrap();
    let mut off = 24;
    let mut idx = 0;
    let target = loop {
        let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = off + 16;
        if idx >= 7 && bytes[f + 12..f + 14] == [0x08, 0x00] {
            break (idx, f);
        }
        off = f + caplen;
        idx += 1;
    };
    bytes[target.1 + 14 + 8] ^= 0x01; // TTL
    let bad = t.s("bad.pcap");
    std::fs::write(&bad, &bytes).unwrap();
    let (s, e) = fails(&["check", &img, &trace, "--expect", &bad]);
    let want = format!("packet {}: first difference at byte 22", target.0);
    assert!(s.contains(&want), "{s}");
    assert!(
        s.contains("got:      eth ") && s.contains("expected: eth "),
        "{s}"
    );
    assert!(s.contains("ttl 64") && s.contains("ttl 65"), "decoded views: {s}");
    assert!(s.contains("[40"), "hex view marks the byte: {s}");
    assert!(e.contains("1 packets differ"), "{e}");
    // Masked, it passes.
    ok(&["check", &img, &trace, "--expect", &bad, "--mask", "ip.ttl"]);
    ok(&["check", &img, &trace, "--expect", &bad, "--mask", "22..23"]);
    let j: Value =
        serde_json::from_str(&fails(&["check", &img, &trace, "--expect", &bad, "--json"]).0).unwrap();
    assert_eq!(j["diff_count"], 1);
    assert_eq!(j["diffs"][0]["first_byte"], 22);
    // A golden with a packet missing at the end.
    let mut short = TraceCut::new(&std::fs::read(&golden).unwrap());
    short.drop_last();
    let g2 = t.s("short.pcap");
    std::fs::write(&g2, short.bytes).unwrap();
    let (s, _) = fails(&["check", &img, &trace, "--expect", &g2]);
    assert!(s.contains("1 extra from the model"), "{s}");
    let (_, e) = fails(&["check", &img, &trace, "--expect", &golden, "--mask", "ip.bogus"]);
    assert!(e.contains("unknown mask"), "{e}");
}

/// Classic pcap (little-endian) records, for cutting.
struct TraceCut {
    bytes: Vec<u8>,
    records: Vec<(usize, usize)>,
}
impl TraceCut {
    fn new(b: &[u8]) -> TraceCut {
        let mut records = Vec::new();
        let mut off = 24;
        while off + 16 <= b.len() {
            let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
            records.push((off, off + 16 + caplen));
            off += 16 + caplen;
        }
        TraceCut {
            bytes: b.to_vec(),
            records,
        }
    }
    fn drop_last(&mut self) {
        let (a, _) = self.records.pop().unwrap();
        self.bytes.truncate(a);
    }
}

#[test]
fn damaged_captures_give_clear_errors_and_no_output() {
    let t = Tmp::new();
    let img = t.s("b.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    let trace = t.s("in.pcap");
    ok(&[
        "gen",
        "examples/basic.toml",
        "-o",
        &trace,
        "-n",
        "200",
        "--flows",
        "20",
    ]);
    let good = std::fs::read(&trace).unwrap();
    let out = t.s("out.pcap");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.pcap", vec![], "empty file"),
        (
            "junk.pcap",
            b"this is not a capture at all".to_vec(),
            "not a pcap or pcapng",
        ),
        ("cut.pcap", good[..good.len() - 30].to_vec(), "packet 199"),
        (
            "garbage.pcap",
            [&good[..], b"\x01\x02trailing garbage"].concat(),
            "packet 200",
        ),
        ("header.pcap", good[..10].to_vec(), "bad pcap header"),
    ];
    for (name, bytes, msg) in cases {
        let p = t.p(name);
        std::fs::write(&p, bytes).unwrap();
        let p = p.to_str().unwrap();
        for model in ["functional", "cycle"] {
            // --strict: damage fails the run (by default the packets before
            // it are replayed with a warning: tests/files.rs).
            let (_, e) = fails(&["replay", &img, p, "-o", &out, "--model", model, "--strict"]);
            assert!(e.contains(msg), "{name}: {e}");
            assert!(
                !t.p("out.pcap").exists(),
                "{name}: a failed replay leaves no output"
            );
        }
        let (_, e) = fails(&["check", &img, &trace, "--expect", p]);
        assert!(e.contains(msg) || e.contains("differs"), "{name}: {e}");
    }
    // A capture whose snaplen cut the frames: replayed with a warning, or
    // left out.
    let mut cut = good.clone();
    cut[16..20].copy_from_slice(&54u32.to_le_bytes()); // snaplen
    let mut tc = TraceCut::new(&good);
    let mut bytes = cut[..24].to_vec();
    for (a, z) in tc.records.drain(..) {
        let data = &good[a + 16..z];
        let n = data.len().min(54);
        bytes.extend_from_slice(&good[a..a + 8]);
        bytes.extend_from_slice(&(n as u32).to_le_bytes());
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&data[..n]);
    }
    let snap = t.s("snap.pcap");
    std::fs::write(&snap, bytes).unwrap();
    let r = json(&["replay", &img, &snap, "--json"]);
    assert!(r["truncated"].as_u64().unwrap() > 100, "{}", r["truncated"]);
    assert!(
        r["warnings"][0].as_str().unwrap().contains("snaplen"),
        "{}",
        r["warnings"]
    );
    let r = json(&["replay", &img, &snap, "--json", "--skip-truncated"]);
    assert_eq!(r["skipped_truncated"], r["truncated"]);
    assert_eq!(
        r["offered"]["packets"].as_u64().unwrap() + r["truncated"].as_u64().unwrap(),
        200
    );
    // Schedules: errors name the line.
    let s = t.write("u.txt", "# c\nat packet 10: flash nope.img\n");
    let (_, e) = fails(&["replay", &img, &trace, "--updates", &s]);
    assert!(e.contains("u.txt:2: image"), "{e}");
    let s = t.write("v.txt", "at packet ten: flash b.img\n");
    let (_, e) = fails(&["replay", &img, &trace, "--updates", &s]);
    assert!(e.contains("v.txt:1: bad packet number"), "{e}");
}

#[test]
fn gen_is_deterministic_and_report_is_written() {
    let t = Tmp::new();
    let (a, b, c) = (t.s("a.pcap"), t.s("b.pcap"), t.s("c.pcap"));
    let args = |o: &str, seed: &str| {
        ok(&[
            "gen",
            "examples/basic.toml",
            "-o",
            o,
            "-n",
            "3000",
            "--seed",
            seed,
            "--popularity",
            "zipf:1.2",
            "--sizes",
            "64:7,594:4,1518:1",
            "--syn-flood",
            "0.1",
            "--rate",
            "poisson:2e6",
        ])
    };
    args(&a, "7");
    args(&b, "7");
    args(&c, "8");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    let (_, e) = fails(&["gen", "examples/basic.toml", "-o", &a, "--sizes", "12"]);
    assert!(e.contains("outside 64..=9004"), "{e}");
    let (_, e) = fails(&["gen", "examples/basic.toml", "-o", &a, "--rate", "fast"]);
    assert!(e.contains("--rate"), "{e}");
    let img = t.s("b.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    let dir = t.s("report");
    let s = ok(&[
        "replay", &img, &a, "--model", "cycle", "--timing", "line", "--report", &dir,
    ]);
    assert!(s.contains("stall cause") && s.contains("p99.9"), "{s}");
    for f in [
        "index.html",
        "throughput.svg",
        "latency.svg",
        "backends.svg",
        "report.json",
    ] {
        let body = std::fs::read_to_string(t.p("report").join(f)).unwrap();
        assert!(body.len() > 500, "{f}");
    }
    let html = std::fs::read_to_string(t.p("report").join("index.html")).unwrap();
    assert!(
        html.contains("<img src=\"throughput.svg\"") && html.contains("conntrack"),
        "{html}"
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(t.p("report").join("report.json")).unwrap()).unwrap();
    let cy = &r["cycle"];
    assert!(cy["latency_cycles"]["p50"].as_u64().unwrap() > 0);
    assert!(cy["latency_ns"]["max"].as_u64().unwrap() >= cy["latency_ns"]["p99"].as_u64().unwrap());
    assert!(
        r["offered"]["gbps_l1"].as_f64().unwrap() > 99.0,
        "line rate: {}",
        r["offered"]
    );
}

/// A NAT VIP's ICMP errors (docs/spec.md §12.1): a router's "fragmentation
/// needed" / "packet too big" about a forwarded packet (client -> backend)
/// reaches the client from the VIP, quoting the packet the client sent; an
/// error about a reply (VIP -> client) reaches the flow's backend, quoting
/// the packet the backend sent. IPv4 (TCP, RR over two backends with a
/// port) and IPv6 (UDP, no port); misses as the spec says; tshark-clean with
/// every checksum (outer, quoted IP header, quoted TCP/UDP, ICMP) verified;
/// the cycle model gives the same bytes.
#[test]
fn nat_icmp_errors_reach_the_right_hosts_translated() {
    use etherparse::{icmpv4::DestUnreachableHeader, Icmpv4Type, Icmpv6Type, PacketBuilder};
    use testbench::trace::{Format, TraceReader, TraceWriter};
    const GW: [u8; 6] = [2, 0, 0x5e, 0, 0, 0xfe];
    const DEV: [u8; 6] = [2, 0, 0x5e, 0, 0, 1];
    const PEER: [u8; 6] = [2, 0xc1, 0, 0, 0, 1];
    const N2_MAC: [u8; 6] = [2, 0, 0, 0, 2, 2];
    const M1_MAC: [u8; 6] = [2, 0, 0, 0, 3, 1];
    let t = Tmp::new();
    let cfg = t.write(
        "nat.toml",
        "[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n\
         [[vip]]\nname = \"web\"\naddress = \"192.0.2.20\"\nport = 8080\nmode = \"nat\"\nscheduler = \"rr\"\n\
         backend = [\n  { name = \"n1\", address = \"10.0.2.1\", port = 9000, mac = \"02:00:00:00:02:01\" },\n\
         { name = \"n2\", address = \"10.0.2.2\", port = 9000, mac = \"02:00:00:00:02:02\" },\n]\n\
         [[vip]]\nname = \"dns6\"\naddress = \"2001:db8::20\"\nport = 53\nprotocol = \"udp\"\nmode = \"nat\"\n\
         table_size = 251\n\
         backend = [{ name = \"m1\", address = \"2001:db8:2::1\", mac = \"02:00:00:00:03:01\" }]\n",
    );
    let img = t.s("nat.img");
    ok(&["compile", &cfg, "-o", &img]);

    let ip4 = |s: &str| -> [u8; 4] { s.parse::<std::net::Ipv4Addr>().unwrap().octets() };
    let ip6 = |s: &str| -> [u8; 16] { s.parse::<std::net::Ipv6Addr>().unwrap().octets() };
    let eth = || PacketBuilder::ethernet2(PEER, DEV);
    let tcp4 = |s: &str, sp: u16, d: &str, dp: u16, syn: bool| {
        let b = PacketBuilder::ipv4(ip4(s), ip4(d), 64).tcp(sp, dp, 100, 64240);
        let b = if syn { b.syn() } else { b.syn().ack(101) };
        let mut v = Vec::new();
        b.write(&mut v, &[]).unwrap();
        v
    };
    let udp6 = |s: &str, sp: u16, d: &str, dp: u16| {
        let mut v = Vec::new();
        PacketBuilder::ipv6(ip6(s), ip6(d), 64)
            .udp(sp, dp)
            .write(&mut v, &[0x5a; 40])
            .unwrap();
        v
    };
    let frame = |ip: &[u8]| {
        let mut f = DEV.to_vec();
        f.extend_from_slice(&PEER);
        f.extend_from_slice(if ip[0] >> 4 == 6 {
            &[0x86, 0xdd]
        } else {
            &[0x08, 0x00]
        });
        f.extend_from_slice(ip);
        f
    };
    let frag_needed = |from: &str, to: &str, quote: &[u8]| {
        let mut f = Vec::new();
        eth()
            .ipv4(ip4(from), ip4(to), 64)
            .icmpv4(Icmpv4Type::DestinationUnreachable(
                DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 },
            ))
            .write(&mut f, quote)
            .unwrap();
        f
    };
    let port_unreachable = |from: &str, to: &str, quote: &[u8]| {
        let mut f = Vec::new();
        eth()
            .ipv4(ip4(from), ip4(to), 64)
            .icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port))
            .write(&mut f, quote)
            .unwrap();
        f
    };
    let too_big = |from: &str, to: &str, quote: &[u8]| {
        let mut f = Vec::new();
        eth()
            .ipv6(ip6(from), ip6(to), 64)
            .icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 })
            .write(&mut f, quote)
            .unwrap();
        f
    };

    // What the hosts send, and what the balancer makes of it.
    let (c1, c2, c6) = ("198.51.100.7", "198.51.100.8", "2001:db8:c::7");
    let syn1 = tcp4(c1, 40000, "192.0.2.20", 8080, true);
    let syn2 = tcp4(c2, 40001, "192.0.2.20", 8080, true);
    let fwd1 = tcp4(c1, 40000, "10.0.2.1", 9000, true); // to n1 (RR)
    let fwd2 = tcp4(c2, 40001, "10.0.2.2", 9000, true); // to n2
    let synack2 = tcp4("10.0.2.2", 9000, c2, 40001, false);
    let reply2 = tcp4("192.0.2.20", 8080, c2, 40001, false);
    let q6 = udp6(c6, 5000, "2001:db8::20", 53);
    let fwd6 = udp6(c6, 5000, "2001:db8:2::1", 53);
    let ans6 = udp6("2001:db8:2::1", 53, c6, 5000);
    let reply6 = udp6("2001:db8::20", 53, c6, 5000);
    let inputs = [
        frame(&syn1),
        frame(&syn2),
        frame(&synack2),
        frame(&q6),
        frame(&ans6),
        // Out: a router between balancer and backend, and the backend.
        frag_needed("10.0.9.254", c1, &fwd1),
        port_unreachable("10.0.2.2", c2, &fwd2),
        too_big("2001:db8:9::fe", c6, &fwd6),
        // In: a router on the client's side bounces a reply.
        frag_needed("203.0.113.1", "192.0.2.20", &reply2),
        too_big("2001:db8:ffff::1", "2001:db8::20", &reply6),
        // Misses: about a reply to a client the VIP never served (dropped);
        // about a packet to a backend from an unknown client (no VIP: pass).
        frag_needed(
            "203.0.113.1",
            "192.0.2.20",
            &tcp4("192.0.2.20", 8080, c1, 1, false),
        ),
        frag_needed(
            "10.0.9.254",
            "198.51.100.99",
            &tcp4("198.51.100.99", 1, "10.0.2.1", 9000, true),
        ),
    ];
    let trace = t.p("in.pcap");
    let mut w = TraceWriter::create(&trace, Format::Pcap).unwrap();
    for (i, f) in inputs.iter().enumerate() {
        w.write(1_000_000_000 + i as u64 * 1_000_000, f).unwrap();
    }
    w.finish().unwrap();
    let (trace, out) = (t.s("in.pcap"), t.s("out.pcap"));
    let r = json(&["replay", &img, &trace, "-o", &out, "--json"]);
    let mut rd = TraceReader::open(std::path::Path::new(&out)).unwrap();
    let mut got = Vec::new();
    while let Some(p) = rd.next_packet() {
        got.push(p.unwrap().data);
    }
    assert_eq!(got.len(), 11, "{r}");

    // (MACs, IP packet) of an output frame.
    let split = |f: &[u8]| (f[..6].to_vec(), f[6..12].to_vec(), f[14..].to_vec());
    // The translated error: from `src` to `dst`, same ICMP type/code/MTU,
    // quoting `quote` whole.
    let want4 = |f: &[u8], mac: [u8; 6], src: &str, dst: &str, input: &[u8], quote: &[u8]| {
        let (d, s, ip) = split(f);
        assert_eq!((d, s), (mac.to_vec(), DEV.to_vec()));
        assert_eq!((&ip[12..16], &ip[16..20]), (&ip4(src)[..], &ip4(dst)[..]));
        assert_eq!(&ip[20..22], &input[34..36], "type and code");
        assert_eq!(&ip[24..28], &input[38..42], "MTU");
        assert_eq!(&ip[28..], quote, "the quote is the packet the receiver sent");
    };
    let want6 = |f: &[u8], mac: [u8; 6], src: &str, dst: &str, input: &[u8], quote: &[u8]| {
        let (d, s, ip) = split(f);
        assert_eq!((d, s), (mac.to_vec(), DEV.to_vec()));
        assert_eq!((&ip[8..24], &ip[24..40]), (&ip6(src)[..], &ip6(dst)[..]));
        assert_eq!(&ip[40..42], &input[54..56], "type and code");
        assert_eq!(&ip[44..48], &input[58..62], "MTU");
        assert_eq!(&ip[48..], quote, "the quote is the packet the receiver sent");
    };
    // Outputs in input order: 5 forwarded/replied, then the errors.
    want4(&got[5], GW, "192.0.2.20", c1, &inputs[5], &syn1);
    want4(&got[6], GW, "192.0.2.20", c2, &inputs[6], &syn2);
    want6(&got[7], GW, "2001:db8::20", c6, &inputs[7], &q6);
    want4(&got[8], N2_MAC, "203.0.113.1", "10.0.2.2", &inputs[8], &synack2);
    want6(
        &got[9],
        M1_MAC,
        "2001:db8:ffff::1",
        "2001:db8:2::1",
        &inputs[9],
        &ans6,
    );
    assert_eq!(got[10], inputs[11], "no reverse entry: the no-VIP action (pass)");
    let counter = |name: &str| {
        r["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == name)
            .unwrap()[1]
            .clone()
    };
    assert_eq!(counter("drop_unroutable"), 1, "{r}");
    // Errors never create or refresh entries: 3 flows, each with its NAT
    // return entry; hits are the 2 replies and the 5 translated errors.
    assert_eq!((counter("ct_inserts"), counter("ct_hits")), (6.into(), 7.into()));

    // Both models, byte for byte; tshark finds nothing to flag.
    let s = ok(&["check", &img, &trace, "--expect", &out, "--model", "cycle"]);
    assert!(s.contains(" 0 differ, 0 extra from the model, 0 missing"), "{s}");
    tshark_check(&[&out], &["--require-icmp"]);
}

/// Every frame of a capture: (time ns, bytes).
fn frames(path: &str) -> Vec<(u64, Vec<u8>)> {
    let mut r = testbench::trace::TraceReader::open(std::path::Path::new(path)).unwrap();
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        v.push((p.ts_ns, p.data));
    }
    v
}

/// Path MTU on the example config: IMIX traffic's 1518-byte frames to the
/// tunnel VIPs do not fit `max_frame` 1514 once encapsulated. The clients
/// get ICMP frag-needed (IPv4, DF set by the generator) / Packet Too Big
/// (IPv6) with the MTU their tunnel leaves, at most as many as the rate
/// limiter allows in any window of ticks, counted, tshark-clean, and the
/// same from both models and from a sharded replay.
#[test]
fn imix_too_big_frames_are_answered_with_icmp() {
    use etherparse::{Icmpv4Type, Icmpv6Type, NetSlice, SlicedPacket, TransportSlice};
    let t = Tmp::new();
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/basic.toml");
    let img = t.s("basic.img");
    ok(&["compile", cfg, "-o", &img]);
    let trace = t.s("in.pcap");
    // 20000 frames over 0.2 s: ~840 too big against a budget of 50 + 200.
    ok(&[
        "gen",
        cfg,
        "-o",
        &trace,
        "-n",
        "20000",
        "--sizes",
        "imix",
        "--rate",
        "pps:100000",
    ]);
    let (outf, outc) = (t.s("f.pcap"), t.s("c.pcap"));
    let r = json(&["replay", &img, &trace, "-o", &outf, "--json"]);
    let rc = json(&["replay", &img, &trace, "-o", &outc, "--json", "--model", "cycle"]);
    let counter = |r: &Value, name: &str| {
        r["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == name)
            .unwrap_or_else(|| panic!("no counter {name}"))[1]
            .as_u64()
            .unwrap()
    };
    let (too_big, sent, limited) = (
        counter(&r, "drop_too_big"),
        counter(&r, "icmp_too_big_sent"),
        counter(&r, "icmp_rate_limited"),
    );
    let share = too_big as f64 / 20000.0;
    assert!((0.03..0.055).contains(&share), "{too_big} too big");
    assert!(sent > 100 && limited > 100, "sent {sent}, limited {limited}");
    assert_eq!(sent + limited, too_big, "every too-big packet here is answerable");
    for name in [
        "drop_too_big",
        "icmp_too_big_sent",
        "icmp_rate_limited",
        "tx_packets",
        "tx_bytes",
    ] {
        assert_eq!(
            counter(&r, name),
            counter(&rc, name),
            "{name}: functional vs cycle"
        );
    }
    assert_eq!(
        r["flows"]["unattributed"], sent,
        "the answers are the only unattributed frames"
    );
    let warn = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(warn.contains("exceeded max_frame 1514"), "{warn}");
    assert!(sent < 1000, "printed without a thousands separator");
    assert!(
        warn.contains(&format!(
            "{sent} ICMP too-big answers sent, {limited} rate-limited"
        )) || limited >= 1000,
        "{warn}"
    );
    // Byte-identical outputs: cycle against functional, and 2 threads.
    let s = ok(&["check", &img, &trace, "--expect", &outf, "--model", "cycle"]);
    assert!(s.contains(" 0 differ, 0 extra from the model, 0 missing"), "{s}");
    let o2 = t.s("t2.pcap");
    let r2 = json(&["replay", &img, &trace, "-o", &o2, "--json", "--threads", "2"]);
    assert_eq!(counter(&r2, "icmp_rate_limited"), limited);
    ok(&["check", &img, &trace, "--expect", &o2]);
    // The answers, read back with etherparse.
    let input = frames(&trace);
    let gen_mac = input[0].1[6..12].to_vec();
    let mut ticks = Vec::new();
    let (mut v4, mut v6) = (0, 0);
    for (ts, f) in frames(&outf) {
        let s = SlicedPacket::from_ethernet(&f).unwrap();
        let (src, dst, mtu): (std::net::IpAddr, std::net::IpAddr, u32) = match (&s.net, &s.transport) {
            (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Icmpv4(i))) => {
                let Icmpv4Type::DestinationUnreachable(
                    etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
                ) = i.icmp_type()
                else {
                    panic!("{:?}", i.icmp_type())
                };
                let h = ip.header();
                assert_eq!(h.ttl(), 64);
                assert!(h.total_len() <= 576);
                v4 += 1;
                (
                    h.source_addr().into(),
                    h.destination_addr().into(),
                    next_hop_mtu as u32,
                )
            }
            (Some(NetSlice::Ipv6(ip)), Some(TransportSlice::Icmpv6(i))) => {
                let Icmpv6Type::PacketTooBig { mtu } = i.icmp_type() else {
                    panic!("{:?}", i.icmp_type())
                };
                let h = ip.header();
                assert_eq!(h.hop_limit(), 64);
                assert_eq!(40 + h.payload_length(), 1280);
                v6 += 1;
                (h.source_addr().into(), h.destination_addr().into(), mtu)
            }
            _ => continue,
        };
        // To the router the frame came from, from the VIP to the client.
        assert_eq!(&f[..6], &gen_mac[..]);
        assert_eq!(&f[6..12], &[0x02, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        let want = match src.to_string().as_str() {
            // dns: GUE over IPv4 backends: 1514 - 14 - 20 - 8.
            "192.0.2.53" => 1472,
            // web6: IP-in-IPv6: 1514 - 14 - 40.
            "2001:db8::10" => 1460,
            v => panic!("answer from {v}"),
        };
        assert_eq!(mtu, want, "MTU announced by {src}");
        assert!(!dst.to_string().starts_with("192.0.2."), "{dst}");
        ticks.push(ts / 1_000_000);
    }
    assert_eq!((v4 + v6) as u64, sent);
    assert!(v4 > 0 && v6 > 0, "{v4} ICMPv4, {v6} ICMPv6");
    // The budget (1000/s, burst 50, 1 ms ticks): in any window of ticks
    // [a, b], at most 50 + (b - a) answers; with too-big packets arriving
    // faster than that, it is used up: about 50 + the span.
    for i in 0..ticks.len() {
        for j in i..ticks.len() {
            assert!(
                (j - i + 1) as u64 <= 50 + ticks[j] - ticks[i],
                "answers {i}..={j} in ticks {}..={}",
                ticks[i],
                ticks[j]
            );
        }
    }
    let span = ticks.last().unwrap() - ticks[0];
    assert!(sent.abs_diff(50 + span) <= 2, "sent {sent}, span {span} ticks");
    tshark_check(&[&outf, &outc], &["--require-ipip", "--require-gue"]);
}
