//! Requests and responses as plain values, so the routes are tested without a socket; and
//! the conversion from and to `tiny_http`, where request bodies are bounded.

use std::collections::BTreeMap;
use std::io::Read;

/// Largest request body read (a form, an SQL query, a JSON action): larger is refused.
pub const MAX_BODY: usize = 256 * 1024;

/// At most this much more of a refused body is read (and dropped) before answering.
const DRAIN_LIMIT: u64 = 16 << 20;

/// A form's or a JSON object's fields, each name with its values in order.
pub type Fields = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path without the query string, percent-decoded segment by segment later.
    pub path: String,
    pub query: Fields,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method,
            path: path.to_string(),
            query: parse_form(query.as_bytes()),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The body's fields: a JSON object (`application/json`) or a URL-encoded form.
    pub fn fields(&self) -> Result<Fields, String> {
        let json = self.header("content-type").is_some_and(|t| t.starts_with("application/json"));
        if json { parse_json(&self.body) } else { Ok(parse_form(&self.body)) }
    }
}

pub fn parse_form(bytes: &[u8]) -> Fields {
    let mut fields = Fields::new();
    for (name, value) in form_urlencoded::parse(bytes) {
        fields.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    fields
}

/// A JSON object whose values are strings, numbers, booleans or arrays of them.
pub fn parse_json(bytes: &[u8]) -> Result<Fields, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the request body is not valid JSON: {e}"))?;
    let serde_json::Value::Object(object) = value else {
        return Err("the request body must be a JSON object of fields, e.g. {\"by\": \"platform\"}".into());
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut fields = Fields::new();
    for (name, value) in object {
        let values = match &value {
            serde_json::Value::Array(items) => items.iter().map(text).collect::<Option<Vec<_>>>(),
            serde_json::Value::Null => Some(Vec::new()),
            other => text(other).map(|t| vec![t]),
        }
        .ok_or_else(|| format!("field '{name}' must be a string, a number, a boolean or a list of them"))?;
        fields.insert(name, values);
    }
    Ok(fields)
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub const HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response { status, content_type, headers: Vec::new(), body: body.into() }
    }

    pub fn html(status: u16, body: String) -> Self {
        Self::new(status, HTML, body)
    }

    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
        Self::new(status, JSON, body)
    }

    pub fn redirect(to: &str) -> Self {
        let mut r = Self::new(303, "text/plain; charset=utf-8", format!("see {to}"));
        r.headers.push(("Location".into(), to.to_string()));
        r
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a `tiny_http` request into a [`Request`]; a body over [`MAX_BODY`] is refused
/// with the response to send.
pub fn from_tiny(request: &mut tiny_http::Request) -> Result<Request, Response> {
    let method = match request.method() {
        tiny_http::Method::Get | tiny_http::Method::Head => Method::Get,
        tiny_http::Method::Post => Method::Post,
        _ => Method::Other,
    };
    let mut parsed = Request::new(method, request.url());
    parsed.headers = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
        .collect();
    let mut body = Vec::new();
    if let Err(err) = request.as_reader().take(MAX_BODY as u64 + 1).read_to_end(&mut body) {
        return Err(Response::new(
            400,
            "text/plain; charset=utf-8",
            format!("cannot read the request: {err}"),
        ));
    }
    if body.len() > MAX_BODY {
        // Read what the client is still sending (bounded), so it gets the answer rather than
        // a connection closed under it; the bytes are not kept.
        let _ = std::io::copy(&mut request.as_reader().take(DRAIN_LIMIT), &mut std::io::sink());
        return Err(too_large());
    }
    parsed.body = body;
    Ok(parsed)
}

fn too_large() -> Response {
    Response::new(
        413,
        "text/plain; charset=utf-8",
        format!("the request is larger than {} KiB; send a shorter query or form", MAX_BODY / 1024),
    )
}

/// Sends `response`, with headers that keep the pages to this origin.
pub fn send(request: tiny_http::Request, response: Response) {
    let mut out = tiny_http::Response::from_data(response.body).with_status_code(response.status);
    let mut headers = vec![
        ("Content-Type".to_string(), response.content_type.to_string()),
        ("Cache-Control".into(), "no-store".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("X-Frame-Options".into(), "DENY".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
        (
            "Content-Security-Policy".into(),
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'".into(),
        ),
    ];
    headers.extend(response.headers);
    for (name, value) in headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(header);
        }
    }
    // A client that went away is not the server's error.
    let _ = request.respond(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_json_and_cookies_read() {
        let fields = parse_form(b"by=platform&by=country&where=platform%3Dios&q=a+b");
        assert_eq!(fields["by"], ["platform", "country"]);
        assert_eq!(fields["where"], ["platform=ios"]);
        assert_eq!(fields["q"], ["a b"]);
        let fields = parse_json(br#"{"by": ["platform"], "top": 5, "note": null}"#).unwrap();
        assert_eq!(fields["by"], ["platform"]);
        assert_eq!(fields["top"], ["5"]);
        assert!(fields["note"].is_empty());
        assert!(parse_json(b"[1]").unwrap_err().contains("JSON object"));
        assert!(parse_json(br#"{"by": {"x": 1}}"#).unwrap_err().contains("field 'by'"));
        let mut r = Request::new(Method::Get, "/drill/7?x=1");
        assert_eq!(r.path, "/drill/7");
        assert_eq!(r.query["x"], ["1"]);
        r.headers.push(("cookie".into(), "a=1; dropcase_session=abc".into()));
        assert_eq!(r.cookie("dropcase_session"), Some("abc"));
        assert_eq!(r.cookie("b"), None);
    }
}
