//! `GET /api/0/organizations/{org}/audit-logs/`: Sentry's rows and options, filters, and key
//! cursors that walk the whole log both ways.

use orgsettings::models::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, Visitor};
use crate::on_both_backends;

const LOGS: &str = "/api/0/organizations/acme/audit-logs/";

on_both_backends!(
    the_rows_have_sentrys_shape_and_the_options_every_event,
    walking_next_and_previous_visits_every_row_once_in_order,
    entries_written_while_paging_do_not_shift_the_pages,
    the_filters_narrow_the_rows_and_bad_values_get_400,
    the_audit_log_needs_org_write,
);

/// `n` `org.edit` entries by `actor` (or the command line), written directly.
async fn write_entries(
    app: &TestApp,
    org_id: i64,
    actor: Option<orgsettings::models::user::User>,
    n: usize,
) {
    app.with_db(move |conn| {
        use orgsettings::models::actor::Actor;
        use orgsettings::models::audit::{self, AuditEvent, NewAuditEntry};
        let actor = match &actor {
            Some(user) => Actor::user(user, Some("10.0.0.1".into())),
            None => Actor::cli(),
        };
        for i in 0..n {
            audit::record(
                conn,
                &NewAuditEntry::new(
                    org_id,
                    &actor,
                    AuditEvent::OrgEdit,
                    json!({"name": format!("to Step {i}")}),
                ),
            )
            .unwrap();
        }
    })
    .await;
}

/// One page: its rows and its previous and next links (`None` when they have no results).
async fn page(
    visitor: &Visitor,
    base: &str,
    path: &str,
) -> (Vec<Value>, Option<String>, Option<String>) {
    let response = visitor.client.get(visitor.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let target = |rel: &str| {
        let part = link
            .split(", ")
            .find(|l| l.contains(&format!("rel=\"{rel}\"")))
            .unwrap();
        part.contains("results=\"true\"").then(|| {
            part.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .trim_start_matches(base)
                .to_owned()
        })
    };
    (
        body["rows"].as_array().unwrap().clone(),
        target("previous"),
        target("next"),
    )
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn the_rows_have_sentrys_shape_and_the_options_every_event(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    let (status, _) = app
        .api_put("/api/0/organizations/acme/", json!({"name": "Acme Two"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.api_get(LOGS).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["options"]
            .as_array()
            .unwrap()
            .contains(&json!("org.edit"))
    );
    assert!(
        body["options"]
            .as_array()
            .unwrap()
            .contains(&json!("member.invite"))
    );
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        2,
        "org.create by the command line, then the edit"
    );
    let edit = &rows[0];
    assert_eq!(edit["event"], "org.edit");
    assert_eq!(edit["actor"]["id"], json!(owner.id.to_string()));
    assert_eq!(edit["actor"]["username"], "owner");
    assert_eq!(edit["ipAddress"], "127.0.0.1");
    assert_eq!(
        edit["note"],
        "edited the organization setting: name from Acme to Acme Two"
    );
    assert_eq!(edit["data"], json!({"name": "from Acme to Acme Two"}));
    assert!(edit["targetObject"].is_i64());
    assert_eq!(edit["targetUser"], json!(null));
    assert!(edit["dateCreated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(rows[1]["event"], "org.create");
    assert_eq!(rows[1]["actor"]["id"], json!(null));
}

async fn walking_next_and_previous_visits_every_row_once_in_order(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    write_entries(&app, org.id, None, 249).await;
    let mut forward = Vec::new();
    let mut path = LOGS.to_owned();
    let mut pages = Vec::new();
    loop {
        let (rows, previous, next) = page(&app, &app.base, &path).await;
        assert_eq!(
            previous.is_some(),
            !pages.is_empty(),
            "only the first page has no previous"
        );
        forward.extend(ids(&rows));
        pages.push(path.clone());
        match next {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages.len() < 10);
    }
    assert_eq!(pages.len(), 3, "250 rows in pages of 100");
    assert_eq!(forward.len(), 250);
    let mut expected = forward.clone();
    expected.sort_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(forward, expected, "newest first, each once");
    // and back from the last page to the first
    let mut backward = Vec::new();
    let (rows, mut previous, _) = page(&app, &app.base, &path).await;
    backward.splice(0..0, ids(&rows));
    while let Some(path) = previous {
        let (rows, before, _) = page(&app, &app.base, &path).await;
        backward.splice(0..0, ids(&rows));
        previous = before;
    }
    assert_eq!(backward, forward);
}

async fn entries_written_while_paging_do_not_shift_the_pages(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    write_entries(&app, org.id, None, 9).await;
    let first = format!("{LOGS}?per_page=4");
    let (rows, _, next) = page(&app, &app.base, &first).await;
    let seen = ids(&rows);
    write_entries(&app, org.id, None, 5).await;
    let (rows, previous, _) = page(&app, &app.base, &next.unwrap()).await;
    let after = ids(&rows);
    assert_eq!(after.len(), 4);
    assert!(
        after[0] < *seen.last().unwrap(),
        "the next page goes on where the first ended"
    );
    // the newer entries are there for the previous link
    assert!(previous.is_some());
}

async fn the_filters_narrow_the_rows_and_bad_values_get_400(app: TestApp) {
    let (owner, org) = app.owner_of_acme().await;
    write_entries(&app, org.id, Some(owner.clone()), 3).await;
    let (_, body) = app.api_get(&format!("{LOGS}?actor={}", owner.id)).await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 3);
    let (_, body) = app.api_get(&format!("{LOGS}?event=org.create")).await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    let (_, body) = app.api_get(&format!("{LOGS}?event=no.such.event")).await;
    assert_eq!(body["rows"], json!([]));
    let (_, body) = app.api_get(&format!("{LOGS}?start=2999-01-01")).await;
    assert_eq!(body["rows"], json!([]));
    let (_, body) = app
        .api_get(&format!(
            "{LOGS}?start=2000-01-01T00:00:00Z&end=2999-01-01T00:00:00%2B02:00"
        ))
        .await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 4);
    let (_, body) = app.api_get(&format!("{LOGS}?end=2000-01-01")).await;
    assert_eq!(body["rows"], json!([]));
    let (status, body) = app
        .api_get(&format!("{LOGS}?actor=me&start=yesterday"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "actor": ["A valid integer is required."],
            "start": [orgsettings::drf::ERR_DATETIME],
        })
    );
    let (status, body) = app.api_get(&format!("{LOGS}?cursor=x:y:z")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Invalid cursor parameter.");
}

async fn the_audit_log_needs_org_write(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    for (name, role, status) in [
        ("mia", Role::Member, StatusCode::FORBIDDEN),
        ("mona", Role::Manager, StatusCode::OK),
    ] {
        let user = app.create_user(name).await;
        app.add_member(&org, &user, role).await;
        let visitor = app.visitor_logged_in(name).await;
        assert_eq!(visitor.api_get(LOGS).await.0, status, "{name}");
    }
    let owner = app.visitor_logged_in("owner").await;
    for (scopes, status) in [
        (json!(["org:read"]), StatusCode::FORBIDDEN),
        (json!(["org:write"]), StatusCode::OK),
    ] {
        let (_, made) = owner
            .api(
                Method::POST,
                "/api/0/api-tokens/",
                Some(json!({"name": "audit", "scopes": scopes})),
            )
            .await;
        let bearer = format!("Bearer {}", made["token"].as_str().unwrap());
        assert_eq!(
            app.visitor()
                .authorized(Method::GET, LOGS, &bearer, None)
                .await
                .0,
            status,
            "{scopes}"
        );
    }
}
