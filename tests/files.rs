//! Files and resources, end to end: outputs onto symlinks, FIFOs and device
//! nodes; SIGINT/SIGTERM leaving nothing behind; endless inputs refused in
//! bounded memory; damaged captures replayed up to the damage.

mod common;
use common::{lbnic, ok, Tmp};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lbnic")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// Names in `dir` that are temporaries of ours (`.NAME.XXXX.tmp`).
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect()
}

fn image(t: &Tmp) -> String {
    let img = t.s("basic.img");
    ok(&["compile", "examples/basic.toml", "-o", &img]);
    img
}

fn trace(t: &Tmp, n: &str) -> String {
    let p = t.s("t.pcap");
    ok(&["gen", "examples/basic.toml", "-o", &p, "-n", n, "--flows", "200"]);
    p
}

#[test]
fn output_onto_a_symlink_writes_its_target() {
    let t = Tmp::new();
    std::fs::write(t.p("real.img"), b"old").unwrap();
    std::os::unix::fs::symlink("real.img", t.p("link.img")).unwrap();
    ok(&["compile", "examples/basic.toml", "-o", &t.s("link.img")]);
    let meta = std::fs::symlink_metadata(t.p("link.img")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    ok(&["inspect", &t.s("real.img")]);
    // Traces too.
    std::os::unix::fs::symlink("real.pcap", t.p("link.pcap")).unwrap();
    ok(&["gen", "examples/basic.toml", "-o", &t.s("link.pcap"), "-n", "50"]);
    assert!(std::fs::symlink_metadata(t.p("link.pcap"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::metadata(t.p("real.pcap")).unwrap().len() > 24);
}

#[test]
fn output_onto_a_fifo_streams_into_it() {
    let t = Tmp::new();
    let fifo = t.p("out.fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    let f2 = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(f2).unwrap());
    ok(&["compile", "examples/basic.toml", "-o", fifo.to_str().unwrap()]);
    let bytes = reader.join().unwrap();
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    // What came through the FIFO is the image.
    std::fs::write(t.p("from-fifo.img"), &bytes).unwrap();
    ok(&["inspect", &t.s("from-fifo.img")]);
}

#[test]
fn output_onto_a_device_node_writes_in_place() {
    if !is_root() {
        eprintln!("skipped: creating a device node needs root");
        return;
    }
    // A private null device, so a failure cannot break the host's /dev/null.
    let t = Tmp::new();
    let dev = t.p("null");
    let st = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .expect("mknod");
    assert!(st.success());
    ok(&["compile", "examples/basic.toml", "-o", dev.to_str().unwrap()]);
    ok(&[
        "gen",
        "examples/basic.toml",
        "-o",
        dev.to_str().unwrap(),
        "-n",
        "20",
    ]);
    let meta = std::fs::symlink_metadata(&dev).unwrap();
    assert!(meta.file_type().is_char_device(), "the device node was replaced");
    assert!(temporaries(t.0.path()).is_empty());
}

#[test]
fn output_to_stdout_and_outputs_keep_the_umask() {
    let t = Tmp::new();
    let o = Command::new(bin())
        .args(["compile", "examples/basic.toml", "-o", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        &o.stdout[..8],
        b"LBNICIMG",
        "the image, not the summary, on stdout"
    );
    std::fs::write(t.p("stdout.img"), &o.stdout).unwrap();
    ok(&["inspect", &t.s("stdout.img")]);
    // umask 027: a new image is 0640.
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 027; exec {} compile examples/basic.toml -o {}",
            bin(),
            t.s("u.img")
        ))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::metadata(t.p("u.img")).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

/// Start `args`, wait until a temporary of ours shows up in `dir` (the
/// command is writing), send `sig`, and check it died of it leaving no
/// temporary and no output.
fn interrupt(args: &[&str], dir: &Path, output: &Path, sig: &str) {
    let mut child: Child = Command::new(bin())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while temporaries(dir).is_empty() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("lbnic {args:?} ended ({st}) before it started writing");
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no temporary appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let st = child.wait().unwrap();
    let signo = if sig == "INT" { 2 } else { 15 };
    assert_eq!(
        st.signal(),
        Some(signo),
        "lbnic {args:?} should die of SIG{sig}: {st}"
    );
    assert!(
        temporaries(dir).is_empty(),
        "temporaries left: {:?}",
        temporaries(dir)
    );
    assert!(!output.exists(), "{} was created", output.display());
}

#[test]
fn sigint_and_sigterm_during_gen_and_replay_leave_nothing() {
    let t = Tmp::new();
    for sig in ["INT", "TERM"] {
        let out = t.p("big.pcap");
        interrupt(
            &[
                "gen",
                "examples/basic.toml",
                "-o",
                out.to_str().unwrap(),
                "-n",
                "100000000",
            ],
            t.0.path(),
            &out,
            sig,
        );
    }
    let img = image(&t);
    let tr = trace(&t, "300000");
    for sig in ["INT", "TERM"] {
        let out = t.p("out.pcap");
        interrupt(
            &[
                "replay",
                &img,
                &tr,
                "--model",
                "cycle",
                "-o",
                out.to_str().unwrap(),
            ],
            t.0.path(),
            &out,
            sig,
        );
    }
}

#[test]
fn sigint_and_sigterm_during_compile_leave_nothing() {
    // A target with a 256 MiB lookup table makes the image large enough that
    // the write can be caught in the act.
    let t = Tmp::new();
    let target = t.write(
        "big.toml",
        "name = \"big\"\nlut_entries = 134217728\nlut_entry_bits = 16\n",
    );
    let cfg = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/basic.toml"))
        .unwrap()
        .replace("target = \"default\"", &format!("target = \"{target}\""));
    let cfg = t.write("big-cfg.toml", &cfg);
    for sig in ["INT", "TERM"] {
        let out = t.p("big.img");
        interrupt(
            &["compile", &cfg, "-o", out.to_str().unwrap()],
            t.0.path(),
            &out,
            sig,
        );
    }
}

#[test]
fn endless_inputs_fail_in_bounded_memory() {
    let t = Tmp::new();
    let img = image(&t);
    let tr = trace(&t, "100");
    let updates = t.write("u.txt", "at packet 1: flash /dev/zero\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["inspect", "/dev/zero"], "not an lbnic image"),
        (
            vec!["compile", "/dev/zero", "-o", "/tmp/never.img"],
            "larger than",
        ),
        (vec!["replay", "/dev/zero", &tr], "not an lbnic image"),
        (vec!["replay", &img, "/dev/zero"], "not a pcap or pcapng capture"),
        (vec!["replay", &img, &tr, "--updates", "/dev/zero"], "larger than"),
        (
            vec!["replay", &img, &tr, "--updates", &updates],
            "not an lbnic image",
        ),
        (
            vec![
                "ct",
                "build",
                "--bank",
                &img,
                "--flows",
                "/dev/zero",
                "-o",
                "/tmp/never-ct.img",
            ],
            "larger than",
        ),
    ];
    for (args, want) in cases {
        // 1 GiB of address space: enough to run, far too little to read
        // /dev/zero into memory.
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v 1048576; exec {} {}", bin(), quoted.join(" ")))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in: {err}");
        assert!(err.lines().count() <= 3, "{args:?}: one clear error, got: {err}");
    }
    assert!(!Path::new("/tmp/never.img").exists() && !Path::new("/tmp/never-ct.img").exists());
}

#[test]
fn a_truncated_capture_replays_its_good_packets() {
    let t = Tmp::new();
    let img = image(&t);
    let tr = trace(&t, "1000");
    let full = std::fs::read(&tr).unwrap();
    // Cut in the middle of a record, as a crashed tcpdump leaves it.
    let cut = full.len() - 30;
    std::fs::write(t.p("cut.pcap"), &full[..cut]).unwrap();
    let o = lbnic(&["replay", &img, &t.s("cut.pcap"), "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning") && err.contains("packet 999") && err.contains("byte"),
        "{err}"
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["offered"]["packets"], 999, "{r}");
    assert!(r["damage"].as_str().unwrap().contains("at byte"), "{r}");
    // --strict refuses it.
    let o = lbnic(&["replay", &img, &t.s("cut.pcap"), "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("packet 999"));
}

/// Every temporary of ours below `dir`, at any depth.
fn temporaries_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temporaries_below(&p));
        } else if temporaries(dir)
            .iter()
            .any(|n| p.file_name().is_some_and(|f| f == n.as_str()))
        {
            out.push(p);
        }
    }
    out
}

#[test]
fn sigint_and_sigterm_during_flash_leave_nothing() {
    use std::io::{BufRead, BufReader};
    let t = Tmp::new();
    let img = image(&t);
    let shm = t.s("bar");
    let mut serve = Command::new(bin())
        .args(["serve", "--shm", &shm])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.contains("ready"))),
        "serve never got ready"
    );
    let state = t.p("state");
    // The flash writes the bank, commits, reads back, then records the bank
    // on the host (a temporary renamed into place): catch it there. A flash
    // quicker than the poll is tried again.
    let mut caught = 0;
    for attempt in 0..40 {
        let sig = if attempt % 2 == 0 { "INT" } else { "TERM" };
        let mut child = Command::new(bin())
            .args(["flash", "--device", &format!("shm:{shm}"), &img])
            .env("LBNIC_STATE_DIR", &state)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut seen = false;
        while child.try_wait().unwrap().is_none() {
            if !temporaries_below(&state).is_empty() {
                seen = true;
                let _ = Command::new("kill")
                    .args([&format!("-{sig}"), &child.id().to_string()])
                    .status();
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let st = child.wait().unwrap();
        assert!(
            temporaries_below(&state).is_empty(),
            "temporaries left: {:?}",
            temporaries_below(&state)
        );
        if seen && st.signal().is_some() {
            caught += 1;
            if caught >= 2 {
                break;
            }
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let _ = serve.wait();
    assert!(caught > 0, "no flash was caught while writing its records");
}

/// A 1 MiB tmpfs, unmounted when dropped.
struct SmallFs(std::path::PathBuf);

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_leaves_nothing() {
    let t = Tmp::new();
    let dir = t.p("small");
    std::fs::create_dir(&dir).unwrap();
    let mounted = is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a small tmpfs needs root (and mount rights)");
        return;
    }
    let _fs = SmallFs(dir.clone());
    let out = dir.join("big.pcap");
    let o = lbnic(&[
        "gen",
        "examples/basic.toml",
        "-o",
        out.to_str().unwrap(),
        "-n",
        "100000",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind on the full disk: {left:?}");
    // An image too.
    let o = lbnic(&[
        "compile",
        "examples/basic.toml",
        "-o",
        dir.join("b.img").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn messages_quote_little_and_say_each_thing_once() {
    let t = Tmp::new();
    let img = image(&t);
    let tr = trace(&t, "50");
    let long = "q".repeat(5000);
    // User input is quoted, at most ~200 bytes of it.
    for args in [
        vec!["flash", "--device", long.as_str(), img.as_str()],
        vec!["lookup", img.as_str(), "--flow", long.as_str()],
    ] {
        let o = lbnic(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(err.len() < 1000, "{} bytes of error for {args:?}", err.len());
        assert!(err.contains("(5000 bytes)"), "{err}");
    }
    // A broken update is reported once.
    let u = t.write("u.txt", "at packet 1: flash /nonexistent.img\n");
    let o = lbnic(&["replay", &img, &tr, "--updates", &u]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // A trace error names the trace once.
    let o = lbnic(&["replay", &img, &t.s("missing.pcap")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("missing.pcap").count(), 1, "{err}");
    // A Zipf exponent out of range is a sentence.
    let o = lbnic(&[
        "gen",
        "examples/basic.toml",
        "-o",
        &t.s("z.pcap"),
        "--popularity",
        "zipf:-1",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Zipf exponent -1 is not usable"), "{err}");
    // IPv6 endpoints in brackets.
    let out = ok(&["inspect", &img]);
    assert!(out.contains("[2001:db8::10]:443"), "{out}");
    // A flow no VIP takes: printed, then exit 1 naming it.
    let o = lbnic(&["lookup", &img, "--flow", "tcp 198.51.100.7:1 -> 203.0.113.9:80"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no VIP"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("matches no VIP"));
}
