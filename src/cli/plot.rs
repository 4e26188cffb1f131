//! `--plot FILE.png|FILE.svg` and `--size WxH`, shared by every command that can draw its
//! result: the flags are parsed and checked before any work, the chart written after it.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::plot::{Chart, ImageFormat, Size};

#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Also draw the result as a chart: FILE.png or FILE.svg (by extension).
    #[arg(long, value_name = "FILE", value_parser = parse_plot_path)]
    pub plot: Option<PathBuf>,
    /// Chart size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1200x700", requires = "plot")]
    pub size: Size,
}

fn parse_plot_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    ImageFormat::from_path(&path).map_err(|e| e.to_string().trim_start_matches("--plot ").to_string())?;
    Ok(path)
}

thread_local! {
    /// Set while `capture_charts` runs: every chart a command can draw, as SVG.
    static CHARTS: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `command` keeping, as SVG at the default size, every chart it could draw (with or
/// without `--plot`): the web face shows the same charts the terminal writes to files.
pub(crate) fn capture_charts<T>(command: impl FnOnce() -> T) -> (T, Vec<String>) {
    CHARTS.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let result = command();
    let charts = CHARTS.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (result, charts)
}

impl PlotArgs {
    /// Draws the chart `make` builds, when --plot was given; says where on stderr.
    pub fn write<C: Chart>(&self, make: impl FnOnce() -> C) -> anyhow::Result<()> {
        if CHARTS.with(|c| c.borrow().is_some()) {
            let svg = crate::plot::to_svg(&make(), Size::default())?;
            CHARTS.with(|c| c.borrow_mut().as_mut().map(|charts| charts.push(svg)));
            return Ok(());
        }
        if let Some(path) = &self.plot {
            crate::plot::save(&make(), path, self.size)?;
            eprintln!("chart written to {}", display(path));
        }
        Ok(())
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
