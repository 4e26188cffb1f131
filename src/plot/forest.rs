//! A forest plot: one estimate with its interval per row (lift per metric, per segment or
//! per day) against a reference line, coloured by whether the interval excludes it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, GREY, INK, LegendEntry, PALETTE, Scale, Swatch, Theme, extent, padded};
use super::{Chart, drawing};

#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub label: String,
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForestChart {
    pub title: String,
    /// With its unit, e.g. "relative lift of treatment over control (%)".
    pub x_label: String,
    pub scale: Scale,
    /// Drawn top to bottom in this order.
    pub rows: Vec<ForestRow>,
    /// Usually 0 (no effect).
    pub reference: f64,
}

const ABOVE: RGBColor = PALETTE[0];
const BELOW: RGBColor = PALETTE[3];

impl ForestChart {
    fn color(&self, row: &ForestRow) -> RGBColor {
        if row.lo > self.reference {
            ABOVE
        } else if row.hi < self.reference {
            BELOW
        } else {
            GREY
        }
    }
}

impl Chart for ForestChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let theme = Theme::for_area(root);
        let r = self.scale.value(self.reference);
        let legend = [
            LegendEntry::new(format!("interval above {r}"), ABOVE, Swatch::Line),
            LegendEntry::new(format!("interval below {r}"), BELOW, Swatch::Line),
            LegendEntry::new(format!("interval includes {r}"), GREY, Swatch::Line),
        ];
        let body = style::header(root, &theme, &self.title, &legend)?;
        let rows: Vec<&ForestRow> = self.rows.iter().filter(|r| r.estimate.is_finite()).collect();
        if rows.is_empty() {
            return style::footnote(root, &theme, "no estimates to plot");
        }
        let ends = rows.iter().flat_map(|r| [r.lo, r.hi, r.estimate]);
        let (lo, hi) = extent(ends.chain([self.reference])).unwrap_or((0.0, 1.0));
        let (x_lo, x_hi) = padded(lo, hi, 0.06);
        let n = rows.len();
        let tick_font = theme.font(theme.tick);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        let mut chart =
            style::rows_chart(root, &body, &theme, &labels, x_lo..x_hi, (self.scale, &self.x_label))?;
        let line = plotters::element::DashedPathElement::new(
            vec![(self.reference, 0.0), (self.reference, n as f64)],
            6,
            4,
            INK.stroke_width(1),
        );
        chart.draw_series(std::iter::once(line)).map_err(drawing)?;
        let label_font = tick_font.pos(Pos::new(HPos::Right, VPos::Center));
        let value_font = theme.font(theme.note).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, row) in rows.iter().enumerate() {
            let y = (n - i) as f64 - 0.5;
            let color = self.color(row);
            let bar = ErrorBar::new_horizontal(y, row.lo, row.estimate, row.hi, color.stroke_width(3), 10);
            chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
            chart
                .draw_series(std::iter::once(Circle::new((row.estimate, y), 6, color.filled())))
                .map_err(drawing)?;
            let (px, py) = chart.backend_coord(&(x_lo, y));
            root.draw_text(&row.label, &label_font, (px - 8, py)).map_err(drawing)?;
            let (px, py) = chart.backend_coord(&(row.estimate, y));
            let text = format!(
                "{} [{}, {}]",
                self.scale.value(row.estimate),
                self.scale.value(row.lo),
                self.scale.value(row.hi)
            );
            root.draw_text(&text, &value_font, (px, py - 10)).map_err(drawing)?;
        }
        Ok(())
    }
}
