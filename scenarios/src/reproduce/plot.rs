//! PNG plots of [`Figure`]s with `plotters`: lines with markers and error bars over a numeric
//! x, or grouped bars over a categorical x.
//!
//! - Text is drawn with `ab_glyph` from a font compiled into the binary
//!   (`scenarios/assets/DejaVuSans-subset.ttf`, DejaVu Sans cut to ASCII plus a few symbols;
//!   Bitstream Vera license, `scenarios/assets/LICENSE-DejaVu.txt`): no system fonts, no files
//!   read at run time.
//! - The picture is drawn into an RGB buffer and encoded with `png` in memory, so the bytes
//!   depend only on the figure: the same rows give the same file on any `--jobs`.
//! - One (series, metric) pair is one colour, in order of first appearance in the rows.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::{Figure, PlotKind};
use crate::output::TidyRow;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 600;
const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            panic!("invariant: the font compiled into nftwin parses");
        }
    });
}

/// One drawn line or bar colour: its legend label and its `(x, value, stderr)` points.
struct Curve {
    label: String,
    points: Vec<(String, f64, f64)>,
}

/// The curves of one panel: one per (series, metric) among `rows`, in order of appearance;
/// labelled by series, or by metric too when the panel holds several.
fn curves(rows: &[&TidyRow]) -> Vec<Curve> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.series.as_str(), r.metric.as_str())) {
            keys.push((&r.series, &r.metric));
        }
    }
    let distinct = |second: bool| {
        let mut v: Vec<&str> = keys.iter().map(|k| if second { k.1 } else { k.0 }).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let (many_series, many_metrics) = (distinct(false) > 1, distinct(true) > 1);
    keys.iter()
        .map(|&(series, metric)| Curve {
            label: match (many_series, many_metrics) {
                (true, true) => format!("{series}: {metric}"),
                (false, true) => metric.to_string(),
                _ => series.to_string(),
            },
            points: rows
                .iter()
                .filter(|r| r.series == series && r.metric == metric && r.value.is_finite())
                .map(|r| (r.x.clone(), r.value, if r.stderr.is_finite() { r.stderr } else { 0.0 }))
                .collect(),
        })
        .collect()
}

/// A tick label: integers without a decimal point, others with at most three decimals.
fn tick(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// `0 ..= max(value + stderr)` with headroom (or down to a negative minimum).
fn y_range(curves: &[Curve]) -> (f64, f64) {
    let hi = curves.iter().flat_map(|c| c.points.iter().map(|p| p.1 + p.2)).fold(0.0, f64::max);
    let lo = curves.iter().flat_map(|c| c.points.iter().map(|p| p.1 - p.2)).fold(0.0, f64::min);
    let hi = if hi > 0.0 { hi * 1.15 } else { 1.0 };
    (if lo < 0.0 { lo * 1.15 } else { 0.0 }, hi)
}

/// The PNG file of `fig`.
pub fn render_png(fig: &Figure) -> Vec<u8> {
    register();
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(fig, &mut rgb).expect("invariant: drawing into a memory buffer does not fail");
    let mut png_bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut w = enc.write_header().expect("invariant: a valid PNG header");
    w.write_image_data(&rgb).expect("invariant: the buffer is WIDTH x HEIGHT x 3");
    w.finish().expect("invariant: encoding into memory does not fail");
    png_bytes
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// The title on top, then one panel per metric side by side (each with its own y scale, the
/// metric as its y label), or a single panel with the figure's y label.
fn draw(fig: &Figure, rgb: &mut [u8]) -> DrawResult {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.margin(8, 0, 0, 0).titled(&fig.title, (FONT, 22))?;
    let mut metrics: Vec<&str> = fig.metrics.iter().map(String::as_str).collect();
    metrics.retain(|m| fig.rows.iter().any(|r| r.metric == *m));
    let panels: Vec<(Option<&str>, &str)> = if metrics.len() > 1 {
        metrics.iter().map(|m| (Some(*m), *m)).collect()
    } else {
        vec![(None, fig.y_label.as_str())]
    };
    let areas = body.split_evenly((1, panels.len()));
    for ((metric, y_label), area) in panels.iter().zip(&areas) {
        let rows: Vec<&TidyRow> =
            fig.rows.iter().filter(|r| metric.is_none_or(|m| r.metric == m)).collect();
        let curves = curves(&rows);
        let p = Panel { x_label: &fig.x_label, y_label };
        match fig.plot {
            PlotKind::Lines if all_numeric(&curves) => lines(&p, &curves, area)?,
            _ => bars(&p, &curves, area)?,
        }
    }
    root.present()?;
    Ok(())
}

struct Panel<'a> {
    x_label: &'a str,
    y_label: &'a str,
}

fn all_numeric(curves: &[Curve]) -> bool {
    curves.iter().all(|c| c.points.iter().all(|p| p.0.parse::<f64>().is_ok()))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn lines(fig: &Panel<'_>, curves: &[Curve], root: &Area<'_>) -> DrawResult {
    let xs =
        || curves.iter().flat_map(|c| c.points.iter().map(|p| p.0.parse::<f64>().unwrap_or(0.0)));
    let (x_lo, x_hi) = (xs().fold(f64::INFINITY, f64::min), xs().fold(f64::NEG_INFINITY, f64::max));
    let (x_lo, x_hi) = if x_lo.is_finite() { (x_lo, x_hi) } else { (0.0, 1.0) };
    let pad = if x_hi > x_lo { (x_hi - x_lo) * 0.05 } else { 0.5 };
    let (y_lo, y_hi) = y_range(curves);
    let mut chart = ChartBuilder::on(root)
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d((x_lo - pad)..(x_hi + pad), y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc(fig.x_label)
        .y_desc(fig.y_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, c) in curves.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut pts: Vec<(f64, f64, f64)> =
            c.points.iter().map(|p| (p.0.parse::<f64>().unwrap_or(0.0), p.1, p.2)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), colour.stroke_width(2)))?
            .label(c.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
            });
        chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, colour.filled())))?;
        error_bars(&mut chart, &pts, colour)?;
    }
    legend(&mut chart)
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Vertical bars from `y - se` to `y + se` at each `(x, y, se)`, with 8-pixel caps.
fn error_bars(chart: &mut Chart<'_, '_>, bars: &[(f64, f64, f64)], colour: RGBColor) -> DrawResult {
    let style = colour.stroke_width(1);
    let bars: Vec<&(f64, f64, f64)> = bars.iter().filter(|b| b.2 > 0.0).collect();
    chart.draw_series(
        bars.iter().map(|&&(x, y, se)| PathElement::new(vec![(x, y - se), (x, y + se)], style)),
    )?;
    chart.draw_series(bars.iter().flat_map(|&&(x, y, se)| {
        [y - se, y + se]
            .map(|end| EmptyElement::at((x, end)) + PathElement::new(vec![(-4, 0), (4, 0)], style))
    }))?;
    Ok(())
}

fn legend<'b>(chart: &mut Chart<'b, 'b>) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 15))
        .draw()?;
    Ok(())
}

fn bars(fig: &Panel<'_>, curves: &[Curve], root: &Area<'_>) -> DrawResult {
    let mut cats: Vec<&str> = Vec::new();
    for c in curves {
        for p in &c.points {
            if !cats.contains(&p.0.as_str()) {
                cats.push(&p.0);
            }
        }
    }
    let n = cats.len().max(1) as f64;
    let (y_lo, y_hi) = y_range(curves);
    let mut chart = ChartBuilder::on(root)
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..(n - 0.5), y_lo..y_hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .x_desc(fig.x_label)
        .y_desc(fig.y_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .y_label_formatter(&tick)
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let groups = curves.len().max(1) as f64;
    let width = 0.7 / groups;
    for (g, c) in curves.iter().enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        let left = |x: &str| {
            let i = cats.iter().position(|k| *k == x).unwrap_or(0) as f64;
            i - 0.35 + g as f64 * width
        };
        chart
            .draw_series(c.points.iter().map(|p| {
                let l = left(&p.0);
                Rectangle::new([(l, 0.0), (l + width, p.1)], colour.filled())
            }))?
            .label(c.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.filled()));
        let tips: Vec<(f64, f64, f64)> =
            c.points.iter().map(|p| (left(&p.0) + width / 2.0, p.1, p.2)).collect();
        error_bars(&mut chart, &tips, RGBColor(40, 40, 40))?;
    }
    let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, cat) in cats.iter().enumerate() {
        // `backend_coord` is in image pixels, `root.draw` in the panel's own.
        let (px, py) = chart.backend_coord(&(i as f64, y_lo));
        let (ox, oy) = root.get_base_pixel();
        root.draw(&Text::new(cat.to_string(), (px - ox, py - oy + 8), style.clone()))?;
    }
    legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(series: &str, x: &str, metric: &str, value: f64, stderr: f64) -> TidyRow {
        TidyRow {
            figure: "t/f".into(),
            series: series.into(),
            x_name: "x".into(),
            x: x.into(),
            metric: metric.into(),
            value,
            stderr,
            runs: 3,
        }
    }

    fn figure(plot: PlotKind, rows: Vec<TidyRow>) -> Figure {
        Figure {
            id: "t/f".into(),
            title: "a title".into(),
            x_label: "x".into(),
            y_label: "y (ms)".into(),
            plot,
            metrics: vec!["a_ms".into(), "b_pkts".into()],
            rows,
        }
    }

    fn is_png(bytes: &[u8]) -> bool {
        bytes.starts_with(b"\x89PNG\r\n\x1a\n")
    }

    #[test]
    fn the_same_figure_gives_the_same_bytes() {
        let rows = vec![
            row("s", "0.1", "a_ms", 1.0, 0.1),
            row("s", "0.5", "a_ms", 2.0, 0.2),
            row("s", "0.1", "b_pkts", 100.0, 0.0),
            row("t", "0.5", "b_pkts", 300.0, 10.0),
        ];
        let a = render_png(&figure(PlotKind::Lines, rows.clone()));
        let b = render_png(&figure(PlotKind::Lines, rows));
        assert!(is_png(&a));
        assert!(a == b);
    }

    #[test]
    fn a_figure_with_no_rows_or_odd_values_still_renders() {
        assert!(is_png(&render_png(&figure(PlotKind::Lines, vec![]))));
        assert!(is_png(&render_png(&figure(PlotKind::Bars, vec![]))));
        let odd = vec![
            row("s", "low", "a_ms", f64::NAN, 0.0),
            row("s", "high", "a_ms", -2.0, f64::INFINITY),
        ];
        // Lines over a non-numeric x fall back to bars.
        assert!(is_png(&render_png(&figure(PlotKind::Lines, odd))));
    }

    #[test]
    fn ticks_drop_needless_decimals() {
        assert_eq!(tick(&6000.0), "6000");
        assert_eq!(tick(&0.5), "0.5");
        assert_eq!(tick(&0.125), "0.125");
        assert_eq!(tick(&-1.0), "-1");
    }
}
