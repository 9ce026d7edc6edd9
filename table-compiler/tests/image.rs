//! Image round trips and rejection of every kind of damage.

use lbnic_contract::image::{Bank, Image, ImageError};
use lbnic_contract::target::Target;
use proptest::prelude::*;
use std::path::Path;
use table_compiler::compile::compile;
use table_compiler::config::Config;

const CFG: &str = r#"
target = "../examples/targets/small.toml"
[device]
gateway_mac = "02:00:00:00:00:fe"
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80
table_size = 1021
backend = [
  { name = "a", address = "10.0.0.1", mac = "02:00:00:00:00:01" },
  { name = "b", address = "10.0.0.2", mac = "02:00:00:00:00:02", weight = 3 },
  { name = "c", address = "10.0.0.3", mac = "02:00:00:00:00:03", state = "drain" },
]
[[vip]]
name = "v6"
address = "2001:db8::1"
protocol = "udp"
mode = "tun-gue"
scheduler = "wrr"
backend = [
  { name = "x", address = "2001:db8:1::1", weight = 2 },
  { name = "y", address = "192.0.2.99", weight = 4 },
]
"#;

fn config(text: &str) -> Config {
    Config::parse(text, "test.toml", Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn image() -> Image {
    compile(&config(CFG), None, Some(7)).unwrap().0
}

#[test]
fn round_trip_is_exact() {
    let img = image();
    let bytes = img.to_bytes();
    let back = Image::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.generation, 7);
    let bank = Bank::decode(&back).unwrap();
    let web = bank.vip_by_name("web").unwrap();
    assert_eq!(web.table.len(), 1021);
    let counts = web.slot_counts();
    assert_eq!(counts, vec![255, 766, 0]);
    let v6 = bank.vip_by_name("v6").unwrap();
    assert_eq!(v6.table, vec![1, 0, 1]);
}

#[test]
fn fixed_size_for_a_target() {
    let a = image();
    let small = config(&CFG.replace("table_size = 1021", "table_size = 251"));
    let b = compile(&small, None, None).unwrap().0;
    assert_eq!(a.to_bytes().len(), b.to_bytes().len());
}

#[test]
fn backend_order_does_not_matter() {
    let swapped = CFG.replace(
        "  { name = \"a\", address = \"10.0.0.1\", mac = \"02:00:00:00:00:01\" },\n  { name = \"b\", address = \"10.0.0.2\", mac = \"02:00:00:00:00:02\", weight = 3 },",
        "  { name = \"b\", address = \"10.0.0.2\", mac = \"02:00:00:00:00:02\", weight = 3 },\n  { name = \"a\", address = \"10.0.0.1\", mac = \"02:00:00:00:00:01\" },",
    );
    assert_ne!(swapped, CFG);
    let a = compile(&config(CFG), None, Some(1)).unwrap().0.to_bytes();
    let b = compile(&config(&swapped), None, Some(1)).unwrap().0.to_bytes();
    assert_eq!(a, b);
}

#[test]
fn wrong_target_is_refused() {
    let img = image();
    let err = img.expect_target(&Target::builtin()).unwrap_err();
    assert!(matches!(err, ImageError::WrongTarget { .. }), "{err}");
    // A previous image for another target is refused by the compiler too.
    let other = Config::parse(
        &CFG.replace("target = \"../examples/targets/small.toml\"\n", ""),
        "t",
        Path::new("."),
    )
    .unwrap();
    let err = compile(&other, Some(&img), None).unwrap_err();
    assert!(err.to_string().contains("target"), "{err}");
}

#[test]
fn previous_keeps_slots_of_survivors() {
    let first = image();
    // Remove backend "a", add "aa" (sorts first): "b" and "c" keep their slots.
    let cfg2 = config(&CFG.replace(
        "name = \"a\", address = \"10.0.0.1\"",
        "name = \"aa\", address = \"10.0.0.9\"",
    ));
    let (second, _) = compile(&cfg2, Some(&first), None).unwrap();
    assert_eq!(second.generation, 8);
    let b1 = Bank::decode(&first).unwrap();
    let b2 = Bank::decode(&second).unwrap();
    let slot = |b: &Bank, n: &str| {
        b.vip_by_name("web")
            .unwrap()
            .backends
            .iter()
            .position(|x| x.as_ref().is_some_and(|x| x.name == n))
    };
    assert_eq!(slot(&b1, "b"), slot(&b2, "b"));
    assert_eq!(slot(&b1, "c"), slot(&b2, "c"));
    assert_eq!(
        slot(&b2, "aa"),
        Some(3),
        "new name takes a slot the previous image did not use"
    );
    assert_eq!(slot(&b2, "a"), None);
}

#[test]
fn truncated_and_trailing_are_refused() {
    let bytes = image().to_bytes();
    for n in [0, 7, 8, 100, 255, 256, 4096, bytes.len() - 1] {
        assert!(Image::from_bytes(&bytes[..n]).is_err(), "len {n}");
    }
    let mut more = bytes.clone();
    more.push(0);
    assert!(matches!(
        Image::from_bytes(&more),
        Err(ImageError::Trailing { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    // Every byte of an image is covered by a CRC, so any flip is caught.
    #[test]
    fn any_bit_flip_is_refused(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = image().to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(Image::from_bytes(&bytes).is_err());
    }

    #[test]
    fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Image::from_bytes(&data);
        let mut with_magic = b"LBNICIMG".to_vec();
        with_magic.extend_from_slice(&data);
        let _ = Image::from_bytes(&with_magic);
    }

    #[test]
    fn config_text_never_panics(s in "\\PC{0,300}") {
        let _ = Config::parse(&s, "fuzz.toml", Path::new("."));
        let _ = Config::parse(&format!("[[vip]]\n{s}"), "fuzz.toml", Path::new("."));
    }
}

/// Re-sign a tampered image so only the semantic checks can catch it.
fn resign(mut img: Image, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    edit(&mut img.payload);
    for s in &mut img.sections {
        s.crc32c = crc32c::crc32c(&img.payload[s.range()]);
    }
    img.to_bytes()
}

#[test]
fn semantic_damage_is_refused_even_with_good_crcs() {
    let img = image();
    let t = img.target.clone();
    let map = t.memory_map();
    // A LUT entry pointing at the drained backend (local index 2).
    let lut_start = map.lut.start as usize;
    let bytes = resign(img.clone(), |p| {
        lbnic_contract::target::entries::LutMut::new(
            &mut p[lut_start..map.lut.end as usize],
            t.lut_entry_bits,
        )
        .store(0, &[2]);
    });
    let e = Image::from_bytes(&bytes).unwrap_err().to_string();
    assert!(e.contains("not an active backend"), "{e}");
    // An unknown mode code in a VIP entry.
    let vip0 = map.vip_entry(0) as usize;
    let bytes = resign(img.clone(), |p| p[vip0 + 20] = 9);
    let e = Image::from_bytes(&bytes).unwrap_err().to_string();
    assert!(e.contains("mode"), "{e}");
    // A Maglev size that is not prime.
    let bytes = resign(img, |p| {
        p[vip0 + 32..vip0 + 36].copy_from_slice(&1020u32.to_le_bytes())
    });
    assert!(Image::from_bytes(&bytes).is_err());
}

/// The lineage can only be what the compiler wrote: an edited id, parent or
/// chain is refused even when every CRC is made to match.
#[test]
fn lineage_damage_is_refused_even_with_good_crcs() {
    let first = image();
    let (second, _) = compile(&config(CFG), Some(&first), None).unwrap();
    let l = second.lineage().unwrap();
    assert_eq!(l.ancestors, vec![first.lineage().unwrap().own]);
    assert_eq!(second.parent_id(), first.image_id());
    assert_ne!(
        second.image_id(),
        first.image_id(),
        "same tables, another history"
    );
    let id = lbnic_contract::image::id_field(&second.target);
    let parent = id.end..id.end + 16;
    let lin = second
        .sections
        .iter()
        .find(|s| s.kind == lbnic_contract::image::SectionKind::Lineage)
        .unwrap()
        .range();
    for (what, edit) in [
        (
            "image id",
            Box::new(|p: &mut Vec<u8>| p[id.start] ^= 1) as Box<dyn Fn(&mut Vec<u8>)>,
        ),
        ("parent id", Box::new(|p: &mut Vec<u8>| p[parent.start] ^= 1)),
        ("ancestor", Box::new(|p: &mut Vec<u8>| p[lin.start + 8 + 8] ^= 1)),
        ("count", Box::new(|p: &mut Vec<u8>| p[lin.start] = 0)),
    ] {
        let e = Image::from_bytes(&resign(second.clone(), edit)).unwrap_err();
        assert!(matches!(e, ImageError::Lineage { .. }), "{what}: {e}");
    }
}
