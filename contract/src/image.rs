//! Image files: a 512-byte header, then the payload. The payload starts with
//! the device part, laid out exactly as the device memory it is flashed to
//! (a bank, or the conntrack region), followed by host-only sections (names,
//! the target description). `Image::from_bytes` checks everything (header
//! CRC, target, section table against the memory map, every section CRC,
//! every table entry) before anything can reach a device.

use crate::lineage::{self, LINEAGE_LEN};
pub use crate::lineage::{format_id, ImageId, Lineage, LineageEntry, Relation};
use crate::target::ct::{CtRepr, CtWay};
use crate::target::entries::global_field;
use crate::target::entries::{
    name_parse, BackendRepr, EntryError, GlobalRepr, Lut, VipRepr, BACKEND_ENTRY_LEN, CT_WAY_LEN, NAME_LEN,
    VIP_ENTRY_LEN,
};
use crate::target::{MemoryMap, Target};
use std::io::Read;
use std::ops::Range;
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"LBNICIMG";
/// 2: 512-byte header, room for 16 sections, the LINEAGE section.
pub const FORMAT_VERSION: u16 = 2;
pub const HEADER_LEN: usize = 512;
pub const MAX_SECTIONS: usize = 16;
/// Largest image file `Image::load` reads (header included). The largest
/// default-target image (conntrack) is 64 MiB.
pub const MAX_IMAGE_LEN: u64 = 4 << 30;

/// Header layout.
pub mod header_field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..8;
    pub const VERSION: Range<usize> = 8..10;
    pub const KIND: Range<usize> = 10..12;
    pub const HEADER_LEN: Range<usize> = 12..16;
    pub const FINGERPRINT: Range<usize> = 16..24;
    pub const GENERATION: Range<usize> = 24..32;
    pub const CONFIG_DIGEST: Range<usize> = 32..64;
    pub const PAYLOAD_LEN: Range<usize> = 64..72;
    /// Bytes of the device part (STAGED_LEN for a bank).
    pub const DEVICE_LEN: Range<usize> = 72..80;
    /// CRC32C of the device part (STAGED_CRC for a bank).
    pub const DEVICE_CRC: Range<usize> = 80..84;
    pub const SECTION_COUNT: Range<usize> = 84..88;
    /// `MAX_SECTIONS` entries of 24 bytes: kind u32, crc32c u32,
    /// payload offset u64, length u64.
    pub const SECTIONS: usize = 88;
    pub const SECTION_LEN: usize = 24;
    pub const HEADER_CRC: Range<usize> = 508..512;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// VIP + backend + lookup tables: flashed into the inactive bank.
    Bank,
    /// Conntrack preload: written into the live conntrack region.
    Conntrack,
}

impl ImageKind {
    fn code(self) -> u16 {
        match self {
            ImageKind::Bank => 1,
            ImageKind::Conntrack => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    Global,
    Vip,
    Backend,
    Lut,
    Conntrack,
    Names,
    Target,
    /// Host-only: the images a bank was compiled through.
    Lineage,
}

impl SectionKind {
    fn code(self) -> u32 {
        match self {
            SectionKind::Global => 1,
            SectionKind::Vip => 2,
            SectionKind::Backend => 3,
            SectionKind::Lut => 4,
            SectionKind::Conntrack => 5,
            SectionKind::Names => 6,
            SectionKind::Target => 7,
            SectionKind::Lineage => 8,
        }
    }
    fn from_code(c: u32) -> Option<SectionKind> {
        Some(match c {
            1 => SectionKind::Global,
            2 => SectionKind::Vip,
            3 => SectionKind::Backend,
            4 => SectionKind::Lut,
            5 => SectionKind::Conntrack,
            6 => SectionKind::Names,
            7 => SectionKind::Target,
            8 => SectionKind::Lineage,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub kind: SectionKind,
    pub crc32c: u32,
    /// Payload-relative.
    pub offset: u64,
    pub len: u64,
}

impl Section {
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..(self.offset + self.len) as usize
    }
}

/// Why an image is refused. Offsets are file offsets.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("reading image {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("writing image {path}: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("image truncated: {got} bytes, header says {need}")]
    Truncated { got: u64, need: u64 },
    #[error("image has {extra} bytes of trailing data after the payload (at offset {at})")]
    Trailing { extra: u64, at: u64 },
    #[error("not an lbnic image (bad magic at offset 0)")]
    BadMagic,
    #[error(
        "image header CRC mismatch (stored {stored:#010x}, computed {computed:#010x}): header corrupted"
    )]
    HeaderCrc { stored: u32, computed: u32 },
    #[error("image format version {0} is not supported (this build reads {FORMAT_VERSION}): compile the config again with this lbnic")]
    Version(u16),
    #[error("image header at offset {at}: {message}")]
    Header { at: usize, message: String },
    #[error("section {kind:?} (payload offset {offset}): CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    SectionCrc {
        kind: SectionKind,
        offset: u64,
        stored: u32,
        computed: u32,
    },
    #[error("section {kind:?}: {message}")]
    Section { kind: SectionKind, message: String },
    #[error("image target: {0}")]
    Target(String),
    #[error("image was compiled for target fingerprint {image:#018x}, but the target is {expected} ({expected_fp:#018x})")]
    WrongTarget {
        image: u64,
        expected: String,
        expected_fp: u64,
    },
    #[error("image is a {got:?} image, expected {want:?}")]
    WrongKind { got: ImageKind, want: ImageKind },
    #[error("{table} entry {index} (file offset {offset}): {error}")]
    Entry {
        table: &'static str,
        index: u64,
        offset: u64,
        error: EntryError,
    },
    #[error("lineage (file offset {offset}): {message}")]
    Lineage { offset: u64, message: String },
    #[error("{table} entry {index} (file offset {offset}): {message}")]
    Invalid {
        table: &'static str,
        index: u64,
        offset: u64,
        message: String,
    },
}

/// A loaded (or freshly built) image. The payload is the exact bytes of the
/// file after the header.
#[derive(Debug, Clone)]
pub struct Image {
    pub kind: ImageKind,
    pub target: Target,
    pub generation: u64,
    pub config_digest: [u8; 32],
    pub sections: Vec<Section>,
    pub device_len: u64,
    pub payload: Vec<u8>,
}

fn crc(b: &[u8]) -> u32 {
    crc32c::crc32c(b)
}

impl Image {
    /// Assemble an image from a device part and the host-only sections;
    /// device sections are given as (kind, range within `device`). A bank
    /// gets a LINEAGE section (empty unless given: a fresh compile) and its
    /// image id written into GLOBAL before any CRC is taken.
    pub fn assemble(
        kind: ImageKind,
        target: &Target,
        generation: u64,
        config_digest: [u8; 32],
        device: Vec<u8>,
        device_sections: &[(SectionKind, Range<u64>)],
        host_sections: &[(SectionKind, Vec<u8>)],
    ) -> Image {
        let device_len = device.len() as u64;
        let mut payload = device;
        let mut host = host_sections.to_vec();
        if kind == ImageKind::Bank {
            if !host.iter().any(|(k, _)| *k == SectionKind::Lineage) {
                host.push((SectionKind::Lineage, lineage::empty_section()));
            }
            let f = id_field(target);
            let id = lineage::image_id(generation, &config_digest, &payload, f.clone());
            payload[f].copy_from_slice(&id);
        }
        let mut sections: Vec<Section> = device_sections
            .iter()
            .map(|(k, r)| Section {
                kind: *k,
                crc32c: crc(&payload[r.start as usize..r.end as usize]),
                offset: r.start,
                len: r.end - r.start,
            })
            .collect();
        host.push((
            SectionKind::Target,
            serde_json::to_vec(target).expect("target serialises"),
        ));
        for (k, bytes) in host {
            sections.push(Section {
                kind: k,
                crc32c: crc(&bytes),
                offset: payload.len() as u64,
                len: bytes.len() as u64,
            });
            payload.extend_from_slice(&bytes);
        }
        Image {
            kind,
            target: target.clone(),
            generation,
            config_digest,
            sections,
            device_len,
            payload,
        }
    }

    /// A bank's image id (GLOBAL `image_id`); zero for a conntrack image.
    pub fn image_id(&self) -> ImageId {
        self.global_id(id_field(&self.target))
    }

    /// The id of the image this bank was compiled from; zero if none.
    pub fn parent_id(&self) -> ImageId {
        self.global_id(parent_field(&self.target))
    }

    fn global_id(&self, f: Range<usize>) -> ImageId {
        if self.kind != ImageKind::Bank {
            return lineage::ZERO_ID;
        }
        self.payload[f].try_into().expect("16-byte field")
    }

    /// The bank's history, checked against its GLOBAL ids: the id matches
    /// the content and the parent id is the last ancestor recorded.
    pub fn lineage(&self) -> Result<Lineage, ImageError> {
        let own = LineageEntry {
            generation: self.generation,
            id: self.image_id(),
        };
        if self.kind != ImageKind::Bank {
            return Ok(Lineage {
                ancestors: Vec::new(),
                dropped: 0,
                own,
            });
        }
        let sec = self
            .sections
            .iter()
            .find(|s| s.kind == SectionKind::Lineage)
            .ok_or(ImageError::Section {
                kind: SectionKind::Lineage,
                message: "missing".into(),
            })?;
        let at = HEADER_LEN as u64 + sec.offset;
        let (ancestors, dropped) =
            lineage::parse_section(&self.payload[sec.range()]).map_err(|(off, message)| {
                ImageError::Lineage {
                    offset: at + off as u64,
                    message,
                }
            })?;
        let f = id_field(&self.target);
        let want = lineage::image_id(self.generation, &self.config_digest, self.device(), f.clone());
        if want != own.id {
            return Err(ImageError::Lineage {
                offset: (HEADER_LEN + f.start) as u64,
                message: format!(
                    "image id {} does not match the image's content ({}): edited after it was built",
                    format_id(&own.id),
                    format_id(&want)
                ),
            });
        }
        let parent = self.parent_id();
        let last = ancestors.last().map_or(lineage::ZERO_ID, |e| e.id);
        if parent != last {
            return Err(ImageError::Lineage {
                offset: (HEADER_LEN + parent_field(&self.target).start) as u64,
                message: format!(
                    "parent id {} is not the last ancestor recorded ({})",
                    format_id(&parent),
                    format_id(&last)
                ),
            });
        }
        Ok(Lineage {
            ancestors,
            dropped,
            own,
        })
    }

    pub fn fingerprint(&self) -> u64 {
        self.target.fingerprint()
    }

    /// The bytes that go to the device.
    pub fn device(&self) -> &[u8] {
        &self.payload[..self.device_len as usize]
    }

    /// CRC32C of the device part: the value for `STAGED_CRC`.
    pub fn device_crc(&self) -> u32 {
        crc(self.device())
    }

    pub fn section(&self, kind: SectionKind) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|s| s.kind == kind)
            .map(|s| &self.payload[s.range()])
    }

    pub fn header(&self) -> [u8; HEADER_LEN] {
        use header_field as f;
        let mut h = [0u8; HEADER_LEN];
        h[f::MAGIC].copy_from_slice(&MAGIC);
        h[f::VERSION].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[f::KIND].copy_from_slice(&self.kind.code().to_le_bytes());
        h[f::HEADER_LEN].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        h[f::FINGERPRINT].copy_from_slice(&self.fingerprint().to_le_bytes());
        h[f::GENERATION].copy_from_slice(&self.generation.to_le_bytes());
        h[f::CONFIG_DIGEST].copy_from_slice(&self.config_digest);
        h[f::PAYLOAD_LEN].copy_from_slice(&(self.payload.len() as u64).to_le_bytes());
        h[f::DEVICE_LEN].copy_from_slice(&self.device_len.to_le_bytes());
        h[f::DEVICE_CRC].copy_from_slice(&self.device_crc().to_le_bytes());
        h[f::SECTION_COUNT].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = f::SECTIONS + i * f::SECTION_LEN;
            h[at..at + 4].copy_from_slice(&s.kind.code().to_le_bytes());
            h[at + 4..at + 8].copy_from_slice(&s.crc32c.to_le_bytes());
            h[at + 8..at + 16].copy_from_slice(&s.offset.to_le_bytes());
            h[at + 16..at + 24].copy_from_slice(&s.len.to_le_bytes());
        }
        let c = crc(&h[..f::HEADER_CRC.start]);
        h[f::HEADER_CRC].copy_from_slice(&c.to_le_bytes());
        h
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN + self.payload.len());
        v.extend_from_slice(&self.header());
        v.extend_from_slice(&self.payload);
        v
    }

    /// Write to `path` as `files::write` does: atomically for a regular file
    /// (a failure never leaves a partial image behind), through a symlink,
    /// in place for a device or FIFO.
    pub fn write_atomic(&self, path: &Path) -> Result<(), ImageError> {
        // The OS error under the path asked for is what the user can act on.
        files::write(path, &[&self.header(), &self.payload]).map_err(|e| ImageError::Write {
            path: e.path,
            error: e.error,
        })
    }

    /// Read and validate an image file. The header is read first and says
    /// how long the file is, so no more than that is ever read (a device or
    /// a pipe that never ends is refused after the header).
    pub fn load(path: &Path) -> Result<Image, ImageError> {
        let io = |error: std::io::Error| ImageError::Io {
            path: path.display().to_string(),
            error,
        };
        let f = std::fs::File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        let mut r = std::io::BufReader::new(f);
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        (&mut r)
            .take(HEADER_LEN as u64)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let h = Header::new_checked(&bytes)?;
        h.check()?;
        let payload_len = h.payload_len();
        if payload_len > MAX_IMAGE_LEN - HEADER_LEN as u64 {
            return Err(ImageError::Header {
                at: header_field::PAYLOAD_LEN.start,
                message: format!(
                    "payload of {payload_len} bytes; lbnic reads images up to {MAX_IMAGE_LEN} bytes"
                ),
            });
        }
        let want = HEADER_LEN as u64 + payload_len;
        if meta.is_file() && meta.len() > want {
            return Err(ImageError::Trailing {
                extra: meta.len() - want,
                at: want,
            });
        }
        // One byte more than announced, to tell trailing data from none.
        r.take(payload_len + 1).read_to_end(&mut bytes).map_err(io)?;
        Image::from_bytes(&bytes)
    }

    /// Parse and validate an image completely: header, section table,
    /// embedded target, layout against the target's memory map, device CRC,
    /// then every table entry. The order is the order errors are reported in.
    pub fn from_bytes(bytes: &[u8]) -> Result<Image, ImageError> {
        let h = Header::new_checked(bytes)?;
        let kind = h.check()?;
        let payload = h.payload(bytes)?;
        let sections = h.sections(payload)?;
        let target = embedded_target(&h, &sections, payload)?;
        let device_len = h.device_len();
        check_layout(kind, &target, device_len, &sections)?;
        let computed = crc(&payload[..device_len as usize]);
        if h.device_crc() != computed {
            return Err(ImageError::Header {
                at: header_field::DEVICE_CRC.start,
                message: format!(
                    "device CRC {:#010x} does not match the payload ({computed:#010x})",
                    h.device_crc()
                ),
            });
        }
        let img = Image {
            kind,
            target,
            generation: h.generation(),
            config_digest: h.config_digest(),
            sections,
            device_len,
            payload: payload.to_vec(),
        };
        match kind {
            ImageKind::Bank => {
                Bank::decode(&img)?;
                img.lineage()?;
            }
            ImageKind::Conntrack => {
                decode_conntrack(&img)?;
            }
        }
        Ok(img)
    }

    /// Refuse an image built for another target.
    pub fn expect_target(&self, t: &Target) -> Result<(), ImageError> {
        if self.fingerprint() != t.fingerprint() {
            return Err(ImageError::WrongTarget {
                image: self.fingerprint(),
                expected: t.name.clone(),
                expected_fp: t.fingerprint(),
            });
        }
        Ok(())
    }

    pub fn expect_kind(&self, k: ImageKind) -> Result<(), ImageError> {
        if self.kind != k {
            return Err(ImageError::WrongKind {
                got: self.kind,
                want: k,
            });
        }
        Ok(())
    }
}

/// Where GLOBAL `image_id` / `parent_id` sit in a bank (and in an image's
/// payload, which starts with the bank).
pub fn id_field(t: &Target) -> Range<usize> {
    let g = t.memory_map().global.start as usize;
    g + global_field::IMAGE_ID.start..g + global_field::IMAGE_ID.end
}

fn parent_field(t: &Target) -> Range<usize> {
    let g = t.memory_map().global.start as usize;
    g + global_field::PARENT_ID.start..g + global_field::PARENT_ID.end
}

/// A read view of an image header (smoltcp `wire` style): field getters over
/// the first [`HEADER_LEN`] bytes, nothing validated but the length.
struct Header<'a>(&'a [u8; HEADER_LEN]);

impl<'a> Header<'a> {
    /// Magic first, so a file that is no image at all says so rather than
    /// "truncated".
    fn new_checked(bytes: &'a [u8]) -> Result<Header<'a>, ImageError> {
        if bytes.len() < 8 || bytes[header_field::MAGIC] != MAGIC {
            return Err(ImageError::BadMagic);
        }
        match bytes[..].first_chunk::<HEADER_LEN>() {
            Some(h) => Ok(Header(h)),
            None => Err(ImageError::Truncated {
                got: bytes.len() as u64,
                need: HEADER_LEN as u64,
            }),
        }
    }
    fn u16_at(&self, r: Range<usize>) -> u16 {
        u16::from_le_bytes(self.0[r].try_into().expect("2-byte field"))
    }
    fn u32_at(&self, r: Range<usize>) -> u32 {
        u32::from_le_bytes(self.0[r].try_into().expect("4-byte field"))
    }
    fn u64_at(&self, r: Range<usize>) -> u64 {
        u64::from_le_bytes(self.0[r].try_into().expect("8-byte field"))
    }
    fn payload_len(&self) -> u64 {
        self.u64_at(header_field::PAYLOAD_LEN)
    }
    fn device_len(&self) -> u64 {
        self.u64_at(header_field::DEVICE_LEN)
    }
    fn device_crc(&self) -> u32 {
        self.u32_at(header_field::DEVICE_CRC)
    }
    fn generation(&self) -> u64 {
        self.u64_at(header_field::GENERATION)
    }
    fn fingerprint(&self) -> u64 {
        self.u64_at(header_field::FINGERPRINT)
    }
    fn config_digest(&self) -> [u8; 32] {
        self.0[header_field::CONFIG_DIGEST]
            .try_into()
            .expect("32-byte field")
    }

    /// Header CRC, format version, kind and header length.
    fn check(&self) -> Result<ImageKind, ImageError> {
        use header_field as f;
        let stored = self.u32_at(f::HEADER_CRC);
        let computed = crc(&self.0[..f::HEADER_CRC.start]);
        if stored != computed {
            return Err(ImageError::HeaderCrc { stored, computed });
        }
        let version = self.u16_at(f::VERSION);
        if version != FORMAT_VERSION {
            return Err(ImageError::Version(version));
        }
        let kind = match self.u16_at(f::KIND) {
            1 => ImageKind::Bank,
            2 => ImageKind::Conntrack,
            k => {
                return Err(ImageError::Header {
                    at: f::KIND.start,
                    message: format!("unknown image kind {k}"),
                })
            }
        };
        let header_len = self.u32_at(f::HEADER_LEN);
        if header_len as usize != HEADER_LEN {
            return Err(ImageError::Header {
                at: f::HEADER_LEN.start,
                message: format!("header length {header_len} (expected {HEADER_LEN})"),
            });
        }
        Ok(kind)
    }

    /// The payload, exactly as long as the header says.
    fn payload<'b>(&self, bytes: &'b [u8]) -> Result<&'b [u8], ImageError> {
        let payload_len = self.payload_len();
        let have = (bytes.len() - HEADER_LEN) as u64;
        if have < payload_len {
            return Err(ImageError::Truncated {
                got: bytes.len() as u64,
                need: HEADER_LEN as u64 + payload_len,
            });
        }
        if have > payload_len {
            return Err(ImageError::Trailing {
                extra: have - payload_len,
                at: HEADER_LEN as u64 + payload_len,
            });
        }
        Ok(&bytes[HEADER_LEN..])
    }

    /// The section table: known kinds, each once, inside the payload, CRC
    /// matching.
    fn sections(&self, payload: &[u8]) -> Result<Vec<Section>, ImageError> {
        use header_field as f;
        let payload_len = self.payload_len();
        let count = self.u32_at(f::SECTION_COUNT) as usize;
        if count > MAX_SECTIONS {
            return Err(ImageError::Header {
                at: f::SECTION_COUNT.start,
                message: format!("{count} sections (at most {MAX_SECTIONS})"),
            });
        }
        let mut sections = Vec::with_capacity(count);
        for i in 0..count {
            let at = f::SECTIONS + i * f::SECTION_LEN;
            let code = self.u32_at(at..at + 4);
            let kind = SectionKind::from_code(code).ok_or_else(|| ImageError::Header {
                at,
                message: format!("unknown section kind {code}"),
            })?;
            if sections.iter().any(|s: &Section| s.kind == kind) {
                return Err(ImageError::Header {
                    at,
                    message: format!("section {kind:?} appears twice"),
                });
            }
            let s = Section {
                kind,
                crc32c: self.u32_at(at + 4..at + 8),
                offset: self.u64_at(at + 8..at + 16),
                len: self.u64_at(at + 16..at + 24),
            };
            if s.offset.checked_add(s.len).is_none_or(|end| end > payload_len) {
                return Err(ImageError::Header {
                    at,
                    message: format!(
                        "section {kind:?} ({}+{}) runs past the payload ({payload_len})",
                        s.offset, s.len
                    ),
                });
            }
            let computed = crc(&payload[s.range()]);
            if computed != s.crc32c {
                return Err(ImageError::SectionCrc {
                    kind,
                    offset: s.offset,
                    stored: s.crc32c,
                    computed,
                });
            }
            sections.push(s);
        }
        Ok(sections)
    }
}

/// The target the image was compiled for, valid and matching the header's
/// fingerprint.
fn embedded_target(h: &Header, sections: &[Section], payload: &[u8]) -> Result<Target, ImageError> {
    let tsec = sections
        .iter()
        .find(|s| s.kind == SectionKind::Target)
        .ok_or_else(|| ImageError::Target("no target section".into()))?;
    let target: Target = serde_json::from_slice(&payload[tsec.range()])
        .map_err(|e| ImageError::Target(format!("target section does not parse: {e}")))?;
    target.validate().map_err(|e| ImageError::Target(e.to_string()))?;
    let fp = h.fingerprint();
    if target.fingerprint() != fp {
        return Err(ImageError::Target(format!(
            "embedded target's fingerprint {:#018x} does not match the header's {fp:#018x}",
            target.fingerprint()
        )));
    }
    Ok(target)
}

/// Device length and every device section exactly where the target's memory
/// map puts them, and no section the kind does not have.
fn check_layout(
    kind: ImageKind,
    target: &Target,
    device_len: u64,
    sections: &[Section],
) -> Result<(), ImageError> {
    use header_field as f;
    let map = target.memory_map();
    let (want_device, expect): (u64, Vec<(SectionKind, Range<u64>)>) = match kind {
        ImageKind::Bank => (
            map.bank_len,
            vec![
                (SectionKind::Global, map.global.clone()),
                (SectionKind::Vip, map.vip.clone()),
                (SectionKind::Backend, map.backend.clone()),
                (SectionKind::Lut, map.lut.clone()),
                (
                    SectionKind::Names,
                    map.bank_len..map.bank_len + map.names_backend.end,
                ),
                (
                    SectionKind::Lineage,
                    map.bank_len + map.names_backend.end
                        ..map.bank_len + map.names_backend.end + LINEAGE_LEN as u64,
                ),
            ],
        ),
        ImageKind::Conntrack => (map.ct_len(), vec![(SectionKind::Conntrack, 0..map.ct_len())]),
    };
    if device_len != want_device {
        return Err(ImageError::Header {
            at: f::DEVICE_LEN.start,
            message: format!(
                "device part is {device_len} bytes; target {} needs {want_device}",
                target.name
            ),
        });
    }
    for (k, r) in &expect {
        match sections.iter().find(|s| s.kind == *k) {
            Some(s) if s.offset == r.start && s.offset + s.len == r.end => {}
            Some(s) => {
                return Err(ImageError::Section {
                    kind: *k,
                    message: format!(
                        "at {}..{}, the target's memory map puts it at {}..{}",
                        s.offset,
                        s.offset + s.len,
                        r.start,
                        r.end
                    ),
                })
            }
            None => {
                return Err(ImageError::Section {
                    kind: *k,
                    message: "missing".into(),
                })
            }
        }
    }
    if sections.len() != expect.len() + 1 {
        return Err(ImageError::Header {
            at: f::SECTION_COUNT.start,
            message: format!(
                "{} sections, a {kind:?} image has {}",
                sections.len(),
                expect.len() + 1
            ),
        });
    }
    Ok(())
}

/// One backend slot of a decoded bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankBackend {
    pub name: String,
    pub repr: BackendRepr,
}

/// One VIP of a decoded bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankVip {
    /// Slot in the VIP table (what conntrack stores).
    pub index: u16,
    pub name: String,
    pub repr: VipRepr,
    /// VIP-local backend slots; `None` is a hole left by a removed backend.
    pub backends: Vec<Option<BankBackend>>,
    /// The lookup table: VIP-local backend indices.
    pub table: Vec<u16>,
}

impl BankVip {
    pub fn backend(&self, local: u16) -> Option<&BankBackend> {
        self.backends.get(local as usize).and_then(Option::as_ref)
    }
    /// Entries per VIP-local backend index.
    pub fn slot_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.backends.len()];
        for &e in &self.table {
            c[e as usize] += 1;
        }
        c
    }
}

/// A bank image decoded into tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    pub global: GlobalRepr,
    /// Indexed by VIP slot; `None` for unused slots.
    pub vips: Vec<Option<BankVip>>,
}

fn entry_err(table: &'static str, index: u64, offset: u64) -> impl Fn(EntryError) -> ImageError {
    move |error| ImageError::Entry {
        table,
        index,
        offset,
        error,
    }
}

impl Bank {
    /// Decode and validate the bank of a bank image (names included).
    pub fn decode(img: &Image) -> Result<Bank, ImageError> {
        img.expect_kind(ImageKind::Bank)?;
        let map = img.target.memory_map();
        let bank = &img.payload[..map.bank_len as usize];
        let names = &img.payload[map.bank_len as usize..(map.bank_len + map.names_backend.end) as usize];
        Bank::decode_raw(&img.target, bank, Some(names), HEADER_LEN as u64)
    }

    /// Decode and validate raw bank memory, as a device does on COMMIT.
    /// Without `names`, VIPs and backends are unnamed. `base` is added to
    /// offsets in errors (the header length for an image file, 0 for device
    /// memory).
    pub fn decode_raw(t: &Target, p: &[u8], names: Option<&[u8]>, base: u64) -> Result<Bank, ImageError> {
        let map: MemoryMap = t.memory_map();
        if p.len() < map.bank_len as usize {
            return Err(ImageError::Truncated {
                got: p.len() as u64,
                need: map.bank_len,
            });
        }
        let mut d = BankDecoder {
            t,
            p,
            names,
            base,
            lut: Lut::new(&p[map.lut.start as usize..map.lut.end as usize], t.lut_entry_bits),
            map,
            backend_used: vec![false; t.max_backends as usize],
            lut_ranges: Vec::new(),
            keys: std::collections::HashMap::new(),
        };
        let global = d.global()?;
        let mut vips: Vec<Option<BankVip>> = Vec::with_capacity(global.vip_count as usize);
        for i in 0..t.max_vips {
            let vip = d.vip(i, global.vip_count)?;
            if vip.is_some() || i < global.vip_count as u32 {
                vips.push(vip);
            }
        }
        d.unused_backends_are_zero()?;
        Ok(Bank { global, vips })
    }

    pub fn vip_by_name(&self, name: &str) -> Option<&BankVip> {
        self.vips.iter().flatten().find(|v| v.name == name)
    }

    /// The VIP a packet to `dst:dport` with protocol `proto` matches, ranked
    /// as the pipeline ranks it ([`crate::lookup::best_vip`]). Addresses
    /// compare in their 16-byte entry form, as the pipeline's CAM does (an
    /// IPv4 address equals its IPv4-mapped IPv6 form); a tie goes to the
    /// lowest slot.
    pub fn match_vip(&self, proto: u8, dst: std::net::IpAddr, dport: u16) -> Option<&BankVip> {
        use crate::target::entries::addr_to_bytes;
        let dst = addr_to_bytes(dst);
        let on_addr = self
            .vips
            .iter()
            .flatten()
            .filter(|v| addr_to_bytes(v.repr.addr) == dst);
        crate::lookup::best_vip(on_addr, |v| (v.repr.proto, v.repr.port), proto, dport)
    }
}

/// One bank decode: the bank's bytes and what the checks so far have seen
/// (backend slots claimed, lookup ranges, VIP keys), so each check that
/// spans VIPs can be made as the VIPs go by.
struct BankDecoder<'a> {
    t: &'a Target,
    p: &'a [u8],
    names: Option<&'a [u8]>,
    /// File offset of the payload, for errors.
    base: u64,
    map: MemoryMap,
    lut: Lut<'a>,
    backend_used: Vec<bool>,
    lut_ranges: Vec<(Range<u64>, u16)>,
    keys: std::collections::HashMap<(std::net::IpAddr, u16, crate::target::entries::Proto), u32>,
}

impl BankDecoder<'_> {
    fn file_off(&self, payload_off: u64) -> u64 {
        payload_off + self.base
    }

    fn global(&self) -> Result<GlobalRepr, ImageError> {
        let g = &self.map.global;
        let global = GlobalRepr::parse(&self.p[g.start as usize..g.end as usize]).map_err(entry_err(
            "global",
            0,
            self.file_off(g.start),
        ))?;
        if global.vip_count as u32 > self.t.max_vips {
            return Err(ImageError::Invalid {
                table: "global",
                index: 0,
                offset: self.file_off(g.start),
                message: format!(
                    "vip_count {} above the target's {}",
                    global.vip_count, self.t.max_vips
                ),
            });
        }
        Ok(global)
    }

    /// The name at `off` in the names section; empty when the bank came
    /// from a device (which holds no names).
    fn name_at(&self, off: u64, table: &'static str, index: u64) -> Result<String, ImageError> {
        let Some(n) = self.names else {
            return Ok(String::new());
        };
        let o = off as usize;
        let at = self.file_off(self.map.bank_len + off);
        let name = name_parse(&n[o..o + NAME_LEN]).map_err(entry_err(table, index, at))?;
        if name.is_empty() {
            return Err(ImageError::Invalid {
                table,
                index,
                offset: at,
                message: "has no name".into(),
            });
        }
        Ok(name)
    }

    /// VIP slot `i`: `None` for an invalid (all-zero) slot.
    fn vip(&mut self, i: u32, vip_count: u16) -> Result<Option<BankVip>, ImageError> {
        let off = self.map.vip_entry(i) as usize;
        let raw = &self.p[off..off + VIP_ENTRY_LEN];
        let file_off = self.file_off(off as u64);
        let inv = |message: String| ImageError::Invalid {
            table: "vip",
            index: i as u64,
            offset: file_off,
            message,
        };
        let Some(repr) = VipRepr::parse(raw).map_err(entry_err("vip", i as u64, file_off))? else {
            if raw.iter().any(|&b| b != 0) {
                return Err(inv("invalid slot is not zero".into()));
            }
            return Ok(None);
        };
        if i >= vip_count as u32 {
            return Err(inv(format!("valid VIP beyond vip_count {vip_count}")));
        }
        if let Some(other) = self.keys.insert((repr.addr, repr.port, repr.proto), i) {
            return Err(inv(format!("same address/port/protocol as VIP {other}")));
        }
        let name = self.name_at(
            self.map.names_vip.start + i as u64 * NAME_LEN as u64,
            "vip name",
            i as u64,
        )?;
        self.check_ranges(i, &repr).map_err(inv)?;
        let backends = self.backends(i, &repr)?;
        let table = self.table(i, &repr, &backends)?;
        Ok(Some(BankVip {
            index: i as u16,
            name,
            repr,
            backends,
            table,
        }))
    }

    /// The VIP's backend and lookup ranges fit the target and overlap no
    /// other VIP's lookup range.
    fn check_ranges(&mut self, i: u32, repr: &VipRepr) -> Result<(), String> {
        let t = self.t;
        let b_end = repr.backend_base as u64 + repr.backend_count as u64;
        if b_end > t.max_backends as u64 {
            return Err(format!(
                "backends {}..{b_end} past the table ({})",
                repr.backend_base, t.max_backends
            ));
        }
        if repr.backend_count as u32 > t.max_backends_per_vip() {
            return Err(format!(
                "{} backends, at most {} per VIP",
                repr.backend_count,
                t.max_backends_per_vip()
            ));
        }
        let l_end = repr.lut_base as u64 + repr.lut_size as u64;
        if l_end > t.lut_entries as u64 {
            return Err(format!(
                "lookup table {}..{l_end} past the {} entries",
                repr.lut_base, t.lut_entries
            ));
        }
        if repr.sched.is_hashed() && repr.lut_size != 0 && !crate::is_prime(repr.lut_size) {
            return Err(format!("Maglev table size {} is not prime", repr.lut_size));
        }
        let lr = repr.lut_base as u64..l_end;
        if let Some((_, o)) = self
            .lut_ranges
            .iter()
            .find(|(r, _)| r.start < lr.end && lr.start < r.end)
        {
            return Err(format!("lookup table overlaps VIP {o}'s"));
        }
        self.lut_ranges.push((lr, i as u16));
        Ok(())
    }

    /// VIP `i`'s backend slots: each claimed by this VIP only, valid ones
    /// naming it, holes all zero.
    fn backends(&mut self, i: u32, repr: &VipRepr) -> Result<Vec<Option<BankBackend>>, ImageError> {
        let mut backends = Vec::with_capacity(repr.backend_count as usize);
        for local in 0..repr.backend_count as u32 {
            let g = repr.backend_base + local;
            if std::mem::replace(&mut self.backend_used[g as usize], true) {
                return Err(ImageError::Invalid {
                    table: "vip",
                    index: i as u64,
                    offset: self.file_off(self.map.vip_entry(i)),
                    message: format!("backend slot {g} is shared with another VIP"),
                });
            }
            let boff = self.map.backend_entry(g) as usize;
            let braw = &self.p[boff..boff + BACKEND_ENTRY_LEN];
            let at = self.file_off(boff as u64);
            let berr = |message: String| ImageError::Invalid {
                table: "backend",
                index: g as u64,
                offset: at,
                message,
            };
            match BackendRepr::parse(braw).map_err(entry_err("backend", g as u64, at))? {
                None => {
                    if braw.iter().any(|&b| b != 0) {
                        return Err(berr("invalid slot is not zero".into()));
                    }
                    backends.push(None);
                }
                Some(b) => {
                    if b.vip != i as u16 {
                        return Err(berr(format!(
                            "belongs to VIP {} but lies in VIP {i}'s range",
                            b.vip
                        )));
                    }
                    let name = self.name_at(
                        self.map.names_backend.start + g as u64 * NAME_LEN as u64,
                        "backend name",
                        g as u64,
                    )?;
                    backends.push(Some(BankBackend { name, repr: b }));
                }
            }
        }
        Ok(backends)
    }

    /// VIP `i`'s lookup table: every entry an active backend of the VIP.
    fn table(
        &self,
        i: u32,
        repr: &VipRepr,
        backends: &[Option<BankBackend>],
    ) -> Result<Vec<u16>, ImageError> {
        let mut table = Vec::with_capacity(repr.lut_size as usize);
        for k in 0..repr.lut_size {
            let idx = repr.lut_base as usize + k as usize;
            let e = self.lut.get(idx).unwrap_or(u16::MAX);
            let ok = backends.get(e as usize).is_some_and(|b| {
                b.as_ref()
                    .is_some_and(|b| b.repr.state == crate::target::entries::BackendState::Active)
            });
            if !ok {
                return Err(ImageError::Invalid {
                    table: "lut",
                    index: idx as u64,
                    offset: self
                        .file_off(self.map.lut.start + (idx as u64 * self.t.lut_entry_bits as u64) / 8),
                    message: format!("VIP {i} entry {k} = {e} is not an active backend of the VIP"),
                });
            }
            table.push(e);
        }
        Ok(table)
    }

    /// Backend slots no VIP claims must be zero, so a bank has one encoding.
    fn unused_backends_are_zero(&self) -> Result<(), ImageError> {
        for g in 0..self.t.max_backends {
            if !self.backend_used[g as usize] {
                let boff = self.map.backend_entry(g) as usize;
                if self.p[boff..boff + BACKEND_ENTRY_LEN].iter().any(|&b| b != 0) {
                    return Err(ImageError::Invalid {
                        table: "backend",
                        index: g as u64,
                        offset: self.file_off(boff as u64),
                        message: "entry outside every VIP's range is not zero".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Every valid way of a conntrack image: (bucket, way, entry).
pub fn decode_conntrack(img: &Image) -> Result<Vec<(u32, u32, CtRepr)>, ImageError> {
    img.expect_kind(ImageKind::Conntrack)?;
    let t = &img.target;
    let map = t.memory_map();
    let mut out = Vec::new();
    for b in 0..t.ct_buckets {
        for w in 0..t.ct_ways {
            let off = map.ct_way(b, w) as usize;
            let raw = &img.payload[off..off + CT_WAY_LEN];
            let index = b as u64 * t.ct_ways as u64 + w as u64;
            let offset = (off + HEADER_LEN) as u64;
            match CtRepr::parse(&CtWay::new_unchecked(raw)).map_err(entry_err("conntrack", index, offset))? {
                Some(e) => out.push((b, w, e)),
                None if raw.iter().any(|&x| x != 0) => {
                    return Err(ImageError::Invalid {
                        table: "conntrack",
                        index,
                        offset,
                        message: "invalid way is not zero".into(),
                    })
                }
                None => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::entries::{addr_to_bytes, Mode, Proto, Scheduler};
    use proptest::prelude::*;
    use std::net::IpAddr;

    /// A bank holding just `vips` (address, protocol, port), in slot order.
    fn bank(vips: &[(IpAddr, Proto, u16)]) -> Bank {
        let vips = vips
            .iter()
            .enumerate()
            .map(|(i, &(addr, proto, port))| {
                Some(BankVip {
                    index: i as u16,
                    name: format!("v{i}"),
                    repr: VipRepr {
                        addr,
                        port,
                        proto,
                        mode: Mode::Dr,
                        sched: Scheduler::Maglev,
                        backend_base: 0,
                        backend_count: 0,
                        lut_base: 0,
                        lut_size: 0,
                    },
                    backends: vec![],
                    table: vec![],
                })
            })
            .collect();
        Bank {
            global: GlobalRepr {
                toeplitz_key: crate::toeplitz::DEFAULT_KEY,
                device_mac: [0; 6],
                gue_port: 0,
                tun_src_v4: std::net::Ipv4Addr::UNSPECIFIED,
                tun_src_v4_len: 0,
                tun_src_v6: std::net::Ipv6Addr::UNSPECIFIED,
                tun_src_v6_len: 0,
                vip_count: 0,
                backend_count: 0,
                timeout_tcp_syn: 0,
                timeout_tcp_est: 0,
                timeout_tcp_fin: 0,
                timeout_udp: 0,
                max_frame: 0,
                gateway_mac: [0; 6],
                icmp_rate: 0,
                icmp_burst: 0,
                image_id: [0; 16],
                parent_id: [0; 16],
            },
            vips,
        }
    }

    /// A bank the compiler refuses (the VIPs overlap) but the device
    /// accepts: the exact protocol wins over the exact port, as in the
    /// pipeline. `lookup` used to answer the "any" VIP here.
    #[test]
    fn match_vip_prefers_exact_protocol_over_exact_port() {
        let a: IpAddr = "192.0.2.10".parse().unwrap();
        let b = bank(&[(a, Proto::Any, 80), (a, Proto::Tcp, 0)]);
        assert_eq!(b.match_vip(6, a, 80).map(|v| v.index), Some(1));
        assert_eq!(b.match_vip(17, a, 80).map(|v| v.index), Some(0));
        assert_eq!(b.match_vip(17, a, 81).map(|v| v.index), None);
        assert_eq!(b.match_vip(1, a, 80).map(|v| v.index), None);
    }

    /// The pipeline compares 16-byte entry addresses: an IPv6 VIP on an
    /// IPv4-mapped address takes IPv4 packets to that address, and the
    /// reverse. `lookup` used to answer "no VIP" here.
    #[test]
    fn match_vip_compares_entry_addresses() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.10".parse().unwrap();
        let b = bank(&[(mapped, Proto::Tcp, 80)]);
        assert_eq!(b.match_vip(6, v4, 80).map(|v| v.index), Some(0));
        let b = bank(&[(v4, Proto::Tcp, 80)]);
        assert_eq!(b.match_vip(6, mapped, 80).map(|v| v.index), Some(0));
    }

    fn reference(vips: &[(IpAddr, Proto, u16)], proto: u8, dst: IpAddr, dport: u16) -> Option<u16> {
        vips.iter()
            .enumerate()
            .filter(|(_, &(a, p, port))| {
                addr_to_bytes(a) == addr_to_bytes(dst)
                    && (p.code() == proto || (p == Proto::Any && (proto == 6 || proto == 17)))
                    && (port == dport || port == 0)
            })
            .min_by_key(|(_, &(_, p, port))| (p.code() != proto, port != dport))
            .map(|(i, _)| i as u16)
    }

    proptest! {
        #[test]
        fn match_vip_is_the_reference_ranking(
            vips in proptest::collection::vec(
                (0usize..3, prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Any)],
                 prop_oneof![Just(0u16), 79u16..82]),
                0..12,
            ),
            dst in 0usize..3,
            proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8)],
            dport in prop_oneof![Just(0u16), 79u16..82],
        ) {
            let addrs: [IpAddr; 3] = [
                "192.0.2.10".parse().unwrap(),
                "2001:db8::10".parse().unwrap(),
                "::ffff:192.0.2.10".parse().unwrap(),
            ];
            let mut seen = std::collections::HashSet::new();
            let vips: Vec<_> = vips
                .into_iter()
                .filter(|v| seen.insert(*v))
                .map(|(a, p, port)| (addrs[a], p, port))
                .collect();
            let b = bank(&vips);
            let dst = addrs[dst];
            prop_assert_eq!(b.match_vip(proto, dst, dport).map(|v| v.index), reference(&vips, proto, dst, dport));
        }
    }
}
