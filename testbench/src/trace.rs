//! Trace I/O behind one interface: pcap (microsecond and nanosecond) and
//! pcapng (several interfaces, `if_tsresol` honoured) in; pcap or pcapng
//! out. A regular file is mapped ([`crate::mapped`]: no copy through the
//! kernel, its pages given back as they are read); standard input (`-`),
//! pipes and devices stream packet by packet through a 1 MiB buffer. Either
//! way a trace of any size is replayed in bounded memory, and a reader says
//! the same (packets, errors, offsets) for a file as for the same bytes
//! through a pipe.
//!
//! Damage is reported, never a hang or a panic: an empty file, a file that
//! is not a capture, a record cut short, a record length no capture tool
//! writes, or garbage after the last packet each end the read with a
//! [`TraceError`] that names the packet index and the byte offset where the
//! damage starts. A caller that wants the good packets of a damaged capture
//! (a tcpdump killed mid-write) calls [`TraceReader::set_stop_at_damage`]:
//! the damage then ends the stream and waits in [`TraceReader::damage`].
//!
//! Record lengths: a captured length over [`MAX_SNAPLEN`] (262144, the
//! largest snap length tcpdump, dumpcap and libpcap use for Ethernet) is
//! damage, "impossible record length", checked before anything is read or
//! allocated for it. A captured length above the header's snaplen but within
//! 262144 is accepted whole, as Wireshark does: tools disagree about the
//! snaplen they record, never about the frames they wrote.
//!
//! Writing goes through [`files::Output`]: a regular file is replaced
//! atomically, a symlink is followed, a FIFO or device is written in place,
//! `-` is standard output. A frame longer than 262144 bytes is written cut to
//! 262144 with its real length, as tcpdump does; no frame fails a write.

use crate::mapped::{self, Map};
use files::{Output, OutputError};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser, PcapTsResolution, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::{Block, PcapNgParser, PcapNgWriter};
use pcap_file::{DataLink, Endianness};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest frame a capture holds: tcpdump's default snap length and
/// libpcap's maximum for Ethernet. Loopback TSO frames (65,549 bytes) fit.
pub const MAX_SNAPLEN: u32 = 262_144;

/// Input buffer: holds any record up to [`MAX_SNAPLEN`] with its header.
const BUF_LEN: usize = 1 << 20;

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

/// What is wrong with a damaged capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The file ends inside a record (a capture cut short).
    CutShort,
    /// A record or block length no capture tool writes.
    ImpossibleLength,
    /// A record that does not parse (bad fields, garbage).
    Invalid,
    /// Well formed, but not something a replay can use (a non-Ethernet
    /// pcapng interface). Not damage: [`TraceReader::set_stop_at_damage`]
    /// does not swallow it.
    Unsupported,
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
    #[error("{path}: empty file (0 bytes): not a pcap or pcapng capture")]
    Empty { path: String },
    #[error("{path}: not a pcap or pcapng capture (starts with {magic:02x?})")]
    NotATrace { path: String, magic: Vec<u8> },
    /// `index` is the packet that was being read (packets before it were
    /// returned), `offset` the byte where its record starts.
    #[error("{path}: packet {index} at byte {offset}: {message}")]
    Damaged {
        path: String,
        index: u64,
        offset: u64,
        kind: DamageKind,
        message: String,
    },
    #[error("{path}: packet {index} at byte {offset}: reading: {error}")]
    Read {
        path: String,
        index: u64,
        offset: u64,
        error: io::Error,
    },
    #[error("{path}: link type {link} is not Ethernet")]
    LinkType { path: String, link: String },
    #[error("{path}: writing: {message}")]
    Write { path: String, message: String },
}

impl TraceError {
    /// Damage to the capture itself (cut short, impossible length, garbage):
    /// the packets before it are good.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            TraceError::Damaged {
                kind: DamageKind::CutShort | DamageKind::ImpossibleLength | DamageKind::Invalid,
                ..
            }
        )
    }
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

/// A refillable window on the input that knows the file offset of every
/// byte it holds. A mapped file ([`crate::mapped`]) is one window over the
/// whole file, never refilled or copied.
struct Input {
    src: Option<Box<dyn Read + Send>>,
    map: Option<Map>,
    buf: Box<[u8]>,
    /// The window is `pos..end` of `buf`, or of the mapped file.
    pos: usize,
    end: usize,
    /// File offset of `buf[pos]`.
    offset: u64,
    eof: bool,
}

impl Input {
    fn new(src: Box<dyn Read + Send>) -> Input {
        Input {
            src: Some(src),
            map: None,
            buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            pos: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    fn mapped(map: Map) -> Input {
        let end = map.bytes().len();
        Input {
            src: None,
            map: Some(map),
            buf: Box::default(),
            pos: 0,
            end,
            offset: 0,
            eof: true,
        }
    }

    #[inline]
    fn avail(&self) -> &[u8] {
        match &self.map {
            Some(m) => &m.bytes()[self.pos..self.end],
            None => &self.buf[self.pos..self.end],
        }
    }

    /// Make `n` (at most [`BUF_LEN`]) bytes available; false if the input
    /// ends first (what there was is still available).
    #[inline]
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        debug_assert!(n <= BUF_LEN);
        if let Some(m) = &mut self.map {
            m.check(self.pos.saturating_add(n).min(self.end))?;
            return Ok(self.end - self.pos >= n);
        }
        if self.end - self.pos >= n {
            return Ok(true);
        }
        let Some(src) = self.src.as_mut() else {
            return Ok(false);
        };
        if self.pos + n > BUF_LEN {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end - self.pos < n && !self.eof {
            match src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos >= n)
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.pos += n;
        self.offset += n as u64;
        if let Some(m) = &mut self.map {
            m.consumed(self.pos);
        }
    }

    /// Discard `n` bytes without holding them; returns how many there were.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut done = 0u64;
        loop {
            let take = ((self.end - self.pos) as u64).min(n - done);
            self.consume(take as usize);
            done += take;
            if done == n || self.map.is_some() {
                return Ok(done);
            }
            self.pos = 0;
            self.end = 0;
            if !self.fill(1)? {
                return Ok(done);
            }
        }
    }
}

fn u32_at(b: &[u8], at: usize, big: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

const SHB: u32 = 0x0a0d0d0a;
const IDB: u32 = 1;
const OLD_PACKET_BLOCK: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Type and total length of the pcapng block at the start of `head` (12
/// bytes). A section header carries its own byte order.
fn block_head(head: &[u8], big: bool) -> Result<(u32, u32), String> {
    let ty = u32_at(head, 0, big);
    if ty != SHB {
        return Ok((ty, u32_at(head, 4, big)));
    }
    match u32_at(head, 8, true) {
        0x1a2b3c4d => Ok((ty, u32_at(head, 4, true))),
        0x4d3c2b1a => Ok((ty, u32_at(head, 4, false))),
        m => Err(format!("section header with byte-order magic {m:#010x}")),
    }
}

fn check_block_len(len: u32) -> Result<(), String> {
    if len < 12 || !len.is_multiple_of(4) {
        return Err(format!(
            "impossible block length {len} (a pcapng block is a multiple of 4 bytes, at least 12)"
        ));
    }
    Ok(())
}

enum Parser {
    Pcap(PcapParser),
    Ng(Box<PcapNgParser>),
}

/// Streams the packets of a capture file.
pub struct TraceReader {
    input: Input,
    parser: Parser,
    path: String,
    pub format: Format,
    /// Packets returned so far.
    pub index: u64,
    /// Packets whose capture was cut by the snaplen.
    pub truncated: u64,
    done: bool,
    stop_at_damage: bool,
    damage: Option<TraceError>,
}

/// How a record failed, and the byte where it starts, before the reader
/// puts a name on it.
struct Fail(u64, DamageKind, String);

impl TraceReader {
    /// Open a capture file; `-` is standard input.
    pub fn open(path: &Path) -> Result<TraceReader, TraceError> {
        if path.as_os_str() == "-" {
            return TraceReader::from_reader("standard input", io::stdin());
        }
        let p = path.display().to_string();
        let io = |error| TraceError::Io {
            path: p.clone(),
            error,
        };
        let f = File::open(path).map_err(io)?;
        match mapped::map(&f).map_err(io)? {
            Some(m) => TraceReader::from_input(&p, Input::mapped(m)),
            None => TraceReader::from_reader(&p, f),
        }
    }

    /// Read a capture from any stream (a pipe, a socket, memory); `name`
    /// stands for it in errors.
    pub fn from_reader(name: &str, src: impl Read + Send + 'static) -> Result<TraceReader, TraceError> {
        TraceReader::from_input(name, Input::new(Box::new(src)))
    }

    fn from_input(name: &str, mut input: Input) -> Result<TraceReader, TraceError> {
        let path = name.to_string();
        let io = |error| TraceError::Io {
            path: path.clone(),
            error,
        };
        input.fill(4).map_err(io)?;
        let head = input.avail();
        let n = head.len().min(4);
        if n == 0 {
            return Err(TraceError::Empty { path });
        }
        let magic = if n == 4 {
            u32::from_le_bytes([head[0], head[1], head[2], head[3]])
        } else {
            0
        };
        let format = match magic {
            0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 => Format::Pcap,
            SHB => Format::PcapNg,
            _ => {
                return Err(TraceError::NotATrace {
                    path,
                    magic: head[..n].to_vec(),
                })
            }
        };
        let damaged = |kind, message: String| TraceError::Damaged {
            path: path.clone(),
            index: 0,
            offset: 0,
            kind,
            message,
        };
        let parser = match format {
            Format::Pcap => {
                if !input.fill(24).map_err(io)? {
                    let left = input.avail().len();
                    return Err(damaged(
                        DamageKind::CutShort,
                        format!("bad pcap header: cut short: needs 24 bytes, only {left} in the file"),
                    ));
                }
                let (_, parser) = PcapParser::new(&input.avail()[..24])
                    .map_err(|e| damaged(DamageKind::Invalid, format!("bad pcap header: {e}")))?;
                input.consume(24);
                if parser.header().datalink != DataLink::ETHERNET {
                    return Err(TraceError::LinkType {
                        path,
                        link: format!("{:?}", parser.header().datalink),
                    });
                }
                Parser::Pcap(parser)
            }
            Format::PcapNg => {
                let bad = |kind, m: String| damaged(kind, format!("bad pcapng section header: {m}"));
                if !input.fill(12).map_err(io)? {
                    let left = input.avail().len();
                    return Err(bad(
                        DamageKind::CutShort,
                        format!("cut short: needs 12 bytes, only {left} in the file"),
                    ));
                }
                let (_, len) = block_head(input.avail(), false).map_err(|m| bad(DamageKind::Invalid, m))?;
                check_block_len(len).map_err(|m| bad(DamageKind::ImpossibleLength, m))?;
                if len as usize > BUF_LEN {
                    return Err(bad(
                        DamageKind::ImpossibleLength,
                        format!("impossible block length {len} (over {BUF_LEN} bytes)"),
                    ));
                }
                if !input.fill(len as usize).map_err(io)? {
                    let left = input.avail().len();
                    return Err(bad(
                        DamageKind::CutShort,
                        format!("cut short: needs {len} bytes, only {left} in the file"),
                    ));
                }
                let (_, parser) = PcapNgParser::new(&input.avail()[..len as usize])
                    .map_err(|e| bad(DamageKind::Invalid, e.to_string()))?;
                input.consume(len as usize);
                Parser::Ng(Box::new(parser))
            }
        };
        Ok(TraceReader {
            input,
            parser,
            path,
            format,
            index: 0,
            truncated: 0,
            done: false,
            stop_at_damage: false,
            damage: None,
        })
    }

    /// With `true`, damage (see [`TraceError::is_damage`]) ends the stream
    /// like the end of the file, and is kept for [`TraceReader::damage`]:
    /// the caller takes the good packets and warns afterwards. Other errors
    /// (I/O, an unsupported link type) are still returned.
    pub fn set_stop_at_damage(&mut self, stop: bool) {
        self.stop_at_damage = stop;
    }

    /// The damage that ended the stream, under
    /// [`TraceReader::set_stop_at_damage`].
    pub fn damage(&self) -> Option<&TraceError> {
        self.damage.as_ref()
    }

    /// Bytes of the input consumed so far: the offset of the next record.
    pub fn offset(&self) -> u64 {
        self.input.offset
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
    /// instead of allocating (for batching readers). On an error `buf` is
    /// left as it was.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<Result<PacketInfo, TraceError>> {
        if self.done {
            return None;
        }
        let r = match &mut self.parser {
            Parser::Pcap(p) => next_pcap(&mut self.input, p, buf),
            Parser::Ng(p) => next_pcapng(&mut self.input, p, buf),
        };
        let e = match r {
            Ok(Some(p)) => {
                self.index += 1;
                if p.caplen < p.orig_len {
                    self.truncated += 1;
                }
                return Some(Ok(p));
            }
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(Step::Io(error)) => TraceError::Read {
                path: self.path.clone(),
                index: self.index,
                offset: self.input.offset,
                error,
            },
            Err(Step::Fail(Fail(offset, kind, message))) => TraceError::Damaged {
                path: self.path.clone(),
                index: self.index,
                offset,
                kind,
                message,
            },
        };
        self.done = true;
        if self.stop_at_damage && e.is_damage() {
            self.damage = Some(e);
            return None;
        }
        Some(Err(e))
    }
}

enum Step {
    Io(io::Error),
    Fail(Fail),
}

impl From<io::Error> for Step {
    fn from(e: io::Error) -> Step {
        Step::Io(e)
    }
}

fn fail<T>(at: u64, kind: DamageKind, message: String) -> Result<T, Step> {
    Err(Step::Fail(Fail(at, kind, message)))
}

/// When the input ends before `claimed` bytes: the bytes that are left
/// cannot be a record, most likely garbage after the last packet. Looks
/// ahead at most one buffer.
fn tail_note(input: &mut Input, claimed: u64) -> io::Result<String> {
    // The input ends before `claimed` iff it ends before the first buffer
    // of it (a mapped file has all its bytes available at once: this says
    // the same as a streamed one).
    let whole = input.fill(claimed.min(BUF_LEN as u64) as usize)?;
    let left = input.avail().len() as u64;
    Ok(if !whole && left < claimed {
        format!("; only {left} bytes are left in the file: garbage after the last packet?")
    } else {
        String::new()
    })
}

fn impossible_caplen(caplen: u32) -> String {
    format!(
        "impossible record length {caplen} (no capture tool writes more than {MAX_SNAPLEN} bytes of a frame)"
    )
}

fn cut_short(what: &str, need: u64, input: &Input) -> String {
    let left = input.avail().len();
    format!("{what} cut short: needs {need} bytes, only {left} left in the file")
}

fn next_pcap(input: &mut Input, parser: &PcapParser, buf: &mut Vec<u8>) -> Result<Option<PacketInfo>, Step> {
    let at = input.offset;
    if !input.fill(16)? {
        if input.avail().is_empty() {
            return Ok(None);
        }
        return fail(at, DamageKind::CutShort, cut_short("record header", 16, input));
    }
    let h = parser.header();
    let caplen = u32_at(input.avail(), 8, h.endianness == Endianness::Big);
    let need = 16 + caplen as u64;
    if caplen > MAX_SNAPLEN {
        let note = tail_note(input, need)?;
        return fail(
            at,
            DamageKind::ImpossibleLength,
            impossible_caplen(caplen) + &note,
        );
    }
    let need = need as usize;
    if !input.fill(need)? {
        return fail(at, DamageKind::CutShort, cut_short("record", need as u64, input));
    }
    let parsed = parser
        .next_raw_packet(&input.avail()[..need])
        .map_err(|e| e.to_string())
        .and_then(|(_, raw)| {
            raw.try_into_pcap_packet(h.ts_resolution, MAX_SNAPLEN)
                .map_err(|e| e.to_string())
        })
        .map(|pkt| {
            buf.extend_from_slice(pkt.data());
            PacketInfo {
                ts_ns: dur_ns(pkt.timestamp()),
                caplen,
                orig_len: pkt.orig_len(),
                interface: 0,
            }
        });
    match parsed {
        Ok(info) => {
            input.consume(need);
            Ok(Some(info))
        }
        Err(e) => fail(at, DamageKind::Invalid, format!("not a valid record: {e}")),
    }
}

fn next_pcapng(
    input: &mut Input,
    parser: &mut PcapNgParser,
    buf: &mut Vec<u8>,
) -> Result<Option<PacketInfo>, Step> {
    loop {
        let at = input.offset;
        if !input.fill(12)? {
            if input.avail().is_empty() {
                return Ok(None);
            }
            return fail(at, DamageKind::CutShort, cut_short("block header", 12, input));
        }
        let big = parser.section().endianness == Endianness::Big;
        let (ty, len) = match block_head(input.avail(), big) {
            Ok(h) => h,
            Err(m) => return fail(at, DamageKind::Invalid, m),
        };
        if let Err(m) = check_block_len(len) {
            let note = tail_note(input, len as u64)?;
            return fail(at, DamageKind::ImpossibleLength, m + &note);
        }
        if ty == EPB && len >= 28 {
            if !input.fill(28)? {
                return fail(at, DamageKind::CutShort, cut_short("block", len as u64, input));
            }
            let caplen = u32_at(input.avail(), 20, big);
            if caplen > MAX_SNAPLEN {
                let note = tail_note(input, len as u64)?;
                return fail(
                    at,
                    DamageKind::ImpossibleLength,
                    impossible_caplen(caplen) + &note,
                );
            }
        }
        if len as usize > BUF_LEN {
            if matches!(ty, SHB | IDB | OLD_PACKET_BLOCK | SPB | EPB) {
                let note = tail_note(input, len as u64)?;
                return fail(at,
                    DamageKind::ImpossibleLength,
                    format!("impossible block length {len} (over {BUF_LEN} bytes for a packet or header block){note}"),
                );
            }
            // Statistics, name resolution, custom blocks: nothing a replay
            // uses, so skipped whatever their size, without holding them.
            let body = len as u64 - 4;
            let got = input.skip(body)?;
            let trailer = if got == body && input.fill(4)? {
                Some(u32_at(input.avail(), 0, big))
            } else {
                None
            };
            match trailer {
                Some(t) if t == len => {
                    input.consume(4);
                    continue;
                }
                Some(t) => {
                    return fail(
                        at,
                        DamageKind::Invalid,
                        format!("block length {len} at its start, {t} at its end"),
                    )
                }
                None => {
                    let left = got + input.avail().len() as u64;
                    return fail(
                        at,
                        DamageKind::CutShort,
                        format!("block cut short: needs {len} bytes, only {left} left in the file"),
                    );
                }
            }
        }
        let n = len as usize;
        if !input.fill(n)? {
            return fail(at, DamageKind::CutShort, cut_short("block", n as u64, input));
        }
        let got = match parser.next_block(&input.avail()[..n]) {
            Ok((_, Block::EnhancedPacket(epb))) => {
                let link = parser
                    .interfaces()
                    .get(epb.interface_id as usize)
                    .map(|i| i.linktype);
                if link != Some(DataLink::ETHERNET) {
                    Err(Fail(
                        at,
                        DamageKind::Unsupported,
                        format!(
                            "interface {} has link type {link:?}, not Ethernet",
                            epb.interface_id
                        ),
                    ))
                } else {
                    buf.extend_from_slice(&epb.data);
                    Ok(Some(PacketInfo {
                        ts_ns: dur_ns(epb.timestamp),
                        caplen: epb.data.len() as u32,
                        orig_len: epb.original_len,
                        interface: epb.interface_id,
                    }))
                }
            }
            Ok((_, Block::SimplePacket(spb))) => {
                buf.extend_from_slice(&spb.data);
                Ok(Some(PacketInfo {
                    ts_ns: 0,
                    caplen: spb.data.len() as u32,
                    orig_len: spb.original_len,
                    interface: 0,
                }))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(Fail(at, DamageKind::Invalid, format!("not a valid block: {e}"))),
        };
        match got {
            Ok(Some(info)) => {
                input.consume(n);
                return Ok(Some(info));
            }
            Ok(None) => input.consume(n),
            Err(f) => return Err(Step::Fail(f)),
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
    Pcap(PcapWriter<BufWriter<Output>>),
    Ng(PcapNgWriter<BufWriter<Output>>),
}

/// An error and its causes on one line: pcap-file's write errors name the
/// field and keep the OS error (a full disk) as their source.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Writes a capture through [`files::Output`]: a regular file appears
/// whole at [`TraceWriter::finish`] (dropped unfinished, nothing is left
/// behind); a FIFO, device or `-` (standard output) is written as it goes.
pub struct TraceWriter {
    inner: WInner,
    path: PathBuf,
    pub packets: u64,
    /// Frames longer than [`MAX_SNAPLEN`], written cut to it.
    pub truncated: u64,
}

fn out_err(e: OutputError) -> String {
    format!("{}: {}", e.step, e.error)
}

impl TraceWriter {
    /// Nanosecond timestamps, Ethernet, snap length [`MAX_SNAPLEN`].
    pub fn create(path: &Path, format: Format) -> Result<TraceWriter, TraceError> {
        let p = path.display().to_string();
        let werr = |message: String| TraceError::Write {
            path: p.clone(),
            message,
        };
        let out = Output::create(path).map_err(|e| werr(out_err(e)))?;
        let w = BufWriter::with_capacity(1 << 16, out);
        let inner = match format {
            Format::Pcap => {
                let h = PcapHeader {
                    ts_resolution: PcapTsResolution::NanoSecond,
                    snaplen: MAX_SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ..PcapHeader::default()
                };
                WInner::Pcap(PcapWriter::with_header(w, h).map_err(|e| werr(chain(&e)))?)
            }
            Format::PcapNg => {
                let mut wr = PcapNgWriter::new(w).map_err(|e| werr(chain(&e)))?;
                let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, MAX_SNAPLEN);
                idb.options
                    .push(InterfaceDescriptionOption::IfTsResol(InterfaceTsResolution::NANO));
                wr.write_pcapng_block(idb).map_err(|e| werr(chain(&e)))?;
                WInner::Ng(wr)
            }
        };
        Ok(TraceWriter {
            inner,
            path: path.to_path_buf(),
            packets: 0,
            truncated: 0,
        })
    }

    /// Write one frame; one longer than [`MAX_SNAPLEN`] is cut to it and
    /// keeps its real length.
    pub fn write(&mut self, ts_ns: u64, data: &[u8]) -> Result<(), TraceError> {
        let ts = Duration::from_nanos(ts_ns);
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let data = &data[..data.len().min(MAX_SNAPLEN as usize)];
        if data.len() < orig_len as usize {
            self.truncated += 1;
        }
        let r = match &mut self.inner {
            WInner::Pcap(w) => PcapPacket::new(ts, orig_len, data)
                .map_err(|e| chain(&e))
                .and_then(|pkt| w.write_packet(&pkt).map(|_| ()).map_err(|e| chain(&e))),
            WInner::Ng(w) => {
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: ts,
                    original_len: orig_len,
                    data: Cow::Borrowed(data),
                    options: vec![],
                };
                w.write_pcapng_block(epb).map(|_| ()).map_err(|e| chain(&e))
            }
        };
        self.packets += 1;
        r.map_err(|message| TraceError::Write {
            path: self.path.display().to_string(),
            message,
        })
    }

    /// Flush and make the capture final (a regular file is renamed into
    /// place).
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
        let out = bw.into_inner().map_err(|e| werr(e.error().to_string()))?;
        out.commit().map_err(|e| werr(out_err(e)))?;
        Ok(self.packets)
    }
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

    /// Everything a reader says about a capture, as text.
    fn story(mut r: TraceReader) -> Vec<String> {
        let mut out = Vec::new();
        r.set_stop_at_damage(false);
        while let Some(x) = r.next_packet() {
            out.push(match x {
                Ok(p) => format!("{} {} {:?}", p.ts_ns, p.orig_len, p.data),
                Err(e) => e.to_string(),
            });
        }
        out.push(format!("end at {}", r.offset()));
        out
    }

    /// A mapped file and the same bytes streamed say the same: packets,
    /// errors and byte offsets, whole, cut at every length, with garbage
    /// or an impossible record length (over the 1 MiB buffer too).
    #[test]
    fn mapped_and_streamed_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let map_p = dir.path().join("m");
        let read = |bytes: &[u8]| {
            std::fs::write(&map_p, bytes).unwrap();
            let mapped = TraceReader::open(&map_p).map(|r| {
                assert!(r.input.map.is_some());
                story(r)
            });
            let streamed =
                TraceReader::from_reader(&map_p.display().to_string(), std::io::Cursor::new(bytes.to_vec()))
                    .map(story);
            match (mapped, streamed) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
            }
        };
        for (name, f) in [("t.pcap", Format::Pcap), ("t.pcapng", Format::PcapNg)] {
            let p = dir.path().join(name);
            write(&p, f);
            let full = std::fs::read(&p).unwrap();
            for cut in 1..full.len() {
                read(&full[..cut]);
            }
            let mut g = full.clone();
            g.extend_from_slice(b"\x01\x02\x03garbage after the last packet");
            read(&g);
            // A record claiming 2 MiB (pcap: caplen; pcapng: block length),
            // followed by 1.5 MiB or by 3 MiB: over the buffer both ways.
            for tail in [3 << 19, 3 << 20] {
                let mut g = full.clone();
                let hdr: Vec<u8> = match f {
                    Format::Pcap => [0u32, 0, 2 << 20, 2 << 20]
                        .iter()
                        .flat_map(|x| x.to_le_bytes())
                        .collect(),
                    Format::PcapNg => [EPB, 2 << 20, 0].iter().flat_map(|x| x.to_le_bytes()).collect(),
                };
                g.extend_from_slice(&hdr);
                g.resize(g.len() + tail, 7);
                read(&g);
            }
        }
    }

    /// A mapped file that shrinks underneath the reader ends the read with
    /// an error at the next length check, not a SIGBUS.
    #[test]
    fn a_mapped_file_that_shrinks_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.pcap");
        let mut w = TraceWriter::create(&p, Format::Pcap).unwrap();
        for i in 0..3000u64 {
            w.write(i, &[1u8; 1000]).unwrap();
        }
        w.finish().unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        assert!(r.input.map.is_some());
        // Still longer than the first checked window (1 MiB + the header).
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(2 << 20)
            .unwrap();
        let mut ok = 0;
        let err = loop {
            match r.next_packet() {
                Some(Ok(_)) => ok += 1,
                Some(Err(e)) => break e,
                None => panic!("read to the end of a shrunk file"),
            }
        };
        assert!(err.to_string().contains("shrank underneath"), "{err}");
        assert!(ok > 1000 && ok < 2000, "{ok}");
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
