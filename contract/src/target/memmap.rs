//! Where every table lives: within a bank, within the aperture, within a BAR.

use super::entries::{BACKEND_ENTRY_LEN, CT_WAY_LEN, GLOBAL_LEN, NAME_LEN, VIP_ENTRY_LEN};
use super::Target;
use std::ops::Range;

/// Sections start on this boundary so a delta flash can work in whole pages
/// and the hardware can decode section selects from high address bits.
pub const SECTION_ALIGN: u64 = 4096;

fn align(v: u64) -> u64 {
    v.div_ceil(SECTION_ALIGN) * SECTION_ALIGN
}

/// Offsets are bytes. Bank-relative ranges are the same in both banks and in
/// the payload of a bank image, so an image is flashed with one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryMap {
    pub global: Range<u64>,
    pub vip: Range<u64>,
    pub backend: Range<u64>,
    pub lut: Range<u64>,
    /// Bytes of one bank (the STAGED_LEN the host writes for a full image).
    pub bank_len: u64,
    /// Aperture-relative base of bank 0 and bank 1.
    pub bank_base: [u64; 2],
    /// Aperture-relative conntrack region (live state, outside the banks).
    pub conntrack: Range<u64>,
    /// Bytes of one conntrack bucket: `ct_ways` beats of 64 B.
    pub ct_bucket_len: u64,
    pub aperture_len: u64,
    /// Host-only name table in an image (never flashed): VIP names then
    /// backend names, `NAME_LEN` bytes each.
    pub names_vip: Range<u64>,
    pub names_backend: Range<u64>,
    /// Smallest power-of-two BAR that holds the register block and the
    /// aperture (for a shm file or an ivshmem device standing in for it).
    pub bar_len: u64,
}

impl MemoryMap {
    pub fn for_target(t: &Target) -> MemoryMap {
        let global = 0..GLOBAL_LEN as u64;
        let vip_start = align(global.end);
        let vip = vip_start..vip_start + t.max_vips as u64 * VIP_ENTRY_LEN as u64;
        let be_start = align(vip.end);
        let backend = be_start..be_start + t.max_backends as u64 * BACKEND_ENTRY_LEN as u64;
        let lut_start = align(backend.end);
        let lut_bytes = (t.lut_entries as u64 * t.lut_entry_bits as u64).div_ceil(8);
        let lut = lut_start..lut_start + lut_bytes;
        let bank_len = align(lut.end);
        let bank_base = [0, bank_len];
        let ct_bucket_len = t.ct_ways as u64 * CT_WAY_LEN as u64;
        let ct_start = 2 * bank_len;
        let conntrack = ct_start..ct_start + t.ct_buckets as u64 * ct_bucket_len;
        let aperture_len = align(conntrack.end);
        let names_vip = 0..t.max_vips as u64 * NAME_LEN as u64;
        let names_backend = names_vip.end..names_vip.end + t.max_backends as u64 * NAME_LEN as u64;
        let end = (t.bar.register_offset + super::regs::BLOCK_LEN).max(t.bar.aperture_offset + aperture_len);
        let bar_len = end.next_power_of_two();
        MemoryMap {
            global,
            vip,
            backend,
            lut,
            bank_len,
            bank_base,
            conntrack,
            ct_bucket_len,
            aperture_len,
            names_vip,
            names_backend,
            bar_len,
        }
    }

    /// Bank-relative offset of VIP entry `i`.
    pub fn vip_entry(&self, i: u32) -> u64 {
        self.vip.start + i as u64 * VIP_ENTRY_LEN as u64
    }

    /// Bank-relative offset of backend entry `i`.
    pub fn backend_entry(&self, i: u32) -> u64 {
        self.backend.start + i as u64 * BACKEND_ENTRY_LEN as u64
    }

    /// Conntrack-region-relative offset of bucket `b`, way `w`.
    pub fn ct_way(&self, bucket: u32, way: u32) -> u64 {
        bucket as u64 * self.ct_bucket_len + way as u64 * CT_WAY_LEN as u64
    }

    pub fn ct_len(&self) -> u64 {
        self.conntrack.end - self.conntrack.start
    }
}

impl std::fmt::Display for MemoryMap {
    /// The map as `docs/spec.md` shows it (hex byte offsets).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = |r: &Range<u64>| format!("{:#010x}..{:#010x} ({} bytes)", r.start, r.end, r.end - r.start);
        writeln!(f, "bank-relative:")?;
        writeln!(f, "  GLOBAL    {}", r(&self.global))?;
        writeln!(f, "  VIP       {}", r(&self.vip))?;
        writeln!(f, "  BACKEND   {}", r(&self.backend))?;
        writeln!(f, "  LUT       {}", r(&self.lut))?;
        writeln!(f, "  bank_len  {:#010x} ({} bytes)", self.bank_len, self.bank_len)?;
        writeln!(f, "aperture-relative:")?;
        writeln!(f, "  bank 0    {:#010x}", self.bank_base[0])?;
        writeln!(f, "  bank 1    {:#010x}", self.bank_base[1])?;
        writeln!(f, "  CONNTRACK {}", r(&self.conntrack))?;
        writeln!(f, "  aperture  {:#010x} bytes", self.aperture_len)?;
        write!(f, "BAR size     {:#010x} bytes", self.bar_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_map_is_ordered_aligned_and_fits() {
        let t = Target::builtin();
        let m = t.memory_map();
        for r in [&m.vip, &m.backend, &m.lut, &m.conntrack] {
            assert_eq!(r.start % SECTION_ALIGN, 0);
        }
        assert!(m.global.end <= m.vip.start);
        assert!(m.vip.end <= m.backend.start);
        assert!(m.backend.end <= m.lut.start);
        assert!(m.lut.end <= m.bank_len);
        assert_eq!(m.bank_base[1], m.bank_len);
        assert_eq!(m.conntrack.start, 2 * m.bank_len);
        assert!(m.bar_len >= t.bar.aperture_offset + m.aperture_len);
        assert!(m.bar_len.is_power_of_two());
        // 2^23 entries of 14 bits.
        assert_eq!(m.lut.end - m.lut.start, (1u64 << 23) * 14 / 8);
    }
}
