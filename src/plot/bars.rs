//! Bar charts: each segment's contribution to a change with its mix and rate parts stacked
//! (`query compare`), and observed against expected counts per arm (`ab srm`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    self, Axes, GREY, INK, LegendEntry, PALETTE, Scale, Swatch, Theme, ValuesAlong, extent, padded,
};
use super::{Chart, drawing};

/// One segment's part of the overall change.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub label: String,
    /// The change due to the segment's share of traffic moving.
    pub mix: f64,
    /// The change due to the segment's own rate moving.
    pub rate: f64,
}

impl Contribution {
    pub fn net(&self) -> f64 {
        self.mix + self.rate
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContributionChart {
    pub title: String,
    /// With its unit, e.g. "contribution to the change in conversion (percentage points)".
    pub x_label: String,
    pub scale: Scale,
    /// Drawn largest |net| first, from the top; beyond `MAX_ROWS` rows are left out (noted).
    pub rows: Vec<Contribution>,
}

impl ContributionChart {
    pub const MAX_ROWS: usize = 25;

    /// The rows as drawn: largest |net| first, at most `MAX_ROWS`.
    pub fn sorted(&self) -> Vec<&Contribution> {
        let mut rows: Vec<&Contribution> = self.rows.iter().filter(|r| r.net().is_finite()).collect();
        rows.sort_by(|a, b| b.net().abs().total_cmp(&a.net().abs()).then_with(|| a.label.cmp(&b.label)));
        rows.truncate(Self::MAX_ROWS);
        rows
    }
}

const RATE: RGBColor = PALETTE[0];
const MIX: RGBColor = PALETTE[1];

/// Pixel height of a band of `n` rows, and the bar's margin inside it.
fn bar_margin(height_px: i32, n: usize) -> u32 {
    let band = height_px / n.max(1) as i32;
    (band / 5).clamp(1, 20) as u32
}

impl Chart for ContributionChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let theme = Theme::for_area(root);
        let legend = [
            LegendEntry::new("rate effect (the segment's own rate moved)", RATE, Swatch::Box),
            LegendEntry::new("mix effect (its share of traffic moved)", MIX, Swatch::Box),
            LegendEntry::new("net contribution", INK, Swatch::Dot),
        ];
        let body = style::header(root, &theme, &self.title, &legend)?;
        let rows = self.sorted();
        if rows.is_empty() {
            return style::footnote(root, &theme, "no segments to plot");
        }
        if self.rows.len() > rows.len() {
            let note = format!("{} smaller segments not shown", self.rows.len() - rows.len());
            style::footnote(root, &theme, &note)?;
        }
        // Positive parts stack right of zero, negative parts left of it.
        let stacks: Vec<((f64, f64), (f64, f64))> = rows
            .iter()
            .map(|r| {
                let mut pos = 0.0;
                let mut neg = 0.0;
                let mut place = |v: f64| {
                    if v >= 0.0 {
                        pos += v;
                        (pos - v, pos)
                    } else {
                        neg += v;
                        (neg - v, neg)
                    }
                };
                let rate = place(r.rate);
                let mix = place(r.mix);
                (rate, mix)
            })
            .collect();
        let ends = stacks.iter().flat_map(|&((a, b), (c, d))| [a, b, c, d]);
        let (lo, hi) = extent(ends.chain([0.0])).unwrap_or((0.0, 1.0));
        let (x_lo, x_hi) = padded(lo, hi, 0.06);
        let n = rows.len();

        let tick_font = theme.font(theme.tick);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        let mut chart =
            style::rows_chart(root, &body, &theme, &labels, x_lo..x_hi, (self.scale, &self.x_label))?;

        let (_, (py0, py1)) = {
            let (x, y) = chart.plotting_area().get_pixel_range();
            (x, (y.start, y.end))
        };
        let margin = bar_margin(py1 - py0, n);
        let label_font = tick_font.pos(Pos::new(HPos::Right, VPos::Center));
        for (i, (row, &(rate, mix))) in rows.iter().zip(&stacks).enumerate() {
            let (top, bottom) = ((n - i) as f64, (n - i - 1) as f64);
            for ((a, b), color) in [(rate, RATE), (mix, MIX)] {
                if a != b {
                    let mut bar = Rectangle::new([(a, top), (b, bottom)], color.filled());
                    bar.set_margin(margin, margin, 0, 0);
                    chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
                }
            }
            let mid = (top + bottom) / 2.0;
            chart
                .draw_series(std::iter::once(Circle::new((row.net(), mid), 5, INK.filled())))
                .map_err(drawing)?;
            let (px, py) = chart.backend_coord(&(x_lo, mid));
            root.draw_text(&row.label, &label_font, (px - 8, py)).map_err(drawing)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, n as f64)],
                INK.stroke_width(1),
            )))
            .map_err(drawing)?;
        Ok(())
    }
}

/// One arm (or category): what was observed and what the plan expected.
#[derive(Debug, Clone, PartialEq)]
pub struct CountGroup {
    pub label: String,
    pub observed: f64,
    pub expected: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CountsChart {
    pub title: String,
    /// With its unit, e.g. "users".
    pub y_label: String,
    pub groups: Vec<CountGroup>,
}

const OBSERVED: RGBColor = PALETTE[0];
const EXPECTED: RGBColor = GREY;

impl Chart for CountsChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let theme = Theme::for_area(root);
        let legend = [
            LegendEntry::new("observed", OBSERVED, Swatch::Box),
            LegendEntry::new("expected from the planned split", EXPECTED, Swatch::Box),
        ];
        let body = style::header(root, &theme, &self.title, &legend)?;
        if self.groups.is_empty() {
            return style::footnote(root, &theme, "no counts to plot");
        }
        let (_, hi) = extent(self.groups.iter().flat_map(|g| [g.observed, g.expected])).unwrap_or((0.0, 1.0));
        let y_hi = if hi > 0.0 { hi * 1.15 } else { 1.0 };
        let n = self.groups.len();
        let tick_font = theme.font(theme.tick);
        let y_labels: Vec<String> = (0..=8).map(|i| Scale::Count.tick(y_hi * i as f64 / 8.0, y_hi)).collect();
        let y_area = style::widest(root, &y_labels, &tick_font)? + (theme.label * 2.4) as u32;
        let y_fmt = |v: &f64| Scale::Count.tick(*v, y_hi);
        let axes = Axes {
            along: ValuesAlong::Y,
            values: 0.0..y_hi,
            other: 0.0..n as f64,
            ticks: 8,
            tick_text: &y_fmt,
            desc: &self.y_label,
            other_desc: None,
            side: y_area,
        };
        let mut chart = style::axes_chart(&body, &theme, &axes)?;
        let below = tick_font.pos(Pos::new(HPos::Center, VPos::Top));
        let above = theme.font(theme.note).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, g) in self.groups.iter().enumerate() {
            let x = i as f64;
            for (value, from, to, color) in
                [(g.observed, x + 0.15, x + 0.5, OBSERVED), (g.expected, x + 0.5, x + 0.85, EXPECTED)]
            {
                let mut bar = Rectangle::new([(from, 0.0), (to, value)], color.filled());
                bar.set_margin(0, 0, 2, 2);
                chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
                let (px, py) = chart.backend_coord(&((from + to) / 2.0, value));
                root.draw_text(&Scale::Count.value(value), &above, (px, py - 4)).map_err(drawing)?;
            }
            let (px, py) = chart.backend_coord(&(x + 0.5, 0.0));
            let diff = if g.expected > 0.0 { g.observed / g.expected - 1.0 } else { f64::NAN };
            let label = if diff.is_finite() {
                format!("{} ({} vs expected)", g.label, Scale::SignedPercent.value(diff))
            } else {
                g.label.clone()
            };
            root.draw_text(&label, &below, (px, py + 8)).map_err(drawing)?;
        }
        Ok(())
    }
}
