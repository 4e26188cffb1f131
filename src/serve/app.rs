//! The routes: sessions and their tokens, where each learner's drills live, and every
//! action as the dropcase command it is. An action is run by `cli::run_captured`, so it is
//! parsed, validated, logged and graded exactly as in a terminal; the pages show what the
//! command printed and the charts it draws, `/api/` returns its `--format json` output.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::class::{self, ClassFile};
use super::http::{Fields, Method, Request, Response};
use super::pages;
use crate::brief::{Brief, DrillKind};
use crate::cli::{CommandFailure, run_captured};
use crate::schema::files;

pub const SESSION_COOKIE: &str = "dropcase_session";
pub const TOKEN_FIELD: &str = "csrf";
pub const TOKEN_HEADER: &str = "x-dropcase-token";

/// Each dimension of a drill with the values it takes there.
pub type DimensionValues = Vec<(String, Vec<String>)>;

/// One browser (or API client): the token its state-changing requests carry, and in a
/// classroom the learner it joined as.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub learner: Option<String>,
}

/// What a page or an API call ran and what came of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `dropcase ...` as the log shows it.
    pub command: String,
    pub result: Result<crate::cli::Captured, CommandFailure>,
}

pub struct App {
    /// `$DROPCASE_HOME`: drills in `drills/`, experiments in `experiments/`.
    pub home: PathBuf,
    pub class: Option<ClassFile>,
    /// The teacher's token (classroom only).
    pub teacher_token: String,
    /// The address the server listens on (to check the Host header against).
    pub addr: Option<SocketAddr>,
    sessions: Mutex<HashMap<String, Session>>,
    /// One lock per drill folder: its progress file is read, changed and written whole.
    drill_locks: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    /// The values of each dimension per drill, for the answer form's pickers.
    values: Mutex<HashMap<PathBuf, Arc<DimensionValues>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// 128 random bits as hex: session ids and tokens.
pub fn random_token() -> String {
    format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>())
}

/// A drill id as it may appear in a URL: a folder name of letters, digits, `-`, `_` and
/// `.`, not starting with `.` (so never `..`), at most 80 long.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The two kinds of drill page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Drop,
    Experiment,
}

impl Kind {
    pub fn path(self) -> &'static str {
        match self {
            Kind::Drop => "drill",
            Kind::Experiment => "exp",
        }
    }

    fn of(segment: &str) -> Option<Kind> {
        match segment {
            "drill" => Some(Kind::Drop),
            "exp" => Some(Kind::Experiment),
            _ => None,
        }
    }

    fn drill_kind(self) -> DrillKind {
        match self {
            Kind::Drop => DrillKind::Drop,
            Kind::Experiment => DrillKind::Experiment,
        }
    }
}

/// A drill folder a session may open.
#[derive(Debug, Clone)]
pub struct DrillRef {
    pub kind: Kind,
    pub id: String,
    pub dir: PathBuf,
}

impl DrillRef {
    pub fn url(&self) -> String {
        format!("/{}/{}", self.kind.path(), self.id)
    }
}

/// A request refused before any command ran: the status and the message.
pub struct Refusal(pub u16, pub String);

impl App {
    pub fn new(home: PathBuf, class: Option<ClassFile>, addr: Option<SocketAddr>) -> Self {
        App {
            home,
            class,
            teacher_token: random_token(),
            addr,
            sessions: Mutex::new(HashMap::new()),
            drill_locks: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
        }
    }

    /// Handles one request. Never panics on its own account; the server also catches a
    /// panic from below and answers 500.
    pub fn handle(&self, request: &Request) -> Response {
        if let Some(refusal) = self.foreign_host(request) {
            return refusal;
        }
        let (session_id, session, new) = self.session(request);
        let mut response = self.route(request, &session_id, &session);
        if new {
            response.headers.push((
                "Set-Cookie".into(),
                format!("{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict"),
            ));
        }
        response
    }

    /// Off a classroom the server is for this machine only: a request naming another host
    /// (a web page using DNS rebinding to reach 127.0.0.1) is refused.
    fn foreign_host(&self, request: &Request) -> Option<Response> {
        if self.class.is_some() {
            return None;
        }
        let host = request.header("host")?;
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let local = matches!(name, "127.0.0.1" | "localhost" | "[::1]" | "::1");
        (!local).then(|| {
            Response::new(
                421,
                "text/plain; charset=utf-8",
                format!("this dropcase server answers only to 127.0.0.1 and localhost, not '{host}'"),
            )
        })
    }

    fn session(&self, request: &Request) -> (String, Session, bool) {
        let mut sessions = lock(&self.sessions);
        if let Some(id) = request.cookie(SESSION_COOKIE)
            && let Some(session) = sessions.get(id)
        {
            return (id.to_string(), session.clone(), false);
        }
        let id = random_token();
        let session = Session { token: random_token(), learner: None };
        sessions.insert(id.clone(), session.clone());
        (id, session, true)
    }

    fn set_learner(&self, session_id: &str, learner: &str) {
        if let Some(s) = lock(&self.sessions).get_mut(session_id) {
            s.learner = Some(learner.to_string());
        }
    }

    fn route(&self, request: &Request, session_id: &str, session: &Session) -> Response {
        let segments: Vec<&str> =
            request.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let api = segments.first() == Some(&"api");
        let route = if api { &segments[1..] } else { &segments[..] };
        if request.method == Method::Post
            && let Err(refusal) = self.check_token(request, session)
        {
            return self.refuse(api, session, refusal);
        }
        let result = match (request.method, route) {
            (Method::Get, []) if !api => Ok(self.home(session, None)),
            (Method::Get, ["assets", "app.css"]) if !api => {
                Ok(Response::new(200, "text/css; charset=utf-8", pages::CSS))
            }
            (Method::Get, ["assets", "app.js"]) if !api => {
                Ok(Response::new(200, "text/javascript; charset=utf-8", pages::JS))
            }
            (Method::Get, ["session"]) if api => Ok(Response::json(
                200,
                &json!({"token": session.token, "class": self.class.as_ref().map(|c| &c.title), "learner": session.learner}),
            )),
            (Method::Get, ["catalogue"]) if api => Ok(Response::json(200, &pages::catalogue())),
            (Method::Get, ["drills"]) if api => Ok(Response::json(200, &self.history(session))),
            (Method::Post, ["start"]) => self.start(request, session, api),
            (Method::Post, ["class", "join"]) => self.join(request, session_id, api),
            (Method::Get, ["teacher"]) => self.teacher(request, api),
            (Method::Get, ["teacher.csv"]) if !api => self.teacher_csv(request),
            (Method::Get, [kind, id]) if Kind::of(kind).is_some() => {
                let kind = Kind::of(kind).expect("matched");
                self.drill_ref(session, kind, id).map(|d| {
                    if api {
                        Response::json(200, &self.drill_json(&d))
                    } else {
                        self.drill_page(session, &d, None)
                    }
                })
            }
            (Method::Get, [kind, id, "report"]) if Kind::of(kind) == Some(Kind::Drop) && !api => {
                self.drill_ref(session, Kind::Drop, id).map(|d| self.report(&d))
            }
            (Method::Post, [kind, id, action]) if Kind::of(kind).is_some() => {
                let kind = Kind::of(kind).expect("matched");
                self.drill_ref(session, kind, id).and_then(|d| self.act(request, session, &d, action, api))
            }
            _ => Err(Refusal(
                404,
                format!("there is no page {} here; the home page lists the drills", request.path),
            )),
        };
        result.unwrap_or_else(|refusal| self.refuse(api, session, refusal))
    }

    fn refuse(&self, api: bool, session: &Session, Refusal(status, message): Refusal) -> Response {
        if api {
            Response::json(status, &json!({ "error": message }))
        } else {
            Response::html(status, pages::error_page(&self.page_context(session), status, &message))
        }
    }

    /// Every POST carries the session's token (form field `csrf`, or the
    /// `X-Dropcase-Token` header), which a page of another site cannot read.
    fn check_token(&self, request: &Request, session: &Session) -> Result<(), Refusal> {
        let from_header = request.header(TOKEN_HEADER).map(String::from);
        let from_form =
            request.fields().ok().and_then(|f| f.get(TOKEN_FIELD).and_then(|v| v.first().cloned()));
        match from_header.or(from_form) {
            Some(token) if token == session.token => Ok(()),
            _ => Err(Refusal(
                403,
                "this form has expired or did not come from this dropcase server: reload the page and try again (API clients: GET /api/session, then send its token in the X-Dropcase-Token header with the session cookie)".into(),
            )),
        }
    }

    pub fn page_context(&self, session: &Session) -> pages::Context {
        pages::Context {
            token: session.token.clone(),
            class_title: self.class.as_ref().map(|c| c.title.clone()),
            learner: session.learner.clone(),
        }
    }

    /// Where a session's drills of `kind` live: the learner's folder in a classroom.
    fn root(&self, session: &Session, kind: Kind) -> Result<PathBuf, Refusal> {
        match &self.class {
            Some(class) => match &session.learner {
                Some(learner) => Ok(class.root.join(learner)),
                None => Err(Refusal(
                    403,
                    "join the class first: the home page asks for your name and the class code".into(),
                )),
            },
            None => Ok(self.home.join(match kind {
                Kind::Drop => "drills",
                Kind::Experiment => "experiments",
            })),
        }
    }

    /// The drill `id` of this session, checked: a plain folder name, inside the session's
    /// root (also after resolving links), holding a drill of the page's kind.
    pub fn drill_ref(&self, session: &Session, kind: Kind, id: &str) -> Result<DrillRef, Refusal> {
        let missing =
            || Refusal(404, format!("there is no drill '{id}' here; the home page lists your drills"));
        if !valid_id(id) {
            return Err(missing());
        }
        let root = self.root(session, kind)?;
        let dir = root.join(id);
        if !dir.join(files::BRIEF).is_file() {
            return Err(missing());
        }
        let (Ok(root), Ok(dir)) = (std::fs::canonicalize(&root), std::fs::canonicalize(&dir)) else {
            return Err(missing());
        };
        if dir.parent() != Some(root.as_path()) {
            return Err(missing());
        }
        match crate::brief::kind_of(&dir) {
            Ok(found) if found == kind.drill_kind() => Ok(DrillRef { kind, id: id.to_string(), dir }),
            Ok(_) => {
                let other = match kind {
                    Kind::Drop => Kind::Experiment,
                    Kind::Experiment => Kind::Drop,
                };
                Err(Refusal(
                    404,
                    format!("'{id}' is not this kind of drill; open it at /{}/{id}", other.path()),
                ))
            }
            Err(err) => Err(Refusal(500, format!("{err:#}"))),
        }
    }

    /// Runs `words` as a dropcase command on `dir`, one command at a time per drill.
    pub fn run_on(&self, dir: &Path, words: &[String]) -> Outcome {
        let guard = {
            let mut locks = lock(&self.drill_locks);
            locks.entry(dir.to_path_buf()).or_default().clone()
        };
        let _held = lock(&guard);
        Outcome { command: crate::cli::record::command_line(words), result: run_captured(words) }
    }

    fn home(&self, session: &Session, outcome: Option<&Outcome>) -> Response {
        let context = self.page_context(session);
        if let Some(class) = &self.class {
            return Response::html(
                200,
                pages::class_home(&context, class, &self.learner_cases(session), outcome),
            );
        }
        Response::html(200, pages::home(&context, &pages::catalogue(), &self.history(session), outcome))
    }

    /// Every drill of this session with its state, newest first.
    pub fn history(&self, session: &Session) -> Vec<HistoryEntry> {
        let mut entries = Vec::new();
        for kind in [Kind::Drop, Kind::Experiment] {
            let Ok(root) = self.root(session, kind) else { continue };
            let Ok(read) = std::fs::read_dir(&root) else { continue };
            for entry in read.filter_map(Result::ok) {
                let Some(id) = entry.file_name().to_str().map(String::from) else { continue };
                let Ok(drill) = self.drill_ref(session, kind, &id) else { continue };
                if let Some(h) = history_entry(&drill) {
                    entries.push(h);
                }
            }
        }
        entries.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        entries
    }

    fn learner_cases(&self, session: &Session) -> Vec<(usize, Option<HistoryEntry>)> {
        let Some(class) = &self.class else { return Vec::new() };
        let history = self.history(session);
        (1..=class.cases.len())
            .map(|n| (n, history.iter().find(|h| h.id == format!("case-{n}")).cloned()))
            .collect()
    }

    fn start(&self, request: &Request, session: &Session, api: bool) -> Result<Response, Refusal> {
        let fields = request.fields().map_err(|e| Refusal(400, e))?;
        let (kind, words, dir) = match &self.class {
            Some(class) => {
                let root = self.root(session, Kind::Drop)?;
                let number: usize = field(&fields, "case").and_then(|c| c.parse().ok()).unwrap_or(0);
                let dir = root.join(format!("case-{number}"));
                let words = class.start_words(number, &dir).ok_or_else(|| {
                    Refusal(400, format!("this class has cases 1 to {}", class.cases.len()))
                })?;
                let kind = match class.case(number).map(|c| c.kind) {
                    Some(class::CaseKind::Experiment) => Kind::Experiment,
                    _ => Kind::Drop,
                };
                if dir.join(files::BRIEF).is_file() {
                    // Started before: carry on where the learner left off.
                    let drill = DrillRef { kind, id: format!("case-{number}"), dir };
                    return Ok(if api {
                        Response::json(200, &json!({"id": drill.id, "url": drill.url()}))
                    } else {
                        Response::redirect(&drill.url())
                    });
                }
                std::fs::create_dir_all(&root)
                    .map_err(|e| Refusal(500, format!("cannot create {} ({e})", root.display())))?;
                (kind, words, dir)
            }
            None => {
                let kind = match field(&fields, "kind") {
                    Some("experiment") => Kind::Experiment,
                    _ => Kind::Drop,
                };
                let mut words: Vec<String> = match kind {
                    Kind::Drop => vec!["drill".into(), "start".into()],
                    Kind::Experiment => vec!["exp".into(), "start".into()],
                };
                let size = match kind {
                    Kind::Drop => "sessions",
                    Kind::Experiment => "users",
                };
                for name in ["scenario", "family", "difficulty", "seed", size] {
                    if let Some(value) = field(&fields, name) {
                        push_flag(&mut words, name, value);
                    }
                }
                if fields.contains_key("force") {
                    words.push("--force".into());
                }
                words.extend(["--format".into(), "json".into()]);
                (kind, words, PathBuf::new())
            }
        };
        let outcome = match &self.class {
            Some(_) => self.run_on(&dir, &words),
            None => {
                Outcome { command: crate::cli::record::command_line(&words), result: run_captured(&words) }
            }
        };
        match &outcome.result {
            Ok(captured) => {
                let started: serde_json::Value = serde_json::from_str(&captured.stdout).unwrap_or_default();
                let dir = started["dir"].as_str().map(PathBuf::from).unwrap_or(dir);
                let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                let drill = DrillRef { kind, id, dir };
                Ok(if api {
                    Response::json(200, &json!({"id": drill.id, "url": drill.url(), "started": started}))
                } else {
                    Response::redirect(&drill.url())
                })
            }
            Err(failure) if api => Ok(Response::json(400, &failure_json(&outcome.command, failure))),
            Err(_) => {
                let mut page = self.home(session, Some(&outcome));
                page.status = 400;
                Ok(page)
            }
        }
    }

    fn join(&self, request: &Request, session_id: &str, api: bool) -> Result<Response, Refusal> {
        let Some(class) = &self.class else {
            return Err(Refusal(
                404,
                "this server is not serving a class (start it with --class FILE)".into(),
            ));
        };
        let fields = request.fields().map_err(|e| Refusal(400, e))?;
        let code = field(&fields, "code").unwrap_or_default();
        if !code.eq_ignore_ascii_case(&class.code) {
            return Err(Refusal(403, "that is not this class's code: ask your teacher for it".into()));
        }
        let learner =
            class::learner_id(field(&fields, "name").unwrap_or_default()).map_err(|e| Refusal(400, e))?;
        std::fs::create_dir_all(class.root.join(&learner))
            .map_err(|e| Refusal(500, format!("cannot create the learner's folder ({e})")))?;
        self.set_learner(session_id, &learner);
        Ok(if api { Response::json(200, &json!({"learner": learner})) } else { Response::redirect("/") })
    }

    fn teacher_rows(&self, request: &Request) -> Result<(&ClassFile, Vec<class::CaseProgress>), Refusal> {
        let Some(class) = &self.class else {
            return Err(Refusal(
                404,
                "this server is not serving a class (start it with --class FILE)".into(),
            ));
        };
        let token = request.query.get("token").and_then(|v| v.first());
        if token != Some(&self.teacher_token) {
            return Err(Refusal(403, "the teacher's page needs the teacher's token, printed when the server started: /teacher?token=...".into()));
        }
        Ok((class, class::progress(class)))
    }

    fn teacher(&self, request: &Request, api: bool) -> Result<Response, Refusal> {
        let (class, rows) = self.teacher_rows(request)?;
        Ok(if api {
            Response::json(200, &rows)
        } else {
            Response::html(200, pages::teacher(class, &rows, &self.teacher_token))
        })
    }

    fn teacher_csv(&self, request: &Request) -> Result<Response, Refusal> {
        let (_, rows) = self.teacher_rows(request)?;
        let mut r = Response::new(200, "text/csv; charset=utf-8", class::progress_csv(&rows));
        r.headers.push(("Content-Disposition".into(), "attachment; filename=\"class-progress.csv\"".into()));
        Ok(r)
    }

    /// The values of each dimension in a drill, for the answer form (cached per drill).
    pub fn dimension_values(&self, dir: &Path) -> Arc<DimensionValues> {
        if let Some(v) = lock(&self.values).get(dir) {
            return v.clone();
        }
        let values: DimensionValues = crate::drill::evidence::drill_dimension_values(dir);
        let values = Arc::new(values);
        lock(&self.values).insert(dir.to_path_buf(), values.clone());
        values
    }

    pub fn drill_page(&self, session: &Session, drill: &DrillRef, outcome: Option<&Outcome>) -> Response {
        let context = self.page_context(session);
        let html = match drill.kind {
            Kind::Drop => pages::drill(
                &context,
                drill,
                &self.dimension_values(&drill.dir),
                outcome,
                self.reveal_allowed(drill),
            ),
            Kind::Experiment => pages::experiment(&context, drill, outcome, self.reveal_allowed(drill)),
        };
        match html {
            Ok(html) => {
                Response::html(if outcome.is_some_and(|o| o.result.is_err()) { 400 } else { 200 }, html)
            }
            Err(err) => Response::html(500, pages::error_page(&context, 500, &format!("{err:#}"))),
        }
    }

    fn drill_json(&self, drill: &DrillRef) -> serde_json::Value {
        let words = vec![
            if drill.kind == Kind::Drop { "drill" } else { "exp" }.to_string(),
            "status".into(),
            "--dir".into(),
            drill.dir.display().to_string(),
            "--format".into(),
            "json".into(),
        ];
        let status = run_captured(&words)
            .ok()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(&c.stdout).ok())
            .unwrap_or_default();
        let log = crate::drill::Progress::load(&drill.dir).map(|p| p.log).unwrap_or_default();
        let brief: serde_json::Value = match drill.kind {
            Kind::Drop => Brief::read(&drill.dir).ok().and_then(|b| serde_json::to_value(b).ok()),
            Kind::Experiment => crate::experiment::brief::ExperimentBrief::read(&drill.dir)
                .ok()
                .and_then(|b| serde_json::to_value(b).ok()),
        }
        .unwrap_or_default();
        let dimensions: serde_json::Value = match drill.kind {
            Kind::Drop => serde_json::to_value(
                self.dimension_values(&drill.dir)
                    .iter()
                    .cloned()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
            .unwrap_or_default(),
            Kind::Experiment => serde_json::Value::Null,
        };
        json!({"id": drill.id, "kind": drill.kind.path(), "brief": brief, "status": status, "log": log, "dimension_values": dimensions})
    }

    /// In a classroom the truth is shown only once the learner has answered: a learner who
    /// gave up could otherwise pass the same case's answer to the others.
    pub fn reveal_allowed(&self, drill: &DrillRef) -> bool {
        self.class.is_none() || answered(drill)
    }

    fn act(
        &self,
        request: &Request,
        session: &Session,
        drill: &DrillRef,
        action: &str,
        api: bool,
    ) -> Result<Response, Refusal> {
        let fields = request.fields().map_err(|e| Refusal(400, e))?;
        if action == "reveal" && !self.reveal_allowed(drill) {
            return Err(Refusal(
                403,
                "in this class the truth is shown after you answer: submit your answer first".into(),
            ));
        }
        if matches!(action, "answer" | "decide")
            && let Some(limit) = self.class.as_ref().and_then(|c| c.time_limit_minutes)
            && let Ok(progress) = crate::drill::Progress::load(&drill.dir)
            && (Utc::now() - progress.started_at).num_minutes() >= i64::from(limit)
        {
            return Err(Refusal(
                403,
                format!("time is up: this class allows {limit} minutes from a case's start to answer"),
            ));
        }
        let words = match super::actions::words(drill, action, &fields, api) {
            Ok(words) => words,
            Err(super::actions::BadAction::Unknown) => {
                return Err(Refusal(404, format!("there is no action '{action}' on this page")));
            }
            Err(super::actions::BadAction::Input(message)) => {
                let outcome = Outcome {
                    command: format!("dropcase {} {action}", drill.kind.path()),
                    result: Err(CommandFailure { message, code: 1 }),
                };
                return Ok(self.answer_outcome(session, drill, &outcome, api));
            }
        };
        let outcome = self.run_on(&drill.dir, &words);
        Ok(self.answer_outcome(session, drill, &outcome, api))
    }

    fn answer_outcome(&self, session: &Session, drill: &DrillRef, outcome: &Outcome, api: bool) -> Response {
        if !api {
            return self.drill_page(session, drill, Some(outcome));
        }
        match &outcome.result {
            Ok(captured) => {
                let output = serde_json::from_str::<serde_json::Value>(&captured.stdout)
                    .unwrap_or_else(|_| serde_json::Value::String(captured.stdout.clone()));
                Response::json(
                    200,
                    &json!({"command": outcome.command, "output": output, "charts": captured.charts}),
                )
            }
            Err(failure) => Response::json(400, &failure_json(&outcome.command, failure)),
        }
    }

    fn report(&self, drill: &DrillRef) -> Response {
        let out = std::env::temp_dir().join(format!("dropcase-serve-report-{}.html", random_token()));
        let words = vec![
            "report".to_string(),
            "--dir".into(),
            drill.dir.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        let outcome = self.run_on(&drill.dir, &words);
        let page = match outcome.result {
            Ok(_) => std::fs::read(&out)
                .map(|bytes| Response::new(200, super::http::HTML, bytes))
                .unwrap_or_else(|e| {
                    Response::new(
                        500,
                        "text/plain; charset=utf-8",
                        format!("the report was not written ({e})"),
                    )
                }),
            Err(failure) => {
                Response::new(400, "text/plain; charset=utf-8", format!("error: {}", failure.message))
            }
        };
        let _ = std::fs::remove_file(&out);
        page
    }
}

fn failure_json(command: &str, failure: &CommandFailure) -> serde_json::Value {
    json!({"command": command, "error": failure.message, "exit_code": failure.code})
}

/// The first non-empty value of a field, trimmed.
pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.get(name)?.iter().map(|v| v.trim()).find(|v| !v.is_empty())
}

/// `--name value`, or `--name=value` when the value starts with `-` (so it is never read
/// as a flag).
pub fn push_flag(words: &mut Vec<String>, name: &str, value: &str) {
    if value.starts_with('-') {
        words.push(format!("--{name}={value}"));
    } else {
        words.push(format!("--{name}"));
        words.push(value.to_string());
    }
}

/// Whether a drill has its answer (a drop drill) or its decision (an experiment).
pub fn answered(drill: &DrillRef) -> bool {
    match drill.kind {
        Kind::Drop => crate::drill::Progress::load(&drill.dir).is_ok_and(|p| p.answer.is_some()),
        Kind::Experiment => crate::experiment::workspace::ExperimentDrill::open(Some(&drill.dir))
            .ok()
            .and_then(|d| d.decision().ok().flatten())
            .is_some(),
    }
}

/// A drill on the home page.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub id: String,
    pub kind: &'static str,
    pub url: String,
    pub prompt: String,
    pub started_at: String,
    pub commands: usize,
    pub hints: u32,
    pub score: Option<f64>,
    pub revealed: bool,
}

fn history_entry(drill: &DrillRef) -> Option<HistoryEntry> {
    let progress = crate::drill::Progress::load(&drill.dir).ok()?;
    let (prompt, score) = match drill.kind {
        Kind::Drop => (Brief::read(&drill.dir).ok()?.prompt, progress.answer.as_ref().map(|a| a.grade.score)),
        Kind::Experiment => {
            let e = crate::experiment::workspace::ExperimentDrill::open(Some(&drill.dir)).ok()?;
            let score = e.decision().ok().flatten().map(|d| d.grade.score);
            (e.brief.prompt.clone(), score)
        }
    };
    Some(HistoryEntry {
        id: drill.id.clone(),
        kind: drill.kind.path(),
        url: drill.url(),
        prompt,
        started_at: progress.started_at.format("%Y-%m-%d %H:%M").to_string(),
        commands: progress.investigations().count(),
        hints: progress.hints,
        score,
        revealed: progress.revealed,
    })
}
