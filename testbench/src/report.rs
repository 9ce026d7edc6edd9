//! The replay report: one serialisable structure, printed as a table on the
//! terminal, as JSON, or as an HTML page with SVG charts.

use hw_model::model::EdgeStats;
use serde::Serialize;
use std::fmt::Write;

/// Throughput over a time window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    pub packets: u64,
    /// Frame bytes as captured (no FCS).
    pub bytes: u64,
    /// Window the rate is measured over, ns (0: not timed).
    pub duration_ns: u64,
    pub mpps: f64,
    /// Gbit/s counting frame + FCS.
    pub gbps_l2: f64,
    /// Gbit/s counting frame + FCS + preamble + inter-frame gap (what a port
    /// carries).
    pub gbps_l1: f64,
}

impl Throughput {
    /// `l1_bytes`: bytes on the wire including preamble, FCS, gap and
    /// padding to the minimum frame.
    pub fn new(packets: u64, bytes: u64, l1_bytes: u64, duration_ns: u64) -> Throughput {
        let d = duration_ns as f64;
        let per = |x: f64| if duration_ns == 0 { 0.0 } else { x / d };
        Throughput {
            packets,
            bytes,
            duration_ns,
            mpps: per(packets as f64) * 1e3,
            gbps_l2: per(((bytes + 4 * packets) * 8) as f64),
            gbps_l1: per((l1_bytes * 8) as f64),
        }
    }
}

/// Bytes a frame of `len` bytes (no FCS) occupies on the wire (the
/// contract's definition, which the cycle model's ports use).
pub fn l1_bytes(len: usize) -> u64 {
    lbnic_contract::target::l1_bytes(len as u64)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub clock_mhz: u32,
    pub datapath_bytes: u32,
    pub port_gbps: u32,
    /// `mac` (drops on overflow) or `axis` (back-pressured source).
    pub rx_source: String,
    pub rx_buffer_bytes: u32,
    /// Most bytes in the MAC's receive buffer (`mac` source).
    pub rx_buffer_high_water: u64,
    /// Frames dropped because the receive buffer was full.
    pub rx_overflow: u64,
    /// Cycles modelled from the first arrival to the last frame leaving.
    pub cycles: u64,
    pub cycles_per_packet: f64,
    /// Share of cycles each stage moved a packet or a beat.
    pub utilisation: Vec<(String, f64)>,
    pub stalls: Vec<(String, u64)>,
    pub fifo_high_water: Vec<(String, usize)>,
    pub ct_reads: u64,
    pub ct_writes: u64,
    pub ct_forwarded: u64,
    pub ct_outstanding_high_water: u32,
    pub scrub_reads: u64,
    pub latency_cycles: Latency,
    pub latency_ns: Latency,
    /// (cycles, packets) buckets for the latency chart.
    pub latency_histogram: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Conntrack {
    pub hits: u64,
    pub misses: u64,
    pub hit_rate: f64,
    pub inserts: u64,
    pub evictions: u64,
    pub ageouts: u64,
}

impl Conntrack {
    /// From a device's (or a sum of devices') counters.
    pub fn from_counters(c: &hw_model::device::Counters) -> Conntrack {
        use lbnic_contract::target::regs::Counter;
        let (hits, misses) = (c.get(Counter::CtHits), c.get(Counter::CtMisses));
        Conntrack {
            hits,
            misses,
            hit_rate: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            inserts: c.get(Counter::CtInserts),
            evictions: c.get(Counter::CtEvictions),
            ageouts: c.get(Counter::CtAgeouts),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendReport {
    pub vip: String,
    pub backend: String,
    pub packets: u64,
    pub bytes: u64,
    /// NAT replies from this backend (included in `packets`).
    pub replies: u64,
    pub flows: u64,
    /// Share of its VIP's flows it got.
    pub flow_share: f64,
    /// Share of its VIP's flows it should get: its share of the lookup
    /// table in force when each flow arrived (= weight share within one
    /// table entry; equal shares for RR).
    pub expected_share: f64,
    /// Share of the lookup table in the last bank.
    pub table_share: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowReport {
    pub tracked: u64,
    /// New flows seen after the tracking cap was reached (not tracked).
    pub untracked: u64,
    #[serde(flatten)]
    pub moves: crate::attribution::Moves,
    /// Output frames forwarded unchanged (no VIP, or `pass` actions).
    pub passed: u64,
    /// Output frames not attributable to a backend (ICMP errors, later fragments to a shared address).
    pub unattributed: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateReport {
    pub at_packet: u64,
    pub image: String,
    pub generation: u64,
}

/// Throughput over time: per bin, offered and achieved packets and bytes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeriesReport {
    pub bin_ns: u64,
    pub offered_packets: Vec<u64>,
    pub offered_bytes: Vec<u64>,
    pub achieved_packets: Vec<u64>,
    pub achieved_bytes: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub trace: String,
    pub image: String,
    pub model: String,
    pub timing: String,
    pub threads: usize,
    /// Why fewer threads were used than asked for.
    pub threads_note: Option<String>,
    pub offered: Throughput,
    pub achieved: Throughput,
    /// Packets cut by the capture's snaplen.
    pub truncated: u64,
    pub skipped_truncated: u64,
    pub wall_seconds: f64,
    /// Replay speed of the model on this machine.
    pub model_pps: f64,
    pub counters: Vec<(String, u64)>,
    /// Non-zero drop counters.
    pub drops: Vec<(String, u64)>,
    pub conntrack: Conntrack,
    pub cycle: Option<CycleReport>,
    /// What the ports and the conntrack memory port saw (the timed models:
    /// the cycle model's own figures, the RTL harness's at the top's ports).
    pub edge: Option<EdgeStats>,
    pub backends: Vec<BackendReport>,
    pub flows: FlowReport,
    pub updates: Vec<UpdateReport>,
    pub series: SeriesReport,
    pub warnings: Vec<String>,
    /// Where a damaged capture ended the replay (absent when it did not).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub damage: Option<String>,
}

fn si(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.1}")
    } else if x >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Rows of (label, value) pairs.
pub fn kv(s: &mut String, rows: &[(&str, String)]) {
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(s, "  {k:<w$}  {v}");
    }
}

/// A table with a header row; numeric-looking cells right-aligned.
pub fn table(s: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let n = head.len();
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |s: &mut String, cells: &[String]| {
        let _ = write!(s, " ");
        for (i, c) in cells.iter().enumerate().take(n) {
            let num = i > 0
                && c.chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_digit() || ch == '-' || ch == '+');
            if num {
                let _ = write!(s, " {c:>width$}", width = w[i]);
            } else {
                let _ = write!(s, " {c:<width$}", width = w[i]);
            }
        }
        let _ = writeln!(s);
    };
    line(s, &head.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    line(s, &w.iter().map(|&x| "-".repeat(x)).collect::<Vec<_>>());
    for r in rows {
        line(s, r);
    }
}

impl Report {
    /// Backend rows: the `limit` busiest per VIP (all with `limit` 0).
    pub fn backend_rows(&self, limit: usize) -> (Vec<Vec<String>>, usize) {
        let mut rows = Vec::new();
        let mut hidden = 0;
        let mut i = 0;
        while i < self.backends.len() {
            let vip = &self.backends[i].vip;
            let mut group: Vec<&BackendReport> =
                self.backends[i..].iter().take_while(|b| &b.vip == vip).collect();
            i += group.len();
            if limit > 0 && group.len() > limit {
                group.sort_by_key(|b| std::cmp::Reverse(b.packets));
                hidden += group.len() - limit;
                group.truncate(limit);
            }
            for b in group {
                rows.push(vec![
                    b.vip.clone(),
                    b.backend.clone(),
                    b.packets.to_string(),
                    b.replies.to_string(),
                    b.flows.to_string(),
                    pct(b.flow_share),
                    pct(b.expected_share),
                    format!("{:+.1}", 100.0 * (b.flow_share - b.expected_share)),
                ]);
            }
        }
        (rows, hidden)
    }

    /// The terminal report, section by section.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.text_header(&mut s);
        self.text_throughput(&mut s);
        self.text_pipeline(&mut s);
        self.text_packets(&mut s);
        self.text_conntrack(&mut s);
        self.text_backends(&mut s);
        self.text_connections(&mut s);
        self.text_updates(&mut s);
        s
    }

    /// The run: trace, image, model, timing, threads, notes and warnings.
    fn text_header(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "replay of {} through {} ({} model; timing: {}; {} thread{})",
            self.trace,
            self.image,
            self.model,
            self.timing,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        );
        if let Some(n) = &self.threads_note {
            let _ = writeln!(s, "  note: {n}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
    }

    /// Offered against achieved, and the model's own speed.
    fn text_throughput(&self, s: &mut String) {
        let _ = writeln!(s, "\nthroughput");
        let rate = |r: &Throughput| {
            if r.duration_ns == 0 {
                vec![
                    r.packets.to_string(),
                    r.bytes.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]
            } else {
                vec![
                    r.packets.to_string(),
                    r.bytes.to_string(),
                    si(r.mpps),
                    si(r.gbps_l2),
                    si(r.gbps_l1),
                ]
            }
        };
        let mut off = vec!["offered".to_string()];
        off.extend(rate(&self.offered));
        let mut ach = vec!["achieved".to_string()];
        ach.extend(rate(&self.achieved));
        table(
            s,
            &["", "packets", "bytes", "Mpps", "Gbps L2", "Gbps L1"],
            &[off, ach],
        );
        if self.model == "functional" {
            let _ = writeln!(
                s,
                "  (functional model: no timing; achieved = what left, over the offered window)"
            );
        }
        let _ = writeln!(
            s,
            "  model speed: {:.0} packets/s ({:.2} s wall)",
            self.model_pps, self.wall_seconds
        );
    }

    /// The cycle model's stages, stalls, memory and latency.
    fn text_pipeline(&self, s: &mut String) {
        if let Some(c) = &self.cycle {
            let _ = writeln!(
                s,
                "\npipeline ({} MHz, {} B/beat, {} Gbit/s port): {} cycles, {:.3} cycles/packet",
                c.clock_mhz, c.datapath_bytes, c.port_gbps, c.cycles, c.cycles_per_packet
            );
            let _ = if c.rx_source == "mac" {
                writeln!(
                    s,
                    "  ingress: MAC, receive buffer {} of {} bytes at most, {} frames dropped on overflow",
                    c.rx_buffer_high_water, c.rx_buffer_bytes, c.rx_overflow
                )
            } else {
                writeln!(s, "  ingress: back-pressured AXI-Stream source (nothing dropped)")
            };
            // RX's entry is the port backlog: frames arrived and waiting.
            let rows: Vec<Vec<String>> = c
                .utilisation
                .iter()
                .zip(&c.fifo_high_water)
                .map(|((st, u), (_, hw))| vec![st.clone(), pct(*u), hw.to_string()])
                .collect();
            table(s, &["stage", "busy", "input fifo high water"], &rows);
            let stalls: Vec<Vec<String>> = c
                .stalls
                .iter()
                .map(|(k, v)| vec![k.clone(), v.to_string(), pct(*v as f64 / c.cycles.max(1) as f64)])
                .collect();
            let _ = writeln!(s);
            table(s, &["stall cause", "cycles", "of all"], &stalls);
            let _ = writeln!(
                s,
                "  conntrack memory: {} reads ({} forwarded from in-flight), {} writes, {} scrub reads, {} outstanding at most",
                c.ct_reads, c.ct_forwarded, c.ct_writes, c.scrub_reads, c.ct_outstanding_high_water
            );
            let _ = writeln!(
                s,
                "\nlatency (arrival of the first beat to the last bit out of the egress port)"
            );
            let l = |x: &Latency| {
                vec![
                    x.p50.to_string(),
                    x.p99.to_string(),
                    x.p999.to_string(),
                    x.max.to_string(),
                    format!("{:.1}", x.mean),
                ]
            };
            let mut a = vec!["cycles".to_string()];
            a.extend(l(&c.latency_cycles));
            let mut b = vec!["ns".to_string()];
            b.extend(l(&c.latency_ns));
            table(s, &["", "p50", "p99", "p99.9", "max", "mean"], &[a, b]);
        } else if let Some(e) = &self.edge {
            // The RTL: what its harness counted at the top's ports.
            let _ = writeln!(
                s,
                "\nports (the RTL harness's count): RX {} beats, TX {} beats, port backlog {} frames at most",
                e.rx_beats, e.tx_beats, e.rx_port_high_water
            );
            let _ = writeln!(
                s,
                "  stalls: rx_datapath {} cycles, tx_port {} cycles",
                e.rx_datapath_stalls, e.tx_port_stalls
            );
            let _ = writeln!(
                s,
                "  conntrack memory: {} bucket reads and {} way writes for packets, {} scrub reads and {} scrub way writes, {} read requests outstanding at most",
                e.ct_reads, e.ct_writes, e.scrub_reads, e.scrub_writes, e.ct_outstanding_high_water
            );
        }
    }

    /// Packets in, out, passed and dropped.
    fn text_packets(&self, s: &mut String) {
        let _ = writeln!(s, "\npackets");
        let mut rows: Vec<(&str, String)> = self
            .counters
            .iter()
            .filter(|(k, _)| ["rx_packets", "tx_packets", "pass_packets"].contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect();
        for (k, v) in &self.drops {
            rows.push((k.as_str(), v.to_string()));
        }
        if self.truncated > 0 {
            rows.push(("cut by snaplen", self.truncated.to_string()));
        }
        kv(s, &rows);
    }

    /// Conntrack hits, inserts, evictions, age-outs.
    fn text_conntrack(&self, s: &mut String) {
        let ct = &self.conntrack;
        let _ = writeln!(s, "\nconntrack");
        kv(
            s,
            &[
                (
                    "hit rate",
                    format!("{} ({} hits, {} misses)", pct(ct.hit_rate), ct.hits, ct.misses),
                ),
                ("inserts", ct.inserts.to_string()),
                ("evictions", ct.evictions.to_string()),
                ("age-outs", ct.ageouts.to_string()),
            ],
        );
    }

    /// Per backend, flows against the lookup table's share.
    fn text_backends(&self, s: &mut String) {
        if !self.backends.is_empty() {
            let _ = writeln!(s, "\nbackends (flows against the lookup-table share)");
            let (rows, hidden) = self.backend_rows(12);
            table(
                s,
                &[
                    "vip", "backend", "packets", "replies", "flows", "share", "expected", "diff pp",
                ],
                &rows,
            );
            if hidden > 0 {
                let _ = writeln!(s, "  ({hidden} quieter backends not shown; --json has them all)");
            }
        }
    }

    /// Connections that changed backend, by cause.
    fn text_connections(&self, s: &mut String) {
        let f = &self.flows;
        let _ = writeln!(s, "\nconnections");
        kv(
            s,
            &[
                (
                    "flows tracked",
                    format!("{} ({} beyond the tracking cap)", f.tracked, f.untracked),
                ),
                ("changed backend", f.moves.moved.to_string()),
                ("  backend removed/down", f.moves.backend_removed.to_string()),
                ("  idle past timeout", f.moves.expired.to_string()),
                ("  not yet established", f.moves.not_established.to_string()),
                ("  BROKEN (established, backend up)", f.moves.broken.to_string()),
            ],
        );
        for b in &f.moves.broken_samples {
            let _ = writeln!(s, "    {b}");
        }
    }

    /// The table updates applied during the replay.
    fn text_updates(&self, s: &mut String) {
        if !self.updates.is_empty() {
            let _ = writeln!(s, "\ntable updates");
            for u in &self.updates {
                let _ = writeln!(
                    s,
                    "  before packet {}: {} (generation {})",
                    u.at_packet, u.image, u.generation
                );
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The HTML page: the terminal report's tables and the charts (SVG files
/// beside it, embedded with `<img>`).
pub fn html(r: &Report, charts: &[(&str, &str)]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>lbnic replay: {}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}}\
pre{{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:13px}}\
img{{max-width:100%;border:1px solid #ddd;margin:.5em 0}}\
h1{{font-size:1.4em}} h2{{font-size:1.15em;margin-top:1.5em}}</style></head><body>\n",
        esc(&r.trace)
    );
    let _ = writeln!(s, "<h1>lbnic replay: {}</h1>", esc(&r.trace));
    let _ = writeln!(
        s,
        "<p>Image <code>{}</code>, {} model, timing: {}. Generated by <code>lbnic replay --report</code>; \
the same data is in <a href=\"report.json\">report.json</a>.</p>",
        esc(&r.image),
        esc(&r.model),
        esc(&r.timing)
    );
    for (file, title) in charts {
        let _ = writeln!(
            s,
            "<h2>{}</h2>\n<img src=\"{}\" alt=\"{}\">",
            esc(title),
            esc(file),
            esc(title)
        );
    }
    let _ = writeln!(s, "<h2>Report</h2>\n<pre>{}</pre>", esc(&r.to_text()));
    let (rows, _) = r.backend_rows(0);
    if rows.len() > 12 {
        let _ = writeln!(s, "<h2>All backends</h2>\n<pre>");
        let mut t = String::new();
        table(
            &mut t,
            &[
                "vip", "backend", "packets", "replies", "flows", "share", "expected", "diff pp",
            ],
            &rows,
        );
        let _ = writeln!(s, "{}</pre>", esc(&t));
    }
    s.push_str("</body></html>\n");
    s
}
