//! PNG and SVG plots of [`Figure`]s with `plotters`: lines with markers and error bars over a
//! numeric x, or grouped bars over a categorical x. The same drawing code feeds both backends.
//!
//! - Text is drawn with `ab_glyph` from a font compiled into the binary
//!   (`scenarios/assets/DejaVuSans-subset.ttf`, DejaVu Sans cut to ASCII plus a few symbols;
//!   Bitstream Vera license, `scenarios/assets/LICENSE-DejaVu.txt`): no system fonts, no files
//!   read at run time.
//! - The picture is drawn into an RGB buffer and encoded with `png` in memory, so the bytes
//!   depend only on the figure: the same rows give the same file on any `--jobs`.
//! - A series has the same colour in every figure ([`series_colour`]): each scheme has its own
//!   (OpenNF, U-HAUL, SHarP, E2, Egret, Split/Merge, reroute), found as a word in the series
//!   name, so `OpenNF (sim)` and `web search OpenNF` are OpenNF's blue; any other name takes a
//!   colour from a second palette keyed by the FNV-1a hash of the name. Two curves of one panel
//!   with the same colour are told apart by shade, marker and dashes ([`Variant`]); two
//!   unrelated names that hash to one colour in a panel move the later one to the next free
//!   colour.
//! - Error bars are plus and minus one `stderr`, drawn where `runs > 1` and `stderr > 0`.
//! - The SVG keeps its text as `<text>` in the same font family; its bytes too depend only on
//!   the figure.

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

/// One colour per scheme (Okabe-Ito: distinguishable with the common colour-vision
/// deficiencies), matched as a whole word of the series name, first match in this order.
pub const SCHEMES: [(&str, RGBColor); 7] = [
    ("Split/Merge", RGBColor(86, 180, 233)),
    ("OpenNF", RGBColor(0, 114, 178)),
    ("U-HAUL", RGBColor(213, 94, 0)),
    ("SHarP", RGBColor(0, 158, 115)),
    ("Egret", RGBColor(230, 159, 0)),
    ("E2", RGBColor(204, 121, 167)),
    ("reroute", RGBColor(0, 0, 0)),
];

/// Colours for every other series name (Paul Tol's muted set, minus the ones close to a scheme
/// colour, plus grey and brown), keyed by the name's hash.
const OTHERS: [RGBColor; 7] = [
    RGBColor(136, 34, 85),
    RGBColor(68, 170, 153),
    RGBColor(153, 153, 51),
    RGBColor(170, 68, 153),
    RGBColor(51, 34, 136),
    RGBColor(102, 102, 102),
    RGBColor(140, 81, 10),
];

/// Whether `word` occurs in `name` with no letter or digit on either side.
fn has_word(name: &str, word: &str) -> bool {
    name.match_indices(word).any(|(i, _)| {
        let before = name[..i].chars().next_back();
        let after = name[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The scheme a series name belongs to, if any.
pub fn scheme_of(series: &str) -> Option<&'static str> {
    SCHEMES.iter().find(|(w, _)| has_word(series, w)).map(|(w, _)| *w)
}

/// A series' colour in every figure: its scheme's, or the hash-keyed one for other names.
pub fn series_colour(series: &str) -> RGBColor {
    match SCHEMES.iter().find(|(w, _)| has_word(series, w)) {
        Some((_, c)) => *c,
        None => OTHERS[(base::rng::fnv1a64(series.as_bytes()) % OTHERS.len() as u64) as usize],
    }
}

/// How a curve is told apart from earlier curves of its panel with the same colour: the k-th
/// such curve (0 for the first) gets a shade, a marker and (k > 0) a dashed line.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Variant(usize);

impl Variant {
    fn shade(self, c: RGBColor) -> RGBColor {
        let mix = |t: f64, to: u8| {
            let m = |v: u8| (v as f64 + (to as f64 - v as f64) * t).round() as u8;
            RGBColor(m(c.0), m(c.1), m(c.2))
        };
        match self.0 % 4 {
            0 => c,
            1 => mix(0.4, 0),
            2 => mix(0.45, 255),
            _ => mix(0.65, 0),
        }
    }
}

/// Each curve's colour and variant, in order.
fn styles(curves: &[Curve]) -> Vec<(RGBColor, Variant)> {
    let mut out: Vec<(RGBColor, Variant)> = Vec::new();
    for c in curves {
        let colour = if scheme_of(&c.series).is_some() {
            series_colour(&c.series)
        } else {
            // Probe from the hashed slot to the first colour no earlier curve of the panel with
            // another series name has.
            let start = OTHERS.iter().position(|o| *o == series_colour(&c.series)).unwrap_or(0);
            (0..OTHERS.len())
                .map(|i| OTHERS[(start + i) % OTHERS.len()])
                .find(|o| out.iter().zip(curves).all(|((u, _), p)| u != o || p.series == c.series))
                .unwrap_or(OTHERS[start])
        };
        let k = out.iter().filter(|(u, _)| *u == colour).count();
        out.push((colour, Variant(k)));
    }
    out
}

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
    series: String,
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
            series: series.to_string(),
            label: match (many_series, many_metrics) {
                (true, true) => format!("{series}: {metric}"),
                (false, true) => metric.to_string(),
                _ => series.to_string(),
            },
            points: rows
                .iter()
                .filter(|r| r.series == series && r.metric == metric && r.value.is_finite())
                .map(|r| {
                    let se = if r.runs > 1 && r.stderr.is_finite() { r.stderr } else { 0.0 };
                    (r.x.clone(), r.value, se)
                })
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
    let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
    draw(fig, root).expect("invariant: drawing into a memory buffer does not fail");
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

/// The SVG file of `fig`: the same picture as [`render_png`], as vectors and text.
pub fn render_svg(fig: &Figure) -> String {
    register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(fig, root).expect("invariant: drawing into a string does not fail");
    }
    svg
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// The title on top, then one panel per metric side by side (each with its own y scale, the
/// metric as its y label), or a single panel with the figure's y label.
fn draw<DB: DrawingBackend>(fig: &Figure, root: Area<DB>) -> DrawResult
where
    DB::ErrorType: 'static,
{
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

type Area<DB> = DrawingArea<DB, plotters::coord::Shift>;

fn lines<DB: DrawingBackend>(fig: &Panel<'_>, curves: &[Curve], root: &Area<DB>) -> DrawResult
where
    DB::ErrorType: 'static,
{
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
    for (c, (base_colour, variant)) in curves.iter().zip(styles(curves)) {
        let colour = variant.shade(base_colour);
        let mut pts: Vec<(f64, f64, f64)> =
            c.points.iter().map(|p| (p.0.parse::<f64>().unwrap_or(0.0), p.1, p.2)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let line = colour.stroke_width(2);
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
        let drawn = if variant.0 == 0 {
            chart.draw_series(LineSeries::new(xy.clone(), line))?
        } else {
            chart.draw_series(DashedLineSeries::new(xy.clone(), 8, 5, line))?
        };
        drawn.label(c.label.clone()).legend(move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (24, 0)], line)
                + marker(variant, (12, 0), colour)
        });
        chart.draw_series(
            xy.iter().map(|&p| EmptyElement::at(p) + marker(variant, (0, 0), colour)),
        )?;
        error_bars(&mut chart, &pts, colour)?;
    }
    legend(&mut chart)
}

/// A point marker by variant: circle, triangle, square, cross (4 pixels), at `at` pixels from
/// the point it is added to.
fn marker<DB: DrawingBackend>(
    v: Variant,
    at: (i32, i32),
    colour: RGBColor,
) -> DynElement<'static, DB, (i32, i32)> {
    let (x, y) = at;
    match v.0 % 4 {
        0 => Circle::new(at, 4, colour.filled()).into_dyn(),
        1 => TriangleMarker::new(at, 5, colour.filled()).into_dyn(),
        2 => Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], colour.filled()).into_dyn(),
        _ => Cross::new(at, 4, colour.stroke_width(2)).into_dyn(),
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Vertical bars from `y - se` to `y + se` at each `(x, y, se)`, with 8-pixel caps.
fn error_bars<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    bars: &[(f64, f64, f64)],
    colour: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
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

fn legend<'b, DB: DrawingBackend + 'b>(chart: &mut Chart<'b, DB>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 15))
        .draw()?;
    Ok(())
}

/// Where the bars go: one width for all, `0.7` of a category over the most bars any category
/// holds, and per curve the left edge of each of its points' bars. The bars of a category are
/// centred on it, in curve order, so a category only some series have (a sparse grid, or
/// what-if's one alternative per category) has no gaps for the missing ones.
fn bar_slots(curves: &[Curve], cats: &[&str]) -> (f64, Vec<Vec<f64>>) {
    let at = |c: &Curve, cat: &str| c.points.iter().any(|p| p.0 == cat);
    let present: Vec<usize> =
        cats.iter().map(|k| curves.iter().filter(|c| at(c, k)).count()).collect();
    let width = 0.7 / present.iter().copied().max().unwrap_or(1).max(1) as f64;
    let lefts = curves
        .iter()
        .enumerate()
        .map(|(g, c)| {
            c.points
                .iter()
                .map(|p| {
                    let i = cats.iter().position(|k| *k == p.0).unwrap_or(0);
                    let before = curves[..g].iter().filter(|o| at(o, &p.0)).count();
                    i as f64 - present[i] as f64 * width / 2.0 + before as f64 * width
                })
                .collect()
        })
        .collect();
    (width, lefts)
}

fn bars<DB: DrawingBackend>(fig: &Panel<'_>, curves: &[Curve], root: &Area<DB>) -> DrawResult
where
    DB::ErrorType: 'static,
{
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
    // Category labels wrap at word boundaries to their slot's width (the what-if chart's
    // alternatives are long names); the label area grows by one text line per extra line.
    let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    let slot_px = (f64::from(root.dim_in_pixel().0) - 80.0 - 2.0 * 18.0) / n - 10.0;
    let labels: Vec<Vec<String>> =
        cats.iter().map(|cat| wrap_words(cat, slot_px, |t| text_width(root, t, &style))).collect();
    let extra_lines = labels.iter().map(Vec::len).max().unwrap_or(1).saturating_sub(1) as u32;
    let mut chart = ChartBuilder::on(root)
        .margin(18)
        .x_label_area_size(56 + LABEL_LINE_PX * extra_lines)
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
    let (width, lefts) = bar_slots(curves, &cats);
    for ((c, (base_colour, variant)), lefts) in curves.iter().zip(styles(curves)).zip(&lefts) {
        let colour = variant.shade(base_colour);
        chart
            .draw_series(
                c.points
                    .iter()
                    .zip(lefts)
                    .map(|(p, &l)| Rectangle::new([(l, 0.0), (l + width, p.1)], colour.filled())),
            )?
            .label(c.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.filled()));
        let tips: Vec<(f64, f64, f64)> =
            c.points.iter().zip(lefts).map(|(p, &l)| (l + width / 2.0, p.1, p.2)).collect();
        error_bars(&mut chart, &tips, RGBColor(40, 40, 40))?;
    }
    for (i, lines) in labels.iter().enumerate() {
        // `backend_coord` is in image pixels, `root.draw` in the panel's own.
        let (px, py) = chart.backend_coord(&(i as f64, y_lo));
        let (ox, oy) = root.get_base_pixel();
        for (k, line) in lines.iter().enumerate() {
            let y = py - oy + 8 + LABEL_LINE_PX as i32 * k as i32;
            root.draw(&Text::new(line.clone(), (px - ox, y), style.clone()))?;
        }
    }
    legend(&mut chart)
}

/// The height of one line of a wrapped category label.
const LABEL_LINE_PX: u32 = 18;

fn text_width<DB: DrawingBackend>(root: &Area<DB>, text: &str, style: &TextStyle<'_>) -> f64 {
    root.estimate_text_size(text, style).map_or(0.0, |(w, _)| f64::from(w))
}

/// `text` in lines no wider than `max_px` (by `width`), broken at spaces; a word wider than
/// `max_px` stays whole on its own line.
fn wrap_words(text: &str, max_px: f64, width: impl Fn(&str) -> f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if width(&format!("{line} {word}")) <= max_px => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar_curve(series: &str, xs: &[&str]) -> Curve {
        let points = xs.iter().map(|x| (x.to_string(), 1.0, 0.0)).collect();
        Curve { series: series.into(), label: series.into(), points }
    }

    #[test]
    fn long_category_labels_wrap_at_spaces_to_their_slot() {
        let chars = |t: &str| t.len() as f64;
        assert_eq!(
            wrap_words("OpenNF loss-free + order-preserving", 20.0, chars),
            ["OpenNF loss-free +", "order-preserving"]
        );
        assert_eq!(wrap_words("U-HAUL", 20.0, chars), ["U-HAUL"]);
        assert_eq!(wrap_words("a-very-long-single-word", 5.0, chars), ["a-very-long-single-word"]);
    }

    #[test]
    fn bars_are_centred_on_their_category_when_series_are_sparse() {
        let cats = ["a", "b", "c"];
        // What-if: one alternative per category.
        let sparse =
            [bar_curve("one", &["a"]), bar_curve("two", &["b"]), bar_curve("three", &["c"])];
        let (w, lefts) = bar_slots(&sparse, &cats);
        assert!((w - 0.7).abs() < 1e-12);
        for (i, l) in lefts.iter().enumerate() {
            assert!((l[0] + w / 2.0 - i as f64).abs() < 1e-12, "{lefts:?}");
        }
        // Every series in every category: the groups span [i - 0.35, i + 0.35] as before.
        let dense = [bar_curve("one", &cats), bar_curve("two", &cats)];
        let (w, lefts) = bar_slots(&dense, &cats);
        assert!((w - 0.35).abs() < 1e-12);
        for (i, l) in lefts[0].iter().enumerate() {
            assert!((l - (i as f64 - 0.35)).abs() < 1e-12, "{lefts:?}");
        }
        assert!((lefts[1][2] - 2.0).abs() < 1e-12 && (lefts[1][2] + w - 2.35).abs() < 1e-12);
        // Two series in "b" only: centred pair; "a" holds one: centred alone.
        let mixed = [bar_curve("one", &["a", "b"]), bar_curve("two", &["b"])];
        let (w, lefts) = bar_slots(&mixed, &["a", "b"]);
        assert!((lefts[0][0] + w / 2.0).abs() < 1e-12);
        assert!((lefts[0][1] - (1.0 - w)).abs() < 1e-12 && (lefts[1][0] - 1.0).abs() < 1e-12);
    }

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
    fn the_svg_is_deterministic_and_holds_the_labels() {
        let rows =
            vec![row("OpenNF", "0.1", "a_ms", 1.0, 0.1), row("U-HAUL", "0.5", "a_ms", 2.0, 0.2)];
        let a = render_svg(&figure(PlotKind::Lines, rows.clone()));
        assert!(a.starts_with("<svg") && a.trim_end().ends_with("</svg>"), "{a}");
        assert_eq!(a, render_svg(&figure(PlotKind::Lines, rows)));
        for needle in ["a title", "OpenNF", "U-HAUL", "#0072B2", "#D55E00"] {
            assert!(a.contains(needle), "{needle} in the SVG");
        }
    }

    #[test]
    fn a_scheme_keeps_its_colour_across_names_and_figures() {
        let blue = RGBColor(0, 114, 178);
        for name in ["OpenNF", "OpenNF (sim)", "web search OpenNF", "OpenNF (LLER)"] {
            assert_eq!(series_colour(name), blue, "{name}");
        }
        assert_eq!(series_colour("E2/Random"), series_colour("E2"));
        assert_eq!(series_colour("SHarP (formula)"), RGBColor(0, 158, 115));
        // A word, not a substring: "E2E" is not E2, "twin" is not a scheme.
        assert_eq!(scheme_of("E2E"), None);
        assert_eq!(scheme_of("twin"), None);
        assert_eq!(series_colour("twin"), series_colour("twin"));
        assert!(SCHEMES.iter().all(|(_, c)| *c != series_colour("twin")));
    }

    fn curve(series: &str) -> Curve {
        Curve { series: series.into(), label: series.into(), points: vec![] }
    }

    #[test]
    fn curves_sharing_a_colour_in_a_panel_are_variants_and_unrelated_names_do_not_collide() {
        let s = styles(&[curve("OpenNF (sim)"), curve("SHarP"), curve("OpenNF (formula)")]);
        assert_eq!(s[0], (series_colour("OpenNF"), Variant(0)));
        assert_eq!(s[2], (series_colour("OpenNF"), Variant(1)));
        assert_ne!(s[2].1.shade(s[2].0), s[0].1.shade(s[0].0));
        // More unrelated names than colours: the first OTHERS.len() all differ.
        let names: Vec<String> = (0..OTHERS.len()).map(|i| format!("series {i}")).collect();
        let s = styles(&names.iter().map(|n| curve(n)).collect::<Vec<_>>());
        for (i, a) in s.iter().enumerate() {
            assert!(s[..i].iter().all(|b| b.0 != a.0), "{} repeats a colour", names[i]);
        }
        // One unrelated name twice (two metrics in one panel): its own colour, then a variant.
        let s = styles(&[curve("twin"), curve("twin")]);
        assert_eq!(
            s,
            vec![(series_colour("twin"), Variant(0)), (series_colour("twin"), Variant(1))]
        );
    }

    #[test]
    fn ticks_drop_needless_decimals() {
        assert_eq!(tick(&6000.0), "6000");
        assert_eq!(tick(&0.5), "0.5");
        assert_eq!(tick(&0.125), "0.125");
        assert_eq!(tick(&-1.0), "-1");
    }
}
