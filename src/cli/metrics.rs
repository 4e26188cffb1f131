//! `dropcase metrics`: the metric registry with each metric's definition.

use clap::Args;

use super::emit;
use crate::output::{self, Format};
use crate::query::Measure;

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// A drill folder whose product's metrics to list (default: the shop's, which own data
    /// reads as).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// A product by name (`shop`, `engagement_app`, `saas`) or a product file.
    #[arg(long, conflicts_with = "data")]
    pub product: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn measure_name(m: Option<Measure>) -> String {
    m.map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
        .unwrap_or_default()
}

pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    let product = match (&args.data, &args.product) {
        (Some(dir), _) if dir.join(crate::schema::files::BRIEF).is_file() => {
            crate::product::Product::load(&crate::brief::product_of(dir)?)?
        }
        (Some(dir), _) => {
            anyhow::ensure!(dir.exists(), "--data {}: no such file or folder", dir.display());
            crate::product::Product::shop()
        }
        (None, Some(name)) => crate::product::Product::load(name)?,
        (None, None) => crate::product::Product::shop(),
    };
    let metrics = product.metric_registry();
    let header = ["name", "kind", "numerator", "denominator", "definition"];
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|m| {
            vec![
                m.name.to_string(),
                serde_json::to_value(m.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                measure_name(Some(m.numerator)),
                measure_name(m.denominator),
                m.definition.to_string(),
            ]
        })
        .collect();
    let text = match args.format {
        Format::Json => output::json(&metrics),
        Format::Csv => output::csv(&header, &rows),
        Format::Table => {
            // Definitions wrap; the numerator and denominator (which the definition restates)
            // go together if that cannot fit.
            let mut table = output::FitTable::new(&[
                ("name", output::Fit::Keep),
                ("kind", output::Fit::Keep),
                ("numerator", output::Fit::Drop(1)),
                ("denominator", output::Fit::Drop(1)),
                ("definition", output::Fit::Wrap),
            ]);
            for row in rows {
                table.add_row(row);
            }
            format!("{table}\n")
        }
    };
    emit(&text)
}
