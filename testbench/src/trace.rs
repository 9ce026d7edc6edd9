//! Trace I/O behind one interface: pcap (microsecond and nanosecond) and
//! pcapng (several interfaces, `if_tsresol` honoured) in; pcap or pcapng
//! out. Reading streams packet by packet, so a trace of any size is replayed
//! in bounded memory. Damage is reported, never a hang or a panic: an empty
//! file, a file that is not a capture, a record cut short or garbage after
//! the last packet each end the read with a [`TraceError`] that says where.

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapTsResolution, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::DataLink;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a reader says about a frame it appended to a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    pub ts_ns: u64,
    /// Bytes captured (appended).
    pub caplen: u32,
    pub orig_len: u32,
    pub interface: u32,
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracePacket {
    /// Capture time, nanoseconds since the epoch.
    pub ts_ns: u64,
    pub data: Vec<u8>,
    /// Length on the wire; larger than `data.len()` when the capture's
    /// snaplen cut the frame.
    pub orig_len: u32,
    /// pcapng interface id (0 for pcap).
    pub interface: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: empty file (0 bytes): not a pcap or pcapng capture")]
    Empty { path: String },
    #[error("{path}: not a pcap or pcapng capture (starts with {magic:02x?})")]
    NotATrace { path: String, magic: Vec<u8> },
    #[error("{path}: packet {index}: {message}")]
    Damaged {
        path: String,
        index: u64,
        message: String,
    },
    #[error("{path}: link type {link} is not Ethernet")]
    LinkType { path: String, link: String },
    #[error("{path}: writing: {message}")]
    Write { path: String, message: String },
}

/// Capture file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Format {
    Pcap,
    PcapNg,
}

impl Format {
    /// By extension: `.pcapng` is pcapng, anything else pcap.
    pub fn for_path(p: &Path) -> Format {
        match p.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => Format::PcapNg,
            _ => Format::Pcap,
        }
    }
}

enum Inner {
    Pcap(PcapReader<BufReader<File>>),
    Ng(PcapNgReader<BufReader<File>>),
}

/// Streams the packets of a capture file.
pub struct TraceReader {
    inner: Inner,
    path: String,
    pub format: Format,
    /// Packets returned so far.
    pub index: u64,
    /// Packets whose capture was cut by the snaplen.
    pub truncated: u64,
    done: bool,
}

impl TraceReader {
    pub fn open(path: &Path) -> Result<TraceReader, TraceError> {
        let p = path.display().to_string();
        let io = |source| TraceError::Io {
            path: p.clone(),
            source,
        };
        let mut f = File::open(path).map_err(io)?;
        let mut magic = [0u8; 4];
        let mut n = 0;
        while n < 4 {
            match f.read(&mut magic[n..]).map_err(io)? {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            return Err(TraceError::Empty { path: p });
        }
        let f = File::open(path).map_err(io)?;
        let r = BufReader::with_capacity(1 << 20, f);
        let format = match u32::from_le_bytes(magic) {
            0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 if n == 4 => Format::Pcap,
            0x0a0d0d0a if n == 4 => Format::PcapNg,
            _ => {
                return Err(TraceError::NotATrace {
                    path: p,
                    magic: magic[..n].to_vec(),
                })
            }
        };
        let damaged = |message: String| TraceError::Damaged {
            path: p.clone(),
            index: 0,
            message,
        };
        let inner = match format {
            Format::Pcap => {
                let r = PcapReader::new(r).map_err(|e| damaged(format!("bad pcap header: {e}")))?;
                if r.header().datalink != DataLink::ETHERNET {
                    return Err(TraceError::LinkType {
                        path: p,
                        link: format!("{:?}", r.header().datalink),
                    });
                }
                Inner::Pcap(r)
            }
            Format::PcapNg => Inner::Ng(
                PcapNgReader::new(r).map_err(|e| damaged(format!("bad pcapng section header: {e}")))?,
            ),
        };
        Ok(TraceReader {
            inner,
            path: p,
            format,
            index: 0,
            truncated: 0,
            done: false,
        })
    }

    /// The next packet; `None` at the end. After an error, always `None`.
    pub fn next_packet(&mut self) -> Option<Result<TracePacket, TraceError>> {
        let mut data = Vec::new();
        self.next_into(&mut data).map(|r| {
            r.map(|m| TracePacket {
                ts_ns: m.ts_ns,
                data,
                orig_len: m.orig_len,
                interface: m.interface,
            })
        })
    }

    /// As [`TraceReader::next_packet`], appending the frame to `buf`
    /// instead of allocating (for batching readers).
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<Result<PacketInfo, TraceError>> {
        if self.done {
            return None;
        }
        let r = self.read_one(buf);
        match &r {
            None | Some(Err(_)) => self.done = true,
            Some(Ok(p)) => {
                self.index += 1;
                if p.caplen < p.orig_len {
                    self.truncated += 1;
                }
            }
        }
        r
    }

    fn read_one(&mut self, buf: &mut Vec<u8>) -> Option<Result<PacketInfo, TraceError>> {
        let index = self.index;
        let damaged = |message: String| TraceError::Damaged {
            path: self.path.clone(),
            index,
            message,
        };
        let mut put = |data: &[u8], ts_ns: u64, orig_len: u32, interface: u32| {
            buf.extend_from_slice(data);
            PacketInfo {
                ts_ns,
                caplen: data.len() as u32,
                orig_len,
                interface,
            }
        };
        match &mut self.inner {
            Inner::Pcap(r) => match r.next_packet()? {
                Ok(pkt) => Some(Ok(put(pkt.data(), dur_ns(pkt.timestamp()), pkt.orig_len(), 0))),
                Err(e) => Some(Err(damaged(format!(
                    "{e} (record cut short, or garbage after the last packet)"
                )))),
            },
            Inner::Ng(r) => loop {
                let (block, state) = match r.next_block()? {
                    Ok(b) => b,
                    Err(e) => {
                        return Some(Err(damaged(format!(
                            "{e} (block cut short, or garbage after the last packet)"
                        ))))
                    }
                };
                match block {
                    Block::EnhancedPacket(epb) => {
                        let link = state
                            .interfaces()
                            .get(epb.interface_id as usize)
                            .map(|i| i.linktype);
                        if link != Some(DataLink::ETHERNET) {
                            return Some(Err(damaged(format!(
                                "interface {} has link type {link:?}, not Ethernet",
                                epb.interface_id
                            ))));
                        }
                        return Some(Ok(put(
                            &epb.data,
                            dur_ns(epb.timestamp),
                            epb.original_len,
                            epb.interface_id,
                        )));
                    }
                    Block::SimplePacket(spb) => return Some(Ok(put(&spb.data, 0, spb.original_len, 0))),
                    _ => continue,
                }
            },
        }
    }
}

impl Iterator for TraceReader {
    type Item = Result<TracePacket, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet()
    }
}

fn dur_ns(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

enum WInner {
    Pcap(PcapWriter<BufWriter<tempfile::NamedTempFile>>),
    Ng(PcapNgWriter<BufWriter<tempfile::NamedTempFile>>),
}

/// Writes a capture atomically: into a temporary file beside the target,
/// renamed into place by [`TraceWriter::finish`]. Dropped unfinished, it
/// leaves nothing behind.
pub struct TraceWriter {
    inner: WInner,
    path: PathBuf,
    pub packets: u64,
}

impl TraceWriter {
    /// Nanosecond timestamps, Ethernet.
    pub fn create(path: &Path, format: Format) -> Result<TraceWriter, TraceError> {
        let p = path.display().to_string();
        let werr = |e: &dyn std::fmt::Display| TraceError::Write {
            path: p.clone(),
            message: e.to_string(),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| werr(&e))?;
        let w = BufWriter::with_capacity(1 << 16, tmp);
        let inner = match format {
            Format::Pcap => {
                let h = PcapHeader {
                    ts_resolution: PcapTsResolution::NanoSecond,
                    snaplen: 65535,
                    datalink: DataLink::ETHERNET,
                    ..PcapHeader::default()
                };
                WInner::Pcap(PcapWriter::with_header(w, h).map_err(|e| werr(&e))?)
            }
            Format::PcapNg => {
                let mut wr = PcapNgWriter::new(w).map_err(|e| werr(&e))?;
                let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535);
                idb.options
                    .push(InterfaceDescriptionOption::IfTsResol(InterfaceTsResolution::NANO));
                wr.write_pcapng_block(idb).map_err(|e| werr(&e))?;
                WInner::Ng(wr)
            }
        };
        Ok(TraceWriter {
            inner,
            path: path.to_path_buf(),
            packets: 0,
        })
    }

    pub fn write(&mut self, ts_ns: u64, data: &[u8]) -> Result<(), TraceError> {
        let ts = Duration::from_nanos(ts_ns);
        let r = match &mut self.inner {
            WInner::Pcap(w) => PcapPacket::new(ts, data.len() as u32, data)
                .map_err(|e| e.to_string())
                .and_then(|pkt| w.write_packet(&pkt).map(|_| ()).map_err(|e| e.to_string())),
            WInner::Ng(w) => {
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: ts,
                    original_len: data.len() as u32,
                    data: Cow::Borrowed(data),
                    options: vec![],
                };
                w.write_pcapng_block(epb).map(|_| ()).map_err(|e| e.to_string())
            }
        };
        self.packets += 1;
        r.map_err(|message| TraceError::Write {
            path: self.path.display().to_string(),
            message,
        })
    }

    /// Flush and move the file into place.
    pub fn finish(self) -> Result<u64, TraceError> {
        let p = self.path.display().to_string();
        let werr = |message: String| TraceError::Write {
            path: p.clone(),
            message,
        };
        let bw = match self.inner {
            WInner::Pcap(w) => w.into_inner(),
            WInner::Ng(w) => w.into_inner(),
        };
        let tmp = bw.into_inner().map_err(|e| werr(e.to_string()))?;
        tmp.as_file().sync_all().map_err(|e| werr(e.to_string()))?;
        tmp.persist(&self.path).map_err(|e| werr(e.to_string()))?;
        make_readable(&self.path);
        Ok(self.packets)
    }
}

/// Temporary files are created 0600; a capture or report is for sharing.
pub fn make_readable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Vec<(u64, Vec<u8>)> {
        (0..5u8)
            .map(|i| {
                (
                    1_700_000_000_123_456_789 + i as u64 * 1001,
                    vec![i; 60 + i as usize],
                )
            })
            .collect()
    }

    fn write(path: &Path, f: Format) {
        let mut w = TraceWriter::create(path, f).unwrap();
        for (ts, d) in frames() {
            w.write(ts, &d).unwrap();
        }
        w.finish().unwrap();
    }

    #[test]
    fn round_trip_pcap_and_pcapng_with_ns_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        for (name, f) in [("a.pcap", Format::Pcap), ("a.pcapng", Format::PcapNg)] {
            let p = dir.path().join(name);
            write(&p, f);
            let r = TraceReader::open(&p).unwrap();
            assert_eq!(r.format, f);
            let got: Vec<(u64, Vec<u8>)> = r.map(|p| p.unwrap()).map(|p| (p.ts_ns, p.data)).collect();
            assert_eq!(got, frames());
        }
    }

    #[test]
    fn damage_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pcap");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(TraceReader::open(&empty), Err(TraceError::Empty { .. })));
        let junk = dir.path().join("junk.pcap");
        std::fs::write(&junk, b"hello world").unwrap();
        assert!(matches!(
            TraceReader::open(&junk),
            Err(TraceError::NotATrace { .. })
        ));
        for (name, f) in [("t.pcap", Format::Pcap), ("t.pcapng", Format::PcapNg)] {
            let p = dir.path().join(name);
            write(&p, f);
            let full = std::fs::read(&p).unwrap();
            // Cut at every length and append garbage: always terminates.
            for cut in (0..full.len()).step_by(7) {
                std::fs::write(&p, &full[..cut]).unwrap();
                if let Ok(r) = TraceReader::open(&p) {
                    assert!(r.take(100).count() <= 6);
                }
            }
            let mut g = full.clone();
            g.extend_from_slice(b"\x01\x02\x03garbage after the last packet");
            std::fs::write(&p, &g).unwrap();
            let mut r = TraceReader::open(&p).unwrap();
            let mut ok = 0;
            let mut errs = 0;
            while let Some(x) = r.next_packet() {
                match x {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        errs += 1;
                        assert!(e.to_string().contains("packet 5"), "{e}");
                    }
                }
            }
            assert_eq!((ok, errs), (5, 1), "{name}");
        }
    }

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        let len = (b.len() + 12) as u32;
        [
            &kind.to_le_bytes()[..],
            &len.to_le_bytes(),
            &b,
            &len.to_le_bytes(),
        ]
        .concat()
    }

    #[test]
    fn pcapng_interfaces_with_their_own_resolution() {
        let mut f = block(
            0x0a0d0d0a,
            &[&0x1a2b3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat(),
        );
        // Interfaces: microseconds (default), nanoseconds, 2^-10 s.
        for tsresol in [None, Some(9u8), Some(0x80 | 10)] {
            let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
            if let Some(r) = tsresol {
                body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0]);
                body.extend_from_slice(&[0, 0, 0, 0]);
            }
            f.extend(block(1, &body));
        }
        let frame = [0xabu8; 60];
        for (iface, units) in [(0u32, 1_500_000u64), (1, 1_500_000_123), (2, 3 << 10)] {
            let mut body = iface.to_le_bytes().to_vec();
            body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
            body.extend_from_slice(&(units as u32).to_le_bytes());
            body.extend_from_slice(&60u32.to_le_bytes());
            body.extend_from_slice(&60u32.to_le_bytes());
            body.extend_from_slice(&frame);
            f.extend(block(6, &body));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("multi.pcapng");
        std::fs::write(&p, &f).unwrap();
        let got: Vec<(u32, u64)> = TraceReader::open(&p)
            .unwrap()
            .map(|r| r.unwrap())
            .map(|p| (p.interface, p.ts_ns))
            .collect();
        assert_eq!(
            got,
            vec![(0, 1_500_000_000), (1, 1_500_000_123), (2, 3_000_000_000)]
        );
    }

    #[test]
    fn microsecond_pcap_and_snaplen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("us.pcap");
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&40u32.to_le_bytes()); // snaplen
        f.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        f.extend_from_slice(&7u32.to_le_bytes());
        f.extend_from_slice(&250u32.to_le_bytes()); // us
        f.extend_from_slice(&40u32.to_le_bytes());
        f.extend_from_slice(&60u32.to_le_bytes());
        f.extend_from_slice(&[1u8; 40]);
        std::fs::write(&p, &f).unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        let pkt = r.next_packet().unwrap().unwrap();
        assert_eq!((pkt.ts_ns, pkt.data.len(), pkt.orig_len), (7_000_250_000, 40, 60));
        assert!(r.next_packet().is_none());
        assert_eq!(r.truncated, 1);
    }

    #[test]
    fn unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pcap");
        {
            let mut w = TraceWriter::create(&p, Format::Pcap).unwrap();
            w.write(1, &[0u8; 60]).unwrap();
        }
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
