//! Memory budgets of the upload path, measured with a counting allocator (this binary's only
//! allocator, so every byte the app and the test allocate is counted). The tests take turns: one
//! measurement at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use orgsettings::settings::avatar::{self, CONCURRENT_IMAGE_WORK, UPLOAD_MEMORY_BUDGET};
use reqwest::StatusCode;

use common::{Backend, TestApp, images};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes as isize, Ordering::SeqCst) + bytes as isize;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes as isize, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `work` and returns how far the live heap rose above where it started.
async fn peak_growth<F: std::future::Future>(work: F) -> (F::Output, u64) {
    let start = LIVE.load(Ordering::SeqCst);
    PEAK.store(start, Ordering::SeqCst);
    let output = work.await;
    let peak = PEAK.load(Ordering::SeqCst);
    (output, (peak - start).max(0) as u64)
}

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_png_with_a_512_mib_profile_stays_within_the_upload_budget() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let bomb = images::png_with_profile_bomb(512);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let (result, growth) =
        peak_growth(async { avatar::process_upload(&bomb).map(|png| png.len()) }).await;
    eprintln!(
        "one image with a 512 MiB profile: {} MiB ({result:?})",
        growth / MIB
    );
    assert!(
        growth < UPLOAD_MEMORY_BUDGET,
        "{} MiB for one image ({result:?})",
        growth / MIB
    );
}

async fn owner_app() -> TestApp {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.owner_of_acme().await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_a_profile_bomb_through_the_page_stays_within_the_upload_budget() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = owner_app().await;
    let bomb = images::png_with_profile_bomb(512);
    let (page, growth) = peak_growth(app.upload_avatar("acme", "upload", Some(bomb))).await;
    eprintln!(
        "one bomb upload over HTTP: {} MiB ({})",
        growth / MIB,
        page.status
    );
    assert!(
        growth < UPLOAD_MEMORY_BUDGET,
        "{} MiB for one upload (status {})",
        growth / MIB,
        page.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_size_upload_stays_within_the_upload_budget() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = owner_app().await;
    let noise = images::png_noise(1024);
    let (page, growth) = peak_growth(app.upload_avatar("acme", "upload", Some(noise))).await;
    eprintln!("one full-size upload over HTTP: {} MiB", growth / MIB);
    page.assert_redirect("/settings/acme/avatar/");
    assert!(
        growth < UPLOAD_MEMORY_BUDGET,
        "{} MiB for one upload",
        growth / MIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_bomb_uploads_at_once_cost_no_more_than_the_concurrent_image_work_allows() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = owner_app().await;
    let bomb = images::png_with_profile_bomb(512);
    let uploads = (0..6).map(|_| app.upload_avatar("acme", "upload", Some(bomb.clone())));
    let (pages, growth) = peak_growth(futures::future::join_all(uploads)).await;
    eprintln!("six bomb uploads at once: {} MiB", growth / MIB);
    for page in &pages {
        assert_ne!(
            page.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            page.body
        );
    }
    let allowed = CONCURRENT_IMAGE_WORK as u64 * UPLOAD_MEMORY_BUDGET;
    assert!(
        growth < allowed,
        "{} MiB for six uploads at once (at most {} MiB)",
        growth / MIB,
        allowed / MIB
    );
}

/// `n` audit entries of acme, written in bulk with plain SQL.
async fn bulk_audit_entries(app: &TestApp, n: usize) {
    app.with_db(move |conn| {
        use diesel::RunQueryDsl;
        let org_id = orgsettings::models::organization::Organization::find_by_slug(conn, "acme")
            .unwrap()
            .unwrap()
            .id;
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    format!(
                        "({org_id}, NULL, 'cli', false, '10.0.0.{}', 11, {org_id}, NULL, \
                         '{{\"name\": \"to Step {i}\"}}', '2026-01-01 00:00:00')",
                        i % 250
                    )
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO audit_log_entries (organization_id, actor_id, actor_label, \
                 actor_is_staff, ip_address, event, target_object, target_user_id, data, datetime) \
                 VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)
            .unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_csv_export_streams_in_bounded_memory() {
    let app = owner_app().await;
    bulk_audit_entries(&app, 60_000).await;
    let _turn = ONE_AT_A_TIME.lock().await;
    let ((lines, bytes), growth) = peak_growth(async {
        let mut response = app
            .client
            .get(app.url("/settings/acme/audit-log/export.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (mut lines, mut bytes) = (0usize, 0usize);
        while let Some(chunk) = response.chunk().await.unwrap() {
            lines += chunk.iter().filter(|b| **b == b'\n').count();
            bytes += chunk.len();
        }
        (lines, bytes)
    })
    .await;
    eprintln!(
        "audit CSV of 60 001 entries: {} MiB sent, heap grew {} MiB",
        bytes as u64 / MIB,
        growth / MIB
    );
    assert_eq!(lines, 60_002, "the header, org.create and 60 000 entries");
    assert!(bytes as u64 > 5 * MIB);
    assert!(
        growth < 8 * MIB,
        "{} MiB for a {} MiB export: the export is not streamed",
        growth / MIB,
        bytes as u64 / MIB
    );
}
