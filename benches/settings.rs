//! Settings page render and save throughput, against the real app on a random port.
//!
//! `cargo bench` (SQLite in a temp dir); `ORGSETTINGS_BENCH_BACKEND=postgres cargo bench` uses the
//! PostgreSQL of the test harness (`ORGSETTINGS_TEST_PG_URL`). `ORGSETTINGS_BENCH_SECS` sets how long
//! each throughput run lasts (default 3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, PASSWORD, TestApp, Visitor};
use serde_json::json;

const CLIENTS: usize = 8;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Runs `CLIENTS` visitors against one request for `secs`; returns (requests/s, p50, p99).
async fn throughput<F>(visitors: &[Visitor], secs: u64, request: F) -> (f64, Duration, Duration)
where
    F: AsyncFn(&Visitor, usize),
{
    let request = &request;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let runs = visitors.iter().enumerate().map(|(i, visitor)| async move {
        let mut latencies = Vec::new();
        let mut n = 0;
        while Instant::now() < deadline {
            let started = Instant::now();
            request(visitor, i * 1_000_000 + n).await;
            latencies.push(started.elapsed());
            n += 1;
        }
        latencies
    });
    let started = Instant::now();
    let mut all: Vec<Duration> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = match std::env::var("ORGSETTINGS_BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let secs: u64 = std::env::var("ORGSETTINGS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(app) = TestApp::spawn(backend).await else {
        eprintln!("the database for the benchmark is not available");
        return;
    };
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    let mut visitors = Vec::new();
    for _ in 0..CLIENTS {
        let visitor = app.visitor();
        visitor.login("owner", PASSWORD).await;
        visitor.get("/settings/acme/").await;
        visitors.push(visitor);
    }
    let before = app.queries();
    visitors[0].get("/settings/acme/").await;
    let page_queries = app.queries() - before;
    let before = app.queries();
    visitors[0]
        .api_put("/api/0/organizations/acme/", json!({"name": "Warm Up"}))
        .await;
    let save_queries = app.queries() - before;

    println!("orgsettings benchmark: {backend:?}, {CLIENTS} concurrent clients, {secs} s per run");
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>8}",
        "request", "req/s", "p50", "p99", "queries"
    );
    let (rate, p50, p99) = throughput(&visitors, secs, async |v: &Visitor, _| {
        let page = v.get("/settings/acme/").await;
        assert_eq!(page.status, reqwest::StatusCode::OK);
    })
    .await;
    println!(
        "{:<44} {rate:>10.0} {p50:>10.2?} {p99:>10.2?} {page_queries:>8}",
        "GET /settings/acme/ (render)"
    );
    let (rate, p50, p99) = throughput(&visitors, secs, async |v: &Visitor, _| {
        let (status, _) = v.api_get("/api/0/organizations/acme/").await;
        assert_eq!(status, reqwest::StatusCode::OK);
    })
    .await;
    println!(
        "{:<44} {rate:>10.0} {p50:>10.2?} {p99:>10.2?} {:>8}",
        "GET /api/0/organizations/acme/", ""
    );
    let (rate, p50, p99) = throughput(&visitors, secs, async |v: &Visitor, n| {
        let (status, body) = v
            .api_put(
                "/api/0/organizations/acme/",
                json!({"name": format!("Acme {n}"), "isEarlyAdopter": n % 2 == 0}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    })
    .await;
    println!(
        "{:<44} {rate:>10.0} {p50:>10.2?} {p99:>10.2?} {save_queries:>8}",
        "PUT /api/0/organizations/acme/ (save)"
    );
}
