//! What the device tests share (tests/device.rs, tests/fleet.rs): a
//! scratch directory that runs `lbnic` with its own state directory and
//! compiles the example config on the small target, `lbnic serve` in the
//! background, and which backend a frame went to.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lbnic")
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub struct Tmp {
    pub dir: tempfile::TempDir,
}

impl Tmp {
    pub fn new() -> Tmp {
        Tmp {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn s(&self, name: &str) -> String {
        self.p(name).to_str().unwrap().to_string()
    }
    /// `lbnic` with this directory as the state directory.
    pub fn lbnic(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .env("LBNIC_STATE_DIR", self.p("state"))
            .current_dir(root())
            .output()
            .expect("run lbnic")
    }
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.lbnic(args);
        assert!(
            o.status.success(),
            "lbnic {args:?} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.lbnic(args);
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "lbnic {args:?} should fail");
        assert!(!e.contains("panicked"), "{e}");
        e
    }
    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// examples/basic.toml on the small target, edited, compiled.
    pub fn compile(
        &self,
        name: &str,
        generation: u64,
        previous: Option<&str>,
        edit: impl Fn(String) -> String,
    ) -> String {
        let text = std::fs::read_to_string(root().join("examples/basic.toml"))
            .unwrap()
            .replace(
                "target = \"default\"",
                &format!(
                    "target = \"{}\"",
                    root().join("examples/targets/small.toml").display()
                ),
            )
            .replace("table_size = 65537", "table_size = 4099");
        let cfg = self.p(&format!("{name}.toml"));
        std::fs::write(&cfg, edit(text)).unwrap();
        let out = self.s(&format!("{name}.img"));
        let g = generation.to_string();
        let mut args = vec!["compile", cfg.to_str().unwrap(), "-o", &out, "--generation", &g];
        if let Some(p) = previous {
            args.extend(["--previous", p]);
        }
        self.ok(&args);
        out
    }
}

pub fn small_target() -> String {
    root().join("examples/targets/small.toml").display().to_string()
}

/// `lbnic serve` in the background; stopped (SIGTERM) when dropped.
pub struct Serve {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
}

impl Serve {
    pub fn start(shm: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(bin())
            .args(["serve", "--shm", shm])
            .args(extra)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lbnic serve");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut s = Serve {
            child,
            lines,
            log: Vec::new(),
        };
        s.wait_line("ready", Duration::from_secs(30));
        s
    }

    /// Wait for a line of serve's output containing `what`.
    pub fn wait_line(&mut self, what: &str, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.log.push(l.clone());
                    if l.contains(what) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "serve never printed {what:?}; output so far:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for the commit of `generation`; the index of the first packet
    /// of the running replay that saw it.
    pub fn commit_at_packet(&mut self, generation: u64, within: Duration) -> u64 {
        let line = self.wait_line(
            &format!("commit of generation {generation} (ok) between packets"),
            within,
        );
        line.split("between packets ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet index in {line:?}"))
    }

    /// The summary line of the first replay.
    pub fn first_replay_summary(&self) -> String {
        self.log
            .iter()
            .find(|l| l.starts_with("replay 1:"))
            .cloned()
            .expect("serve logged its first replay")
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill").args([sig, &self.pid()]).status().unwrap();
        assert!(st.success());
    }

    /// SIGTERM, and the exit status.
    pub fn stop(mut self) -> (bool, Vec<String>) {
        self.signal("-TERM");
        let st = self.child.wait().unwrap();
        let mut log = std::mem::take(&mut self.log);
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            log.push(l);
        }
        (st.success(), log)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stats(t: &Tmp, dev: &str) -> Value {
    t.json(&["stats", "-d", dev, "--target", &small_target(), "--json"])
}

/// Destination MAC and (outer) IP destination of a frame that left.
pub type Backend = (Vec<u8>, Vec<u8>);

/// The backend a frame went to.
pub fn backend_of(frame: &[u8]) -> Backend {
    let p = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
    let mac = frame[..6].to_vec();
    let ip = match p.net.unwrap() {
        etherparse::NetSlice::Ipv4(v) => v.header().destination().to_vec(),
        etherparse::NetSlice::Ipv6(v) => v.header().destination().to_vec(),
    };
    (mac, ip)
}

/// The client flow of an input frame.
pub fn flow_of(frame: &[u8]) -> String {
    let p = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
    let (src, dst) = match p.net.unwrap() {
        etherparse::NetSlice::Ipv4(v) => (
            format!("{:?}", v.header().source_addr()),
            format!("{:?}", v.header().destination_addr()),
        ),
        etherparse::NetSlice::Ipv6(v) => (
            format!("{:?}", v.header().source_addr()),
            format!("{:?}", v.header().destination_addr()),
        ),
    };
    let ports = match p.transport.unwrap() {
        etherparse::TransportSlice::Tcp(t) => format!("tcp {} {}", t.source_port(), t.destination_port()),
        etherparse::TransportSlice::Udp(u) => format!("udp {} {}", u.source_port(), u.destination_port()),
        _ => panic!("not TCP/UDP"),
    };
    format!("{src} {dst} {ports}")
}

pub fn read_trace(p: &Path) -> Vec<Vec<u8>> {
    testbench::trace::TraceReader::open(p)
        .unwrap()
        .map(|r| r.unwrap().data)
        .collect()
}
