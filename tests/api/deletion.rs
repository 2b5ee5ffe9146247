//! Removing an organization: scheduled with the slug and the password, restorable, then deleted.

use orgsettings::models::organization::Organization;
use orgsettings::models::role::Role;
use orgsettings::settings::delete;
use reqwest::StatusCode;

use crate::common::{Edit, PASSWORD, TestApp, audit_entries};
use crate::on_both_backends;

on_both_backends!(
    an_owner_removes_the_organization_after_typing_its_slug_and_password_then_restores_it,
    only_owners_remove_or_restore,
    due_deletions_remove_the_organization_and_everything_in_it,
    an_organization_restored_while_due_deletions_run_is_kept,
);

async fn an_owner_removes_the_organization_after_typing_its_slug_and_password_then_restores_it(
    app: TestApp,
) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    app.login("owner", PASSWORD).await;
    app.get("/settings/acme/").await;

    let wrong_slug = app
        .post_form(
            "/settings/acme/remove/",
            &[("confirm_slug", "acme-corp"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong_slug.status, StatusCode::BAD_REQUEST);
    assert!(wrong_slug.contains("Type the organization's slug, acme, to confirm."));
    let wrong_password = app
        .post_form(
            "/settings/acme/remove/",
            &[("confirm_slug", "acme"), ("password", "nope nope")],
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::BAD_REQUEST);
    assert!(wrong_password.contains("Your password is not correct."));
    let events = |entries: Vec<(String, serde_json::Value)>| {
        entries.into_iter().map(|(e, _)| e).collect::<Vec<_>>()
    };
    assert_eq!(events(audit_entries(&app, org.id).await), ["org.create"]);

    let removed = app
        .post_form(
            "/settings/acme/remove/",
            &[("confirm_slug", "acme"), ("password", PASSWORD)],
        )
        .await;
    removed.assert_redirect("/settings/acme/");
    let page = app.get("/settings/acme/").await;
    assert!(page.contains("is scheduled for deletion on"));
    assert!(page.contains("This organization is scheduled for deletion"));
    assert!(
        page.is_disabled("name"),
        "settings are read-only while deletion is pending"
    );
    let refused = app
        .post_form(
            "/settings/acme/",
            &[("name", "Still here"), ("_shown", "{\"name\": \"Acme\"}")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains(orgsettings::settings::save::ERR_PENDING_DELETION));

    let restored = app.post_form("/settings/acme/restore/", &[]).await;
    restored.assert_redirect("/settings/acme/");
    assert!(
        app.get("/settings/acme/")
            .await
            .contains("Acme was restored.")
    );
    assert_eq!(
        events(audit_entries(&app, org.id).await),
        ["org.create", "org.remove", "org.restore"]
    );
    app.submit_form("/settings/acme/", &[Edit::Set("name", "Saved Again")])
        .await
        .assert_redirect("/settings/acme/");
}

async fn only_owners_remove_or_restore(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let manager = app.create_user("manager").await;
    app.add_member(&org, &manager, Role::Manager).await;
    app.login("manager", PASSWORD).await;
    assert!(
        !app.get("/settings/acme/")
            .await
            .contains("Remove organization")
    );
    let refused = app
        .post_form(
            "/settings/acme/remove/",
            &[("confirm_slug", "acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post_form("/settings/acme/restore/", &[]).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn due_deletions_remove_the_organization_and_everything_in_it(app: TestApp) {
    let owner = app.create_user("owner").await;
    let doomed = app.create_org(&owner, "Doomed", "doomed").await;
    let kept = app.create_org(&owner, "Kept", "kept").await;
    let actor = orgsettings::models::actor::Actor::cli();
    let doomed_id = doomed.id;
    let scheduled = app
        .with_db(move |conn| delete::schedule(conn, doomed_id, &actor).unwrap())
        .await;
    let due = scheduled.deletion_scheduled_at.unwrap();
    let early = app
        .with_db(move |conn| delete::delete_due(conn, due - chrono::Duration::seconds(1)).unwrap())
        .await;
    assert!(early.is_empty(), "not before the grace period is over");
    let deleted = app
        .with_db(move |conn| delete::delete_due(conn, due).unwrap())
        .await;
    assert_eq!(deleted, ["doomed"]);
    let (gone, still) = app
        .with_db(move |conn| {
            (
                Organization::find_by_slug(conn, "doomed")
                    .unwrap()
                    .is_none(),
                Organization::find_by_slug(conn, "kept").unwrap().is_some(),
            )
        })
        .await;
    assert!(gone && still);
    assert!(
        audit_entries(&app, doomed.id).await.is_empty(),
        "its audit log went with it"
    );
    assert_eq!(audit_entries(&app, kept.id).await.len(), 1);
}

async fn an_organization_restored_while_due_deletions_run_is_kept(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Saved", "saved").await;
    let actor = orgsettings::models::actor::Actor::cli();
    let org_id = org.id;
    let due = app
        .with_db(move |conn| delete::schedule(conn, org_id, &actor).unwrap())
        .await
        .deletion_scheduled_at
        .unwrap();
    // the restore has changed the row but not committed yet when the deletion runs
    let restored = std::sync::Arc::new(std::sync::Barrier::new(2));
    let restore = {
        let (pool, restored) = (app.pool.clone(), restored.clone());
        tokio::task::spawn_blocking(move || {
            use diesel::prelude::*;
            use orgsettings::db::schema::organizations;
            let mut conn = pool.get().unwrap();
            orgsettings::db::write_tx(&mut conn, |conn| -> diesel::QueryResult<()> {
                diesel::update(organizations::table.find(org_id))
                    .set((
                        organizations::status
                            .eq(orgsettings::models::organization::OrgStatus::Active.code()),
                        organizations::deletion_scheduled_at.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)?;
                restored.wait();
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
            .unwrap();
        })
    };
    let deletion = {
        let (pool, restored) = (app.pool.clone(), restored.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            restored.wait();
            delete::delete_due(&mut conn, due).unwrap()
        })
    };
    restore.await.unwrap();
    assert!(deletion.await.unwrap().is_empty());
    let kept = app
        .with_db(|conn| Organization::find_by_slug(conn, "saved").unwrap())
        .await;
    assert!(kept.is_some_and(|org| !org.is_pending_deletion()));
}
