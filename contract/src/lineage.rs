//! Where a bank image came from. A `maglev-stable` table depends on the
//! tables it was built through (`--previous`), and VIP slots and backend
//! indices (what conntrack stores) depend on them for every scheduler, so
//! two images of the same config with different histories route some flows
//! differently. Every bank image therefore carries an id (in GLOBAL, so a
//! device's active bank names itself) and the chain of ids it was built
//! through (a host-only section), and whoever mixes images on one device or
//! across a fleet can tell whether they belong to one history.

use sha2::{Digest, Sha256};
use std::ops::Range;

/// Truncated SHA-256: ample to tell images apart, short enough for GLOBAL.
pub type ImageId = [u8; 16];

pub const ZERO_ID: ImageId = [0; 16];
/// Ancestors kept in an image, most recent first to go; older ones are
/// counted in `dropped`. A fleet is rarely more than a few generations
/// apart, so 64 is far more than a check needs.
pub const LINEAGE_MAX: usize = 64;
pub const LINEAGE_ENTRY_LEN: usize = 24;
/// The LINEAGE section: count u32, dropped u32, then `LINEAGE_MAX` entries
/// (generation u64, id 16 bytes), oldest first, unused ones zero. Fixed
/// size, so an image's size stays fixed for a target.
pub const LINEAGE_LEN: usize = 8 + LINEAGE_MAX * LINEAGE_ENTRY_LEN;

/// Lowercase hex, as `inspect` and error messages show ids.
pub fn format_id(id: &ImageId) -> String {
    hex::encode(id)
}

/// The id of a bank: SHA-256 over a domain tag, the generation, the config
/// digest and the device part with the id field itself zeroed (the parent
/// id is in the device part, so the history is in the hash), truncated.
pub fn image_id(generation: u64, config_digest: &[u8; 32], device: &[u8], id_field: Range<usize>) -> ImageId {
    let mut h = Sha256::new();
    h.update(b"lbnic image id v1\0");
    h.update(generation.to_le_bytes());
    h.update(config_digest);
    h.update(&device[..id_field.start]);
    h.update(ZERO_ID);
    h.update(&device[id_field.end..]);
    let d = h.finalize();
    d[..16].try_into().expect("16 of 32 bytes")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageEntry {
    pub generation: u64,
    pub id: ImageId,
}

impl serde::Serialize for LineageEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LineageEntry", 2)?;
        st.serialize_field("generation", &self.generation)?;
        st.serialize_field("id", &format_id(&self.id))?;
        st.end()
    }
}

/// An image's history: the images it was compiled through, then itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lineage {
    /// Oldest first; the last one is the parent.
    pub ancestors: Vec<LineageEntry>,
    /// Ancestors older than the first kept one.
    pub dropped: u32,
    pub own: LineageEntry,
}

/// How two images' histories relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Same,
    /// The first was built into the second (directly or through others).
    Ancestor,
    /// The second was built into the first.
    Descendant,
    /// Neither was built from the other.
    Diverged,
}

impl Lineage {
    /// The image itself or one of its recorded ancestors.
    pub fn contains(&self, id: &ImageId) -> bool {
        self.own.id == *id || self.ancestors.iter().any(|a| a.id == *id)
    }

    pub fn relation(&self, other: &Lineage) -> Relation {
        if self.own.id == other.own.id {
            Relation::Same
        } else if other.ancestors.iter().any(|a| a.id == self.own.id) {
            Relation::Ancestor
        } else if self.ancestors.iter().any(|a| a.id == other.own.id) {
            Relation::Descendant
        } else {
            Relation::Diverged
        }
    }

    /// The newest image both histories went through, if any.
    pub fn common_ancestor(&self, other: &Lineage) -> Option<LineageEntry> {
        let mine: Vec<&LineageEntry> = self.ancestors.iter().chain([&self.own]).collect();
        mine.into_iter().rev().find(|e| other.contains(&e.id)).copied()
    }

    /// The LINEAGE section of an image compiled from this one.
    pub fn child_section(&self) -> Vec<u8> {
        let mut chain: Vec<LineageEntry> = self.ancestors.clone();
        chain.push(self.own);
        let excess = chain.len().saturating_sub(LINEAGE_MAX);
        chain.drain(..excess);
        emit_section(&chain, self.dropped.saturating_add(excess as u32))
    }
}

/// A LINEAGE section with no ancestors (a fresh compile).
pub fn empty_section() -> Vec<u8> {
    emit_section(&[], 0)
}

fn emit_section(chain: &[LineageEntry], dropped: u32) -> Vec<u8> {
    let mut b = vec![0u8; LINEAGE_LEN];
    b[0..4].copy_from_slice(&(chain.len() as u32).to_le_bytes());
    b[4..8].copy_from_slice(&dropped.to_le_bytes());
    for (i, e) in chain.iter().enumerate() {
        let at = 8 + i * LINEAGE_ENTRY_LEN;
        b[at..at + 8].copy_from_slice(&e.generation.to_le_bytes());
        b[at + 8..at + 24].copy_from_slice(&e.id);
    }
    b
}

/// Parse a LINEAGE section: (ancestors, dropped), or what is wrong and at
/// which section offset.
pub fn parse_section(b: &[u8]) -> Result<(Vec<LineageEntry>, u32), (usize, String)> {
    if b.len() != LINEAGE_LEN {
        return Err((0, format!("{} bytes, expected {LINEAGE_LEN}", b.len())));
    }
    let count = u32::from_le_bytes(b[0..4].try_into().expect("4")) as usize;
    let dropped = u32::from_le_bytes(b[4..8].try_into().expect("4"));
    if count > LINEAGE_MAX {
        return Err((0, format!("{count} ancestors (at most {LINEAGE_MAX})")));
    }
    if count == 0 && dropped != 0 {
        return Err((4, format!("{dropped} dropped ancestors but none kept")));
    }
    let mut chain = Vec::with_capacity(count);
    for i in 0..count {
        let at = 8 + i * LINEAGE_ENTRY_LEN;
        let id: ImageId = b[at + 8..at + 24].try_into().expect("16");
        if id == ZERO_ID {
            return Err((at + 8, format!("ancestor {i} has a zero id")));
        }
        chain.push(LineageEntry {
            generation: u64::from_le_bytes(b[at..at + 8].try_into().expect("8")),
            id,
        });
    }
    let used = 8 + count * LINEAGE_ENTRY_LEN;
    if let Some(p) = b[used..].iter().position(|&x| x != 0) {
        return Err((used + p, "unused entries are not zero".into()));
    }
    Ok((chain, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(g: u64, n: u8) -> LineageEntry {
        LineageEntry {
            generation: g,
            id: [n; 16],
        }
    }

    fn lin(chain: &[LineageEntry], own: LineageEntry) -> Lineage {
        Lineage {
            ancestors: chain.to_vec(),
            dropped: 0,
            own,
        }
    }

    #[test]
    fn relations() {
        let a = lin(&[], e(1, 1));
        let b = lin(&[e(1, 1)], e(2, 2));
        let c = lin(&[e(1, 1), e(2, 2)], e(3, 3));
        let other = lin(&[e(1, 1)], e(2, 9));
        assert_eq!(a.relation(&c), Relation::Ancestor);
        assert_eq!(c.relation(&a), Relation::Descendant);
        assert_eq!(b.relation(&b), Relation::Same);
        assert_eq!(c.relation(&other), Relation::Diverged);
        assert_eq!(c.common_ancestor(&other), Some(e(1, 1)));
        assert_eq!(lin(&[], e(5, 5)).common_ancestor(&c), None);
    }

    #[test]
    fn sections_round_trip_and_keep_the_newest() {
        let mut l = lin(&[], e(1, 1));
        for g in 2..=(LINEAGE_MAX as u64 + 10) {
            let (chain, dropped) = parse_section(&l.child_section()).unwrap();
            l = Lineage {
                ancestors: chain,
                dropped,
                own: e(g, g as u8),
            };
        }
        assert_eq!(l.ancestors.len(), LINEAGE_MAX);
        assert_eq!(l.dropped, 9);
        assert_eq!(l.ancestors.last().unwrap().generation, LINEAGE_MAX as u64 + 9);
        assert!(l.contains(&[10; 16]) && !l.contains(&[9; 16]));
    }

    #[test]
    fn damaged_sections_say_where() {
        let mut b = lin(&[], e(1, 1)).child_section();
        b[0] = 65;
        assert_eq!(parse_section(&b).unwrap_err().0, 0);
        let mut b = lin(&[], e(1, 1)).child_section();
        b[LINEAGE_LEN - 1] = 1;
        assert_eq!(parse_section(&b).unwrap_err().0, LINEAGE_LEN - 1);
        let mut b = empty_section();
        b[4] = 1;
        assert_eq!(parse_section(&b).unwrap_err().0, 4);
        assert!(parse_section(&b[1..]).is_err());
    }
}
