//! Typed, checked views over header bytes, smoltcp `wire` style: each view
//! wraps a buffer, `new_checked` verifies the length its getters need, and
//! field offsets live in a `field` module.

/// Why a view could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short {
    pub need: usize,
    pub have: usize,
}

#[inline]
fn check(have: usize, need: usize) -> Result<(), Short> {
    if have < need {
        Err(Short { need, have })
    } else {
        Ok(())
    }
}

macro_rules! be16 {
    ($b:expr, $at:expr) => {
        u16::from_be_bytes([$b[$at], $b[$at + 1]])
    };
}

pub mod ethernet {
    pub mod field {
        use std::ops::Range;
        pub const DST: Range<usize> = 0..6;
        pub const SRC: Range<usize> = 6..12;
        pub const ETHERTYPE: usize = 12;
        pub const HEADER_LEN: usize = 14;
    }
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;

    /// An Ethernet II frame.
    pub struct Frame<T: AsRef<[u8]>>(T);
    impl<T: AsRef<[u8]>> Frame<T> {
        #[inline]
        pub fn new_checked(b: T) -> Result<Self, super::Short> {
            super::check(b.as_ref().len(), field::HEADER_LEN)?;
            Ok(Frame(b))
        }
        #[inline]
        pub fn dst(&self) -> [u8; 6] {
            self.0.as_ref()[field::DST].try_into().expect("6")
        }
        #[inline]
        pub fn src(&self) -> [u8; 6] {
            self.0.as_ref()[field::SRC].try_into().expect("6")
        }
        #[inline]
        pub fn ethertype(&self) -> u16 {
            be16!(self.0.as_ref(), field::ETHERTYPE)
        }
    }
    impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
        #[inline]
        pub fn set_dst(&mut self, m: [u8; 6]) {
            self.0.as_mut()[field::DST].copy_from_slice(&m);
        }
        #[inline]
        pub fn set_src(&mut self, m: [u8; 6]) {
            self.0.as_mut()[field::SRC].copy_from_slice(&m);
        }
    }
}

pub mod ipv4 {
    pub mod field {
        pub const VER_IHL: usize = 0;
        pub const TOS: usize = 1;
        pub const TOTAL_LEN: usize = 2;
        pub const IDENT: usize = 4;
        pub const FLAGS_FRAG: usize = 6;
        pub const TTL: usize = 8;
        pub const PROTO: usize = 9;
        pub const CHECKSUM: usize = 10;
        pub const SRC: std::ops::Range<usize> = 12..16;
        pub const DST: std::ops::Range<usize> = 16..20;
        pub const MIN_LEN: usize = 20;
    }
    pub const DF: u16 = 0x4000;
    pub const MF: u16 = 0x2000;

    /// An IPv4 header (with options).
    pub struct Header<T: AsRef<[u8]>>(T);
    impl<T: AsRef<[u8]>> Header<T> {
        /// Checks the fixed part; `header_len` may still exceed the buffer.
        #[inline]
        pub fn new_checked(b: T) -> Result<Self, super::Short> {
            super::check(b.as_ref().len(), field::MIN_LEN)?;
            Ok(Header(b))
        }
        #[inline]
        fn b(&self) -> &[u8] {
            self.0.as_ref()
        }
        #[inline]
        pub fn version(&self) -> u8 {
            self.b()[field::VER_IHL] >> 4
        }
        #[inline]
        pub fn header_len(&self) -> usize {
            (self.b()[field::VER_IHL] & 0x0f) as usize * 4
        }
        #[inline]
        pub fn tos(&self) -> u8 {
            self.b()[field::TOS]
        }
        #[inline]
        pub fn total_len(&self) -> usize {
            be16!(self.b(), field::TOTAL_LEN) as usize
        }
        /// Identification: which datagram a fragment belongs to.
        #[inline]
        pub fn ident(&self) -> u16 {
            be16!(self.b(), field::IDENT)
        }
        #[inline]
        pub fn flags_frag(&self) -> u16 {
            be16!(self.b(), field::FLAGS_FRAG)
        }
        #[inline]
        pub fn more_frags(&self) -> bool {
            self.flags_frag() & MF != 0
        }
        /// Fragment offset in 8-byte units.
        #[inline]
        pub fn frag_offset(&self) -> u16 {
            self.flags_frag() & 0x1fff
        }
        #[inline]
        pub fn proto(&self) -> u8 {
            self.b()[field::PROTO]
        }
        #[inline]
        pub fn checksum(&self) -> u16 {
            be16!(self.b(), field::CHECKSUM)
        }
        #[inline]
        pub fn src(&self) -> [u8; 4] {
            self.b()[field::SRC].try_into().expect("4")
        }
        #[inline]
        pub fn dst(&self) -> [u8; 4] {
            self.b()[field::DST].try_into().expect("4")
        }
    }
}

pub mod ipv6 {
    pub mod field {
        pub const PAYLOAD_LEN: usize = 4;
        pub const NEXT_HEADER: usize = 6;
        pub const HOP_LIMIT: usize = 7;
        pub const SRC: std::ops::Range<usize> = 8..24;
        pub const DST: std::ops::Range<usize> = 24..40;
        pub const HEADER_LEN: usize = 40;
    }
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;

    /// The fixed IPv6 header.
    pub struct Header<T: AsRef<[u8]>>(T);
    impl<T: AsRef<[u8]>> Header<T> {
        #[inline]
        pub fn new_checked(b: T) -> Result<Self, super::Short> {
            super::check(b.as_ref().len(), field::HEADER_LEN)?;
            Ok(Header(b))
        }
        #[inline]
        fn b(&self) -> &[u8] {
            self.0.as_ref()
        }
        #[inline]
        pub fn version(&self) -> u8 {
            self.b()[0] >> 4
        }
        #[inline]
        pub fn traffic_class(&self) -> u8 {
            (self.b()[0] << 4) | (self.b()[1] >> 4)
        }
        #[inline]
        pub fn payload_len(&self) -> usize {
            be16!(self.b(), field::PAYLOAD_LEN) as usize
        }
        #[inline]
        pub fn next_header(&self) -> u8 {
            self.b()[field::NEXT_HEADER]
        }
        #[inline]
        pub fn src(&self) -> [u8; 16] {
            self.b()[field::SRC].try_into().expect("16")
        }
        #[inline]
        pub fn dst(&self) -> [u8; 16] {
            self.b()[field::DST].try_into().expect("16")
        }
    }
}

pub mod tcp {
    pub mod field {
        pub const SRC_PORT: usize = 0;
        pub const DST_PORT: usize = 2;
        pub const DATA_OFF: usize = 12;
        pub const FLAGS: usize = 13;
        pub const CHECKSUM: usize = 16;
        pub const MIN_LEN: usize = 20;
    }
    pub struct Header<T: AsRef<[u8]>>(T);
    impl<T: AsRef<[u8]>> Header<T> {
        #[inline]
        pub fn new_checked(b: T) -> Result<Self, super::Short> {
            super::check(b.as_ref().len(), field::MIN_LEN)?;
            Ok(Header(b))
        }
        #[inline]
        pub fn src_port(&self) -> u16 {
            be16!(self.0.as_ref(), field::SRC_PORT)
        }
        #[inline]
        pub fn dst_port(&self) -> u16 {
            be16!(self.0.as_ref(), field::DST_PORT)
        }
        #[inline]
        pub fn header_len(&self) -> usize {
            (self.0.as_ref()[field::DATA_OFF] >> 4) as usize * 4
        }
        #[inline]
        pub fn flags(&self) -> u8 {
            self.0.as_ref()[field::FLAGS]
        }
    }
}

pub mod udp {
    pub mod field {
        pub const SRC_PORT: usize = 0;
        pub const DST_PORT: usize = 2;
        pub const LENGTH: usize = 4;
        pub const CHECKSUM: usize = 6;
        pub const HEADER_LEN: usize = 8;
    }
    pub struct Header<T: AsRef<[u8]>>(T);
    impl<T: AsRef<[u8]>> Header<T> {
        #[inline]
        pub fn new_checked(b: T) -> Result<Self, super::Short> {
            super::check(b.as_ref().len(), field::HEADER_LEN)?;
            Ok(Header(b))
        }
        #[inline]
        pub fn src_port(&self) -> u16 {
            be16!(self.0.as_ref(), field::SRC_PORT)
        }
        #[inline]
        pub fn dst_port(&self) -> u16 {
            be16!(self.0.as_ref(), field::DST_PORT)
        }
        #[inline]
        pub fn length(&self) -> usize {
            be16!(self.0.as_ref(), field::LENGTH) as usize
        }
        #[inline]
        pub fn checksum(&self) -> u16 {
            be16!(self.0.as_ref(), field::CHECKSUM)
        }
    }
}
