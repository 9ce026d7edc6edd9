//! Cycle-for-cycle compare: two timed runs of one trace (the RTL and the
//! cycle model), packet by packet, on the cycle each output's last bit
//! left the egress port. Equal egress cycles for every packet make the
//! latency histograms equal too; the first packet that differs is
//! explained as far as the two runs' cycles can tell: whether it was held
//! at the source (RX took it at another cycle: the difference is behind
//! it, in how fast the pipeline took earlier frames) or took longer inside.

use hw_model::hist::Histogram;
use hw_model::model::{EdgeRow, EdgeStats, PacketCycles};

/// The first output whose egress cycle differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimingDiff {
    /// Output index (both runs' outputs, in order).
    pub index: u64,
    /// The input packet it came from.
    pub seq: u64,
    pub got: PacketCycles,
    pub want: PacketCycles,
    /// Egress cycle of the previous output (equal in both runs, else that
    /// one would be the first difference); `None` for the first output.
    pub previous_egress: Option<u64>,
    /// Inputs between the previous output and this one that left nothing
    /// (dropped): their timing is not seen, and may be where the runs part.
    pub dropped_between: u64,
    pub why: String,
}

/// One stage over the whole run: how often it took another number of
/// cycles than the reference, and by how much (here minus reference).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageDelta {
    pub stage: &'static str,
    pub differ: u64,
    pub min_delta: i64,
    pub max_delta: i64,
    /// Sum of the differences, for the mean.
    pub sum_delta: i64,
}

/// A latency histogram's figures, cycles (arrival to the last bit out).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl From<&Histogram> for LatencySummary {
    fn from(h: &Histogram) -> LatencySummary {
        LatencySummary {
            count: h.count(),
            min: h.min(),
            p50: h.quantile(0.5),
            p99: h.quantile(0.99),
            p999: h.quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Counts and the first difference.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TimingComparison {
    /// Outputs with cycles from both runs, compared.
    pub compared: u64,
    /// Of them, with a different egress cycle.
    pub differ: u64,
    /// Outputs without cycles in one of the runs (an untimed model).
    pub untimed: u64,
    /// Largest egress difference, cycles (either sign).
    pub max_abs_delta: u64,
    pub first: Option<TimingDiff>,
    /// Per stage, over every packet compared (empty until one is).
    pub stages: Vec<StageDelta>,
    /// The two runs' latency histograms (the cycle model's report keeps
    /// the same one) are equal bucket for bucket.
    pub histograms_equal: bool,
    pub latency_here: LatencySummary,
    pub latency_ref: LatencySummary,
    /// The ports' and the memory port's figures side by side (empty until
    /// both runs gave theirs): stall counters and the port backlog's high
    /// water are equal when every stage at the edges took the same cycles.
    pub edges: Vec<EdgeRow>,
    #[serde(skip)]
    hist: [Histogram; 2],
    #[serde(skip)]
    previous: Option<(u64, u64)>,
}

impl TimingComparison {
    pub fn ok(&self) -> bool {
        self.differ == 0 && self.untimed == 0 && self.edges_differ() == 0
    }

    /// Both runs' [`EdgeStats`] at the end.
    pub fn set_edges(&mut self, here: &EdgeStats, reference: &EdgeStats) {
        self.edges = here.rows(reference);
    }

    /// Of [`TimingComparison::edges`], the figures counted alike in both
    /// runs that differ.
    pub fn edges_differ(&self) -> usize {
        self.edges.iter().filter(|r| r.differs()).count()
    }

    /// Output `index` (from input `seq`) with its cycles in the run under
    /// test (`got`) and the reference (`want`).
    pub fn push(&mut self, index: u64, seq: u64, got: Option<PacketCycles>, want: Option<PacketCycles>) {
        let (Some(g), Some(w)) = (got, want) else {
            self.untimed += 1;
            return;
        };
        self.compared += 1;
        for (h, c) in self.hist.iter_mut().zip([g, w]) {
            h.record(c.egress.saturating_sub(c.arrival));
        }
        self.histograms_equal = self.hist[0] == self.hist[1];
        self.latency_here = (&self.hist[0]).into();
        self.latency_ref = (&self.hist[1]).into();
        if self.stages.is_empty() {
            self.stages = g
                .stages()
                .iter()
                .map(|(stage, _)| StageDelta {
                    stage,
                    ..StageDelta::default()
                })
                .collect();
        }
        for ((st, (_, gd)), (_, wd)) in self.stages.iter_mut().zip(g.stages()).zip(w.stages()) {
            let d = (gd - wd).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            if d != 0 {
                st.min_delta = if st.differ == 0 { d } else { st.min_delta.min(d) };
                st.max_delta = if st.differ == 0 { d } else { st.max_delta.max(d) };
                st.differ += 1;
                st.sum_delta = st.sum_delta.saturating_add(d);
            }
        }
        let previous = self.previous.replace((seq, g.egress));
        if g.egress == w.egress {
            return;
        }
        self.differ += 1;
        self.max_abs_delta = self.max_abs_delta.max(g.egress.abs_diff(w.egress));
        if self.first.is_none() {
            let dropped_between = seq.saturating_sub(previous.map_or(0, |p| p.0 + 1));
            self.first = Some(TimingDiff {
                index,
                seq,
                got: g,
                want: w,
                previous_egress: previous.map(|p| p.1),
                dropped_between,
                why: explain(&g, &w, dropped_between),
            });
        }
    }
}

/// What the cycles say about where two runs of one packet part: the first
/// stage that took another number of cycles.
pub fn explain(got: &PacketCycles, want: &PacketCycles, dropped_between: u64) -> String {
    let unseen = if dropped_between > 0 {
        format!(
            "; {dropped_between} input(s) just before it left nothing, so their timing (not compared) may be where the runs part"
        )
    } else {
        String::new()
    };
    if got.arrival != want.arrival {
        return format!(
            "it arrived at cycle {} here and {} in the reference: the runs were given different input timing, not a pipeline difference",
            got.arrival, want.arrival
        );
    }
    let stage = got
        .stages()
        .into_iter()
        .zip(want.stages())
        .find(|(g, w)| g.1 != w.1);
    let Some(((name, g), (_, w))) = stage else {
        return format!("every stage took the same cycles, yet the egress differs{unseen}");
    };
    let behind = if name.starts_with("waiting") {
        ": RX took it at another cycle, so the pipeline took the frames before it at another rate (back-pressure from a later stage, or the datapath)"
    } else if name.starts_with("BACKEND") {
        // (both runs decided it at one cycle: what follows is the egress's)
        ": its decision was ready at the same cycle in both, so the egress took it at another cycle (behind other frames: the egress's rate, e.g. a frame the RTL reads again, spec §12.3 decision 3, or TX waiting for the port)"
    } else {
        ""
    };
    format!("the first stage that differs is {name}: {g} cycles here, {w} in the reference{behind}{unseen}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet with the cycle model's lone-packet stages (RX 1 beat,
    /// FRONT 6, memory 101) and `extra` cycles of egress.
    fn c(arrival: u64, ingress: u64, egress: u64) -> Option<PacketCycles> {
        Some(PacketCycles {
            arrival,
            ingress,
            rx_done: ingress + 1,
            ct_req: ingress + 7,
            decided: ingress + 108,
            tx: ingress + 113,
            egress,
        })
    }

    #[test]
    fn equal_runs_compare_clean() {
        let mut t = TimingComparison::default();
        for i in 0..5 {
            t.push(
                i,
                i,
                c(i * 10, i * 10, i * 10 + 116),
                c(i * 10, i * 10, i * 10 + 116),
            );
        }
        assert!(t.ok());
        assert_eq!((t.compared, t.differ), (5, 0));
        assert!(t.histograms_equal);
        assert_eq!((t.latency_here.p50, t.latency_ref.max), (116, 116));
    }

    #[test]
    fn the_first_difference_is_kept_and_explained() {
        let mut t = TimingComparison::default();
        t.push(0, 0, c(0, 0, 116), c(0, 0, 116));
        // input 1 dropped; output 1 from input 2 is 3 cycles late inside
        t.push(1, 2, c(20, 20, 139), c(20, 20, 136));
        // later: held at the source
        t.push(2, 3, c(21, 40, 160), c(21, 30, 150));
        assert!(!t.ok());
        assert_eq!((t.compared, t.differ, t.max_abs_delta), (3, 2, 10));
        assert!(!t.histograms_equal);
        assert_eq!((t.latency_here.max, t.latency_ref.max), (139, 129));
        // per stage: the wait at the source once (+10), the port twice (+3, then 10 - 10 = 0 more)
        let st = |name: &str| {
            t.stages
                .iter()
                .find(|s| s.stage.starts_with(name))
                .unwrap()
                .clone()
        };
        assert_eq!(
            (
                st("waiting").differ,
                st("waiting").min_delta,
                st("waiting").max_delta
            ),
            (1, 10, 10)
        );
        assert_eq!((st("TX").differ, st("TX").sum_delta), (1, 3));
        assert_eq!(st("FRONT").differ, 0);
        let f = t.first.unwrap();
        assert_eq!(
            (f.index, f.seq, f.previous_egress, f.dropped_between),
            (1, 2, Some(116), 1)
        );
        assert!(
            f.why.contains("TX and the egress port (first TX beat to the last bit out): 6 cycles here, 3 in the reference"),
            "{}",
            f.why
        );
        assert!(
            f.why.contains("1 input(s) just before it left nothing"),
            "{}",
            f.why
        );
        let w = explain(&c(21, 40, 160).unwrap(), &c(21, 30, 150).unwrap(), 0);
        assert!(w.contains("waiting at the source (arrival to the first RX beat): 19 cycles here, 9 in the reference: RX took it"), "{w}");
    }

    #[test]
    fn a_slower_front_is_named() {
        let w: PacketCycles = c(0, 0, 116).unwrap();
        let mut g = w;
        for v in [&mut g.ct_req, &mut g.decided, &mut g.tx, &mut g.egress] {
            *v += 3;
        }
        let why = explain(&g, &w, 0);
        assert!(
            why.starts_with("the first stage that differs is FRONT (end of RX to CT_REQ): 9 cycles here, 6 in the reference"),
            "{why}"
        );
    }

    /// A decision at the same cycle in both whose first TX beat comes
    /// later here: the egress is named, not conntrack.
    #[test]
    fn a_slower_egress_after_an_equal_decision_is_named() {
        let w: PacketCycles = c(0, 0, 116).unwrap();
        let mut g = w;
        for v in [&mut g.tx, &mut g.egress] {
            *v += 7;
        }
        let why = explain(&g, &w, 0);
        assert!(
            why.starts_with("the first stage that differs is BACKEND and REWRITE (the decision to the first TX beat): 12 cycles here, 5 in the reference: its decision was ready at the same cycle in both"),
            "{why}"
        );
    }

    #[test]
    fn a_differing_edge_figure_fails_and_an_uncompared_one_does_not() {
        let mut t = TimingComparison::default();
        t.push(0, 0, c(0, 0, 116), c(0, 0, 116));
        let e = EdgeStats {
            rx_beats: 1,
            tx_beats: 1,
            ct_reads: 2,
            scrub_reads: 1024,
            ..EdgeStats::default()
        };
        t.set_edges(&e, &e);
        assert!(t.ok());
        // the RTL's final scrubber pass reads: not counted alike, not compared
        t.set_edges(
            &EdgeStats {
                scrub_reads: 2048,
                ..e
            },
            &e,
        );
        assert!(t.ok());
        assert_eq!(t.edges_differ(), 0);
        // one more bucket read for the packets: a difference
        t.set_edges(&EdgeStats { ct_reads: 3, ..e }, &e);
        assert!(!t.ok());
        assert_eq!(t.edges_differ(), 1);
        let r = t.edges.iter().find(|r| r.differs()).unwrap();
        assert_eq!((r.name, r.here, r.reference), ("ct_reads", 3, 2));
    }

    #[test]
    fn an_untimed_side_fails() {
        let mut t = TimingComparison::default();
        t.push(0, 0, c(0, 0, 1), None);
        assert!(!t.ok());
        assert_eq!(t.untimed, 1);
    }
}
