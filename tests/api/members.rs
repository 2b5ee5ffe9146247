//! `/settings/{org}/members/` and `/accept/{member_id}/{token}/`.

use orgsettings::models::role::Role;
use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, audit_entries, enrol_totp, link_in, outbox, totp_code};
use crate::on_both_backends;

const PAGE: &str = "/settings/acme/members/";

async fn invite(app: &TestApp, email: &str, role: &str) -> crate::common::Page {
    app.get(PAGE).await;
    app.post_form(
        PAGE,
        &[("action", "invite"), ("email", email), ("role", role)],
    )
    .await
}

on_both_backends!(
    the_members_page_shows_a_hundred_at_a_time_and_searches,
    the_members_page_costs_the_same_statements_in_a_big_organization,
    the_members_page_and_api_answer_for_forty_thousand_members,
    the_members_page_lists_owners_first_by_address_through_role_and_address_changes,
    an_owner_invites_by_email_and_the_invitee_accepts_with_their_account,
    an_invitee_without_an_account_creates_one_and_joins,
    bad_invitations_are_refused_next_to_the_field,
    expired_invitations_are_refused_until_resent_and_forged_tokens_never_work,
    two_owners_removing_each_other_at_once_leave_one_owner,
    one_invitation_accepted_by_two_users_at_once_lets_only_one_join,
    roles_change_within_limits_and_the_last_owner_stays,
    members_see_the_list_but_cannot_change_it,
    an_invitee_without_an_account_joins_an_organization_requiring_2fa_after_setting_it_up,
    a_logged_in_invitee_without_2fa_is_led_through_the_setup_and_joins,
    a_waiting_invitation_revoked_meanwhile_is_dropped_with_a_message,
    several_addresses_are_invited_at_once_or_none_when_one_is_refused,
    removing_a_member_and_revoking_an_invitation_are_confirmed_first,
    each_role_is_described_where_it_is_chosen,
);

async fn several_addresses_are_invited_at_once_or_none_when_one_is_refused(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = app.create_user("mia").await;
    app.add_member(&org, &mia, Role::Member).await;
    let refused = invite(
        &app,
        "a@example.com, mia@example.com\nb@example.com",
        "member",
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.field_error("email").as_deref(),
        Some("mia@example.com is already a member of this organization.")
    );
    assert!(outbox(&app).await.is_empty(), "none is invited");
    let too_many: String = (0..=orgsettings::members::MAX_INVITES_AT_ONCE)
        .map(|n| format!("p{n}@example.com "))
        .collect();
    let refused = invite(&app, &too_many, "member").await;
    assert!(
        refused
            .field_error("email")
            .unwrap()
            .starts_with("Invite at most 20 addresses at once")
    );
    invite(
        &app,
        "a@example.com, A@example.com;\nb@example.com  c@example.com",
        "manager",
    )
    .await
    .assert_redirect(PAGE);
    let page = app.get(PAGE).await;
    assert!(page.contains("3 invitations sent: a@example.com, b@example.com, c@example.com."));
    let sent: Vec<String> = outbox(&app)
        .await
        .into_iter()
        .map(|m| m.to_address)
        .collect();
    assert_eq!(sent, ["a@example.com", "b@example.com", "c@example.com"]);
    let invites = audit_entries(&app, org.id)
        .await
        .into_iter()
        .filter(|(e, _)| e == "member.invite")
        .count();
    assert_eq!(invites, 3);
}

async fn removing_a_member_and_revoking_an_invitation_are_confirmed_first(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = app.create_user("mia").await;
    app.add_member(&org, &mia, Role::Member).await;
    invite(&app, "gus@example.com", "member").await;
    let members = app
        .with_db(move |conn| crate::common::all_members(conn, org.id))
        .await;
    let mia_id = members
        .iter()
        .find(|v| v.username.as_deref() == Some("mia"))
        .unwrap()
        .member
        .id;
    let gus_id = members.iter().find(|v| v.is_pending()).unwrap().member.id;
    let list = app.get(PAGE).await;
    assert!(!list.contains("id=\"confirm\""));
    assert!(list.contains(&format!("href=\"?remove={mia_id}#confirm\"")));
    let asked = app.get(&format!("{PAGE}?remove={mia_id}")).await;
    assert!(asked.contains("Remove mia from this organization?"));
    assert!(asked.contains("<tr class=\"is-target\">"));
    assert!(
        asked.contains("name=\"action\" value=\"remove\" class=\"danger\">Remove member</button>")
    );
    let asked = app.get(&format!("{PAGE}?revoke={gus_id}")).await;
    assert!(asked.contains("Revoke the invitation to gus@example.com?"));
    assert!(
        !app.get(&format!("{PAGE}?remove={gus_id}"))
            .await
            .contains("id=\"confirm\""),
        "an invitation is revoked, not removed"
    );
    assert_eq!(
        app.get(&format!("{PAGE}?remove=abc")).await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn each_role_is_described_where_it_is_chosen(app: TestApp) {
    app.owner_of_acme().await;
    let page = app.get(PAGE).await;
    for role in [Role::Member, Role::Manager, Role::Owner] {
        assert!(
            page.contains(&format!(
                "<p class=\"help\" id=\"invite_role_{}_help\">{}</p>",
                role.id(),
                role.description()
            )),
            "{role}"
        );
    }
    assert!(
        !page.contains("invite_role_admin"),
        "the retired role is not offered"
    );
}

/// acme requires two-factor authentication; its owner has it. The invitation link for `email`.
async fn acme_requiring_2fa(app: &TestApp, email: &str) -> String {
    let (owner, org) = app.owner_of_acme().await;
    enrol_totp(app, &owner).await;
    let org_id = org.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organizations as o;
        diesel::update(o::table.find(org_id))
            .set(o::flags.eq(o::flags + (1 << orgsettings::models::flags::Flag::Require2fa.bit())))
            .execute(conn)
            .unwrap()
    })
    .await;
    invite(app, email, "member").await.assert_redirect(PAGE);
    link_in(
        &outbox(app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap()
}

fn totp_secret_of(page: &crate::common::Page) -> String {
    regex::Regex::new(r#"id="totp-secret">([A-Z2-7]+)<"#)
        .unwrap()
        .captures(&page.body)
        .expect("the security page shows the key")[1]
        .to_owned()
}

async fn is_member(app: &TestApp, username: &'static str) -> bool {
    app.with_db(move |conn| {
        let user = orgsettings::models::user::User::find_by_login(conn, username)
            .unwrap()
            .remove(0);
        let org = orgsettings::models::organization::Organization::find_by_slug(conn, "acme")
            .unwrap()
            .unwrap();
        orgsettings::models::member::Member::find(conn, org.id, user.id)
            .unwrap()
            .is_some()
    })
    .await
}

async fn an_invitee_without_an_account_joins_an_organization_requiring_2fa_after_setting_it_up(
    app: TestApp,
) {
    let link = acme_requiring_2fa(&app, "erin@example.com").await;
    let erin = app.visitor();
    assert!(
        erin.get(&link)
            .await
            .contains("Acme requires two-factor authentication: after creating your account")
    );
    let created = erin
        .post_form(
            &link,
            &[
                ("username", "erin"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    let next = format!("/account/security/?next={}", encode(&link));
    created.assert_redirect(&next);
    assert!(!is_member(&app, "erin").await, "not before the setup");
    let security = erin.get(&next).await;
    assert!(security.contains(
        "Your account erin is ready. Acme requires two-factor authentication from every member"
    ));
    let secret = totp_secret_of(&security);
    erin.post_form(
        "/account/security/",
        &[("action", "enrol"), ("code", &totp_code(&secret))],
    )
    .await
    .assert_redirect("/account/security/");
    assert!(is_member(&app, "erin").await, "joined with the setup");
    let codes = erin.get("/account/security/").await;
    assert!(codes.contains("Welcome to Acme.") && codes.contains("shown only this once"));
    assert!(codes.contains(
        "<a class=\"button primary\" href=\"/settings/acme/\">I saved them: continue to Acme</a>"
    ));
    assert_eq!(erin.get("/settings/acme/").await.status, StatusCode::OK);
    let org_id = app
        .with_db(|conn| {
            orgsettings::models::organization::Organization::find_by_slug(conn, "acme")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    assert!(
        audit_entries(&app, org_id)
            .await
            .iter()
            .any(|(e, _)| e == "member.accept-invite")
    );
}

async fn a_logged_in_invitee_without_2fa_is_led_through_the_setup_and_joins(app: TestApp) {
    let link = acme_requiring_2fa(&app, "dana@example.com").await;
    app.create_user("dana").await;
    let dana = app.visitor();
    dana.login("dana", PASSWORD).await;
    let page = dana.get(&link).await;
    assert!(page.contains("Acme requires two-factor authentication from every member."));
    assert!(page.contains("Continue as dana"));
    let next = format!("/account/security/?next={}", encode(&link));
    dana.post_form(&link, &[]).await.assert_redirect(&next);
    let security = dana.get(&next).await;
    let secret = totp_secret_of(&security);
    dana.post_form(
        "/account/security/",
        &[("action", "enrol"), ("code", &totp_code(&secret))],
    )
    .await;
    assert!(is_member(&app, "dana").await);
    assert!(
        dana.get("/account/security/")
            .await
            .contains("continue to Acme")
    );
}

async fn a_waiting_invitation_revoked_meanwhile_is_dropped_with_a_message(app: TestApp) {
    let link = acme_requiring_2fa(&app, "dana@example.com").await;
    app.create_user("dana").await;
    let dana = app.visitor();
    dana.login("dana", PASSWORD).await;
    dana.get(&link).await;
    dana.post_form(&link, &[]).await;
    // the owner revokes the invitation while dana sets up 2FA
    let member = link.split('/').nth(2).unwrap().to_owned();
    app.get(PAGE).await;
    app.post_form(PAGE, &[("action", "revoke"), ("member", &member)])
        .await
        .assert_redirect(PAGE);
    let secret = totp_secret_of(&dana.get("/account/security/").await);
    dana.post_form(
        "/account/security/",
        &[("action", "enrol"), ("code", &totp_code(&secret))],
    )
    .await;
    assert!(!is_member(&app, "dana").await);
    let after = dana.get("/account/security/").await;
    assert!(
        after.contains("This invitation is not valid"),
        "{}",
        after.body
    );
    assert!(!after.contains("continue to Acme"));
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn an_owner_invites_by_email_and_the_invitee_accepts_with_their_account(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    invite(&app, "dana@example.com", "manager")
        .await
        .assert_redirect(PAGE);
    let page = app.get(PAGE).await;
    assert!(page.contains("Invitation sent to dana@example.com."));
    assert!(page.contains("Pending invitations"));
    assert!(page.body.contains("dana@example.com"));
    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.to_address, "dana@example.com");
    assert_eq!(mail.subject, "[orgsettings] Join Acme on orgsettings");
    assert_eq!(mail.kind, "member.invite");
    assert!(
        mail.body_text
            .contains("owner invited you to join Acme on orgsettings as Manager.")
    );
    let link = link_in(&mail.body_text, &app.base, "/accept/").unwrap();

    app.create_user("dana").await;
    let dana = app.visitor();
    dana.login("dana", PASSWORD).await;
    let accept = dana.get(&link).await;
    assert_eq!(accept.status, StatusCode::OK);
    assert!(accept.contains("You are invited to join <strong>Acme</strong> as Manager."));
    dana.post_form(&link, &[])
        .await
        .assert_redirect("/settings/acme/");
    assert!(
        dana.get("/settings/acme/")
            .await
            .contains("Welcome to Acme.")
    );
    assert_eq!(
        dana.get(&link).await.status,
        StatusCode::BAD_REQUEST,
        "an invitation works once"
    );
    let events: Vec<String> = audit_entries(&app, org.id)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(
        events,
        ["org.create", "member.invite", "member.accept-invite"]
    );
    let members = app.get(PAGE).await;
    assert!(
        !members.contains("Pending invitations</h2>\n<table"),
        "no pending invitation left"
    );
}

async fn an_invitee_without_an_account_creates_one_and_joins(app: TestApp) {
    app.owner_of_acme().await;
    invite(&app, "erin@example.com", "member").await;
    let link = link_in(
        &outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    let erin = app.visitor();
    let page = erin.get(&link).await;
    assert!(page.contains("Or create an account"));
    let mismatch = erin
        .post_form(
            &link,
            &[
                ("username", "erin"),
                ("password", PASSWORD),
                ("password_confirm", "other one"),
            ],
        )
        .await;
    assert_eq!(
        mismatch.field_error("password_confirm").as_deref(),
        Some("The two passwords do not match.")
    );
    let joined = erin
        .post_form(
            &link,
            &[
                ("username", "erin"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    joined.assert_redirect("/settings/acme/");
    assert_eq!(
        erin.get("/settings/acme/").await.status,
        StatusCode::OK,
        "logged in and a member"
    );
    let verified = app
        .with_db(|conn| {
            let user = orgsettings::models::user::User::find_by_login(conn, "erin")
                .unwrap()
                .remove(0);
            user.primary_email_verified(conn).unwrap()
        })
        .await;
    assert!(verified, "the link proved the address");
    let logged_in = app
        .with_db(|conn| {
            orgsettings::models::user::User::find_by_login(conn, "erin")
                .unwrap()
                .remove(0)
                .last_login
        })
        .await;
    assert!(logged_in.is_some(), "joining logged the new account in");
}

async fn bad_invitations_are_refused_next_to_the_field(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let member = app.create_user("mia").await;
    app.add_member(&org, &member, Role::Member).await;
    let bad = invite(&app, "not-an-email", "member").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.field_error("email").as_deref(),
        Some("“not-an-email”: Enter a valid email address.")
    );
    assert_eq!(bad.textarea("email").as_deref(), Some("not-an-email"));
    let no_role = invite(&app, "x@example.com", "boss").await;
    assert_eq!(no_role.field_error("role").as_deref(), Some("Invalid role"));
    let existing = invite(&app, "MIA@example.com", "member").await;
    assert_eq!(
        existing.field_error("email").as_deref(),
        Some("MIA@example.com is already a member of this organization.")
    );
    invite(&app, "new@example.com", "member")
        .await
        .assert_redirect(PAGE);
    let again = invite(&app, "New@Example.com", "member").await;
    assert_eq!(
        again.field_error("email").as_deref(),
        Some("New@Example.com has already been invited; resend the invitation instead.")
    );
    assert_eq!(outbox(&app).await.len(), 1, "one invitation email");
}

async fn expired_invitations_are_refused_until_resent_and_forged_tokens_never_work(app: TestApp) {
    app.owner_of_acme().await;
    invite(&app, "late@example.com", "member").await;
    let old_link = link_in(
        &outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organization_members;
        diesel::update(organization_members::table.filter(organization_members::user_id.is_null()))
            .set(
                organization_members::token_expires_at
                    .eq(orgsettings::db::query::now() - chrono::Duration::days(1)),
            )
            .execute(conn)
            .unwrap();
    })
    .await;
    assert!(app.get(PAGE).await.contains("expired"));
    app.create_user("late").await;
    let late = app.visitor();
    late.login("late", PASSWORD).await;
    assert!(
        late.get(&old_link)
            .await
            .contains("This invitation has expired.")
    );
    let refused = late.post_form(&old_link, &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // resend: a new token and expiry; the old link dies, the new one works
    let member_id: String = old_link.split('/').nth(2).unwrap().to_owned();
    app.get(PAGE).await;
    app.post_form(
        PAGE,
        &[("action", "resend"), ("member", member_id.as_str())],
    )
    .await
    .assert_redirect(PAGE);
    let new_link = link_in(
        &outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    assert_ne!(new_link, old_link);
    assert_eq!(late.get(&old_link).await.status, StatusCode::BAD_REQUEST);
    late.post_form(&new_link, &[])
        .await
        .assert_redirect("/settings/acme/");
    let forged = format!("/accept/{member_id}/forged-token/");
    assert_eq!(late.get(&forged).await.status, StatusCode::BAD_REQUEST);
}

async fn two_owners_removing_each_other_at_once_leave_one_owner(app: TestApp) {
    use orgsettings::members;
    use orgsettings::models::actor::Actor;
    for round in 0..5 {
        let ann = app.create_user(&format!("ann{round}")).await;
        let bob = app.create_user(&format!("bob{round}")).await;
        let org = app.create_org(&ann, "Acme", &format!("acme{round}")).await;
        app.add_member(&org, &bob, Role::Owner).await;
        let org_id = org.id;
        let member_ids = app
            .with_db(move |conn| {
                use diesel::prelude::*;
                use orgsettings::db::schema::organization_members as m;
                m::table
                    .filter(m::organization_id.eq(org_id))
                    .order(m::id)
                    .select(m::id)
                    .load::<i64>(conn)
                    .unwrap()
            })
            .await;
        // ann removes bob while bob removes ann
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let removals: Vec<_> = [(ann, member_ids[1]), (bob, member_ids[0])]
            .into_iter()
            .map(|(actor, target)| {
                let (pool, org, start) = (app.pool.clone(), org.clone(), start.clone());
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().unwrap();
                    start.wait();
                    members::remove(
                        &mut conn,
                        &org,
                        &Actor::user(&actor, None),
                        Role::Owner,
                        target,
                    )
                    .is_ok()
                })
            })
            .collect();
        let mut succeeded = 0;
        for removal in removals {
            succeeded += usize::from(removal.await.unwrap());
        }
        assert_eq!(
            succeeded, 1,
            "round {round}: exactly one removal goes through"
        );
        let owners = app
            .with_db(move |conn| {
                use diesel::prelude::*;
                use orgsettings::db::schema::organization_members as m;
                m::table
                    .filter(m::organization_id.eq(org_id))
                    .filter(m::role.eq("owner"))
                    .count()
                    .get_result::<i64>(conn)
                    .unwrap()
            })
            .await;
        assert_eq!(owners, 1, "round {round}");
    }
}

async fn one_invitation_accepted_by_two_users_at_once_lets_only_one_join(app: TestApp) {
    use orgsettings::models::actor::Actor;
    let org = app.owner_of_acme().await.1;
    invite(&app, "shared@example.com", "member")
        .await
        .assert_redirect(PAGE);
    let org_id = org.id;
    let (member_id, token) = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::organization_members as m;
            m::table
                .filter(m::organization_id.eq(org_id))
                .filter(m::user_id.is_null())
                .select((m::id, m::token.assume_not_null()))
                .first::<(i64, String)>(conn)
                .unwrap()
        })
        .await;
    let config = orgsettings::config::Config::for_url(url::Url::parse(&app.base).unwrap());
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let mut accepts = Vec::new();
    for name in ["kim", "lou"] {
        let user = app.create_user(name).await;
        let (pool, config, start, token) = (
            app.pool.clone(),
            config.clone(),
            start.clone(),
            token.clone(),
        );
        accepts.push(tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            start.wait();
            orgsettings::members::accept(
                &mut conn,
                &config,
                member_id,
                &token,
                &user,
                &Actor::user(&user, None),
            )
            .is_ok()
        }));
    }
    let mut joined = 0;
    for accept in accepts {
        joined += usize::from(accept.await.unwrap());
    }
    assert_eq!(joined, 1);
    let members = app
        .with_db(move |conn| crate::common::all_members(conn, org.id))
        .await;
    let names: Vec<_> = members.iter().filter_map(|v| v.username.clone()).collect();
    assert_eq!(names.len(), 2, "the owner and one of the two: {names:?}");
    let accepted = audit_entries(&app, org_id)
        .await
        .into_iter()
        .filter(|(e, _)| e == "member.accept-invite")
        .count();
    assert_eq!(accepted, 1);
}

async fn roles_change_within_limits_and_the_last_owner_stays(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let manager = app.create_user("mgr").await;
    app.add_member(&org, &manager, Role::Manager).await;
    let member = app.create_user("mem").await;
    app.add_member(&org, &member, Role::Member).await;
    let ids = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::organization_members as m;
            m::table
                .filter(m::organization_id.eq(org.id))
                .order(m::id)
                .select(m::id)
                .load::<i64>(conn)
                .unwrap()
        })
        .await;
    let (owner_id, manager_id, member_id) =
        (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
    app.get(PAGE).await;
    app.post_form(
        PAGE,
        &[
            ("action", "role"),
            ("member", owner_id.as_str()),
            ("role", "member"),
        ],
    )
    .await;
    assert!(
        app.get(PAGE)
            .await
            .contains("The last owner cannot be removed or demoted")
    );
    app.post_form(PAGE, &[("action", "remove"), ("member", owner_id.as_str())])
        .await;
    assert!(
        app.get(PAGE)
            .await
            .contains("The last owner cannot be removed or demoted")
    );
    // a manager cannot make owners, nor touch owners
    let mgr = app.visitor();
    mgr.login("mgr", PASSWORD).await;
    mgr.get(PAGE).await;
    mgr.post_form(
        PAGE,
        &[
            ("action", "role"),
            ("member", member_id.as_str()),
            ("role", "owner"),
        ],
    )
    .await;
    assert!(
        mgr.get(PAGE)
            .await
            .contains("Your role (Manager) cannot make this change; ask an owner.")
    );
    mgr.post_form(PAGE, &[("action", "remove"), ("member", owner_id.as_str())])
        .await;
    assert!(
        mgr.get(PAGE)
            .await
            .contains("Only owners can remove owners.")
    );
    let bad_role = mgr
        .post_form(
            PAGE,
            &[
                ("action", "invite"),
                ("email", "x@example.com"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(
        bad_role.field_error("role").as_deref(),
        Some("You cannot invite members as Owner.")
    );
    mgr.post_form(
        PAGE,
        &[
            ("action", "role"),
            ("member", member_id.as_str()),
            ("role", "manager"),
        ],
    )
    .await;
    assert!(mgr.get(PAGE).await.contains("Role changed to Manager."));
    // the owner promotes the manager; now the first owner can step down and remove someone
    app.post_form(
        PAGE,
        &[
            ("action", "role"),
            ("member", manager_id.as_str()),
            ("role", "owner"),
        ],
    )
    .await;
    app.post_form(
        PAGE,
        &[("action", "remove"), ("member", member_id.as_str())],
    )
    .await;
    assert!(
        app.get(PAGE)
            .await
            .contains("mem@example.com removed from Acme.")
    );
    let events: Vec<String> = audit_entries(&app, org.id)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(
        events,
        ["org.create", "member.edit", "member.edit", "member.remove"]
    );
}

async fn members_see_the_list_but_cannot_change_it(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let member = app.create_user("mem").await;
    app.add_member(&org, &member, Role::Member).await;
    let visitor = app.visitor();
    visitor.login("mem", PASSWORD).await;
    let page = visitor.get(PAGE).await;
    assert!(page.contains("owner@example.com"));
    assert!(!page.contains("Send invitation"));
    let refused = visitor
        .post_form(
            PAGE,
            &[
                ("action", "invite"),
                ("email", "x@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(outbox(&app).await.is_empty());
}

async fn the_members_page_shows_a_hundred_at_a_time_and_searches(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    crate::common::add_invitations(&app, &org, "guest", 150).await;
    let first = app.get("/settings/acme/members/").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first
            .body
            .matches("aria-label=\"Revoke the invitation to")
            .count(),
        100
    );
    assert!(first.contains("invitations 1–100"));
    assert!(first.contains("href=\"/settings/acme/members/?ipage=1\">Next 100"));
    let second = app.get("/settings/acme/members/?ipage=1").await;
    assert_eq!(
        second
            .body
            .matches("aria-label=\"Revoke the invitation to")
            .count(),
        50
    );
    assert!(second.contains("invitations 101–150"));
    assert!(second.contains("href=\"/settings/acme/members/\">Previous 100"));
    // a search, kept in the box and in the links
    let found = app.get("/settings/acme/members/?query=guest-149").await;
    assert_eq!(found.input_value("query").as_deref(), Some("guest-149"));
    assert_eq!(
        found
            .body
            .matches("aria-label=\"Revoke the invitation to")
            .count(),
        1
    );
    assert!(found.contains("guest-149@example.com"));
    let owners = app.get("/settings/acme/members/?query=role%3Aowner").await;
    assert!(owners.contains("owner@example.com"));
    assert!(owners.contains("No invitation matches this search."));
    let none = app
        .get("/settings/acme/members/?query=isInvited%3Atrue")
        .await;
    assert!(none.contains("No member matches this search."));
    // a confirmation finds its row on any page; a bad page number is the first page
    let (_, found_api) = app
        .api_get("/api/0/organizations/acme/members/?query=guest-149")
        .await;
    let id = found_api[0]["id"].as_str().unwrap().to_owned();
    let confirm = app
        .get(&format!("/settings/acme/members/?revoke={id}"))
        .await;
    assert!(confirm.contains("Revoke the invitation to guest-149@example.com?"));
    assert_eq!(
        app.get("/settings/acme/members/?page=-3&ipage=x")
            .await
            .status,
        StatusCode::OK
    );
}

async fn the_members_page_costs_the_same_statements_in_a_big_organization(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    app.get("/settings/acme/members/").await;
    let before = app.queries();
    app.get("/settings/acme/members/").await;
    let small = app.queries() - before;
    crate::common::add_invitations(&app, &org, "many", 2_000).await;
    let before = app.queries();
    app.get("/settings/acme/members/").await;
    let big = app.queries() - before;
    assert_eq!(small, big, "statements per page view, 1 member vs 2 001");
}

async fn the_members_page_and_api_answer_for_forty_thousand_members(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    // more than SQLite's 32 766 variables, which a list of every member's id once exceeded
    crate::common::add_bulk_members(&app, &org, "crowd", 40_000).await;
    let page = app.get("/settings/acme/members/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("members 1–100"));
    assert!(
        page.body.len() < 400_000,
        "one page, not 40 000 rows: {} bytes",
        page.body.len()
    );
    let last = app.get("/settings/acme/members/?page=400").await;
    assert_eq!(last.status, StatusCode::OK);
    assert!(
        last.contains("members 40001–40001"),
        "the 40 001st member on page 401"
    );
    let found = app
        .get("/settings/acme/members/?query=crowd-39999%40")
        .await;
    assert!(found.contains("crowd-39999@example.com"));
    let (status, body) = app
        .api_get("/api/0/organizations/acme/members/?query=has2fa:false&per_page=100")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 100);
}

async fn the_members_page_lists_owners_first_by_address_through_role_and_address_changes(
    app: TestApp,
) {
    let org = app.owner_of_acme().await.1;
    for (name, role) in [
        ("zed", Role::Member),
        ("bob", Role::Member),
        ("amy", Role::Member),
        ("mid", Role::Manager),
    ] {
        let user = app.create_user(name).await;
        app.add_member(&org, &user, role).await;
    }
    invite(&app, "b-guest@example.com", "member")
        .await
        .assert_redirect(PAGE);
    invite(&app, "a-boss@example.com", "owner")
        .await
        .assert_redirect(PAGE);
    invite(&app, "c-joiner@example.com", "manager")
        .await
        .assert_redirect(PAGE);
    // amy becomes an owner, zed's primary address moves to the front of the alphabet
    let (_, amy) = app
        .api_get("/api/0/organizations/acme/members/?query=amy")
        .await;
    let amy_id = amy[0]["id"].as_str().unwrap().to_owned();
    app.get(PAGE).await;
    app.post_form(
        PAGE,
        &[
            ("action", "role"),
            ("member", amy_id.as_str()),
            ("role", "owner"),
        ],
    )
    .await
    .assert_redirect(PAGE);
    let zed = app.visitor();
    zed.login("zed", PASSWORD).await;
    zed.get("/account/").await;
    zed.post_form(
        "/account/",
        &[("action", "add"), ("email", "AAA@example.com")],
    )
    .await
    .assert_redirect("/account/");
    let mail = outbox(&app).await.pop().unwrap();
    let confirm = link_in(&mail.body_text, &app.base, "/account/confirm-email/").unwrap();
    zed.get(&confirm).await;
    zed.get("/account/").await;
    zed.post_form(
        "/account/",
        &[("action", "primary"), ("email", "AAA@example.com")],
    )
    .await
    .assert_redirect("/account/");
    // c-joiner (a manager) accepts with an account whose address sorts after mid's
    let link = link_in(
        &outbox(&app)
            .await
            .into_iter()
            .find(|m| m.to_address == "c-joiner@example.com")
            .unwrap()
            .body_text,
        &app.base,
        "/accept/",
    )
    .unwrap();
    app.create_user("zz-joiner").await;
    let joiner = app.visitor();
    joiner.login("zz-joiner", PASSWORD).await;
    joiner.get(&link).await;
    joiner
        .post_form(&link, &[])
        .await
        .assert_redirect("/settings/acme/");

    let page = app.get(PAGE).await;
    let at = |needle: &str| {
        page.body
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} on the page"))
    };
    let members = [
        "amy@example.com",
        "owner@example.com",
        "mid@example.com",
        "zz-joiner@example.com",
        "AAA@example.com",
        "bob@example.com",
    ];
    for pair in members.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    assert!(at("a-boss@example.com") < at("b-guest@example.com"));
    assert!(
        at("AAA@example.com") < at("a-boss@example.com"),
        "members, then invitations"
    );
    assert_eq!(crate::common::members_out_of_order(&app).await, vec![]);
}
