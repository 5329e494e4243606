//! Small charts drawn on the server as inline SVG (no script, no outside service): a cat's
//! weight and its body condition score over time ([`line_chart`]), and the financial reports'
//! bars, stacked by category or one per ageing bucket ([`bar_chart`]). A chart is built from numbers and
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
    /// A mark per point, in the order of `points` (a lab flag: `H`, `LL`…), drawn as a
    /// flagged point; empty when no point is marked.
    pub marks: Vec<Option<&'a str>>,
}

/// Escapes text for SVG (XML) content and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Draws `series` as a line with a dot per point; `None` when it has no point.
pub fn line_chart(mut series: Series<'_>, tz: &TimeZone) -> Option<Chart> {
    // Sorted together so each mark stays with its point.
    let mut marked: Vec<((Timestamp, f64), Option<&str>)> =
        series.points.iter().enumerate().map(|(i, p)| (*p, series.marks.get(i).copied().flatten())).collect();
    marked.sort_by_key(|((t, _), _)| *t);
    series.points = marked.iter().map(|(p, _)| *p).collect();
    let (first, last) = (series.points.first()?, series.points.last()?);
    let day = |t: Timestamp| t.to_zoned(tz.clone()).date().to_string();
    let fmt = |v: f64| format!("{v:.*}", series.decimals);
    let (lo, hi) = series.y_axis.unwrap_or_else(|| {
        let lo = series.points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = series.points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.15).max(0.2);
        ((lo - pad).max(0.0), hi + pad)
    });
    // Room for the longer value label ("12.50 µg/dL"): about 6.5 units a character.
    let label_chars =
        [lo, hi].iter().map(|v| format!("{} {}", fmt(*v), series.unit).chars().count()).max().unwrap_or(0);
    let left = LEFT.max(10.0 + 6.5 * label_chars as f64);
    let (t0, t1) = (first.0.as_millisecond() as f64, last.0.as_millisecond() as f64);
    let plot_w = WIDTH - left - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: Timestamp| {
        if t1 > t0 { left + (t.as_millisecond() as f64 - t0) / (t1 - t0) * plot_w } else { left + plot_w / 2.0 }
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
            r#"<rect class="chart-band" x="{left}" y="{:.1}" width="{plot_w}" height="{:.1}"/>"#,
            y(b1),
            (y(b0) - y(b1)).max(0.0)
        ));
    }
    // The frame and the value axis's ends.
    svg.push_str(&format!(
        r#"<line class="chart-axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}"/><line class="chart-axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>"#,
        bottom = TOP + plot_h,
        right = WIDTH - RIGHT
    ));
    for v in [lo, hi] {
        svg.push_str(&format!(
            r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y(v) + 4.0,
            escape(&format!("{} {}", fmt(v), series.unit))
        ));
    }
    svg.push_str(&format!(
        r#"<text class="chart-label" x="{left}" y="{:.1}">{}</text>"#,
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
    for ((t, v), mark) in &marked {
        match mark {
            None => svg.push_str(&format!(
                r#"<circle class="chart-point" cx="{:.1}" cy="{:.1}" r="3.5"><title>{}</title></circle>"#,
                x(*t),
                y(*v),
                escape(&format!("{}: {} {}", day(*t), fmt(*v), series.unit))
            )),
            Some(m) => svg.push_str(&format!(
                r#"<circle class="chart-point chart-flagged" data-flag="{m}" cx="{:.1}" cy="{:.1}" r="5"><title>{}</title></circle>"#,
                x(*t),
                y(*v),
                escape(&format!("{}: {} {} ({m})", day(*t), fmt(*v), series.unit)),
                m = escape(m)
            )),
        }
    }
    svg.push_str("</svg>");
    Some(Chart { svg, summary })
}

/// Bars to draw: one bar per group, each stacked from its series' values (in the order of
/// `series`). Values are whole numbers (cents); below zero draws as zero (a period whose
/// credits exceed its sales has no bar; its table row says so).
pub struct Bars<'a> {
    /// The `id` of the `<svg>` element.
    pub id: &'a str,
    pub title: &'a str,
    /// The stacks' names, one colour each (`chart-s0` … `chart-s7`, then again).
    pub series: Vec<String>,
    /// (the bar's label, one value per series).
    pub groups: Vec<(String, Vec<i64>)>,
    /// How a value is written (`12.34` for cents).
    pub format: &'a dyn Fn(i64) -> String,
}

/// Colours the stylesheet defines for stacks.
const STACK_COLOURS: usize = 8;

/// Draws `bars` as vertical stacked bars with a legend; `None` when there is no group. Each
/// stack carries `data-series` and `data-value` (what the browser test and a reader's tools
/// look for) and a `<title>` with its label, series and value.
pub fn bar_chart(bars: Bars<'_>) -> Option<Chart> {
    if bars.groups.is_empty() {
        return None;
    }
    let fmt = bars.format;
    let total = |vals: &[i64]| vals.iter().map(|v| (*v).max(0)).sum::<i64>();
    let top = bars.groups.iter().map(|(_, v)| total(v)).max().unwrap_or(0).max(1);
    // The legend takes a line per four series above the plot.
    let legend_rows = bars.series.len().div_ceil(4).max(1);
    let plot_top = TOP + 16.0 * legend_rows as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - plot_top - BOTTOM;
    let slot = plot_w / bars.groups.len() as f64;
    // A lone bar stays a bar, not a wall.
    let bar_w = (slot * 0.7).clamp(1.0, 56.0);
    let y = |v: i64| plot_top + plot_h - v as f64 / top as f64 * plot_h;

    let biggest = bars.groups.iter().max_by_key(|(_, v)| total(v)).map(|(l, _)| l.as_str()).unwrap_or("");
    let summary = format!(
        "{} {} from {} to {}; the largest, {}, is {}",
        bars.groups.len(),
        if bars.groups.len() == 1 { "bar" } else { "bars" },
        bars.groups.first().map_or("", |g| g.0.as_str()),
        bars.groups.last().map_or("", |g| g.0.as_str()),
        biggest,
        fmt(top)
    );
    let mut svg = format!(
        r#"<svg id="{id}" class="chart bars" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        id = escape(bars.id),
        title = escape(bars.title),
        desc = escape(&summary),
    );
    for (n, name) in bars.series.iter().enumerate() {
        let (col, row) = ((n % 4) as f64, (n / 4) as f64);
        let (x, ly) = (LEFT + col * plot_w / 4.0, TOP + row * 16.0);
        svg.push_str(&format!(
            r#"<rect class="chart-s{c}" x="{x:.1}" y="{ly:.1}" width="10" height="10"/><text class="chart-label" x="{tx:.1}" y="{ty:.1}">{name}</text>"#,
            c = n % STACK_COLOURS,
            tx = x + 14.0,
            ty = ly + 9.0,
            name = escape(name)
        ));
    }
    let bottom = plot_top + plot_h;
    svg.push_str(&format!(
        r#"<line class="chart-axis" x1="{LEFT}" y1="{plot_top:.1}" x2="{LEFT}" y2="{bottom:.1}"/><line class="chart-axis" x1="{LEFT}" y1="{bottom:.1}" x2="{right}" y2="{bottom:.1}"/>"#,
        right = WIDTH - RIGHT
    ));
    for v in [0, top] {
        svg.push_str(&format!(
            r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&fmt(v))
        ));
    }
    // Labels under the bars: all of them when they fit, else every k-th.
    let every = (bars.groups.len() as f64 * 70.0 / plot_w).ceil().max(1.0) as usize;
    for (i, (label, values)) in bars.groups.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        svg.push_str(&format!(r#"<g class="chart-bar" data-label="{}">"#, escape(label)));
        let mut base = 0i64;
        for (n, v) in values.iter().enumerate() {
            let v = (*v).max(0);
            if v == 0 {
                continue;
            }
            let name = bars.series.get(n).map_or("", String::as_str);
            svg.push_str(&format!(
                r#"<rect class="chart-stack chart-s{c}" data-series="{s}" data-value="{v}" x="{x:.1}" y="{top_y:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{t}</title></rect>"#,
                c = n % STACK_COLOURS,
                s = escape(name),
                top_y = y(base + v),
                h = (y(base) - y(base + v)).max(0.5),
                t = escape(&format!("{label}: {name} {}", fmt(v)))
            ));
            base += v;
        }
        svg.push_str("</g>");
        if i % every == 0 {
            svg.push_str(&format!(
                r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                HEIGHT - 8.0,
                escape(label)
            ));
        }
    }
    svg.push_str("</svg>");
    Some(Chart { svg, summary })
}
