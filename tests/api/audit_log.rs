//! `/settings/{org}/audit-log/` and its CSV export.

use orgsettings::models::actor::Actor;
use orgsettings::models::audit::{self, AuditEvent, NewAuditEntry};
use orgsettings::models::organization::Organization;
use orgsettings::models::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

const LOG: &str = "/settings/acme/audit-log/";

async fn add_entries(app: &TestApp, org: &Organization, count: usize, event: AuditEvent) {
    let org = org.clone();
    app.with_db(move |conn| {
        let actor = Actor {
            user_id: None,
            label: "script".into(),
            ip_address: Some("10.0.0.9".into()),
            is_staff: false,
        };
        for n in 0..count {
            let data = json!({"name": format!("from {n} to {}", n + 1)});
            audit::record(conn, &NewAuditEntry::new(org.id, &actor, event, data)).unwrap();
        }
    })
    .await;
}

on_both_backends!(
    owners_see_who_did_what_from_where_and_when_newest_first,
    members_may_not_read_the_audit_log,
    the_log_filters_by_event_and_refuses_unknown_ones,
    pages_stay_put_while_new_entries_arrive,
    the_csv_export_has_the_filtered_rows_with_formulas_neutralized,
    each_change_reads_in_sentrys_words,
);

/// The sentences of the organization's audit log, oldest first.
async fn sentences(app: &TestApp, org_id: i64) -> String {
    let mut entries = app
        .with_db(move |conn| {
            orgsettings::models::audit::AuditEntry::list(conn, org_id, Default::default()).unwrap()
        })
        .await;
    entries.reverse();
    entries
        .iter()
        .map(|e| format!("{}: {}", e.actor_label, e.sentence()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn each_change_reads_in_sentrys_words(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let api = "/api/0/organizations/acme/";
    app.api_put(
        api,
        json!({"name": "Acme Corp", "dataScrubber": true, "sensitiveFields": ["password"], "isEarlyAdopter": true}),
    )
    .await;
    app.api_put(api, json!({"name": "Acme", "dataScrubber": false}))
        .await;
    let page = "/settings/acme/members/";
    app.get(page).await;
    app.post_form(
        page,
        &[
            ("action", "invite"),
            ("email", "dana@example.com"),
            ("role", "manager"),
        ],
    )
    .await;
    let log = sentences(&app, org.id).await;
    insta::allow_duplicates! {
        insta::assert_snapshot!(log, @r"
    CLI: created the organization
    owner: edited the organization setting: dataScrubber to True, sensitiveFields to ['password'], name from Acme to Acme Corp, early_adopter to True
    owner: edited the organization setting: dataScrubber from True to False, name from Acme Corp to Acme
    owner: invited member dana@example.com
    ");
    }
}

async fn owners_see_who_did_what_from_where_and_when_newest_first(app: TestApp) {
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    app.login("owner", PASSWORD).await;
    app.api_put(
        "/api/0/organizations/acme/",
        json!({"name": "Acme Corp", "require2FA": false, "isEarlyAdopter": true}),
    )
    .await;
    let page = app.get(LOG).await;
    assert_eq!(page.status, StatusCode::OK);
    let edit = page
        .body
        .find("edited the organization setting: name from Acme to Acme Corp, early_adopter to True")
        .expect("the edit");
    let create = page
        .body
        .find("created the organization")
        .expect("the creation");
    assert!(edit < create, "newest first");
    assert!(page.contains("owner"));
    assert!(page.contains("127.0.0.1"), "the IP address");
    assert!(page.contains("just now"));
    assert!(page.body.contains("title=\""), "the exact time on hover");
}

async fn members_may_not_read_the_audit_log(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let member = app.create_user("member").await;
    app.add_member(&org, &member, Role::Member).await;
    app.login("member", PASSWORD).await;
    assert_eq!(app.get(LOG).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/settings/acme/audit-log/export.csv").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn the_log_filters_by_event_and_refuses_unknown_ones(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    add_entries(&app, &org, 2, AuditEvent::OrgEdit).await;
    app.login("owner", PASSWORD).await;
    let edits = app.get("/settings/acme/audit-log/?event=org.edit").await;
    assert!(edits.contains("edited the organization setting"));
    assert!(!edits.contains("created the organization"));
    let creations = app.get("/settings/acme/audit-log/?event=org.create").await;
    assert!(creations.contains("created the organization"));
    assert!(!creations.contains("edited the organization setting"));
    assert_eq!(
        app.get("/settings/acme/audit-log/?event=nope").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn pages_stay_put_while_new_entries_arrive(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    add_entries(&app, &org, 120, AuditEvent::OrgEdit).await;
    app.login("owner", PASSWORD).await;
    let first = app.get(LOG).await;
    assert!(first.contains("from 119 to 120"));
    assert!(
        first.contains("from 70 to 71") && !first.contains("from 69 to 70"),
        "50 per page"
    );
    let older = regex::Regex::new(r#"href="(/settings/acme/audit-log/\?before=\d+)""#).unwrap();
    let next = crate::common::unescape(&older.captures(&first.body).unwrap()[1]);
    add_entries(&app, &org, 5, AuditEvent::OrgEdit).await;
    let second = app.get(&next).await;
    assert!(
        second.contains("from 69 to 70"),
        "continues where the first page ended"
    );
    assert!(!second.contains("from 70 to 71"), "no entry twice");
    assert!(second.contains("Newer"));
}

async fn the_csv_export_has_the_filtered_rows_with_formulas_neutralized(app: TestApp) {
    let owner = app.create_user("@evil").await;
    app.create_org(&owner, "Acme", "acme").await;
    app.login("@evil", PASSWORD).await;
    app.api_put(
        "/api/0/organizations/acme/",
        json!({"name": "=HYPERLINK(\"http://x\")"}),
    )
    .await;
    let response = app
        .client
        .get(app.url("/settings/acme/audit-log/export.csv?event=org.edit"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("acme-audit-log.csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,member,action,ip_address,event");
    assert_eq!(lines.len(), 2, "only the edit: {csv}");
    assert!(
        lines[1].ends_with(",\"'@evil\",\"edited the organization setting: name from Acme to =HYPERLINK(\"\"http://x\"\")\",\"127.0.0.1\",\"org.edit\""),
        "{csv}"
    );
}
