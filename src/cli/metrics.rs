//! `dropcase metrics`: the metric registry with each metric's definition.

use clap::Args;

use super::emit;
use crate::output::{self, Format};
use crate::query::{METRICS, Measure};

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn measure_name(m: Option<Measure>) -> String {
    m.map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
        .unwrap_or_default()
}

pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    let header = ["name", "kind", "numerator", "denominator", "definition"];
    let rows: Vec<Vec<String>> = METRICS
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
        Format::Json => output::json(&METRICS),
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
