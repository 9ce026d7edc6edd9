//! `lbnic lookup --trace`: the conntrack decision for a flow after a trace
//! prefix has run through the model.

use etherparse::PacketBuilder;
use serde_json::Value;
use testbench::trace::{Format, TraceWriter};

mod common;

/// (succeeded, stdout, stderr)
fn lbnic(args: &[&str]) -> (bool, String, String) {
    let o = common::lbnic(args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tcp(sport: u16, syn: bool) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1])
        .ipv4([198, 51, 100, 7], [192, 0, 2, 10], 64)
        .tcp(sport, 80, 1, 65535);
    let b = if syn { b.syn() } else { b.ack(1) };
    let mut out = Vec::new();
    b.write(&mut out, &[]).unwrap();
    out
}

#[test]
fn lookup_after_a_trace_reports_the_conntrack_decision() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("basic.img");
    let img = img.to_str().unwrap();
    let (ok, _, err) = lbnic(&["compile", "examples/basic.toml", "-o", img]);
    assert!(ok, "{err}");
    let pcap = dir.path().join("prefix.pcap");
    let mut w = TraceWriter::create(&pcap, Format::Pcap).unwrap();
    w.write(1_000_000, &tcp(40000, true)).unwrap();
    w.write(2_000_000, &tcp(40000, false)).unwrap();
    w.write(3_000_000, &tcp(40001, true)).unwrap();
    w.finish().unwrap();
    let pcap = pcap.to_str().unwrap();
    let flows = [
        "--flow",
        "tcp 198.51.100.7:40000 -> 192.0.2.10:80",
        "--flow",
        "tcp 198.51.100.7:40001 -> 192.0.2.10:80",
        "--flow",
        "tcp 198.51.100.7:40002 -> 192.0.2.10:80",
    ];
    let mut args = vec!["lookup", img, "--trace", pcap, "--json"];
    args.extend(flows);
    let (ok, out, err) = lbnic(&args);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let after = |i: usize| &v[i]["after_trace"];
    // SYN then ACK: established, two packets, pinned to the backend the
    // table gave it.
    assert_eq!(after(0)["conntrack"], "hit");
    assert_eq!(after(0)["state"], "established");
    assert_eq!(after(0)["packets"], 2);
    assert_eq!(after(0)["backend"], v[0]["backend"]);
    assert_eq!(after(1)["conntrack"], "hit");
    assert_eq!(after(1)["state"], "syn-seen");
    assert_eq!(after(2)["conntrack"], "miss");

    // Only the first packet: the flow has seen its SYN only.
    let mut args = vec!["lookup", img, "--trace", pcap, "--packets", "1", "--json"];
    args.extend(flows);
    let (ok, out, err) = lbnic(&args);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["after_trace"]["state"], "syn-seen");
    assert_eq!(v[1]["after_trace"]["conntrack"], "miss");

    // The readable form says the same.
    let mut args = vec!["lookup", img, "--trace", pcap];
    args.extend(&flows[..2]);
    let (ok, out, _) = lbnic(&args);
    assert!(ok);
    assert!(out.contains("after 3 packets"), "{out}");
    assert!(out.contains("conntrack: hit"), "{out}");
    assert!(out.contains("established, 2 packets"), "{out}");

    // A trace that is not a capture is a clear error.
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, b"not a capture at all").unwrap();
    let (ok, _, err) = lbnic(&[
        "lookup",
        img,
        "--trace",
        bad.to_str().unwrap(),
        "--flow",
        flows[1],
    ]);
    assert!(
        !ok && err.contains("not a pcap") && !err.contains("panicked"),
        "{err}"
    );
}
