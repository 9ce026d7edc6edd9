//! Conntrack, operating directly on the CONNTRACK region bytes in the
//! contract's layout, so a host dump or preload is plain memory access.
//!
//! Semantics (docs/spec.md, "Conntrack semantics"): a way is *free* if it is
//! invalid or expired at the packet's ingress time; lookups ignore expired
//! ways; an insert takes the lowest free way, else evicts the least recently
//! seen live way (lowest way on a tie). Expired ways are reclaimed (counted as
//! age-outs) when an insert reuses them or when the scrubber sweeps them.

use lbnic_contract::target::ct::{CtMatch, CtWay};
use lbnic_contract::target::entries::{GlobalRepr, TcpState, CT_WAY_LEN};
use lbnic_contract::target::MemoryMap;

use lbnic_contract::target::ct::CtKey;

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// Conntrack timeouts in ticks, from the bank's GLOBAL section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutTicks {
    pub syn: u32,
    pub est: u32,
    pub fin: u32,
    pub udp: u32,
}

impl TimeoutTicks {
    pub fn from_global(g: &GlobalRepr) -> TimeoutTicks {
        TimeoutTicks {
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

    fn way<'m>(&self, mem: &'m [u8], bucket: u32, way: u32) -> CtWay<&'m [u8]> {
        let o = self.way_off(bucket, way);
        CtWay::new_unchecked(&mem[o..o + CT_WAY_LEN])
    }

    fn way_mut<'m>(&self, mem: &'m mut [u8], bucket: u32, way: u32) -> CtWay<&'m mut [u8]> {
        let o = self.way_off(bucket, way);
        CtWay::new_unchecked(&mut mem[o..o + CT_WAY_LEN])
    }

    /// Expired at device time `now` (ticks): idle for longer than its
    /// state's timeout (32-bit wrapping arithmetic, as the hardware does).
    /// A fragment entry lives as long as an embryonic connection (the SYN
    /// timeout, 30 s by default, Linux's `ipfrag_time`): a datagram's
    /// fragments arrive together or never.
    pub fn expired<T: AsRef<[u8]>>(w: &CtWay<T>, now: u32, to: &TimeoutTicks) -> bool {
        let idle = now.wrapping_sub(w.last_seen());
        let limit = if w.is_fragment() {
            to.syn
        } else {
            to.of(w.proto(), w.tcp_state())
        };
        idle > limit
    }

    /// The live way holding `key` (forward or reverse entry), if any.
    pub fn find(
        &self,
        mem: &[u8],
        bucket: u32,
        key: &CtKey,
        reverse: bool,
        now: u32,
        to: &TimeoutTicks,
    ) -> Option<u32> {
        let m = CtMatch::new(key, reverse);
        let base = self.way_off(bucket, 0);
        let ways = &mem[base..base + self.ways as usize * CT_WAY_LEN];
        ways.chunks_exact(CT_WAY_LEN)
            .map(CtWay::new_unchecked)
            .position(|e| e.matches(&m) && !Self::expired(&e, now, to))
            .map(|w| w as u32)
    }

    /// Read a way's (VIP slot, VIP-local backend, TCP state).
    pub fn target_of(&self, mem: &[u8], bucket: u32, way: u32) -> (u16, u16, u8) {
        let e = self.way(mem, bucket, way);
        (e.vip(), e.backend(), e.tcp_state())
    }

    /// A hit: refresh the timestamp, count the packet, advance TCP state.
    pub fn touch(&self, mem: &mut [u8], bucket: u32, way: u32, now: u32, len: u32, flags: u8) {
        let mut e = self.way_mut(mem, bucket, way);
        e.set_last_seen(now);
        e.set_packets(e.packets().wrapping_add(1));
        e.set_bytes(e.bytes().wrapping_add(len as u64));
        if e.proto() == 6 {
            e.set_tcp_state(next_state(e.tcp_state(), flags).code());
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
        to: &TimeoutTicks,
    ) -> Inserted {
        let mut free = None;
        let mut aged = false;
        let mut oldest = (0u32, 0u32); // (idle, way)
        for w in 0..self.ways {
            let e = self.way(mem, bucket, w);
            if !e.is_valid() {
                free = Some(w);
                break;
            }
            if Self::expired(&e, now, to) {
                free = Some(w);
                aged = true;
                break;
            }
            let idle = now.wrapping_sub(e.last_seen());
            if w == 0 || idle > oldest.0 {
                oldest = (idle, w);
            }
        }
        let (way, evicted) = match free {
            Some(w) => (w, false),
            None => (oldest.1, true),
        };
        let mut e = self.way_mut(mem, bucket, way);
        e.clear();
        e.set_key(key);
        e.set_flags(key.flags(n.reverse));
        e.set_tcp_state(n.state.code());
        e.set_backend(n.backend);
        e.set_vip(n.vip);
        e.set_last_seen(now);
        e.set_created(now);
        e.set_packets(1);
        e.set_bytes(n.bytes as u64);
        Inserted { way, evicted, aged }
    }

    /// Reclaim every way of `bucket` expired at `horizon`; returns how many.
    pub fn sweep(&self, mem: &mut [u8], bucket: u32, horizon: u32, to: &TimeoutTicks) -> u32 {
        let mut n = 0;
        for w in 0..self.ways {
            let mut e = self.way_mut(mem, bucket, w);
            if e.is_valid() && Self::expired(&e, horizon, to) {
                e.clear();
                n += 1;
            }
        }
        n
    }

    /// Ways of `bucket` a [`CtTable::sweep`] at `horizon` would reclaim.
    pub fn expired_ways(&self, mem: &[u8], bucket: u32, horizon: u32, to: &TimeoutTicks) -> u32 {
        (0..self.ways)
            .filter(|&w| {
                let e = self.way(mem, bucket, w);
                e.is_valid() && Self::expired(&e, horizon, to)
            })
            .count() as u32
    }

    /// Count of valid, unexpired ways (for reports).
    pub fn live(&self, mem: &[u8], now: u32, to: &TimeoutTicks) -> u64 {
        mem.chunks_exact(CT_WAY_LEN)
            .map(CtWay::new_unchecked)
            .filter(|e| e.is_valid() && !Self::expired(e, now, to))
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
        self.way_mut(mem, bucket, way).clear();
        let one = CtTable { buckets: 1, ways: 1 };
        one.insert(
            &mut mem[o..o + CT_WAY_LEN],
            0,
            key,
            n,
            now,
            &TimeoutTicks {
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

    const TO: TimeoutTicks = TimeoutTicks {
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

    /// A fragment entry times out at the SYN timeout whatever its protocol.
    #[test]
    fn fragment_entries_time_out_as_embryonic() {
        let t = CtTable { buckets: 1, ways: 2 };
        let mut mem = vec![0u8; 2 * CT_WAY_LEN];
        let s = *key(1).src();
        let fk = CtKey::fragment(17, &s, &s, 0xabcd, false);
        let n = NewEntry {
            state: TcpState::None,
            ..entry(1)
        };
        t.insert(&mut mem, 0, &fk, &n, 0, &TO);
        assert_eq!(t.find(&mem, 0, &fk, false, TO.syn, &TO), Some(0));
        assert_eq!(t.find(&mem, 0, &fk, false, TO.syn + 1, &TO), None);
        assert_eq!(t.find(&mem, 0, &key(1), false, 0, &TO), None);
    }

    #[test]
    fn wrapping_time() {
        let t = CtTable { buckets: 1, ways: 1 };
        let mut mem = vec![0u8; CT_WAY_LEN];
        t.insert(&mut mem, 0, &key(1), &entry(1), u32::MAX - 5, &TO);
        assert_eq!(t.find(&mem, 0, &key(1), false, 20, &TO), Some(0));
    }
}
