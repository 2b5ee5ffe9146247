//! The load benchmark: the release build of `orgsettings serve`, in its own process on a fresh
//! database, driven over HTTP by 16 concurrent logged-in clients (keep-alive connections of a small
//! HTTP/1.1 client written for this, so the client costs little of the two cores).
//!
//! `cargo bench` prints, for SQLite and then PostgreSQL (at `ORGSETTINGS_TEST_PG_URL`), each request's
//! rate, p50 and p99 and its rate as a share of `/healthz`'s measured in turns with it (four turns
//! each, so a drift of the machine's speed moves both), the failed requests,
//! and the server's resident memory. `cargo bench -- scale` also builds organizations of 100, 10 000
//! and 100 000 members and 1 000 000 audit entries and prints the page times, the CSV export's memory
//! and a requirement job over 100 000 members. Settings: `ORGSETTINGS_BENCH_BACKEND` (`sqlite` or
//! `postgres`; both by default), `ORGSETTINGS_BENCH_SECS` (seconds per request, default 5),
//! `ORGSETTINGS_BENCH_CLIENTS` (default 16), `ORGSETTINGS_BENCH_ONLY` (only the requests whose label
//! contains it, beside `/healthz`). The README records the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, PASSWORD, TestDb, Visitor};
use diesel::RunQueryDsl;
use orgsettings::db::{AnyConnection, Pool};
use orgsettings::models::actor::Actor;
use orgsettings::models::organization::{OrgName, Organization};
use orgsettings::models::slug::Slug;
use orgsettings::models::user::{EmailAddress, NewUser, Password, User, Username};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `orgsettings serve` in a child process; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    base: String,
}

impl Server {
    async fn spawn(db: &TestDb) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_orgsettings"))
            .arg("serve")
            .env("DATABASE_URL", db.url())
            .env("ORGSETTINGS_BIND", format!("127.0.0.1:{port}"))
            .env("ORGSETTINGS_URL", &base)
            .env("ORGSETTINGS_LOG", "warn")
            .env("ORGSETTINGS_SESSION_KEY", "b".repeat(64))
            // given, so no key file is written into the working directory (PostgreSQL's default)
            .env("ORGSETTINGS_SECRET_KEY", "s".repeat(64))
            .env_remove("REDIS_URL")
            .env_remove("ORGSETTINGS_SMTP_URL")
            .stdout(Stdio::null())
            .spawn()
            .expect("start orgsettings serve");
        let server = Server { child, port, base };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let up = client.get(format!("{}/healthz", server.base)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("orgsettings serve did not answer /healthz within 30 s");
    }

    /// The server's resident memory now and at its peak, in MiB (from /proc).
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user with the test password, and an organization they own.
fn owner_and_org(conn: &mut AnyConnection, name: &str, slug: &str) -> (User, Organization) {
    let owner = match User::find_by_login(conn, "owner").unwrap().pop() {
        Some(user) => user,
        None => User::create(
            conn,
            &NewUser {
                username: Username::parse("owner").unwrap(),
                email: EmailAddress::parse("owner@example.com").unwrap(),
                password: Some(Password::parse(PASSWORD).unwrap()),
                is_superuser: false,
                email_verified: true,
            },
        )
        .unwrap(),
    };
    let org = Organization::create(
        conn,
        &OrgName::parse(name).unwrap(),
        Some(&Slug::parse(slug).unwrap()),
        &owner,
        &Actor::cli(),
    )
    .unwrap();
    (owner, org)
}

/// One keep-alive HTTP/1.1 connection sending prepared requests and reading `Content-Length`
/// answers (every response measured here has one).
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    async fn open(port: u16) -> Connection {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends one request; returns the status.
    async fn send(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.unwrap();
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap();
                let status: u16 = head[9..12].parse().unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .expect("a response with Content-Length");
                let total = end + 4 + length;
                while self.buf.len() < total {
                    self.fill().await;
                }
                self.buf.drain(..total);
                return status;
            }
            self.fill().await;
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A logged-in client: its session cookie and CSRF token.
struct Client {
    cookie: String,
    csrf: String,
}

impl Client {
    async fn login(base: &str) -> Client {
        let visitor = Visitor::new(base);
        visitor.login("owner", PASSWORD).await;
        Client {
            cookie: visitor.session_cookie().expect("a session cookie"),
            csrf: visitor.csrf_token().await,
        }
    }

    fn get(&self, port: u16, path: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}={}\r\n\r\n",
            orgsettings::web::session::SESSION_COOKIE,
            self.cookie
        )
        .into_bytes()
    }

    fn put_json(&self, port: u16, path: &str, body: &str) -> Vec<u8> {
        format!(
            "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}={}\r\nX-CSRFToken: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            orgsettings::web::session::SESSION_COOKIE,
            self.cookie,
            self.csrf,
            body.len()
        )
        .into_bytes()
    }
}

/// Builds the bytes of a client's `n`th request.
type MakeRequest = Arc<dyn Fn(&Client, u64) -> Vec<u8> + Send + Sync>;

/// The latencies of one request kind over the time it ran (one or more turns).
#[derive(Default)]
struct Sample {
    latencies: Vec<Duration>,
    secs: f64,
    failed: u64,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.secs += other.secs;
        self.failed += other.failed;
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.secs
    }

    /// p50 and p99.
    fn percentiles(&mut self) -> (Duration, Duration) {
        self.latencies.sort();
        (
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Every client sends `request(client, n)` back to back on its own connection for `secs` (after
/// `warm_up`); a request fails when its status is not 2xx. `turn` keeps the `n` of each turn apart.
async fn run(
    port: u16,
    clients: &Arc<Vec<Client>>,
    (secs, warm_up, turn): (f64, Duration, u64),
    request: &MakeRequest,
) -> Sample {
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + warm_up + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..clients.len())
        .map(|i| {
            let (clients, request) = (clients.clone(), request.clone());
            let failed = failed.clone();
            tokio::spawn(async move {
                let mut connection = Connection::open(port).await;
                let mut latencies = Vec::with_capacity(100_000);
                let mut n = ((i as u64) << 32) | (turn << 24);
                loop {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    let bytes = request(&clients[i], n);
                    let status = connection.send(&bytes).await;
                    if now >= started + warm_up {
                        latencies.push(now.elapsed());
                        if !(200..300).contains(&status) {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut sample = Sample {
        secs,
        ..Sample::default()
    };
    for task in tasks {
        sample.latencies.extend(task.await.unwrap());
    }
    sample.failed = failed.load(Ordering::Relaxed);
    sample
}

/// How many turns each request takes with `/healthz`: the machine's speed drifts over seconds
/// (other work on shared cores), so each request's share is taken against `/healthz` measured in
/// turns with it, not minutes before.
const TURNS: u64 = 4;

/// `request` and `/healthz` in turns, `secs` each in all: the request's sample and the floor's.
async fn in_turns_with_floor(
    port: u16,
    clients: &Arc<Vec<Client>>,
    secs: f64,
    request: &MakeRequest,
    floor: &MakeRequest,
) -> (Sample, Sample) {
    let (mut sample, mut floor_sample) = (Sample::default(), Sample::default());
    let per_turn = secs / TURNS as f64;
    for turn in 0..TURNS {
        // a longer warm-up on the first turn (connections, caches), a short one after
        let warm_up = Duration::from_millis(if turn == 0 { 1000 } else { 200 });
        floor_sample.merge(run(port, clients, (per_turn, warm_up, turn), floor).await);
        sample.merge(run(port, clients, (per_turn, warm_up, turn), request).await);
    }
    (sample, floor_sample)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Settings {
    secs: f64,
    clients: usize,
    /// Only the requests whose label contains this (and `/healthz`, the floor).
    only: Option<String>,
}

async fn throughput(backend: Backend, db: &TestDb, pool: &Pool, settings: &Settings) {
    owner_and_org(&mut pool.get().unwrap(), "Acme", "acme");
    // one organization per client, for saves that do not wait for each other's row lock
    for i in 0..settings.clients {
        owner_and_org(
            &mut pool.get().unwrap(),
            &format!("Team {i}"),
            &format!("team-{i}"),
        );
    }
    let server = Server::spawn(db).await;
    let mut clients = Vec::new();
    for _ in 0..settings.clients {
        clients.push(Client::login(&server.base).await);
    }
    let clients = Arc::new(clients);
    let port = server.port;
    println!(
        "\n{backend:?}: {} concurrent clients, {} s per request (release build, server in its own process)",
        settings.clients, settings.secs
    );
    println!(
        "{:<40} {:>9} {:>10} {:>10} {:>9} {:>7} {:>9}",
        "request", "req/s", "p50", "p99", "/healthz", "failed", "RSS MiB"
    );
    let floor: MakeRequest = Arc::new(move |_, _| {
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").into_bytes()
    });
    let rows: Vec<(&str, MakeRequest)> = vec![
        (
            "GET /organizations/",
            Arc::new(move |c, _| c.get(port, "/organizations/")),
        ),
        (
            "GET /settings/{org}/",
            Arc::new(move |c, _| c.get(port, "/settings/acme/")),
        ),
        (
            "GET /api/0/organizations/{org}/",
            Arc::new(move |c, _| c.get(port, "/api/0/organizations/acme/")),
        ),
        (
            "PUT /api/0/organizations/{org}/ (rename)",
            Arc::new(move |c, n| {
                c.put_json(
                    port,
                    "/api/0/organizations/acme/",
                    &format!("{{\"name\":\"Acme {n}\"}}"),
                )
            }),
        ),
        (
            "PUT …/{org}/ (rename, own org each)",
            Arc::new(move |c, n| {
                // `n` carries the client's index in its high bits (see `run`)
                c.put_json(
                    port,
                    &format!("/api/0/organizations/team-{}/", n >> 32),
                    &format!("{{\"name\":\"Team {n}\"}}"),
                )
            }),
        ),
    ];
    let print = |label: &str, sample: &mut Sample, share: f64, rss: f64| {
        let (p50, p99) = sample.percentiles();
        println!(
            "{label:<40} {:>9.0} {:>10} {:>10} {:>8.0}% {:>7} {:>9.1}",
            sample.rate(),
            ms(p50),
            ms(p99),
            100.0 * share,
            sample.failed,
            rss
        );
    };
    let mut alone = run(
        port,
        &clients,
        (settings.secs, Duration::from_secs(1), 0),
        &floor,
    )
    .await;
    print("GET /healthz", &mut alone, 1.0, server.memory().0);
    for (label, request) in rows {
        if !settings
            .only
            .as_ref()
            .is_none_or(|only| label.contains(only.as_str()))
        {
            continue;
        }
        let (mut sample, floor_sample) =
            in_turns_with_floor(port, &clients, settings.secs, &request, &floor).await;
        let share = sample.rate() / floor_sample.rate();
        print(label, &mut sample, share, server.memory().0);
    }
    println!("peak RSS of the server: {:.1} MiB", server.memory().1);
}

/// `n` users `{prefix}-{i}` (no usable password, no verified address) made members of the
/// organization, in bulk.
fn bulk_members(conn: &mut AnyConnection, org_id: i64, prefix: &str, n: usize) {
    common::insert_bulk_members(conn, org_id, prefix, n);
}

/// `n` audit entries of the organization, written by the database itself.
fn bulk_audit(conn: &mut AnyConnection, backend: Backend, org_id: i64, n: usize) {
    let numbers = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) \
             SELECT i FROM seq"
        ),
        Backend::Postgres => format!("SELECT i FROM generate_series(1, {n}) AS seq(i)"),
    };
    diesel::sql_query(format!(
        "INSERT INTO audit_log_entries (organization_id, actor_id, actor_label, actor_is_staff, \
         ip_address, event, target_object, target_user_id, data, datetime) \
         SELECT {org_id}, NULL, 'bench', false, '127.0.0.1', 11, {org_id}, NULL, \
         '{{\"name\":\"from Acme to Acme 2\"}}', '2026-01-01 00:00:00' FROM ({numbers}) AS n"
    ))
    .execute(conn)
    .unwrap();
}

/// p50 and p99 of `times` sequential GETs of one page by one client (after one warm-up).
async fn page_times(visitor: &Visitor, path: &str, times: usize) -> (Duration, Duration, usize) {
    let first = visitor.get(path).await;
    assert!(
        first.status.is_success(),
        "GET {path}: {} {}",
        first.status,
        first.body.chars().take(300).collect::<String>()
    );
    let mut latencies = Vec::new();
    for _ in 0..times {
        let started = Instant::now();
        let page = visitor.get(path).await;
        latencies.push(started.elapsed());
        assert!(page.status.is_success(), "GET {path}: {}", page.status);
    }
    latencies.sort();
    (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        first.body.len(),
    )
}

/// Samples the server's RSS every 5 ms until stopped; returns the highest, in MiB.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while !stop.load(Ordering::Relaxed) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            {
                peak = peak.max(kib / 1024.0);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
}

async fn scale(backend: Backend, db: &TestDb, pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let sizes = [100usize, 10_000, 100_000];
    let built = Instant::now();
    for size in sizes {
        let (_, org) = owner_and_org(
            &mut conn,
            &format!("Scale {size}"),
            &format!("scale-{size}"),
        );
        bulk_members(&mut conn, org.id, &format!("m{size}"), size - 1);
    }
    let (_, audited) = owner_and_org(&mut conn, "Audited", "audited");
    bulk_audit(&mut conn, backend, audited.id, 1_000_000);
    drop(conn);
    println!(
        "\n{backend:?}, scale: organizations of {sizes:?} members and 1 000 000 audit entries built in {:.0} s",
        built.elapsed().as_secs_f64()
    );
    let server = Server::spawn(db).await;
    let visitor = Visitor::new(&server.base);
    visitor.login("owner", PASSWORD).await;
    println!(
        "{:<58} {:>10} {:>10} {:>10}",
        "page (one client, 20 requests)", "p50", "p99", "KiB"
    );
    for size in sizes {
        let last = (size - 1) / orgsettings::web::members::PAGE_SIZE as usize;
        for (label, path) in [
            ("Members page", format!("/settings/scale-{size}/members/")),
            (
                "Members page, last page",
                format!("/settings/scale-{size}/members/?page={last}"),
            ),
            (
                "Members page, search",
                format!("/settings/scale-{size}/members/?query=m{size}-5"),
            ),
            (
                "GET members API",
                format!("/api/0/organizations/scale-{size}/members/"),
            ),
        ] {
            let (p50, p99, bytes) = page_times(&visitor, &path, 20).await;
            println!(
                "{:<58} {:>10} {:>10} {:>10.0}",
                format!("{label}, {size} members"),
                ms(p50),
                ms(p99),
                bytes as f64 / 1024.0
            );
        }
    }
    for (label, path) in [
        (
            "Audit log page, 1 000 000 entries",
            "/settings/audited/audit-log/",
        ),
        (
            "GET audit-logs API, 1 000 000 entries",
            "/api/0/organizations/audited/audit-logs/",
        ),
    ] {
        let (p50, p99, bytes) = page_times(&visitor, path, 20).await;
        println!(
            "{label:<58} {:>10} {:>10} {:>10.0}",
            ms(p50),
            ms(p99),
            bytes as f64 / 1024.0
        );
    }

    let pid = server.child.id();
    let (before, _) = server.memory();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(pid, stop.clone());
    let started = Instant::now();
    let mut response = visitor
        .client
        .get(visitor.url("/settings/audited/audit-log/export.csv"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    println!(
        "CSV export of 1 000 000 entries: {lines} lines, {:.0} MiB in {:.1} s; server RSS {before:.1} MiB before, {peak:.1} MiB at most during it (+{:.1} MiB)",
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        peak - before
    );

    // a save that requires verified email from 100 000 members, none of whom has one
    let (before, _) = server.memory();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(pid, stop.clone());
    let started = Instant::now();
    let (status, body) = visitor
        .api_put(
            "/api/0/organizations/scale-100000/",
            serde_json::json!({"requireEmailVerification": true}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let saved = started.elapsed();
    let mut conn = pool.get().unwrap();
    loop {
        let unfinished = orgsettings::models::job::unfinished(&mut conn).unwrap();
        if unfinished.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    println!(
        "Requiring verified email of 100 000 members: the save answered in {}, the job moved them in {:.1} s; server RSS {before:.1} MiB before, {peak:.1} MiB at most (+{:.1} MiB)",
        ms(saved),
        took.as_secs_f64(),
        peak - before
    );
    println!("peak RSS of the server: {:.1} MiB", server.memory().1);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scale_mode = std::env::args().any(|a| a == "scale");
    let backends = match std::env::var("ORGSETTINGS_BENCH_BACKEND").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let number = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let settings = Settings {
        secs: number("ORGSETTINGS_BENCH_SECS", 5.0),
        clients: number("ORGSETTINGS_BENCH_CLIENTS", 16.0) as usize,
        only: std::env::var("ORGSETTINGS_BENCH_ONLY").ok(),
    };
    for backend in backends {
        let Some(db) = TestDb::create(backend) else {
            println!("\n{backend:?}: the database is not available; skipped");
            continue;
        };
        let pool = db.pool();
        throughput(backend, &db, &pool, &settings).await;
        if scale_mode {
            let Some(db) = TestDb::create(backend) else {
                continue;
            };
            let pool = db.pool();
            scale(backend, &db, &pool).await;
        }
    }
}
