//! Small trend charts drawn on the server as inline SVG (no script, no outside service): a
//! cat's weight and its body condition score over time. A chart is built from numbers and
//! dates only, and every piece of text in it goes through [`escape`], so the markup is safe to
//! put in a page unescaped. Each chart carries a one-line text summary for screen readers and
//! a `<title>` per point (date and value) that browsers show on hover.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Drawing area, in SVG user units (the chart scales to its container).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A chart ready for a page.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The `<svg>` element.
    pub svg: String,
    /// What the chart shows, in words ("5 weights from 2025-01-02 to 2026-03-04; latest 4.2 kg").
    pub summary: String,
}

/// What to draw.
pub struct Series<'a> {
    /// The `id` of the `<svg>` element.
    pub id: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    /// (when, value), in any order.
    pub points: Vec<(Timestamp, f64)>,
    /// A fixed value axis (the BCS's 1–9); else the data's range, padded.
    pub y_axis: Option<(f64, f64)>,
    /// A shaded band (the ideal BCS).
    pub band: Option<(f64, f64)>,
    /// Decimals of the labels.
    pub decimals: usize,
}

/// Escapes text for SVG (XML) content and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Draws `series` as a line with a dot per point; `None` when it has no point.
pub fn line_chart(mut series: Series<'_>, tz: &TimeZone) -> Option<Chart> {
    series.points.sort_by_key(|(t, _)| *t);
    let (first, last) = (series.points.first()?, series.points.last()?);
    let day = |t: Timestamp| t.to_zoned(tz.clone()).date().to_string();
    let fmt = |v: f64| format!("{v:.*}", series.decimals);
    let (lo, hi) = series.y_axis.unwrap_or_else(|| {
        let lo = series.points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = series.points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.15).max(0.2);
        ((lo - pad).max(0.0), hi + pad)
    });
    let (t0, t1) = (first.0.as_millisecond() as f64, last.0.as_millisecond() as f64);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: Timestamp| {
        if t1 > t0 { LEFT + (t.as_millisecond() as f64 - t0) / (t1 - t0) * plot_w } else { LEFT + plot_w / 2.0 }
    };
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * plot_h;

    let summary = format!(
        "{} {} from {} to {}; latest {} {}",
        series.points.len(),
        if series.points.len() == 1 { "value" } else { "values" },
        day(first.0),
        day(last.0),
        fmt(last.1),
        series.unit
    );
    let mut svg = format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        id = escape(series.id),
        title = escape(series.title),
        desc = escape(&summary),
    );
    if let Some((b0, b1)) = series.band {
        svg.push_str(&format!(
            r#"<rect class="chart-band" x="{LEFT}" y="{:.1}" width="{plot_w}" height="{:.1}"/>"#,
            y(b1),
            (y(b0) - y(b1)).max(0.0)
        ));
    }
    // The frame and the value axis's ends.
    svg.push_str(&format!(
        r#"<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/><line class="chart-axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>"#,
        bottom = TOP + plot_h,
        right = WIDTH - RIGHT
    ));
    for v in [lo, hi] {
        svg.push_str(&format!(
            r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&format!("{} {}", fmt(v), series.unit))
        ));
    }
    svg.push_str(&format!(
        r#"<text class="chart-label" x="{LEFT}" y="{:.1}">{}</text>"#,
        HEIGHT - 8.0,
        escape(&day(first.0))
    ));
    if series.points.len() > 1 {
        svg.push_str(&format!(
            r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            HEIGHT - 8.0,
            escape(&day(last.0))
        ));
        let line: Vec<String> = series.points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
        svg.push_str(&format!(r#"<polyline class="chart-line" points="{}"/>"#, line.join(" ")));
    }
    for (t, v) in &series.points {
        svg.push_str(&format!(
            r#"<circle class="chart-point" cx="{:.1}" cy="{:.1}" r="3.5"><title>{}</title></circle>"#,
            x(*t),
            y(*v),
            escape(&format!("{}: {} {}", day(*t), fmt(*v), series.unit))
        ));
    }
    svg.push_str("</svg>");
    Some(Chart { svg, summary })
}
