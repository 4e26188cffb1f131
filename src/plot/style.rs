//! What every chart shares: the palette, how axis values read, font sizes that scale with
//! the image, and the header (a title that states the finding and a legend kept outside
//! the plotting area, so it never covers data).

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::drawing;
use crate::output::thousands;

/// Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
/// reddish purple, sky blue, yellow, black — distinguishable with any common colour-vision
/// deficiency. Series take them in this order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x00, 0x00, 0x00),
];

pub const GREY: RGBColor = RGBColor(0x80, 0x80, 0x80);
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// The colour of series `i` (the palette repeats after eight series).
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How values on an axis read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// A share: 0.0532 → "5.3%".
    Percent,
    /// A change of a share: 0.0012 → "+0.12 pp".
    PercentPoints,
    /// A relative change: -0.05 → "−5%".
    SignedPercent,
    /// Whole counts: 12345 → "12,345".
    Count,
    /// Anything else, e.g. revenue per session.
    Number,
}

impl Scale {
    /// A tick label, with as many decimals as the axis span needs.
    pub fn tick(self, value: f64, span: f64) -> String {
        if value.abs() < span.abs() * 1e-9 {
            return match self {
                Scale::Percent | Scale::SignedPercent => "0%",
                Scale::PercentPoints => "0 pp",
                Scale::Count | Scale::Number => "0",
            }
            .into();
        }
        let decimals = |scaled_span: f64| {
            if scaled_span >= 20.0 {
                0
            } else if scaled_span >= 2.0 {
                1
            } else {
                2
            }
        };
        match self {
            Scale::Percent => format!("{:.*}%", decimals(span * 100.0), value * 100.0),
            Scale::PercentPoints => format!("{:+.*} pp", decimals(span * 100.0), value * 100.0),
            Scale::SignedPercent => format!("{:+.*}%", decimals(span * 100.0), value * 100.0),
            Scale::Count if value >= 0.0 => thousands(value.round() as u64),
            Scale::Count => format!("-{}", thousands((-value).round() as u64)),
            Scale::Number => format!("{:.*}", decimals(span), value),
        }
    }

    /// A value in a label or title: more precise than a tick.
    pub fn value(self, value: f64) -> String {
        if value == 0.0 {
            return self.tick(0.0, 1.0);
        }
        match self {
            Scale::Percent => format!("{:.2}%", value * 100.0),
            Scale::PercentPoints => format!("{:+.2} pp", value * 100.0),
            Scale::SignedPercent => format!("{:+.2}%", value * 100.0),
            Scale::Count => self.tick(value, 1.0),
            Scale::Number => format!("{value:.3}"),
        }
    }
}

/// Font sizes for an image: scaled from the 1200×700 default, never below legible.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub title: f64,
    pub label: f64,
    pub tick: f64,
    pub note: f64,
}

impl Theme {
    pub fn for_area<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Self {
        let (w, h) = root.dim_in_pixel();
        let scale = (w as f64 / 1200.0).min(h as f64 / 700.0).clamp(0.6, 3.0);
        Theme { title: 24.0 * scale, label: 17.0 * scale, tick: 15.0 * scale, note: 14.0 * scale }
    }

    pub fn font(&self, size: f64) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&INK)
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    Line,
    Dashed,
    Box,
    /// A lightly filled box: a shaded window or an interval band.
    Shade(f64),
    Dot,
}

pub struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub swatch: Swatch,
}

impl LegendEntry {
    pub fn new(label: impl Into<String>, color: RGBColor, swatch: Swatch) -> Self {
        Self { label: label.into(), color, swatch }
    }
}

/// Draws the title (shrunk until it fits the width) and the legend rows under it; returns
/// the area left for the plot.
pub fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    theme: &Theme,
    title: &str,
    legend: &[LegendEntry],
) -> anyhow::Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    let (width, _) = root.dim_in_pixel();
    let pad = (theme.label * 1.2) as i32;
    let avail = width.saturating_sub(2 * pad as u32);
    let mut size = theme.title;
    let mut font = theme.font(size);
    while size > theme.note && root.estimate_text_size(title, &font).map_err(drawing)?.0 > avail {
        size -= 1.0;
        font = theme.font(size);
    }
    root.draw_text(title, &font, (pad, pad / 2)).map_err(drawing)?;
    let mut y = pad / 2 + (size * 1.5) as i32;

    let font = theme.font(theme.label);
    let swatch = (theme.label * 1.6) as i32;
    let gap = (theme.label * 1.4) as i32;
    let row = (theme.label * 1.5) as i32;
    let mut x = pad;
    for (i, entry) in legend.iter().enumerate() {
        let text_w = root.estimate_text_size(&entry.label, &font).map_err(drawing)?.0 as i32;
        if i > 0 && x + swatch + 6 + text_w > width as i32 - pad {
            x = pad;
            y += row;
        }
        let mid = y + row / 2;
        let c = entry.color;
        let result = match entry.swatch {
            Swatch::Line => {
                root.draw(&PathElement::new(vec![(x, mid), (x + swatch, mid)], c.stroke_width(4)))
            }
            Swatch::Dashed => root.draw(&plotters::element::DashedPathElement::new(
                vec![(x, mid), (x + swatch, mid)],
                5,
                4,
                c.stroke_width(2),
            )),
            Swatch::Box => {
                root.draw(&Rectangle::new([(x, mid - row / 3), (x + swatch, mid + row / 3)], c.filled()))
            }
            Swatch::Shade(alpha) => root.draw(&Rectangle::new(
                [(x, mid - row / 3), (x + swatch, mid + row / 3)],
                c.mix(alpha).filled(),
            )),
            Swatch::Dot => root.draw(&Circle::new((x + swatch / 2, mid), row / 4, c.filled())),
        };
        result.map_err(drawing)?;
        root.draw_text(&entry.label, &font.pos(Pos::new(HPos::Left, VPos::Center)), (x + swatch + 6, mid))
            .map_err(drawing)?;
        x += swatch + 6 + text_w + gap;
    }
    if !legend.is_empty() {
        y += row;
    }
    Ok(root.split_vertically(y + pad / 3).1)
}

/// A range padded by `pad` of its span on each side (a flat series gets a visible span).
pub fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let span = hi - lo;
    let span = if span > 0.0 { span } else { lo.abs().max(1e-3) * 0.2 };
    (lo - span * pad, hi + span * pad)
}

/// Minimum and maximum of the finite values (None when there is none).
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Width in pixels the longest label needs.
pub fn widest<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: impl IntoIterator<Item = impl AsRef<str>>,
    font: &TextStyle,
) -> anyhow::Result<u32>
where
    DB::ErrorType: 'static,
{
    let mut most = 0;
    for label in labels {
        most = most.max(root.estimate_text_size(label.as_ref(), font).map_err(drawing)?.0);
    }
    Ok(most)
}

/// Draws a note in the bottom-right corner (e.g. how many rows were left out).
pub fn footnote<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    theme: &Theme,
    text: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = root.dim_in_pixel();
    let font = theme.font(theme.note).color(&GREY).pos(Pos::new(HPos::Right, VPos::Bottom));
    root.draw_text(text, &font, (w as i32 - 8, h as i32 - 4)).map_err(drawing)
}

/// Which axis a chart's values run along; the other holds the categories (or time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValuesAlong {
    X,
    Y,
}

/// The axes of a bar, interval or line chart.
pub struct Axes<'f> {
    pub along: ValuesAlong,
    pub values: std::ops::Range<f64>,
    /// The other axis: one unit per category, or time.
    pub other: std::ops::Range<f64>,
    /// How many value ticks, and how they read.
    pub ticks: usize,
    pub tick_text: &'f dyn Fn(&f64) -> String,
    /// What the values are, with their unit.
    pub desc: &'f str,
    /// What the other axis is, when it needs saying (a time unit).
    pub other_desc: Option<&'f str>,
    /// Room beside the plot: for the category labels (values along x) or the value ticks
    /// and description (values along y).
    pub side: u32,
}

/// A chart on `body` with every chart's grid: light lines across the value axis only,
/// ticks on the value axis only (categories are labelled by the chart itself).
pub fn axes_chart<'a, DB: DrawingBackend>(
    body: &'a DrawingArea<DB, Shift>,
    theme: &Theme,
    axes: &Axes<'_>,
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let across = axes.along == ValuesAlong::X;
    let (x, y) = if across {
        (axes.values.clone(), axes.other.clone())
    } else {
        (axes.other.clone(), axes.values.clone())
    };
    let mut chart = ChartBuilder::on(body)
        .margin_left(8)
        .margin_right((theme.label * if across { 2.0 } else { 1.5 }) as u32)
        .margin_bottom(8)
        .x_label_area_size((theme.tick * if across { 3.6 } else { 3.4 }) as u32)
        .y_label_area_size(axes.side)
        .build_cartesian_2d(x, y)
        .map_err(drawing)?;
    {
        let mut mesh = chart.configure_mesh();
        if across {
            mesh.disable_y_mesh()
                .y_labels(0)
                .x_labels(axes.ticks)
                .x_label_formatter(axes.tick_text)
                .x_desc(axes.desc);
            if let Some(desc) = axes.other_desc {
                mesh.y_desc(desc);
            }
        } else {
            mesh.disable_x_mesh()
                .x_labels(0)
                .y_labels(axes.ticks)
                .y_label_formatter(axes.tick_text)
                .y_desc(axes.desc);
            if let Some(desc) = axes.other_desc {
                mesh.x_desc(desc);
            }
        }
        mesh.label_style(theme.font(theme.tick))
            .axis_desc_style(theme.font(theme.label))
            .max_light_lines(1)
            .light_line_style(RGBColor(0xF2, 0xF2, 0xF2))
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()
            .map_err(drawing)?;
    }
    Ok(chart)
}

/// A chart with one row per label, top to bottom, and values running across `values`:
/// room on the left for the widest label, value ticks read by `scale`.
pub fn rows_chart<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    body: &'a DrawingArea<DB, Shift>,
    theme: &Theme,
    labels: &[&str],
    values: std::ops::Range<f64>,
    (scale, desc): (Scale, &str),
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let label_w = widest(root, labels, &theme.font(theme.tick))?;
    let span = values.end - values.start;
    let tick_text = |v: &f64| scale.tick(*v, span);
    let axes = Axes {
        along: ValuesAlong::X,
        values,
        other: 0.0..labels.len() as f64,
        ticks: 8,
        tick_text: &tick_text,
        desc,
        other_desc: None,
        side: label_w + 16,
    };
    axes_chart(body, theme, &axes)
}
