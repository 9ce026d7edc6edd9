//! Writes the vectors of the end-to-end testbench rtl/tb/lbnic_top_tb.sv:
//! a session of the functional model ([`hw_model::functional::Functional`])
//! on the `small` example target (examples/targets/small.toml; the
//! testbench is built against that target's package), recorded as what the
//! host and the MAC do and what the model answers. Run by
//! scripts/rtl-test.sh:
//!
//! ```text
//! cargo run -q -p hw-model-tests --example rtl_vectors_top -- DIR
//! ```
//!
//! `DIR/top.txt`, one record per line, numbers in hex:
//! - `T datapath_bytes max_vips max_backends lut_entries bank_len fingerprint`
//!   (the testbench checks its package against it)
//! - `W reg value`: AXI4-Lite write
//! - `B offset n`, then n lines of one 64-bit word: aperture writes
//! - `D value`: COMMIT write; for the magic, wait until COMMIT_SEQ moves
//! - `R reg value`: AXI4-Lite read must give `value`
//! - `F tuser len b0 .. b(len-1)`: a frame into RX (tuser = its ingress time
//!   in conntrack ticks); the testbench sends frames back to back
//! - `O index len b0 ..`: the next frame TX must send, from RX frame
//!   `index` (m_tx_tuser)
//! - `E`: end of traffic: wait for `idle && swept`, then the `R` lines of
//!   every counter (LO and HI) follow
//!
//! Traffic: `testbench::gen` over the config of every mode x scheduler x
//! family (tests/common), three specs (steady flows with NAT replies,
//! fragments, malformed and non-VIP frames; a SYN flood; jumbo-sized
//! frames past max_frame for the ICMP too-big answers and oversize frames
//! for the MAC), a second bank committed mid-trace (a drained backend), and
//! the model's end-of-run sweep.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{config_text, image_for};
use hw_model::device::{in_memory, Device, Memory};
use hw_model::functional::Functional;
use lbnic_contract::image::Image;
use lbnic_contract::target::regs::{self, control, Counter, ParseReason};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use table_compiler::config::Config;
use testbench::gen::{GenSpec, Generator, Rate, Sizes};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Rec {
    out: String,
    f: Functional<Memory>,
}

impl Rec {
    fn dev(&mut self) -> &mut Device<Memory> {
        self.f.flush();
        &mut self.f.dev
    }
    fn write(&mut self, reg: u64, v: u32) -> Res<()> {
        writeln!(self.out, "W {reg:x} {v:x}")?;
        self.dev().host_write32(reg, v)?;
        Ok(())
    }
    fn expect(&mut self, reg: u64) -> Res<()> {
        let v = self.dev().host_read32(reg)?;
        writeln!(self.out, "R {reg:x} {v:x}")?;
        Ok(())
    }
    /// As Device::flash, recorded.
    fn flash(&mut self, img: &Image) -> Res<()> {
        let d = self.dev();
        let inactive = d.active.as_ref().map_or(1, |a| 1 - a.index);
        let base = d.map.bank_base[inactive as usize];
        let bytes = img.device().to_vec();
        writeln!(self.out, "B {base:x} {:x}", bytes.len() / 8)?;
        for w in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..w.len()].copy_from_slice(w);
            writeln!(self.out, "{:x}", u64::from_le_bytes(b))?;
        }
        self.dev().host_write_aperture(base, &bytes)?;
        self.write(regs::STAGED_GEN_LO, img.generation as u32)?;
        self.write(regs::STAGED_GEN_HI, (img.generation >> 32) as u32)?;
        self.write(regs::STAGED_LEN, img.device_len as u32)?;
        self.write(regs::STAGED_CRC, img.device_crc())?;
        writeln!(self.out, "D {:x}", regs::COMMIT_MAGIC)?;
        self.dev().host_write32(regs::COMMIT, regs::COMMIT_MAGIC)?;
        self.expect(regs::COMMIT_RESULT)?;
        self.expect(regs::ACTIVE_BANK)?;
        let c = self.dev().control();
        self.write(regs::CONTROL, c | control::ENABLE)?;
        Ok(())
    }
}

fn main() -> Res<()> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: rtl_vectors_top DIR")?);
    std::fs::create_dir_all(&dir)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tpath = root.join("examples/targets/small.toml");
    let t = table_compiler::target_file::parse(&std::fs::read_to_string(&tpath)?, "small")?;
    let map = t.memory_map();
    let text1 = config_text(false, false);
    let img1 = image_for(&text1, &t, None);
    let img2 = image_for(&config_text(true, true), &t, Some(&img1));
    let mut cfg = Config::parse(&text1, "test.toml", Path::new("."))?;
    cfg.target = t.clone();
    cfg.target_fingerprint = t.fingerprint();

    let mut r = Rec {
        out: String::new(),
        f: Functional::new(in_memory(t.clone())?),
    };
    writeln!(
        r.out,
        "T {:x} {:x} {:x} {:x} {:x} {:x}",
        t.datapath_bytes,
        t.max_vips,
        t.max_backends,
        t.lut_entries,
        map.bank_len,
        t.fingerprint()
    )?;
    r.expect(regs::ID)?;
    r.flash(&img1)?;

    let tick_ns = t.ct_tick_us as u64 * 1000;
    let specs = [
        GenSpec {
            seed: 21,
            packets: 300,
            flows: 40,
            nat_replies: 0.2,
            fragments: 0.1,
            non_vip: 0.03,
            malformed: 0.03,
            flow_len: 8,
            rate: Rate::Pps(20_000.0),
            ..GenSpec::default()
        },
        GenSpec {
            seed: 22,
            packets: 200,
            flows: 150,
            syn_flood: 0.3,
            nat_replies: 0.1,
            rate: Rate::Pps(200_000.0),
            start_ns: 50_000_000,
            ..GenSpec::default()
        },
        // big frames: over max_frame once encapsulated (ICMP too-big
        // answers and their rate limit) and over max_rx_frame (MAC)
        GenSpec {
            seed: 23,
            packets: 100,
            flows: 30,
            sizes: Sizes::Uniform(1400, 9000),
            rate: Rate::Pps(1000.0),
            start_ns: 100_000_000,
            ..GenSpec::default()
        },
    ];
    let (mut frames, mut outs) = (0u64, 0u64);
    let mut index = 0u64;
    for (si, spec) in specs.into_iter().enumerate() {
        let total = spec.packets;
        let mut g = Generator::new(&cfg, spec)?;
        for i in 0..total {
            if si == 1 && i == total / 2 {
                r.flash(&img2)?;
            }
            let (ts, mut frame) = g.next_frame();
            if si == 2 && i % 25 == 7 {
                // past max_rx_frame: the MAC drops it (rx_oversize)
                frame.resize(t.max_rx_frame as usize + 50, 0);
            }
            let mut line = format!("F {:x} {:x}", ts / tick_ns, frame.len());
            for b in &frame {
                write!(line, " {b:02x}")?;
            }
            writeln!(r.out, "{line}")?;
            frames += 1;
            if let Some(o) = r.f.process(&frame, ts) {
                let mut line = format!("O {index:x} {:x}", o.len());
                for b in o {
                    write!(line, " {b:02x}")?;
                }
                writeln!(r.out, "{line}")?;
                outs += 1;
            }
            index += 1;
        }
    }
    r.f.sweep();
    writeln!(r.out, "E")?;
    for c in Counter::ALL {
        r.expect(c.offset())?;
        r.expect(c.offset() + 4)?;
    }
    for p in ParseReason::ALL {
        r.expect(p.offset())?;
        r.expect(p.offset() + 4)?;
    }
    std::fs::write(dir.join("top.txt"), &r.out)?;
    eprintln!(
        "rtl_vectors_top: {frames} frames, {outs} expected output frames, {} lines to {}",
        r.out.lines().count(),
        dir.join("top.txt").display()
    );
    Ok(())
}
