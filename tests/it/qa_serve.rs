//! `resiscan qa serve` from the outside: the real binary on a store made by a real ingest,
//! probed over raw HTTP for its security promises, and driven in Debian's Chromium through
//! WebDriver (chromedriver) the way a clerk uses it. The results are checked where they land:
//! the signed addendum (openssl), `qa status` and `verify`.
//!
//! The HTTP client and the WebDriver client are a few lines over `std::net::TcpStream`: the
//! security tests must send Host and Origin headers of their choosing, which ordinary clients
//! set themselves, and WebDriver is JSON over the same HTTP/1.1 — no async stack needed.

use crate::testenv;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testenv::{TestEnv, enforcement_letter, render_letter};

const BATCH: &str = "2026-12-01-poststelle-07";
const SCRIPT_LINE: &str = "Hinweis: <script>alert(1)</script> & \"Mahnung\"";

/// A store from a real ingest of three documents, all flagged by the operator (so all are in
/// the sample): 0001 two pages, 0002 a letter whose text and anomaly carry `<script>`, 0003 a
/// plain letter. Then `qa sample`.
fn station_store(env: &TestEnv) -> PathBuf {
    let batch = env.mkdir(BATCH);
    render_letter(
        &batch.join("0001/1.png"),
        &enforcement_letter("VB-2026-07001"),
        &[],
    );
    render_letter(
        &batch.join("0001/2.png"),
        "Seite zwei des Antrags\n\nAnlage: Kontoauszug vom 12. November 2026",
        &[],
    );
    render_letter(
        &batch.join("0002.png"),
        &format!("{}\n\n{SCRIPT_LINE}", enforcement_letter("VB-2026-07002")),
        &[],
    );
    render_letter(
        &batch.join("0003.png"),
        &enforcement_letter("VB-2026-07003"),
        &[],
    );
    env.write(
        &format!("{BATCH}/batch.yaml"),
        "operator: ps-0417\nanomalies:\n  \"0001\": \"Seite 2 gefaltet\"\n  \"0002\": \"<script>alert(2)</script> Ecke fehlt\"\n  \"0003\": \"Heftklammer entfernt\"\n",
    );
    let (code, _) = env.ingest_demo(&batch);
    assert_eq!(code, 0, "ingest of the station's test batch");
    let store = env.path("store");
    let out = env
        .cmd()
        .args(["qa", "sample", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    store
}

fn doc(n: u32) -> String {
    format!("{BATCH}_{n:04}")
}

/// `qa serve` as a child process, killed when dropped.
struct Station {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl Station {
    fn start(store: &Path, extra: &[&str]) -> Station {
        let mut child = Command::new(env!("CARGO_BIN_EXE_resiscan"))
            .args(["qa", "serve", "--store"])
            .arg(store)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start resiscan qa serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the station prints its URL");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://"), "printed {url:?}");
        let hostport = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let port: u16 = hostport.rsplit(':').next().unwrap().parse().unwrap();
        Station {
            child,
            url,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `name=value` of the Set-Cookie named `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// One HTTP/1.1 request with exactly the headers given (plus Content-Length and
/// Connection: close).
fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    s.write_all(req.as_bytes()).unwrap();
    // Read the head, then exactly Content-Length bytes: chromedriver keeps the connection
    // open despite `Connection: close`, so reading to the end would wait for its timeout.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).expect("read reply");
        assert!(n > 0, "connection closed before the reply's head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match length {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut buf).expect("read reply body");
                assert!(n > 0, "connection closed inside the body");
                body.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            s.read_to_end(&mut body).expect("read reply body");
        }
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The value of `<input ... name="NAME" value="...">` in a page.
fn form_input(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name}"));
    let rest = &html[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn addendum(store: &Path) -> PathBuf {
    store.join("_batches").join(BATCH).join("qa-addendum.yaml")
}

fn status_json(env: &TestEnv, store: &Path) -> serde_json::Value {
    let out = env
        .cmd()
        .args(["qa", "status", "--json", "--store"])
        .arg(store)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("qa status --json")[0].clone()
}

#[test]
fn security_over_http_host_origin_csrf_paths_escaping_and_races() {
    let env = TestEnv::new();
    let store = station_store(&env);
    let st = Station::start(&store, &["--listen", "127.0.0.1:0", "--inspector", "qa-1"]);
    let host = st.host();
    let get = |path: &str, extra: &[(&str, &str)]| {
        let mut h = vec![("Host", host.as_str())];
        h.extend_from_slice(extra);
        http(st.addr, "GET", path, &h, "")
    };

    // DNS rebinding: another name that resolves here is refused; localhost is fine.
    assert_eq!(get("/", &[]).status, 200);
    let evil = http(st.addr, "GET", "/", &[("Host", "evil.example:80")], "");
    assert_eq!(evil.status, 403, "{}", evil.body);
    let port = st.addr.port().to_string();
    let localhost = format!("localhost:{port}");
    assert_eq!(
        http(st.addr, "GET", "/", &[("Host", &localhost)], "").status,
        200
    );
    assert_eq!(http(st.addr, "GET", "/", &[], "").status, 403, "no Host");

    // Paths never leave the store: ids are looked up, never joined as given.
    let d2 = doc(2);
    for path in [
        "/../../etc/passwd".to_string(),
        "/b/..%2F..%2Fetc".to_string(),
        format!("/b/{BATCH}/d/..%2F..%2Findex.sqlite"),
        format!("/b/{BATCH}/d/{}/p/0.png", pct(&d2)),
        format!("/b/{BATCH}/d/{}/p/2.png", pct(&d2)),
        format!("/b/{BATCH}/d/{}/p/..%2F..%2F..%2Findex.sqlite", pct(&d2)),
        "/assets/..%2F..%2FCargo.toml".to_string(),
        "/b/%ff".to_string(),
        "/index.sqlite".to_string(),
    ] {
        let r = get(&path, &[]);
        assert!(matches!(r.status, 400 | 404), "{path}: {}", r.status);
        assert!(!r.body.contains("SQLite"), "{path}");
    }
    let png = get(&format!("/b/{BATCH}/d/{}/p/1.png", pct(&d2)), &[]);
    assert_eq!(png.status, 200);
    assert_eq!(png.header("Content-Type"), Some("image/png"));
    assert!(
        std::fs::read_dir(store.join(".resiscan/qa-cache"))
            .unwrap()
            .count()
            >= 1,
        "rendered pages are cached in the store's work area"
    );

    // The archived PDF's text layer (poppler, outside reference) really reads `<script>` …
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("_batches/{BATCH}/report.json"))).unwrap(),
    )
    .unwrap();
    let pdf_rel = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == d2.as_str())
        .and_then(|d| d["pdf"].as_str().map(str::to_string))
        .expect("report names the PDF of 0002");
    let text = Command::new("pdftotext")
        .arg(store.join(&pdf_rel))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("<script>alert(1)</script>"),
        "OCR read: {text}"
    );
    // … and the station shows it as text, the operator's anomaly too.
    let page = get(&format!("/b/{BATCH}/d/{}", pct(&d2)), &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "OCR text escaped"
    );
    assert!(
        page.body
            .contains("&lt;script&gt;alert(2)&lt;/script&gt; Ecke fehlt")
    );
    assert!(!page.body.contains("<script>alert"), "raw markup leaked");
    assert_eq!(
        page.body.matches("<script").count(),
        1,
        "only the station's own script"
    );
    // Nothing from outside the machine.
    for needle in ["http://", "https://", "//cdn", "@import", "url("] {
        assert!(!page.body.contains(needle), "page refers to {needle}");
    }
    let csp = page.header("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let css = get("/assets/station.css", &[]);
    assert!(!css.body.contains("url(") && !css.body.contains("@import"));

    // CSRF: a decision needs the session's token and our own Origin.
    let session = page.cookie("resiscan_session").expect("session cookie");
    let csrf = form_input(&page.body, "csrf");
    let seen = form_input(&page.body, "seen");
    assert_eq!(seen, "0");
    let path = format!("/b/{BATCH}/d/{}", pct(&d2));
    let origin = st.origin();
    let post = |cookie: &str, origin: Option<&str>, body: &str| {
        let mut h = vec![
            ("Host", host.as_str()),
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        http(st.addr, "POST", &path, &h, body)
    };
    let ok_body = format!("csrf={csrf}&seen=0&decision=ok");
    for (what, cookie, origin, body) in [
        ("no Origin", session.as_str(), None, ok_body.clone()),
        (
            "foreign Origin",
            &session,
            Some("http://evil.example"),
            ok_body.clone(),
        ),
        (
            "no token",
            &session,
            Some(origin.as_str()),
            "seen=0&decision=ok".to_string(),
        ),
        (
            "wrong token",
            &session,
            Some(origin.as_str()),
            format!("csrf={}&seen=0&decision=ok", "0".repeat(64)),
        ),
        (
            "another session's token",
            "resiscan_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Some(origin.as_str()),
            ok_body.clone(),
        ),
        ("no session", "", Some(origin.as_str()), ok_body.clone()),
    ] {
        let r = post(cookie, origin, &body);
        assert_eq!(r.status, 403, "{what}: {} {}", r.status, r.body);
        assert!(!addendum(&store).exists(), "{what} wrote the addendum");
    }
    // A reject without a reason is refused, with the page saying why.
    let r = post(
        &session,
        Some(&origin),
        &format!("csrf={csrf}&seen=0&decision=reject&reason=+"),
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("needs a reason"), "{}", r.body);
    assert!(!addendum(&store).exists());

    // Two inspectors deciding the same document at once: one wins, the other is told.
    let second = get(&path, &[]);
    let session2 = second.cookie("resiscan_session").unwrap();
    let csrf2 = form_input(&second.body, "csrf");
    assert_ne!(csrf, csrf2, "the token is per session");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| post(&session, Some(&origin), &ok_body));
        let b = s.spawn(|| {
            post(
                &session2,
                Some(&origin),
                &format!("csrf={csrf2}&seen=0&decision=reject&reason=Seite+fehlt"),
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "a: {} b: {}", a.body, b.body);
    let loser = if a.status == 409 { &a } else { &b };
    assert!(loser.body.contains("decided meanwhile"), "{}", loser.body);
    let yaml = std::fs::read_to_string(addendum(&store)).unwrap();
    assert_eq!(yaml.matches(&format!("doc: {d2}")).count(), 1, "{yaml}");
    let winner = if a.status == 303 { &a } else { &b };
    assert!(winner.header("Location").unwrap().contains("done="));
}

#[test]
fn off_loopback_every_request_needs_the_token() {
    let env = TestEnv::new();
    let store = station_store_without_ingest(&env);
    let st = Station::start(&store, &["--listen", "0.0.0.0:0"]);
    let token = st
        .url
        .split("?token=")
        .nth(1)
        .expect("the printed URL carries the generated token")
        .to_string();
    assert!(token.len() >= 32);
    let host = st.host();
    let get = |path: &str, extra: &[(&str, &str)]| {
        let mut h = vec![("Host", host.as_str())];
        h.extend_from_slice(extra);
        http(st.addr, "GET", path, &h, "")
    };
    for path in ["/", "/assets/station.css", &format!("/b/{BATCH}")] {
        assert_eq!(get(path, &[]).status, 401, "{path} without token");
    }
    assert_eq!(get("/?token=wrong", &[]).status, 401);
    let wrong_cookie = "resiscan_token=0123456789abcdef0123456789abcdef";
    assert_eq!(get("/", &[("Cookie", wrong_cookie)]).status, 401);
    let bearer = format!("Bearer {token}");
    assert_eq!(get("/", &[("Authorization", &bearer)]).status, 200);
    // The printed URL sets a cookie and drops the token from the address bar.
    let first = get(&format!("/?token={token}"), &[]);
    assert_eq!(first.status, 303);
    assert_eq!(first.header("Location"), Some("/"));
    let cookie = first.cookie("resiscan_token").unwrap();
    assert_eq!(get("/", &[("Cookie", &cookie)]).status, 200);

    // This batch has no sample yet: the batch page offers to draw it (as `qa sample`).
    let page = get(&format!("/b/{BATCH}"), &[("Cookie", &cookie)]);
    assert!(page.body.contains("No visual-QA sample"), "{}", page.body);
    let session = page.cookie("resiscan_session").unwrap();
    let csrf = form_input(&page.body, "csrf");
    let cookies = format!("{cookie}; {session}");
    let origin = st.origin();
    let post = |cookies: &str| {
        http(
            st.addr,
            "POST",
            &format!("/b/{BATCH}/sample"),
            &[("Host", &host), ("Cookie", cookies), ("Origin", &origin)],
            &format!("csrf={csrf}"),
        )
    };
    assert_eq!(post(&session).status, 401, "no token, no sample");
    let selection = store.join(format!("_batches/{BATCH}/qa-selection.json"));
    assert!(!selection.exists());
    let r = post(&cookies);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(selection.is_file());
    let page = get(&format!("/b/{BATCH}"), &[("Cookie", &cookies)]);
    assert!(page.body.contains("0 of 1 inspected"), "{}", page.body);
    drop(st);

    // With --token-file the token is required on loopback too, and not printed.
    let file = env.write("token", "s3cret-token-from-a-file-0123456789\n");
    let st = Station::start(
        &store,
        &[
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            file.to_str().unwrap(),
        ],
    );
    assert!(!st.url.contains("token"), "{}", st.url);
    let host = st.host();
    assert_eq!(
        http(st.addr, "GET", "/", &[("Host", &host)], "").status,
        401
    );
    let bearer = "Bearer s3cret-token-from-a-file-0123456789";
    let ok = http(
        st.addr,
        "GET",
        "/",
        &[("Host", &host), ("Authorization", bearer)],
        "",
    );
    assert_eq!(ok.status, 200);
}

/// The token test needs a store, not OCR: the batch note of a real ingest of one page.
fn station_store_without_ingest(env: &TestEnv) -> PathBuf {
    let batch = env.mkdir(BATCH);
    render_letter(
        &batch.join("0001.png"),
        &enforcement_letter("VB-2026-07009"),
        &[],
    );
    let (code, _) = env.ingest_demo(&batch);
    assert_eq!(code, 0);
    env.path("store")
}

// ---------------------------------------------------------------------------------------------
// The browser test.

/// A WebDriver session with chromedriver, over the same tiny HTTP client.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Chromium through chromedriver, headless, with a fresh profile and no background
    /// connections (without those flags it tries to reach Google's servers).
    fn start() -> Option<Browser> {
        let (chromium, driver) = (which("chromium"), which("chromedriver"));
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let skip = std::env::var("RESISCAN_SKIP_BROWSER_TEST").is_ok_and(|v| v == "1");
            assert!(
                skip,
                "chromium and chromium-driver are needed for the QA station's browser test \
                 (scripts/install-deps.sh); set RESISCAN_SKIP_BROWSER_TEST=1 to skip it locally"
            );
            eprintln!(
                "SKIPPED: chromium/chromedriver not installed and RESISCAN_SKIP_BROWSER_TEST=1"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = serde_json::json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1600,1000",
            "--hide-scrollbars",
            format!("--user-data-dir={}", b._profile.path().display()),
        ]);
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("session id").to_string();
        Some(b)
    }

    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let host = self.addr.to_string();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut h = vec![("Host", host.as_str())];
        if method == "POST" {
            h.push(("Content-Type", "application/json"));
        }
        let r = http(self.addr, method, path, &h, &body);
        let v: serde_json::Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", r.body));
        assert_eq!(r.status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call(
            "POST",
            &self.s("/url"),
            Some(serde_json::json!({"url": url})),
        );
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/click")),
            Some(serde_json::json!({})),
        );
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &self.s(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn displayed(&self, css: &str) -> bool {
        let e = self.find(css);
        self.call("GET", &self.s(&format!("/element/{e}/displayed")), None)
            .as_bool()
            .unwrap()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(serde_json::json!({"text": text})),
        );
    }

    /// Presses keys on whatever has the focus, as a person does.
    fn keys(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(serde_json::json!({"type": "keyDown", "value": k}));
            actions.push(serde_json::json!({"type": "keyUp", "value": k}));
        }
        self.call(
            "POST",
            &self.s("/actions"),
            Some(serde_json::json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    fn script(&self, js: &str) -> serde_json::Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(serde_json::json!({"script": js, "args": []})),
        )
    }

    /// Waits until the page's URL satisfies `pred` (a form post and its redirect).
    fn wait_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let u = self.url();
            if pred(&u) {
                return u;
            }
            if Instant::now() > deadline {
                let text = self.script("return document.body.innerText.slice(0, 600);");
                panic!("waiting for {what}; at {u}: {text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let host = self.addr.to_string();
            let _ = http(self.addr, "DELETE", &self.s(""), &[("Host", &host)], "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

const ARROW_RIGHT: &str = "\u{E014}";
const ARROW_LEFT: &str = "\u{E012}";
const ENTER: &str = "\u{E007}";

#[test]
fn a_clerk_pages_through_rejects_and_accepts_in_chromium() {
    let env = TestEnv::new();
    // Before the (slow) store: a missing browser fails here, at once.
    let Some(browser) = Browser::start() else {
        return;
    };
    let store = station_store(&env);
    let st = Station::start(
        &store,
        &["--listen", "127.0.0.1:0", "--inspector", "qa-clerk-1"],
    );

    browser.goto(&st.url);
    assert!(browser.text("h1").contains("Batches"));
    browser.click(&format!("a[href='/b/{BATCH}']"));
    browser.click("#start");
    let first = browser.wait_url("the first document", |u| u.ends_with(&doc(1)));
    assert!(first.contains("/d/"));

    // Page by page with the keyboard: one page at a time, from the archived PDF.
    assert_eq!(browser.text("#pagepos"), "page 1 of 2");
    assert!(browser.displayed("#page-1") && !browser.displayed("#page-2"));
    let width = browser.script(
        "const i = document.querySelector('#page-1 img'); \
         return i.complete ? i.naturalWidth : new Promise(r => i.onload = () => r(i.naturalWidth));",
    );
    // The letter is 2300 px at 300 dpi (7.67 in); the station renders at 150 dpi: 1150 px.
    let width = width.as_u64().unwrap();
    assert!((1148..=1153).contains(&width), "page image {width} px wide");
    browser.keys(&[ARROW_RIGHT]);
    assert_eq!(browser.text("#pagepos"), "page 2 of 2");
    assert!(!browser.displayed("#page-1") && browser.displayed("#page-2"));
    assert!(browser.text("#page-2 pre.ocr").contains("Seite zwei"));
    browser.keys(&[ARROW_RIGHT]);
    assert_eq!(
        browser.text("#pagepos"),
        "page 2 of 2",
        "stays on the last page"
    );
    browser.keys(&[ARROW_LEFT, "+"]);
    assert_eq!(browser.text("#pagepos"), "page 1 of 2");
    assert_eq!(browser.text("#zoompos"), "125 %");
    browser.keys(&["0"]);
    assert_eq!(browser.text("#zoompos"), "100 %");

    // The screenshot for the README: the station as the clerk sees it.
    let shot = browser.screenshot();
    assert!(shot.starts_with(b"\x89PNG"));
    let out = std::env::var_os("RESISCAN_STATION_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("qa-station.png"));
    std::fs::write(&out, &shot).unwrap();

    // Reject with a reason: r focuses the field, Enter submits Reject (never OK).
    browser.keys(&["r"]);
    browser.type_into("#reason", "Seite 2 gefaltet, Text verdeckt");
    browser.keys(&[ENTER]);
    let next = browser.wait_url("the next open document", |u| u.contains("done="));
    assert!(next.contains(&format!("/d/{}?done=", doc(2))), "{next}");
    assert!(browser.text("p.notice").contains("REJECTED"));

    // On 0002 the OCR's `<script>` is text in the page, not markup.
    let ocr = browser.script("return document.querySelector('#page-1 pre.ocr').textContent;");
    assert!(
        ocr.as_str().unwrap().contains("<script>alert(1)</script>"),
        "{ocr}"
    );
    assert_eq!(browser.script("return document.scripts.length;"), 1);
    // Accept with one key.
    browser.keys(&["o"]);
    browser.wait_url("the third document", |u| {
        u.contains(&format!("/d/{}?done=", doc(3)))
    });
    assert!(browser.text("p.notice").contains("OK by qa-clerk-1"));
    drop(browser);
    drop(st);

    // The signed addendum has both decisions, and openssl agrees with its signature.
    let add = addendum(&store);
    let yaml = std::fs::read_to_string(&add).unwrap();
    let entries: Vec<&str> = yaml.split("- doc: ").skip(1).collect();
    assert_eq!(entries.len(), 2, "{yaml}");
    assert!(entries[0].starts_with(&doc(1)) && entries[0].contains("result: rejected"));
    assert!(
        entries[0].contains("reason: Seite 2 gefaltet, Text verdeckt"),
        "{yaml}"
    );
    assert!(entries[0].contains("inspector: qa-clerk-1"));
    assert!(entries[1].starts_with(&doc(2)) && entries[1].contains("result: ok"));
    let cert = store.join(".resiscan/demo-identity/cert.pem");
    let p7s = add.with_file_name("qa-addendum.yaml.p7s");
    let ossl = testenv::openssl_cms_verify(&add, &p7s, Some(&cert));
    assert!(
        ossl.status.success(),
        "{}",
        String::from_utf8_lossy(&ossl.stderr)
    );

    // qa status and verify see the decisions.
    let status = status_json(&env, &store);
    assert_eq!(status["inspected"], 2);
    assert_eq!(status["rejected"], serde_json::json!([doc(1)]));
    assert_eq!(status["open"], serde_json::json!([doc(3)]));
    let out = env
        .cmd()
        .args(["verify", "--json"])
        .arg(&store)
        .arg("--trust")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("qa-addendum.yaml"))
        .expect("verify checks the addendum");
    assert_eq!(item["status"], "valid", "{item}");
}
