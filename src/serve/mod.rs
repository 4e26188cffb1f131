//! `dropcase serve`: the drills in a browser. A small HTTP server (tiny_http; the axum and
//! hyper server features would change the features of the hyper and tower crates that
//! polars already builds, and so rebuild polars) hands each request to a worker thread;
//! `app` routes it, `actions` turns a form into the dropcase command it stands for, and
//! `pages` renders HTML. Every action runs through the CLI's own parser, checks, typed log
//! and grading (`cli::run_captured`), so a drill plays and grades the same in either face.

pub mod actions;
pub mod app;
pub mod class;
pub mod http;
pub mod pages;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub use app::App;
pub use class::ClassFile;

/// How `dropcase serve` was asked to run.
#[derive(Debug)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub open: bool,
    pub class: Option<ClassFile>,
    /// `$DROPCASE_HOME`, where the drills live.
    pub home: PathBuf,
}

/// Requests handled at once. Queries are CPU-bound and polars already uses every core, so
/// more threads would only queue inside polars; a few let a page load while a query runs.
const WORKERS: usize = 8;

/// Stack of each worker: as the CLI's command thread (deep SQL plans recurse).
const WORKER_STACK: usize = 64 << 20;

/// Listens and serves until the process is stopped.
pub fn run(config: Config) -> anyhow::Result<()> {
    let server = tiny_http::Server::http(SocketAddr::new(config.host, config.port)).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}:{} ({e}); if another program uses the port, choose another with --port",
            config.host,
            config.port
        )
    })?;
    let addr = server.server_addr().to_ip();
    // Pages show every column: a page is not a terminal.
    crate::output::set_wide(true);
    let app = Arc::new(App::new(config.home.clone(), config.class, addr));
    let shown = match addr {
        Some(a) if a.ip().is_unspecified() => format!("http://127.0.0.1:{}", a.port()),
        Some(a) => format!("http://{a}"),
        None => "(unknown address)".into(),
    };
    eprintln!("dropcase serve: listening on {shown}/ (drills in {}; Ctrl-C stops)", app.home.display());
    if let Some(class) = &app.class {
        eprintln!(
            "class '{}' (code {}): learners open {shown}/ and join; the teacher's page is {shown}/teacher?token={}",
            class.title, class.code, app.teacher_token
        );
    }
    if config.open {
        let _ = std::process::Command::new("xdg-open")
            .arg(format!("{shown}/"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let server = Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (server, app) = (server.clone(), app.clone());
            std::thread::Builder::new().name(format!("serve-{i}")).stack_size(WORKER_STACK).spawn(move || {
                while let Ok(request) = server.recv() {
                    serve_one(&app, request);
                }
            })
        })
        .collect::<Result<_, _>>()?;
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// Answers one request; a panic below becomes a 500 page, never a dead worker.
fn serve_one(app: &App, mut request: tiny_http::Request) {
    let response = match http::from_tiny(&mut request) {
        Err(refusal) => refusal,
        Ok(parsed) => handle_catching(app, &parsed),
    };
    http::send(request, response);
}

/// `app.handle`, with a panic turned into a 500 response.
pub fn handle_catching(app: &App, request: &http::Request) -> http::Response {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| app.handle(request))) {
        Ok(response) => response,
        Err(payload) => {
            let message = crate::cli::exit::panic_error(payload.as_ref());
            eprintln!(
                "error: {} {}: {message}",
                if request.method == http::Method::Post { "POST" } else { "GET" },
                request.path
            );
            http::Response::new(500, "text/plain; charset=utf-8", format!("error: {message}"))
        }
    }
}
