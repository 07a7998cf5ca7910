//! The QA station (`resiscan qa serve`): a local web page where the inspector looks at every
//! page of a sampled document large, beside its text, findings and e-file, and decides OK or
//! Reject. Each decision goes through [`crate::qa::record`], the function `qa record` calls,
//! into the same signed QA addendum; `qa status` and `verify` see it at once.
//!
//! Why a small blocking server (tiny_http) and not axum on tokio: the station serves one scan
//! center's few clerks on one machine, and its work per request is blocking anyway — poppler
//! runs, SHA-256 over a PDF, an advisory file lock and a CMS signature — which on tokio would
//! all go to `spawn_blocking`. A fixed pool of threads each taking the next request does the
//! same with five small crates instead of an async stack, on a build machine with two cores.
//!
//! What it promises, as any server must:
//! - it binds to loopback unless `--listen` says otherwise, and a non-loopback address needs a
//!   token on every request (printed once at start or read from `--token-file`);
//! - every request's `Host` is checked (DNS rebinding), every state-changing request needs the
//!   session's CSRF token and a same-origin `Origin`;
//! - request paths never name files: batch and document ids are looked up in the store's
//!   notes, page numbers in the document's page count, and only then are paths built;
//! - everything from OCR, file names or the note is escaped by the templates (maud escapes
//!   every interpolation), and a Content-Security-Policy allows only the binary's own CSS
//!   and script, so nothing from outside the machine is loaded;
//! - two inspectors deciding the same document at once: the addendum is written under its
//!   lock, and the second sees the first's decision instead of silently overriding it.

mod pages;
pub(crate) mod render;
mod web;

use std::io::{Cursor, Read as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tiny_http::{Header, Method, Request, Response, StatusCode};

use super::{Decision, QaError, RecordRequest};

/// What `qa serve` is asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub store: PathBuf,
    /// Default 127.0.0.1:8470; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The inspector's pseudonym for every decision; without it the page asks for it.
    pub inspector: Option<String>,
    /// The profile whose signing identity signs the addendum, as for `qa record --profile`.
    pub profile: Option<PathBuf>,
    /// A file holding the access token; required off loopback unless one is generated.
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(transparent)]
    Qa(#[from] QaError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("reading the token file {}: {cause}", path.display())]
    TokenFile {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the token file {} is empty or shorter than 16 characters", path.display())]
    WeakToken { path: PathBuf },
}

/// A running station.
pub struct Running {
    workers: Vec<std::thread::JoinHandle<()>>,
    /// The address it listens on (with the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The URL to open; it carries the token when one is required and was generated here.
    pub url: String,
    /// Whether every request needs the token.
    pub token_required: bool,
}

impl Running {
    /// Serves until the process ends.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Requests handled at once; each may run poppler or sign.
const WORKERS: usize = 4;
/// Largest form body accepted (a decision is a few hundred bytes).
const MAX_BODY: u64 = 64 * 1024;
const SESSION_COOKIE: &str = "resiscan_session";
const TOKEN_COOKIE: &str = "resiscan_token";

/// The station's fixed state, shared by the worker threads.
pub(crate) struct Station {
    pub(crate) store: PathBuf,
    pub(crate) inspector: Option<String>,
    profile: Option<PathBuf>,
    /// Hosts a request may name (`Host:`); `None` when bound to every address (then the
    /// token is the guard).
    hosts: Option<Vec<String>>,
    token: Option<String>,
    /// Key for the CSRF tokens (HMAC-SHA256 of the session id); new at every start.
    csrf_key: ring::hmac::Key,
}

/// `qa serve`: checks the store, binds and starts the workers.
pub fn start(opts: &ServeOptions) -> Result<Running, ServeError> {
    // A store without batches is refused now, not on the first page view.
    super::batch_ids(&opts.store, None)?;
    let token_required = !opts.listen.ip().is_loopback() || opts.token_file.is_some();
    let token = match &opts.token_file {
        Some(path) => {
            let t = std::fs::read_to_string(path).map_err(|cause| ServeError::TokenFile {
                path: path.clone(),
                cause,
            })?;
            let t = t.trim().to_string();
            if t.len() < 16 {
                return Err(ServeError::WeakToken { path: path.clone() });
            }
            Some(t)
        }
        None if token_required => Some(hex::encode(rand::random::<[u8; 24]>())),
        None => None,
    };
    let server = tiny_http::Server::http(opts.listen).map_err(|e| ServeError::Bind {
        addr: opts.listen,
        reason: e.to_string(),
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| ServeError::Bind {
            addr: opts.listen,
            reason: "not an IP listener".into(),
        })?;
    let port = addr.port();
    let hosts = if addr.ip().is_unspecified() {
        None
    } else {
        let mut h = vec![authority(addr)];
        if addr.ip().is_loopback() {
            h.push(format!("localhost:{port}"));
        }
        Some(h)
    };
    let shown = if addr.ip().is_unspecified() {
        format!("http://<this machine's address>:{port}/")
    } else {
        format!("http://{}/", authority(addr))
    };
    let url = match (&token, &opts.token_file) {
        (Some(t), None) => format!("{shown}?token={t}"),
        _ => shown,
    };
    let station = Arc::new(Station {
        store: opts.store.clone(),
        inspector: opts
            .inspector
            .as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        profile: opts.profile.clone(),
        hosts,
        token,
        csrf_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rand::random::<[u8; 32]>()),
    });
    let server = Arc::new(server);
    let workers = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let station = Arc::clone(&station);
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    station.handle(req);
                }
            })
        })
        .collect();
    Ok(Running {
        workers,
        addr,
        url,
        token_required,
    })
}

fn authority(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// A response under construction: status, type, body and extra headers.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into_bytes(),
            headers: vec![("Cache-Control", "no-store".into())],
        }
    }

    fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            headers: vec![("Cache-Control", "no-store".into())],
        }
    }

    fn redirect(to: &str) -> Reply {
        let mut r = Reply::text(303, "see other");
        r.headers.push(("Location", to.to_string()));
        r
    }

    fn with(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// The session a request belongs to: its id (from the cookie, or new).
struct Session {
    id: String,
    new: bool,
}

/// What a request carried that the handlers need.
pub(crate) struct Ctx {
    /// The session's CSRF token, put into every form.
    pub(crate) csrf: String,
}

impl Station {
    fn handle(&self, mut req: Request) {
        let reply = self.respond(&mut req);
        let mut resp = Response::new(
            StatusCode(reply.status),
            Vec::new(),
            Cursor::new(reply.body.clone()),
            Some(reply.body.len()),
            None,
        );
        let fixed: [(&str, &str); 6] = [
            ("Content-Type", reply.content_type),
            // Only the binary's own CSS, script and page images; no inline script, no frames.
            (
                "Content-Security-Policy",
                "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            // Not `no-referrer`: with it the browser sends `Origin: null` on our own forms.
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ];
        for (k, v) in fixed {
            if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                resp.add_header(h);
            }
        }
        for (k, v) in &reply.headers {
            if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                resp.add_header(h);
            }
        }
        let _ = req.respond(resp);
    }

    fn header<'r>(req: &'r Request, name: &'static str) -> Option<&'r str> {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str())
    }

    fn respond(&self, req: &mut Request) -> Reply {
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let query = web::form_pairs(query);
        // DNS rebinding: a page from another name must not reach us through a name that
        // resolves here. Loopback answers to its address and `localhost` only.
        let host = Self::header(req, "Host").unwrap_or("").to_string();
        if let Some(hosts) = &self.hosts
            && !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host))
        {
            return Reply::text(403, "refused: unexpected Host header");
        }
        let cookies = Self::header(req, "Cookie").unwrap_or("").to_string();
        let mut set_cookies = Vec::new();
        if let Some(token) = &self.token {
            let bearer = Self::header(req, "Authorization").and_then(|a| a.strip_prefix("Bearer "));
            let from_cookie = web::cookie(&cookies, TOKEN_COOKIE);
            let from_query = web::form_value(&query, "token");
            let ok = |t: Option<&str>| t.is_some_and(|t| web::same_secret(t, token));
            if ok(from_query) && *req.method() == Method::Get {
                // Once from the printed URL; afterwards the cookie carries it, and the token
                // leaves the address bar (and the history) at once.
                return Reply::redirect(path).with(
                    "Set-Cookie",
                    format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"),
                );
            }
            if !ok(bearer) && !ok(from_cookie) {
                return Reply::text(
                    401,
                    "refused: this station needs its access token (open the URL printed at start, or send Authorization: Bearer TOKEN)",
                );
            }
        }
        let session = match web::cookie(&cookies, SESSION_COOKIE) {
            Some(id) if id.len() == 48 && id.bytes().all(|b| b.is_ascii_hexdigit()) => Session {
                id: id.to_string(),
                new: false,
            },
            _ => Session {
                id: hex::encode(rand::random::<[u8; 24]>()),
                new: true,
            },
        };
        if session.new {
            set_cookies.push(format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                session.id
            ));
        }
        let ctx = Ctx {
            csrf: hex::encode(ring::hmac::sign(&self.csrf_key, session.id.as_bytes())),
        };
        let Some(segments) = web::path_segments(path) else {
            return Reply::text(400, "refused: badly encoded path");
        };
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let mut reply = match *req.method() {
            Method::Get | Method::Head => self.get(&segs, &query, &ctx, req),
            Method::Post => {
                if let Err(why) = self.same_origin(req, &host) {
                    return Reply::text(403, &format!("refused: {why}"));
                }
                let mut body = String::new();
                if req
                    .as_reader()
                    .take(MAX_BODY)
                    .read_to_string(&mut body)
                    .is_err()
                {
                    return Reply::text(400, "refused: the form is not UTF-8");
                }
                let form = web::form_pairs(&body);
                // A new session has no token to match; a form without one is a forgery.
                let sent = web::form_value(&form, "csrf").unwrap_or("");
                if session.new || !web::same_secret(sent, &ctx.csrf) {
                    return Reply::text(
                        403,
                        "refused: the form's session token is missing or wrong (reload the page and decide again)",
                    );
                }
                self.post(&segs, &form, &ctx)
            }
            _ => Reply::text(405, "method not allowed"),
        };
        for c in set_cookies {
            reply = reply.with("Set-Cookie", c);
        }
        reply
    }

    /// A state-changing request must come from our own pages: `Origin` equal to this
    /// station (browsers send it on every POST) and, where the browser says, same-origin.
    fn same_origin(&self, req: &Request, host: &str) -> Result<(), &'static str> {
        let origin = Self::header(req, "Origin").ok_or("no Origin header")?;
        if !origin.eq_ignore_ascii_case(&format!("http://{host}")) {
            return Err("cross-origin request");
        }
        match Self::header(req, "Sec-Fetch-Site") {
            Some(s) if s != "same-origin" => Err("cross-site request"),
            _ => Ok(()),
        }
    }

    fn get(&self, segs: &[&str], query: &[(String, String)], ctx: &Ctx, req: &Request) -> Reply {
        match segs {
            [] => pages::index(self),
            ["assets", "station.css"] => asset("text/css; charset=utf-8", pages::CSS),
            ["assets", "station.js"] => asset("text/javascript; charset=utf-8", pages::JS),
            ["b", batch] => match self.batch(batch) {
                Ok(b) => pages::batch(&b, ctx, web::form_value(query, "done")),
                Err(r) => r,
            },
            ["b", batch, "d", doc] => match self.batch(batch) {
                Ok(b) => {
                    let done = web::form_value(query, "done").map(pages::Notice::Done);
                    pages::document(self, &b, doc, ctx, done, 200)
                }
                Err(r) => r,
            },
            ["b", batch, "d", doc, "p", page] => match self.batch(batch) {
                Ok(b) => self.page_image(&b, doc, page, req),
                Err(r) => r,
            },
            _ => not_found(),
        }
    }

    fn post(&self, segs: &[&str], form: &[(String, String)], ctx: &Ctx) -> Reply {
        match segs {
            ["b", batch, "sample"] => match self.batch(batch) {
                Ok(b) => match super::sample(&self.store, Some(&b.id)) {
                    Ok(_) => Reply::redirect(&format!("/b/{}", web::segment(&b.id))),
                    Err(e) => pages::error(500, &format!("qa sample: {e}")),
                },
                Err(r) => r,
            },
            ["b", batch, "d", doc] => match self.batch(batch) {
                Ok(b) => self.decide(&b, doc, form, ctx),
                Err(r) => r,
            },
            _ => not_found(),
        }
    }

    /// The batch named by a request, if the store holds one by exactly that id.
    fn batch(&self, id: &str) -> Result<super::LoadedBatch, Reply> {
        let known =
            super::batch_ids(&self.store, None).map_err(|e| pages::error(500, &e.to_string()))?;
        if !known.iter().any(|k| k == id) {
            return Err(not_found());
        }
        super::load_batch(&self.store, id).map_err(|e| pages::error(500, &e.to_string()))
    }

    fn page_image(
        &self,
        batch: &super::LoadedBatch,
        doc: &str,
        page: &str,
        req: &Request,
    ) -> Reply {
        let Some(d) = batch.note.documents.iter().find(|d| d.id == doc) else {
            return not_found();
        };
        let Some(rel) = &d.pdf else {
            return not_found();
        };
        let count = pages::pdf_page_count(d);
        let Some(n) = page
            .strip_suffix(".png")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=count).contains(n))
        else {
            return not_found();
        };
        let pdf = self.store.join(rel);
        let sha = match crate::crypto::sha256_file_hex(&pdf) {
            Ok(s) => s,
            Err(e) => return pages::error(500, &format!("{}: {e}", pdf.display())),
        };
        let etag = format!("\"{sha}-{n}\"");
        if Self::header(req, "If-None-Match") == Some(etag.as_str()) {
            return Reply::text(304, "").with("ETag", etag);
        }
        let started = std::time::Instant::now();
        match render::page_png(&render::cache_dir(&self.store), &pdf, &sha, n) {
            Ok((png, cached)) => {
                tracing::debug!(
                    doc,
                    page = n,
                    cached,
                    ms = started.elapsed().as_millis() as u64,
                    "page image"
                );
                Reply {
                    status: 200,
                    content_type: "image/png",
                    body: png,
                    headers: vec![
                        ("Cache-Control", "private, no-cache".into()),
                        ("ETag", etag),
                    ],
                }
            }
            Err(e) => pages::error(500, &e),
        }
    }

    /// OK or Reject from the page: the same [`super::record`] as `qa record`.
    fn decide(
        &self,
        batch: &super::LoadedBatch,
        doc: &str,
        form: &[(String, String)],
        ctx: &Ctx,
    ) -> Reply {
        if !batch.note.documents.iter().any(|d| d.id == doc) {
            return not_found();
        }
        let decision = match web::form_value(form, "decision") {
            Some("ok") => Decision::Ok,
            Some("reject") => {
                Decision::Reject(web::form_value(form, "reason").unwrap_or("").to_string())
            }
            _ => {
                let n = pages::Notice::Error("choose OK or Reject");
                return pages::document(self, batch, doc, ctx, Some(n), 422);
            }
        };
        let inspector = match &self.inspector {
            Some(i) => i.clone(),
            None => web::form_value(form, "inspector").unwrap_or("").to_string(),
        };
        let seen = web::form_value(form, "seen").and_then(|s| s.parse().ok());
        let result = super::record(&RecordRequest {
            store: &self.store,
            batch: &batch.id,
            doc,
            decision,
            inspector: &inspector,
            profile: self.profile.as_deref(),
            seen_decisions: Some(seen.unwrap_or(0)),
        });
        match result {
            Ok(out) => {
                tracing::info!(
                    doc,
                    inspector = out.entry.inspector,
                    state = out.qa_state,
                    "QA station recorded a decision"
                );
                let next = pages::next_open(batch, doc);
                let to = match next {
                    Some(n) => format!(
                        "/b/{}/d/{}?done={}",
                        web::segment(&batch.id),
                        web::segment(&n),
                        web::segment(doc)
                    ),
                    None => format!("/b/{}?done={}", web::segment(&batch.id), web::segment(doc)),
                };
                Reply::redirect(&to)
            }
            Err(e) => {
                let status = match e {
                    QaError::DecidedMeanwhile { .. } => 409,
                    QaError::NoReason
                    | QaError::NoInspector
                    | QaError::InspectorIsOperator { .. }
                    | QaError::NotInspectable { .. }
                    | QaError::NotSampled { .. }
                    | QaError::StaleSelection { .. }
                    | QaError::PdfChanged { .. } => 422,
                    _ => 500,
                };
                let message = e.to_string();
                pages::document(
                    self,
                    batch,
                    doc,
                    ctx,
                    Some(pages::Notice::Error(&message)),
                    status,
                )
            }
        }
    }
}

fn asset(content_type: &'static str, body: &str) -> Reply {
    Reply {
        status: 200,
        content_type,
        body: body.as_bytes().to_vec(),
        headers: vec![("Cache-Control", "no-cache".into())],
    }
}

fn not_found() -> Reply {
    Reply::text(404, "not found")
}
