//! OSCQuery discovery: an HTTP endpoint that serves the OSC address space and the current
//! values as JSON, so that clients (ossia score, Chataigne, a browser) can find what memsynth
//! understands without reading its docs.
//!
//! Follows the OSCQuery proposal (Vidvox, <https://github.com/Vidvox/OSCQueryProposal>):
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /` | the whole tree: `FULL_PATH`, `CONTENTS`, `TYPE`, `ACCESS`, `RANGE`, `UNIT`, `DESCRIPTION`, and `VALUE` where the server knows it |
//! | `GET /transport/tempo` | that node (any container or method) |
//! | `GET /transport/tempo?VALUE` | `{"VALUE": [120.0]}`: one attribute of a node (204 if it has none) |
//! | `GET /?HOST_INFO` | `NAME`, `OSC_IP`, `OSC_PORT`, `OSC_TRANSPORT` (`"UDP"`), `EXTENSIONS` |
//!
//! Unknown paths answer 404, other methods than GET and HEAD 405. Values come from the
//! server's status snapshot ([`Shared::status`]), read on each request:
//! `/transport/tempo` (tempo), `/status` (playing, tempo, bar, beat, phrase id, underruns,
//! as the `/status` reply), `/bar`, `/beat` and `/levels`. There is no WebSocket `LISTEN`
//! yet (clients poll, or subscribe over OSC), and no mDNS `_oscjson._tcp` advertisement:
//! clients are given the host and port.
//!
//! The answers are plain functions of a [`Snapshot`] ([`respond`]); [`serve`] only moves
//! them over HTTP/1.1 (hyper, on the actor system's own current-thread tokio runtime).

use std::convert::Infallible;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use memsynth::osc::{Status, address};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::shared::Shared;

/// What `?HOST_INFO` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// The server's name.
    pub name: String,
    /// The address OSC listens on.
    pub osc_ip: IpAddr,
    /// The UDP port OSC listens on.
    pub osc_port: u16,
}

/// The live values that the tree reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// The conductor's status.
    pub status: Status,
    /// Output peak and RMS, dBFS.
    pub levels: (f32, f32),
}

impl Snapshot {
    /// The current values of `shared`.
    pub fn of(shared: &Shared) -> Self {
        Self { status: shared.status(), levels: shared.levels_dbfs() }
    }
}

/// An answer: HTTP status and, unless 204/404/405, a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status code.
    pub code: u16,
    /// The body.
    pub body: Option<Value>,
}

impl Answer {
    fn json(body: Value) -> Self {
        Self { code: 200, body: Some(body) }
    }

    fn empty(code: u16) -> Self {
        Self { code, body: None }
    }
}

/// The extensions of the proposal this endpoint implements.
fn extensions() -> Value {
    json!({
        "ACCESS": true, "VALUE": true, "RANGE": true, "DESCRIPTION": true, "UNIT": true,
        "TAGS": false, "EXTENDED_TYPE": false, "CLIPMODE": false, "CRITICAL": false,
        "OVERLOADS": false, "LISTEN": false, "PATH_CHANGED": false, "PATH_RENAMED": false,
        "PATH_ADDED": false, "PATH_REMOVED": false, "HTML": false,
    })
}

/// The `?HOST_INFO` object.
pub fn host_info(host: &HostInfo) -> Value {
    json!({
        "NAME": host.name,
        "OSC_IP": host.osc_ip.to_string(),
        "OSC_PORT": host.osc_port,
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": extensions(),
    })
}

/// The whole namespace tree ([`address::to_json`]) with the values of `now`.
pub fn tree(now: &Snapshot) -> Value {
    let mut tree = address::to_json();
    let s = &now.status;
    // A phrase id beyond i32 is reported saturated, as the OSC reply does.
    let phrase = s.phrase.map_or(-1, |p| i64::from(p.min(i32::MAX as u32)));
    let underruns = s.underruns.min(i32::MAX as u64);
    let values: [(&str, Value); 5] = [
        ("/transport/tempo", json!([s.tempo])),
        ("/status", json!([i32::from(s.playing), s.tempo, s.bar, s.beat, phrase, underruns])),
        ("/bar", json!([s.bar])),
        ("/beat", json!([s.beat])),
        ("/levels", json!([finite(now.levels.0), finite(now.levels.1)])),
    ];
    for (path, value) in values {
        if let Some(Value::Object(node)) = node_mut(&mut tree, path) {
            // A value the client can set and now also read: OSCQuery's read-write.
            if node.get("ACCESS") == Some(&json!(2)) {
                node.insert("ACCESS".into(), json!(3));
            }
            node.insert("VALUE".into(), value);
        }
    }
    tree
}

/// JSON has no infinities: a silent output's level is reported as `null`.
fn finite(v: f32) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn node<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    segments(path).try_fold(tree, |node, seg| node.get("CONTENTS")?.get(seg))
}

fn node_mut<'a>(tree: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    segments(path).try_fold(tree, |node, seg| node.get_mut("CONTENTS")?.get_mut(seg))
}

/// Decodes `%XX` escapes (ZIG SIM's `<id>` segment arrives as `%3Cid%3E`). `None` if the
/// result is not UTF-8 or an escape is cut short.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The answer to `GET path?query` with the values of `now`.
pub fn respond(path: &str, query: Option<&str>, host: &HostInfo, now: &Snapshot) -> Answer {
    let Some(path) = percent_decode(path) else { return Answer::empty(404) };
    match query.filter(|q| !q.is_empty()) {
        Some("HOST_INFO") => Answer::json(host_info(host)),
        query => {
            let tree = tree(now);
            let Some(node) = node(&tree, &path) else { return Answer::empty(404) };
            match query {
                None => Answer::json(node.clone()),
                Some(attribute) => match node.get(attribute) {
                    Some(v) => {
                        let mut one = Map::new();
                        one.insert(attribute.to_string(), v.clone());
                        Answer::json(Value::Object(one))
                    }
                    None => Answer::empty(204),
                },
            }
        }
    }
}

fn http_answer(req: &Request<Incoming>, host: &HostInfo, shared: &Shared) -> Response<Full<Bytes>> {
    let answer = if req.method() == Method::GET || req.method() == Method::HEAD {
        respond(req.uri().path(), req.uri().query(), host, &Snapshot::of(shared))
    } else {
        Answer::empty(405)
    };
    let body = match (&answer.body, req.method() == Method::HEAD) {
        (Some(v), false) => Bytes::from(v.to_string()),
        _ => Bytes::new(),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(answer.code).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    // Browser-based clients read the tree from another origin.
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if answer.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// Serves OSCQuery on `listener` until the actor system stops; each connection is a task on
/// the current (actix) runtime. A connection that sends no complete request head within
/// 10 s is closed.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, host: HostInfo) {
    let host = Rc::new(host);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                eprintln!("OSCQuery accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (host, shared) = (host.clone(), shared.clone());
        let service = hyper::service::service_fn(move |req| {
            let response = http_answer(&req, &host, &shared);
            async move { Ok::<_, Infallible>(response) }
        });
        actix::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                // Clients that hang up mid-request are routine; anything else is worth a line.
                if !e.is_incomplete_message() {
                    eprintln!("OSCQuery connection: {e}");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo { name: "memsynth".into(), osc_ip: [127, 0, 0, 1].into(), osc_port: 9000 }
    }

    fn now(tempo: f32) -> Snapshot {
        Snapshot {
            status: Status { playing: true, tempo, bar: 3, beat: 1, phrase: Some(7), underruns: 0 },
            levels: (-6.0, f32::NEG_INFINITY),
        }
    }

    #[test]
    fn root_is_the_tree_with_values() {
        let a = respond("/", None, &host(), &now(128.0));
        assert_eq!(a.code, 200);
        let tree = a.body.unwrap();
        assert_eq!(tree["FULL_PATH"], "/");
        let tempo = &tree["CONTENTS"]["transport"]["CONTENTS"]["tempo"];
        assert_eq!(tempo["VALUE"], json!([128.0]));
        assert_eq!(tempo["TYPE"], "f");
        assert_eq!(tempo["ACCESS"], 3, "set over OSC, read here");
        let status = &tree["CONTENTS"]["status"];
        assert_eq!(status["VALUE"], json!([1, 128.0, 3, 1, 7, 0]));
        assert_eq!(status["TYPE"], "ifiiii");
        assert_eq!(tree["CONTENTS"]["levels"]["VALUE"], json!([-6.0, null]));
        // Write-only addresses without a known value have none.
        let guidance = &tree["CONTENTS"]["conductor"]["CONTENTS"]["guidance"];
        assert!(guidance.get("VALUE").is_none());
        assert_eq!(guidance["ACCESS"], 2);
        assert_eq!(status["ACCESS"], 1);
    }

    #[test]
    fn host_info_names_the_osc_port() {
        let info = respond("/", Some("HOST_INFO"), &host(), &now(120.0)).body.unwrap();
        assert_eq!(info["OSC_PORT"], 9000);
        assert_eq!(info["OSC_TRANSPORT"], "UDP");
        assert_eq!(info["OSC_IP"], "127.0.0.1");
        assert_eq!(info["EXTENSIONS"]["VALUE"], true);
        assert_eq!(info["EXTENSIONS"]["LISTEN"], false);
    }

    #[test]
    fn nodes_attributes_and_misses() {
        let tempo = respond("/transport/tempo", None, &host(), &now(90.0)).body.unwrap();
        assert_eq!(tempo["FULL_PATH"], "/transport/tempo");
        let value = respond("/transport/tempo", Some("VALUE"), &host(), &now(90.0));
        assert_eq!(value.body, Some(json!({ "VALUE": [90.0] })));
        let transport = respond("/transport/", None, &host(), &now(90.0)).body.unwrap();
        assert_eq!(transport["FULL_PATH"], "/transport");
        let zig = respond("/ZIGSIM/%3Cid%3E/accel", None, &host(), &now(90.0)).body.unwrap();
        assert_eq!(zig["FULL_PATH"], "/ZIGSIM/<id>/accel");
        assert_eq!(respond("/transport/tempo", Some("TAGS"), &host(), &now(90.0)).code, 204);
        assert_eq!(respond("/nope", None, &host(), &now(90.0)).code, 404);
        assert_eq!(respond("/transport/tempo/x", None, &host(), &now(90.0)).code, 404);
        assert_eq!(respond("/%zz", None, &host(), &now(90.0)).code, 404);
        assert_eq!(respond("/%", None, &host(), &now(90.0)).code, 404);
        assert_eq!(respond("/%+1", None, &host(), &now(90.0)).code, 404);
        assert_eq!(respond("/%c3", None, &host(), &now(90.0)).code, 404);
    }
}
