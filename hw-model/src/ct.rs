//! Conntrack, operating directly on the CONNTRACK region bytes in the
//! contract's layout, so a host dump or preload is plain memory access.
//!
//! Semantics (docs/spec.md, "Conntrack semantics"): a way is *free* if it is
//! invalid or expired at the packet's ingress time; lookups ignore expired
//! ways; an insert takes the lowest free way, else evicts the least recently
//! seen live way (lowest way on a tie). Expired ways are reclaimed (counted as
//! age-outs) when an insert reuses them or when the scrubber sweeps them.

use lbnic_contract::lookup::flow_hash;
use lbnic_contract::target::entries::{ct_field as f, GlobalRepr, TcpState, CT_WAY_LEN};
use lbnic_contract::target::MemoryMap;
use lbnic_contract::toeplitz::Toeplitz;

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// The key bytes of a way (`SRC..=PROTO`) plus its family, built once per
/// packet so a way compare is a memcmp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtKey {
    pub bytes: [u8; 37],
    pub v6: bool,
}

impl CtKey {
    pub fn new(proto: u8, src: &[u8; 16], sport: u16, dst: &[u8; 16], dport: u16, v6: bool) -> CtKey {
        let mut bytes = [0u8; 37];
        bytes[f::SRC].copy_from_slice(src);
        bytes[f::DST].copy_from_slice(dst);
        bytes[f::SRC_PORT].copy_from_slice(&sport.to_le_bytes());
        bytes[f::DST_PORT].copy_from_slice(&dport.to_le_bytes());
        bytes[f::PROTO] = proto;
        CtKey { bytes, v6 }
    }
    pub fn proto(&self) -> u8 {
        self.bytes[f::PROTO]
    }

    /// The flow hash of the key's tuple ([`lbnic_contract::lookup::flow_hash`]):
    /// where the entry lives, for the pipeline and the host alike.
    #[inline]
    pub fn flow_hash(&self, tz: &Toeplitz) -> u32 {
        let b = &self.bytes;
        // IPv4 addresses are the low 4 bytes of their IPv4-mapped form.
        let (src, dst) = if self.v6 {
            (&b[f::SRC], &b[f::DST])
        } else {
            (&b[f::SRC][12..], &b[f::DST][12..])
        };
        let port = |r: std::ops::Range<usize>| u16::from_le_bytes([b[r.start], b[r.start + 1]]);
        flow_hash(tz, src, dst, Some((port(f::SRC_PORT), port(f::DST_PORT))))
    }
}

/// Timeouts in ticks, from the bank's GLOBAL section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub syn: u32,
    pub est: u32,
    pub fin: u32,
    pub udp: u32,
}

impl Timeouts {
    pub fn from_global(g: &GlobalRepr) -> Timeouts {
        Timeouts {
            syn: g.timeout_tcp_syn,
            est: g.timeout_tcp_est,
            fin: g.timeout_tcp_fin,
            udp: g.timeout_udp,
        }
    }
    fn of(&self, proto: u8, state: u8) -> u32 {
        if proto != 6 {
            return self.udp;
        }
        match TcpState::from_code(state) {
            Some(TcpState::SynSeen) => self.syn,
            Some(TcpState::Closing) | Some(TcpState::Closed) => self.fin,
            _ => self.est,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4"))
}

/// Geometry of the table; the memory is passed to each call so the same
/// code runs over a `Vec`, a shared-memory file, or a device mapping.
#[derive(Debug, Clone, Copy)]
pub struct CtTable {
    pub buckets: u32,
    pub ways: u32,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    pub way: u32,
    /// A live entry was evicted to make room.
    pub evicted: bool,
    /// An expired entry was reclaimed.
    pub aged: bool,
}

/// A new entry's fields besides the key.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry {
    pub reverse: bool,
    pub state: TcpState,
    pub backend: u16,
    pub vip: u16,
    pub bytes: u32,
}

impl CtTable {
    pub fn from_map(map: &MemoryMap, ways: u32) -> CtTable {
        CtTable {
            buckets: (map.ct_len() / map.ct_bucket_len) as u32,
            ways,
        }
    }

    fn way_off(&self, bucket: u32, way: u32) -> usize {
        (bucket as usize * self.ways as usize + way as usize) * CT_WAY_LEN
    }

    /// Bytes of `bucket` in the CONNTRACK region.
    pub fn bucket_range(&self, bucket: u32) -> std::ops::Range<usize> {
        let o = self.way_off(bucket, 0);
        o..o + self.ways as usize * CT_WAY_LEN
    }

    fn valid(w: &[u8]) -> bool {
        w[f::FLAGS] & f::FLAG_VALID != 0
    }

    /// Expired at device time `now` (ticks): idle for longer than its
    /// state's timeout (32-bit wrapping arithmetic, as the hardware does).
    pub fn expired(w: &[u8], now: u32, to: &Timeouts) -> bool {
        let idle = now.wrapping_sub(u32_at(w, f::LAST_SEEN.start));
        idle > to.of(w[f::PROTO], w[f::TCP_STATE])
    }

    /// The live way holding `key` (forward or reverse entry), if any.
    pub fn find(
        &self,
        mem: &[u8],
        bucket: u32,
        key: &CtKey,
        reverse: bool,
        now: u32,
        to: &Timeouts,
    ) -> Option<u32> {
        let want =
            f::FLAG_VALID | if key.v6 { f::FLAG_V6 } else { 0 } | if reverse { f::FLAG_REVERSE } else { 0 };
        // Key and flags are bytes 0..38 of a way: compare them as five
        // words (the last masked to its six bytes), not byte by byte.
        let mut k = [0u8; 40];
        k[..37].copy_from_slice(&key.bytes);
        k[f::FLAGS] = want;
        let words = |b: &[u8]| -> [u64; 5] {
            std::array::from_fn(|i| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8")))
        };
        let kw = words(&k);
        const LAST: u64 = (1 << 48) - 1;
        let base = self.way_off(bucket, 0);
        let ways = &mem[base..base + self.ways as usize * CT_WAY_LEN];
        ways.chunks_exact(CT_WAY_LEN)
            .position(|e| {
                let ew = words(e);
                ew[0] == kw[0]
                    && ew[1] == kw[1]
                    && ew[2] == kw[2]
                    && ew[3] == kw[3]
                    && ew[4] & LAST == kw[4]
                    && !Self::expired(e, now, to)
            })
            .map(|w| w as u32)
    }

    /// Read a way's (VIP slot, VIP-local backend, TCP state).
    pub fn target_of(&self, mem: &[u8], bucket: u32, way: u32) -> (u16, u16, u8) {
        let o = self.way_off(bucket, way);
        let e = &mem[o..o + CT_WAY_LEN];
        (
            u16::from_le_bytes([e[f::VIP.start], e[f::VIP.start + 1]]),
            u16::from_le_bytes([e[f::BACKEND.start], e[f::BACKEND.start + 1]]),
            e[f::TCP_STATE],
        )
    }

    /// A hit: refresh the timestamp, count the packet, advance TCP state.
    pub fn touch(&self, mem: &mut [u8], bucket: u32, way: u32, now: u32, len: u32, flags: u8) {
        let o = self.way_off(bucket, way);
        let e = &mut mem[o..o + CT_WAY_LEN];
        e[f::LAST_SEEN].copy_from_slice(&now.to_le_bytes());
        let p = u32_at(e, f::PACKETS.start).wrapping_add(1);
        e[f::PACKETS].copy_from_slice(&p.to_le_bytes());
        let b = u64::from_le_bytes(e[f::BYTES].try_into().expect("8")).wrapping_add(len as u64);
        e[f::BYTES].copy_from_slice(&b.to_le_bytes());
        if e[f::PROTO] == 6 {
            e[f::TCP_STATE] = next_state(e[f::TCP_STATE], flags).code();
        }
    }

    /// Insert `key`: lowest free way, else evict the least recently seen.
    pub fn insert(
        &self,
        mem: &mut [u8],
        bucket: u32,
        key: &CtKey,
        n: &NewEntry,
        now: u32,
        to: &Timeouts,
    ) -> Inserted {
        let mut free = None;
        let mut aged = false;
        let mut oldest = (0u32, 0u32); // (idle, way)
        for w in 0..self.ways {
            let o = self.way_off(bucket, w);
            let e = &mem[o..o + CT_WAY_LEN];
            if !Self::valid(e) {
                free = Some(w);
                break;
            }
            if Self::expired(e, now, to) {
                free = Some(w);
                aged = true;
                break;
            }
            let idle = now.wrapping_sub(u32_at(e, f::LAST_SEEN.start));
            if w == 0 || idle > oldest.0 {
                oldest = (idle, w);
            }
        }
        let (way, evicted) = match free {
            Some(w) => (w, false),
            None => (oldest.1, true),
        };
        let o = self.way_off(bucket, way);
        let e = &mut mem[o..o + CT_WAY_LEN];
        e.fill(0);
        e[..37].copy_from_slice(&key.bytes);
        e[f::FLAGS] =
            f::FLAG_VALID | if key.v6 { f::FLAG_V6 } else { 0 } | if n.reverse { f::FLAG_REVERSE } else { 0 };
        e[f::TCP_STATE] = n.state.code();
        e[f::BACKEND].copy_from_slice(&n.backend.to_le_bytes());
        e[f::VIP].copy_from_slice(&n.vip.to_le_bytes());
        e[f::LAST_SEEN].copy_from_slice(&now.to_le_bytes());
        e[f::CREATED].copy_from_slice(&now.to_le_bytes());
        e[f::PACKETS].copy_from_slice(&1u32.to_le_bytes());
        e[f::BYTES].copy_from_slice(&(n.bytes as u64).to_le_bytes());
        Inserted { way, evicted, aged }
    }

    /// Reclaim every way of `bucket` expired at `horizon`; returns how many.
    pub fn sweep(&self, mem: &mut [u8], bucket: u32, horizon: u32, to: &Timeouts) -> u32 {
        let mut n = 0;
        for w in 0..self.ways {
            let o = self.way_off(bucket, w);
            let e = &mut mem[o..o + CT_WAY_LEN];
            if Self::valid(e) && Self::expired(e, horizon, to) {
                e.fill(0);
                n += 1;
            }
        }
        n
    }

    /// Count of valid, unexpired ways (for reports).
    pub fn live(&self, mem: &[u8], now: u32, to: &Timeouts) -> u64 {
        mem.chunks_exact(CT_WAY_LEN)
            .filter(|e| Self::valid(e) && !Self::expired(e, now, to))
            .count() as u64
    }
}

/// TCP state after a packet with `flags` on an existing entry.
pub fn next_state(cur: u8, flags: u8) -> TcpState {
    use tcp_flags::*;
    let cur = TcpState::from_code(cur).unwrap_or(TcpState::None);
    if flags & RST != 0 {
        return TcpState::Closed;
    }
    if flags & FIN != 0 {
        return if cur == TcpState::Closed {
            cur
        } else {
            TcpState::Closing
        };
    }
    match cur {
        TcpState::SynSeen | TcpState::None if flags & ACK != 0 && flags & SYN == 0 => TcpState::Established,
        s => s,
    }
}

/// State of a new entry created by a packet with `flags` (TCP) or UDP.
pub fn initial_state(proto: u8, flags: u8) -> TcpState {
    use tcp_flags::*;
    if proto != 6 {
        TcpState::None
    } else if flags & SYN != 0 && flags & ACK == 0 {
        TcpState::SynSeen
    } else {
        // Picked up mid-stream (e.g. after a failover without preload).
        TcpState::Established
    }
}

impl CtTable {
    /// Re-point an existing way (stale VIP/backend, or a NAT return entry
    /// being refreshed) as a fresh entry.
    pub fn overwrite(&self, mem: &mut [u8], bucket: u32, way: u32, key: &CtKey, n: &NewEntry, now: u32) {
        let o = self.way_off(bucket, way);
        // Make the way free, then insert into exactly it.
        mem[o..o + CT_WAY_LEN].fill(0);
        let one = CtTable { buckets: 1, ways: 1 };
        one.insert(
            &mut mem[o..o + CT_WAY_LEN],
            0,
            key,
            n,
            now,
            &Timeouts {
                syn: 0,
                est: 0,
                fin: 0,
                udp: 0,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: Timeouts = Timeouts {
        syn: 5,
        est: 100,
        fin: 10,
        udp: 50,
    };

    fn key(i: u8) -> CtKey {
        let mut s = [0u8; 16];
        s[10] = 0xff;
        s[11] = 0xff;
        s[15] = i;
        CtKey::new(6, &s, 1000 + i as u16, &s, 80, false)
    }

    fn entry(vip: u16) -> NewEntry {
        NewEntry {
            reverse: false,
            state: TcpState::Established,
            backend: 3,
            vip,
            bytes: 60,
        }
    }

    #[test]
    fn insert_find_touch_evict_expire() {
        let t = CtTable { buckets: 2, ways: 2 };
        let mut mem = vec![0u8; 2 * 2 * CT_WAY_LEN];
        assert_eq!(t.find(&mem, 1, &key(1), false, 0, &TO), None);
        let a = t.insert(&mut mem, 1, &key(1), &entry(7), 10, &TO);
        assert_eq!((a.way, a.evicted, a.aged), (0, false, false));
        assert_eq!(t.find(&mem, 1, &key(1), false, 20, &TO), Some(0));
        assert_eq!(
            t.find(&mem, 1, &key(1), true, 20, &TO),
            None,
            "reverse flag must match"
        );
        assert_eq!(t.target_of(&mem, 1, 0), (7, 3, TcpState::Established.code()));
        t.insert(&mut mem, 1, &key(2), &entry(7), 30, &TO);
        t.touch(&mut mem, 1, 0, 40, 100, tcp_flags::ACK);
        // Bucket full: key 3 evicts the least recently seen (key 2, seen at 30).
        let c = t.insert(&mut mem, 1, &key(3), &entry(7), 50, &TO);
        assert_eq!((c.way, c.evicted), (1, true));
        assert_eq!(t.find(&mem, 1, &key(2), false, 50, &TO), None);
        // Key 1 (seen at 40) expires after 100 idle ticks.
        assert_eq!(t.find(&mem, 1, &key(1), false, 140, &TO), Some(0));
        assert_eq!(t.find(&mem, 1, &key(1), false, 141, &TO), None);
        let d = t.insert(&mut mem, 1, &key(4), &entry(7), 160, &TO);
        assert_eq!((d.way, d.aged, d.evicted), (0, true, false));
        assert_eq!(t.sweep(&mut mem, 1, 1000, &TO), 2);
        assert_eq!(t.live(&mem, 0, &TO), 0);
    }

    #[test]
    fn tcp_states() {
        use tcp_flags::*;
        assert_eq!(initial_state(6, SYN), TcpState::SynSeen);
        assert_eq!(initial_state(6, ACK), TcpState::Established);
        assert_eq!(initial_state(17, 0), TcpState::None);
        let syn = TcpState::SynSeen.code();
        assert_eq!(next_state(syn, ACK), TcpState::Established);
        assert_eq!(next_state(syn, SYN | ACK), TcpState::SynSeen);
        assert_eq!(
            next_state(TcpState::Established.code(), FIN | ACK),
            TcpState::Closing
        );
        assert_eq!(next_state(TcpState::Closing.code(), RST), TcpState::Closed);
        assert_eq!(next_state(TcpState::Closed.code(), FIN), TcpState::Closed);
    }

    #[test]
    fn wrapping_time() {
        let t = CtTable { buckets: 1, ways: 1 };
        let mut mem = vec![0u8; CT_WAY_LEN];
        t.insert(&mut mem, 0, &key(1), &entry(1), u32::MAX - 5, &TO);
        assert_eq!(t.find(&mem, 0, &key(1), false, 20, &TO), Some(0));
    }
}
