//! A line per segment over time, with the baseline and current windows shaded and, once
//! revealed, a marker on the moment the change started. Also draws a cumulative lift
//! with its interval band and a zero line.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    self, Axes, GREY, INK, LegendEntry, Scale, Swatch, Theme, ValuesAlong, extent, padded, series_color,
};
use super::{Chart, drawing};

/// The length of one point's period: points sit in the middle of their period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    Week,
}

impl Period {
    fn days(self) -> f64 {
        match self {
            Period::Hour => 1.0 / 24.0,
            Period::Day => 1.0,
            Period::Week => 7.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Start of the period.
    pub at: NaiveDateTime,
    /// Not finite (no sessions that day): the line breaks there.
    pub value: f64,
    /// An interval around the value, drawn as a band.
    pub ci: Option<(f64, f64)>,
}

impl Point {
    pub fn new(at: NaiveDateTime, value: f64) -> Self {
        Self { at, value, ci: None }
    }

    pub fn day(date: NaiveDate, value: f64) -> Self {
        Self::new(date.and_time(NaiveTime::MIN), value)
    }

    pub fn with_ci(mut self, lo: f64, hi: f64) -> Self {
        self.ci = Some((lo, hi));
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// A shaded span of whole days, e.g. the baseline or current window (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Shade {
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A vertical line at a moment, e.g. when the revealed cause started.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at: NaiveDateTime,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendChart {
    /// States the finding, e.g. "android 5.2.0 checkout rate fell from Mar 22".
    pub title: String,
    /// With its unit, e.g. "conversion (% of sessions)".
    pub y_label: String,
    pub scale: Scale,
    pub period: Period,
    pub series: Vec<Series>,
    /// Shaded windows: the first is drawn light grey, later ones darker.
    pub windows: Vec<Shade>,
    pub marker: Option<Marker>,
    /// A horizontal reference line, e.g. 0 for a lift.
    pub reference: Option<f64>,
}

const SHADE_ALPHA: [f64; 2] = [0.06, 0.13];

fn shade_alpha(i: usize) -> f64 {
    SHADE_ALPHA[i.min(SHADE_ALPHA.len() - 1)]
}

/// A readable date: "Mar 22", or "Mar 22 06:00" off midnight.
fn date_label(at: NaiveDateTime) -> String {
    if at.time() == NaiveTime::MIN {
        at.format("%b %-d").to_string()
    } else {
        at.format("%b %-d %H:%M").to_string()
    }
}

impl TrendChart {
    fn origin(&self) -> Option<NaiveDateTime> {
        let points = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.at.date()));
        let shades = self.windows.iter().map(|w| w.from);
        points.chain(shades).min().map(|d| d.and_time(NaiveTime::MIN))
    }

    fn x_of(origin: NaiveDateTime, at: NaiveDateTime) -> f64 {
        (at - origin).num_seconds() as f64 / 86_400.0
    }

    /// Tick positions on whole days (or whole hours for short spans), at most `most`.
    fn ticks(origin: NaiveDateTime, x_lo: f64, x_hi: f64, most: usize) -> Vec<(f64, String)> {
        let span = x_hi - x_lo;
        let steps_hours: [i64; 11] = [1, 2, 3, 6, 12, 24, 48, 168, 336, 672, 1344];
        let step =
            steps_hours.iter().copied().find(|&h| span * 24.0 / h as f64 <= most as f64).unwrap_or(2688);
        let mut out = Vec::new();
        let mut hour = (x_lo * 24.0).ceil() as i64;
        hour += (step - hour.rem_euclid(step)) % step;
        while (hour as f64) <= x_hi * 24.0 {
            out.push((hour as f64 / 24.0, date_label(origin + Duration::hours(hour))));
            hour += step;
        }
        out
    }
}

impl Chart for TrendChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let theme = Theme::for_area(root);
        let mut legend: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendEntry::new(&s.label, series_color(i), Swatch::Line))
            .collect();
        let has_ci = self.series.iter().any(|s| s.points.iter().any(|p| p.ci.is_some()));
        if has_ci {
            legend.push(LegendEntry::new("95% interval", GREY, Swatch::Shade(0.35)));
        }
        for (i, w) in self.windows.iter().enumerate() {
            let span = format!("{}–{}", w.from.format("%b %-d"), w.to.format("%b %-d"));
            legend.push(LegendEntry::new(format!("{} {span}", w.label), INK, Swatch::Shade(shade_alpha(i))));
        }
        if let Some(m) = &self.marker {
            legend.push(LegendEntry::new(&m.label, INK, Swatch::Dashed));
        }
        let body = style::header(root, &theme, &self.title, &legend)?;

        let Some(origin) = self.origin() else {
            return style::footnote(root, &theme, "no data to plot");
        };
        let half = self.period.days() / 2.0;
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| Self::x_of(origin, p.at)));
        let shade_xs = self.windows.iter().flat_map(|w| {
            let from = Self::x_of(origin, w.from.and_time(NaiveTime::MIN));
            let to = Self::x_of(origin, w.to.and_time(NaiveTime::MIN)) + 1.0;
            [from, to]
        });
        let (x_lo, x_hi) = extent(xs.chain(shade_xs)).unwrap_or((0.0, 1.0));
        let (x_lo, x_hi) = (x_lo.min(0.0), x_hi + 2.0 * half);

        let values = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .flat_map(|p| [Some(p.value), p.ci.map(|c| c.0), p.ci.map(|c| c.1)].into_iter().flatten())
        });
        let (lo, hi) = extent(values.chain(self.reference)).unwrap_or((0.0, 1.0));
        let (mut y_lo, y_hi) = padded(lo, hi, 0.08);
        let y_hi = y_hi + (y_hi - y_lo) * 0.08; // room for the window labels
        if self.scale == Scale::Percent && lo >= 0.0 {
            y_lo = y_lo.max(0.0);
        }
        let y_span = y_hi - y_lo;

        let tick_font = theme.font(theme.tick);
        let y_labels: Vec<String> =
            (0..=10).map(|i| self.scale.tick(y_lo + y_span * i as f64 / 10.0, y_span)).collect();
        let y_area = style::widest(root, &y_labels, &tick_font)? + (theme.label * 2.4) as u32;
        let y_fmt = |v: &f64| self.scale.tick(*v, y_span);
        let x_desc = match self.period {
            Period::Hour => "hour (UTC)",
            Period::Day => "day (UTC)",
            Period::Week => "week starting (UTC)",
        };
        let axes = Axes {
            along: ValuesAlong::Y,
            values: y_lo..y_hi,
            other: x_lo..x_hi,
            ticks: 8,
            tick_text: &y_fmt,
            desc: &self.y_label,
            other_desc: Some(x_desc),
            side: y_area,
        };
        let mut chart = style::axes_chart(&body, &theme, &axes)?;

        let (width, _) = root.dim_in_pixel();
        let most = (width as usize / 110).max(3);
        for (x, label) in Self::ticks(origin, x_lo, x_hi, most) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, y_lo), (x, y_hi)],
                    RGBColor(0xEE, 0xEE, 0xEE),
                )))
                .map_err(drawing)?;
            let (px, py) = chart.backend_coord(&(x, y_lo));
            let font = tick_font.pos(Pos::new(HPos::Center, VPos::Top));
            root.draw_text(&label, &font, (px, py + 6)).map_err(drawing)?;
        }

        let note_font = theme.font(theme.note).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, w) in self.windows.iter().enumerate() {
            let from = Self::x_of(origin, w.from.and_time(NaiveTime::MIN));
            let to = Self::x_of(origin, w.to.and_time(NaiveTime::MIN)) + 1.0;
            let rect = Rectangle::new([(from, y_lo), (to, y_hi)], INK.mix(shade_alpha(i)).filled());
            chart.draw_series(std::iter::once(rect)).map_err(drawing)?;
            let (px, py) = chart.backend_coord(&((from + to) / 2.0, y_hi));
            root.draw_text(&w.label, &note_font, (px, py + 4)).map_err(drawing)?;
        }
        if let Some(r) = self.reference {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x_lo, r), (x_hi, r)],
                    INK.stroke_width(1),
                )))
                .map_err(drawing)?;
        }
        if let Some(m) = &self.marker {
            let x = Self::x_of(origin, m.at);
            let line = plotters::element::DashedPathElement::new(
                vec![(x, y_lo), (x, y_hi)],
                8,
                5,
                INK.stroke_width(2),
            );
            chart.draw_series(std::iter::once(line)).map_err(drawing)?;
        }

        let dots = self.series.iter().map(|s| s.points.len()).max().unwrap_or(0) <= 60;
        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(i);
            let xy = |p: &Point| (Self::x_of(origin, p.at) + half, p.value);
            // One band and one line per unbroken run of finite values.
            for run in s.points.split(|p| !p.value.is_finite()).filter(|r| !r.is_empty()) {
                let band: Vec<(f64, f64)> = run
                    .iter()
                    .filter_map(|p| p.ci.map(|c| (Self::x_of(origin, p.at) + half, c.1)))
                    .chain(
                        run.iter().rev().filter_map(|p| p.ci.map(|c| (Self::x_of(origin, p.at) + half, c.0))),
                    )
                    .collect();
                if band.len() >= 4 {
                    chart
                        .draw_series(std::iter::once(Polygon::new(band, color.mix(0.18).filled())))
                        .map_err(drawing)?;
                }
                chart
                    .draw_series(LineSeries::new(run.iter().map(xy), color.stroke_width(3)))
                    .map_err(drawing)?;
                if dots {
                    chart
                        .draw_series(run.iter().map(|p| Circle::new(xy(p), 4, color.filled())))
                        .map_err(drawing)?;
                }
            }
        }
        Ok(())
    }
}
