//! Damaged captures give up their good packets; outputs take any frame and
//! go wherever the user points them (symlink, FIFO, `-`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use testbench::trace::{DamageKind, Format, TraceError, TraceReader, TraceWriter, MAX_SNAPLEN};

fn frames() -> Vec<(u64, Vec<u8>)> {
    (0..6u8)
        .map(|i| {
            (
                1_700_000_000_000_000_000 + i as u64 * 1000,
                vec![i; 60 + 7 * i as usize],
            )
        })
        .collect()
}

fn write(path: &Path, f: Format, frames: &[(u64, Vec<u8>)]) {
    let mut w = TraceWriter::create(path, f).unwrap();
    for (ts, d) in frames {
        w.write(*ts, d).unwrap();
    }
    assert_eq!(w.finish().unwrap(), frames.len() as u64);
}

/// Byte offset of every record, as the reader counts them, and the end.
fn offsets(path: &Path) -> Vec<u64> {
    let mut r = TraceReader::open(path).unwrap();
    let mut v = vec![r.offset()];
    while let Some(p) = r.next_packet() {
        p.unwrap();
        v.push(r.offset());
    }
    v
}

#[test]
fn capture_cut_mid_record_gives_the_good_packets_and_names_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    for (name, f) in [("cut.pcap", Format::Pcap), ("cut.pcapng", Format::PcapNg)] {
        let p = dir.path().join(name);
        write(&p, f, &frames());
        let off = offsets(&p);
        if f == Format::Pcap {
            // 24-byte header, then 16-byte record headers.
            assert_eq!(off[0], 24);
            assert_eq!(off[3], 24 + (16 + 60) + (16 + 67) + (16 + 74));
        }
        let start = off[3];
        let need = off[4] - start;
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..(start + 30) as usize]).unwrap();
        let want = format!("packet 3 at byte {start}: ");
        let what = if f == Format::Pcap { "record" } else { "block" };
        let cut = format!("{what} cut short: needs {need} bytes, only 30 left in the file");

        // Default: the damage is an error after the good packets.
        let mut r = TraceReader::open(&p).unwrap();
        let mut got = Vec::new();
        let err = loop {
            match r.next_packet() {
                Some(Ok(pkt)) => got.push((pkt.ts_ns, pkt.data)),
                Some(Err(e)) => break e,
                None => panic!("{name}: damage not reported"),
            }
        };
        assert_eq!(got, frames()[..3].to_vec(), "{name}");
        let text = err.to_string();
        assert!(text.contains(&want) && text.contains(&cut), "{name}: {text}");
        assert!(matches!(
            err,
            TraceError::Damaged {
                kind: DamageKind::CutShort,
                index: 3,
                ..
            }
        ));
        assert!(r.next_packet().is_none());

        // Stop at damage: the stream ends cleanly, the damage waits.
        let mut r = TraceReader::open(&p).unwrap();
        r.set_stop_at_damage(true);
        let n = r.by_ref().filter(|x| x.is_ok()).count();
        assert_eq!(n, 3, "{name}");
        let d = r.damage().expect("damage kept").to_string();
        assert!(d.contains(&want) && d.contains(&cut), "{name}: {d}");
        assert_eq!(r.index, 3);
    }
}

#[test]
fn cut_inside_a_record_header_and_garbage_after_the_last_packet() {
    let dir = tempfile::tempdir().unwrap();
    for (name, f) in [("h.pcap", Format::Pcap), ("h.pcapng", Format::PcapNg)] {
        let p = dir.path().join(name);
        write(&p, f, &frames());
        let off = offsets(&p);
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..(off[2] + 5) as usize]).unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        r.set_stop_at_damage(true);
        assert_eq!(r.by_ref().count(), 2);
        let d = r.damage().unwrap().to_string();
        let hdr = if f == Format::Pcap { 16 } else { 12 };
        assert!(
            d.contains(&format!("packet 2 at byte {}: ", off[2]))
                && d.contains(&format!("header cut short: needs {hdr} bytes, only 5 left")),
            "{d}"
        );

        let mut g = full.clone();
        g.extend_from_slice(b"\x01\x02\x03garbage after the last packet");
        std::fs::write(&p, &g).unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        r.set_stop_at_damage(true);
        assert_eq!(r.by_ref().count(), 6);
        let d = r.damage().unwrap().to_string();
        assert!(
            d.contains(&format!("packet 6 at byte {}: impossible ", full.len()))
                && d.contains("only 32 bytes are left in the file: garbage after the last packet"),
            "{d}"
        );
    }
}

/// Yields `data`, then zeros, and fails once more than `limit` bytes were
/// asked for: a reader that believes a length field would read on.
struct Endless {
    data: Vec<u8>,
    at: usize,
    limit: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at > self.limit {
            return Err(std::io::Error::other("read far past any sane record"));
        }
        let n = buf.len().min(1 << 16);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.data.get(self.at + i).copied().unwrap_or(0);
        }
        self.at += n;
        Ok(n)
    }
}

#[test]
fn huge_caplen_is_an_impossible_record_length_in_bounded_memory() {
    // pcap: snaplen 0xFFFFFFFF in the header, caplen 0xFFFFFFF0.
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    f.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let src = Endless {
        data: f.clone(),
        at: 0,
        limit: 4 << 20,
    };
    let mut r = TraceReader::from_reader("huge.pcap", src).unwrap();
    let e = r.next_packet().unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            TraceError::Damaged {
                kind: DamageKind::ImpossibleLength,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("packet 0 at byte 24: impossible record length 4294967280"),
        "{e}"
    );

    // The same from a file that ends right after the record header.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.pcap");
    std::fs::write(&p, &f).unwrap();
    let e = TraceReader::open(&p).unwrap().next_packet().unwrap().unwrap_err();
    assert!(
        e.to_string().contains("impossible record length 4294967280"),
        "{e}"
    );
    assert!(e.is_damage());

    // pcapng: an EPB claiming 0xFFFFFFF0 captured bytes in a huge block.
    let mut g = ng_header(0);
    g.extend_from_slice(&6u32.to_le_bytes());
    g.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    g.extend_from_slice(&[0; 12]);
    g.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    g.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let at = ng_header(0).len();
    let src = Endless {
        data: g,
        at: 0,
        limit: 4 << 20,
    };
    let mut r = TraceReader::from_reader("huge.pcapng", src).unwrap();
    let e = r.next_packet().unwrap().unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "packet 0 at byte {at}: impossible record length 4294967280"
        )),
        "{e}"
    );

    // A statistics block claiming 4 GiB is skipped without being held; the
    // file ends inside it.
    let mut g = ng_header(0);
    g.extend_from_slice(&5u32.to_le_bytes());
    g.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    g.extend_from_slice(&[0; 100]);
    let mut r = TraceReader::from_reader("isb.pcapng", std::io::Cursor::new(g)).unwrap();
    let e = r.next_packet().unwrap().unwrap_err();
    assert!(
        e.to_string()
            .contains("block cut short: needs 4294967280 bytes, only 108 left"),
        "{e}"
    );
}

/// Section header and one Ethernet interface (nanosecond timestamps).
fn ng_header(snaplen: u32) -> Vec<u8> {
    let mut f = Vec::new();
    let shb_body = [&0x1a2b3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat();
    f.extend_from_slice(&0x0a0d0d0au32.to_le_bytes());
    f.extend_from_slice(&28u32.to_le_bytes());
    f.extend_from_slice(&shb_body);
    f.extend_from_slice(&28u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&20u32.to_le_bytes());
    f.extend_from_slice(&[1, 0, 0, 0]);
    f.extend_from_slice(&snaplen.to_le_bytes());
    f.extend_from_slice(&20u32.to_le_bytes());
    f
}

#[test]
fn tso_and_oversized_frames_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let tso: Vec<u8> = (0..65_549u32).map(|i| (i * 7) as u8).collect();
    let huge: Vec<u8> = (0..300_000u32).map(|i| (i * 13) as u8).collect();
    for (name, f) in [("big.pcap", Format::Pcap), ("big.pcapng", Format::PcapNg)] {
        let p = dir.path().join(name);
        let mut w = TraceWriter::create(&p, f).unwrap();
        w.write(1_000, &tso).unwrap();
        w.write(2_000, &huge).unwrap();
        w.write(3_000, &[9u8; 60]).unwrap();
        assert_eq!(w.truncated, 1);
        w.finish().unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        let a = r.next_packet().unwrap().unwrap();
        assert_eq!((a.data.len(), a.orig_len), (65_549, 65_549), "{name}");
        assert_eq!(a.data, tso);
        let b = r.next_packet().unwrap().unwrap();
        assert_eq!(
            (b.data.len(), b.orig_len),
            (MAX_SNAPLEN as usize, 300_000),
            "{name}"
        );
        assert_eq!(b.data[..], huge[..MAX_SNAPLEN as usize]);
        let c = r.next_packet().unwrap().unwrap();
        assert_eq!((c.ts_ns, c.data.len()), (3_000, 60));
        assert!(r.next_packet().is_none());
        assert_eq!(r.truncated, 1);
    }
    // The header says 262144 (tcpdump's default), as does the IDB.
    let pcap = std::fs::read(dir.path().join("big.pcap")).unwrap();
    assert_eq!(pcap[16..20], 262_144u32.to_le_bytes());
}

#[test]
fn outputs_follow_symlinks_and_leave_nothing_when_dropped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.pcap");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.pcap");
    std::os::unix::fs::symlink("real.pcap", &link).unwrap();
    write(&link, Format::Pcap, &frames());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(TraceReader::open(&real).unwrap().count(), 6);
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );

    // Unfinished: the old capture stays, no temporary is left.
    {
        let mut w = TraceWriter::create(&real, Format::PcapNg).unwrap();
        w.write(1, &[0u8; 60]).unwrap();
    }
    assert_eq!(TraceReader::open(&real).unwrap().format, Format::Pcap);
    let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let fresh = dir.path().join("fresh.pcap");
    drop(TraceWriter::create(&fresh, Format::Pcap).unwrap());
    assert!(!fresh.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn fifo_is_written_in_place_and_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.pcapng");
    let st = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let rp = fifo.clone();
    let reader = std::thread::spawn(move || {
        TraceReader::open(&rp)
            .unwrap()
            .map(|p| p.unwrap())
            .map(|p| (p.ts_ns, p.data))
            .collect::<Vec<_>>()
    });
    write(&fifo, Format::PcapNg, &frames());
    assert_eq!(reader.join().unwrap(), frames());
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo_like());
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

/// In a child process: copy `-` (standard input) to `-` (standard output)
/// and exit before the test harness prints its verdict.
#[test]
fn dash_is_standard_input_and_output() {
    if let Ok(f) = std::env::var("TRACE_DAMAGE_CAT") {
        let f = if f == "pcapng" {
            Format::PcapNg
        } else {
            Format::Pcap
        };
        let mut w = TraceWriter::create(Path::new("-"), f).unwrap();
        for p in TraceReader::open(Path::new("-")).unwrap() {
            let p = p.unwrap();
            w.write(p.ts_ns, &p.data).unwrap();
        }
        w.finish().unwrap();
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, f, magic) in [
        ("in.pcap", "pcap", 0xa1b23c4du32),
        ("in.pcapng", "pcapng", 0x0a0d0d0a),
    ] {
        let p = dir.path().join(name);
        write(&p, Format::for_path(&p), &frames());
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "dash_is_standard_input_and_output", "--test-threads=1"])
            .env("TRACE_DAMAGE_CAT", f)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let input = std::fs::read(&p).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        assert!(out.status.success());
        // The harness prints a line or two before the test runs.
        let m = magic.to_le_bytes();
        let at = out
            .stdout
            .windows(4)
            .position(|w| w == m)
            .expect("a capture on stdout");
        let got: Vec<(u64, Vec<u8>)> =
            TraceReader::from_reader("stdout", std::io::Cursor::new(out.stdout[at..].to_vec()))
                .unwrap()
                .map(|p| p.unwrap())
                .map(|p| (p.ts_ns, p.data))
                .collect();
        assert_eq!(got, frames(), "{name}");
    }
}

#[test]
fn caplen_over_the_header_snaplen_is_accepted() {
    // Tools disagree about the snaplen they record; the frame is what counts.
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&65_535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&65_549u32.to_le_bytes());
    f.extend_from_slice(&65_549u32.to_le_bytes());
    f.extend_from_slice(&vec![5u8; 65_549]);
    let mut r = TraceReader::from_reader("tso.pcap", std::io::Cursor::new(f)).unwrap();
    assert_eq!(r.next_packet().unwrap().unwrap().data.len(), 65_549);
    assert!(r.next_packet().is_none());
}
