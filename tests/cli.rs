//! End-to-end tests of the `lbnic` CLI for the table compiler.

use serde_json::Value;
use std::path::Path;

mod common;

use common::{json, lbnic, ok, Tmp};

fn fails(args: &[&str]) -> String {
    let o = lbnic(args);
    assert!(!o.status.success(), "lbnic {args:?} should fail");
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn basic() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/basic.toml")).unwrap()
}

#[test]
fn compile_inspect_lookup_basic() {
    let t = Tmp::new();
    let img = t.s("basic.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    let info = json(&["inspect", &img, "--json"]);
    let vips = info["vips"].as_array().unwrap();
    assert_eq!(vips.len(), 4);
    for v in vips {
        let bal = v["balance"].as_f64().unwrap();
        assert!(bal < 1.001, "{} balance {bal}", v["name"]);
    }
    let web = vips.iter().find(|v| v["name"] == "web").unwrap();
    let drained = web["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["state"] == "drain")
        .unwrap();
    assert_eq!(drained["slots"], 0);
    // The lookup agrees with the table inspect shows and uses (h * M) >> 32.
    let l = json(&[
        "lookup",
        &img,
        "--json",
        "--flow",
        "tcp 198.51.100.7:40000 -> 192.0.2.10:80",
    ]);
    let l = &l[0];
    assert_eq!(l["vip"], "web");
    let h = u32::from_str_radix(l["flow_hash"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(l["table_index"].as_u64().unwrap(), (h as u64 * 65537) >> 32);
    assert!(l["backend"].as_str().unwrap().starts_with("web-"));
    // IPv6 VIP.
    let l = json(&[
        "lookup",
        &img,
        "--json",
        "--flow",
        "tcp [2001:db8::77]:5555 -> [2001:db8::10]:443",
    ]);
    assert_eq!(l[0]["vip"], "web6");
    // Human output names the backend too.
    let out = ok(&["lookup", &img, "--flow", "udp 203.0.113.9:5353 -> 192.0.2.53:53"]);
    assert!(out.contains("VIP dns") && out.contains("backend dns-"), "{out}");
}

#[test]
fn flow_hash_is_the_rss_hash() {
    // A VIP on the destination of Microsoft's first RSS verification vector.
    let t = Tmp::new();
    let cfg = t.write(
        "rss.toml",
        r#"
[[vip]]
name = "v"
address = "161.142.100.80"
port = 1766
backend = [{ name = "a", address = "10.0.0.1", mac = "02:00:00:00:00:01" }]
"#,
    );
    ok(&["compile", &cfg, "-o", &t.s("rss.img")]);
    let l = json(&[
        "lookup",
        &t.s("rss.img"),
        "--json",
        "--flow",
        "tcp 66.9.149.187:2794 -> 161.142.100.80:1766",
    ]);
    assert_eq!(l[0]["flow_hash"], "0x51ccc178");
}

#[test]
fn same_config_any_order_is_byte_identical() {
    let t = Tmp::new();
    let text = basic();
    // Reverse the order of the [[vip]] blocks (backends move with them), and
    // reverse the backends of the first VIP.
    let mut blocks: Vec<&str> = text.split("\n[[vip]]\n").collect();
    let head = blocks.remove(0);
    blocks.reverse();
    let mut reordered = head.to_string();
    for b in &blocks {
        let mut parts: Vec<&str> = b.split("\n[[vip.backend]]\n").collect();
        let vip_head = parts.remove(0);
        parts.reverse();
        reordered += "\n[[vip]]\n";
        reordered += vip_head;
        for p in parts {
            reordered += "\n[[vip.backend]]\n";
            reordered += p;
            reordered += "\n";
        }
    }
    assert_ne!(reordered, text);
    let a = t.write("a.toml", &text);
    let b = t.write("b.toml", &reordered);
    ok(&["compile", &a, "-o", &t.s("a.img"), "--generation", "5"]);
    ok(&["compile", &b, "-o", &t.s("b.img"), "--generation", "5"]);
    assert_eq!(
        std::fs::read(t.p("a.img")).unwrap(),
        std::fs::read(t.p("b.img")).unwrap()
    );
}

#[test]
fn failed_compile_writes_nothing_and_names_the_line() {
    let t = Tmp::new();
    let out = t.s("out.img");
    let cases: &[(&str, &str, &str)] = &[
        ("port = 80\n", "port = 80\nbogus = 1\n", "unknown field `bogus`"),
        (
            "table_size = 65537\n\n[[vip.backend]]\nname = \"web-1\"",
            "table_size = 65536\n\n[[vip.backend]]\nname = \"web-1\"",
            "not prime",
        ),
        ("name = \"web-2\"", "name = \"web-1\"", "duplicate backend name"),
        (
            "address = \"192.0.2.53\"",
            "address = \"192.0.2.10\"\nport_x = 1",
            "unknown field",
        ),
        ("mode = \"nat\"", "mode = \"snat\"", "unknown variant `snat`"),
        (
            "address = \"10.0.1.3\"",
            "address = \"10.0.1.300\"",
            "invalid IP address",
        ),
        (
            "mac = \"02:00:0a:00:01:01\"",
            "mac = \"02:00:0a:00:01\"",
            "not a MAC address",
        ),
        ("toeplitz_key = \"6d5a", "toeplitz_key = \"zz6d5a", "toeplitz_key"),
    ];
    for (from, to, want) in cases {
        let text = basic().replacen(from, to, 1);
        assert_ne!(text, basic(), "{from}");
        let cfg = t.write("bad.toml", &text);
        let e = fails(&["compile", &cfg, "-o", &out]);
        assert!(e.contains(want), "want {want:?} in: {e}");
        assert!(e.contains("bad.toml:"), "no file:line in: {e}");
        assert!(!t.p("out.img").exists(), "a failed compile left {out}");
    }
    // A VIP on the same address/port/protocol as another.
    let dup = format!("{}\n[[vip]]\nname = \"again\"\naddress = \"192.0.2.10\"\nport = 80\nbackend = [{{ name = \"x\", address = \"10.9.9.9\", mac = \"02:00:00:00:00:09\" }}]\n", basic());
    let e = fails(&["compile", &t.write("dup.toml", &dup), "-o", &out]);
    assert!(e.contains("overlaps VIP \"web\""), "{e}");
    // More backends than the target allows per VIP (small target: 10-bit entries).
    let mut many = String::from("target = \"TARGET\"\n[[vip]]\nname = \"big\"\naddress = \"192.0.2.1\"\nscheduler = \"rr\"\nbackend = [\n");
    for i in 0..1025 {
        many += &format!(
            "{{ name = \"b{i}\", address = \"10.0.{}.{}\", mac = \"02:00:00:00:00:01\" }},\n",
            i / 250,
            i % 250 + 1
        );
    }
    many += "]\n";
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/targets/small.toml");
    let many = many.replace("TARGET", small.to_str().unwrap());
    let e = fails(&["compile", &t.write("many.toml", &many), "-o", &out]);
    assert!(e.contains("1025 backends") && e.contains("allows 1024"), "{e}");
    assert!(!t.p("out.img").exists());
    // Unreadable config.
    let e = fails(&["compile", "/nonexistent.toml", "-o", &out]);
    assert!(e.contains("/nonexistent.toml"), "{e}");
}

#[test]
fn damaged_and_foreign_images_are_refused() {
    let t = Tmp::new();
    let img = t.s("basic.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    let bytes = std::fs::read(&img).unwrap();
    // Corrupt a LUT byte.
    let mut bad = bytes.clone();
    bad[256 + 3 * 1024 * 1024] ^= 0x10;
    std::fs::write(t.p("bad.img"), &bad).unwrap();
    let e = fails(&["inspect", &t.s("bad.img")]);
    assert!(e.contains("CRC mismatch"), "{e}");
    // Truncate.
    std::fs::write(t.p("short.img"), &bytes[..bytes.len() / 2]).unwrap();
    let e = fails(&["inspect", &t.s("short.img")]);
    assert!(e.contains("truncated"), "{e}");
    // Not an image at all.
    let e = fails(&["inspect", "examples/basic.toml"]);
    assert!(e.contains("not an lbnic image"), "{e}");
    // Built for another target.
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/targets/small.toml");
    let e = fails(&["inspect", &img, "--target", small.to_str().unwrap()]);
    assert!(e.contains("compiled for target fingerprint"), "{e}");
    ok(&["inspect", &img, "--target", "default"]);
    let cfg = t.write(
        "small.toml",
        &basic()
            .replace(
                "target = \"default\"",
                &format!("target = {:?}", small.to_str().unwrap()),
            )
            .replace("table_size = 65537", "table_size = 4093"),
    );
    let e = fails(&["compile", &cfg, "-o", &t.s("x.img"), "--previous", &img]);
    assert!(e.contains("previous image was built for target"), "{e}");
}

#[test]
fn stable_update_moves_only_what_it_must() {
    let t = Tmp::new();
    ok(&["compile", "examples/basic.toml", "-o", &t.s("g1.img")]);
    // Remove web6-2, add web6-4 and web6-5, double web6-1.
    let text = basic()
        .replace("name = \"web6-2\"\naddress = \"2001:db8:1::2\"\n", "name = \"web6-4\"\naddress = \"2001:db8:1::4\"\n\n[[vip.backend]]\nname = \"web6-5\"\naddress = \"2001:db8:1::5\"\n")
        .replace("name = \"web6-1\"\naddress = \"2001:db8:1::1\"\n", "name = \"web6-1\"\naddress = \"2001:db8:1::1\"\nweight = 2\n");
    let cfg = t.write("g2.toml", &text);
    let rep: Value = serde_json::from_str(&ok(&[
        "compile",
        &cfg,
        "-o",
        &t.s("g2.img"),
        "--previous",
        &t.s("g1.img"),
        "--json",
    ]))
    .unwrap();
    assert_eq!(rep["generation"], 2);
    let d = json(&["diff", &t.s("g1.img"), &t.s("g2.img"), "--json"]);
    assert_eq!(d["lineage"], "ancestor", "{d}");
    assert!(d["warning"].is_null());
    let web6 = d["vips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "web6")
        .unwrap();
    assert_eq!(web6["changed"], web6["minimal"], "{web6}");
    assert!(web6["changed"].as_u64().unwrap() > 0);
    let info = json(&["inspect", &t.s("g2.img"), "--json", "--vip", "web6"]);
    assert!(info["vips"][0]["balance"].as_f64().unwrap() < 1.001);
    let human = ok(&["diff", &t.s("g1.img"), &t.s("g2.img")]);
    assert!(human.contains("+web6-4") && human.contains("-web6-2"), "{human}");
}

/// A `maglev-stable` table depends on its history: removing a backend and
/// adding it back does not restore the table, so the same config compiled
/// fresh and through those updates differs. The lineage records the chain,
/// `inspect` shows it and `diff` warns when two images' histories diverge.
#[test]
fn lineage_is_recorded_shown_and_checked() {
    let t = Tmp::new();
    ok(&["compile", "examples/basic.toml", "-o", &t.s("g1.img")]);
    let text = basic().replace(
        "[[vip.backend]]\nname = \"web6-2\"\naddress = \"2001:db8:1::2\"\n",
        "",
    );
    assert_ne!(text, basic());
    let without = t.write("g2.toml", &text);
    ok(&[
        "compile",
        &without,
        "-o",
        &t.s("g2.img"),
        "--previous",
        &t.s("g1.img"),
    ]);
    ok(&[
        "compile",
        "examples/basic.toml",
        "-o",
        &t.s("g3.img"),
        "--previous",
        &t.s("g2.img"),
    ]);
    ok(&[
        "compile",
        "examples/basic.toml",
        "-o",
        &t.s("f3.img"),
        "--generation",
        "3",
    ]);

    let id = |img: &str| json(&["inspect", &t.s(img), "--json"])["lineage"]["own"]["id"].clone();
    let g3 = json(&["inspect", &t.s("g3.img"), "--json"]);
    let chain: Vec<Value> = g3["lineage"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(chain, vec![id("g1.img"), id("g2.img")], "{}", g3["lineage"]);
    assert_eq!(g3["lineage"]["own"]["generation"], 3);
    assert!(
        json(&["inspect", &t.s("f3.img"), "--json"])["lineage"]["ancestors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let human = ok(&["inspect", &t.s("g3.img")]);
    assert!(
        human.contains("lineage: gen 3 (") && human.contains("<- gen 1 ("),
        "{human}"
    );

    // Through its history: an ancestor, no warning; web6 was not restored.
    let d = json(&["diff", &t.s("g1.img"), &t.s("g3.img"), "--json"]);
    assert_eq!(d["lineage"], "ancestor");
    let changed = |d: &Value, vip: &str| {
        d["vips"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == vip)
            .unwrap()["changed"]
            .as_u64()
            .unwrap()
    };
    assert!(changed(&d, "web6") > 0, "{d}");
    // Same config, same generation, different history: diverged, warned,
    // and the maglev-stable table differs while plain maglev does not.
    let o = lbnic(&["diff", &t.s("f3.img"), &t.s("g3.img"), "--json"]);
    assert!(o.status.success());
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["lineage"], "diverged", "{d}");
    assert!(d["warning"].as_str().unwrap().contains("lineage mismatch"), "{d}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("lineage mismatch"));
    assert!(changed(&d, "web6") > 0 && changed(&d, "web") == 0, "{d}");
    let human = ok(&["diff", &t.s("f3.img"), &t.s("g3.img")]);
    assert!(human.contains("lineage: DIVERGED"), "{human}");
    let rev = lbnic(&["diff", &t.s("g3.img"), &t.s("g1.img")]);
    assert!(String::from_utf8_lossy(&rev.stderr).contains("arguments reversed"));
}

#[test]
fn conntrack_image_from_a_flow_list() {
    let t = Tmp::new();
    ok(&["compile", "examples/basic.toml", "-o", &t.s("b.img")]);
    let flows = t.write(
        "flows.jsonl",
        "# a comment\n{\"flow\": \"tcp 198.51.100.7:40000 -> 192.0.2.10:80\", \"vip\": \"web\", \"backend\": \"web-4\"}\n\
         {\"flow\": \"tcp [2001:db8::9]:53 -> [2001:db8::10]:443\", \"vip\": \"web6\", \"backend\": \"web6-3\", \"state\": \"none\", \"packets\": 3}\n",
    );
    ok(&[
        "ct",
        "build",
        "--bank",
        &t.s("b.img"),
        "--flows",
        &flows,
        "-o",
        &t.s("ct.img"),
    ]);
    let listed = ok(&["ct", "list", &t.s("ct.img"), "--bank", &t.s("b.img")]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("\"backend\":\"web-4\""), "{listed}");
    // The listing is itself a flow list: it rebuilds the same image.
    let again = t.write("again.jsonl", &listed);
    ok(&[
        "ct",
        "build",
        "--bank",
        &t.s("b.img"),
        "--flows",
        &again,
        "-o",
        &t.s("ct2.img"),
    ]);
    assert_eq!(
        std::fs::read(t.p("ct.img")).unwrap(),
        std::fs::read(t.p("ct2.img")).unwrap()
    );
    let bad = t.write(
        "bad.jsonl",
        "{\"flow\": \"tcp 1.2.3.4:1 -> 192.0.2.10:80\", \"vip\": \"web\", \"backend\": \"nope\"}\n",
    );
    let e = fails(&[
        "ct",
        "build",
        "--bank",
        &t.s("b.img"),
        "--flows",
        &bad,
        "-o",
        &t.s("ct3.img"),
    ]);
    assert!(e.contains("line 1") && e.contains("no backend \"nope\""), "{e}");
    assert!(!t.p("ct3.img").exists());
    let bad = t.write(
        "bad2.jsonl",
        "{\"flow\": \"udp 1.2.3.4:1 -> 192.0.2.10:80\", \"vip\": \"web\", \"backend\": \"web-1\"}\n",
    );
    let e = fails(&[
        "ct",
        "build",
        "--bank",
        &t.s("b.img"),
        "--flows",
        &bad,
        "-o",
        &t.s("ct3.img"),
    ]);
    assert!(e.contains("does not match VIP"), "{e}");
}

#[test]
fn help_explains_commands() {
    let h = ok(&["--help"]);
    for c in ["compile", "inspect", "diff", "lookup", "ct"] {
        assert!(h.contains(c), "{h}");
    }
    let h = ok(&["compile", "--help"]);
    assert!(h.contains("--previous") && h.contains("atomically"), "{h}");
}

/// Every kind of bad input the issue lists, end to end: one clear line
/// naming the file (and line/field or offset), no repeated cause, no panic,
/// and nothing left where the output would go.
#[test]
fn bad_input_is_one_clear_error_and_leaves_nothing() {
    let t = Tmp::new();
    let out = t.s("out.img");
    let good = t.s("good.img");
    ok(&["compile", "examples/basic.toml", "-o", &good]);
    let bytes = std::fs::read(&good).unwrap();
    let vip = "[[vip]]\nname = \"x\"\naddress = \"192.0.2.1\"\n";
    let be = "backend = [{ name = \"a\", address = \"10.0.0.1\", mac = \"02:00:00:00:00:01\" }]\n";
    let configs: &[(&str, String, &[&str])] = &[
        ("malformed TOML", "[[vip]\nname = \"x\"\n".into(), &["bad.toml:1:", "toml"]),
        ("unknown field", format!("{vip}colour = 1\n{be}"), &["bad.toml:4:1", "unknown field `colour`"]),
        ("duplicate VIP", format!("{vip}{be}{}", vip.replace("192.0.2.1", "192.0.2.2") + be), &["bad.toml:6:8", "duplicate VIP name"]),
        ("non-prime M", format!("{vip}table_size = 65535\n{be}"), &["bad.toml:4:14", "vip[x].table_size", "not prime"]),
        ("M below N", format!("{vip}table_size = 2\nbackend = [{{ name = \"a\", address = \"10.0.0.1\", mac = \"02:00:00:00:00:01\" }}, {{ name = \"b\", address = \"10.0.0.2\", mac = \"02:00:00:00:00:02\" }}, {{ name = \"c\", address = \"10.0.0.3\", mac = \"02:00:00:00:00:03\" }}]\n"), &["bad.toml:4:14", "smaller than the 3 backends"]),
        ("M past the target", format!("{vip}table_size = 16777213\n{be}"), &["bad.toml:4:14", "vip[x].table_size", "lookup tables need more"]),
        ("negative M", format!("{vip}table_size = -1\n{be}"), &["bad.toml:4:14", "u32"]),
        ("empty", String::new(), &["bad.toml", "no [[vip]]"]),
    ];
    for (what, text, want) in configs {
        let e = fails(&["compile", &t.write("bad.toml", text), "-o", &out]);
        for w in *want {
            assert!(e.contains(w), "{what}: want {w:?} in: {e}");
        }
        assert_eq!(e.lines().count(), 1, "{what}: {e}");
        assert!(!t.p("out.img").exists(), "{what}: left {out}");
    }
    std::fs::write(t.p("binary.toml"), [0xff, 0xfe, 0, 1]).unwrap();
    let e = fails(&["compile", &t.s("binary.toml"), "-o", &out]);
    assert!(e.contains("binary.toml") && e.contains("UTF-8"), "{e}");
    // Output into a directory that does not exist: the OS error, once.
    let e = fails(&["compile", "examples/basic.toml", "-o", &t.s("no/such/dir/x.img")]);
    assert!(e.contains("no/such/dir/x.img: No such file or directory"), "{e}");
    assert_eq!(e.matches("No such file").count(), 1, "{e}");
    assert!(!e.contains("at path"), "{e}");

    // Images: cut short, cut in the header, empty, flipped, padded.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 1;
    let images: &[(&str, Vec<u8>, &str)] = &[
        ("truncated", bytes[..bytes.len() - 1].to_vec(), "truncated"),
        ("short header", bytes[..100].to_vec(), "truncated: 100 bytes"),
        ("empty", Vec::new(), "not an lbnic image"),
        ("flipped", flipped, "CRC mismatch"),
        ("trailing", [bytes.as_slice(), b"xx"].concat(), "trailing data"),
    ];
    for (what, img, want) in images {
        let bad = t.s("bad.img");
        std::fs::write(&bad, img).unwrap();
        for args in [
            vec!["inspect", bad.as_str()],
            vec!["diff", good.as_str(), bad.as_str()],
            vec!["lookup", bad.as_str(), "--flow", "tcp 1.2.3.4:5 -> 192.0.2.10:80"],
            vec![
                "compile",
                "examples/basic.toml",
                "-o",
                out.as_str(),
                "--previous",
                bad.as_str(),
            ],
            vec!["ct", "build", "--bank", bad.as_str(), "-o", out.as_str()],
        ] {
            let e = fails(&args);
            assert!(
                e.contains(want) && e.contains("bad.img: "),
                "{what} {args:?}: {e}"
            );
            assert_eq!(e.lines().count(), 1, "{what}: {e}");
            assert!(!t.p("out.img").exists(), "{what} {args:?} left {out}");
        }
    }
    let e = fails(&["inspect", &t.s("missing.img")]);
    assert!(
        e.contains("missing.img: No such file") && e.matches("No such").count() == 1,
        "{e}"
    );
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/targets/small.toml");
    let e = fails(&["inspect", &good, "--target", small.to_str().unwrap()]);
    assert!(
        e.contains("good.img: image was compiled for target fingerprint"),
        "{e}"
    );
}

/// Output into a closed pipe (`lbnic target | head -1` once `head` has
/// gone) ends the command as SIGPIPE would, status 141, without a panic.
#[test]
fn closed_stdout_ends_quietly() {
    let (r, w) = std::io::pipe().unwrap();
    drop(r);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lbnic"))
        .arg("target")
        .stdout(w)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(141), "{o:?}");
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}
