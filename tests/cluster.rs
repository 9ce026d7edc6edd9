//! End-to-end tests of `lbnic cluster`: generated traffic (every mode,
//! IPv4 and IPv6) through a cluster with every event kind, and the
//! properties the design rests on (docs/performance.md, "Cluster"):
//! P1 node churn alone breaks no established Maglev connection; P2 a
//! backend change alone breaks only that backend's connections; P3 both
//! at once break what the tables disagree on (none for `maglev-stable`
//! with a shared history, some for `maglev`, more when nodes' histories
//! differ).

use serde_json::Value;

mod common;

use common::{json, lbnic, Tmp};

const MODES: [&str; 4] = ["dr", "tun-ipip", "tun-gue", "nat"];

/// Backend `b` of 1..=4 (5 when added): `Some(state)` to set a state,
/// `None` in `drop` to leave it out.
struct Variant<'a> {
    backends: &'a [u8],
    state: Option<(u8, &'a str)>,
}

const ALL4: Variant<'static> = Variant {
    backends: &[1, 2, 3, 4],
    state: None,
};

/// One VIP per (family, mode, scheduler), TCP, table size 1021, on the
/// small target.
fn config(scheds: &[&str], v: &Variant<'_>) -> String {
    let small = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/targets/small.toml");
    let mut s = format!(
        "target = {:?}\n[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n\n",
        small.to_str().unwrap()
    );
    let mut i = 0;
    for v6 in [false, true] {
        for mode in MODES {
            for sched in scheds {
                i += 1;
                let addr = if v6 {
                    format!("2001:db8::{:x}", 0x100 + i)
                } else {
                    format!("192.0.2.{}", 100 + i)
                };
                s += &format!(
                    "[[vip]]\nname = \"v{i}-{mode}-{sched}\"\naddress = \"{addr}\"\nport = {}\nprotocol = \"tcp\"\n\
                     mode = \"{mode}\"\nscheduler = \"{sched}\"\n",
                    1000 + i
                );
                if sched.starts_with("maglev") {
                    s += "table_size = 1021\n";
                }
                for &b in v.backends {
                    let baddr = if v6 {
                        format!("2001:db8:{i:x}::{b}")
                    } else {
                        format!("10.{i}.0.{b}")
                    };
                    s += &format!(
                        "[[vip.backend]]\nname = \"b{b}\"\naddress = \"{baddr}\"\nmac = \"02:00:00:{i:02x}:00:{b:02x}\"\n"
                    );
                    if let Some((sb, st)) = v.state {
                        if sb == b {
                            s += &format!("state = \"{st}\"\n");
                        }
                    }
                }
                s += "\n";
            }
        }
    }
    s
}

/// Compile `v` as `name.img`, from `previous` if given.
fn compile(t: &Tmp, name: &str, scheds: &[&str], v: &Variant<'_>, previous: Option<&str>) -> String {
    let cfg = t.write(&format!("{name}.toml"), &config(scheds, v));
    let img = t.s(&format!("{name}.img"));
    let mut args = vec!["compile", &cfg, "-o", &img];
    let prev;
    if let Some(p) = previous {
        prev = t.s(&format!("{p}.img"));
        args.extend(["--previous", &prev]);
    }
    common::ok(&args);
    img
}

/// gen1 and its trace: long-lived TCP connections (no FIN), half IPv6,
/// NAT replies.
fn setup(t: &Tmp, scheds: &[&str]) -> (String, String) {
    let img = compile(t, "gen1", scheds, &ALL4, None);
    let trace = t.s("t.pcap");
    common::ok(&[
        "gen",
        &t.s("gen1.toml"),
        "-o",
        &trace,
        "-n",
        "20000",
        "--flows",
        "1500",
        "--ipv6",
        "0.5",
        "--flow-len",
        "0",
    ]);
    (img, trace)
}

fn cluster(t: &Tmp, img: &str, trace: &str, events: &str, extra: &[&str]) -> Value {
    let ev = t.write("events.txt", events);
    let mut args = vec!["cluster", img, trace, "--events", &ev, "--json"];
    args.extend(extra);
    json(&args)
}

fn n(v: &Value, k: &str) -> u64 {
    v["connections"][k]
        .as_u64()
        .unwrap_or_else(|| panic!("no {k} in {:#}", v["connections"]))
}

fn samples(v: &Value, cause: &str) -> Vec<String> {
    v["connections"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s[0] == cause)
        .map(|s| s[1].as_str().unwrap().to_string())
        .collect()
}

fn churn(v: &Value) -> u64 {
    n(v, "node_churn_same_table") + n(v, "node_churn_table_differs")
}

/// Every event kind, every mode, both families, both models: the report
/// names the events and what each image changes, the per-node figures add
/// up, and only removed/down backends break connections (no churn: the
/// tables agree, all images come from one history).
#[test]
fn every_event_kind_in_every_mode() {
    let t = Tmp::new();
    let s = ["maglev", "maglev-stable"];
    let (img, trace) = setup(&t, &s);
    let add = Variant {
        backends: &[1, 2, 3, 4, 5],
        state: None,
    };
    compile(&t, "add", &s, &add, Some("gen1"));
    let drain = Variant {
        backends: &[1, 2, 3, 4, 5],
        state: Some((3, "drain")),
    };
    compile(&t, "drain", &s, &drain, Some("add"));
    let removed = Variant {
        backends: &[1, 3, 4, 5],
        state: Some((3, "drain")),
    };
    compile(&t, "removed", &s, &removed, Some("drain"));
    let down = Variant {
        backends: &[1, 3, 4, 5],
        state: Some((4, "down")),
    };
    compile(&t, "down", &s, &down, Some("removed"));
    let events = "# every kind\n\
        at packet 3000: node 1 down\n\
        at packet 6000: node 1 up\n\
        at packet 7000: flash add.img\n\
        at packet 8000: flash drain.img on node 2\n\
        at packet 9000: flash drain.img on node 0\n\
        at packet 9000: flash drain.img on node 1\n\
        at packet 9000: flash drain.img on node 3\n\
        at packet 10000: rollout removed.img every 1000 packets\n\
        at packet 16000: flash down.img\n";
    for (model, ecmp) in [
        ("functional", "modulo"),
        ("functional", "resilient"),
        ("cycle", "resilient"),
    ] {
        let r = cluster(&t, &img, &trace, events, &["--model", model, "--ecmp", ecmp]);
        let what = format!("{model} {ecmp}");
        let ev: Vec<&str> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["what"].as_str().unwrap())
            .collect();
        assert_eq!(ev.len(), 12, "{what}: {ev:?}");
        assert_eq!(ev[0], "node 1 down");
        assert!(ev[1].starts_with("node 1 up"), "{ev:?}");
        assert!(ev[2..7].iter().all(|e| e.starts_with("flash ")), "{ev:?}");
        assert!(ev[7..11].iter().all(|e| e.starts_with("rollout ")), "{ev:?}");
        assert_eq!(r["events"][7]["at_packet"], 10000);
        assert_eq!(r["events"][10]["at_packet"], 13000);
        let changes = r["images"].to_string();
        for c in [
            "backend b5 added",
            "backend b3 drained",
            "backend b2 removed",
            "backend b4 down",
        ] {
            assert!(changes.contains(c), "{what}: {c} in {changes}");
        }
        let nodes = r["per_node"].as_array().unwrap();
        assert_eq!(nodes.len(), 4);
        let routed: u64 = nodes.iter().map(|x| x["routed"].as_u64().unwrap()).sum();
        assert_eq!(routed, 20000);
        assert_eq!(nodes[1]["down_packets"], 3000);
        assert_eq!(nodes[1]["restarts"], 1);
        assert!(
            nodes.iter().all(|x| x["routed"].as_u64().unwrap() > 2000),
            "{what}"
        );
        // Removals and downs broke connections, all of them to b2 (removed)
        // or b4 (down): a drained backend keeps its connections.
        assert!(n(&r, "backend_removed") > 0, "{what}");
        for s in samples(&r, "backend_removed") {
            assert!(s.contains(": b2 -> ") || s.contains(": b4 -> "), "{what}: {s}");
        }
        assert_eq!(n(&r, "evicted"), 0, "{what}");
        assert_eq!(n(&r, "node_churn_same_table"), 0, "{what}");
        // The tables agree up to the change itself; the few that break on
        // churn are plain-maglev entries a removal also moved.
        for s in samples(&r, "node_churn_table_differs") {
            assert!(!s.contains("-stable"), "{s}");
        }
    }
}

/// P1: identical tables, node churn alone (down, up, both ECMP kinds): no
/// established connection of a Maglev VIP changes backend, DR, tunnels
/// and NAT alike (the new node's table gives the same backend). NAT
/// replies, though, need the node holding the return entry: connections
/// on a node that went down lose theirs (NAT state is per node).
#[test]
fn p1_node_churn_alone_breaks_no_maglev_connection() {
    let t = Tmp::new();
    let (img, trace) = setup(&t, &["maglev", "maglev-stable"]);
    let events = "at packet 4000: node 1 down\nat packet 8000: node 2 down\n\
                  at packet 12000: node 1 up\nat packet 16000: node 2 up\n";
    for ecmp in ["modulo", "resilient"] {
        let r = cluster(&t, &img, &trace, events, &["--ecmp", ecmp]);
        assert_eq!(n(&r, "moved"), 0, "{ecmp}: {:#}", r["connections"]);
        assert!(n(&r, "tracked") > 1000);
        assert!(n(&r, "node_churn_nat") > 0, "{ecmp}: NAT state is per node");
    }
}

/// P1's counterpart: an RR/WRR pointer is per node, so churn moves
/// connections that land on another node (node churn, same table).
#[test]
fn p1_rr_pointers_are_per_node() {
    let t = Tmp::new();
    let (img, trace) = setup(&t, &["rr", "wrr"]);
    let r = cluster(
        &t,
        &img,
        &trace,
        "at packet 8000: node 1 down\n",
        &["--ecmp", "resilient"],
    );
    assert!(n(&r, "node_churn_same_table") > 50, "{:#}", r["connections"]);
    assert_eq!(n(&r, "node_churn_table_differs"), 0);
    assert_eq!(n(&r, "backend_removed"), 0);
}

/// P2: a backend change alone (every node at once, no churn) breaks only
/// that backend's connections, all as `backend_removed`; a drain and an
/// addition break none.
#[test]
fn p2_backend_change_alone_breaks_only_its_connections() {
    let t = Tmp::new();
    let s = ["maglev", "maglev-stable"];
    let (img, trace) = setup(&t, &s);
    let cases: [(&str, Variant<'_>, &str); 4] = [
        (
            "removed",
            Variant {
                backends: &[1, 3, 4],
                state: None,
            },
            ": b2 -> ",
        ),
        (
            "down",
            Variant {
                backends: &[1, 2, 3, 4],
                state: Some((4, "down")),
            },
            ": b4 -> ",
        ),
        (
            "drained",
            Variant {
                backends: &[1, 2, 3, 4],
                state: Some((3, "drain")),
            },
            "",
        ),
        (
            "added",
            Variant {
                backends: &[1, 2, 3, 4, 5],
                state: None,
            },
            "",
        ),
    ];
    for (name, v, broken) in cases {
        let im = compile(&t, name, &s, &v, Some("gen1"));
        let r = cluster(
            &t,
            &img,
            &trace,
            &format!("at packet 8000: flash {im}\n"),
            &["--ecmp", "modulo"],
        );
        let c = &r["connections"];
        assert_eq!(
            churn(&r) + n(&r, "evicted") + n(&r, "timeout"),
            0,
            "{name}: {c:#}"
        );
        assert_eq!(n(&r, "node_churn_nat"), 0, "{name}");
        if broken.is_empty() {
            assert_eq!(n(&r, "moved"), 0, "{name}: {c:#}");
        } else {
            assert!(n(&r, "backend_removed") > 100, "{name}: {c:#}");
            assert_eq!(
                n(&r, "moved"),
                n(&r, "backend_removed") + n(&r, "not_established"),
                "{name}"
            );
            for s in samples(&r, "backend_removed") {
                assert!(s.contains(broken), "{name}: {s}");
            }
        }
    }
}

/// Broken by churn after a removal, for one scheduler and ECMP kind.
fn p3(sched: &str, ecmp: &str, events: &str, alt: bool) -> (u64, u64, u64) {
    let t = Tmp::new();
    let s = [sched];
    let (img, trace) = setup(&t, &s);
    let three = Variant {
        backends: &[1, 3, 4],
        state: None,
    };
    compile(&t, "gen2", &s, &three, Some("gen1"));
    if alt {
        // The same config as gen1 with another history: built without
        // b4, then b4 added.
        let v = Variant {
            backends: &[1, 2, 3],
            state: None,
        };
        compile(&t, "gen0", &s, &v, None);
        compile(&t, "alt", &s, &ALL4, Some("gen0"));
    }
    let ev = t.write("ev.txt", events);
    let r = json(&["cluster", &img, &trace, "--events", &ev, "--ecmp", ecmp, "--json"]);
    (
        n(&r, "tracked"),
        n(&r, "node_churn_table_differs"),
        n(&r, "node_churn_same_table") + n(&r, "evicted"),
    )
}

/// P3: a backend removed and a node down shortly after. Connections that
/// land on a node without state get the new table's entry: `maglev-stable`
/// moved only the removed backend's entries, so none break beyond
/// `backend_removed`; plain `maglev` moved more, and those break (the
/// Maglev paper's "fraction ~ entries changed"); modulo ECMP sends more
/// connections to nodes without state than resilient.
#[test]
fn p3_removal_and_churn_break_what_the_tables_disagree_on() {
    let ev = "at packet 8000: flash gen2.img\nat packet 8500: node 1 down\n";
    let (_, stable_mod, o) = p3("maglev-stable", "modulo", ev, false);
    assert_eq!((stable_mod, o), (0, 0));
    let (_, plain_mod, o) = p3("maglev", "modulo", ev, false);
    assert_eq!(o, 0);
    let (_, plain_res, _) = p3("maglev", "resilient", ev, false);
    assert!(
        plain_mod > 0,
        "maglev moved more entries than the removed backend's"
    );
    assert!(plain_mod >= plain_res, "modulo {plain_mod} resilient {plain_res}");
}

/// The same property fails where it should: nodes with the same config
/// but different histories (`maglev-stable` built through another
/// `--previous` chain) disagree, and churn breaks connections as
/// `node_churn_table_differs`; plain `maglev` tables do not depend on
/// history.
#[test]
fn p3_nodes_with_different_histories_break_connections() {
    let ev = "at packet 0: flash alt.img on node 0\nat packet 8000: node 1 down\n";
    let (_, stable, o) = p3("maglev-stable", "modulo", ev, true);
    assert!(stable > 0, "different histories, different tables");
    assert_eq!(o, 0);
    let (_, plain, _) = p3("maglev", "modulo", ev, true);
    assert_eq!(plain, 0);
}

#[test]
fn bad_events_and_options_name_the_problem() {
    let t = Tmp::new();
    let (img, trace) = setup(&t, &["maglev"]);
    for (events, want) in [
        (
            "at packet 5: node 4 down\n",
            "events.txt:1: node 4 does not exist",
        ),
        ("\nat packet 5: reboot\n", "events.txt:2: expected"),
        ("at packet 5: flash nope.img\n", "events.txt:1: image"),
        (
            "at packet 9: node 1 down\nat packet 5: node 1 up\n",
            "events.txt:2: packet 5 comes before",
        ),
    ] {
        let ev = t.write("events.txt", events);
        let o = lbnic(&["cluster", &img, &trace, "--events", &ev]);
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(want), "{want}: {err}");
        assert!(!err.contains("panicked"));
    }
    for (args, want) in [
        (vec!["--nodes", "0"], "--nodes 0"),
        (vec!["--ecmp", "hash"], "--ecmp"),
    ] {
        let mut a = vec!["cluster", &img, &trace];
        a.extend(args);
        let o = lbnic(&a);
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(want), "{err}");
    }
    // Every node down: the router drops, nothing panics; the text report.
    let ev = t.write(
        "all.txt",
        "at packet 100: node 0 down\nat packet 100: node 1 down\n",
    );
    let out = common::ok(&["cluster", &img, &trace, "--nodes", "2", "--events", &ev]);
    assert!(
        out.contains("19900 packets arrived while no node was up"),
        "{out}"
    );
}

/// Fragments hash on the addresses, so every fragment of a datagram
/// reaches the node holding its fragment entry. Two VIPs share each
/// address (ports 80 and 81): a later fragment on a node without the entry
/// cannot tell its VIP (`drop_frag_ambiguous`), so a 4-node cluster drops
/// what one device drops only if the router keeps datagrams together.
#[test]
fn fragments_reach_one_node() {
    let t = Tmp::new();
    let small = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/targets/small.toml");
    let mut cfg = format!(
        "target = {:?}\n[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\nmax_frame = 9000\n\n",
        small.to_str().unwrap()
    );
    for (i, addr) in ["192.0.2.50", "2001:db8::50"].iter().enumerate() {
        for port in [80, 81] {
            cfg += &format!(
                "[[vip]]\nname = \"v{i}-{port}\"\naddress = \"{addr}\"\nport = {port}\nprotocol = \"udp\"\nmode = \"dr\"\n\
                 scheduler = \"maglev\"\ntable_size = 1021\n"
            );
            for b in 1..=4 {
                let a = if i == 1 {
                    format!("2001:db8:5::{b}")
                } else {
                    format!("10.5.0.{b}")
                };
                cfg += &format!(
                    "[[vip.backend]]\nname = \"b{b}\"\naddress = \"{a}\"\nmac = \"02:00:00:05:00:{b:02x}\"\n"
                );
            }
        }
    }
    let c = t.write("f.toml", &cfg);
    let img = t.s("f.img");
    common::ok(&["compile", &c, "-o", &img]);
    let trace = t.s("f.pcap");
    common::ok(&[
        "gen",
        &c,
        "-o",
        &trace,
        "-n",
        "10000",
        "--flows",
        "500",
        "--ipv6",
        "0.5",
        "--fragments",
        "0.3",
    ]);
    let one = json(&["replay", &img, &trace, "--json"]);
    let four = json(&[
        "cluster", &img, &trace, "--nodes", "4", "--ecmp", "modulo", "--json",
    ]);
    let get = |r: &Value, k: &str| {
        r["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == k)
            .map(|c| c[1].as_u64().unwrap())
            .unwrap()
    };
    assert!(get(&one, "frag_packets") > 1000, "{:#}", one["counters"]);
    for k in ["tx_packets", "frag_packets", "drop_frag_ambiguous"] {
        assert_eq!(get(&one, k), get(&four, k), "{k}");
    }
    assert_eq!(one["drops"], four["drops"]);
}

/// A one-node cluster without events is a single replay: the same
/// counters and per-backend traffic, in both models (the cycle node runs
/// up to each arrival for the router's NAT map; the cycles are the same).
#[test]
fn one_node_is_a_replay() {
    let t = Tmp::new();
    let (img, trace) = setup(&t, &["maglev", "rr"]);
    for model in ["functional", "cycle"] {
        let one = json(&[
            "replay", &img, &trace, "--model", model, "--timing", "line", "--json",
        ]);
        let c = json(&[
            "cluster", &img, &trace, "--nodes", "1", "--model", model, "--timing", "line", "--json",
        ]);
        assert_eq!(one["counters"], c["counters"], "{model}");
        assert_eq!(one["backends"], c["backends"], "{model}");
        assert_eq!(one["achieved"]["packets"], c["achieved"]["packets"], "{model}");
        assert_eq!(c["per_node"][0]["routed"], 20000);
        if model == "cycle" {
            // Running the node up to each arrival changes no cycle.
            let (a, b) = (&one["cycle"]["latency_ns"], &c["per_node"][0]["latency_ns"]);
            for q in ["p50", "p99", "p999", "max"] {
                assert_eq!(a[q], b[q], "{q}");
            }
            assert!(b["p50"].as_u64().unwrap() > 0);
        }
    }
}
