//! Requiring a verified email or two-factor authentication from every member (docs/compatibility.md, "Members").

use orgsettings::models::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{
    Edit, PASSWORD, TestApp, audit_entries, enrol_totp, link_in, next_totp_code, outbox, unverify,
};
use crate::on_both_backends;

const SECURITY: &str = "/settings/acme/security-and-privacy/";

/// acme, owned by a compliant `owner` (logged in); verified `v1`, `v2`; unverified `u1`, `u2`;
/// a pending invite for `pending@example.com`.
async fn acme(app: &TestApp) -> orgsettings::models::organization::Organization {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "acme corp", "acme").await;
    for name in ["v1", "v2", "u1", "u2"] {
        let user = app.create_user(name).await;
        app.add_member(&org, &user, Role::Member).await;
        if name.starts_with('u') {
            unverify(app, &user).await;
        }
    }
    app.login("owner", PASSWORD).await;
    app.get("/settings/acme/members/").await;
    app.post_form(
        "/settings/acme/members/",
        &[
            ("action", "invite"),
            ("email", "pending@example.com"),
            ("role", "member"),
        ],
    )
    .await;
    org
}

async fn member_states(app: &TestApp, org_id: i64) -> Vec<(Option<String>, Option<String>)> {
    app.with_db(move |conn| {
        crate::common::all_members(conn, org_id)
            .into_iter()
            .map(|v| (v.username, v.member.email))
            .collect()
    })
    .await
}

on_both_backends!(
    requiring_verified_email_turns_unverified_members_into_pending_invites_and_emails_them,
    requiring_verified_email_through_the_api_removes_the_same_members,
    requiring_two_factor_removes_members_without_it_and_locks_out_old_sessions,
    a_member_without_any_email_is_not_removed_and_a_warning_is_logged,
    an_interrupted_requirement_job_is_finished_later_and_removes_no_one_twice,
    the_same_requirement_job_run_twice_at_once_removes_and_emails_each_member_once,
    a_requirement_over_many_chunks_names_twenty_and_moves_every_member_once,
);

async fn a_requirement_over_many_chunks_names_twenty_and_moves_every_member_once(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    // no verified address among them: 1 200 members, more than two chunks of the job
    crate::common::add_bulk_members(&app, &org, "bulk", 1_200).await;
    let asked = app
        .submit_form(SECURITY, &[Edit::Set("requireEmailVerification", "true")])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked
            .contains("1200 members without it will be removed from the organization and emailed:"),
        "{}",
        asked.body
    );
    assert!(
        asked.contains(" and 1180 more."),
        "twenty named, the rest counted"
    );
    let before_mail = crate::common::outbox_count(&app).await;
    let (status, _) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"requireEmailVerification": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_jobs().await;
    let states = member_states(&app, org.id).await;
    let users = states
        .iter()
        .filter(|(username, _)| username.is_some())
        .count();
    assert_eq!(users, 1, "only the verified owner is still a member");
    assert_eq!(states.len(), 1_201, "everyone else is a pending invitation");
    assert_eq!(
        crate::common::outbox_count(&app).await,
        before_mail + 1_200,
        "each emailed once"
    );
    let moved = audit_entries(&app, org.id)
        .await
        .into_iter()
        .filter(|(event, _)| event == "member.pending")
        .count();
    assert_eq!(moved, 1_200);
}

async fn requiring_verified_email_turns_unverified_members_into_pending_invites_and_emails_them(
    app: TestApp,
) {
    let org = acme(&app).await;
    let before_mail = outbox(&app).await.len();
    let asked = app
        .submit_form(SECURITY, &[Edit::Set("requireEmailVerification", "true")])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("Require a verified email address: 2 members without it will be removed from the organization and emailed: u1, u2."), "{}", asked.body);
    assert!(
        outbox(&app).await.len() == before_mail,
        "nothing happens before confirming"
    );
    app.resubmit(&asked, SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    let saved = app.get(SECURITY).await;
    assert!(
        saved.contains("Changes saved.")
            && saved.contains(orgsettings::web::settings_pages::JOBS_STARTED),
        "{}",
        saved.body
    );
    app.wait_for_jobs().await;

    let states = member_states(&app, org.id).await;
    let joined: Vec<&str> = states.iter().filter_map(|(u, _)| u.as_deref()).collect();
    assert_eq!(joined.len(), 3);
    assert!(joined.contains(&"owner") && joined.contains(&"v1") && joined.contains(&"v2"));
    let pending: Vec<&str> = states
        .iter()
        .filter(|(u, _)| u.is_none())
        .filter_map(|(_, e)| e.as_deref())
        .collect();
    assert_eq!(pending.len(), 3, "{pending:?}");
    assert!(
        pending.contains(&"u1@example.com")
            && pending.contains(&"u2@example.com")
            && pending.contains(&"pending@example.com")
    );

    let mails: Vec<_> = outbox(&app).await.into_iter().skip(before_mail).collect();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(mail.to_address == "u1@example.com" || mail.to_address == "u2@example.com");
        assert_eq!(
            mail.subject,
            "[orgsettings] Acme corp Mandatory: Verify Email Address"
        );
        assert_eq!(mail.kind, "user.setup_email");
        assert!(link_in(&mail.body_text, &app.base, "/account/confirm-email/").is_some());
        assert!(link_in(&mail.body_text, &app.base, "/accept/").is_some());
    }
    let entries = audit_entries(&app, org.id).await;
    let pending_entries: Vec<_> = entries
        .iter()
        .filter(|(e, _)| e == "member.pending")
        .collect();
    assert_eq!(pending_entries.len(), 2);
    assert!(entries.iter().any(|(e, d)| e == "org.edit" && *d == json!({"require_email_verification": "to True"})));
    let log = app
        .get("/settings/acme/audit-log/?event=member.pending")
        .await;
    assert!(log.contains("required member u1@example.com to setup 2FA"));
    assert!(
        log.contains("127.0.0.1") && log.contains("owner"),
        "actor and IP"
    );

    // u1 verifies the address, then comes back through the invitation
    let mail = mails
        .iter()
        .find(|m| m.to_address == "u1@example.com")
        .unwrap();
    let confirm = link_in(&mail.body_text, &app.base, "/account/confirm-email/").unwrap();
    let invite = link_in(&mail.body_text, &app.base, "/accept/").unwrap();
    let u1 = app.visitor();
    u1.login("u1", PASSWORD).await;
    assert!(
        u1.get(&invite)
            .await
            .contains("requires a verified email address")
    );
    u1.get(&confirm).await;
    u1.post_form(&invite, &[])
        .await
        .assert_redirect("/settings/acme/");
}

async fn requiring_verified_email_through_the_api_removes_the_same_members(app: TestApp) {
    let org = acme(&app).await;
    let (status, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"requireEmailVerification": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requireEmailVerification"], true);
    app.wait_for_jobs().await;
    let states = member_states(&app, org.id).await;
    let mut joined: Vec<&str> = states.iter().filter_map(|(u, _)| u.as_deref()).collect();
    joined.sort_unstable();
    assert_eq!(joined, ["owner", "v1", "v2"]);
    let mails = outbox(&app).await;
    let mandatory: Vec<_> = mails
        .iter()
        .filter(|m| m.kind == "user.setup_email")
        .map(|m| m.to_address.as_str())
        .collect();
    assert_eq!(mandatory.len(), 2, "{mandatory:?}");
    assert!(mandatory.contains(&"u1@example.com") && mandatory.contains(&"u2@example.com"));
}

async fn requiring_two_factor_removes_members_without_it_and_locks_out_old_sessions(app: TestApp) {
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let with = app.create_user("with2fa").await;
    let without = app.create_user("without2fa").await;
    app.add_member(&org, &with, Role::Member).await;
    app.add_member(&org, &without, Role::Member).await;
    enrol_totp(&app, &with).await;
    let owner_secret = enrol_totp(&app, &owner).await;
    // the member without 2FA logged in before the change
    let late = app.visitor();
    late.login("without2fa", PASSWORD).await;
    assert_eq!(late.get("/settings/acme/").await.status, StatusCode::OK);

    app.get("/login").await;
    app.post_form("/login", &[("username", "owner"), ("password", PASSWORD)])
        .await;
    app.get("/login/2fa/").await;
    // enrolling used the current code; the next one logs in
    let code = next_totp_code(&owner_secret);
    app.post_form("/login/2fa/", &[("code", code.as_str())])
        .await
        .assert_redirect("/organizations/");
    let asked = app
        .submit_form(SECURITY, &[Edit::Set("require2FA", "true")])
        .await;
    assert!(
        asked.contains(
            "1 member without it will be removed from the organization and emailed: without2fa."
        ),
        "{}",
        asked.body
    );
    app.resubmit(&asked, SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    app.wait_for_jobs().await;
    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.to_address, "without2fa@example.com");
    assert_eq!(
        mail.subject,
        "[orgsettings] Acme Mandatory: Enable Two-Factor Authentication"
    );
    assert!(mail.body_text.contains("/account/security/"));
    let (_, data) = audit_entries(&app, org.id)
        .await
        .into_iter()
        .rev()
        .find(|(e, _)| e == "member.pending")
        .unwrap();
    assert_eq!(data["email"], "without2fa@example.com");

    // the removed member's old session: not a member any more (404); a member still without 2FA gets 401
    assert_eq!(
        late.get("/settings/acme/").await.status,
        StatusCode::NOT_FOUND
    );
    let lagging = app.create_user("lagging").await;
    app.add_member(&org, &lagging, Role::Member).await;
    let lagging_session = app.visitor();
    lagging_session.login("lagging", PASSWORD).await;
    let page = lagging_session.get("/settings/acme/").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Acme requires every member to use two-factor authentication."));
    assert!(page.body.contains("href=\"/account/security/\""));
    let (status, body) = lagging_session.api_get("/api/0/organizations/acme/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"]["code"], "2fa-required");
    let with_session = app.visitor();
    with_session.login("with2fa", PASSWORD).await;
    assert_eq!(
        with_session.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "needs its code first"
    );
}

async fn a_member_without_any_email_is_not_removed_and_a_warning_is_logged(app: TestApp) {
    let org = acme(&app).await;
    let u1 = app
        .with_db(|conn| {
            orgsettings::models::user::User::find_by_login(conn, "u1")
                .unwrap()
                .remove(0)
        })
        .await;
    let id = u1.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::email.eq(""))
            .execute(conn)
            .unwrap();
    })
    .await;
    let asked = app
        .submit_form(SECURITY, &[Edit::Set("requireEmailVerification", "true")])
        .await;
    app.resubmit(&asked, SECURITY, &[])
        .await
        .assert_redirect(SECURITY);
    app.wait_for_jobs().await;
    let states = member_states(&app, org.id).await;
    assert!(
        states.iter().any(|(u, _)| u.as_deref() == Some("u1")),
        "kept: nowhere to send it"
    );
    assert!(
        !states.iter().any(|(u, _)| u.as_deref() == Some("u2")),
        "u2 removed"
    );
}

async fn an_interrupted_requirement_job_is_finished_later_and_removes_no_one_twice(app: TestApp) {
    let org = acme(&app).await;
    let owner = app
        .with_db(|conn| {
            orgsettings::models::user::User::find_by_login(conn, "owner")
                .unwrap()
                .remove(0)
        })
        .await;
    // the save committed (flag and job row) and the server stopped before the job ran
    let org_id = org.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organizations;
        diesel::update(organizations::table.find(org_id))
            .set(organizations::flags.eq(1 | 64))
            .execute(conn)
            .unwrap();
        let actor = orgsettings::models::actor::Actor::user(&owner, Some("198.51.100.7".into()));
        orgsettings::models::job::create(
            conn,
            orgsettings::models::job::Requirement::VerifiedEmail,
            org_id,
            &actor,
        )
        .unwrap();
    })
    .await;
    let before = outbox(&app).await.len();
    let config = orgsettings::config::Config::for_url(url::Url::parse(&app.base).unwrap());
    let again = config.clone();
    let removed = app
        .with_db(move |conn| orgsettings::members::run_unfinished_jobs(conn, &config).unwrap())
        .await;
    assert_eq!(removed, 2);
    let removed_again = app
        .with_db(move |conn| orgsettings::members::run_unfinished_jobs(conn, &again).unwrap())
        .await;
    assert_eq!(removed_again, 0);
    assert_eq!(outbox(&app).await.len(), before + 2, "one email each");
    let entries = audit_entries(&app, org.id).await;
    let pending: Vec<_> = entries
        .iter()
        .filter(|(e, _)| e == "member.pending")
        .collect();
    assert_eq!(pending.len(), 2);
    let log = app
        .get("/settings/acme/audit-log/?event=member.pending")
        .await;
    assert!(
        log.contains("198.51.100.7"),
        "the IP of the save that caused it"
    );
}

async fn the_same_requirement_job_run_twice_at_once_removes_and_emails_each_member_once(
    app: TestApp,
) {
    // the save's own task and the periodic runner can pick up the same job
    const UNVERIFIED: usize = 40;
    let owner = app.create_user("owner").await;
    let org = app.create_org(&owner, "Acme", "acme").await;
    let org_id = org.id;
    let job_id = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::organizations;
            use orgsettings::models::user::{EmailAddress, NewUser, User, Username};
            for i in 0..UNVERIFIED {
                let new_user = NewUser {
                    username: Username::parse(&format!("u{i}")).unwrap(),
                    email: EmailAddress::parse(&format!("u{i}@example.com")).unwrap(),
                    password: None,
                    is_superuser: false,
                    email_verified: false,
                };
                let user = User::create(conn, &new_user).unwrap();
                orgsettings::models::member::Member::add_user(conn, org_id, &user, Role::Member)
                    .unwrap();
            }
            diesel::update(organizations::table.find(org_id))
                .set(organizations::flags.eq(1 | 64))
                .execute(conn)
                .unwrap();
            let actor = orgsettings::models::actor::Actor::user(&owner, None);
            orgsettings::models::job::create(
                conn,
                orgsettings::models::job::Requirement::VerifiedEmail,
                org_id,
                &actor,
            )
            .unwrap()
        })
        .await;
    let config = orgsettings::config::Config::for_url(url::Url::parse(&app.base).unwrap());
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (pool, config, start) = (app.pool.clone(), config.clone(), start.clone());
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().unwrap();
                start.wait();
                orgsettings::members::run_requirement_job(&mut conn, &config, job_id).unwrap()
            })
        })
        .collect();
    let mut removed = 0;
    for run in runs {
        removed += run.await.unwrap();
    }
    assert_eq!(removed, UNVERIFIED);
    assert_eq!(outbox(&app).await.len(), UNVERIFIED, "one email each");
    let pending = audit_entries(&app, org_id)
        .await
        .into_iter()
        .filter(|(e, _)| e == "member.pending")
        .count();
    assert_eq!(pending, UNVERIFIED);
    let states = member_states(&app, org_id).await;
    assert_eq!(
        states.iter().filter(|(u, _)| u.is_none()).count(),
        UNVERIFIED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_feature_off_require_email_verification_is_ignored_but_still_validated() {
    let mut options = crate::common::Options::new(crate::common::Backend::Sqlite);
    options.config = Box::new(|s| {
        s.features =
            orgsettings::config::Features::parse("-organizations:required-email-verification")
                .unwrap()
    });
    let app = TestApp::spawn_with(options).await.unwrap();
    let org = acme(&app).await;
    let (status, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"requireEmailVerification": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requireEmailVerification"], false);
    assert_eq!(
        member_states(&app, org.id)
            .await
            .iter()
            .filter(|(u, _)| u.is_some())
            .count(),
        5,
        "nobody removed"
    );
    let unverified = app.visitor();
    unverified.login("u1", PASSWORD).await;
    let u1 = app
        .with_db(|conn| {
            orgsettings::models::user::User::find_by_login(conn, "u1")
                .unwrap()
                .remove(0)
        })
        .await;
    let other = app.create_org(&u1, "Mine", "mine").await;
    let (status, body) = unverified
        .api_put(
            "/api/0/organizations/mine/",
            json!({"requireEmailVerification": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"requireEmailVerification": [orgsettings::settings::save::ERR_EMAIL_VERIFICATION]})
    );
    assert_eq!(other.slug, "mine");
}
