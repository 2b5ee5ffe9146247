//! Headless Chromium through chromedriver (Debian's packages), for the browser tests.
//!
//! chromedriver runs in its own process group, which Chromium inherits; dropping the `Browser` kills
//! the whole group, so a failing test leaves no browser behind. Scenarios run under `catch_unwind` so
//! the session is always quit before the failure is reported.

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::FutureExt;
use thirtyfour::ChromiumLikeCapabilities;
use thirtyfour::prelude::*;

use crate::common::skip;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group we created; no memory is involved.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Runs `scenario` in a fresh headless browser; SKIP (or fail, when services are required) without
/// Chromium. Screenshots go to `target/tmp/e2e-screenshots/`.
pub async fn with_browser<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = ()>,
{
    for binary in [CHROMIUM, CHROMEDRIVER] {
        if !std::path::Path::new(binary).exists() {
            skip(
                "Chromium",
                &format!("{binary} is not installed (apt install chromium chromium-driver)"),
            );
            return;
        }
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromedriver");
    let _driver_process = Driver { child };
    let status_url = format!("http://127.0.0.1:{port}/status");
    let mut ready = false;
    for _ in 0..100 {
        if reqwest::get(&status_url).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "chromedriver did not start");

    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1200,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
        .unwrap();
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
        .await
        .expect("start a browser session");
    let outcome = AssertUnwindSafe(scenario(driver.clone()))
        .catch_unwind()
        .await;
    if outcome.is_err() {
        let _ = try_screenshot(&driver, &format!("{name}-failure")).await;
    }
    let _ = driver.quit().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Saves the current page as `target/tmp/e2e-screenshots/{name}.png`, for a human to look at.
pub async fn screenshot(driver: &WebDriver, name: &str) {
    try_screenshot(driver, name)
        .await
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
}

async fn try_screenshot(driver: &WebDriver, name: &str) -> Result<(), String> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    driver
        .screenshot(&dir.join(format!("{name}.png")))
        .await
        .map_err(|e| e.to_string())
}

/// Logs in through the login form at `login_url` (which may carry `?next=`).
pub async fn log_in(driver: &WebDriver, login_url: &str, username: &str) {
    driver.goto(login_url).await.unwrap();
    fill(driver, "username", username).await;
    fill(driver, "password", crate::common::PASSWORD).await;
    click_button(driver, "Log in").await;
}

/// Types into the input with this `name`.
pub async fn fill(driver: &WebDriver, name: &str, value: &str) {
    let input = driver
        .query(By::Css(format!("[name=\"{name}\"]")))
        .first()
        .await
        .unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Clicks the button with this text and waits for the next page to load.
pub async fn click_button(driver: &WebDriver, text: &str) {
    let button = driver
        .query(By::XPath(format!("//button[normalize-space()='{text}']")))
        .first()
        .await
        .unwrap();
    click_and_wait(driver, button).await;
}

/// Follows the link with this text and waits for the next page to load.
pub async fn follow_link(driver: &WebDriver, text: &str) {
    let link = driver.query(By::LinkText(text)).first().await.unwrap();
    click_and_wait(driver, link).await;
}

/// Follows the first link matching `css` and waits for the next page to load.
pub async fn follow_css(driver: &WebDriver, css: &str) {
    let link = driver.query(By::Css(css)).first().await.unwrap();
    click_and_wait(driver, link).await;
}

async fn click_and_wait(driver: &WebDriver, element: WebElement) {
    let page = driver.find(By::Css("html")).await.unwrap();
    element.click().await.unwrap();
    page.wait_until().stale().await.unwrap();
}

/// The text of the first element matching `css`, waiting for it to appear.
pub async fn text_of(driver: &WebDriver, css: &str) -> String {
    driver
        .query(By::Css(css))
        .first()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
