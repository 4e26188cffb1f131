//! `dropcase serve` (issue 15): the real binary on a port of 127.0.0.1, driven over HTTP.
//! A drill played through the API logs and grades as the same drill played in a terminal;
//! no route shows the truth before the answer; ids cannot leave the drill folder; forged
//! and oversized requests are refused; a classroom of 30 learners plays at once; and
//! headless Chromium plays a drill end to end, with a screenshot of each page.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Sandbox;

fn binary() -> PathBuf {
    match std::env::var_os("DROPCASE_TEST_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => assert_cmd::cargo::cargo_bin("dropcase"),
    }
}

/// A `dropcase serve --port 0` child of this test, stopped when dropped.
struct Server {
    child: Child,
    base: String,
    /// The teacher's page, when serving a class.
    teacher: Option<String>,
}

impl Server {
    fn start(sb: &Sandbox, extra: &[&str]) -> Server {
        let mut child = Command::new(binary())
            .args(["serve", "--port", "0"])
            .args(extra)
            .current_dir(sb.path())
            .env("DROPCASE_HOME", sb.join(".dropcase-home"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dropcase serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
        let (mut base, mut teacher) = (None, None);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                base = rest.split('/').take(3).collect::<Vec<_>>().join("/").into();
            }
            if let Some(at) = line.find("/teacher?token=") {
                teacher = Some(line[at..].trim().to_string());
            }
            let wants_teacher = extra.contains(&"--class");
            if base.is_some() && (!wants_teacher || teacher.is_some()) {
                break;
            }
            line.clear();
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.lines() {});
        let base = base.expect("the server printed its address");
        Server { child, base, teacher }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// One browser's session against the server: its cookie and token.
struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: String,
    token: String,
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Client {
    fn new(server: &Server) -> Client {
        let agent = agent();
        let mut response = agent.get(format!("{}/api/session", server.base)).call().expect("session");
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string();
        let body: Value = response.body_mut().read_json().expect("session JSON");
        let token = body["token"].as_str().expect("token").to_string();
        Client { agent, base: server.base.clone(), cookie, token }
    }

    fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(50 << 20).read_to_string().unwrap_or_default();
        Reply { status, body }
    }

    fn get(&self, path: &str) -> Reply {
        Self::reply(
            self.agent
                .get(format!("{}{path}", self.base))
                .header("Cookie", &self.cookie)
                .call()
                .expect("GET"),
        )
    }

    fn post_json(&self, path: &str, body: Value) -> Reply {
        Self::reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Cookie", &self.cookie)
                .header("X-Dropcase-Token", &self.token)
                .send_json(body)
                .expect("POST"),
        )
    }

    fn post_form(&self, path: &str, fields: &[(&str, &str)], with_token: bool) -> Reply {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if with_token {
            all.push(("csrf", &self.token));
        }
        Self::reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Cookie", &self.cookie)
                .send_form(all)
                .expect("POST"),
        )
    }
}

fn log_records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("progress.json")).unwrap();
    let progress: Value = serde_json::from_str(&text).unwrap();
    progress["log"].as_array().unwrap().iter().map(|e| e["parsed"].clone()).collect()
}

/// A record without what differs between two folders: the path and the words as typed.
fn comparable(mut record: Value) -> Value {
    record.as_object_mut().unwrap().remove("args");
    record.as_object_mut().unwrap().remove("drill");
    record
}

#[test]
fn a_drill_played_in_the_browser_logs_and_grades_as_in_the_terminal() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let client = Client::new(&server);
    let started = client.post_json(
        "/api/start",
        json!({"kind": "drop", "family": "release_bug", "seed": 7, "sessions": 30000}),
    );
    assert_eq!(started.status, 200, "{}", started.body);
    let started = started.json();
    assert_eq!(started["id"], "7");
    let web_dir = PathBuf::from(started["started"]["dir"].as_str().unwrap());
    // Continued in a terminal: the browser's drill is the current one there.
    let out = sb.cmd(&["drill", "status", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        std::fs::canonicalize(status["dir"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(&web_dir).unwrap()
    );

    let compare = client.post_json("/api/drill/7/compare", json!({"by": "platform"}));
    assert_eq!(compare.status, 200, "{}", compare.body);
    let compare = compare.json();
    assert_eq!(compare["output"]["by"], json!(["platform"]), "the CLI's JSON: {compare}");
    assert!(compare["charts"][0].as_str().unwrap().contains("<svg"), "the compare chart");
    let hint = client.post_json("/api/drill/7/hint", json!({})).json();
    assert_eq!(hint["output"]["stage"], 1, "{hint}");
    let answer = client.post_json(
        "/api/drill/7/answer",
        json!({"cause": "release_bug", "where": "platform=android", "stage": "purchase"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let web_score = answer.json()["output"]["score"].as_f64().expect("a score");

    // The same case played in a terminal, command for command.
    let cli_dir = sb.join("terminal");
    let d = cli_dir.to_str().unwrap();
    sb.cmd(&["drill", "start", "--family", "release_bug", "--seed", "7", "--sessions", "30000", "--dir", d])
        .assert()
        .success();
    sb.cmd(&["query", "compare", "--by", "platform", "--data", d]).assert().success();
    sb.cmd(&["drill", "hint", "--dir", d]).assert().success();
    let out = sb
        .cmd(&[
            "drill",
            "answer",
            "--cause",
            "release_bug",
            "--where",
            "platform=android",
            "--stage",
            "purchase",
            "--dir",
            d,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let cli_score = serde_json::from_slice::<Value>(&out.stdout).unwrap()["score"].as_f64().unwrap();
    assert_eq!(web_score, cli_score, "the same grade in either face");
    let web: Vec<Value> = log_records(&web_dir).into_iter().map(comparable).collect();
    let cli: Vec<Value> = log_records(&cli_dir).into_iter().map(comparable).collect();
    assert_eq!(web, cli, "the same typed command log");

    // A command typed in the terminal shows in the browser's log.
    sb.cmd(&["query", "funnel", "--data", web_dir.to_str().unwrap()]).assert().success();
    let page = client.get("/drill/7");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("dropcase query funnel"), "the terminal's command in the page's log");
    assert!(page.body.contains(&format!("{web_score:.0}/100")), "the grade on the page");
}

/// Every `href`, `src` and form `action` of a page, on this server.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "action=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap_or(0);
            let link = rest[..end].replace("&amp;", "&");
            if link.starts_with('/') {
                out.push(link);
            }
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn no_route_shows_the_truth_before_the_answer() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let client = Client::new(&server);
    let started = client.post_json("/api/start", json!({"seed": 11, "sessions": 20000}));
    assert_eq!(started.status, 200, "{}", started.body);
    let dir = PathBuf::from(started.json()["started"]["dir"].as_str().unwrap().to_string());
    let experiment = client.post_json("/api/start", json!({"kind": "experiment", "seed": 5}));
    assert_eq!(experiment.status, 200, "{}", experiment.body);
    let exp_dir = PathBuf::from(experiment.json()["started"]["dir"].as_str().unwrap().to_string());

    // Crawl: every page and asset linked from home, every GET of the API, every action
    // but the hints (a hint is the learner's own choice) and the answer and reveal.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut queue =
        vec!["/".to_string(), "/api/session".into(), "/api/catalogue".into(), "/api/drills".into()];
    queue.extend(["/api/drill/11".into(), "/api/exp/5".into()]);
    while let Some(path) = queue.pop() {
        if seen.iter().any(|(p, _)| *p == path) {
            continue;
        }
        let reply = client.get(&path);
        for link in links(&reply.body) {
            let action = ["compare", "trend", "funnel", "sql", "diagnose", "analyze", "daily", "segments"]
                .iter()
                .any(|a| link.ends_with(&format!("/{a}")));
            if action {
                let fields: &[(&str, &str)] = if link.ends_with("/sql") {
                    &[("query", "SELECT * FROM releases")]
                } else if link.ends_with("/trend") {
                    &[("metric", "conversion")]
                } else {
                    &[]
                };
                let posted = client.post_form(&link, fields, true);
                assert_eq!(posted.status, 200, "POST {link}: {}", posted.body);
                seen.push((format!("POST {link}"), posted.body));
            } else if !link.ends_with("/hint")
                && !link.ends_with("/answer")
                && !link.ends_with("/reveal")
                && !link.ends_with("/decide")
                && link != "/start"
            {
                queue.push(link);
            }
        }
        seen.push((path, reply.body));
    }
    assert!(seen.len() >= 10, "crawled {} routes", seen.len());
    for (path, body) in &seen {
        // The page's truth section, and the report's truth chart title.
        assert!(!body.contains("id=\"truth"), "{path} shows the truth");
        assert!(!body.contains("The cause:"), "{path} shows the truth");
    }

    // Now the truth, as the terminal reveals it: none of its words were on any route.
    let out =
        sb.cmd(&["drill", "reveal", "--dir", dir.to_str().unwrap(), "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let truth: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out =
        sb.cmd(&["exp", "reveal", "--dir", exp_dir.to_str().unwrap(), "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let exp_truth: Value = serde_json::from_slice(&out.stdout).unwrap();
    // (The evidence command is left out: it can be a command the crawl itself ran.)
    let secrets = [
        truth["truth"]["explanation"].as_str().unwrap(),
        exp_truth["truth"]["explanation"].as_str().unwrap(),
    ];
    for (path, body) in &seen {
        for secret in secrets {
            let escaped = secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            assert!(!body.contains(secret) && !body.contains(&escaped), "{path} shows the hidden '{secret}'");
        }
    }
    // And the files that hold it are not served under any name.
    for name in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
        let name = name.file_name().to_string_lossy().into_owned();
        for path in [format!("/drill/11/{name}"), format!("/assets/{name}"), format!("/{name}")] {
            assert_eq!(client.get(&path).status, 404, "{path}");
        }
    }
    let page = client.get("/drill/11");
    assert!(page.body.contains("id=\"truth\""), "after the reveal the page shows the truth");
    assert!(page.body.contains("id=\"truth-chart\""), "with its chart");
}

#[test]
fn ids_stay_in_the_drill_folder_and_forged_or_bad_requests_are_refused() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let client = Client::new(&server);
    assert_eq!(client.post_json("/api/start", json!({"seed": 3, "sessions": 20000})).status, 200);
    // A folder beside the drills that holds a drill: reachable only by escaping.
    let outside = sb.join(".dropcase-home/secret");
    sb.cmd(&["drill", "start", "--seed", "4", "--sessions", "20000", "--dir", outside.to_str().unwrap()])
        .assert()
        .success();
    for path in [
        "/drill/..%2Fsecret",
        "/drill/%2e%2e%2fsecret",
        "/drill/../secret",
        "/drill/..",
        "/drill/.",
        "/drill/%2e%2e",
        "/drill/3%2F..%2F..%2Fsecret",
        "/drill/3%00",
        "/drill/~",
        "/exp/3",
        "/api/drill/..%2Fsecret",
        "/drill/3/report/..%2F..",
    ] {
        let reply = client.get(path);
        assert!(reply.status == 404, "GET {path}: {} {}", reply.status, reply.body);
        assert!(!reply.body.contains("Case 4"), "GET {path} reached the folder outside");
    }
    // A symbolic link inside the drills folder to a drill outside it is refused too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, sb.join(".dropcase-home/drills/linked")).unwrap();
        assert_eq!(client.get("/drill/linked").status, 404);
    }

    // State changes need POST with the session's token.
    let forged = client.post_form("/drill/3/hint", &[], false);
    assert_eq!(forged.status, 403, "{}", forged.body);
    let wrong = client.post_form("/drill/3/hint", &[("csrf", "0000")], false);
    assert_eq!(wrong.status, 403);
    assert_eq!(client.get("/drill/3/hint").status, 404, "a GET changes nothing");
    let other = Client::new(&server);
    let stolen = Client { token: client.token.clone(), ..other };
    assert_eq!(
        stolen.post_form("/drill/3/hint", &[], true).status,
        403,
        "a token works only with its session"
    );
    let progress = std::fs::read_to_string(sb.join(".dropcase-home/drills/3/progress.json")).unwrap();
    assert!(progress.contains("\"hints\": 0"), "no hint was taken by a refused request");

    // Oversized bodies are refused before they are read whole.
    let big = "x".repeat(300 * 1024);
    let reply = client.post_form("/drill/3/sql", &[("query", &big)], true);
    assert_eq!(reply.status, 413);

    // Bad input gets the CLI's own message, on the page and in the API.
    let d = std::fs::canonicalize(sb.join(".dropcase-home/drills/3")).unwrap();
    let out =
        sb.cmd(&["query", "compare", "--by", "plaform", "--data", d.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let terminal = String::from_utf8_lossy(&out.stderr).trim().strip_prefix("error: ").unwrap().to_string();
    let api = client.post_json("/api/drill/3/compare", json!({"by": "plaform"}));
    assert_eq!(api.status, 400);
    assert_eq!(api.json()["error"], terminal.as_str());
    assert_eq!(api.json()["exit_code"], 1);
    let page = client.post_form("/drill/3/compare", &[("by", "plaform")], true);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("id=\"error\"") && page.body.contains("did you mean"), "{}", page.body);
    for (fields, expected) in [
        (json!({"cause": "nonsense"}), "unknown cause family 'nonsense'"),
        (json!({"cause": "release_bug", "start": "March"}), "--start 'March' is not a YYYY-MM-DD date"),
        (json!({"cause": "release_bug", "where": "platform=andriod"}), "did you mean 'android'?"),
        (json!({}), "--cause is required"),
    ] {
        let reply = client.post_json("/api/drill/3/answer", fields.clone());
        assert_eq!(reply.status, 400, "{fields}");
        assert!(reply.json()["error"].as_str().unwrap().contains(expected), "{fields}: {}", reply.body);
    }
    let reply = client.post_json("/api/drill/3/sql", json!({"query": "SELECT nope FROM sessions"}));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = client.post_json("/api/drill/3/trend", json!({"metric": "conversion", "grain": "fortnight"}));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.json()["error"].as_str().unwrap().contains("fortnight"));
    let reply = Client::reply(
        agent()
            .post(format!("{}/api/drill/3/compare", server.base))
            .header("Cookie", &client.cookie)
            .header("X-Dropcase-Token", &client.token)
            .header("Content-Type", "application/json")
            .send("{not json")
            .unwrap(),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error"].as_str().unwrap().contains("not valid JSON"));
    // The server is still up and answering after all of it.
    assert_eq!(client.get("/").status, 200);

    // Another host name (DNS rebinding) is refused off a classroom.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
}

#[test]
fn a_lan_address_needs_a_class() {
    let sb = Sandbox::new();
    sb.cmd(&["serve", "--host", "0.0.0.0", "--port", "0"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("needs --class FILE"));
    std::fs::write(
        sb.join("class.toml"),
        "code = \"x\"\n[[cases]]\nscenario = \"app_release_bug\"\nseed = 1\n",
    )
    .unwrap();
    sb.cmd(&["serve", "--class", "class.toml", "--port", "0"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("must be 4 to 32 letters or digits"));
}

fn class_file(sb: &Sandbox, sessions: u64) -> PathBuf {
    let path = sb.join("class.toml");
    std::fs::write(
        &path,
        format!(
            "title = \"Week 3\"\ncode = \"ROSE42\"\ntime_limit_minutes = 30\nsessions = {sessions}\n\n[[cases]]\nscenario = \"app_release_bug\"\nseed = 7\n\n[[cases]]\nkind = \"experiment\"\nscenario = \"exp_dark_mode\"\nseed = 3\n"
        ),
    )
    .unwrap();
    path
}

/// One learner's play of case 1: join, start, compare, hint, answer. Returns the score.
fn learner_plays(server: &Server, name: &str) -> f64 {
    let client = Client::new(server);
    let joined = client.post_json("/api/class/join", json!({"name": name, "code": "rose42"}));
    assert_eq!(joined.status, 200, "{name}: {}", joined.body);
    let started = client.post_json("/api/start", json!({"case": 1}));
    assert_eq!(started.status, 200, "{name}: {}", started.body);
    let url = started.json()["url"].as_str().unwrap().to_string();
    let compare = client.post_json(&format!("/api{url}/compare"), json!({"by": ["platform"]}));
    assert_eq!(compare.status, 200, "{name}: {}", compare.body);
    let hint = client.post_json(&format!("/api{url}/hint"), json!({}));
    assert_eq!(hint.status, 200, "{name}: {}", hint.body);
    let answer = client.post_json(
        &format!("/api{url}/answer"),
        json!({"cause": "release_bug", "where_platform": "android", "stage": "purchase"}),
    );
    assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    answer.json()["output"]["score"].as_f64().expect("score")
}

#[test]
fn a_class_joins_plays_the_same_case_and_the_teacher_sees_it() {
    let sb = Sandbox::new();
    let class = class_file(&sb, 20000);
    let server = Server::start(&sb, &["--class", class.to_str().unwrap()]);
    let teacher = server.teacher.clone().expect("the teacher's link was printed");

    let stranger = Client::new(&server);
    assert_eq!(stranger.post_json("/api/class/join", json!({"name": "Eve", "code": "WRONG"})).status, 403);
    assert_eq!(stranger.post_json("/api/start", json!({"case": 1})).status, 403, "join first");
    assert_eq!(stranger.get("/teacher?token=guess").status, 403);
    assert_eq!(stranger.get("/teacher").status, 403);

    let ada = Client::new(&server);
    assert_eq!(ada.post_json("/api/class/join", json!({"name": "Ada", "code": "ROSE42"})).status, 200);
    let started = ada.post_json("/api/start", json!({"case": 1}));
    assert_eq!(started.status, 200, "{}", started.body);
    let refused = ada.post_json("/api/drill/case-1/reveal", json!({}));
    assert_eq!(refused.status, 403, "no reveal before the answer in a class");
    // Another learner cannot open Ada's drill: ids are per learner.
    let bob = Client::new(&server);
    assert_eq!(bob.post_json("/api/class/join", json!({"name": "Bob", "code": "ROSE42"})).status, 200);
    assert_eq!(bob.get("/drill/case-1").status, 404, "Bob has not started case 1");

    let ada_score = learner_plays(&server, "Ada");
    let rows = ada.get(&format!("/api{teacher}")).json();
    let ada_row = rows.as_array().unwrap().iter().find(|r| r["learner"] == "ada" && r["case"] == 1).unwrap();
    assert_eq!(ada_row["score"].as_f64(), Some(ada_score));
    let csv = ada.get(&teacher.replace("/teacher?", "/teacher.csv?"));
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("learner,case,kind,scenario,seed"), "{}", csv.body);
    assert!(csv.body.contains("ada,1,drop,app_release_bug,7,"), "{}", csv.body);
    let page = ada.get(&teacher);
    assert!(page.body.contains("id=\"progress\"") && page.body.contains("bob"), "{}", page.body);
    let revealed = ada.post_json("/api/drill/case-1/reveal", json!({}));
    assert_eq!(revealed.status, 200, "after the answer the truth is shown: {}", revealed.body);
}

/// Issue 15's load: 30 learners playing at once on the 2-core machine, on 127.0.0.1, with
/// no error and no lost answer (each request bounded by the client's 300 s time-out).
#[test]
fn thirty_learners_play_at_once_without_an_error_or_a_lost_answer() {
    let _heavy = crate::support::heavy_test();
    let sb = Sandbox::new();
    let class = class_file(&sb, 20000);
    let server = Server::start(&sb, &["--class", class.to_str().unwrap()]);
    let scores: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..30)
            .map(|i| {
                let server = &server;
                scope.spawn(move || learner_plays(server, &format!("learner {i}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a learner's play")).collect()
    });
    assert_eq!(scores.len(), 30);
    let teacher = server.teacher.clone().unwrap();
    let rows = Client::new(&server).get(&format!("/api{teacher}")).json();
    let answered: Vec<&Value> =
        rows.as_array().unwrap().iter().filter(|r| r["case"] == 1 && r["answered"] == true).collect();
    assert_eq!(answered.len(), 30, "every answer kept");
    for row in &answered {
        assert_eq!(row["commands"], 1, "{row}");
        assert_eq!(row["hints"], 1, "{row}");
        assert_eq!(row["score"].as_f64(), Some(scores[0]), "the same case and play grade the same: {row}");
    }
}

// ---- the browser --------------------------------------------------------------------

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// A WebDriver session on Debian's chromedriver (the W3C protocol is JSON over HTTP).
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    base: String,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start(chromium: &Path, driver: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent = agent();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap().keep();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--hide-scrollbars", "--window-size=1280,1400", format!("--user-data-dir={}", profile.display()),
            ]}
        }}});
        // chromedriver can take a few seconds to listen on a loaded machine: wait (up to
        // 60 s) until it says it is ready, then ask for the one session.
        let mut last = String::from("no answer");
        let ready = (0..600).any(|_| {
            match agent.get(format!("{base}/status")).call() {
                Ok(mut r) => {
                    let v: Value = r.body_mut().read_json().unwrap_or_default();
                    if v["value"]["ready"] == true {
                        return true;
                    }
                    last = v.to_string();
                }
                Err(err) => last = err.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
            false
        });
        assert!(ready, "chromedriver did not become ready in 60 s: {last}");
        // Chromium can miss chromedriver's start-up deadline on a loaded machine ("session
        // not created"): ask up to three times.
        let mut refused = Value::Null;
        let mut session = None;
        for _ in 0..3 {
            let mut r = agent
                .post(format!("{base}/session"))
                .send_json(&capabilities)
                .unwrap_or_else(|e| panic!("chromedriver did not answer the new-session request: {e}"));
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            session = v["value"]["sessionId"].as_str().map(String::from);
            if session.is_some() {
                break;
            }
            refused = v;
        }
        let session = session.unwrap_or_else(|| panic!("chromedriver refused the session: {refused}"));
        let browser = Browser { driver, agent, base, session };
        browser.call("POST", "timeouts", json!({"implicit": 120000, "pageLoad": 300000}));
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let mut r = match method {
            "GET" => self.agent.get(url).call(),
            _ => self.agent.post(url).send_json(body),
        }
        .expect("chromedriver answers");
        let v: Value = r.body_mut().read_json().unwrap_or_default();
        v["value"].clone()
    }

    fn try_call(&self, path: &str) -> bool {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        self.agent.post(url).send_json(json!({})).is_ok_and(|r| r.status().is_success())
    }

    fn go(&self, url: &str) {
        self.call("POST", "url", json!({"url": url}));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call("POST", "element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element '{css}' on the page: {v}")).to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("element/{e}/click"), json!({}));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("element/{e}/text"), Value::Null).as_str().unwrap_or_default().to_string()
    }

    /// Waits (bounded) until the element's text holds `needle`.
    fn wait_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..600 {
            let text = self.text(css);
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("'{css}' never showed '{needle}'");
    }

    fn screenshot(&self, path: &Path) {
        let v = self.call("GET", "screenshot", Value::Null);
        let png = decode_base64(v.as_str().expect("a screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn headless_chromium_plays_a_drill_end_to_end() {
    let (Some(chromium), Some(driver)) =
        (["chromium", "chromium-browser"].iter().find_map(|n| on_path(n)), on_path("chromedriver"))
    else {
        // CI (`.ci/run`) installs chromium and chromium-driver and sets this: there a
        // missing browser fails.
        assert!(
            std::env::var_os("DROPCASE_REQUIRE_BROWSER").is_none(),
            "chromium or chromedriver not on PATH, and DROPCASE_REQUIRE_BROWSER is set (.ci/run installs Debian's chromium and chromium-driver)"
        );
        eprintln!("SKIPPED: chromium or chromedriver not on PATH (.ci/run installs them)");
        return;
    };
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let browser = Browser::start(&chromium, &driver);

    browser.go(&format!("{}/", server.base));
    browser.screenshot(&shots.join("1-home.png"));
    browser.click("#start-drop select#family option[value='release_bug']");
    let seed = browser.find("#start-drop input[name='seed']");
    browser.call("POST", &format!("element/{seed}/value"), json!({"text": "7"}));
    let sessions = browser.find("#start-drop input[name='sessions']");
    browser.call("POST", &format!("element/{sessions}/value"), json!({"text": "30000"}));
    browser.click("#start-drop button");
    assert!(!browser.text("#prompt").is_empty(), "the brief's prompt");
    assert!(browser.text("h1").contains("Case 7"));
    browser.screenshot(&shots.join("2-drill.png"));

    browser.click("#compare input[value='platform']");
    browser.click("#compare button");
    let result = browser.wait_text("#result", "dropcase query compare --by platform");
    assert!(result.contains("platform"), "the compare table: {result}");
    let chart_title = browser.text("#result figure svg text");
    assert!(chart_title.contains("explains the most"), "the chart's title reads: {chart_title}");
    browser.screenshot(&shots.join("3-compare.png"));

    browser.click("#hint button");
    let hint = browser.wait_text("#result", "Hint 1/");
    assert!(hint.contains("points"), "{hint}");
    browser.screenshot(&shots.join("4-hint.png"));

    browser.click("#answer select#cause option[value='release_bug']");
    browser.click("#answer select#where_platform option[value='android']");
    browser.click("#answer button");
    let score = browser.wait_text("#score", "/100");
    assert!(browser.text("#breakdown").contains("component"), "the breakdown");
    browser.screenshot(&shots.join("5-grade.png"));

    browser.click("#reveal button");
    // The page asks before it reveals; accept (bounded wait for the dialog).
    let mut accepted = false;
    for _ in 0..100 {
        if browser.try_call("alert/accept") {
            accepted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(accepted, "the reveal asked for confirmation");
    let truth = browser.wait_text("#truth", "release_bug");
    browser.find("#truth-chart svg");
    browser.screenshot(&shots.join("6-reveal.png"));
    assert!(truth.contains("The command that shows it"), "{truth}");
    eprintln!("screenshots in {} (score {score})", shots.display());
    for name in ["1-home", "2-drill", "3-compare", "4-hint", "5-grade", "6-reveal"] {
        let png = crate::pixels::decode_png(&std::fs::read(shots.join(format!("{name}.png"))).unwrap());
        assert!(png.ink_share() > 0.02, "{name} is blank");
    }
}
