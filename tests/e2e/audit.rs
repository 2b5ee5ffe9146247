//! Auditing a page as a person on a laptop and on a phone would meet it: at 1366 and 390 px wide it
//! must not scroll sideways, and axe-core (Deque's accessibility engine, npm `axe-core`, installed
//! into `tests/e2e/axe/` by `.ci/run`) must find no serious or critical violation. Each audit saves
//! a screenshot per width under `target/tmp/e2e-screenshots/`.

use std::path::PathBuf;

use serde_json::Value;
use thirtyfour::prelude::*;

use crate::browser::screenshot;
use crate::common::{require_services, skip};

/// The widths every page is audited at: a laptop and a phone.
pub const WIDTHS: [(u32, u32); 2] = [(1366, 900), (390, 844)];

/// axe-core's source: `ORGSETTINGS_AXE_JS`, or the copy `npm ci --prefix tests/e2e/axe` installs.
/// `None` (the audit is skipped, or fails when services are required) when it is not there.
pub fn axe_source() -> Option<String> {
    let path = std::env::var_os("ORGSETTINGS_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/e2e/axe/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            let why = format!(
                "{} is missing (npm ci --prefix tests/e2e/axe)",
                path.display()
            );
            assert!(!require_services(), "axe-core: {why}");
            skip("axe-core", &why);
            None
        }
    }
}

/// Sets the browser's viewport to `width`×`height` CSS pixels (the window is resized until its
/// inner size matches, whatever the frame around it).
pub async fn set_viewport(driver: &WebDriver, width: u32, height: u32) {
    driver
        .set_window_rect(0, 0, width, height)
        .await
        .expect("resize the window");
    let inner = driver
        .execute(
            "return [window.innerWidth, window.innerHeight];",
            Vec::new(),
        )
        .await
        .expect("read the viewport")
        .json()
        .clone();
    let (w, h) = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    if (w, h) != (width, height) {
        // the window's frame took the difference: add it once
        let outer = (
            width + width.saturating_sub(w),
            height + height.saturating_sub(h),
        );
        driver
            .set_window_rect(0, 0, outer.0, outer.1)
            .await
            .expect("resize the window again");
    }
}

/// The problems of the page now loaded, at the current width: sideways scrolling, and axe-core's
/// serious and critical violations (rule, impact, what it says, and the first elements).
pub async fn problems(driver: &WebDriver, axe: &str) -> Vec<String> {
    let mut found = Vec::new();
    let widths = driver
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            Vec::new(),
        )
        .await
        .expect("measure the page")
        .json()
        .clone();
    let (scroll, client) = (
        widths[0].as_u64().unwrap_or(0),
        widths[1].as_u64().unwrap_or(0),
    );
    if scroll > client {
        let wide = driver
            .execute(
                r##"const w = document.documentElement.clientWidth;
                   return [...document.querySelectorAll("body *")]
                     .filter(e => e.getBoundingClientRect().right > w + 1)
                     .slice(0, 5)
                     .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : ""));"##,
                Vec::new(),
            )
            .await
            .map(|r| r.json().clone())
            .unwrap_or(Value::Null);
        found.push(format!(
            "scrolls sideways: {scroll} px of content in {client} px; too wide: {wide}"
        ));
    }
    driver
        .execute(axe, Vec::new())
        .await
        .expect("inject axe-core");
    let violations = driver
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, {resultTypes: ["violations"]})
                 .then(r => done(r.violations
                   .filter(v => v.impact === "serious" || v.impact === "critical")
                   .map(v => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`)))
                 .catch(e => done(["axe failed: " + e]));"#,
            Vec::new(),
        )
        .await
        .expect("run axe-core")
        .json()
        .clone();
    if let Some(list) = violations.as_array() {
        found.extend(list.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
    found
}

/// Opens `path` at both widths, saves `{name}-{width}.png`, and returns what is wrong, each line
/// naming the page and width.
pub async fn audit(
    driver: &WebDriver,
    base: &str,
    path: &str,
    name: &str,
    axe: &str,
) -> Vec<String> {
    let mut found = Vec::new();
    for (width, height) in WIDTHS {
        set_viewport(driver, width, height).await;
        driver
            .goto(format!("{base}{path}"))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        screenshot(driver, &format!("{name}-{width}")).await;
        for problem in problems(driver, axe).await {
            found.push(format!("{path} at {width} px: {problem}"));
        }
    }
    found
}
