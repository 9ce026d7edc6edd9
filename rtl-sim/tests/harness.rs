//! The built harness of examples/targets/small.toml, when there is one
//! (`scripts/rtl-sim.sh --target examples/targets/small.toml`): it starts,
//! announces the target's fingerprint and runs cycles. With
//! LBNIC_RTL_REQUIRED=1 (CI) a missing harness fails the test.

use lbnic_rtl_sim::{RtlError, RtlOptions, RtlSim};
use std::path::Path;

fn small() -> lbnic_contract::target::Target {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    table_compiler::target_file::resolve("examples/targets/small.toml", &root).expect("small target")
}

#[test]
fn harness_starts_and_runs_cycles() {
    let opts = RtlOptions {
        target_file: Some("examples/targets/small.toml".into()),
        ..RtlOptions::default()
    };
    let mut sim = match RtlSim::new(small(), &opts) {
        Ok(s) => s,
        Err(e @ RtlError::NotBuilt { .. }) => {
            if std::env::var("LBNIC_RTL_REQUIRED").as_deref() == Ok("1") {
                panic!("LBNIC_RTL_REQUIRED=1 but {e}");
            }
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let c0 = sim.cycles(0).expect("CYCLES 0");
    let c1 = sim.cycles(100).expect("CYCLES 100");
    assert_eq!(c1, c0 + 100);
}

/// The small target's harness, when built (else the test skips; the
/// first test fails instead under LBNIC_RTL_REQUIRED=1).
fn small_sim() -> Option<RtlSim> {
    let opts = RtlOptions {
        target_file: Some("examples/targets/small.toml".into()),
        ..RtlOptions::default()
    };
    let sim = RtlSim::new(small(), &opts).ok();
    if sim.is_none() {
        eprintln!("skipped: the harness is not built (see harness_starts_and_runs_cycles)");
    }
    sim
}

/// The ID register over AXI4-Lite: the top answers with the ID magic.
#[test]
fn register_read_answers_or_reports_the_bound() {
    let Some(mut sim) = small_sim() else {
        return;
    };
    let v = sim.read32(lbnic_contract::target::regs::ID).expect("reading ID");
    assert_eq!(v, lbnic_contract::target::regs::ID_MAGIC);
}

/// The harness around the loopback stand-in of rtl/sim/selftest/lbnic_top.sv
/// (`scripts/rtl-sim.sh --target examples/targets/small.toml --selftest`):
/// the register protocol (flash of a real image: aperture, STAGED_*, COMMIT,
/// COMMIT_SEQ poll, ENABLE), frames of every length class in and out with
/// their index, idle time skipped, and the conntrack memory (the stand-in
/// writes back byte 0 of way 0 of bucket `index mod buckets` plus one and
/// puts it into the frame's byte 0, so the k-th frame on a bucket carries k
/// when the memory keeps writes and serves reads after them).
#[test]
fn selftest_loopback_through_the_harness() {
    use hw_model::model::Model;
    use lbnic_contract::target::regs;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let opts = RtlOptions {
        sim_dir: Some(root.join("rtl/build/sim-selftest")),
        target_file: Some("examples/targets/small.toml --selftest".into()),
    };
    let mut sim = match RtlSim::new(small(), &opts) {
        Ok(s) => s,
        Err(e @ RtlError::NotBuilt { .. }) => {
            if std::env::var("LBNIC_RTL_REQUIRED").as_deref() == Ok("1") {
                panic!("LBNIC_RTL_REQUIRED=1 but {e}");
            }
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(sim.read32(regs::ID).unwrap(), regs::ID_MAGIC);
    assert_eq!(sim.read64(regs::FINGERPRINT_LO).unwrap(), small().fingerprint());
    // aperture round trip (the stand-in keeps 256 words)
    let words: Vec<u8> = (0..64u8).collect();
    sim.write_aperture(0x100, &words).unwrap();
    assert_eq!(sim.read_aperture(0x100, 64).unwrap(), words);
    assert!(sim.write_aperture(0x101, &words).is_err());
    // a real image through the register protocol
    let cfg_text = std::fs::read_to_string(root.join("examples/basic.toml"))
        .unwrap()
        .replace("target = \"default\"", "target = \"examples/targets/small.toml\"")
        .replace("table_size = 65537", "table_size = 8191");
    let cfg = table_compiler::config::Config::parse(&cfg_text, "basic-small", &root).unwrap();
    let (img, _) = table_compiler::compile::compile(&cfg, None, Some(7)).unwrap();
    let seq = sim.read32(regs::COMMIT_SEQ).unwrap();
    Model::flash(&mut sim, &img).unwrap();
    assert_eq!(sim.read32(regs::COMMIT_SEQ).unwrap(), seq.wrapping_add(1));
    assert_eq!(sim.read32(regs::ACTIVE_BANK).unwrap() & 1, 1);
    assert_eq!(sim.read32(regs::CONTROL).unwrap() & regs::control::ENABLE, 1);
    // 3000 frames (more than one RUN batch), lengths 0..=1600 in a cycle,
    // 1 ms apart (322k cycles: skipped, not clocked)
    let n = 3000u64;
    let frame = |i: u64| -> Vec<u8> { (0..(i * 37 % 1601)).map(|k| (k ^ i) as u8).collect() };
    for i in 0..n {
        Model::input(&mut sim, frame(i), 1_000_000 * (i + 1));
    }
    Model::finish(&mut sim);
    assert!(sim.take_error().is_none());
    let out = Model::take_output(&mut sim);
    assert_eq!(out.len() as u64, n);
    let buckets = small().ct_buckets as u64;
    for (i, o) in out.iter().enumerate() {
        let i = i as u64;
        assert_eq!(o.seq, i);
        let mut want = frame(i);
        if want.len() >= 2 {
            want[0] = (i / buckets + 1) as u8;
        }
        let at = o.data.iter().zip(&want).position(|(a, b)| a != b);
        assert!(
            o.data == want,
            "frame {i}: {} bytes, want {}, first difference at {at:?}",
            o.data.len(),
            want.len()
        );
        // arrival at (i + 1) ms (`Model::input`: cycles from time 0, as the
        // cycle model's), counted from the first frame's base
        let at_ns = 1_000_000 * (i + 1);
        assert!(
            o.ts_ns >= at_ns && o.ts_ns < at_ns + 20_000,
            "frame {i}: egress {} ns",
            o.ts_ns
        );
        let l = o.latency_cycles().unwrap();
        assert!(l > 0 && l < 2000, "frame {i}: latency {l}");
    }
    let c = Model::counters(&sim);
    assert_eq!(c.get(lbnic_contract::target::regs::Counter::RxPackets), n);
    assert_eq!(c.get(lbnic_contract::target::regs::Counter::TxPackets), n);
    let bytes: u64 = (0..n).map(|i| frame(i).len() as u64).sum();
    assert_eq!(c.get(lbnic_contract::target::regs::Counter::RxBytes), bytes);
    // STATS (protocol 3): every frame's beats in and out (an empty frame is
    // one beat), one bucket read and one way written per frame, none in
    // the background (the stand-in's `probe_ct_bg` is 0), each frame alone
    let e = sim.edge_stats().expect("STATS");
    let beats: u64 = (0..n).map(|i| (frame(i).len() as u64).div_ceil(64).max(1)).sum();
    assert_eq!((e.rx_beats, e.tx_beats), (beats, beats), "{e:?}");
    assert_eq!((e.ct_reads, e.ct_writes), (n, n), "{e:?}");
    assert_eq!((e.scrub_reads, e.scrub_writes), (0, 0), "{e:?}");
    assert_eq!(
        (e.rx_port_high_water, e.ct_outstanding_high_water),
        (1, 1),
        "{e:?}"
    );
    assert_eq!((e.rx_datapath_stalls, e.tx_port_stalls), (0, 0), "{e:?}");
}

/// The conntrack memory over CTWRITE / CTREAD (protocol version 2, what
/// `lbnic serve --model rtl` hands over on CT_HOST): bytes written come
/// back, the rest stays zero, and an access past the end is the harness's
/// error, not a crash.
#[test]
fn conntrack_memory_reads_back_what_was_written() {
    let Some(mut sim) = small_sim() else {
        return;
    };
    let t = small();
    let len = t.ct_buckets as usize * t.ct_ways as usize * 64;
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 1) as u8).collect();
    sim.ct_write(64, &pattern).expect("CTWRITE");
    let back = sim.ct_read(0, 64 + pattern.len() + 64).expect("CTREAD");
    assert!(back[..64].iter().all(|&b| b == 0));
    assert_eq!(&back[64..64 + pattern.len()], &pattern[..]);
    assert!(back[64 + pattern.len()..].iter().all(|&b| b == 0));
    let e = sim
        .ct_read(len as u64 - 8, 16)
        .expect_err("past the end")
        .to_string();
    assert!(e.contains("outside the"), "{e}");
}
