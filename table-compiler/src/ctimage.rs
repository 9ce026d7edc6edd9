//! Conntrack images: empty, or preloaded from a flow list (JSON lines, one
//! flow per line; the format `lbnic ct dump` writes). Flows are placed as
//! the hardware would insert them: bucket from the flow hash, first free
//! way.

use lbnic_contract::image::{Bank, Image, ImageKind, SectionKind};
use lbnic_contract::lookup::{ct_bucket, flow_hash_ip};
use lbnic_contract::target::ct::{CtRepr, CtWay};
use lbnic_contract::target::entries::{FlowKey, TcpState, CT_WAY_LEN};
use lbnic_contract::target::Target;
use lbnic_contract::toeplitz::Toeplitz;
use serde::{Deserialize, Serialize};

/// One line of a flow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowRecord {
    /// `tcp 198.51.100.7:40000 -> 192.0.2.10:80`
    pub flow: String,
    pub vip: String,
    pub backend: String,
    #[serde(default = "default_state")]
    pub state: TcpState,
    /// A NAT return entry (key is backend -> client).
    #[serde(default)]
    pub reverse: bool,
    /// A fragment entry (the ports hold the datagram identification).
    /// Dumped so a listing shows them; `build` skips them: they hold a
    /// datagram for seconds, not a connection worth carrying over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fragment: bool,
    #[serde(default)]
    pub last_seen: u32,
    #[serde(default)]
    pub created: u32,
    #[serde(default)]
    pub packets: u32,
    #[serde(default)]
    pub bytes: u64,
}

fn default_state() -> TcpState {
    TcpState::Established
}

#[derive(Debug, thiserror::Error)]
pub enum CtImageError {
    #[error("flow list line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("flow list line {line}: both candidate buckets (the emptier is {bucket}) already hold {ways} flows (conntrack would relocate or evict); the flow list does not fit this target")]
    BucketFull { line: usize, bucket: u32, ways: u32 },
}

/// Parse a flow list.
pub fn parse_flow_list(text: &str) -> Result<Vec<(usize, FlowRecord)>, CtImageError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let r: FlowRecord = serde_json::from_str(l).map_err(|e| CtImageError::Line {
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push((i + 1, r));
    }
    Ok(out)
}

/// Resolve names against `bank` and place every flow.
pub fn build(bank_img: &Image, bank: &Bank, flows: &[(usize, FlowRecord)]) -> Result<Image, CtImageError> {
    let t: &Target = &bank_img.target;
    let map = t.memory_map();
    let tz = Toeplitz::new(&bank.global.toeplitz_key);
    let mut mem = vec![0u8; map.ct_len() as usize];
    let mut used = vec![0u8; t.ct_buckets as usize];
    for (line, r) in flows.iter().filter(|(_, r)| !r.fragment) {
        let err = |message: String| CtImageError::Line { line: *line, message };
        let key: FlowKey = r
            .flow
            .parse()
            .map_err(|e: lbnic_contract::target::entries::FlowParseError| err(e.to_string()))?;
        let vip = bank
            .vip_by_name(&r.vip)
            .ok_or_else(|| err(format!("no VIP named {:?} in the bank image", r.vip)))?;
        let local = vip
            .backends
            .iter()
            .position(|b| b.as_ref().is_some_and(|b| b.name == r.backend))
            .ok_or_else(|| err(format!("VIP {:?} has no backend {:?}", r.vip, r.backend)))?;
        let be = vip.backend(local as u16).expect("position found it");
        if r.reverse {
            if key.src != be.repr.addr {
                return Err(err(format!(
                    "reverse entry must come from backend {} ({})",
                    r.backend, be.repr.addr
                )));
            }
        } else if bank.match_vip(key.proto, key.dst, key.dst_port).map(|v| v.index) != Some(vip.index) {
            return Err(err(format!("flow {key} does not match VIP {:?}", r.vip)));
        }
        let hash = flow_hash_ip(&tz, key.src, key.dst, Some((key.src_port, key.dst_port)));
        // Placed as the hardware's insert places it into an empty table
        // (docs/spec.md, "Conntrack semantics"): the candidate with more free
        // ways, bucket `a` on a tie, its lowest free way. No relocation: a
        // flow whose two candidates are full is refused.
        let c = ct_bucket(hash, t.ct_buckets);
        for b in c.iter() {
            for w in 0..used[b as usize] as u32 {
                let off = map.ct_way(b, w) as usize;
                if CtRepr::parse(&CtWay::new_unchecked(&mem[off..off + CT_WAY_LEN]))
                    .ok()
                    .flatten()
                    .is_some_and(|e| e.key == key)
                {
                    return Err(err(format!("flow {key} appears twice")));
                }
            }
        }
        let bucket = c.iter().min_by_key(|&b| used[b as usize]).expect("a candidate");
        let way = used[bucket as usize] as u32;
        if way >= t.ct_ways {
            return Err(CtImageError::BucketFull {
                line: *line,
                bucket,
                ways: t.ct_ways,
            });
        }
        used[bucket as usize] += 1;
        let off = map.ct_way(bucket, way) as usize;
        CtRepr {
            key,
            reverse: r.reverse,
            fragment: false,
            tcp_state: r.state,
            backend: local as u16,
            vip: vip.index,
            last_seen: r.last_seen,
            created: r.created,
            packets: r.packets,
            bytes: r.bytes,
        }
        .emit(&mut CtWay::new_unchecked(&mut mem[off..off + CT_WAY_LEN]));
    }
    let len = mem.len() as u64;
    Ok(Image::assemble(
        ImageKind::Conntrack,
        t,
        bank_img.generation,
        bank_img.config_digest,
        mem,
        &[(SectionKind::Conntrack, 0..len)],
        &[],
    ))
}
