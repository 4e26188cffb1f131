//! The public brief of a drill (`drill.toml`): what the learner is told. It never holds
//! the cause; that lives in the sealed answer.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// An inclusive range of calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Self { from, to }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Parses `FROM..TO` (both `YYYY-MM-DD`, inclusive).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (from, to) = text.split_once("..").with_context(|| {
            format!("window '{text}' is not FROM..TO (for example 2026-03-15..2026-03-21)")
        })?;
        let parse = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .with_context(|| format!("'{s}' in window '{text}' is not a YYYY-MM-DD date"))
        };
        let (from, to) = (parse(from)?, parse(to)?);
        anyhow::ensure!(from <= to, "window '{text}' ends before it starts: write the earlier date first");
        Ok(Self { from, to })
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

/// What kind of drill a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    Drop,
    Experiment,
}

/// The contents of `drill.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Brief {
    pub kind: DrillKind,
    /// The product the drill is about (a name from `products/`, or a product file's path);
    /// absent in older drills and in the shop's, which read as the shop.
    #[serde(default = "default_product", skip_serializing_if = "is_default_product")]
    pub product: String,
    /// The interviewer's opening line, with the headline change.
    pub prompt: String,
    /// The metric whose change is the headline (a name from the metric registry).
    pub metric: String,
    pub baseline: Window,
    pub current: Window,
    /// First and last date present in the data.
    pub data_from: NaiveDate,
    pub data_to: NaiveDate,
    pub seed: u64,
    pub sessions: u64,
    /// Tables in the folder, with one line on each.
    pub tables: Vec<TableNote>,
    /// Metric definitions the learner can rely on.
    pub definitions: Vec<Definition>,
    /// Families the drill's scenario file defines beside the catalogue (the answer menu
    /// needs them in every process that reads the drill); empty for catalogue families.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub families: std::collections::BTreeMap<String, crate::scenario::family::FamilyDef>,
}

fn default_product() -> String {
    crate::product::DEFAULT.to_string()
}

fn is_default_product(product: &String) -> bool {
    product == crate::product::DEFAULT
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableNote {
    pub name: String,
    pub about: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Definition {
    pub metric: String,
    pub definition: String,
}

/// The identity of a drill: a digest of what makes its brief unique (kind, seed, data dates
/// and the opening line), the same for drop and experiment briefs. State files (the sealed
/// answer, `progress.json`) carry it, so one drill's file is refused in another's folder.
/// Formatting changes to `drill.toml` (key order, spacing) leave it unchanged.
pub fn identity(brief_toml: &str) -> anyhow::Result<String> {
    // Only these keys, read as the briefs type them (a seed may exceed TOML's i64 range,
    // which a generic TOML table refuses).
    #[derive(Deserialize)]
    struct Identity {
        kind: DrillKind,
        seed: u64,
        data_from: NaiveDate,
        data_to: NaiveDate,
        prompt: String,
    }
    let id: Identity =
        toml::from_str(brief_toml).context("the brief lacks kind, seed, data_from, data_to or prompt")?;
    let kind = match id.kind {
        DrillKind::Drop => "drop",
        DrillKind::Experiment => "experiment",
    };
    let text = format!(
        "kind={kind}\nseed={}\ndata_from={}\ndata_to={}\nprompt={}\n",
        id.seed, id.data_from, id.data_to, id.prompt
    );
    Ok(format!("{:08x}", crc32fast::hash(text.as_bytes())))
}

/// The identity of the drill in `dir`, from its `drill.toml`.
pub fn identity_of(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(crate::schema::files::BRIEF);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the drill brief {}", path.display()))?;
    identity(&text).with_context(|| format!("{} is not a valid brief", path.display()))
}

/// The seed in the brief of the drill in `dir`, for "generate it again" advice.
pub fn seed_of(dir: &Path) -> Option<u64> {
    #[derive(Deserialize)]
    struct SeedOnly {
        seed: u64,
    }
    let text = std::fs::read_to_string(dir.join(crate::schema::files::BRIEF)).ok()?;
    toml::from_str::<SeedOnly>(&text).ok().map(|s| s.seed)
}

/// The product of the drill in `dir`, from its brief's `product` key (the shop when absent).
pub fn product_of(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(crate::schema::files::BRIEF);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the drill brief {}", path.display()))?;
    #[derive(Deserialize)]
    struct ProductOnly {
        #[serde(default = "default_product")]
        product: String,
    }
    let only: ProductOnly =
        toml::from_str(&text).with_context(|| format!("{} has no valid `product`", path.display()))?;
    Ok(only.product)
}

/// The kind of drill in a folder, read from its brief's `kind` key.
pub fn kind_of(dir: &Path) -> anyhow::Result<DrillKind> {
    let path = dir.join(crate::schema::files::BRIEF);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the drill brief {}", path.display()))?;
    #[derive(Deserialize)]
    struct KindOnly {
        kind: DrillKind,
    }
    let kind: KindOnly =
        toml::from_str(&text).with_context(|| format!("{} has no valid `kind`", path.display()))?;
    Ok(kind.kind)
}

impl Brief {
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(crate::schema::files::BRIEF);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the drill brief {}", path.display()))?;
        let brief: Brief =
            toml::from_str(&text).with_context(|| format!("{} is not a valid brief", path.display()))?;
        crate::scenario::family::register(&brief.families)
            .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
        Ok(brief)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a brief always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIEF: &str = "kind = \"drop\"\nprompt = \"Conversion fell.\"\nseed = 14632956294456932596\ndata_from = \"2026-03-01\"\ndata_to = \"2026-03-28\"\nmetric = \"conversion\"\n";

    #[test]
    fn identity_binds_seed_dates_and_prompt_not_layout() {
        let id = identity(BRIEF).unwrap();
        assert_eq!(id.len(), 8);
        let reordered = "metric = \"conversion\"\nseed = 14632956294456932596\nkind = \"drop\"\n\ndata_to = \"2026-03-28\"\ndata_from = \"2026-03-01\"\nprompt = \"Conversion fell.\"\n";
        assert_eq!(identity(reordered).unwrap(), id, "layout and other keys do not count");
        assert_ne!(identity(&BRIEF.replace("596", "597")).unwrap(), id, "the seed counts");
        assert_ne!(identity(&BRIEF.replace("fell.", "rose.")).unwrap(), id, "the prompt counts");
        assert!(identity("kind = \"drop\"").is_err());
    }
}
