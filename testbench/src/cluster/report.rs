//! The cluster replay's report: one serialisable structure, printed as
//! tables or as JSON.

use crate::report::{kv, table, BackendReport, Conntrack, Latency, Throughput};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeReport {
    pub node: u16,
    /// Packets the router sent to it.
    pub routed: u64,
    /// Frames it sent (`tx_packets`).
    pub forwarded: u64,
    /// Frames it did not forward (drop, parse and MAC counters).
    pub dropped: u64,
    /// Its share of the routed packets.
    pub share: f64,
    pub ct_hits: u64,
    pub ct_misses: u64,
    pub ct_inserts: u64,
    pub ct_evictions: u64,
    pub ct_ageouts: u64,
    /// Restarts (`node K up` after a `down`).
    pub restarts: u32,
    /// Trace packets that arrived while it was down, and the device time.
    pub down_packets: u64,
    pub down_ns: u64,
    /// The bank last assigned to it.
    pub bank: String,
    /// Cycle model: latency (arrival of the first beat to the last bit
    /// out), ns, over all its incarnations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ns: Option<Latency>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EventReport {
    pub at_packet: u64,
    /// Line of the events file.
    pub line: usize,
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageReport {
    pub image: String,
    pub generation: u64,
    /// The image it is compared with (the one before it in the events
    /// file, or the initial image).
    pub against: String,
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionReport {
    pub tracked: u64,
    pub untracked: u64,
    #[serde(flatten)]
    pub causes: crate::attribution::Causes,
    /// NAT replies that reached a node without their return entry because
    /// the node that held it was down or had restarted (dropped, or passed
    /// on untranslated: either way the client never gets them)...
    pub nat_replies_lost: u64,
    /// ...and the distinct connections they belong to (broken by node
    /// churn: NAT state is per node).
    pub node_churn_nat: u64,
    /// Established connections broken by node churn, NAT included.
    pub node_churn_total: u64,
    /// Output frames forwarded unchanged, and not attributable.
    pub passed: u64,
    pub unattributed: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterReport {
    pub trace: String,
    pub image: String,
    pub model: String,
    pub timing: String,
    pub nodes: u16,
    pub ecmp: String,
    pub offered: Throughput,
    pub achieved: Throughput,
    pub wall_seconds: f64,
    pub model_pps: f64,
    /// Packets that arrived while no node was up.
    pub unrouted: u64,
    pub per_node: Vec<NodeReport>,
    /// Counters summed over nodes and incarnations.
    pub counters: Vec<(String, u64)>,
    pub drops: Vec<(String, u64)>,
    pub conntrack: Conntrack,
    pub backends: Vec<BackendReport>,
    pub connections: ConnectionReport,
    pub events: Vec<EventReport>,
    pub images: Vec<ImageReport>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub damage: Option<String>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

impl ClusterReport {
    /// The terminal report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "cluster replay of {} through {} nodes with {} ({} model; timing: {}; ECMP: {})",
            self.trace, self.nodes, self.image, self.model, self.timing, self.ecmp
        );
        for w in &self.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
        let _ = writeln!(s, "\nthroughput");
        let rate = |name: &str, r: &Throughput| {
            let mut v = vec![name.to_string(), r.packets.to_string(), r.bytes.to_string()];
            if r.duration_ns == 0 {
                v.extend(["-".to_string(), "-".to_string()]);
            } else {
                v.extend([format!("{:.3}", r.mpps), format!("{:.3}", r.gbps_l1)]);
            }
            v
        };
        table(
            &mut s,
            &["", "packets", "bytes", "Mpps", "Gbps L1"],
            &[rate("offered", &self.offered), rate("achieved", &self.achieved)],
        );
        let _ = writeln!(
            s,
            "  model speed: {:.0} packets/s ({:.2} s wall)",
            self.model_pps, self.wall_seconds
        );
        let _ = writeln!(s, "\nnodes");
        let rows: Vec<Vec<String>> = self
            .per_node
            .iter()
            .map(|n| {
                vec![
                    n.node.to_string(),
                    n.routed.to_string(),
                    pct(n.share),
                    n.forwarded.to_string(),
                    n.dropped.to_string(),
                    n.ct_hits.to_string(),
                    n.ct_inserts.to_string(),
                    n.ct_evictions.to_string(),
                    n.ct_ageouts.to_string(),
                    n.restarts.to_string(),
                    n.down_packets.to_string(),
                    format!("{:.3}", n.down_ns as f64 / 1e6),
                    n.bank.clone(),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "node",
                "routed",
                "share",
                "forwarded",
                "dropped",
                "ct hits",
                "inserts",
                "evictions",
                "age-outs",
                "restarts",
                "down pkts",
                "down ms",
                "bank",
            ],
            &rows,
        );
        if self.per_node.iter().any(|n| n.latency_ns.is_some()) {
            let _ = writeln!(s, "\nlatency per node, ns (cycle model)");
            let rows: Vec<Vec<String>> = self
                .per_node
                .iter()
                .filter_map(|n| {
                    let l = n.latency_ns.as_ref()?;
                    Some(vec![
                        n.node.to_string(),
                        l.p50.to_string(),
                        l.p99.to_string(),
                        l.p999.to_string(),
                        l.max.to_string(),
                    ])
                })
                .collect();
            table(&mut s, &["node", "p50", "p99", "p99.9", "max"], &rows);
        }
        if !self.drops.is_empty() {
            let _ = writeln!(s, "\ndrops (all nodes)");
            let rows: Vec<(&str, String)> = self
                .drops
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_string()))
                .collect();
            kv(&mut s, &rows);
        }
        let c = &self.connections;
        let m = &c.causes;
        let _ = writeln!(s, "\nconnections");
        kv(
            &mut s,
            &[
                (
                    "flows tracked",
                    format!("{} ({} beyond the tracking cap)", c.tracked, c.untracked),
                ),
                (
                    "changed backend",
                    format!("{} times, {} connections", m.moved, m.connections),
                ),
                ("  backend removed/down", m.backend_removed.to_string()),
                ("  node churn, same table", m.node_churn_same_table.to_string()),
                (
                    "  node churn, table differs",
                    m.node_churn_table_differs.to_string(),
                ),
                ("  evicted", m.evicted.to_string()),
                ("  idle past timeout", m.timeout.to_string()),
                ("  not yet established", m.not_established.to_string()),
                (
                    "NAT connections lost to node churn",
                    format!("{} ({} replies lost)", c.node_churn_nat, c.nat_replies_lost),
                ),
            ],
        );
        for (cause, x) in &m.samples {
            let _ = writeln!(s, "    {cause}: {x}");
        }
        if !self.events.is_empty() {
            let _ = writeln!(s, "\nevents");
            for e in &self.events {
                let _ = writeln!(s, "  before packet {} (line {}): {}", e.at_packet, e.line, e.what);
            }
        }
        for i in &self.images {
            let _ = writeln!(
                s,
                "\n{} (generation {}) against {}",
                i.image, i.generation, i.against
            );
            for c in &i.changes {
                let _ = writeln!(s, "  {c}");
            }
        }
        if !self.backends.is_empty() {
            let _ = writeln!(s, "\nbackends");
            let r = crate::report::Report {
                backends: self.backends.clone(),
                ..Default::default()
            };
            let (rows, hidden) = r.backend_rows(12);
            table(
                &mut s,
                &[
                    "vip", "backend", "packets", "replies", "flows", "share", "expected", "diff pp",
                ],
                &rows,
            );
            if hidden > 0 {
                let _ = writeln!(s, "  ({hidden} quieter backends not shown; --json has them all)");
            }
        }
        s
    }
}
