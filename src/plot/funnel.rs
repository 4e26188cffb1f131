//! The funnel: each step's rate (from the step before) in the baseline and current windows
//! side by side with intervals, and the relative change over each pair, so the step that
//! broke stands out from the steps that merely inherit its loss.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, Axes, GREY, INK, LegendEntry, PALETTE, Scale, Swatch, Theme, ValuesAlong, extent};
use super::{Chart, drawing};
use crate::stats::proportion::{CiMethod, Counts, proportion_ci};

/// A rate with an optional interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub ci: Option<(f64, f64)>,
}

impl Estimate {
    /// `x` of `n` with a 95% Wilson interval (None when `n` is 0).
    pub fn proportion(x: u64, n: u64) -> Option<Self> {
        let counts = Counts::new("n", x, n).ok()?;
        let ci = proportion_ci(counts, 0.05, CiMethod::Wilson).ok()?;
        Some(Estimate { value: ci.estimate, ci: Some((ci.ci.lower, ci.ci.upper)) })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStepRates {
    /// E.g. "cart → checkout".
    pub label: String,
    pub baseline: Option<Estimate>,
    pub current: Option<Estimate>,
    /// Whether the change is significant (its label is drawn bold and vermillion).
    pub significant: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelChart {
    pub title: String,
    /// Legend labels of the two windows, e.g. "baseline Mar 15–21".
    pub windows: [String; 2],
    pub steps: Vec<FunnelStepRates>,
}

const BASELINE: RGBColor = GREY;
const CURRENT: RGBColor = PALETTE[0];
const ALERT: RGBColor = PALETTE[3];

impl Chart for FunnelChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let theme = Theme::for_area(root);
        let legend = [
            LegendEntry::new(&self.windows[0], BASELINE, Swatch::Box),
            LegendEntry::new(&self.windows[1], CURRENT, Swatch::Box),
            LegendEntry::new("95% interval", INK, Swatch::Line),
            LegendEntry::new("significant change", ALERT, Swatch::Dot),
        ];
        let body = style::header(root, &theme, &self.title, &legend)?;
        if self.steps.is_empty() {
            return style::footnote(root, &theme, "no funnel steps to plot");
        }
        let highs = self.steps.iter().flat_map(|s| {
            [s.baseline, s.current].into_iter().flatten().map(|e| e.ci.map_or(e.value, |c| c.1))
        });
        let (_, hi) = extent(highs).unwrap_or((0.0, 1.0));
        let y_hi = (hi * 1.15).clamp(0.01, 1.0);
        let n = self.steps.len();
        let tick_font = theme.font(theme.tick);
        let y_fmt = |v: &f64| Scale::Percent.tick(*v, y_hi);
        let axes = Axes {
            along: ValuesAlong::Y,
            values: 0.0..y_hi,
            other: 0.0..n as f64,
            ticks: 10,
            tick_text: &y_fmt,
            desc: "step rate (% of the previous step's sessions)",
            other_desc: None,
            side: (theme.tick * 4.0 + theme.label * 2.4) as u32,
        };
        let mut chart = style::axes_chart(&body, &theme, &axes)?;

        let below = tick_font.pos(Pos::new(HPos::Center, VPos::Top));
        let value_font = theme.font(theme.note).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, step) in self.steps.iter().enumerate() {
            let x = i as f64;
            let mut top = 0.0f64;
            for (estimate, from, to, color) in
                [(step.baseline, x + 0.12, x + 0.48, BASELINE), (step.current, x + 0.52, x + 0.88, CURRENT)]
            {
                let Some(e) = estimate else { continue };
                let mut bar = Rectangle::new([(from, 0.0), (to, e.value)], color.filled());
                bar.set_margin(0, 0, 1, 1);
                chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
                let mid = (from + to) / 2.0;
                let mut label_at = e.value;
                if let Some((lo, hi)) = e.ci {
                    let bar = ErrorBar::new_vertical(mid, lo, e.value, hi, INK.stroke_width(2), 12);
                    chart.draw_series(std::iter::once(bar)).map_err(drawing)?;
                    label_at = hi;
                }
                let (px, py) = chart.backend_coord(&(mid, label_at));
                root.draw_text(&Scale::Percent.value(e.value), &value_font, (px, py - 4)).map_err(drawing)?;
                top = top.max(label_at);
            }
            let (px, py) = chart.backend_coord(&(x + 0.5, 0.0));
            root.draw_text(&step.label, &below, (px, py + 8)).map_err(drawing)?;
            if let (Some(b), Some(c)) = (step.baseline, step.current)
                && b.value > 0.0
            {
                let change = Scale::SignedPercent.value(c.value / b.value - 1.0);
                let color = if step.significant { ALERT } else { GREY };
                let font = theme.font(theme.label).color(&color).pos(Pos::new(HPos::Center, VPos::Bottom));
                let (px, py) = chart.backend_coord(&(x + 0.5, top));
                let text = if step.significant { format!("{change} (significant)") } else { change };
                root.draw_text(&text, &font, (px, py - (theme.note * 2.6) as i32)).map_err(drawing)?;
            }
        }
        Ok(())
    }
}
