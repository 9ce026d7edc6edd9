//! host-driver's flash protocol against the in-process model: commits,
//! refusals, interrupted flashes, delta flashing, dead devices, conntrack.
//! (Here rather than in host-driver, which does not depend on the model.)

use host_driver::access::{AccessError, DeviceAccess};
use host_driver::driver::{Driver, DriverError, FlashOptions};
use hw_emu::ModelAccess;
use lbnic_contract::image::{Bank, Image};
use lbnic_contract::target::regs;
use std::path::Path;
use std::time::{Duration, Instant};
use table_compiler::compile::compile;
use table_compiler::config::Config;
use table_compiler::ctimage;

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"))
}

/// examples/basic.toml on the small target, with `edit` applied to the text.
fn image(generation: u64, previous: Option<&Image>, edit: impl Fn(String) -> String) -> Image {
    let text = std::fs::read_to_string(examples().join("basic.toml"))
        .unwrap()
        .replace("target = \"default\"", "target = \"targets/small.toml\"")
        .replace("table_size = 65537", "table_size = 4099");
    let cfg = Config::parse(&edit(text), "basic.toml", examples()).unwrap();
    compile(&cfg, previous, Some(generation)).unwrap().0
}

fn plain(generation: u64) -> Image {
    image(generation, None, |t| t)
}

/// One more backend for the `maglev-stable` IPv6 VIP.
fn add_web6_backend(t: String) -> String {
    t.replace(
        "[[vip.backend]]\nname = \"web6-3\"",
        "[[vip.backend]]\nname = \"web6-4\"\naddress = \"2001:db8:1::4\"\n\n[[vip.backend]]\nname = \"web6-3\"",
    )
}

fn driver(img: &Image) -> Driver<ModelAccess> {
    let mut d = Driver::new(ModelAccess::new(img.target.clone()).unwrap(), img.target.clone());
    d.timeout = Duration::from_millis(300);
    d.liveness_timeout = Duration::from_millis(300);
    d
}

fn flash(d: &mut Driver<impl DeviceAccess>, img: &Image) -> host_driver::FlashReport {
    d.flash(img, &FlashOptions::default(), &mut |_, _| {}).unwrap()
}

#[test]
fn full_flash_commits_verifies_and_counts() {
    let a = plain(1);
    let mut d = driver(&a);
    let r = flash(&mut d, &a);
    assert_eq!((r.generation, r.bank, r.previous_generation), (1, 1, 0));
    assert_eq!(r.bytes_written, a.device_len);
    assert_eq!(r.bytes_read_back, a.device_len);
    let v = d.verify(&a).unwrap();
    assert_eq!((v.generation, v.bank), (1, 1));
    let s = d.stats().unwrap();
    assert_eq!(s.counter(regs::Counter::Commits), 1);
    assert!(s.running && s.ready);
    // The next generation goes to the other bank.
    let b = plain(2);
    assert_eq!(flash(&mut d, &b).bank, 0);
    assert_eq!(d.verify(&b).unwrap().bank, 0);
    // Verifying the old image now fails on the generation.
    assert!(matches!(
        d.verify(&a),
        Err(DriverError::GenerationMismatch { .. })
    ));
}

#[test]
fn wrong_target_is_refused_before_any_write() {
    let small = plain(1);
    let text = std::fs::read_to_string(examples().join("basic.toml")).unwrap();
    let cfg = Config::parse(&text, "basic.toml", examples()).unwrap();
    let default_img = compile(&cfg, None, Some(1)).unwrap().0;
    let mut d = driver(&small);
    let e = d
        .flash(&default_img, &FlashOptions::default(), &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(e, DriverError::WrongTarget { .. }), "{e}");
    assert!(e.to_string().contains("refused before any write"), "{e}");
    assert_eq!(d.access().aperture_writes(), (0, 0));
    // A conntrack image is not a bank image.
    let ct = ctimage::build(&small, &Bank::decode(&small).unwrap(), &[]).unwrap();
    assert!(matches!(
        d.flash(&ct, &FlashOptions::default(), &mut |_, _| {}),
        Err(DriverError::Image(_))
    ));
    assert_eq!(d.access().aperture_writes(), (0, 0));
}

/// Flips one bit of every aperture write past `after` bytes: a bus that
/// corrupts data.
struct Corrupting<A> {
    inner: A,
    armed: bool,
}

impl<A: DeviceAccess> DeviceAccess for Corrupting<A> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        self.inner.read32(reg)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        self.inner.write32(reg, v)
    }
    fn aperture_len(&self) -> u64 {
        self.inner.aperture_len()
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        self.inner.read_aperture(offset, out)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        if self.armed && data.len() > 100 {
            let mut d = data.to_vec();
            d[100] ^= 0x10;
            return self.inner.write_aperture(offset, &d);
        }
        self.inner.write_aperture(offset, data)
    }
}

#[test]
fn crc_mismatch_is_refused_and_the_old_bank_stays_active() {
    let a = plain(1);
    let b = plain(2);
    let mut d = Driver::new(
        Corrupting {
            inner: ModelAccess::new(a.target.clone()).unwrap(),
            armed: false,
        },
        a.target.clone(),
    );
    flash(&mut d, &a);
    d.access_mut().armed = true;
    let e = d.flash(&b, &FlashOptions::default(), &mut |_, _| {}).unwrap_err();
    match &e {
        DriverError::CommitRefused { code, active, .. } => {
            assert_eq!(*code, regs::COMMIT_BAD_CRC);
            assert_eq!(*active, 1);
        }
        _ => panic!("{e}"),
    }
    assert!(e.to_string().contains("crc mismatch"), "{e}");
    d.access_mut().armed = false;
    d.verify(&a).unwrap();
    let s = d.stats().unwrap();
    assert_eq!(s.counter(regs::Counter::CommitErrors), 1);
    assert_eq!(s.identity.commit_result, regs::COMMIT_BAD_CRC);
    // Raw protocol: a staged CRC that does not match is refused too.
    let dev = d.access_mut();
    let base = a.target.memory_map().bank_base[0];
    dev.write_aperture(base, b.device()).unwrap();
    dev.write64(regs::STAGED_GEN_LO, 2).unwrap();
    dev.write32(regs::STAGED_LEN, b.device_len as u32).unwrap();
    dev.write32(regs::STAGED_CRC, b.device_crc() ^ 1).unwrap();
    dev.write32(regs::COMMIT, regs::COMMIT_MAGIC).unwrap();
    assert_eq!(dev.read32(regs::COMMIT_RESULT).unwrap(), regs::COMMIT_BAD_CRC);
    assert_eq!(dev.read64(regs::ACTIVE_GEN_LO).unwrap(), 1);
    // A wrong STAGED_LEN is refused as such.
    dev.write32(regs::STAGED_CRC, b.device_crc()).unwrap();
    dev.write32(regs::STAGED_LEN, 4096).unwrap();
    dev.write32(regs::COMMIT, regs::COMMIT_MAGIC).unwrap();
    assert_eq!(dev.read32(regs::COMMIT_RESULT).unwrap(), regs::COMMIT_BAD_LEN);
    d.verify(&a).unwrap();
    // And the next good flash goes through.
    flash(&mut d, &b);
    d.verify(&b).unwrap();
}

#[test]
fn interrupted_flash_leaves_the_active_bank_and_the_next_flash_succeeds() {
    let a = plain(1);
    let b = plain(2);
    let mut d = driver(&a);
    flash(&mut d, &a);
    // A flash killed half-way through writing the inactive bank (bank 0).
    let base = a.target.memory_map().bank_base[0];
    let half = &b.device()[..b.device().len() / 2];
    d.access_mut().write_aperture(base, half).unwrap();
    d.verify(&a).unwrap();
    assert_eq!(d.identify().unwrap().active_generation, 1);
    // Killed after staging but before ringing: still nothing changes.
    d.access_mut().write64(regs::STAGED_GEN_LO, 2).unwrap();
    d.verify(&a).unwrap();
    flash(&mut d, &b);
    d.verify(&b).unwrap();
}

#[test]
fn delta_writes_only_what_changed_and_falls_back_when_the_base_is_wrong() {
    let a = plain(1);
    let b = plain(2);
    let c = image(3, Some(&b), add_web6_backend);
    let mut d = driver(&a);
    flash(&mut d, &a); // bank 1 = a
    flash(&mut d, &b); // bank 0 = b; bank 1 (inactive) still holds a
    let before = d.access().aperture_writes().1;
    let opts = FlashOptions {
        delta_base: Some(a.device().to_vec()),
        ..FlashOptions::default()
    };
    let r = d.flash(&c, &opts, &mut |_, _| {}).unwrap();
    let want: u64 = host_driver::delta::changed_ranges(a.device(), c.device(), host_driver::delta::MERGE_GAP)
        .iter()
        .map(|r| r.len() as u64)
        .sum();
    assert!(r.delta && !r.delta_fell_back);
    assert_eq!(r.bytes_written, want);
    assert_eq!(d.access().aperture_writes().1 - before, want);
    assert!(want < c.device_len / 4, "{want}");
    assert!(r.bytes_read_back <= want);
    d.verify(&c).unwrap();
    // Wrong belief: claim bank 0 holds c, but it holds b.
    let e = image(4, Some(&c), |t| {
        add_web6_backend(t).replace("weight = 3", "weight = 4")
    });
    let opts = FlashOptions {
        delta_base: Some(c.device().to_vec()),
        ..FlashOptions::default()
    };
    let r = d.flash(&e, &opts, &mut |_, _| {}).unwrap();
    assert!(r.delta && r.delta_fell_back);
    assert!(r.bytes_written > e.device_len);
    d.verify(&e).unwrap();
    assert_eq!(d.stats().unwrap().counter(regs::Counter::CommitErrors), 1);
}

#[test]
fn a_dead_device_is_reported_quickly_and_nothing_is_written() {
    let a = plain(1);
    let mut d = driver(&a);
    d.access_mut().freeze();
    let t0 = Instant::now();
    let e = d.flash(&a, &FlashOptions::default(), &mut |_, _| {}).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, DriverError::Dead { .. }), "{e}");
    assert!(e.to_string().contains("not running"), "{e}");
    assert_eq!(d.access().aperture_writes(), (0, 0));
    d.access_mut().thaw().unwrap();
    flash(&mut d, &a);
}

/// Beats, but never answers the doorbell.
struct Deaf(ModelAccess);

impl DeviceAccess for Deaf {
    fn describe(&self) -> String {
        "deaf".into()
    }
    fn read32(&mut self, reg: u64) -> Result<u32, AccessError> {
        self.0.read32(reg)
    }
    fn write32(&mut self, reg: u64, v: u32) -> Result<(), AccessError> {
        if reg == regs::COMMIT {
            return Ok(());
        }
        self.0.write32(reg, v)
    }
    fn aperture_len(&self) -> u64 {
        self.0.aperture_len()
    }
    fn read_aperture(&mut self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        self.0.read_aperture(offset, out)
    }
    fn write_aperture(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        self.0.write_aperture(offset, data)
    }
}

#[test]
fn an_unanswered_commit_times_out_with_a_clear_error() {
    let a = plain(1);
    let mut d = Driver::new(
        Deaf(ModelAccess::new(a.target.clone()).unwrap()),
        a.target.clone(),
    );
    d.timeout = Duration::from_millis(200);
    let t0 = Instant::now();
    let e = d.flash(&a, &FlashOptions::default(), &mut |_, _| {}).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, DriverError::CommitTimeout { .. }), "{e}");
    assert!(
        e.to_string().contains("did not answer COMMIT within 0.2 s"),
        "{e}"
    );
    assert_eq!(d.identify().unwrap().active_generation, 0);
}

#[test]
fn not_a_device_and_wrong_target_for_stats() {
    let a = plain(1);
    let mut d = driver(&a);
    // The model runs the small target; a driver assuming the default one
    // reads the registers of the right place (both put them at BAR+0) but
    // refuses the fingerprint.
    let mut other = Driver::new(
        ModelAccess::new(a.target.clone()).unwrap(),
        lbnic_contract::target::Target::builtin(),
    );
    assert!(matches!(
        other.identify_target(),
        Err(DriverError::TargetMismatch { .. })
    ));
    d.identify_target().unwrap();
    // Out-of-range accesses are refused, not wrapped.
    assert!(d.access_mut().read32(regs::BLOCK_LEN).is_err());
    assert!(d.access_mut().read32(2).is_err());
    let n = d.access().aperture_len();
    assert!(d.access_mut().write_aperture(n - 1, &[0, 0]).is_err());
}

#[test]
fn conntrack_load_dump_flush() {
    let a = plain(1);
    let mut d = driver(&a);
    flash(&mut d, &a);
    let bank = Bank::decode(&a).unwrap();
    let flows = ctimage::parse_flow_list(
        r#"{"flow": "tcp 198.51.100.7:40000 -> 192.0.2.10:80", "vip": "web", "backend": "web-2"}
{"flow": "tcp [2001:db8::7]:5000 -> [2001:db8::10]:443", "vip": "web6", "backend": "web6-1"}"#,
    )
    .unwrap();
    let ct = ctimage::build(&a, &bank, &flows).unwrap();
    d.ct_load(&ct).unwrap();
    let mem = d.ct_dump().unwrap();
    assert_eq!(mem, ct.device());
    // Not left host-owned.
    assert!(!d.stats().unwrap().ct_host);
    d.ct_flush().unwrap();
    assert!(d.ct_dump().unwrap().iter().all(|&b| b == 0));
    // A conntrack image for another target is refused before any write.
    let text = std::fs::read_to_string(examples().join("basic.toml")).unwrap();
    let cfg = Config::parse(&text, "basic.toml", examples()).unwrap();
    let big = compile(&cfg, None, Some(1)).unwrap().0;
    let big_ct = ctimage::build(&big, &Bank::decode(&big).unwrap(), &[]).unwrap();
    let w = d.access().aperture_writes();
    assert!(matches!(d.ct_load(&big_ct), Err(DriverError::WrongTarget { .. })));
    assert_eq!(d.access().aperture_writes(), w);
}
