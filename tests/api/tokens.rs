//! API tokens: `/api/0/api-tokens/`, bearer authentication on `/api/0/`, `GET /api/0/`, and
//! organization tokens in the API.

use orgsettings::models::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, Visitor, audit_entries, outbox};
use crate::on_both_backends;

const ORG: &str = "/api/0/organizations/acme/";
const TOKENS: &str = "/api/0/api-tokens/";

on_both_backends!(
    a_personal_token_is_made_once_listed_without_its_text_and_stored_hashed,
    a_tokens_scopes_meet_the_roles_scopes_for_get_and_put,
    every_refused_header_and_token_gets_sentrys_answer,
    a_token_request_needs_no_csrf_token_and_ignores_the_cookies,
    revoking_a_token_takes_effect_at_once_and_others_tokens_are_not_found,
    last_used_is_written_at_most_once_a_minute,
    bad_token_requests_are_refused_on_their_fields_and_make_nothing,
    tokens_cannot_make_tokens,
    the_index_says_who_calls_and_with_which_scopes,
    a_superusers_token_does_not_carry_superuser_mode,
    a_token_of_a_user_without_2fa_is_refused_where_2fa_is_required,
    kept_organization_answers_follow_the_row_the_avatar_and_the_callers_scopes,
);

/// A logged-in browser of `username`, a member of acme with `role` (made here).
async fn member(app: &TestApp, username: &str, role: Role) -> Visitor {
    let org = app
        .with_db(|conn| {
            orgsettings::models::organization::Organization::find_by_slug(conn, "acme")
                .unwrap()
                .unwrap()
        })
        .await;
    let user = app.create_user(username).await;
    app.add_member(&org, &user, role).await;
    let visitor = app.visitor();
    visitor.login(username, PASSWORD).await;
    visitor
}

/// Makes a token through the JSON API as `visitor`; returns its text.
async fn token(visitor: &Visitor, scopes: &[&str]) -> String {
    let (status, body) = visitor
        .api(
            Method::POST,
            TOKENS,
            Some(json!({"name": "script", "scopes": scopes})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn with_token(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    app.visitor()
        .authorized(method, path, &format!("Bearer {token}"), body)
        .await
}

async fn a_personal_token_is_made_once_listed_without_its_text_and_stored_hashed(app: TestApp) {
    app.owner_of_acme().await;
    let before = outbox(&app).await.len();
    let (status, made) = app
        .api(
            Method::POST,
            TOKENS,
            Some(json!({"name": "CI deploys", "scopes": ["org:read", "member:read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let text = made["token"].as_str().unwrap();
    assert!(
        text.starts_with("sntryu_") && text.len() == 7 + 64,
        "{text}"
    );
    assert!(text[7..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(made["name"], "CI deploys");
    assert_eq!(made["scopes"], json!(["member:read", "org:read"]));
    assert_eq!(made["tokenLastCharacters"], json!(&text[text.len() - 4..]));
    assert_eq!(made["expiresAt"], Value::Null);

    let (status, listed) = app.api_get(TOKENS).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("token").is_none(), "never shown again");
    assert_eq!(listed[0]["id"], made["id"]);

    let stored: Vec<String> = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::api_tokens;
            api_tokens::table
                .select(api_tokens::token_hash)
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(stored, [orgsettings::secrets::sha256_hex(text)]);

    let mails = outbox(&app).await;
    assert_eq!(mails.len(), before + 1, "the user is told");
    let mail = mails.last().unwrap();
    assert_eq!(mail.kind, "user.api_token_created");
    assert!(
        mail.body_text
            .contains("\"CI deploys\" (member:read, org:read)")
    );
    assert!(!mail.body_text.contains(text), "the token is never emailed");

    let (status, body) = with_token(&app, Method::GET, ORG, text, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["slug"], "acme");
}

/// What a token of `scope` may do, by hand: the organization scopes it grants (Sentry's hierarchy)
/// and those of each role (Sentry's roles), for `GET` (any of read, write, admin) and `PUT` (write
/// or admin).
fn expected(role: Role, scope: &str, method: &Method) -> bool {
    let granted: &[&str] = match scope {
        "org:read" => &["org:read"],
        "org:write" => &["org:read", "org:write"],
        "org:admin" => &["org:read", "org:write", "org:admin"],
        _ => &[],
    };
    let role_has: &[&str] = match role {
        Role::Member | Role::Admin => &["org:read"],
        Role::Manager => &["org:read", "org:write"],
        Role::Owner => &["org:read", "org:write", "org:admin"],
    };
    let needed: &[&str] = if *method == Method::GET {
        &["org:read", "org:write", "org:admin"]
    } else {
        &["org:write", "org:admin"]
    };
    needed
        .iter()
        .any(|s| granted.contains(s) && role_has.contains(s))
}

async fn a_tokens_scopes_meet_the_roles_scopes_for_get_and_put(app: TestApp) {
    app.owner_of_acme().await;
    let mut callers = vec![(Role::Owner, app.visitor())];
    callers[0].1.login("owner", PASSWORD).await;
    for (name, role) in [
        ("mia", Role::Member),
        ("adam", Role::Admin),
        ("mona", Role::Manager),
    ] {
        callers.push((role, member(&app, name, role).await));
    }
    let mut table = Vec::new();
    for (role, visitor) in &callers {
        for scope in ["org:read", "org:write", "org:admin", "member:read"] {
            let text = token(visitor, &[scope]).await;
            for method in [Method::GET, Method::PUT] {
                let body = (method == Method::PUT).then(|| json!({"isEarlyAdopter": true}));
                let (status, answer) = with_token(&app, method.clone(), ORG, &text, body).await;
                let allowed = expected(*role, scope, &method);
                let want = if allowed {
                    StatusCode::OK
                } else {
                    StatusCode::FORBIDDEN
                };
                table.push(format!("{role:?} {scope} {method}: {status}"));
                assert_eq!(status, want, "{role:?} with {scope} {method}: {answer}");
                if !allowed {
                    assert_eq!(
                        answer,
                        json!({"detail": "You do not have permission to perform this action."})
                    );
                }
            }
        }
    }
    assert_eq!(table.len(), 4 * 4 * 2, "{table:#?}");
}

async fn every_refused_header_and_token_gets_sentrys_answer(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    let good = token(&app.visitor_logged_in("owner").await, &["org:read"]).await;
    let anonymous = app.visitor();
    let cases: Vec<(String, &str)> = vec![
        (
            "Bearer".into(),
            "Invalid token header. No credentials provided.",
        ),
        (
            format!("Bearer {good} extra"),
            "Invalid token header. Token string should not contain spaces.",
        ),
        (format!("Bearer sntryu_{}", "0".repeat(64)), "Invalid token"),
        ("Bearer not-a-token".into(), "Invalid token"),
        ("Bearer sntrys_eyJ9_abc".into(), "Invalid org token"),
        ("Basic dXNlcjpwYXNz".into(), "API key is not valid"),
    ];
    for (header, message) in cases {
        let (status, body) = anonymous.authorized(Method::GET, ORG, &header, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(body, json!({"detail": message}), "{header}");
        assert!(
            !body.to_string().contains(&good),
            "a token is never in an answer"
        );
    }
    let (status, body) = anonymous
        .authorized(Method::GET, ORG, "Token abc", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    // a token in the query string is no credential
    let (status, _) = anonymous
        .api_get(&format!("{ORG}?auth_token={good}&token={good}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // expired, then the user deactivated
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::api_tokens;
        diesel::update(api_tokens::table)
            .set(api_tokens::expires_at.eq(Some(
                orgsettings::db::query::now() - chrono::Duration::seconds(1),
            )))
            .execute(conn)
            .unwrap();
    })
    .await;
    let (status, body) = with_token(&app, Method::GET, ORG, &good, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"detail": "Token expired"}));
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::api_tokens;
        diesel::update(api_tokens::table)
            .set(api_tokens::expires_at.eq(None::<chrono::NaiveDateTime>))
            .execute(conn)
            .unwrap();
    })
    .await;
    let id = owner.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::is_active.eq(false))
            .execute(conn)
            .unwrap();
    })
    .await;
    let (status, body) = with_token(&app, Method::GET, ORG, &good, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"detail": "User inactive or deleted"}));
}

async fn a_token_request_needs_no_csrf_token_and_ignores_the_cookies(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = member(&app, "mia", Role::Member).await;
    let members_token = token(&mia, &["org:write"]).await;
    let owner_token = token(&app.visitor_logged_in("owner").await, &["org:write"]).await;
    // the owner's browser, sending the member's token: the token decides, not the session
    let (status, _) = app
        .authorized(
            Method::PUT,
            ORG,
            &format!("Bearer {members_token}"),
            Some(json!({"name": "Changed by mia"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .authorized(Method::GET, ORG, "Bearer sntryu_unknown", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token is not saved by a good session"
    );
    // and without any CSRF token, a good token's PUT goes through
    let (status, body) = app
        .visitor()
        .authorized(
            Method::PUT,
            ORG,
            &format!("Bearer {owner_token}"),
            Some(json!({"name": "Acme by token"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Acme by token");
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "org.edit");
    assert_eq!(data, json!({"name": "from Acme to Acme by token"}));
}

async fn revoking_a_token_takes_effect_at_once_and_others_tokens_are_not_found(app: TestApp) {
    app.owner_of_acme().await;
    let text = token(&app, &["org:read"]).await;
    let (_, listed) = app.api_get(TOKENS).await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        with_token(&app, Method::GET, ORG, &text, None).await.0,
        StatusCode::OK
    );
    let mia = member(&app, "mia", Role::Member).await;
    let (status, _) = mia
        .api(Method::DELETE, TOKENS, Some(json!({"tokenId": id})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's token");
    assert_eq!(
        with_token(&app, Method::GET, ORG, &text, None).await.0,
        StatusCode::OK,
        "still good"
    );
    let (status, _) = app
        .api(Method::DELETE, TOKENS, Some(json!({"tokenId": id})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = with_token(&app, Method::GET, ORG, &text, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"detail": "Invalid token"}));
    let (status, body) = app.api(Method::DELETE, TOKENS, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"tokenId": ["A valid token id is required."]}));
}

async fn last_used_is_written_at_most_once_a_minute(app: TestApp) {
    app.owner_of_acme().await;
    let text = token(&app, &["org:read"]).await;
    let last_used = || async {
        app.with_db(|conn| {
            use diesel::prelude::*;
            use orgsettings::db::schema::api_tokens;
            api_tokens::table
                .select(api_tokens::last_used_at)
                .first::<Option<chrono::NaiveDateTime>>(conn)
                .unwrap()
        })
        .await
    };
    assert_eq!(last_used().await, None);
    with_token(&app, Method::GET, ORG, &text, None).await;
    let first = last_used().await.expect("recorded");
    for _ in 0..3 {
        with_token(&app, Method::GET, ORG, &text, None).await;
    }
    assert_eq!(last_used().await, Some(first), "no write within the minute");
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::api_tokens;
        diesel::update(api_tokens::table)
            .set(api_tokens::last_used_at.eq(Some(
                orgsettings::db::query::now() - chrono::Duration::seconds(61),
            )))
            .execute(conn)
            .unwrap();
    })
    .await;
    with_token(&app, Method::GET, ORG, &text, None).await;
    assert!(last_used().await.unwrap() > first - chrono::Duration::seconds(1));
    let (_, listed) = app.api_get(TOKENS).await;
    assert!(listed[0]["dateLastUsed"].is_string());
}

async fn bad_token_requests_are_refused_on_their_fields_and_make_nothing(app: TestApp) {
    app.owner_of_acme().await;
    let cases = [
        (
            json!({"scopes": ["org:read", "org:everything"]}),
            json!({"scopes": ["\"org:everything\" is not a valid choice."]}),
        ),
        (
            json!({"name": "x"}),
            json!({"scopes": ["This field is required."]}),
        ),
        (
            json!({"scopes": "org:read"}),
            json!({"scopes": ["Expected a list of items but got type \"str\"."]}),
        ),
        (
            json!({"scopes": ["org:read"], "expiresAt": "2000-01-01"}),
            json!({"expiresAt": ["The expiration date must be in the future."]}),
        ),
        (
            json!({"scopes": ["org:read"], "name": "n".repeat(256)}),
            json!({"name": ["Ensure this field has no more than 255 characters."]}),
        ),
    ];
    for (body, answer) in cases {
        let (status, got) = app.api(Method::POST, TOKENS, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(got, answer, "{body}");
    }
    let (_, listed) = app.api_get(TOKENS).await;
    assert_eq!(listed, json!([]), "nothing made");
}

async fn tokens_cannot_make_tokens(app: TestApp) {
    app.owner_of_acme().await;
    let text = token(&app, &["org:admin"]).await;
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let (status, body) = with_token(
            &app,
            method.clone(),
            TOKENS,
            &text,
            Some(json!({"scopes": ["org:read"], "tokenId": "1"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
}

async fn the_index_says_who_calls_and_with_which_scopes(app: TestApp) {
    app.owner_of_acme().await;
    let (status, body) = app.visitor().api_get("/api/0/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"version": "0", "auth": null, "user": null}));
    let (_, by_session) = app.api_get("/api/0/").await;
    assert_eq!(by_session["auth"], Value::Null);
    assert_eq!(by_session["user"]["username"], "owner");
    let text = token(&app, &["org:write"]).await;
    let (status, by_token) = with_token(&app, Method::GET, "/api/0/", &text, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        by_token["auth"],
        json!({"scopes": ["org:read", "org:write"]}),
        "widened as Sentry widens them"
    );
    assert_eq!(by_token["user"]["email"], "owner@example.com");
    assert_eq!(by_token["user"]["id"], json!(by_session["user"]["id"]));
    assert_eq!(
        by_token["user"]["emails"],
        json!([{"id": "1", "email": "owner@example.com", "is_verified": true}])
    );
}

async fn a_superusers_token_does_not_carry_superuser_mode(app: TestApp) {
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    app.create_user_with("root", true).await;
    app.login("root", PASSWORD).await;
    app.get("/superuser/").await;
    app.post_form("/superuser/", &[("password", PASSWORD)])
        .await
        .assert_redirect("/manage/");
    assert_eq!(
        app.api_get(ORG).await.0,
        StatusCode::OK,
        "the session has it"
    );
    let text = token(&app, &["org:admin"]).await;
    let (status, body) = with_token(&app, Method::GET, ORG, &text, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body,
        json!({"detail": {
            "code": "superuser-required",
            "message": "You need to re-authenticate for superuser.",
            "extra": {},
        }})
    );
    let (status, _) =
        with_token(&app, Method::PUT, ORG, &text, Some(json!({"name": "Mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = "/api/0/organizations/no-such-org/";
    let (status, _) = with_token(&app, Method::GET, unknown, &text, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an organization that does not exist is not found"
    );
}

async fn a_token_of_a_user_without_2fa_is_refused_where_2fa_is_required(app: TestApp) {
    let org = app.owner_of_acme().await.1;
    let mia = member(&app, "mia", Role::Member).await;
    let text = token(&mia, &["org:read"]).await;
    let org_id = org.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organizations as o;
        let bit = 1 << orgsettings::models::flags::Flag::Require2fa.bit();
        diesel::update(o::table.find(org_id))
            .set(o::flags.eq(o::flags + bit))
            .execute(conn)
            .unwrap();
    })
    .await;
    let (status, body) = with_token(&app, Method::GET, ORG, &text, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"]["code"], "2fa-required");
}

async fn kept_organization_answers_follow_the_row_the_avatar_and_the_callers_scopes(app: TestApp) {
    // an answer is kept per organization, role and scopes while the row and avatar read by the
    // request are the ones it was written from
    let (owner, org) = app.owner_of_acme().await;
    let kept = || app.state.org_answers.size().0;
    let session = app.visitor_logged_in(&owner.username).await;
    let (_, body) = session.api_get(ORG).await;
    assert_eq!(body["name"], "Acme");
    session.api_get(ORG).await;
    assert_eq!(kept(), 1, "written once, then the kept one");
    // a token with one scope gets its own access list, not the session's
    let text = token(&session, &["org:read"]).await;
    let (status, by_token) = with_token(&app, Method::GET, ORG, &text, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_token["access"], json!(["org:read"]));
    assert_ne!(session.api_get(ORG).await.1["access"], json!(["org:read"]));
    assert_eq!(kept(), 2);
    // the row and the avatar changed behind the server's back
    let sql = [
        format!(
            "UPDATE organizations SET name = 'By Hand' WHERE id = {}",
            org.id
        ),
        format!(
            "INSERT INTO organization_avatars (organization_id, avatar_type, ident) \
             VALUES ({}, 1, 'hand-made-ident')",
            org.id
        ),
    ];
    app.with_db(move |conn| {
        for statement in sql {
            diesel::RunQueryDsl::execute(diesel::sql_query(statement), conn).unwrap();
        }
    })
    .await;
    let (_, body) = session.api_get(ORG).await;
    assert_eq!(body["name"], "By Hand");
    assert_eq!(body["avatar"]["avatarType"], "upload", "was letter_avatar");
    let (_, by_token) = with_token(&app, Method::GET, ORG, &text, None).await;
    assert_eq!(by_token["name"], "By Hand");
}
