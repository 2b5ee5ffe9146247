//! `sentry-cli` (Sentry's own client, from PyPI) against the running app: what `info` prints for a
//! personal token, an organization token (whose URL it takes from the token) and a revoked one,
//! and the table of `organizations list`.

use std::path::PathBuf;
use std::process::{Command, Output};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, sentry_cli, token_on};
use crate::on_both_backends;

on_both_backends!(
    sentry_cli_info_prints_the_tokens_user_and_scopes,
    sentry_cli_finds_the_instance_from_an_organization_token_alone,
    sentry_cli_info_reports_a_revoked_token_as_invalid,
    sentry_cli_organizations_list_prints_the_callers_organizations,
);

/// Runs `sentry-cli args` with only the given environment (no config file, no `.env`, no update
/// check), off the async runtime the app runs on.
async fn run(binary: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("a home for sentry-cli");
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env("SENTRY_LOAD_DOTENV", "0")
        .env("SENTRY_DISABLE_UPDATE_CHECK", "1")
        .current_dir(home.path());
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || {
        let output = command.output().expect("run sentry-cli");
        drop(home);
        output
    })
    .await
    .expect("sentry-cli thread")
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A personal token of acme's owner with `scopes`, made through the JSON API.
async fn personal_token(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let (status, made) = app
        .api(
            Method::POST,
            "/api/0/api-tokens/",
            Some(json!({"name": "sentry-cli", "scopes": scopes})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    (token, id)
}

async fn sentry_cli_info_prints_the_tokens_user_and_scopes(app: TestApp) {
    let Some(cli) = sentry_cli() else { return };
    let (owner, _) = app.owner_of_acme().await;
    let (token, _) = personal_token(&app, &["org:read", "member:read"]).await;
    let url = format!("{}/", app.base);

    let output = run(
        cli,
        &["info"],
        &[
            ("SENTRY_URL", &url),
            ("SENTRY_AUTH_TOKEN", &token),
            ("SENTRY_ORG", "acme"),
            ("SENTRY_PROJECT", "backend"),
        ],
    )
    .await;

    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("Sentry Server: {}", app.base)),
        "{text}"
    );
    assert!(text.contains("Method: Auth Token"), "{text}");
    assert!(text.contains(&format!("User: {}", owner.email)), "{text}");
    let scopes: Vec<&str> = text
        .lines()
        .skip_while(|line| line.trim() != "Scopes:")
        .skip(1)
        .map_while(|line| line.trim().strip_prefix("- "))
        .collect();
    assert_eq!(scopes, ["member:read", "org:read"], "{text}");
    assert!(!text.contains(&token), "sentry-cli never prints the token");
}

async fn sentry_cli_finds_the_instance_from_an_organization_token_alone(app: TestApp) {
    let Some(cli) = sentry_cli() else { return };
    app.owner_of_acme().await;
    app.get("/settings/acme/auth-tokens/").await;
    app.post_form(
        "/settings/acme/auth-tokens/",
        &[("action", "create"), ("name", "deploys")],
    )
    .await;
    let token = token_on(&app.get("/settings/acme/auth-tokens/").await, "sntrys_");

    // no SENTRY_URL: sentry-cli reads the instance's URL out of the token
    let output = run(cli, &["info"], &[("SENTRY_AUTH_TOKEN", &token)]).await;

    let text = printed(&output);
    assert!(
        text.contains(&format!("Sentry Server: {}", app.base)),
        "{text}"
    );
    assert!(text.contains("Scopes:\n    - org:ci\n"), "{text}");
    assert!(
        !text.contains("User:"),
        "an organization token has no user: {text}"
    );
}

async fn sentry_cli_info_reports_a_revoked_token_as_invalid(app: TestApp) {
    let Some(cli) = sentry_cli() else { return };
    app.owner_of_acme().await;
    let (token, id) = personal_token(&app, &["org:read"]).await;
    let (status, _) = app
        .api(
            Method::DELETE,
            "/api/0/api-tokens/",
            Some(json!({"tokenId": id})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let url = format!("{}/", app.base);

    let output = run(
        cli,
        &["info"],
        &[
            ("SENTRY_URL", &url),
            ("SENTRY_AUTH_TOKEN", &token),
            ("SENTRY_ORG", "acme"),
            ("SENTRY_PROJECT", "backend"),
        ],
    )
    .await;

    let text = printed(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("Invalid token"), "{text}");
}

async fn sentry_cli_organizations_list_prints_the_callers_organizations(app: TestApp) {
    let Some(cli) = sentry_cli() else { return };
    let (owner, _) = app.owner_of_acme().await;
    app.create_org(&owner, "Beta Works", "beta-works").await;
    let stranger = app.create_user("stranger").await;
    app.create_org(&stranger, "Not Theirs", "not-theirs").await;
    let (token, _) = personal_token(&app, &["org:read"]).await;
    let url = format!("{}/", app.base);
    let output = run(
        cli,
        &["organizations", "list"],
        &[("SENTRY_URL", &url), ("SENTRY_AUTH_TOKEN", &token)],
    )
    .await;
    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    // its table: | ID | Name | Slug | Date Created | Early Adopter | Requires 2FA |
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|line| line.starts_with("| ") && !line.contains("| Name "))
        .map(|line| {
            line.split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let slugs: Vec<(&str, &str)> = rows.iter().map(|r| (r[1], r[2])).collect();
    assert_eq!(
        slugs,
        [("Acme", "acme"), ("Beta Works", "beta-works")],
        "{text}"
    );
    assert!(
        rows.iter().all(|r| r[4] == "false" && r[5] == "false"),
        "{text}"
    );
}
