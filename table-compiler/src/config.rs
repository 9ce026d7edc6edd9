//! The load-balancer config (TOML): what the user writes. `Config::parse`
//! checks everything a compile needs and reports problems with the file,
//! line, column and field, so a failed compile never gets as far as writing.

use crate::toml_error::{line_col, one_line};
use lbnic_contract::target::entries::{BackendState, Mode, Proto, Scheduler, NAME_LEN, TOEPLITZ_KEY_LEN};
use lbnic_contract::target::{Target, TargetError};
use lbnic_contract::toeplitz::DEFAULT_KEY;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Maglev seed used when the config names none ("lbnic-maglev-v1\0").
pub const DEFAULT_MAGLEV_SEED: [u8; 16] = *b"lbnic-maglev-v1\0";

/// Table sizes the compiler picks from when a VIP gives none: primes near
/// powers of two, 65537 being the paper's default.
pub const PRIMES: &[u32] = &[
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537, 131071, 262139, 524287, 655373, 1048573, 2097143,
    4194301, 8388593, 16777213,
];

/// Why a config is rejected.
/// Largest config file read: 3.6 times `examples/scale.toml`, which fills
/// the default target's 65,536 backends.
pub const MAX_CONFIG_LEN: u64 = 16 << 20;

/// Most backends any valid target has (`Target::validate` caps
/// `max_backends` here).
const MAX_BACKENDS_ANY_TARGET: usize = 65536;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Read(files::InputError),
    #[error("{path}:{line}:{col}: {field}: {message}")]
    At {
        path: String,
        line: usize,
        col: usize,
        field: String,
        message: String,
    },
    #[error("{path}: {field}: {message}")]
    Field {
        path: String,
        field: String,
        message: String,
    },
    #[error("{path}: target: {error}")]
    Target { path: String, error: TargetError },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    target: Option<Spanned<String>>,
    #[serde(default)]
    hash: RawHash,
    #[serde(default)]
    device: RawDevice,
    #[serde(default)]
    tunnel: RawTunnel,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default, rename = "vip")]
    vips: Vec<RawVip>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHash {
    toeplitz_key: Option<Spanned<String>>,
    maglev_seed: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    mac: Option<Spanned<String>>,
    gateway_mac: Option<Spanned<String>>,
    max_frame: Option<Spanned<u32>>,
    icmp_rate: Option<Spanned<u32>>,
    icmp_burst: Option<Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTunnel {
    source_v4: Option<Spanned<String>>,
    source_v6: Option<Spanned<String>>,
    gue_port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    tcp_syn_s: Option<Spanned<u32>>,
    tcp_established_s: Option<Spanned<u32>>,
    tcp_closing_s: Option<Spanned<u32>>,
    udp_s: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVip {
    name: Spanned<String>,
    address: Spanned<IpAddr>,
    #[serde(default)]
    port: u16,
    #[serde(default = "default_proto")]
    protocol: Proto,
    #[serde(default = "default_mode")]
    mode: Mode,
    #[serde(default = "default_sched")]
    scheduler: Scheduler,
    table_size: Option<Spanned<u32>>,
    #[serde(default, rename = "backend")]
    backends: Vec<RawBackend>,
}

fn default_proto() -> Proto {
    Proto::Tcp
}
fn default_mode() -> Mode {
    Mode::Dr
}
fn default_sched() -> Scheduler {
    Scheduler::Maglev
}
fn default_weight() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    name: Spanned<String>,
    address: Spanned<IpAddr>,
    mac: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    #[serde(default = "default_weight")]
    weight: Spanned<u32>,
    #[serde(default = "default_state")]
    state: BackendState,
}

fn default_state() -> BackendState {
    BackendState::Active
}

/// A validated config. VIPs are sorted by name and each VIP's backends by
/// stable name, so the order in the file never reaches an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    #[serde(skip)]
    pub target: Target,
    pub target_fingerprint: u64,
    #[serde(with = "hex::serde")]
    pub toeplitz_key: [u8; TOEPLITZ_KEY_LEN],
    #[serde(with = "hex::serde")]
    pub maglev_seed: [u8; 16],
    pub device_mac: [u8; 6],
    /// Next hop towards clients and for tunnel/NAT backends without a MAC.
    pub gateway_mac: Option<[u8; 6]>,
    pub max_frame: u16,
    /// ICMP too-big answers per second (0: none) and the limiter's burst.
    pub icmp_rate: u32,
    pub icmp_burst: u32,
    pub tunnel_v4: (Ipv4Addr, u8),
    pub tunnel_v6: (Ipv6Addr, u8),
    pub gue_port: u16,
    pub timeouts: TimeoutsSecs,
    pub vips: Vec<Vip>,
    /// Things that compile but deserve a look (e.g. M < 100 N).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Conntrack timeouts, seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeoutsSecs {
    pub tcp_syn_s: u32,
    pub tcp_established_s: u32,
    pub tcp_closing_s: u32,
    pub udp_s: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vip {
    pub name: String,
    pub addr: IpAddr,
    pub port: u16,
    pub proto: Proto,
    pub mode: Mode,
    pub sched: Scheduler,
    /// Lookup-table size: M for Maglev (prime), slot count for RR/WRR.
    pub table_size: u32,
    pub backends: Vec<Backend>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    pub name: String,
    pub addr: IpAddr,
    pub mac: [u8; 6],
    pub port: u16,
    pub weight: u32,
    pub state: BackendState,
}

impl Backend {
    /// Weight as the scheduler sees it: only active backends take new flows.
    pub fn effective_weight(&self) -> u32 {
        if self.state == BackendState::Active {
            self.weight
        } else {
            0
        }
    }
}

use lbnic_contract::is_prime;

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *m = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let clean: String = s
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '_'))
        .collect();
    let v = hex::decode(clean).ok()?;
    v.try_into().ok()
}

fn parse_prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, l) = s.split_once('/')?;
    let a: IpAddr = a.parse().ok()?;
    let l: u8 = l.parse().ok()?;
    let max = if a.is_ipv4() { 32 } else { 128 };
    (l <= max).then_some((a, l))
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    path: &'a str,
    text: &'a str,
    /// Where the TOML document the spans count from starts in `text` (a
    /// VIP parsed on its own, see [`parse_raw`]).
    base: usize,
}

impl Ctx<'_> {
    fn at<T>(
        &self,
        span: std::ops::Range<usize>,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> Result<T, ConfigError> {
        if span.is_empty() && span.start == 0 {
            return Err(ConfigError::Field {
                path: self.path.into(),
                field: field.into(),
                message: msg.into(),
            });
        }
        let (line, col) = line_col(self.text, self.base + span.start);
        Err(ConfigError::At {
            path: self.path.into(),
            line,
            col,
            field: field.into(),
            message: msg.into(),
        })
    }
    fn field<T>(&self, field: impl Into<String>, msg: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::Field {
            path: self.path.into(),
            field: field.into(),
            message: msg.into(),
        })
    }
}

fn check_name(cx: &Ctx, name: &Spanned<String>, field: &str) -> Result<(), ConfigError> {
    let n = name.get_ref();
    if n.is_empty() || n.len() > NAME_LEN {
        return cx.at(
            name.span(),
            field,
            format!("name {} must be 1..={NAME_LEN} bytes", files::quote(n)),
        );
    }
    if n.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return cx.at(
            name.span(),
            field,
            format!(
                "name {} contains whitespace or control characters",
                files::quote(n)
            ),
        );
    }
    Ok(())
}

fn mac_of(cx: &Ctx, m: &Spanned<String>, field: &str) -> Result<[u8; 6], ConfigError> {
    match parse_mac(m.get_ref()) {
        Some(v) => Ok(v),
        None => cx.at(
            m.span(),
            field,
            format!(
                "{} is not a MAC address (aa:bb:cc:dd:ee:ff)",
                files::quote(m.get_ref())
            ),
        ),
    }
}

/// `[hash]`: the Toeplitz key and the Maglev seed.
fn hash_keys(cx: &Ctx, raw: &RawHash) -> Result<([u8; TOEPLITZ_KEY_LEN], [u8; 16]), ConfigError> {
    let toeplitz_key = match &raw.toeplitz_key {
        None => DEFAULT_KEY,
        Some(k) => match parse_hex::<TOEPLITZ_KEY_LEN>(k.get_ref()) {
            Some(v) => v,
            None => {
                return cx.at(
                    k.span(),
                    "hash.toeplitz_key",
                    "must be 40 bytes of hex (80 hex digits)",
                )
            }
        },
    };
    let maglev_seed = match &raw.maglev_seed {
        None => DEFAULT_MAGLEV_SEED,
        Some(k) => match parse_hex::<16>(k.get_ref()) {
            Some(v) => v,
            None => {
                return cx.at(
                    k.span(),
                    "hash.maglev_seed",
                    "must be 16 bytes of hex (32 hex digits)",
                )
            }
        },
    };
    Ok((toeplitz_key, maglev_seed))
}

/// `[device]` as validated.
struct DeviceParams {
    mac: [u8; 6],
    gateway_mac: Option<[u8; 6]>,
    max_frame: u16,
    icmp_rate: u32,
    icmp_burst: u32,
}

/// Linux's `icmp_msgs_per_sec` and `icmp_msgs_burst` defaults.
pub const DEFAULT_ICMP_RATE: u32 = 1000;
pub const DEFAULT_ICMP_BURST: u32 = 50;

/// `[device]`: its MAC, the gateway's, the largest frame, the ICMP limiter.
fn device(cx: &Ctx, raw: &RawDevice) -> Result<DeviceParams, ConfigError> {
    let device_mac = match &raw.mac {
        None => [0x02, 0, 0, 0, 0, 0x01],
        Some(m) => mac_of(cx, m, "device.mac")?,
    };
    let gateway_mac = raw
        .gateway_mac
        .as_ref()
        .map(|m| mac_of(cx, m, "device.gateway_mac"))
        .transpose()?;
    let max_frame = match &raw.max_frame {
        None => 1514,
        Some(v) if (64..=9216).contains(v.get_ref()) => *v.get_ref() as u16,
        Some(v) => {
            return cx.at(
                v.span(),
                "device.max_frame",
                format!("{} is outside 64..=9216", v.get_ref()),
            )
        }
    };
    let icmp_rate = match &raw.icmp_rate {
        None => DEFAULT_ICMP_RATE,
        Some(v) if *v.get_ref() <= 1_000_000 => *v.get_ref(),
        Some(v) => {
            return cx.at(
                v.span(),
                "device.icmp_rate",
                format!("{} is outside 0..=1000000 answers per second", v.get_ref()),
            )
        }
    };
    let icmp_burst = match &raw.icmp_burst {
        None => DEFAULT_ICMP_BURST,
        Some(v) if (1..=1_000_000).contains(v.get_ref()) => *v.get_ref(),
        Some(v) => {
            return cx.at(
                v.span(),
                "device.icmp_burst",
                format!("{} is outside 1..=1000000", v.get_ref()),
            )
        }
    };
    Ok(DeviceParams {
        mac: device_mac,
        gateway_mac,
        max_frame,
        icmp_rate,
        icmp_burst,
    })
}

type TunnelSources = ((Ipv4Addr, u8), (Ipv6Addr, u8), u16);

/// `[tunnel]`: outer source prefixes and the GUE port.
fn tunnel(cx: &Ctx, raw: &RawTunnel) -> Result<TunnelSources, ConfigError> {
    let prefix = |p: &Option<Spanned<String>>,
                  field: &str,
                  dflt: &str,
                  v6: bool|
     -> Result<(IpAddr, u8), ConfigError> {
        let (s, span) = match p {
            None => (dflt.to_string(), 0..0),
            Some(p) => (p.get_ref().clone(), p.span()),
        };
        match parse_prefix(&s) {
            Some((a, l)) if a.is_ipv6() == v6 => Ok((a, l)),
            _ => cx.at(
                span,
                field,
                format!(
                    "{} is not an IPv{} prefix (addr/len)",
                    files::quote(&s),
                    if v6 { 6 } else { 4 }
                ),
            ),
        }
    };
    let tunnel_v4 = match prefix(&raw.source_v4, "tunnel.source_v4", "172.16.0.0/16", false)? {
        (IpAddr::V4(a), l) => (a, l),
        _ => unreachable!("checked family"),
    };
    let tunnel_v6 = match prefix(&raw.source_v6, "tunnel.source_v6", "100::/64", true)? {
        (IpAddr::V6(a), l) => (a, l),
        _ => unreachable!("checked family"),
    };
    let gue_port = raw.gue_port.unwrap_or(6080);
    if gue_port == 0 {
        return cx.field("tunnel.gue_port", "must not be 0");
    }
    Ok((tunnel_v4, tunnel_v6, gue_port))
}

/// `[timeouts]`, in seconds.
fn timeouts(cx: &Ctx, raw: &RawTimeouts) -> Result<TimeoutsSecs, ConfigError> {
    let secs = |v: &Option<Spanned<u32>>, field: &str, dflt: u32| -> Result<u32, ConfigError> {
        match v {
            None => Ok(dflt),
            Some(s) if (1..=86400 * 7).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => cx.at(
                s.span(),
                field,
                format!("{} is outside 1..=604800 seconds", s.get_ref()),
            ),
        }
    };
    Ok(TimeoutsSecs {
        tcp_syn_s: secs(&raw.tcp_syn_s, "timeouts.tcp_syn_s", 30)?,
        tcp_established_s: secs(&raw.tcp_established_s, "timeouts.tcp_established_s", 900)?,
        tcp_closing_s: secs(&raw.tcp_closing_s, "timeouts.tcp_closing_s", 60)?,
        udp_s: secs(&raw.udp_s, "timeouts.udp_s", 300)?,
    })
}

/// `[[vip]]` sections one at a time, with what the checks that span VIPs
/// (names, overlapping addresses, the target's totals) have seen so far.
struct VipParser<'a> {
    target: &'a Target,
    gateway_mac: Option<[u8; 6]>,
    vip_names: HashSet<String>,
    /// addr -> (port, protocol, VIP) claimed; port 0 = any port.
    claimed: BTreeMap<IpAddr, Vec<(u16, Proto, String)>>,
    total_backends: usize,
    total_lut: u64,
    warnings: Vec<String>,
}

impl VipParser<'_> {
    fn vip(&mut self, cx: &Ctx, rv: RawVip) -> Result<Vip, ConfigError> {
        let target = self.target;
        check_name(cx, &rv.name, "vip.name")?;
        let vname = rv.name.get_ref().clone();
        if !self.vip_names.insert(vname.clone()) {
            return cx.at(rv.name.span(), format!("vip[{vname}].name"), "duplicate VIP name");
        }
        self.claim(cx, &rv, &vname)?;
        if rv.mode == Mode::Nat && self.gateway_mac.is_none() {
            return cx.at(
                rv.name.span(),
                format!("vip[{vname}].mode"),
                "mode nat sends replies back through device.gateway_mac; set it",
            );
        }
        if rv.backends.is_empty() {
            return cx.at(
                rv.name.span(),
                format!("vip[{vname}].backend"),
                "VIP has no [[vip.backend]]",
            );
        }
        let per_vip = target.max_backends_per_vip() as usize;
        if rv.backends.len() > per_vip {
            return cx.at(
                rv.name.span(),
                format!("vip[{vname}].backend"),
                format!(
                    "{} backends, target {} allows {per_vip} per VIP ({}-bit table entries)",
                    rv.backends.len(),
                    target.name,
                    target.lut_entry_bits
                ),
            );
        }
        self.total_backends += rv.backends.len();
        if self.total_backends > target.max_backends as usize {
            return cx.at(
                rv.name.span(),
                format!("vip[{vname}].backend"),
                format!(
                    "more than {} backends in total, the target {} limit",
                    target.max_backends, target.name
                ),
            );
        }
        let mut names = HashSet::new();
        let mut backends = Vec::with_capacity(rv.backends.len());
        for rb in &rv.backends {
            check_name(cx, &rb.name, &format!("vip[{vname}].backend.name"))?;
            let bname = rb.name.get_ref().clone();
            if !names.insert(bname.clone()) {
                return cx.at(
                    rb.name.span(),
                    format!("vip[{vname}].backend[{bname}].name"),
                    "duplicate backend name in this VIP",
                );
            }
            backends.push(self.backend(cx, &rv, &vname, rb, bname)?);
        }
        backends.sort_by(|a, b| a.name.cmp(&b.name));
        let table_size = self.table_size(cx, &rv, &vname, &backends)?;
        self.total_lut += table_size as u64;
        if self.total_lut > target.lut_entries as u64 {
            return cx.at(
                rv.table_size.as_ref().map_or(rv.name.span(), |m| m.span()),
                format!("vip[{vname}].table_size"),
                format!(
                    "lookup tables need more than the {} entries target {} has",
                    target.lut_entries, target.name
                ),
            );
        }
        Ok(Vip {
            name: vname,
            addr: *rv.address.get_ref(),
            port: rv.port,
            proto: rv.protocol,
            mode: rv.mode,
            sched: rv.scheduler,
            table_size,
            backends,
        })
    }

    /// No two VIPs may match the same packet (port 0 and protocol `any` are
    /// wildcards).
    fn claim(&mut self, cx: &Ctx, rv: &RawVip, vname: &str) -> Result<(), ConfigError> {
        let addr = *rv.address.get_ref();
        let overlaps = |p: u16, q: Proto| {
            (p == rv.port || p == 0 || rv.port == 0)
                && (q == rv.protocol || q == Proto::Any || rv.protocol == Proto::Any)
        };
        let slot = self.claimed.entry(addr).or_default();
        if let Some((_, _, other)) = slot.iter().find(|(p, q, _)| overlaps(*p, *q)) {
            return cx.at(
                rv.address.span(),
                format!("vip[{vname}].address"),
                format!(
                    "{addr} port {} {} overlaps VIP {other:?}",
                    rv.port,
                    rv.protocol.name()
                ),
            );
        }
        slot.push((rv.port, rv.protocol, vname.to_string()));
        Ok(())
    }

    fn backend(
        &self,
        cx: &Ctx,
        rv: &RawVip,
        vname: &str,
        rb: &RawBackend,
        bname: String,
    ) -> Result<Backend, ConfigError> {
        let fld = |f: &str| format!("vip[{vname}].backend[{bname}].{f}");
        let addr = *rv.address.get_ref();
        let baddr = *rb.address.get_ref();
        if baddr.is_ipv6() != addr.is_ipv6() && matches!(rv.mode, Mode::Dr | Mode::Nat) {
            return cx.at(
                rb.address.span(),
                fld("address"),
                format!(
                    "{baddr} is not the VIP's address family; mode {} cannot change it (use a tunnel mode)",
                    rv.mode.name()
                ),
            );
        }
        let mac = match (&rb.mac, self.gateway_mac) {
            (Some(m), _) => mac_of(cx, m, &fld("mac"))?,
            (None, Some(g)) if rv.mode != Mode::Dr => g,
            (None, _) => {
                return cx.at(
                    rb.name.span(),
                    fld("mac"),
                    if rv.mode == Mode::Dr {
                        "mode dr needs the backend's MAC".to_string()
                    } else {
                        "no MAC for the next hop: give the backend a mac or set device.gateway_mac"
                            .to_string()
                    },
                )
            }
        };
        let port = match &rb.port {
            None => 0,
            Some(p) if rv.mode == Mode::Nat && rv.port == 0 => {
                return cx.at(
                    p.span(),
                    fld("port"),
                    "a port rewrite needs the VIP to have a port (replies are rewritten back to it)",
                )
            }
            Some(p) if rv.mode == Mode::Nat => *p.get_ref(),
            Some(p) => {
                return cx.at(
                    p.span(),
                    fld("port"),
                    format!("only mode nat rewrites ports; VIP is {}", rv.mode.name()),
                )
            }
        };
        let weight = *rb.weight.get_ref();
        if weight > 1_000_000 {
            return cx.at(
                rb.weight.span(),
                fld("weight"),
                format!("{weight} is above 1000000"),
            );
        }
        Ok(Backend {
            name: bname,
            addr: baddr,
            mac,
            port,
            weight,
            state: rb.state,
        })
    }

    /// M for Maglev (given and prime, or the first listed prime >= 100 N),
    /// the slot count for RR/WRR.
    fn table_size(
        &mut self,
        cx: &Ctx,
        rv: &RawVip,
        vname: &str,
        backends: &[Backend],
    ) -> Result<u32, ConfigError> {
        let weights: Vec<u32> = backends.iter().map(Backend::effective_weight).collect();
        let n_active = weights.iter().filter(|&&w| w > 0).count() as u64;
        if n_active == 0 {
            self.warnings.push(format!(
                "vip {vname}: no active backend with weight > 0; new flows are dropped"
            ));
        }
        let field = format!("vip[{vname}].table_size");
        match rv.scheduler {
            Scheduler::Maglev | Scheduler::MaglevStable => match &rv.table_size {
                Some(m) => {
                    let m_v = *m.get_ref();
                    if !is_prime(m_v) {
                        return cx.at(
                            m.span(),
                            field,
                            format!("{m_v} is not prime (Maglev needs a prime M)"),
                        );
                    }
                    if (m_v as usize) < backends.len() {
                        return cx.at(
                            m.span(),
                            field,
                            format!("{m_v} is smaller than the {} backends", backends.len()),
                        );
                    }
                    if (m_v as u64) < 100 * n_active {
                        self.warnings.push(format!(
                            "vip {vname}: table_size {m_v} < 100 x {n_active} backends; balance may be off by more than 1%"
                        ));
                    }
                    Ok(m_v)
                }
                None => {
                    let want = (100 * backends.len() as u64).max(65537);
                    match PRIMES.iter().find(|&&p| p as u64 >= want) {
                        Some(&p) => Ok(p),
                        None => cx.at(
                            rv.name.span(),
                            field,
                            "too many backends for any listed prime; give table_size",
                        ),
                    }
                }
            },
            Scheduler::Rr | Scheduler::Wrr => {
                if let Some(m) = &rv.table_size {
                    return cx.at(
                        m.span(),
                        field,
                        format!(
                            "scheduler {} sizes its own slot table; remove table_size",
                            rv.scheduler.name()
                        ),
                    );
                }
                let len = if rv.scheduler == Scheduler::Rr {
                    n_active
                } else {
                    crate::sched::wrr_len(&weights)
                };
                let per_vip = self.target.max_backends_per_vip() as u64;
                if len > per_vip * 64 {
                    return cx.at(
                        rv.name.span(),
                        format!("vip[{vname}].backend.weight"),
                        format!("the WRR slot table would have {len} slots; use smaller or more divisible weights"),
                    );
                }
                Ok(len as u32)
            }
        }
    }
}

/// The rest of a config split at a `[[vip]]` line: VIPs only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVips {
    #[serde(rename = "vip")]
    vips: Vec<RawVip>,
}

/// Split points for [`parse_raw`]: the start of every line that is exactly
/// `[[vip]]`, grouped into pieces of at least `min` bytes.
fn vip_split_points(text: &str, min: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "[[vip]]" && out.last().is_none_or(|&l| at - l >= min) {
            out.push(at);
        }
        at += line.len();
    }
    out
}

/// Parse the TOML, returning the raw config and, per VIP, the offset its
/// spans count from. A big config (`examples/scale.toml` is 4 MiB) spends
/// most of its time here, so it is split at top-level `[[vip]]` lines and
/// the pieces are parsed in parallel. TOML attaches everything after a
/// `[[vip]]` header to that VIP until the next header, so for a well-formed
/// file the pieces give the same VIPs in the same order. Any surprise — a
/// piece that fails (a split inside a multi-line string leaves the piece
/// before it unterminated), a VIP piece with another top-level key, VIPs
/// in the head — falls back to parsing the whole text at once, which also
/// gives the exact error.
fn parse_raw(text: &str) -> Result<(RawConfig, Vec<usize>), toml::de::Error> {
    const PIECE: usize = 64 * 1024;
    let whole = || {
        toml::from_str::<RawConfig>(text).map(|raw| {
            let n = raw.vips.len();
            (raw, vec![0; n])
        })
    };
    let splits = vip_split_points(text, PIECE);
    if splits.is_empty() {
        return whole();
    }
    let mut bounds = splits.clone();
    bounds.push(text.len());
    let pieces: Vec<(usize, &str)> = bounds.windows(2).map(|w| (w[0], &text[w[0]..w[1]])).collect();
    let (head, rest) = rayon::join(
        || toml::from_str::<RawConfig>(&text[..splits[0]]),
        || {
            pieces
                .par_iter()
                .map(|&(at, p)| toml::from_str::<RawVips>(p).map(|v| (at, v.vips)))
                .collect::<Result<Vec<_>, _>>()
        },
    );
    match (head, rest) {
        (Ok(mut raw), Ok(rest)) if raw.vips.is_empty() => {
            tracing::debug!("parsed the config in {} pieces", rest.len() + 1);
            let mut bases = Vec::new();
            for (at, vips) in rest {
                bases.extend(std::iter::repeat_n(at, vips.len()));
                raw.vips.extend(vips);
            }
            Ok((raw, bases))
        }
        _ => {
            tracing::debug!("config pieces did not parse alone; parsing it whole");
            whole()
        }
    }
}

impl Config {
    /// Read and validate a config file; a relative `target` path is taken
    /// relative to the config's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = files::read_to_string_capped(path, MAX_CONFIG_LEN, "config").map_err(ConfigError::Read)?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, &path.display().to_string(), &base)
    }

    pub fn parse(text: &str, path: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let cx = Ctx { path, text, base: 0 };
        // Count before building: a config with more backends than any target
        // can hold is refused before its TOML costs any memory.
        let backends = text
            .lines()
            .filter(|l| l.trim_start().starts_with("[[vip.backend]]"))
            .count();
        if backends > MAX_BACKENDS_ANY_TARGET {
            return cx.field(
                "vip.backend",
                format!("{backends} backends; no target holds more than {MAX_BACKENDS_ANY_TARGET} (16-bit backend index)"),
            );
        }
        let clock = std::time::Instant::now();
        let (raw, vip_bases) = parse_raw(text).map_err(|e| {
            let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            ConfigError::At {
                path: path.into(),
                line,
                col,
                field: "toml".into(),
                message: one_line(e.message()),
            }
        })?;
        tracing::debug!(
            "config: TOML parsed in {:.1} ms",
            clock.elapsed().as_secs_f64() * 1e3
        );
        let target = match &raw.target {
            None => Target::builtin(),
            Some(t) => {
                crate::target_file::resolve(t.get_ref(), base_dir).map_err(|error| ConfigError::Target {
                    path: path.into(),
                    error,
                })?
            }
        };
        let (toeplitz_key, maglev_seed) = hash_keys(&cx, &raw.hash)?;
        let dev = device(&cx, &raw.device)?;
        let gateway_mac = dev.gateway_mac;
        let (tunnel_v4, tunnel_v6, gue_port) = tunnel(&cx, &raw.tunnel)?;
        let timeouts = timeouts(&cx, &raw.timeouts)?;
        if raw.vips.is_empty() {
            return cx.field("vip", "the config defines no [[vip]]");
        }
        if raw.vips.len() > target.max_vips as usize {
            return cx.field(
                "vip",
                format!(
                    "{} VIPs, target {} allows {}",
                    raw.vips.len(),
                    target.name,
                    target.max_vips
                ),
            );
        }
        let mut vp = VipParser {
            target: &target,
            gateway_mac,
            vip_names: HashSet::new(),
            claimed: BTreeMap::new(),
            total_backends: 0,
            total_lut: 0,
            warnings: Vec::new(),
        };
        let mut vips = Vec::with_capacity(raw.vips.len());
        for (rv, base) in raw.vips.into_iter().zip(vip_bases) {
            vips.push(vp.vip(&Ctx { base, ..cx }, rv)?);
        }
        let warnings = vp.warnings;
        vips.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Config {
            target_fingerprint: target.fingerprint(),
            target,
            toeplitz_key,
            maglev_seed,
            device_mac: dev.mac,
            gateway_mac,
            max_frame: dev.max_frame,
            icmp_rate: dev.icmp_rate,
            icmp_burst: dev.icmp_burst,
            tunnel_v4,
            tunnel_v6,
            gue_port,
            timeouts,
            vips,
            warnings,
        })
    }

    /// SHA-256 of the canonical (sorted) config: equal configs, whatever
    /// their order or formatting, have equal digests.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("config serialises");
        Sha256::digest(json).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
[[vip]]
name = "web"
address = "192.0.2.10"
port = 80

[[vip.backend]]
name = "b"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"

[[vip.backend]]
name = "a"
address = "10.0.0.1"
mac = "02:00:00:00:00:01"
"#;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, "test.toml", Path::new("."))
    }

    #[test]
    fn icmp_budget_defaults_and_bounds() {
        let c = parse(OK).unwrap();
        assert_eq!(
            (c.icmp_rate, c.icmp_burst),
            (DEFAULT_ICMP_RATE, DEFAULT_ICMP_BURST)
        );
        let c = parse(&format!("[device]\nicmp_rate = 0\nicmp_burst = 7\n{OK}")).unwrap();
        assert_eq!((c.icmp_rate, c.icmp_burst), (0, 7));
        for bad in ["icmp_rate = 1000001", "icmp_burst = 0"] {
            let e = parse(&format!("[device]\n{bad}\n{OK}")).unwrap_err().to_string();
            assert!(
                e.contains(&format!("device.{}", bad.split(' ').next().unwrap())),
                "{e}"
            );
        }
    }

    #[test]
    fn minimal_config_sorts_backends_and_picks_m() {
        let c = parse(OK).unwrap();
        assert_eq!(c.vips[0].backends[0].name, "a");
        assert_eq!(c.vips[0].table_size, 65537);
        assert_eq!(c.vips[0].proto, Proto::Tcp);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse(&OK.replace("port = 80", "port = 80\nbogus = 1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml:6:") && e.contains("bogus"), "{e}");
        let e = parse(&OK.replace("10.0.0.2", "10.0.0.999"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml:9:") && e.contains("invalid IP"), "{e}");
        let e = parse(&OK.replace("name = \"a\"", "name = \"b\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate backend name") && e.contains("vip[web].backend[b].name"),
            "{e}"
        );
        let e = parse(&OK.replace("port = 80", "port = 80\ntable_size = 65536"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not prime"), "{e}");
        let e = parse(&OK.replace("port = 80", "port = 80\ntable_size = 1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not prime"), "{e}");
        assert!(parse(&OK.replace("port = 80", "port = 80\ntable_size = 2")).is_ok());
        let three = format!(
            "{OK}\n[[vip.backend]]\nname = \"c\"\naddress = \"10.0.0.3\"\nmac = \"02:00:00:00:00:03\"\n"
        );
        let e = parse(&three.replace("port = 80", "port = 80\ntable_size = 2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("smaller than the 3 backends"), "{e}");
        let e = parse(
            &OK.replace("mode", "x")
                .replace("port = 80", "port = 80\nmode = \"tun\""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown variant"), "{e}");
    }

    #[test]
    fn duplicate_and_overlapping_vips_are_rejected() {
        let two = format!("{OK}\n{}", OK.replace("\"web\"", "\"web2\""));
        let e = parse(&two).unwrap_err().to_string();
        assert!(e.contains("overlaps VIP \"web\""), "{e}");
        let two = format!("{OK}\n{}", OK.replace("port = 80", "port = 0"));
        let e = parse(&two).unwrap_err().to_string();
        assert!(e.contains("duplicate VIP name"), "{e}");
    }

    #[test]
    fn small_m_warns() {
        let c = parse(&OK.replace("port = 80", "port = 80\ntable_size = 101")).unwrap();
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn digest_ignores_order() {
        let a = parse(OK).unwrap();
        let swapped = OK
            .replace("\"b\"", "\"TMP\"")
            .replace("\"a\"", "\"b\"")
            .replace("\"TMP\"", "\"a\"");
        // Same names, swapped addresses: a different config.
        assert_ne!(a.digest(), parse(&swapped).unwrap().digest());
        let reordered = r#"
[[vip]]
port = 80
address = "192.0.2.10"
name = "web"
[[vip.backend]]
name = "a"
mac = "02:00:00:00:00:01"
address = "10.0.0.1"
[[vip.backend]]
name = "b"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
"#;
        assert_eq!(a.digest(), parse(reordered).unwrap().digest());
    }

    /// 200 VIPs of 20 backends: well over one parse piece.
    fn big() -> String {
        let mut s = String::from("# big\n[device]\ngateway_mac = \"02:00:00:00:00:fe\"\n");
        for v in 0..200 {
            s += &format!("\n[[vip]]\nname = \"v{v}\"\naddress = \"10.1.{}.{}\"\nmode = \"tun-gue\"\ntable_size = 4093\n", v / 200, v % 200 + 1);
            for b in 0..20 {
                s += &format!(
                    "[[vip.backend]]\nname = \"b{b}\"\naddress = \"10.2.{v}.{}\"\nweight = {}\n",
                    b + 1,
                    b % 3
                );
            }
        }
        s
    }

    /// `[[ vip ]]` means the same as `[[vip]]` but is never a split point.
    fn unsplit(text: &str) -> String {
        text.replace("[[vip]]", "[[ vip ]]")
    }

    #[test]
    fn pieces_parse_as_the_whole() {
        let text = big();
        assert!(text.len() > 4 * 64 * 1024);
        let (_, bases) = parse_raw(&text).unwrap();
        assert!(bases.iter().collect::<HashSet<_>>().len() > 3, "not split");
        let (_, bases) = parse_raw(&unsplit(&text)).unwrap();
        assert!(bases.iter().all(|&b| b == 0));
        assert_eq!(parse(&text).unwrap(), parse(&unsplit(&text)).unwrap());
    }

    #[test]
    fn errors_in_a_piece_name_the_line_of_the_file() {
        let text = big();
        // A bad MAC in VIP 150, an unknown field in VIP 180.
        for (from, to, want, needle) in [
            (
                "name = \"v150\"\n",
                "name = \"v150\"\nmac = \"x\"\n",
                "unknown field `mac`",
                "mac = \"x\"",
            ),
            (
                "name = \"b7\"\naddress = \"10.2.180.8\"",
                "name = \"b7\"\naddress = \"10.2.180.8\"\nmac = \"zz\"",
                "not a MAC",
                "\"zz\"",
            ),
            (
                "name = \"b3\"\naddress = \"10.2.99.4\"",
                "name = \"b2\"\naddress = \"10.2.99.4\"",
                "duplicate backend",
                "\"b2\"\naddress = \"10.2.99.4\"",
            ),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            let e = parse(&bad).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert_eq!(e, parse(&unsplit(&bad)).unwrap_err().to_string());
            let (line, col) = line_col(&bad, bad.find(needle).unwrap());
            assert!(
                e.starts_with(&format!("test.toml:{line}:{col}:")),
                "{e} (want {line}:{col})"
            );
        }
        // A `[[vip]]` line inside a multi-line string is no split point.
        let bad = text.replacen("name = \"v120\"", "name = \"\"\"\n[[vip]]\n\"\"\"", 1);
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("name \"[[vip]]\\n\" contains whitespace"), "{e}");
        let (line, col) = line_col(&bad, bad.find("\"\"\"").unwrap());
        assert!(
            e.starts_with(&format!("test.toml:{line}:{col}:")),
            "{e} (want {line}:{col})"
        );
    }

    #[test]
    fn primes_list_is_prime() {
        assert!(PRIMES.iter().all(|&p| is_prime(p)));
        assert!(is_prime(65537) && !is_prime(65535) && is_prime(131071) && is_prime(655373));
    }
}
