//! `dropcase scenarios list|show|check`: the catalogue and the scenario checker.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::experiment::ExperimentScenario;
use crate::output::{self, Format};
use crate::scenario::{Kind, Scenario, catalogue};

/// A path to an experiment file, or the name of an embedded experiment scenario.
fn is_experiment_name(name: &str) -> bool {
    match std::fs::read_to_string(name) {
        Ok(text) => catalogue::is_experiment(&text),
        Err(_) => {
            catalogue::EMBEDDED.iter().any(|(file, text)| *file == name && catalogue::is_experiment(text))
        }
    }
}

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    #[command(subcommand)]
    pub command: ScenariosCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScenariosCommand {
    /// List the embedded catalogue.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show a scenario's public brief (never its cause).
    Show { name: String },
    /// Validate a scenario file and report every problem.
    Check { file: PathBuf },
    /// List the families catalogue (`products/families.toml`): group, mechanisms, look-alike, actions.
    Families {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// One row of `scenarios families` (JSON field names are a documented contract).
#[derive(Debug, Serialize)]
pub struct FamilyEntry {
    pub name: String,
    pub group: &'static str,
    pub products: Vec<String>,
    pub mechanisms: Vec<&'static str>,
    pub lookalike: String,
    pub actions: Vec<String>,
    /// The metrics that confirm a fix (`drill answer --monitor`), best first.
    pub monitors: Vec<&'static str>,
    pub signature: String,
}

pub fn family_entries() -> Vec<FamilyEntry> {
    crate::scenario::Family::all()
        .into_iter()
        .map(|f| {
            let def = f.def();
            FamilyEntry {
                name: f.name().to_string(),
                group: def.group.name(),
                products: def.products.clone(),
                mechanisms: def.mechanisms.iter().map(|t| t.mechanism.name()).collect(),
                lookalike: def.lookalike.clone(),
                actions: def.actions.clone(),
                monitors: f.monitors().to_vec(),
                signature: def.signature.clone(),
            }
        })
        .collect()
}

/// One row of `scenarios list` (JSON field names are a documented contract).
#[derive(Debug, Serialize)]
pub struct ScenarioEntry {
    pub name: String,
    /// The product the scenario is about (`shop`, `engagement_app`, `saas`).
    pub product: String,
    pub kind: &'static str,
    pub family: Vec<String>,
    pub difficulty: &'static str,
    pub title: String,
}

pub fn entries() -> anyhow::Result<Vec<ScenarioEntry>> {
    let experiments = catalogue::experiments()?.into_iter().map(|s| ScenarioEntry {
        product: crate::product::DEFAULT.to_string(),
        kind: "experiment",
        family: vec![s.family.name().to_string()],
        difficulty: s.difficulty.name(),
        title: s.title.clone(),
        name: s.name,
    });
    let mut entries: Vec<ScenarioEntry> = catalogue::all()?
        .into_iter()
        .map(|s| ScenarioEntry {
            kind: match s.kind {
                Kind::Drop => "drop",
                Kind::Experiment => "experiment",
            },
            family: s.families().iter().map(|f| f.name().to_string()).collect(),
            product: s.product.clone(),
            difficulty: s.difficulty.name(),
            title: s.title.clone(),
            name: s.name,
        })
        .collect();
    entries.extend(crate::product::scenario::ProductScenario::all()?.into_iter().map(|s| ScenarioEntry {
        product: s.product.clone(),
        kind: "drop",
        family: s.families(),
        difficulty: s.difficulty.name(),
        title: s.title.clone(),
        name: s.name,
    }));
    entries.extend(experiments);
    Ok(entries)
}

pub fn run(args: ScenariosArgs) -> anyhow::Result<()> {
    match args.command {
        ScenariosCommand::List { format } => {
            let entries = entries()?;
            let text = match format {
                Format::Json => output::json(&entries),
                Format::Csv | Format::Table => {
                    let header = ["name", "kind", "product", "family", "difficulty", "title"];
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.kind.into(),
                                e.product.clone(),
                                e.family.join("|"),
                                e.difficulty.into(),
                                e.title.clone(),
                            ]
                        })
                        .collect();
                    if format == Format::Csv {
                        output::csv(&header, &rows)
                    } else {
                        // Several families wrap one per line; the title wraps; the kind and
                        // then the difficulty go if it cannot.
                        let rows: Vec<Vec<String>> = rows
                            .into_iter()
                            .map(|mut row| {
                                row[3] = row[3].replace('|', " + ");
                                row
                            })
                            .collect();
                        let mut table = output::FitTable::new(&[
                            ("name", output::Fit::Keep),
                            ("kind", output::Fit::Drop(2)),
                            ("product", output::Fit::Drop(3)),
                            ("family", output::Fit::Wrap),
                            ("difficulty", output::Fit::Drop(1)),
                            ("title", output::Fit::Wrap),
                        ]);
                        for row in rows {
                            table.add_row(row);
                        }
                        table.to_string()
                    }
                }
            };
            super::emit(&text)
        }
        ScenariosCommand::Show { name } if is_experiment_name(&name) => {
            let s = ExperimentScenario::load(&name)?;
            let d = &s.design;
            super::emit(&format!(
                "{} — {}\nkind: experiment, difficulty: {}\nhypothesis: {}\ndesign: {} vs {} ({}/{}), from {} for {} days, about {} users; primary {}, MDE {:.1}%\n(the truth is hidden: start a drill with `dropcase exp start --scenario {}`)",
                s.name,
                s.title,
                s.difficulty.name(),
                s.hypothesis,
                d.arms[0],
                d.arms[1],
                d.weights[0],
                d.weights[1],
                d.start,
                d.planned_days,
                output::thousands(d.users),
                d.primary,
                d.mde * 100.0,
                s.name
            ))
        }
        ScenariosCommand::Show { name }
            if crate::product::scenario::ProductScenario::find(&name).is_some() =>
        {
            let s = crate::product::scenario::ProductScenario::find(&name).expect("just found")?;
            let p = s.product();
            super::emit(&format!(
                "{} — {}\nproduct: {} ({}), kind: drop, difficulty: {}\nperiod: {} days (the dates come from the seed), about {} rows a day\ncompares: the last {} days against the {} before on {}\n(the cause is hidden: start a drill with `dropcase drill start --scenario {}`)",
                s.name,
                s.title,
                p.name,
                p.title,
                s.difficulty.name(),
                p.period.days,
                output::thousands(s.rows_per_day.unwrap_or(p.rows_per_day).round() as u64),
                p.period.current_days,
                p.period.baseline_days,
                s.metric,
                s.name
            ))
        }
        ScenariosCommand::Show { name } => {
            let s = Scenario::load(&name)?;
            let (baseline, current) = s.windows();
            let text = format!(
                "{} — {}\nkind: {:?}, product: {}, difficulty: {}\nperiod: {} to {} ({} days{}), about {} sessions a day\ncompares: baseline {} vs current {} on {}\n(the cause is hidden: start a drill with `dropcase drill start --scenario {}`)",
                s.name,
                s.title,
                s.kind,
                s.product,
                s.difficulty.name(),
                s.period.start,
                s.end(),
                s.period.days,
                if s.period.calendar_weeks > 0 {
                    format!("; the seed moves it by up to {} weeks", s.period.calendar_weeks)
                } else {
                    String::new()
                },
                output::thousands(s.traffic.sessions_per_day.round() as u64),
                baseline,
                current,
                s.metric,
                s.name
            );
            super::emit(&text)
        }
        ScenariosCommand::Check { file }
            if std::fs::read_to_string(&file).is_ok_and(|t| catalogue::is_experiment(&t)) =>
        {
            let s = ExperimentScenario::read(&file)?;
            super::emit(&format!(
                "{}: ok ({} — {}, experiment: {})",
                file.display(),
                s.name,
                s.title,
                s.family
            ))
        }
        ScenariosCommand::Families { format } => {
            let entries = family_entries();
            let text = match format {
                Format::Json => output::json(&entries),
                Format::Csv | Format::Table => {
                    let header = ["name", "group", "products", "mechanisms", "lookalike", "actions"];
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.group.into(),
                                if e.products.is_empty() { "all".into() } else { e.products.join("|") },
                                e.mechanisms.join("+"),
                                e.lookalike.clone(),
                                e.actions.join("|"),
                            ]
                        })
                        .collect();
                    if format == Format::Csv {
                        output::csv(&header, &rows)
                    } else {
                        let mut table = output::FitTable::new(&[
                            ("name", output::Fit::Keep),
                            ("group", output::Fit::Keep),
                            ("products", output::Fit::Drop(3)),
                            ("mechanisms", output::Fit::Wrap),
                            ("lookalike", output::Fit::Drop(2)),
                            ("actions", output::Fit::Drop(1)),
                        ]);
                        for row in rows {
                            table.add_row(row);
                        }
                        table.to_string()
                    }
                }
            };
            super::emit(&text)
        }
        ScenariosCommand::Check { file }
            if crate::product::scenario::ProductScenario::find(&file.display().to_string()).is_some() =>
        {
            let s = crate::product::scenario::ProductScenario::find(&file.display().to_string())
                .expect("just found")?;
            super::emit(&format!(
                "{}: ok ({} — {}, product {}, {})",
                file.display(),
                s.name,
                s.title,
                s.product,
                s.families().join(", ")
            ))
        }
        ScenariosCommand::Check { file } => {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let s = Scenario::read(&file)?;
            // Files written before products existed are the shop's; say how to be explicit.
            if !text.lines().any(|l| l.trim_start().starts_with("product")) {
                eprintln!(
                    "note: {} has no `product` key, so it reads as the shop (today's format). Add `product = \"shop\"` at the top to say so, and `calendar_weeks = N` under [period] to let the seed move its dates.",
                    file.display()
                );
            }
            super::emit(&format!(
                "{}: ok ({} — {}, {})",
                file.display(),
                s.name,
                s.title,
                s.families().iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            ))
        }
    }
}
