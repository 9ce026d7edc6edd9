//! Every entry layout of the contract, for the generated headers.

use super::ct::ct_field;
use super::entries::{
    backend_field, global_field, vip_field, BACKEND_ENTRY_LEN, CT_WAY_LEN, GLOBAL_LEN, VIP_ENTRY_LEN,
};
use super::field::Layout;

/// Every entry layout of the contract.
pub const LAYOUTS: &[Layout] = &[
    Layout {
        name: "global",
        len: GLOBAL_LEN,
        fields: global_field::FIELDS,
        flags: &[],
    },
    Layout {
        name: "vip",
        len: VIP_ENTRY_LEN,
        fields: vip_field::FIELDS,
        flags: vip_field::FLAG_BITS,
    },
    Layout {
        name: "backend",
        len: BACKEND_ENTRY_LEN,
        fields: backend_field::FIELDS,
        flags: backend_field::FLAG_BITS,
    },
    Layout {
        name: "ct_way",
        len: CT_WAY_LEN,
        fields: ct_field::FIELDS,
        flags: ct_field::FLAG_BITS,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each layout's fields tile the entry (no gap, no overlap, ending at
    /// its length), so a field added to a `*_field` module but not to its
    /// `FIELDS` table leaves a hole that fails here.
    #[test]
    fn layouts_tile_their_entries() {
        for l in LAYOUTS {
            let mut at = 0;
            for f in l.fields {
                assert_eq!(f.offset, at, "{}.{} leaves a gap or overlaps", l.name, f.name);
                assert!(f.len > 0, "{}.{}", l.name, f.name);
                at += f.len;
            }
            assert_eq!(
                at, l.len,
                "{} fields end at {at}, entry is {} bytes",
                l.name, l.len
            );
            let mut seen = 0;
            for b in l.flags {
                assert!(b.mask.is_power_of_two() && b.mask < 256 && seen & b.mask == 0);
                seen |= b.mask;
            }
        }
        assert_eq!(
            ct_field::KEY.end - ct_field::KEY.start,
            super::super::ct::CT_KEY_LEN
        );
    }
}
