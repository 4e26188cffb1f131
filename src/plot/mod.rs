//! Charts of query and A/B results, rendered with plotters to SVG or PNG (chosen by the
//! file's extension). Each chart takes plain result data (no data frames), so any command
//! or the HTML report can draw one. Text uses an embedded DejaVu Sans, so PNGs render the
//! same on a machine with no system fonts; colours come from the Okabe–Ito palette, which
//! stays distinguishable under the common forms of colour blindness.

mod bars;
mod forest;
mod funnel;
mod png;
mod style;
mod text;
mod trend;

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use bars::{Contribution, ContributionChart, CountGroup, CountsChart};
pub use forest::{ForestChart, ForestRow};
pub use funnel::{Estimate, FunnelChart, FunnelStepRates};
pub use style::{PALETTE, Scale};
pub use trend::{Marker, Period, Point, Series, Shade, TrendChart};

/// Pixel size of a chart: `--size WxH`, 1200×700 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const MIN: u32 = 300;
    pub const MAX: u32 = 8000;
}

impl Default for Size {
    fn default() -> Self {
        Self { width: 1200, height: 700 }
    }
}

impl FromStr for Size {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        let (w, h) = text
            .split_once(['x', 'X', '×'])
            .with_context(|| format!("size '{text}' is not WIDTHxHEIGHT in pixels (for example 1200x700)"))?;
        let parse = |s: &str| -> anyhow::Result<u32> {
            let v: u32 = s.trim().parse().with_context(|| {
                format!("size '{text}': '{s}' is not a whole number of pixels (for example 1200x700)")
            })?;
            if !(Self::MIN..=Self::MAX).contains(&v) {
                bail!("size '{text}': {v} pixels is outside {}..{}", Self::MIN, Self::MAX);
            }
            Ok(v)
        };
        Ok(Size { width: parse(w)?, height: parse(h)? })
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// The image format a `--plot` file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// From the file's extension (`.svg` or `.png`, any case).
    pub fn from_path(path: &Path) -> anyhow::Result<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => bail!(
                "--plot {}: the file name must end in .png or .svg (for example chart.png)",
                path.display()
            ),
        }
    }
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    /// Draws on `root`, which covers the whole image.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Errors of plotters' drawing calls, as anyhow errors.
pub(crate) fn drawing<E: std::error::Error + Send + Sync + 'static>(
    err: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {err}")
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; failure would be a build defect.
        if plotters::style::register_font("sans-serif", FontStyle::Normal, text::DEJAVU).is_err() {
            panic!("the embedded DejaVu Sans font does not parse");
        }
    });
}

/// The chart as an SVG document.
pub fn to_svg(chart: &impl Chart, size: Size) -> anyhow::Result<String> {
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (size.width, size.height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        chart.draw(&root)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

/// The chart as a PNG file's bytes.
pub fn to_png(chart: &impl Chart, size: Size) -> anyhow::Result<Vec<u8>> {
    register_font();
    let mut rgb = vec![255u8; size.width as usize * size.height as usize * 3];
    {
        // Text is laid out by `text::GlyphBackend`: plotters' own PNG text drops each
        // glyph's side bearing and spaces letters unevenly.
        let bitmap = BitMapBackend::with_buffer(&mut rgb, (size.width, size.height));
        let root = text::GlyphBackend::new(bitmap).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        chart.draw(&root)?;
        root.present().map_err(drawing)?;
    }
    Ok(png::encode_rgb(size.width, size.height, &rgb))
}

/// Writes the chart to `path` as SVG or PNG (by extension), atomically.
pub fn save(chart: &impl Chart, path: &Path, size: Size) -> anyhow::Result<()> {
    let bytes = match ImageFormat::from_path(path)? {
        ImageFormat::Svg => to_svg(chart, size)?.into_bytes(),
        ImageFormat::Png => to_png(chart, size)?,
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &bytes).with_context(|| format!("--plot: cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("--plot: cannot write {}", path.display()))
}

/// A metric's series over time per segment (`query trend`, a cumulative lift).
pub fn trend(chart: &TrendChart, path: &Path, size: Size) -> anyhow::Result<()> {
    save(chart, path, size)
}

/// Each segment's contribution to a change, mix and rate parts stacked (`query compare`).
pub fn contributions(chart: &ContributionChart, path: &Path, size: Size) -> anyhow::Result<()> {
    save(chart, path, size)
}

/// Step rates of both windows side by side with intervals (`query funnel`).
pub fn funnel(chart: &FunnelChart, path: &Path, size: Size) -> anyhow::Result<()> {
    save(chart, path, size)
}

/// Estimates with intervals, one row each (lift per metric or per day).
pub fn forest(chart: &ForestChart, path: &Path, size: Size) -> anyhow::Result<()> {
    save(chart, path, size)
}

/// Observed against expected counts (`ab srm`).
pub fn counts(chart: &CountsChart, path: &Path, size: Size) -> anyhow::Result<()> {
    save(chart, path, size)
}

#[cfg(test)]
mod tests;
