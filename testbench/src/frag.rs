//! IP fragmentation of test traffic, as a sending host does it (RFC 791 for
//! IPv4, RFC 8200 §4.5 for IPv6), so captures of fragmented datagrams can
//! be built from whole frames: fragment, then shuffle the order.

use hw_model::packet::checksum;

/// Why a frame could not be fragmented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragError {
    #[error("not an untagged Ethernet frame carrying IPv4 or IPv6")]
    NotIp,
    #[error("IP header or length inconsistent with the frame")]
    Malformed,
    #[error("the IPv6 packet has extension headers (only a bare header is fragmented)")]
    Ipv6Extensions,
    #[error("already a fragment")]
    AlreadyFragment,
    #[error("fragment payload {0} is below 8 bytes")]
    ChunkTooSmall(usize),
}

const ETH: usize = 14;

/// Split the IP packet of `frame` (untagged Ethernet, IPv4 or IPv6 without
/// extension headers) into fragments of at most `chunk` payload bytes each
/// (rounded down to a multiple of 8), all carrying identification `id`
/// (IPv4: its low 16 bits; IPv6: the fragment header's 32 bits). Fragments
/// come in offset order; a packet that fits in one chunk is still split
/// into one fragment (an atomic fragment is not made: it is returned whole).
pub fn fragment(frame: &[u8], chunk: usize, id: u32) -> Result<Vec<Vec<u8>>, FragError> {
    let chunk = chunk & !7;
    if chunk < 8 {
        return Err(FragError::ChunkTooSmall(chunk));
    }
    let et = frame.get(12..14).ok_or(FragError::NotIp)?;
    match u16::from_be_bytes([et[0], et[1]]) {
        0x0800 => v4(frame, chunk, id as u16),
        0x86dd => v6(frame, chunk, id),
        _ => Err(FragError::NotIp),
    }
}

fn v4(frame: &[u8], chunk: usize, id: u16) -> Result<Vec<Vec<u8>>, FragError> {
    let ip = frame.get(ETH..).ok_or(FragError::Malformed)?;
    let hl = (*ip.first().ok_or(FragError::Malformed)? & 0x0f) as usize * 4;
    let tl = ip
        .get(2..4)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or(FragError::Malformed)?;
    if hl < 20 || tl < hl || tl > ip.len() {
        return Err(FragError::Malformed);
    }
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return Err(FragError::AlreadyFragment);
    }
    let payload = &ip[hl..tl];
    if payload.len() <= chunk {
        return Ok(vec![frame[..ETH + tl].to_vec()]);
    }
    let mut out = Vec::new();
    for (i, part) in payload.chunks(chunk).enumerate() {
        let off = i * chunk;
        let more = off + part.len() < payload.len();
        let mut f = frame[..ETH + hl].to_vec();
        f.extend_from_slice(part);
        let h = &mut f[ETH..ETH + hl];
        h[2..4].copy_from_slice(&((hl + part.len()) as u16).to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let ff = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&ff.to_be_bytes());
        h[10..12].fill(0);
        let c = checksum::ipv4_header(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        out.push(f);
    }
    Ok(out)
}

fn v6(frame: &[u8], chunk: usize, id: u32) -> Result<Vec<Vec<u8>>, FragError> {
    let ip = frame.get(ETH..ETH + 40).ok_or(FragError::Malformed)?;
    let plen = u16::from_be_bytes([ip[4], ip[5]]) as usize;
    let nh = ip[6];
    if matches!(nh, 0 | 43 | 60 | 51) {
        return Err(FragError::Ipv6Extensions);
    }
    if nh == 44 {
        return Err(FragError::AlreadyFragment);
    }
    let payload = frame.get(ETH + 40..ETH + 40 + plen).ok_or(FragError::Malformed)?;
    if payload.len() <= chunk {
        return Ok(vec![frame[..ETH + 40 + plen].to_vec()]);
    }
    let mut out = Vec::new();
    for (i, part) in payload.chunks(chunk).enumerate() {
        let off = i * chunk;
        let more = off + part.len() < payload.len();
        let mut f = frame[..ETH + 40].to_vec();
        f[ETH + 4..ETH + 6].copy_from_slice(&((8 + part.len()) as u16).to_be_bytes());
        f[ETH + 6] = 44;
        f.push(nh);
        f.push(0);
        f.extend_from_slice(&((off as u16) | more as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(part);
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{PacketBuilder, SlicedPacket};

    fn udp(v6: bool, n: usize) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2; 6], [4; 6]);
        let b = if v6 {
            b.ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x20; 16],
                64,
            )
        } else {
            b.ipv4([198, 51, 100, 1], [192, 0, 2, 53], 64)
        }
        .udp(5353, 53);
        let mut f = Vec::new();
        b.write(&mut f, &vec![0xab; n]).unwrap();
        f
    }

    /// etherparse's defragmenter puts the pieces back into the original
    /// datagram, and the pipeline's parser sees first and later fragments.
    #[test]
    fn fragments_reassemble_to_the_datagram() {
        use hw_model::packet::{parse, Frag};
        for v6 in [false, true] {
            let f = udp(v6, 3000);
            let parts = fragment(&f, 1200, 0x1234_5678).unwrap();
            assert_eq!(parts.len(), 3);
            let mut data = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let q = parse(p).unwrap();
                assert_eq!(q.frag, if i == 0 { Frag::First } else { Frag::Later });
                assert_eq!(q.frag_id, if v6 { 0x1234_5678 } else { 0x5678 });
                let s = SlicedPacket::from_ethernet(p).unwrap();
                let net = s.net.unwrap();
                let payload = match &net {
                    etherparse::NetSlice::Ipv4(x) => x.payload().payload,
                    etherparse::NetSlice::Ipv6(x) => x.payload().payload,
                };
                assert!(i == 2 || payload.len() % 8 == 0);
                data.extend_from_slice(payload);
            }
            let l4 = if v6 { ETH + 40 } else { ETH + 20 };
            assert_eq!(data, f[l4..], "v6 {v6}");
        }
        assert_eq!(
            fragment(&udp(false, 100), 1200, 1).unwrap(),
            vec![udp(false, 100)]
        );
        assert_eq!(fragment(&udp(false, 100), 7, 1), Err(FragError::ChunkTooSmall(0)));
    }
}
