//! The HTML report of an investigation: the brief, every command the learner ran in order
//! with its output and chart, the answer and its grade, and after the reveal the truth with
//! a chart that shows it. One self-contained file (inline CSS and SVG, no scripts, no
//! network), so it opens in any browser and can be mailed or archived as it is.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, NaiveTime, Utc};
use polars::prelude::*;

use crate::brief::{Brief, DrillKind};
use crate::drill::workspace::AnswerRecord;
use crate::generate::Truth;
use crate::generate::model::Model;
use crate::plot::{Marker, Period, Point, Scale, Series, Shade, TrendChart};
use crate::scenario::Stage;
use crate::schema::{files, rollup as r};

/// What became of one logged command when the report was built.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutput {
    /// Run again: its stdout, and its chart when the command can draw one.
    Ran { stdout: String, chart_svg: Option<String> },
    /// Run again but failed (e.g. the command no longer exists): its error.
    Failed(String),
    /// Not run again, with the reason (hints and answers are not repeated).
    Recorded(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub command: String,
    pub output: StepOutput,
}

#[derive(Debug, Clone)]
pub struct TruthSection {
    pub truth: Truth,
    pub chart_svg: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub brief: Brief,
    pub steps: Vec<Step>,
    pub hints: u32,
    pub answer: Option<AnswerRecord>,
    /// Present once the truth has been revealed.
    pub truth: Option<TruthSection>,
    /// The scorecard of an answered interview.
    pub interview: Option<crate::drill::grade::InterviewCard>,
}

/// Splits a logged command back into its words: the log joins arguments with spaces and
/// writes those containing a space in Rust's debug quoting ("a b", with \" and \\).
pub fn split_command(logged: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = logged.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some('t') => word.push('\t'),
                        Some('r') => word.push('\r'),
                        Some('0') => word.push('\0'),
                        Some(other) => word.push(other),
                        None => {}
                    },
                    other => word.push(other),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

/// The daily rate the true cause moved: the target segment against everyone else (or the
/// whole population when the cause hit everyone), the windows shaded, the start marked.
pub fn truth_chart(dir: &Path, brief: &Brief, truth: &Truth) -> anyhow::Result<TrendChart> {
    let stage = Model::signature_stage(truth.family, truth.stage);
    let (num, den, rate_name) = match stage {
        None => (r::PURCHASED, r::SESSIONS, "conversion (% of sessions)".to_string()),
        Some(stage) => {
            let cols = [r::SESSIONS, r::VIEWED_PRODUCT, r::ADDED_TO_CART, r::REACHED_CHECKOUT, r::PURCHASED];
            let i = stage.index();
            (cols[i + 1], cols[i], format!("{} (% of {} sessions)", stage.metric(), step_noun(stage)))
        }
    };
    let in_segment = truth
        .segment
        .iter()
        .map(|(dim, value)| col(dim.as_str()).cast(DataType::String).eq(lit(value.clone())))
        .reduce(|a, b| a.and(b))
        .unwrap_or(lit(true));
    let df = crate::datafile::scan_parquet(&dir.join(files::ROLLUP), false)?
        .group_by([col("date"), in_segment.alias("target")])
        .agg([
            col(num).sum().cast(DataType::Float64).alias("num"),
            col(den).sum().cast(DataType::Float64).alias("den"),
        ])
        .sort(["date"], SortMultipleOptions::default())
        .collect()?;
    let dates = df.column("date")?.date()?.as_date_iter().collect::<Vec<_>>();
    let target = df.column("target")?.bool()?.iter().collect::<Vec<_>>();
    let nums = df.column("num")?.f64()?.iter().collect::<Vec<_>>();
    let dens = df.column("den")?.f64()?.iter().collect::<Vec<_>>();

    let who = if truth.segment.is_empty() {
        "everyone".to_string()
    } else {
        truth.segment.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(", ")
    };
    let mut segment = Series { label: who.clone(), points: Vec::new() };
    let mut rest = Series { label: "everyone else".into(), points: Vec::new() };
    for i in 0..df.height() {
        let (Some(date), Some(num), Some(den)) = (dates[i], nums[i], dens[i]) else { continue };
        let value = if den > 0.0 { num / den } else { f64::NAN };
        let series = if target[i].unwrap_or(false) { &mut segment } else { &mut rest };
        series.points.push(Point::day(date, value));
    }
    let mut series = vec![segment];
    if !rest.points.is_empty() {
        series.push(rest);
    }
    Ok(TrendChart {
        title: format!("The cause: {} hit {who} from {}", truth.family.name(), truth.start.format("%b %-d")),
        y_label: rate_name,
        scale: Scale::Percent,
        period: Period::Day,
        series,
        windows: vec![
            Shade { label: "baseline".into(), from: brief.baseline.from, to: brief.baseline.to },
            Shade { label: "current".into(), from: brief.current.from, to: brief.current.to },
        ],
        marker: Some(Marker {
            at: if truth.start_time.time() == NaiveTime::MIN {
                truth.start.and_time(NaiveTime::MIN)
            } else {
                truth.start_time
            },
            label: if truth.start_time.time() == NaiveTime::MIN {
                format!("cause starts {}", truth.start.format("%b %-d"))
            } else {
                format!("cause starts {}", truth.start_time.format("%b %-d %H:%M"))
            },
        }),
        reference: None,
    })
}

fn step_noun(stage: Stage) -> &'static str {
    match stage {
        Stage::View => "all",
        Stage::Cart => "product-viewing",
        Stage::Checkout => "cart",
        Stage::Purchase => "checkout",
        _ => "previous-step",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Removes ANSI colour codes (in case a command coloured its output anyway).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#222;background:#fafafa;line-height:1.45}
main{max-width:1240px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:1.7em;margin:.2em 0 .1em}h2{margin-top:1.8em;border-bottom:2px solid #0072B2;padding-bottom:.2em}
.muted{color:#666}.prompt{font-size:1.15em;background:#fff;border-left:4px solid #E69F00;padding:.6em 1em}
table{border-collapse:collapse;margin:.6em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.step{background:#fff;border:1px solid #e2e2e2;border-radius:6px;margin:1.2em 0;padding:.6em 1em}
.step h3{font-size:1em;margin:.2em 0 .5em;font-weight:600}
code.cmd{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;background:#f0f4f8;padding:.15em .4em;border-radius:3px;word-break:break-all}
pre{white-space:pre-wrap;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.82em;background:#f7f7f7;padding:.7em;overflow-x:auto;border-radius:4px}
pre.error{background:#fff0eb;color:#8a2a00}
figure{margin:.8em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee;background:#fff}
.score{font-size:1.4em;font-weight:700;color:#0072B2}.truth{border-left:4px solid #D55E00;background:#fff;padding:.4em 1em}
";

/// The report as one HTML document.
pub fn render_html(report: &Report) -> String {
    let brief = &report.brief;
    let mut h = String::new();
    let kind = match brief.kind {
        DrillKind::Drop => "metric-drop drill",
        DrillKind::Experiment => "experiment drill",
    };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>dropcase report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>",
        escape(&brief.metric)
    );
    let _ = writeln!(
        h,
        "<h1>Investigation report</h1>\n<p class=\"muted\">dropcase {} · {kind} · seed {} · {} sessions · data {} to {}</p>",
        env!("CARGO_PKG_VERSION"),
        brief.seed,
        crate::output::thousands(brief.sessions),
        brief.data_from,
        brief.data_to
    );

    h.push_str("<h2>The brief</h2>\n");
    let _ = writeln!(h, "<p class=\"prompt\">{}</p>", escape(&brief.prompt));
    let _ = writeln!(
        h,
        "<table><tr><th>metric</th><td>{}</td></tr><tr><th>baseline window</th><td>{}</td></tr>\
         <tr><th>current window</th><td>{}</td></tr></table>",
        escape(&brief.metric),
        escape(&brief.baseline.to_string()),
        escape(&brief.current.to_string())
    );
    if !brief.definitions.is_empty() {
        h.push_str("<details><summary>Metric definitions</summary><table>");
        for d in &brief.definitions {
            let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(&d.metric), escape(&d.definition));
        }
        h.push_str("</table></details>\n");
    }

    let _ = writeln!(
        h,
        "<h2>The investigation</h2>\n<p class=\"muted\">{} commands in the order they were run; {} hint{} taken. Outputs were computed again from the drill's data when this report was made.</p>",
        report.steps.len(),
        report.hints,
        if report.hints == 1 { "" } else { "s" }
    );
    for (i, step) in report.steps.iter().enumerate() {
        let _ = writeln!(
            h,
            "<section class=\"step\" id=\"step-{n}\"><h3>{n}. <code class=\"cmd\">{}</code> <span class=\"muted\">{}</span></h3>",
            escape(&step.command),
            step.at.format("%Y-%m-%d %H:%M UTC"),
            n = i + 1
        );
        match &step.output {
            StepOutput::Ran { stdout, chart_svg } => {
                let _ = writeln!(h, "<pre>{}</pre>", escape(strip_ansi(stdout).trim_end()));
                if let Some(svg) = chart_svg {
                    let _ = writeln!(h, "<figure>{}</figure>", inline_svg(svg));
                }
            }
            StepOutput::Failed(err) => {
                let _ = writeln!(h, "<pre class=\"error\">{}</pre>", escape(strip_ansi(err).trim_end()));
            }
            StepOutput::Recorded(note) => {
                let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape(note));
            }
        }
        h.push_str("</section>\n");
    }

    h.push_str("<h2>The answer</h2>\n");
    match &report.answer {
        None => h.push_str("<p class=\"muted\">No answer submitted yet.</p>\n"),
        Some(a) => {
            let segment = if a.segment.is_empty() {
                "everyone".to_string()
            } else {
                a.segment.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(
                h,
                "<table><tr><th>cause</th><td>{}</td></tr><tr><th>segment</th><td>{}</td></tr>\
                 <tr><th>stage</th><td>{}</td></tr><tr><th>start</th><td>{}</td></tr>{}</table>",
                escape(&a.cause),
                escape(&segment),
                escape(a.stage.as_deref().unwrap_or("–")),
                a.start.map(|d| d.to_string()).unwrap_or_else(|| "–".into()),
                a.note
                    .as_deref()
                    .map(|n| format!("<tr><th>note</th><td>{}</td></tr>", escape(n)))
                    .unwrap_or_default()
            );
            let _ = writeln!(h, "<p>Score: <span class=\"score\">{:.0} / 100</span></p>", a.grade.score);
            h.push_str("<table><tr><th>component</th><th>earned</th><th>possible</th><th>why</th></tr>");
            for c in &a.grade.breakdown {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>",
                    escape(&c.component),
                    c.earned,
                    c.possible,
                    escape(&c.why)
                );
            }
            h.push_str("</table>\n");
        }
    }
    if let Some(card) = &report.interview {
        let _ = writeln!(
            h,
            "<h2>Interview scorecard</h2>\n<p>{} of {} minutes</p>\n<table><tr><th>rubric</th><th>earned</th><th>possible</th><th>verdict</th></tr>",
            card.minutes_used, card.minutes_allowed
        );
        for l in &card.lines {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>",
                escape(&l.words),
                l.earned,
                l.possible,
                escape(&l.verdict)
            );
        }
        h.push_str("</table>\n<table><tr><th>the ideal path</th><th>your path</th></tr>");
        for i in 0..card.ideal_path.len().max(card.your_path.len()) {
            let cell = |p: &[String]| p.get(i).map(|s| escape(s)).unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                cell(&card.ideal_path),
                cell(&card.your_path)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2>The truth</h2>\n");
    match &report.truth {
        None => h.push_str(
            "<p class=\"muted\">Not revealed yet: run <code class=\"cmd\">dropcase drill reveal</code>, then make the report again.</p>\n",
        ),
        Some(section) => {
            let t = &section.truth;
            let segment = if t.segment.is_empty() {
                "everyone".to_string()
            } else {
                t.segment.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(
                h,
                "<div class=\"truth\"><p><strong>{}</strong> — {}</p><table>\
                 <tr><th>cause</th><td>{}</td></tr><tr><th>segment</th><td>{}</td></tr>\
                 <tr><th>stage</th><td>{}</td></tr><tr><th>start</th><td>{}</td></tr>\
                 <tr><th>looks like</th><td>{}</td></tr><tr><th>the query that shows it</th><td><code class=\"cmd\">{}</code></td></tr></table></div>",
                escape(&t.title),
                escape(&t.explanation),
                escape(t.family.name()),
                escape(&segment),
                escape(t.stage.map(|s| s.name()).unwrap_or("–")),
                t.start_time.format("%Y-%m-%d %H:%M"),
                escape(t.family.lookalike()),
                escape(&t.evidence_command)
            );
            if let Some(svg) = &section.chart_svg {
                let _ = writeln!(h, "<figure>{}</figure>", inline_svg(svg));
            }
        }
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// An SVG document as an element inside HTML: without an XML prolog, with a title for
/// screen readers.
fn inline_svg(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    body.replacen("<svg ", "<svg role=\"img\" ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_command_reverses_the_log_quoting() {
        let args = ["query", "sql", "SELECT a, \"b\" FROM t", "--by", "platform"];
        let logged = format!(
            "dropcase {}",
            args.iter()
                .map(|a| if a.contains(' ') { format!("{a:?}") } else { a.to_string() })
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut expected = vec!["dropcase".to_string()];
        expected.extend(args.iter().map(|a| a.to_string()));
        assert_eq!(split_command(&logged), expected);
    }

    #[test]
    fn escape_and_strip() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[0m"), "red");
        assert!(inline_svg("<?xml version=\"1.0\"?>\n<svg width=\"1\">").starts_with("<svg role=\"img\""));
    }
}
