//! SVG charts (plotters, SVG backend: text is emitted as SVG `<text>`, so
//! no system fonts are needed) and the HTML report directory.

use crate::report::{self, Report};
use plotters::prelude::*;
use std::path::Path;

const W: u32 = 960;
const H: u32 = 420;

fn perr<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Offered and achieved packet rate per time bin.
pub fn throughput_svg(r: &Report) -> Result<String, String> {
    let s = &r.series;
    let bin_s = s.bin_ns as f64 / 1e9;
    let (unit, scale) = match s.bin_ns as f64 * s.offered_packets.len().max(1) as f64 {
        t if t < 2e6 => ("µs", 1e3),
        t if t < 2e9 => ("ms", 1e6),
        _ => ("s", 1e9),
    };
    let pts = |v: &[u64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &p)| ((i as f64 + 0.5) * s.bin_ns as f64 / scale, p as f64 / bin_s / 1e6))
            .collect()
    };
    // The last bin is usually partly filled: leave it out.
    let full = |v: &[u64]| v.len().saturating_sub(if v.len() > 2 { 1 } else { 0 });
    let off = pts(&s.offered_packets[..full(&s.offered_packets)]);
    let ach = pts(&s.achieved_packets[..full(&s.achieved_packets)]);
    let xmax = (s.offered_packets.len().max(1) as f64 * s.bin_ns as f64 / scale).max(1e-9);
    let ymax = off.iter().chain(&ach).map(|p| p.1).fold(0.0, f64::max).max(1e-6) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        let mut c = ChartBuilder::on(&root)
            .caption("Throughput over time", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(perr)?;
        c.configure_mesh()
            .x_desc(format!("time since the first packet ({unit})"))
            .y_desc("Mpps")
            .draw()
            .map_err(perr)?;
        c.draw_series(LineSeries::new(off, BLUE.stroke_width(2)))
            .map_err(perr)?
            .label("offered (input)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        c.draw_series(LineSeries::new(ach, RED.stroke_width(2)))
            .map_err(perr)?
            .label(if r.model == "cycle" {
                "achieved (egress)"
            } else {
                "forwarded (functional: no timing)"
            })
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(perr)?;
        root.present().map_err(perr)?;
    }
    Ok(svg)
}

/// Latency histogram (cycle model).
pub fn latency_svg(r: &Report) -> Result<Option<String>, String> {
    let Some(cy) = &r.cycle else { return Ok(None) };
    let h = &cy.latency_histogram;
    if h.is_empty() {
        return Ok(None);
    }
    let lo = h[0].0;
    let hi = h[h.len() - 1].0;
    let width = if h.len() > 1 {
        h.windows(2).map(|w| w[1].0 - w[0].0).min().unwrap_or(1).max(1)
    } else {
        1
    };
    let ymax = h.iter().map(|b| b.1).max().unwrap_or(1) as f64 * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        let caption = format!(
            "Latency distribution: p50 {} / p99 {} / p99.9 {} / max {} cycles",
            cy.latency_cycles.p50, cy.latency_cycles.p99, cy.latency_cycles.p999, cy.latency_cycles.max
        );
        let mut c = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(lo as f64..(hi + width) as f64, 0f64..ymax)
            .map_err(perr)?;
        c.configure_mesh()
            .x_desc(format!("cycles (at {} MHz)", cy.clock_mhz))
            .y_desc("packets")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(perr)?;
        c.draw_series(h.iter().map(|&(v, n)| {
            Rectangle::new(
                [(v as f64, 0.0), ((v + width) as f64, n as f64)],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(perr)?;
        for (q, v) in [("p50", cy.latency_cycles.p50), ("p99", cy.latency_cycles.p99)] {
            c.draw_series(std::iter::once(PathElement::new(
                vec![(v as f64, 0.0), (v as f64, ymax)],
                RED.stroke_width(1),
            )))
            .map_err(perr)?
            .label(q);
        }
        root.present().map_err(perr)?;
    }
    Ok(Some(svg))
}

/// (label, flow share, expected share)
type Bar = (String, f64, f64);
/// (legend, colour, offset within the row, value of a bar)
type BarSeries = (&'static str, RGBAColor, f64, fn(&Bar) -> f64);

/// Per-backend flow share against the expected share, the busiest VIPs'
/// backends first (at most 48 bars).
pub fn backends_svg(r: &Report) -> Result<Option<String>, String> {
    let (rows, _) = r.backend_rows(8);
    let mut bars: Vec<Bar> = Vec::new();
    for row in rows.iter().take(48) {
        let b = r
            .backends
            .iter()
            .find(|b| b.vip == row[0] && b.backend == row[1])
            .expect("row from backends");
        if b.flows == 0 && b.expected_share == 0.0 {
            continue;
        }
        bars.push((format!("{}/{}", b.vip, b.backend), b.flow_share, b.expected_share));
    }
    if bars.is_empty() {
        return Ok(None);
    }
    let n = bars.len();
    let xmax = bars.iter().map(|b| b.1.max(b.2)).fold(0.0, f64::max).max(0.01) * 115.0;
    let label_w = bars.iter().map(|b| b.0.len()).max().unwrap_or(8) as u32 * 7 + 20;
    let mut svg = String::new();
    {
        let height = 110 + 26 * n as u32;
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        let mut c = ChartBuilder::on(&root)
            .caption("Per-backend load: share of the VIP's flows", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_w)
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
            .map_err(perr)?;
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("% of the VIP's flows")
            .draw()
            .map_err(perr)?;
        // Row i from the top.
        let row = |i: usize| (n - 1 - i) as f64;
        let series: [BarSeries; 2] = [
            ("flows", BLUE.mix(0.75), 0.5, |b| b.1),
            ("expected (lookup-table share)", GREEN.mix(0.6), 0.1, |b| b.2),
        ];
        for (label, color, y0, value) in series {
            c.draw_series(bars.iter().enumerate().map(|(i, b)| {
                Rectangle::new(
                    [(0.0, row(i) + y0), (value(b) * 100.0, row(i) + y0 + 0.4)],
                    color.filled(),
                )
            }))
            .map_err(perr)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(perr)?;
        let style =
            TextStyle::from(("sans-serif", 12).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ));
        for (i, b) in bars.iter().enumerate() {
            let (x, y) = c.backend_coord(&(0.0, row(i) + 0.5));
            root.draw(&Text::new(b.0.clone(), (x - 6, y), style.clone()))
                .map_err(perr)?;
        }
        root.present().map_err(perr)?;
    }
    Ok(Some(svg))
}

/// Write `index.html`, `report.json` and the SVGs into `dir` (created if
/// missing; each file written atomically).
pub fn write_report(dir: &Path, r: &Report) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut files: Vec<(&str, String)> = Vec::new();
    let mut charts: Vec<(&str, &str)> = Vec::new();
    files.push(("throughput.svg", throughput_svg(r)?));
    charts.push(("throughput.svg", "Throughput over time"));
    if let Some(s) = latency_svg(r)? {
        files.push(("latency.svg", s));
        charts.push(("latency.svg", "Latency distribution"));
    }
    if let Some(s) = backends_svg(r)? {
        files.push(("backends.svg", s));
        charts.push(("backends.svg", "Per-backend load"));
    }
    files.push(("index.html", report::html(r, &charts)));
    files.push((
        "report.json",
        serde_json::to_string_pretty(r).map_err(|e| e.to_string())?,
    ));
    for (name, body) in files {
        let p = dir.join(name);
        files::write(&p, &[body.as_bytes()]).map_err(|e| e.to_string())?;
    }
    Ok(())
}
