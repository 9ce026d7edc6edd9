//! Writes the vectors of the register block / banks / COMMIT testbench
//! (rtl/tb/lbnic_regs_tb.sv): a host session against the model's
//! [`hw_model::device::Device`] for the `small` example target
//! (examples/targets/small.toml), recorded as the register and aperture
//! accesses the host makes and the register values the model answers.
//! Run by scripts/rtl-test.sh:
//!
//! ```text
//! cargo run -q -p hw-model-tests --example rtl_vectors_regs -- DIR
//! ```
//!
//! `DIR/regs.txt`, one record per line, numbers in hex:
//! - `T max_vips max_backends lut_entry_bits lut_entries bank_len fingerprint`
//!   (the target; the testbench checks it matches its own parameters)
//! - `W reg value`: AXI4-Lite write of register `reg`
//! - `B offset n`, then n lines of one 64-bit word: aperture writes of n
//!   consecutive words from aperture byte `offset` (a bank image's device
//!   part, as the host writes it)
//! - `D value`: write `value` to COMMIT; for the magic, wait until
//!   COMMIT_SEQ moves (the testbench holds the packet boundary off for a
//!   while first and checks nothing is published before it)
//! - `R reg value`: AXI4-Lite read of `reg` must give `value`
//! - `V offset n`, then n words: aperture reads must give these words
//!
//! - `P bank`: the pipeline-port checks that follow are of bank `bank`
//! - `G w0..w31`: GLOBAL of that bank (words, as FRONT reads it)
//! - `I slot w0..w7`: VIP entry `slot`
//! - `E index w0 w1 w2 w3`: BACKEND entry `index`
//! - `L index value`: LUT entry `index` (`lbnic_contract` `Lut::get`)
//!
//! The steps: two valid images (compiled from a config with every mode
//! and scheduler), then damaged ones the model refuses (bad CRC, bad
//! length, VIP entries whose ranges leave their tables, an unknown code,
//! vip_count above the target's), a non-magic COMMIT, and a valid image
//! again. After each COMMIT the expected ACTIVE_BANK, ACTIVE_GEN,
//! COMMIT_RESULT, COMMIT_SEQ and the `commits` / `commit_errors` counters
//! are the model's.

use hw_model::device::Device;
use lbnic_contract::image::Image;
use lbnic_contract::target::entries::{global_field, vip_field};
use lbnic_contract::target::regs::{self, Counter};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn config(target: &Path, variant: u32) -> String {
    let mut s = format!(
        "target = \"{}\"\n[device]\nmac = \"02:00:5e:00:00:01\"\ngateway_mac = \"02:00:5e:00:00:fe\"\n\
         [tunnel]\nsource_v4 = \"172.16.0.0/16\"\nsource_v6 = \"100::/64\"\ngue_port = 6080\n",
        target.display()
    );
    let modes = ["dr", "tun-ipip", "tun-gue", "nat"];
    let scheds = ["maglev", "maglev-stable", "rr", "wrr"];
    for i in 0..6u32 {
        let sched = scheds[(i % 4) as usize];
        let mode = modes[((i + variant) % 4) as usize];
        let addr = if i < 3 {
            format!("192.0.2.{}", 10 + i)
        } else {
            format!("2001:db8::{}", 10 + i)
        };
        s += &format!(
            "[[vip]]\nname = \"v{i}\"\naddress = \"{addr}\"\nport = {}\nprotocol = \"tcp\"\nmode = \"{mode}\"\nscheduler = \"{sched}\"\n",
            80 + variant
        );
        if sched.starts_with("maglev") {
            s += "table_size = 251\n";
        }
        s += "backend = [\n";
        for b in 0..(3 + (i + variant) % 4) {
            let a = if i < 3 {
                format!("10.{variant}.{i}.{b}")
            } else {
                format!("2001:db8:{variant}:{i}::{b}")
            };
            s += &format!(
                "  {{ name = \"b{i}-{b}\", address = \"{a}\", mac = \"02:00:00:00:{i:02x}:{b:02x}\", weight = {} }},\n",
                b + 1
            );
        }
        s += "]\n";
    }
    s
}

struct Rec {
    out: String,
    dev: Device<Vec<u8>>,
}

impl Rec {
    fn write(&mut self, reg: u64, v: u32) -> Res<()> {
        writeln!(self.out, "W {reg:x} {v:x}")?;
        self.dev.host_write32(reg, v)?;
        Ok(())
    }
    fn expect(&mut self, reg: u64) -> Res<u32> {
        let v = self.dev.host_read32(reg)?;
        writeln!(self.out, "R {reg:x} {v:x}")?;
        Ok(v)
    }
    fn bank(&mut self, off: u64, bytes: &[u8]) -> Res<()> {
        writeln!(self.out, "B {off:x} {:x}", bytes.len() / 8)?;
        for w in bytes.chunks(8) {
            writeln!(self.out, "{:x}", u64::from_le_bytes(w.try_into()?))?;
        }
        self.dev.host_write_aperture(off, bytes)?;
        Ok(())
    }
    fn readback(&mut self, off: u64, n: usize) -> Res<()> {
        let mut b = vec![0u8; n * 8];
        self.dev.host_read_aperture(off, &mut b)?;
        writeln!(self.out, "V {off:x} {n:x}")?;
        for w in b.chunks(8) {
            writeln!(self.out, "{:x}", u64::from_le_bytes(w.try_into()?))?;
        }
        Ok(())
    }
    fn status(&mut self) -> Res<()> {
        for r in [
            regs::ACTIVE_BANK,
            regs::ACTIVE_GEN_LO,
            regs::ACTIVE_GEN_HI,
            regs::COMMIT_RESULT,
            regs::COMMIT_SEQ,
        ] {
            self.expect(r)?;
        }
        for c in [Counter::Commits, Counter::CommitErrors] {
            self.expect(c.offset() + 4)?;
            self.expect(c.offset())?;
        }
        Ok(())
    }
    fn inactive(&mut self) -> Res<u64> {
        let a = self.dev.host_read32(regs::ACTIVE_BANK)?;
        // before the first commit no bank is active and the host writes bank 1
        let first = self.dev.active.is_none();
        Ok(self.dev.map.bank_base[if first { 1 } else { 1 - a as usize }])
    }
    /// The host's flash: bank bytes, STAGED_*, doorbell, then the results.
    fn flash(&mut self, bytes: &[u8], gen: u64, len: u32, crc: u32) -> Res<()> {
        let base = self.inactive()?;
        self.bank(base, bytes)?;
        self.write(regs::STAGED_GEN_LO, gen as u32)?;
        self.write(regs::STAGED_GEN_HI, (gen >> 32) as u32)?;
        self.write(regs::STAGED_LEN, len)?;
        self.write(regs::STAGED_CRC, crc)?;
        writeln!(self.out, "D {:x}", regs::COMMIT_MAGIC)?;
        self.dev.host_write32(regs::COMMIT, regs::COMMIT_MAGIC)?;
        self.status()
    }
    fn flash_image(&mut self, img: &Image) -> Res<()> {
        let b = img.device().to_vec();
        self.flash(&b, img.generation, img.device_len as u32, img.device_crc())
    }
    /// `img`'s bank with `f` applied, its CRC recomputed (so only the
    /// table checks can refuse it).
    fn flash_damaged(&mut self, img: &Image, gen: u64, f: impl Fn(&mut [u8])) -> Res<()> {
        let mut b = img.device().to_vec();
        f(&mut b);
        let crc = crc32c::crc32c(&b);
        self.flash(&b, gen, b.len() as u32, crc)
    }
}

fn main() -> Res<()> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: rtl_vectors_regs DIR")?);
    std::fs::create_dir_all(&dir)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tpath = root.join("examples/targets/small.toml");
    let t = table_compiler::target_file::parse(&std::fs::read_to_string(&tpath)?, "small")?;
    let map = t.memory_map();
    let compile = |variant: u32, gen: u64| -> Res<Image> {
        let cfg = table_compiler::config::Config::parse(&config(&tpath, variant), "rtl_vectors_regs", &root)?;
        Ok(table_compiler::compile::compile(&cfg, None, Some(gen))?.0)
    };
    let a = compile(0, 1)?;
    let b = compile(1, 2)?;
    let c = compile(2, 7)?;

    let dev = Device::new(t.clone(), vec![0u8; map.bar_len as usize])?;
    let mut r = Rec {
        out: String::new(),
        dev,
    };
    writeln!(
        r.out,
        "T {:x} {:x} {:x} {:x} {:x} {:x}",
        t.max_vips,
        t.max_backends,
        t.lut_entry_bits,
        t.lut_entries,
        map.bank_len,
        t.fingerprint()
    )?;
    // identity, as the host checks it first
    for reg in [
        regs::ID,
        regs::VERSION,
        regs::FINGERPRINT_LO,
        regs::FINGERPRINT_HI,
    ] {
        r.expect(reg)?;
    }
    r.status()?;

    // 1. a valid image into bank 1, read back as the host does
    r.flash_image(&a)?;
    let base = r.dev.map.bank_base[r.dev.host_read32(regs::ACTIVE_BANK)? as usize];
    r.readback(base, (map.bank_len / 8) as usize)?;
    // 2. the next generation into bank 0
    r.flash_image(&b)?;
    // 3. bad CRC: one LUT byte changed after the CRC was taken
    let mut bad = b.device().to_vec();
    bad[map.lut.start as usize + 5] ^= 0x40;
    r.flash(&bad, 3, map.bank_len as u32, b.device_crc())?;
    // 4. bad length
    r.flash(b.device(), 3, map.bank_len as u32 - 4096, b.device_crc())?;
    // 5. table checks, each with a correct CRC
    let v0 = map.vip_entry(0) as usize;
    let v1 = map.vip_entry(1) as usize;
    let v2 = map.vip_entry(2) as usize;
    let lut_entries = t.lut_entries;
    let max_backends = t.max_backends;
    let max_vips = t.max_vips;
    // VIP 0's lookup table runs past the LUT
    r.flash_damaged(&c, 4, |p| {
        p[v0 + vip_field::LUT_BASE.start..v0 + vip_field::LUT_BASE.end]
            .copy_from_slice(&(lut_entries - 100).to_le_bytes())
    })?;
    // VIP 1's backends run past the BACKEND table
    r.flash_damaged(&c, 5, |p| {
        p[v1 + vip_field::BACKEND_BASE.start..v1 + vip_field::BACKEND_BASE.end]
            .copy_from_slice(&(max_backends - 2).to_le_bytes())
    })?;
    // VIP 2 has an unknown mode
    r.flash_damaged(&c, 6, |p| p[v2 + vip_field::MODE] = 9)?;
    // GLOBAL vip_count above the target's
    r.flash_damaged(&c, 6, |p| {
        p[global_field::VIP_COUNT].copy_from_slice(&(max_vips as u16 + 1).to_le_bytes())
    })?;
    // 6. a COMMIT write that is not the magic: ignored
    writeln!(r.out, "D 1234")?;
    r.dev.host_write32(regs::COMMIT, 0x1234)?;
    r.status()?;
    // 7. a valid image again (into the bank the refusals left inactive)
    r.flash_image(&c)?;
    r.expect(regs::STATUS)?;
    r.expect(regs::SCRATCH)?;
    r.write(regs::SCRATCH, 0x5a5a_1234)?;
    r.expect(regs::SCRATCH)?;

    // 8. what the pipeline reads from the active bank: GLOBAL, every VIP
    // and BACKEND entry, the LUT entries of every VIP's range ends and a
    // spread of others
    let active = r.dev.host_read32(regs::ACTIVE_BANK)?;
    let base = map.bank_base[active as usize] as usize;
    let bank = r.dev.aperture()[base..base + map.bank_len as usize].to_vec();
    let words = |b: &[u8]| -> Vec<String> {
        b.chunks(8)
            .map(|w| format!("{:x}", u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))))
            .collect()
    };
    writeln!(r.out, "P {active:x}")?;
    writeln!(
        r.out,
        "G {}",
        words(&bank[map.global.start as usize..map.global.end as usize]).join(" ")
    )?;
    for i in 0..t.max_vips {
        let o = map.vip_entry(i) as usize;
        writeln!(r.out, "I {i:x} {}", words(&bank[o..o + 64]).join(" "))?;
    }
    for i in 0..t.max_backends as u64 {
        let o = (map.backend.start + i * 32) as usize;
        writeln!(r.out, "E {i:x} {}", words(&bank[o..o + 32]).join(" "))?;
    }
    let lut = lbnic_contract::target::entries::Lut::new(
        &bank[map.lut.start as usize..map.lut.end as usize],
        t.lut_entry_bits,
    );
    let mut idx: Vec<u32> = (0..t.lut_entries).step_by(37).collect();
    for v in lbnic_contract::image::Bank::decode(&c)?.vips.iter().flatten() {
        let (b, n) = (v.repr.lut_base, v.repr.lut_size);
        idx.extend([b, b + 1, (b + n).saturating_sub(1)]);
    }
    idx.extend([0, 1, 5, 6, 7, 12, 13, t.lut_entries - 1]);
    for i in idx {
        let e = lut.get(i as usize).ok_or("LUT index")?;
        writeln!(r.out, "L {i:x} {e:x}")?;
    }

    std::fs::write(dir.join("regs.txt"), &r.out)?;
    eprintln!(
        "rtl_vectors_regs: {} lines to {}",
        r.out.lines().count(),
        dir.join("regs.txt").display()
    );
    Ok(())
}
