//! What a generated header says about an entry: its fields and flag bits.
//! Each `*_field` module lists its layout with these, built from the same
//! constants the encoders use.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Unsigned little-endian integer.
    Int,
    /// Byte string (address, MAC, key): byte `k` of the field is octet `k`.
    Bytes,
    /// Zero; reserved for later contract versions.
    Reserved,
}

/// One field of an entry: `len` bytes at byte `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub len: usize,
    pub kind: FieldKind,
}

impl Field {
    pub const fn int(name: &'static str, r: std::ops::Range<usize>) -> Field {
        Field {
            name,
            offset: r.start,
            len: r.end - r.start,
            kind: FieldKind::Int,
        }
    }
    pub const fn byte(name: &'static str, at: usize) -> Field {
        Field {
            name,
            offset: at,
            len: 1,
            kind: FieldKind::Int,
        }
    }
    pub const fn bytes(name: &'static str, r: std::ops::Range<usize>) -> Field {
        Field {
            name,
            offset: r.start,
            len: r.end - r.start,
            kind: FieldKind::Bytes,
        }
    }
    pub const fn reserved(name: &'static str, r: std::ops::Range<usize>) -> Field {
        Field {
            name,
            offset: r.start,
            len: r.end - r.start,
            kind: FieldKind::Reserved,
        }
    }
}

/// A named bit of a flags byte or register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bit {
    pub name: &'static str,
    pub mask: u32,
}

/// An entry layout: what a generated header describes.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// snake_case; headers derive `VIP_…`, `vip_entry_t` from it.
    pub name: &'static str,
    pub len: usize,
    pub fields: &'static [Field],
    /// Bits of the entry's `flags` field.
    pub flags: &'static [Bit],
}
