//! Regression tests for the outside security review: server-side sessions, the throttle around every
//! password and code check, the client address behind proxies, and bounded flash messages.

use futures::future::join_all;
use orgsettings::config::TrustedProxies;
use orgsettings::models::session;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{PASSWORD, TestApp, TestDb, Visitor, enrol_totp, totp_code};
use crate::on_both_backends;

/// Settings for an app behind a reverse proxy on 127.0.0.1 (the test client's address).
fn behind_proxy(config: &mut orgsettings::config::Config) {
    config.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
}

async fn sessions_of(app: &TestApp, user_id: i64) -> i64 {
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::sessions;
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .count()
            .get_result(conn)
            .unwrap()
    })
    .await
}

/// A six-digit code that is not accepted for the secret now (nor one step either side).
fn wrong_code(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| orgsettings::auth::two_factor::code_at(secret, *t).unwrap())
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !valid.contains(code))
        .unwrap()
}

/// Logs a fresh visitor in with the password (from `ip`, through the proxy) up to the second step.
async fn password_step(app: &TestApp, ip: &str) -> Visitor {
    let visitor = app.visitor();
    visitor.get("/login").await;
    let page = visitor
        .post_form_with_headers(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &[("x-forwarded-for", ip)],
        )
        .await;
    page.assert_redirect("/login/2fa/");
    visitor
}

/// Changes a setting through the API, with `X-Forwarded-For` set as a proxy (or a client) would.
async fn put_from(visitor: &Visitor, forwarded_for: &str) -> StatusCode {
    let token = visitor.csrf_token().await;
    visitor
        .client
        .put(visitor.url("/api/0/organizations/acme/"))
        .header("X-CSRFToken", token)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"isEarlyAdopter": true}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn last_audit_ip(app: &TestApp, org_id: i64) -> Option<String> {
    app.with_db(move |conn| {
        orgsettings::models::audit::AuditEntry::list(conn, org_id, Default::default()).unwrap()[0]
            .ip_address
            .clone()
    })
    .await
}

on_both_backends!(
    a_session_lives_on_the_server_and_logout_kills_every_copy_of_its_cookie,
    leaving_superuser_mode_ends_the_grant_for_a_copied_cookie_too,
    a_privilege_change_ends_the_users_sessions_on_the_server,
    expired_sessions_are_refused_and_purged,
    parallel_wrong_logins_get_no_more_guesses_than_the_limit,
    parallel_wrong_logins_from_one_address_get_no_more_guesses_than_the_limit,
    the_account_throttle_counts_the_account_whatever_name_was_typed,
    a_correct_password_does_not_give_more_second_factor_guesses,
    the_password_for_removing_an_organization_is_throttled,
    the_code_for_turning_two_factor_off_is_throttled,
    the_client_address_comes_from_trusted_proxies_only,
    many_posts_without_a_page_view_keep_a_bounded_queue_of_messages,
    an_invitee_cannot_take_a_username_that_is_someone_elses_email_address,
    a_username_that_already_shadows_an_email_does_not_lock_its_owner_out,
    addresses_compare_alike_in_any_case_and_unicode_form,
);

async fn a_session_lives_on_the_server_and_logout_kills_every_copy_of_its_cookie(app: TestApp) {
    let alice = app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    assert_eq!(
        sessions_of(&app, alice.id).await,
        1,
        "the state is stored, tied to the user"
    );
    let copied = app.session_cookie().unwrap();
    app.post_form("/logout", &[])
        .await
        .assert_redirect("/login");
    assert_eq!(sessions_of(&app, alice.id).await, 0);
    let thief = app.visitor();
    thief.set_session_cookie(&copied);
    thief
        .get("/organizations/")
        .await
        .assert_redirect("/login?next=%2Forganizations%2F");
}

async fn leaving_superuser_mode_ends_the_grant_for_a_copied_cookie_too(app: TestApp) {
    let admin = app.create_user_with("admin", true).await;
    let id = admin.id;
    app.with_db(move |conn| orgsettings::models::permission::add(conn, id, "users.admin").unwrap())
        .await;
    app.login("admin", PASSWORD).await;
    app.get("/superuser/").await;
    app.post_form(
        "/superuser/",
        &[("password", PASSWORD), ("next", "/manage/")],
    )
    .await
    .assert_redirect("/manage/");
    assert_eq!(app.get("/manage/").await.status, StatusCode::OK);
    let copied = app.session_cookie().unwrap();
    app.post_form("/superuser/leave/", &[])
        .await
        .assert_redirect("/organizations/");
    let thief = app.visitor();
    thief.set_session_cookie(&copied);
    let page = thief.get("/manage/").await;
    assert_ne!(
        page.status,
        StatusCode::OK,
        "the copied cookie lost superuser mode"
    );
    assert_eq!(
        thief.get("/manage/users/").await.status,
        StatusCode::SEE_OTHER,
        "and its login"
    );
}

async fn a_privilege_change_ends_the_users_sessions_on_the_server(app: TestApp) {
    let admin = app.create_user_with("admin", true).await;
    let id = admin.id;
    app.with_db(move |conn| orgsettings::models::permission::add(conn, id, "users.admin").unwrap())
        .await;
    let bob = app.create_user("bob").await;
    let bobs_browser = app.visitor();
    bobs_browser.login("bob", PASSWORD).await;
    assert_eq!(sessions_of(&app, bob.id).await, 1);
    app.login("admin", PASSWORD).await;
    app.get("/superuser/").await;
    app.post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    let user_page = format!("/manage/users/{}/", bob.id);
    app.get(&user_page).await;
    app.post_form(&user_page, &[("action", "grant-superuser")])
        .await
        .assert_redirect(&user_page);
    assert_eq!(sessions_of(&app, bob.id).await, 0);
    assert_eq!(
        bobs_browser.get("/organizations/").await.status,
        StatusCode::SEE_OTHER
    );
}

async fn expired_sessions_are_refused_and_purged(app: TestApp) {
    let alice = app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let user_id = alice.id;
    app.with_db(move |conn| {
        let past = orgsettings::db::query::now() - chrono::Duration::hours(1);
        session::insert(conn, &session::key_hash("old"), Some(user_id), "{}", past).unwrap();
        assert_eq!(
            session::load(conn, &session::key_hash("old")).unwrap(),
            None
        );
        assert_eq!(session::purge_expired(conn).unwrap(), 1);
        assert_eq!(session::count(conn).unwrap(), 1, "the live session stays");
    })
    .await;
    assert_eq!(app.get("/organizations/").await.status, StatusCode::OK);
}

async fn parallel_wrong_logins_get_no_more_guesses_than_the_limit(app: TestApp) {
    let app = app.respawn_with(behind_proxy).await;
    app.create_user("alice").await;
    let visitors: Vec<Visitor> = (0..40).map(|_| app.visitor()).collect();
    join_all(visitors.iter().map(|v| v.get("/login"))).await;
    // every guess from another address, so only the account's own limit stands in the way
    let ips: Vec<String> = (0..40).map(|n| format!("198.51.100.{n}")).collect();
    let pages = join_all(visitors.iter().zip(&ips).map(|(v, ip)| async move {
        v.post_form_with_headers(
            "/login",
            &[("username", "alice"), ("password", "wrong password")],
            &[("x-forwarded-for", ip.as_str())],
        )
        .await
    }))
    .await;
    let guessed = pages
        .iter()
        .filter(|p| p.status == StatusCode::BAD_REQUEST)
        .count();
    let refused = pages
        .iter()
        .filter(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(guessed + refused, 40);
    assert_eq!(guessed, 10, "the limit, not more, whatever the concurrency");
}

async fn parallel_wrong_logins_from_one_address_get_no_more_guesses_than_the_limit(app: TestApp) {
    let visitors: Vec<Visitor> = (0..30).map(|_| app.visitor()).collect();
    join_all(visitors.iter().map(|v| v.get("/login"))).await;
    let names: Vec<String> = (0..30).map(|n| format!("nobody{n}")).collect();
    let pages = join_all(visitors.iter().zip(&names).map(|(v, name)| async move {
        v.post_form(
            "/login",
            &[("username", name.as_str()), ("password", "wrong password")],
        )
        .await
    }))
    .await;
    let guessed = pages
        .iter()
        .filter(|p| p.status == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!(guessed, 10);
}

async fn the_account_throttle_counts_the_account_whatever_name_was_typed(app: TestApp) {
    let app = app.respawn_with(behind_proxy).await;
    app.create_user("member").await;
    app.get("/login").await;
    for n in 0..10 {
        let ip = format!("198.51.100.{n}");
        let page = app
            .post_form_with_headers(
                "/login",
                &[("username", "member"), ("password", "wrong password")],
                &[("x-forwarded-for", ip.as_str())],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    // from an address with no failures, by the account's email address
    let page = app
        .post_form_with_headers(
            "/login",
            &[("username", "MEMBER@example.com"), ("password", PASSWORD)],
            &[("x-forwarded-for", "203.0.113.50")],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
}

async fn a_correct_password_does_not_give_more_second_factor_guesses(app: TestApp) {
    let app = app.respawn_with(behind_proxy).await;
    let alice = app.create_user("alice").await;
    let secret = enrol_totp(&app, &alice).await;
    let wrong = wrong_code(&secret);
    for n in 0..10 {
        // a new address each time, and the right password before every code
        let ip = format!("198.51.100.{n}");
        let visitor = password_step(&app, &ip).await;
        let page = visitor
            .post_form_with_headers(
                "/login/2fa/",
                &[("code", wrong.as_str())],
                &[("x-forwarded-for", ip.as_str())],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.contains("That code is not right."), "{}", page.body);
    }
    let visitor = password_step(&app, "198.51.100.200").await;
    let code = totp_code(&secret);
    let page = visitor
        .post_form_with_headers(
            "/login/2fa/",
            &[("code", code.as_str())],
            &[("x-forwarded-for", "198.51.100.200")],
        )
        .await;
    assert!(
        page.contains("Too many failed attempts. Wait 15 minutes before trying again."),
        "{}",
        page.body
    );
    assert_eq!(
        visitor.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "not logged in"
    );
}

async fn the_password_for_removing_an_organization_is_throttled(app: TestApp) {
    app.owner_of_acme().await;
    app.get("/settings/acme/").await;
    for _ in 0..10 {
        let page = app
            .post_form(
                "/settings/acme/remove/",
                &[("confirm_slug", "acme"), ("password", "wrong password")],
            )
            .await;
        assert_eq!(
            page.field_error("remove").as_deref(),
            Some("Your password is not correct.")
        );
    }
    let page = app
        .post_form(
            "/settings/acme/remove/",
            &[("confirm_slug", "acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.field_error("remove")
            .unwrap()
            .starts_with("Too many failed attempts.")
    );
    let pending = app
        .with_db(|conn| {
            orgsettings::models::organization::Organization::find_by_slug(conn, "acme")
                .unwrap()
                .unwrap()
                .is_pending_deletion()
        })
        .await;
    assert!(!pending, "nothing was scheduled");
}

async fn the_code_for_turning_two_factor_off_is_throttled(app: TestApp) {
    let alice = app.create_user("alice").await;
    let secret = enrol_totp(&app, &alice).await;
    let visitor = password_step(&app, "127.0.0.1").await;
    let code = crate::common::next_totp_code(&secret);
    visitor
        .post_form("/login/2fa/", &[("code", code.as_str())])
        .await
        .assert_redirect("/organizations/");
    visitor.get("/account/security/").await;
    let wrong = wrong_code(&secret);
    for _ in 0..10 {
        let page = visitor
            .post_form(
                "/account/security/",
                &[("action", "disable"), ("code", wrong.as_str())],
            )
            .await;
        assert_eq!(
            page.field_error("code").as_deref(),
            Some("That code is not right. Enter the 6-digit code your app shows now.")
        );
    }
    let page = visitor
        .post_form(
            "/account/security/",
            &[("action", "disable"), ("code", totp_code(&secret).as_str())],
        )
        .await;
    assert!(
        page.field_error("code")
            .unwrap()
            .starts_with("Too many failed attempts."),
        "{}",
        page.body
    );
    let still_on = app
        .with_db(move |conn| alice.has_two_factor(conn).unwrap())
        .await;
    assert!(still_on);
}

async fn the_client_address_comes_from_trusted_proxies_only(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    assert_eq!(put_from(&app, "203.0.113.7").await, StatusCode::OK);
    assert_eq!(
        last_audit_ip(&app, org.id).await.as_deref(),
        Some("127.0.0.1"),
        "no proxy is trusted: the header is ignored"
    );

    let app = app.respawn_with(behind_proxy).await;
    let (_, org) = app.owner_of_acme().await;
    assert_eq!(put_from(&app, "6.6.6.6, 203.0.113.7").await, StatusCode::OK);
    assert_eq!(
        last_audit_ip(&app, org.id).await.as_deref(),
        Some("203.0.113.7"),
        "the rightmost address the proxy did not add itself"
    );
}

async fn many_posts_without_a_page_view_keep_a_bounded_queue_of_messages(app: TestApp) {
    let alice = app.create_user("alice").await;
    crate::common::unverify(&app, &alice).await;
    app.login("alice", PASSWORD).await;
    for _ in 0..30 {
        let page = app
            .post_form(
                "/account/",
                &[("action", "verify"), ("email", "alice@example.com")],
            )
            .await;
        page.assert_redirect("/account/");
    }
    let page = app.get("/account/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("role=\"status\"").count(),
        orgsettings::web::session::MAX_FLASHES
    );
}

async fn an_invitee_cannot_take_a_username_that_is_someone_elses_email_address(app: TestApp) {
    app.owner_of_acme().await;
    app.get("/settings/acme/members/").await;
    app.post_form(
        "/settings/acme/members/",
        &[
            ("action", "invite"),
            ("email", "newbie@example.com"),
            ("role", "member"),
        ],
    )
    .await;
    let link = crate::common::link_in(
        &crate::common::outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    let newbie = app.visitor();
    newbie.get(&link).await;
    let page = newbie
        .post_form(
            &link,
            &[
                ("username", "owner@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        page.field_error("username").as_deref(),
        Some(orgsettings::models::user::ERR_USERNAME_NOT_OWN_EMAIL)
    );
    // their own address is fine as a username
    newbie
        .post_form(
            &link,
            &[
                ("username", "Newbie@Example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/settings/acme/");
    // and the owner still logs in by email
    let owner = app.visitor();
    owner.get("/login").await;
    owner
        .post_form(
            "/login",
            &[("username", "owner@example.com"), ("password", PASSWORD)],
        )
        .await
        .assert_redirect("/organizations/");
}

async fn a_username_that_already_shadows_an_email_does_not_lock_its_owner_out(app: TestApp) {
    app.create_user("owner").await;
    // a squatter from before the rule: username = the owner's address, another password
    let squatter = orgsettings::models::user::NewUser {
        username: orgsettings::models::user::Username::parse("squatter").unwrap(),
        email: orgsettings::models::user::EmailAddress::parse("squatter@example.com").unwrap(),
        password: Some(orgsettings::models::user::Password::parse("squatters password").unwrap()),
        is_superuser: false,
        email_verified: true,
    };
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::users;
        let user = orgsettings::models::user::User::create(conn, &squatter).unwrap();
        diesel::update(users::table.find(user.id))
            .set(users::username.eq("OWNER@example.com"))
            .execute(conn)
            .unwrap();
    })
    .await;
    app.get("/login").await;
    app.post_form(
        "/login",
        &[("username", "owner@example.com"), ("password", PASSWORD)],
    )
    .await
    .assert_redirect("/organizations/");
    assert!(app.get("/organizations/").await.contains("owner"));
}

async fn addresses_compare_alike_in_any_case_and_unicode_form(app: TestApp) {
    let new_user = orgsettings::models::user::NewUser {
        username: orgsettings::models::user::Username::parse("elise").unwrap(),
        email: orgsettings::models::user::EmailAddress::parse("ÉLISE@example.com").unwrap(),
        password: Some(orgsettings::models::user::Password::parse(PASSWORD).unwrap()),
        is_superuser: false,
        email_verified: true,
    };
    let elise = app
        .with_db(move |conn| orgsettings::models::user::User::create(conn, &new_user).unwrap())
        .await;
    let verified = app
        .with_db(move |conn| elise.primary_email_verified(conn).unwrap())
        .await;
    assert!(verified, "a verified address counts as verified");
    // lowercase, and the decomposed é (e + combining acute) of another keyboard
    for login in ["élise@example.com", "e\u{301}lise@EXAMPLE.com"] {
        let visitor = app.visitor();
        visitor.get("/login").await;
        visitor
            .post_form("/login", &[("username", login), ("password", PASSWORD)])
            .await
            .assert_redirect("/organizations/");
    }
    // a member's address in another case is the member's, not a new invitation
    let (owner, org) = app.owner_of_acme().await;
    let _ = owner;
    let org_id = org.id;
    app.with_db(move |conn| {
        let user =
            orgsettings::models::user::User::find_by_login(conn, "elise").unwrap()[0].clone();
        orgsettings::models::member::Member::add_user(
            conn,
            org_id,
            &user,
            orgsettings::models::role::Role::Member,
        )
        .unwrap()
    })
    .await;
    app.get("/settings/acme/members/").await;
    let page = app
        .post_form(
            "/settings/acme/members/",
            &[
                ("action", "invite"),
                ("email", "élise@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(
        page.field_error("email").as_deref(),
        Some("élise@example.com is already a member of this organization.")
    );
}

on_both_backends!(
    oversized_lists_and_configs_are_refused_and_nothing_is_stored,
    organization_names_refuse_control_characters,
    invitations_and_resends_are_limited_per_address,
    invitations_are_limited_per_inviter,
    invitations_are_limited_per_organization,
    page_numbers_past_the_end_are_clamped_not_overflowed,
);

async fn oversized_lists_and_configs_are_refused_and_nothing_is_stored(app: TestApp) {
    app.owner_of_acme().await;
    let url = "/api/0/organizations/acme/";
    let huge = "a".repeat(7 * 1024 * 1024);
    let (status, body) = app.api_put(url, json!({"safeFields": [huge]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"safeFields": ["List of safe fields is too long."]})
    );
    let (status, body) = app.api_put(url, json!({"relayPiiConfig": format!("{{\"rules\": {{}}, \"x\": \"{}\"}}", "b".repeat(100_000))})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"relayPiiConfig": ["Ensure this field has no more than 100000 characters."]})
    );
    let keys = crate::common::relay_keys(1001);
    let relays: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(n, key)| json!({"name": format!("r{n}"), "publicKey": key}))
        .collect();
    let (status, body) = app.api_put(url, json!({"trustedRelays": relays})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"trustedRelays": ["Ensure this field has no more than 1000 elements."]})
    );
    let (status, body) = app
        .api_put(
            url,
            json!({"trustedRelays": [{"name": "n".repeat(201), "publicKey": keys[0]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"trustedRelays": ["Relay key info with a name longer than 200 characters in Trusted Relays"]})
    );
    let (_, current) = app.api_get(url).await;
    assert_eq!(current["safeFields"], json!([]));
    assert_eq!(current["relayPiiConfig"], json!(null));
    assert_eq!(current["trustedRelays"], json!([]));
    // a thousand relays are fine
    let thousand: Vec<_> = keys[..1000]
        .iter()
        .enumerate()
        .map(|(n, key)| json!({"name": format!("r{n}"), "publicKey": key}))
        .collect();
    let (status, _) = app.api_put(url, json!({"trustedRelays": thousand})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn organization_names_refuse_control_characters(app: TestApp) {
    app.owner_of_acme().await;
    for name in ["Acme\nCorp", "Acme\rCorp", "Ac\tme"] {
        let (status, body) = app
            .api_put("/api/0/organizations/acme/", json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(
            body,
            json!({"name": [orgsettings::models::organization::ERR_NAME_CONTROL]})
        );
    }
    let (_, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"name": "Acme\u{0}Corp"}),
        )
        .await;
    assert_eq!(body, json!({"name": ["Null characters are not allowed."]}));
    let page = app
        .submit("/organizations/new/", &[("name", "New\nOrg")])
        .await;
    assert_eq!(
        page.field_error("name").as_deref(),
        Some(orgsettings::models::organization::ERR_NAME_CONTROL)
    );
    let (_, current) = app.api_get("/api/0/organizations/acme/").await;
    assert_eq!(current["name"], json!("Acme"));
}

async fn invitations_and_resends_are_limited_per_address(app: TestApp) {
    app.owner_of_acme().await;
    let page = "/settings/acme/members/";
    app.get(page).await;
    app.post_form(
        page,
        &[
            ("action", "invite"),
            ("email", "x@example.com"),
            ("role", "member"),
        ],
    )
    .await
    .assert_redirect(page);
    let member_id = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::organization_members as m;
            m::table
                .filter(m::email.eq("x@example.com"))
                .select(m::id)
                .first::<i64>(conn)
                .unwrap()
        })
        .await
        .to_string();
    for _ in 0..9 {
        app.post_form(
            page,
            &[("action", "resend"), ("member", member_id.as_str())],
        )
        .await
        .assert_redirect(page);
    }
    app.post_form(
        page,
        &[("action", "resend"), ("member", member_id.as_str())],
    )
    .await
    .assert_redirect(page);
    assert!(
        app.get(page)
            .await
            .contains(orgsettings::members::ERR_RATE_LIMITED)
    );
    assert_eq!(
        crate::common::outbox(&app).await.len(),
        10,
        "the eleventh was not sent"
    );
}

async fn invitations_are_limited_per_inviter(app: TestApp) {
    app.owner_of_acme().await;
    let page = "/settings/acme/members/";
    app.get(page).await;
    for n in 0..50 {
        let email = format!("p{n}@example.com");
        app.post_form(
            page,
            &[
                ("action", "invite"),
                ("email", email.as_str()),
                ("role", "member"),
            ],
        )
        .await
        .assert_redirect(page);
    }
    let refused = app
        .post_form(
            page,
            &[
                ("action", "invite"),
                ("email", "p50@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.field_error("email").as_deref(),
        Some(orgsettings::members::ERR_RATE_LIMITED)
    );
    assert_eq!(
        refused.textarea("email").as_deref(),
        Some("p50@example.com"),
        "the input is kept"
    );
    // a refused invitation (already invited) does not count
    assert_eq!(crate::common::outbox(&app).await.len(), 50);
}

async fn invitations_are_limited_per_organization(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let config = orgsettings::config::Config::for_url(url::Url::parse(&app.base).unwrap());
    let refused = app
        .with_db(move |conn| {
            let actor = orgsettings::models::actor::Actor::cli();
            for n in 0..100 {
                let email = format!("q{n}@example.com");
                orgsettings::members::invite(
                    conn,
                    &config,
                    &org,
                    &actor,
                    orgsettings::models::role::Role::Owner,
                    &email,
                    orgsettings::models::role::Role::Member,
                    true,
                )
                .unwrap();
            }
            orgsettings::members::invite(
                conn,
                &config,
                &org,
                &actor,
                orgsettings::models::role::Role::Owner,
                "q100@example.com",
                orgsettings::models::role::Role::Member,
                true,
            )
            .unwrap_err()
        })
        .await;
    assert!(
        matches!(refused, orgsettings::errors::DomainError::RateLimited(_)),
        "{refused:?}"
    );
}

async fn page_numbers_past_the_end_are_clamped_not_overflowed(app: TestApp) {
    let admin = app.create_user_with("admin", true).await;
    let id = admin.id;
    app.with_db(move |conn| {
        for permission in orgsettings::models::permission::KNOWN {
            orgsettings::models::permission::add(conn, id, permission).unwrap();
        }
    })
    .await;
    app.login("admin", PASSWORD).await;
    app.get("/superuser/").await;
    app.post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    for path in [
        "/manage/users/?page=9223372036854775807",
        "/manage/outbox/?page=9223372036854775807",
        "/manage/users/?page=-9223372036854775808",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
}

crate::db_test_on_both_backends!(addresses_stored_before_normalization_are_normalized_again,);

fn addresses_stored_before_normalization_are_normalized_again(db: TestDb) {
    use diesel::prelude::*;
    use orgsettings::db::schema::{user_emails, users};
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let new_user = orgsettings::models::user::NewUser {
        username: orgsettings::models::user::Username::parse("elise").unwrap(),
        email: orgsettings::models::user::EmailAddress::parse("ÉLISE@example.com").unwrap(),
        password: None,
        is_superuser: false,
        email_verified: true,
    };
    let user = orgsettings::models::user::User::create(&mut conn, &new_user).unwrap();
    // what the migration's SQL lower() leaves for an old row on SQLite
    diesel::update(users::table.find(user.id))
        .set(users::email_normalized.eq("Élise@example.com"))
        .execute(&mut conn)
        .unwrap();
    diesel::update(user_emails::table.filter(user_emails::user_id.eq(user.id)))
        .set(user_emails::email_normalized.eq("Élise@example.com"))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        orgsettings::models::user::normalize_stored_emails(&mut conn).unwrap(),
        2
    );
    let stored: String = users::table
        .find(user.id)
        .select(users::email_normalized)
        .first(&mut conn)
        .unwrap();
    assert_eq!(stored, "élise@example.com");
    assert_eq!(
        orgsettings::models::user::normalize_stored_emails(&mut conn).unwrap(),
        0,
        "nothing left to do"
    );
}
