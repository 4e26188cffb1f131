//! The HTML pages: home (catalogue, start, history), the drill page (brief, query builder,
//! SQL box, context tables, hints, answer form, grade, reveal), the experiment page, the
//! classroom's join page and the teacher's page. Server-rendered; the one script only
//! asks before a reveal and marks a form as running. No asset comes from another site.

use std::fmt::Write as _;

use serde::Serialize;

use super::app::{DrillRef, Outcome, TOKEN_FIELD};
use super::class::{CaseProgress, ClassFile};
use crate::brief::Brief;
use crate::report::escape;

/// What every page needs: the session's token for its forms, and the class it is in.
pub struct Context {
    pub token: String,
    pub class_title: Option<String>,
    pub learner: Option<String>,
}

pub const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#222;background:#fafafa;line-height:1.45}
header{background:#0b3d5c;color:#fff;padding:.6em 32px}header a{color:#fff;text-decoration:none;font-weight:600}header .who{float:right;opacity:.85}
main{max-width:1240px;margin:0 auto;padding:16px 32px 64px}
h1{font-size:1.5em;margin:.3em 0}h2{margin-top:1.4em;border-bottom:2px solid #0072B2;padding-bottom:.15em;font-size:1.2em}
.prompt{font-size:1.15em;background:#fff;border-left:4px solid #E69F00;padding:.6em 1em}
.muted{color:#666}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:.6em 1em}
.card h3{margin:.2em 0 .5em;font-size:1em}
label{display:block;margin:.35em 0 .1em;font-size:.9em;color:#444}
input[type=text],input[type=number],select,textarea{width:100%;box-sizing:border-box;padding:.35em;border:1px solid #bbb;border-radius:4px;font:inherit}
textarea{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.9em}
.checks label{display:inline-block;margin-right:.8em}
button{margin-top:.6em;padding:.45em 1.1em;border:0;border-radius:4px;background:#0072B2;color:#fff;font:inherit;cursor:pointer}
button.secondary{background:#56B4E9}button.danger{background:#D55E00}button[disabled]{opacity:.6}
table{border-collapse:collapse;margin:.4em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.8em;background:#f7f7f7;padding:.7em;overflow-x:auto;border-radius:4px}
pre.wrap{white-space:pre-wrap}
.result{border:2px solid #0072B2;background:#fff;border-radius:6px;padding:.5em 1em;margin:1em 0}
.error{border:2px solid #D55E00;background:#fff0eb;color:#8a2a00;border-radius:6px;padding:.5em 1em;margin:1em 0;white-space:pre-wrap}
code.cmd{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;background:#f0f4f8;padding:.15em .4em;border-radius:3px;word-break:break-all}
figure{margin:.6em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee;background:#fff}
.score{font-size:1.5em;font-weight:700;color:#0072B2}.truth{border-left:4px solid #D55E00;background:#fff;padding:.4em 1em}
";

pub const JS: &str = r#"// dropcase serve: ask before a reveal, and mark a form as running while it is sent.
document.addEventListener('submit', function (event) {
  var form = event.target;
  var ask = form.getAttribute('data-confirm');
  if (ask && !window.confirm(ask)) { event.preventDefault(); return; }
  var button = form.querySelector('button');
  if (button) { button.disabled = true; button.textContent = 'Running…'; }
});
"#;

fn layout(context: &Context, title: &str, body: &str) -> String {
    let who = match (&context.class_title, &context.learner) {
        (Some(class), Some(learner)) => format!("{} · {}", escape(class), escape(learner)),
        (Some(class), None) => escape(class),
        (None, _) => "local drills".into(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · dropcase</title>\n<link rel=\"stylesheet\" href=\"/assets/app.css\">\n<script src=\"/assets/app.js\" defer></script>\n</head>\n<body>\n<header><a href=\"/\">dropcase</a> <span class=\"who\">{who}</span></header>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// A POST form to `action`, carrying the session's token.
fn form(context: &Context, action: &str, extra: &str, inner: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"{extra}><input type=\"hidden\" name=\"{TOKEN_FIELD}\" value=\"{}\">{inner}</form>",
        escape(action),
        escape(&context.token)
    )
}

fn select(name: &str, options: &[String], selected: Option<&str>, blank: Option<&str>) -> String {
    let mut s = format!("<select name=\"{}\" id=\"{}\">", escape(name), escape(name));
    if let Some(blank) = blank {
        let _ = write!(s, "<option value=\"\">{}</option>", escape(blank));
    }
    for o in options {
        let sel = if Some(o.as_str()) == selected { " selected" } else { "" };
        let _ = write!(s, "<option value=\"{}\"{sel}>{}</option>", escape(o), escape(o));
    }
    s.push_str("</select>");
    s
}

fn text_input(name: &str, value: &str, placeholder: &str) -> String {
    format!(
        "<input type=\"text\" name=\"{}\" id=\"{}\" value=\"{}\" placeholder=\"{}\">",
        escape(name),
        escape(name),
        escape(value),
        escape(placeholder)
    )
}

fn checks(name: &str, options: &[&str]) -> String {
    let mut s = String::from("<div class=\"checks\">");
    for o in options {
        let _ = write!(
            s,
            "<label><input type=\"checkbox\" name=\"{}\" value=\"{}\"> {}</label>",
            escape(name),
            escape(o),
            escape(o)
        );
    }
    s.push_str("</div>");
    s
}

/// The result of the last action: the command as typed, what it printed, its charts; or
/// the CLI's error message.
fn outcome_html(outcome: &Outcome) -> String {
    match &outcome.result {
        Ok(captured) => {
            let mut h = format!(
                "<section class=\"result\" id=\"result\"><div class=\"muted\">Ran <code class=\"cmd\">{}</code></div>",
                escape(&outcome.command)
            );
            for svg in &captured.charts {
                let _ = write!(h, "<figure class=\"chart\">{}</figure>", inline_svg(svg));
            }
            let _ = write!(h, "<pre>{}</pre></section>", escape(&captured.stdout));
            h
        }
        Err(failure) => format!(
            "<section class=\"error\" id=\"error\"><strong>error:</strong> {}\n<span class=\"muted\">(from <code class=\"cmd\">{}</code>)</span></section>",
            escape(&failure.message),
            escape(&outcome.command)
        ),
    }
}

/// An SVG from plotters without its XML declaration, to sit inside the page.
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].to_string()
}

pub fn error_page(context: &Context, status: u16, message: &str) -> String {
    layout(
        context,
        "error",
        &format!(
            "<h1>{status}</h1><section class=\"error\" id=\"error\">{}</section><p><a href=\"/\">Home</a></p>",
            escape(message)
        ),
    )
}

/// One scenario of the embedded catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueEntry {
    pub name: String,
    pub kind: &'static str,
    pub title: String,
    pub difficulty: &'static str,
}

pub fn catalogue() -> Vec<CatalogueEntry> {
    let mut entries: Vec<CatalogueEntry> = crate::scenario::catalogue::all()
        .unwrap_or_default()
        .into_iter()
        .map(|s| CatalogueEntry {
            name: s.name,
            kind: "drop",
            title: s.title,
            difficulty: s.difficulty.name(),
        })
        .collect();
    entries.extend(crate::scenario::catalogue::experiments().unwrap_or_default().into_iter().map(|s| {
        CatalogueEntry { name: s.name, kind: "experiment", title: s.title, difficulty: s.difficulty.name() }
    }));
    entries
}

fn history_table(history: &[super::app::HistoryEntry]) -> String {
    if history.is_empty() {
        return "<p class=\"muted\">No drills yet.</p>".into();
    }
    let mut h = String::from(
        "<table id=\"history\"><tr><th>drill</th><th>started (UTC)</th><th>prompt</th><th>queries</th><th>hints</th><th>score</th></tr>",
    );
    for e in history {
        let score = match (e.score, e.revealed) {
            (Some(s), _) => format!("{s:.0}/100"),
            (None, true) => "gave up".into(),
            (None, false) => "–".into(),
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"{}\">{} {}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{score}</td></tr>",
            escape(&e.url),
            e.kind,
            escape(&e.id),
            escape(&e.started_at),
            escape(&e.prompt),
            e.commands,
            e.hints
        );
    }
    h.push_str("</table>");
    h
}

pub fn home(
    context: &Context,
    catalogue: &[CatalogueEntry],
    history: &[super::app::HistoryEntry],
    outcome: Option<&Outcome>,
) -> String {
    let mut b = String::from("<h1>Practise diagnosing a metric drop</h1>");
    if let Some(o) = outcome {
        b.push_str(&outcome_html(o));
    }
    let names = |kind: &str| -> Vec<String> {
        catalogue.iter().filter(|c| c.kind == kind).map(|c| c.name.clone()).collect()
    };
    let difficulties = ["easy", "medium", "hard"].map(String::from);
    let families: Vec<String> = crate::scenario::Family::names().into_iter().map(String::from).collect();
    b.push_str("<div class=\"grid\">");
    b.push_str(&form(
        context,
        "/start",
        " class=\"card\" id=\"start-drop\"",
        &format!(
            "<h3>Metric-drop drill</h3><input type=\"hidden\" name=\"kind\" value=\"drop\">\
             <label for=\"scenario\">scenario (blank: a random case, its cause hidden)</label>{}\
             <label for=\"difficulty\">difficulty</label>{}\
             <label for=\"family\">cause family (narrows a random draw, and gives it away)</label>{}\
             <label for=\"seed\">seed (replays a case)</label>{}\
             <label for=\"sessions\">sessions (blank: about a million)</label>{}\
             <button type=\"submit\">Start a drill</button>",
            select("scenario", &names("drop"), None, Some("random")),
            select("difficulty", &difficulties, None, Some("any")),
            select("family", &families, None, Some("any")),
            text_input("seed", "", "e.g. 7"),
            text_input("sessions", "", "e.g. 200000"),
        ),
    ));
    b.push_str(&form(
        context,
        "/start",
        " class=\"card\" id=\"start-experiment\"",
        &format!(
            "<h3>Experiment drill</h3><input type=\"hidden\" name=\"kind\" value=\"experiment\">\
             <label for=\"scenario\">scenario (blank: random)</label>{}\
             <label for=\"difficulty\">difficulty</label>{}\
             <label for=\"seed\">seed</label>{}\
             <button type=\"submit\">Start an experiment drill</button>",
            select("scenario", &names("experiment"), None, Some("random")),
            select("difficulty", &difficulties, None, Some("any")),
            text_input("seed", "", "e.g. 3"),
        ),
    ));
    b.push_str("</div><h2>Your drills</h2>");
    b.push_str(&history_table(history));
    b.push_str(
        "<h2>Catalogue</h2><table><tr><th>scenario</th><th>kind</th><th>difficulty</th><th>title</th></tr>",
    );
    for c in catalogue {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            c.kind,
            c.difficulty,
            escape(&c.title)
        );
    }
    b.push_str("</table><p class=\"muted\">Every action here is the dropcase command it names, logged in the drill as if typed: a drill started here continues in a terminal (<code class=\"cmd\">dropcase drill status</code>) and the other way round.</p>");
    layout(context, "home", &b)
}

pub fn class_home(
    context: &Context,
    class: &ClassFile,
    cases: &[(usize, Option<super::app::HistoryEntry>)],
    outcome: Option<&Outcome>,
) -> String {
    let mut b = format!("<h1>{}</h1>", escape(&class.title));
    if let Some(o) = outcome {
        b.push_str(&outcome_html(o));
    }
    if context.learner.is_none() {
        b.push_str(&form(
            context,
            "/class/join",
            " class=\"card\" id=\"join\"",
            &format!(
                "<h3>Join the class</h3><label for=\"name\">your name</label>{}<label for=\"code\">class code</label>{}<button type=\"submit\">Join</button>",
                text_input("name", "", "e.g. Ada Lovelace"),
                text_input("code", "", "from your teacher")
            ),
        ));
        return layout(context, "join", &b);
    }
    if let Some(limit) = class.time_limit_minutes {
        let _ = write!(b, "<p>Each case can be answered within {limit} minutes of its start.</p>");
    }
    b.push_str("<table id=\"cases\"><tr><th>case</th><th>kind</th><th>state</th><th></th></tr>");
    for (n, entry) in cases {
        let kind = match class.case(*n).map(|c| c.kind) {
            Some(super::class::CaseKind::Experiment) => "experiment",
            _ => "metric drop",
        };
        let state = match entry {
            None => "not started".to_string(),
            Some(e) => match e.score {
                Some(s) => format!("answered: {s:.0}/100"),
                None => format!("started {} · {} queries · {} hints", e.started_at, e.commands, e.hints),
            },
        };
        let button = form(
            context,
            "/start",
            "",
            &format!(
                "<input type=\"hidden\" name=\"case\" value=\"{n}\"><button type=\"submit\">{}</button>",
                if entry.is_some() { "Continue" } else { "Start" }
            ),
        );
        let _ = write!(
            b,
            "<tr><td>Case {n}</td><td>{kind}</td><td>{}</td><td>{button}</td></tr>",
            escape(&state)
        );
    }
    b.push_str("</table>");
    layout(context, "class", &b)
}

pub fn teacher(class: &ClassFile, rows: &[CaseProgress], token: &str) -> String {
    let context = Context {
        token: String::new(),
        class_title: Some(class.title.clone()),
        learner: Some("teacher".into()),
    };
    let mut b = format!(
        "<h1>{} — the teacher's view</h1><p>Class code <strong>{}</strong> · {} case(s){}. <a href=\"/teacher.csv?token={}\">Export CSV</a></p>",
        escape(&class.title),
        escape(&class.code),
        class.cases.len(),
        class.time_limit_minutes.map(|m| format!(" · {m} minutes each")).unwrap_or_default(),
        escape(token)
    );
    b.push_str("<table id=\"progress\"><tr><th>learner</th><th>case</th><th>scenario</th><th>started (UTC)</th><th>queries</th><th>hints</th><th>score</th><th>revealed</th></tr>");
    for r in rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{} (seed {})</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&r.learner),
            r.case,
            escape(&r.scenario),
            r.seed,
            escape(r.started_at.as_deref().unwrap_or("not started")),
            r.commands,
            r.hints,
            r.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "–".into()),
            if r.revealed { "yes" } else { "no" }
        );
    }
    b.push_str("</table>");
    layout(&context, "teacher", &b)
}

fn brief_html(brief: &Brief) -> String {
    let mut b = format!(
        "<h1>Case {}</h1><p class=\"prompt\" id=\"prompt\">{}</p><p>Windows: baseline <strong>{}</strong> vs current <strong>{}</strong> · data {} to {} · {} sessions</p>",
        brief.seed,
        escape(&brief.prompt),
        brief.baseline,
        brief.current,
        brief.data_from,
        brief.data_to,
        crate::output::thousands(brief.sessions)
    );
    b.push_str("<details><summary>Tables and definitions</summary><table>");
    for t in &brief.tables {
        let _ = write!(b, "<tr><td><code>{}</code></td><td>{}</td></tr>", escape(&t.name), escape(&t.about));
    }
    b.push_str("</table><table>");
    for d in &brief.definitions {
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            escape(&d.metric),
            escape(&d.definition)
        );
    }
    b.push_str("</table></details>");
    b
}

/// The context tables of a drill (`context/*.csv`), by the names SQL knows them by.
fn context_tables(drill: &DrillRef) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(drill.dir.join("context"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".csv")).map(String::from))
                .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn drill(
    context: &Context,
    drill: &DrillRef,
    dimension_values: &[(String, Vec<String>)],
    outcome: Option<&Outcome>,
    reveal_allowed: bool,
) -> anyhow::Result<String> {
    let d = crate::drill::Drill::open(Some(&drill.dir))?;
    let progress = crate::drill::Progress::load(&drill.dir)?;
    let brief = &d.brief;
    let url = drill.url();
    let mut b = brief_html(brief);
    let closed = progress.answer.is_some() || progress.revealed;
    let _ = write!(
        b,
        "<p class=\"muted\" id=\"status\">Queries run: {} · hints taken: {}/{} · {}. In a terminal: <code class=\"cmd\">dropcase drill status --dir {}</code></p>",
        progress.investigations().count(),
        progress.hints,
        crate::drill::hint::STAGES.len(),
        match &progress.answer {
            Some(a) => format!("answered: {} ({:.0}/100)", escape(&a.cause), a.grade.score),
            None if progress.revealed => "revealed without an answer".into(),
            None => "not answered yet".into(),
        },
        escape(&drill.dir.display().to_string())
    );
    if let Some(o) = outcome {
        b.push_str(&outcome_html(o));
    }
    let product =
        crate::product::Product::load(&brief.product).unwrap_or_else(|_| crate::product::Product::shop());
    let dim_names = product.dimension_names();
    let dims: Vec<&str> = dim_names.iter().map(String::as_str).collect();
    let metrics: Vec<String> = product.metric_registry().iter().map(|m| m.name.to_string()).collect();
    b.push_str("<h2>Investigate</h2><div class=\"grid\">");
    b.push_str(&form(
        context,
        &format!("{url}/compare"),
        " class=\"card\" id=\"compare\"",
        &format!(
            "<h3>Compare segments</h3><label>cut by</label>{}<label for=\"metric\">metric</label>{}\
             <label for=\"where\">filters, one per line (dim=v, dim!=v, dim=a|b)</label><textarea name=\"where\" rows=\"2\"></textarea>\
             <label for=\"baseline\">baseline FROM..TO</label>{}<label for=\"current\">current FROM..TO</label>{}\
             <button type=\"submit\">Run compare</button>",
            checks("by", &dims),
            // Left blank, the brief's metric and windows apply, and the command logged is
            // the one a terminal user types (`query compare --by platform`).
            select("metric", &metrics, None, Some(&format!("(the brief's: {})", brief.metric))),
            text_input("baseline", "", &format!("the brief's: {}", brief.baseline)),
            text_input("current", "", &format!("the brief's: {}", brief.current)),
        ),
    ));
    b.push_str(&form(
        context,
        &format!("{url}/trend"),
        " class=\"card\" id=\"trend\"",
        &format!(
            "<h3>Trend</h3><label for=\"metric\">metric</label>{}<label for=\"by\">split by</label>{}<label for=\"grain\">grain</label>{}\
             <label for=\"where\">filters, one per line</label><textarea name=\"where\" rows=\"2\"></textarea>\
             <label for=\"window\">window FROM..TO (blank: all)</label>{}<button type=\"submit\">Run trend</button>",
            select("metric", &metrics, Some(&brief.metric), None),
            select("by", &dims.iter().map(|d| d.to_string()).collect::<Vec<_>>(), None, Some("(no split)")),
            select("grain", &["day", "hour", "week"].map(String::from), Some("day"), None),
            text_input("window", "", "e.g. 2026-03-01..2026-03-14"),
        ),
    ));
    b.push_str(&form(
        context,
        &format!("{url}/funnel"),
        " class=\"card\" id=\"funnel\"",
        &format!(
            "<h3>Funnel</h3><label for=\"by\">split by</label>{}<label for=\"where\">filters, one per line</label><textarea name=\"where\" rows=\"2\"></textarea><button type=\"submit\">Run funnel</button>",
            select("by", &dims.iter().map(|d| d.to_string()).collect::<Vec<_>>(), None, Some("(no split)")),
        ),
    ));
    // The example query names the product's first dimension and last funnel step.
    let first_dim = dims.first().copied().unwrap_or("date");
    let last_step = product.steps.last().map(|s| s.column.as_str()).unwrap_or("purchased");
    let mut sql = format!(
        "<h3>SQL</h3><label for=\"query\">tables: sessions, the second sources and the context tables</label><textarea name=\"query\" id=\"query\" rows=\"5\">SELECT {first_dim}, COUNT(*) AS n, AVG(CAST({last_step} AS DOUBLE)) AS {last_step}_rate\nFROM sessions GROUP BY {first_dim} ORDER BY n DESC</textarea><button type=\"submit\">Run SQL</button>",
    );
    let tables = context_tables(drill);
    if !tables.is_empty() {
        sql.push_str("<p class=\"muted\">Context tables: ");
        sql.push_str(
            &tables.iter().map(|t| format!("<code>{}</code>", escape(t))).collect::<Vec<_>>().join(", "),
        );
        sql.push_str("</p>");
    }
    b.push_str(&form(context, &format!("{url}/sql"), " class=\"card\" id=\"sql\"", &sql));
    b.push_str("</div>");
    if !tables.is_empty() {
        b.push_str("<h2>Context</h2><div class=\"checks\">");
        for t in &tables {
            b.push_str(&form(
                context,
                &format!("{url}/sql"),
                " style=\"display:inline-block;margin-right:.6em\"",
                &format!(
                    "<input type=\"hidden\" name=\"query\" value=\"SELECT * FROM {}\"><button type=\"submit\" class=\"secondary\">Show {}</button>",
                    escape(t),
                    escape(t)
                ),
            ));
        }
        b.push_str("</div>");
    }
    b.push_str("<h2>Coach</h2><div class=\"grid\">");
    b.push_str(&form(
        context,
        &format!("{url}/diagnose"),
        " class=\"card\" id=\"diagnose\"",
        "<h3>Diagnose</h3><p class=\"muted\">Data-quality and mix checks, then the segments that explain the change.</p><button type=\"submit\" class=\"secondary\">Run diagnose</button>",
    ));
    if !closed {
        b.push_str(&form(
            context,
            &format!("{url}/hint"),
            " class=\"card\" id=\"hint\"",
            &format!(
                "<h3>Hint</h3><p class=\"muted\">Staged hints cost points ({} of {} taken).</p><button type=\"submit\" class=\"secondary\">Take a hint</button>",
                progress.hints,
                crate::drill::hint::STAGES.len()
            ),
        ));
    }
    b.push_str("</div>");

    if progress.answer.is_none() && !progress.revealed {
        let families: Vec<String> = crate::scenario::Family::all()
            .into_iter()
            .filter(|f| f.belongs_to(&product.name))
            .map(|f| f.name().to_string())
            .collect();
        let stages: Vec<String> = product.steps.iter().map(|s| s.name.clone()).collect();
        let mut dates = Vec::new();
        let mut day = brief.data_from;
        while day <= brief.data_to {
            dates.push(day.to_string());
            day = day.succ_opt().unwrap_or(brief.data_to + chrono::Days::new(1));
        }
        let mut pickers = String::new();
        for (dim, values) in dimension_values {
            let _ = write!(
                pickers,
                "<label for=\"where_{dim}\">{dim}</label>{}",
                select(&format!("where_{dim}"), values, None, Some("(any)"))
            );
        }
        b.push_str("<h2>Answer</h2>");
        b.push_str(&form(
            context,
            &format!("{url}/answer"),
            " class=\"card\" id=\"answer\"",
            &format!(
                "<div class=\"grid\"><div><label for=\"cause\">cause family</label>{}<label for=\"stage\">funnel stage</label>{}<label for=\"start\">the day it began</label>{}<label for=\"note\">your reasoning</label><textarea name=\"note\" rows=\"3\"></textarea></div><div><p class=\"muted\">The segment it hit (leave a dimension at (any) when it did not matter):</p>{pickers}</div></div><button type=\"submit\">Submit the answer</button>",
                select("cause", &families, None, Some("(choose)")),
                select("stage", &stages, None, Some("(none)")),
                select("start", &dates, None, Some("(not sure)")),
            ),
        ));
    }
    if let Some(a) = &progress.answer {
        let _ = write!(
            b,
            "<h2>Your grade</h2><p>Answer: {} · Score: <span class=\"score\" id=\"score\">{:.0}/100</span></p><table id=\"breakdown\"><tr><th>component</th><th>points</th><th>of</th><th>why</th></tr>",
            escape(&a.cause),
            a.grade.score
        );
        for c in &a.grade.breakdown {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>",
                escape(&c.component),
                c.earned,
                c.possible,
                escape(&c.why)
            );
        }
        b.push_str("</table>");
    }
    if progress.revealed {
        b.push_str(&truth_html(&d)?);
    } else if reveal_allowed {
        b.push_str(&form(
            context,
            &format!("{url}/reveal"),
            " id=\"reveal\" data-confirm=\"Reveal the truth? The drill closes: it cannot be answered after.\"",
            &format!(
                "<button type=\"submit\" class=\"danger\">{}</button>",
                if progress.answer.is_some() { "Reveal the truth" } else { "Give up and reveal the truth" }
            ),
        ));
    }
    let _ = write!(
        b,
        "<h2>Log</h2><p><a href=\"{url}/report\">The report of this investigation</a> (as <code class=\"cmd\">dropcase report</code> writes it)</p>"
    );
    b.push_str(&log_html(&progress));
    Ok(layout(context, &format!("case {}", brief.seed), &b))
}

/// The revealed truth and the chart that shows it (shown only once revealed).
fn truth_html(d: &crate::drill::Drill) -> anyhow::Result<String> {
    let truth = d.truth()?;
    let segment = if truth.segment.is_empty() {
        "everyone".to_string()
    } else {
        truth.segment.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    let mut h = format!(
        "<h2>The truth</h2><div class=\"truth\" id=\"truth\"><p><strong>{}</strong> ({} group) · segment {} · stage {} · from {}</p><p>{}</p><p>The command that shows it: <code class=\"cmd\">{}</code></p>",
        escape(truth.family.name()),
        escape(truth.family.group().name()),
        escape(&segment),
        truth.stage.map(|s| s.name()).unwrap_or("none"),
        truth.start,
        escape(&truth.explanation),
        escape(&truth.evidence_command)
    );
    if let Ok(chart) = crate::report::truth_chart(&d.dir, &d.brief, &truth) {
        let svg = crate::plot::to_svg(&chart, crate::plot::Size::default())?;
        let _ = write!(h, "<figure class=\"chart\" id=\"truth-chart\">{}</figure>", inline_svg(&svg));
    }
    h.push_str("</div>");
    Ok(h)
}

fn log_html(progress: &crate::drill::Progress) -> String {
    if progress.log.is_empty() {
        return "<p class=\"muted\">No commands logged yet.</p>".into();
    }
    let mut h = String::from("<table id=\"log\"><tr><th>#</th><th>time (UTC)</th><th>command</th></tr>");
    for (i, e) in progress.log.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td><code class=\"cmd\">{}</code></td></tr>",
            i + 1,
            e.at.format("%H:%M:%S"),
            escape(&e.command)
        );
    }
    h.push_str("</table>");
    h
}

pub fn experiment(
    context: &Context,
    drill: &DrillRef,
    outcome: Option<&Outcome>,
    reveal_allowed: bool,
) -> anyhow::Result<String> {
    let e = crate::experiment::workspace::ExperimentDrill::open(Some(&drill.dir))?;
    let progress = crate::drill::Progress::load(&drill.dir)?;
    let decision = e.decision()?;
    let url = drill.url();
    let brief = &e.brief;
    let mut b = format!(
        "<h1>Experiment case {}</h1><p class=\"prompt\" id=\"prompt\">{}</p><p>{}</p>",
        brief.seed,
        escape(&brief.prompt),
        escape(&brief.hypothesis)
    );
    // The brief exactly as `dropcase exp status` prints it (not logged: a status is no step).
    let status = crate::cli::run_captured(&[
        "exp".into(),
        "status".into(),
        "--dir".into(),
        drill.dir.display().to_string(),
    ]);
    if let Ok(status) = status {
        let _ = write!(
            b,
            "<details><summary>Design, metrics, tables</summary><pre class=\"wrap\">{}</pre></details>",
            escape(&status.stdout)
        );
    }
    if let Some(o) = outcome {
        b.push_str(&outcome_html(o));
    }
    let metrics: Vec<String> =
        crate::experiment::metrics::Metric::names().into_iter().map(String::from).collect();
    let dims: Vec<String> =
        crate::experiment::analysis::segment_dimensions(brief).into_iter().map(String::from).collect();
    b.push_str("<h2>Analyse</h2><div class=\"grid\">");
    b.push_str(&form(
        context,
        &format!("{url}/analyze"),
        " class=\"card\" id=\"analyze\"",
        &format!(
            "<h3>Readout</h3><p class=\"muted\">SRM first, the plan, every metric, the guardrails.</p><label for=\"by\">segment breakdown of the primary by</label>{}<button type=\"submit\">Run analyze</button>",
            select("by", &dims, None, Some("(none)"))
        ),
    ));
    b.push_str(&form(
        context,
        &format!("{url}/daily"),
        " class=\"card\" id=\"daily\"",
        &format!(
            "<h3>Daily</h3><p class=\"muted\">Daily and cumulative lift (novelty, primacy, peeking).</p><label for=\"metric\">metric</label>{}<button type=\"submit\">Run daily</button>",
            select("metric", &metrics, None, Some("(the primary)"))
        ),
    ));
    b.push_str(&form(
        context,
        &format!("{url}/segments"),
        " class=\"card\" id=\"segments\"",
        &format!(
            "<h3>Segments</h3><label for=\"by\">by</label>{}<label for=\"metric\">metric</label>{}<button type=\"submit\">Run segments</button>",
            select("by", &dims, Some("platform"), None),
            select("metric", &metrics, None, Some("(the primary)"))
        ),
    ));
    if decision.is_none() && !progress.revealed {
        b.push_str(&form(
            context,
            &format!("{url}/hint"),
            " class=\"card\" id=\"hint\"",
            &format!(
                "<h3>Hint</h3><p class=\"muted\">{} of {} taken; each costs points.</p><button type=\"submit\" class=\"secondary\">Take a hint</button>",
                progress.hints,
                crate::experiment::hint::STAGES.len()
            ),
        ));
    }
    b.push_str("</div>");
    if decision.is_none() && !progress.revealed {
        let decisions = ["ship", "dont-ship", "extend", "fix-and-rerun", "ship-segment"].map(String::from);
        let reasons = crate::experiment::Reason::names();
        b.push_str("<h2>Decide</h2>");
        b.push_str(&form(
            context,
            &format!("{url}/decide"),
            " class=\"card\" id=\"decide\"",
            &format!(
                "<label for=\"decision\">decision</label>{}<label for=\"segment\">segment (ship-segment only, e.g. platform=ios,web)</label>{}<label>reasons</label>{}<label for=\"primary\">the metric you decide on</label>{}<label for=\"guardrail\">guardrails you watch (comma-separated)</label>{}<label for=\"criteria\">your ship rule, e.g. ship if conversion lift &gt; 0 at 95% and no guardrail drops more than 1%</label>{}<label for=\"note\">your reasoning</label><textarea name=\"note\" rows=\"2\"></textarea><button type=\"submit\">Decide</button>",
                select("decision", &decisions, None, Some("(choose)")),
                text_input("segment", "", ""),
                checks("reason", &reasons),
                text_input("primary", "", ""),
                text_input("guardrail", "", ""),
                text_input("criteria", "", "")
            ),
        ));
    }
    if let Some(d) = &decision {
        let _ = write!(
            b,
            "<h2>Your grade</h2><p>Decision: {} · Score: <span class=\"score\" id=\"score\">{:.0}/100</span></p><table id=\"breakdown\"><tr><th>component</th><th>points</th><th>of</th><th>why</th></tr>",
            escape(&d.answer.decision.to_string()),
            d.grade.score
        );
        for c in &d.grade.breakdown {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>",
                escape(&c.component),
                c.earned,
                c.possible,
                escape(&c.why)
            );
        }
        b.push_str("</table>");
    }
    if progress.revealed {
        let truth = e.truth()?;
        let _ = write!(
            b,
            "<h2>The truth</h2><div class=\"truth\" id=\"truth\"><p><strong>{}</strong> → {}{} (reason: {})</p><p>{}</p><p>The command that shows it: <code class=\"cmd\">{}</code></p></div>",
            escape(&truth.family.to_string()),
            escape(&truth.decision.to_string()),
            truth.segment.as_ref().map(|s| format!(" to {}", escape(s))).unwrap_or_default(),
            escape(&truth.reasons.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")),
            escape(&truth.explanation),
            escape(&truth.evidence)
        );
    } else if reveal_allowed {
        b.push_str(&form(
            context,
            &format!("{url}/reveal"),
            " id=\"reveal\" data-confirm=\"Reveal the truth? The experiment closes: it cannot be decided after.\"",
            "<button type=\"submit\" class=\"danger\">Reveal the truth</button>",
        ));
    }
    b.push_str("<h2>Log</h2>");
    b.push_str(&log_html(&progress));
    Ok(layout(context, &format!("experiment {}", brief.seed), &b))
}
