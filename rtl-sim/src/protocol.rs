//! The harness's wire protocol (rtl/sim/lbnic_sim.cpp, rtl/sim/README.md):
//! every message, both ways, is an op byte, a little-endian u32 payload
//! length and the payload. Pure encoding and decoding, no I/O beyond the
//! `Read` / `Write` given, so it is tested without Verilator.

#[cfg(doc)]
use hw_model::model::EdgeStats;
use hw_model::model::PacketCycles;
use std::io::{self, Read, Write};

/// The protocol version the harness announces in [`Event::Hello`].
pub const VERSION: u32 = 3;
/// Largest payload either side accepts (the harness's limit).
pub const MAX_PAYLOAD: u32 = 1 << 30;

pub mod op {
    pub const WRITE32: u8 = 0x01;
    pub const READ32: u8 = 0x02;
    pub const APWRITE: u8 = 0x03;
    pub const APREAD: u8 = 0x04;
    pub const FRAME: u8 = 0x05;
    pub const RUN: u8 = 0x06;
    pub const FINISH: u8 = 0x07;
    pub const CYCLES: u8 = 0x08;
    pub const QUIT: u8 = 0x09;
    pub const CTREAD: u8 = 0x0a;
    pub const CTWRITE: u8 = 0x0b;
    pub const STATS: u8 = 0x0c;
    pub const HELLO: u8 = 0x80;
    pub const OUT: u8 = 0x81;
    pub const READ32_REPLY: u8 = 0x82;
    pub const APREAD_REPLY: u8 = 0x83;
    pub const DONE: u8 = 0x84;
    pub const ERROR: u8 = 0x85;
    pub const CTREAD_REPLY: u8 = 0x86;
    pub const STATS_REPLY: u8 = 0x87;
}

/// What the client asks of the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// AXI4-Lite write (no reply).
    Write32 {
        addr: u32,
        value: u32,
    },
    /// AXI4-Lite read (reply [`Event::Read32`]).
    Read32 {
        addr: u32,
    },
    /// Aperture write in 64-bit words (no reply).
    ApWrite {
        offset: u64,
        data: &'a [u8],
    },
    /// Aperture read (reply [`Event::ApRead`]).
    ApRead {
        offset: u64,
        len: u32,
    },
    /// Queue a frame at the RX source (no reply): ingress time `ts_ns`,
    /// first beat not before cycle `arrival` (counted from the first frame).
    Frame {
        ts_ns: u64,
        arrival: u64,
        data: &'a [u8],
    },
    /// Run until RX took every queued frame (reply [`Event::Done`]).
    Run {
        max_cycles: u64,
    },
    /// Run until the source is empty and the pipeline idle and swept
    /// (reply [`Event::Done`]).
    Finish {
        max_cycles: u64,
    },
    /// Run this many cycles (reply [`Event::Done`]).
    Cycles {
        n: u64,
    },
    Quit,
    /// Read the conntrack memory, which lives in the harness as DRAM would
    /// outside the FPGA (reply [`Event::CtRead`]); only while
    /// `CONTROL.CT_HOST` holds the RTL off it.
    CtRead {
        offset: u64,
        len: u32,
    },
    /// Write the conntrack memory (no reply); as [`Command::CtRead`].
    CtWrite {
        offset: u64,
        data: &'a [u8],
    },
    /// What the harness counted at the ports since reset (reply
    /// [`Event::Stats`]; version 3).
    Stats,
}

impl Command<'_> {
    /// Whether the harness answers it (with one reply event, in order).
    pub fn has_reply(&self) -> bool {
        matches!(
            self,
            Command::Read32 { .. }
                | Command::ApRead { .. }
                | Command::CtRead { .. }
                | Command::Stats
                | Command::Run { .. }
                | Command::Finish { .. }
                | Command::Cycles { .. }
        )
    }

    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let (o, head, data): (u8, Vec<u8>, &[u8]) = match *self {
            Command::Write32 { addr, value } => (
                op::WRITE32,
                cat(&[&addr.to_le_bytes(), &value.to_le_bytes()]),
                &[],
            ),
            Command::Read32 { addr } => (op::READ32, addr.to_le_bytes().to_vec(), &[]),
            Command::ApWrite { offset, data } => (op::APWRITE, offset.to_le_bytes().to_vec(), data),
            Command::ApRead { offset, len } => {
                (op::APREAD, cat(&[&offset.to_le_bytes(), &len.to_le_bytes()]), &[])
            }
            Command::Frame { ts_ns, arrival, data } => (
                op::FRAME,
                cat(&[&ts_ns.to_le_bytes(), &arrival.to_le_bytes()]),
                data,
            ),
            Command::Run { max_cycles } => (op::RUN, max_cycles.to_le_bytes().to_vec(), &[]),
            Command::Finish { max_cycles } => (op::FINISH, max_cycles.to_le_bytes().to_vec(), &[]),
            Command::Cycles { n } => (op::CYCLES, n.to_le_bytes().to_vec(), &[]),
            Command::Quit => (op::QUIT, Vec::new(), &[]),
            Command::CtRead { offset, len } => {
                (op::CTREAD, cat(&[&offset.to_le_bytes(), &len.to_le_bytes()]), &[])
            }
            Command::CtWrite { offset, data } => (op::CTWRITE, offset.to_le_bytes().to_vec(), data),
            Command::Stats => (op::STATS, Vec::new(), &[]),
        };
        let len = head.len() + data.len();
        let len = u32::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_PAYLOAD)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("message of {len} bytes")))?;
        w.write_all(&[o])?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&head)?;
        w.write_all(data)
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A frame that left TX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    /// The RX frame index it came from (every frame given counts, from 0).
    pub index: u64,
    /// Its stage cycles, counted from the first frame's base (egress: the
    /// last bit out of the egress port).
    pub cycles: PacketCycles,
    pub data: Vec<u8>,
}

/// What the harness says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Hello {
        version: u32,
        fingerprint: u64,
        datapath_bytes: u32,
        clock_mhz: u32,
    },
    Out(OutFrame),
    Read32(u32),
    ApRead(Vec<u8>),
    CtRead(Vec<u8>),
    /// The harness's counters, in
    /// [`hw_model::model::EdgeStats::figures`]' order.
    Stats(Vec<u64>),
    /// A RUN / FINISH / CYCLES ended at this cycle.
    Done(u64),
    /// The harness failed (and exits).
    Error(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("reading from the harness: {0}")]
    Io(#[from] io::Error),
    #[error("the harness sent a message of {0} bytes (limit {MAX_PAYLOAD})")]
    TooLong(u32),
    #[error("the harness sent a {what} message of {len} bytes, expected {need}")]
    Short {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("the harness sent unknown message {0:#04x}")]
    Unknown(u8),
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&p[at..at + 4]);
    u32::from_le_bytes(b)
}
fn u64_at(p: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&p[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Event {
    /// The next event, or `None` at a clean end of input (between
    /// messages).
    pub fn read_from(r: &mut impl Read) -> Result<Option<Event>, DecodeError> {
        let mut h = [0u8; 5];
        let mut got = 0;
        while got < h.len() {
            match r.read(&mut h[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let len = u32_at(&h, 1);
        if len > MAX_PAYLOAD {
            return Err(DecodeError::TooLong(len));
        }
        let mut p = vec![0u8; len as usize];
        r.read_exact(&mut p)?;
        Event::decode(h[0], p).map(Some)
    }

    /// An event from its op and payload.
    pub fn decode(o: u8, p: Vec<u8>) -> Result<Event, DecodeError> {
        let need = |what: &'static str, n: usize| {
            if p.len() < n {
                Err(DecodeError::Short {
                    what,
                    len: p.len(),
                    need: n,
                })
            } else {
                Ok(())
            }
        };
        Ok(match o {
            op::HELLO => {
                need("HELLO", 20)?;
                Event::Hello {
                    version: u32_at(&p, 0),
                    fingerprint: u64_at(&p, 4),
                    datapath_bytes: u32_at(&p, 12),
                    clock_mhz: u32_at(&p, 16),
                }
            }
            op::OUT => {
                need("OUT", 64)?;
                let c = |k: usize| u64_at(&p, 8 + 8 * k);
                Event::Out(OutFrame {
                    index: u64_at(&p, 0),
                    cycles: PacketCycles {
                        arrival: c(0),
                        ingress: c(1),
                        rx_done: c(2),
                        ct_req: c(3),
                        decided: c(4),
                        tx: c(5),
                        egress: c(6),
                    },
                    data: p[64..].to_vec(),
                })
            }
            op::READ32_REPLY => {
                need("READ32", 4)?;
                Event::Read32(u32_at(&p, 0))
            }
            op::APREAD_REPLY => Event::ApRead(p),
            op::CTREAD_REPLY => Event::CtRead(p),
            op::STATS_REPLY => {
                need("STATS", 4)?;
                let n = u32_at(&p, 0) as usize;
                need("STATS", 4 + 8 * n.min(MAX_PAYLOAD as usize / 8))?;
                Event::Stats((0..n).map(|k| u64_at(&p, 4 + 8 * k)).collect())
            }
            op::DONE => {
                need("DONE", 8)?;
                Event::Done(u64_at(&p, 0))
            }
            op::ERROR => Event::Error(String::from_utf8_lossy(&p).into_owned()),
            o => return Err(DecodeError::Unknown(o)),
        })
    }

    /// The harness's side of the encoding (for tests and fakes).
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let (o, p) = match self {
            Event::Hello {
                version,
                fingerprint,
                datapath_bytes,
                clock_mhz,
            } => (
                op::HELLO,
                cat(&[
                    &version.to_le_bytes(),
                    &fingerprint.to_le_bytes(),
                    &datapath_bytes.to_le_bytes(),
                    &clock_mhz.to_le_bytes(),
                ]),
            ),
            Event::Out(f) => {
                let c = &f.cycles;
                let at = [
                    c.arrival, c.ingress, c.rx_done, c.ct_req, c.decided, c.tx, c.egress,
                ];
                let mut p = f.index.to_le_bytes().to_vec();
                for v in at {
                    p.extend_from_slice(&v.to_le_bytes());
                }
                p.extend_from_slice(&f.data);
                (op::OUT, p)
            }
            Event::Read32(v) => (op::READ32_REPLY, v.to_le_bytes().to_vec()),
            Event::ApRead(d) => (op::APREAD_REPLY, d.clone()),
            Event::CtRead(d) => (op::CTREAD_REPLY, d.clone()),
            Event::Stats(v) => {
                let mut p = (v.len() as u32).to_le_bytes().to_vec();
                for x in v {
                    p.extend_from_slice(&x.to_le_bytes());
                }
                (op::STATS_REPLY, p)
            }
            Event::Done(c) => (op::DONE, c.to_le_bytes().to_vec()),
            Event::Error(m) => (op::ERROR, m.as_bytes().to_vec()),
        };
        w.write_all(&[o])?;
        w.write_all(&(p.len() as u32).to_le_bytes())?;
        w.write_all(&p)
    }
}

/// The harness's side of decoding commands (for tests and fakes): the op
/// and payload of the next command, or `None` at a clean end.
pub fn read_command(r: &mut impl Read) -> Result<Option<(u8, Vec<u8>)>, DecodeError> {
    let mut h = [0u8; 5];
    match r.read_exact(&mut h) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32_at(&h, 1);
    if len > MAX_PAYLOAD {
        return Err(DecodeError::TooLong(len));
    }
    let mut p = vec![0u8; len as usize];
    r.read_exact(&mut p)?;
    Ok(Some((h[0], p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(c: &Command<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        c.write_to(&mut v).unwrap();
        v
    }

    #[test]
    fn commands_encode_as_the_harness_reads_them() {
        assert_eq!(
            bytes(&Command::Write32 {
                addr: 0x30,
                value: 0xc0aa_17ed
            }),
            [1, 8, 0, 0, 0, 0x30, 0, 0, 0, 0xed, 0x17, 0xaa, 0xc0]
        );
        assert_eq!(
            bytes(&Command::Read32 { addr: 0x104 }),
            [2, 4, 0, 0, 0, 4, 1, 0, 0]
        );
        assert_eq!(bytes(&Command::Quit), [9, 0, 0, 0, 0]);
        let f = bytes(&Command::Frame {
            ts_ns: 1_000_000,
            arrival: 7,
            data: &[0xaa, 0xbb],
        });
        assert_eq!(f[0], op::FRAME);
        assert_eq!(u32_at(&f, 1), 18);
        assert_eq!(u64_at(&f, 5), 1_000_000);
        assert_eq!(u64_at(&f, 13), 7);
        assert_eq!(&f[21..], [0xaa, 0xbb]);
        let a = bytes(&Command::ApWrite {
            offset: 0x1000,
            data: &[1, 2, 3, 4, 5, 6, 7, 8],
        });
        assert_eq!((a[0], u32_at(&a, 1), u64_at(&a, 5)), (op::APWRITE, 16, 0x1000));
        assert_eq!(bytes(&Command::Finish { max_cycles: 5 })[..5], [7, 8, 0, 0, 0]);
    }

    #[test]
    fn commands_round_trip_through_the_harness_framing() {
        let cmds = [
            Command::Write32 { addr: 1, value: 2 },
            Command::ApRead { offset: 8, len: 16 },
            Command::Run { max_cycles: 99 },
            Command::Cycles { n: 3 },
            Command::CtRead {
                offset: 256,
                len: 512,
            },
            Command::CtWrite {
                offset: 0,
                data: &[7; 64],
            },
        ];
        let mut buf = Vec::new();
        for c in &cmds {
            c.write_to(&mut buf).unwrap();
        }
        let mut r = &buf[..];
        let mut n = 0;
        while let Some((o, p)) = read_command(&mut r).unwrap() {
            assert_eq!(o, bytes(&cmds[n])[0]);
            assert_eq!(p.len(), bytes(&cmds[n]).len() - 5);
            n += 1;
        }
        assert_eq!(n, cmds.len());
        assert_eq!(
            cmds.iter().map(Command::has_reply).collect::<Vec<_>>(),
            [false, true, true, true, true, false]
        );
        let w = bytes(&cmds[5]);
        assert_eq!((w[0], u32_at(&w, 1), u64_at(&w, 5)), (op::CTWRITE, 72, 0));
        let r = bytes(&cmds[4]);
        assert_eq!((r[0], u64_at(&r, 5), u32_at(&r, 13)), (op::CTREAD, 256, 512));
    }

    #[test]
    fn events_round_trip() {
        let evs = [
            Event::Hello {
                version: VERSION,
                fingerprint: 0x309f_f93c_f675_7c36,
                datapath_bytes: 64,
                clock_mhz: 322,
            },
            Event::Out(OutFrame {
                index: 5,
                cycles: PacketCycles {
                    arrival: 10,
                    ingress: 11,
                    rx_done: 13,
                    ct_req: 22,
                    decided: 30,
                    tx: 35,
                    egress: 40,
                },
                data: (0..70).collect(),
            }),
            Event::Read32(0x434e_424c),
            Event::ApRead(vec![1; 16]),
            Event::CtRead(vec![2; 64]),
            Event::Stats((1..=10).collect()),
            Event::Done(1234),
            Event::Error("FINISH: not done after 10 cycles".into()),
        ];
        let mut buf = Vec::new();
        for e in &evs {
            e.write_to(&mut buf).unwrap();
        }
        let mut r = &buf[..];
        for e in &evs {
            assert_eq!(Event::read_from(&mut r).unwrap().as_ref(), Some(e));
        }
        assert!(Event::read_from(&mut r).unwrap().is_none());
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        // cut inside the header, inside the payload; short payloads; unknown op
        assert!(Event::read_from(&mut &[op::DONE, 8, 0][..]).is_err());
        assert!(Event::read_from(&mut &[op::DONE, 8, 0, 0, 0, 1, 2][..]).is_err());
        assert!(matches!(
            Event::read_from(&mut &[op::OUT, 1, 0, 0, 0, 9][..]),
            Err(DecodeError::Short { what: "OUT", .. })
        ));
        // a STATS that claims more figures than it carries
        assert!(matches!(
            Event::read_from(&mut &[op::STATS_REPLY, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff][..]),
            Err(DecodeError::Short { what: "STATS", .. })
        ));
        assert!(matches!(
            Event::read_from(&mut &[0x7f, 0, 0, 0, 0][..]),
            Err(DecodeError::Unknown(0x7f))
        ));
        assert!(matches!(
            Event::read_from(&mut &[op::DONE, 0xff, 0xff, 0xff, 0xff][..]),
            Err(DecodeError::TooLong(_))
        ));
    }
}
