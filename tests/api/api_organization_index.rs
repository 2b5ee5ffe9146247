//! `GET/POST /api/0/organizations/`, `DELETE /api/0/organizations/{org}/` with Sentry's sudo,
//! `PUT /api/0/auth/`, `GET /api/0/internal/health/`, and the `Link` header's pagination.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp, Visitor, audit_entries};
use crate::on_both_backends;

const LIST: &str = "/api/0/organizations/";

on_both_backends!(
    the_list_holds_the_callers_organizations_newest_first_with_sentrys_summary,
    the_query_filters_by_text_and_by_sentrys_keys,
    owner_lists_the_owned_organizations_with_single_owner,
    the_link_header_walks_every_page_and_bad_cursors_get_400,
    a_superuser_in_superuser_mode_lists_every_organization_with_show_all,
    creating_an_organization_makes_the_caller_its_owner,
    creating_refuses_bad_names_taken_slugs_and_too_many_at_once,
    agree_terms_is_asked_only_where_the_instance_has_terms,
    deleting_schedules_the_deletion_and_answers_202,
    deleting_from_a_session_needs_sudo_which_the_password_grants,
    tokens_delete_without_sudo_but_need_org_admin_of_an_owner,
    the_health_endpoint_answers_any_caller_who_is_authenticated,
);

async fn token(visitor: &Visitor, scopes: &[&str]) -> String {
    let (status, body) = visitor
        .api(
            Method::POST,
            "/api/0/api-tokens/",
            Some(json!({"name": "t", "scopes": scopes})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn get_with_headers(visitor: &Visitor, path: &str) -> (StatusCode, Value, Option<String>) {
    let response = visitor.client.get(visitor.url(path)).send().await.unwrap();
    let status = response.status();
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), link)
}

fn slugs(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Removes the sudo grant from every stored session of `user_id` (as 3 hours passing would).
async fn end_sudo(app: &TestApp, user_id: i64) {
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::sessions;
        let rows: Vec<(i64, String)> = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .select((sessions::id, sessions::state))
            .load(conn)
            .unwrap();
        for (id, state) in rows {
            let mut map: serde_json::Map<String, Value> = serde_json::from_str(&state).unwrap();
            assert!(map.remove("sudo").is_some(), "logging in granted sudo");
            diesel::update(sessions::table.find(id))
                .set(sessions::state.eq(serde_json::to_string(&map).unwrap()))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
}

async fn the_list_holds_the_callers_organizations_newest_first_with_sentrys_summary(app: TestApp) {
    let (owner, acme) = app.owner_of_acme().await;
    app.create_org(&owner, "Beta", "beta").await;
    let stranger = app.create_user("stranger").await;
    app.create_org(&stranger, "Hidden", "hidden").await;
    let (status, body, link) = get_with_headers(&app, LIST).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        slugs(&body),
        ["beta", "acme"],
        "newest first, only the caller's"
    );
    let first = &body[1];
    assert_eq!(first["id"], json!(acme.id.to_string()));
    assert_eq!(first["name"], "Acme");
    assert_eq!(first["status"], json!({"id": "active", "name": "active"}));
    assert_eq!(first["require2FA"], false);
    assert_eq!(first["allowSuperuserAccess"], true);
    assert_eq!(first["avatar"]["avatarType"], "letter_avatar");
    assert_eq!(
        first["links"]["organizationUrl"],
        json!(format!("{}/settings/acme/", app.base))
    );
    assert!(
        first.get("trustedRelays").is_none(),
        "a summary, not the details"
    );
    assert!(link.unwrap().contains("rel=\"next\"; results=\"false\""));
    // a token needs org:read; an organization token is refused
    let visitor = app.visitor_logged_in("owner").await;
    let read = token(&visitor, &["org:read"]).await;
    let (status, body) = app
        .visitor()
        .authorized(Method::GET, LIST, &format!("Bearer {read}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slugs(&body), ["beta", "acme"]);
    let other = token(&visitor, &["member:read"]).await;
    let (status, _) = app
        .visitor()
        .authorized(Method::GET, LIST, &format!("Bearer {other}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.visitor().api_get(LIST).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn the_query_filters_by_text_and_by_sentrys_keys(app: TestApp) {
    let (owner, acme) = app.owner_of_acme().await;
    app.create_org(&owner, "Beta Corp", "beta").await;
    let gamma = app.create_org(&owner, "Gamma", "gamma").await;
    let friend = app.create_user("friend").await;
    app.add_member(&gamma, &friend, orgsettings::models::role::Role::Member)
        .await;
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("corp".into(), vec!["beta"]),
        ("ACM".into(), vec!["acme"]),
        ("slug:gamma".into(), vec!["gamma"]),
        ("slug:acme slug:beta".into(), vec!["beta", "acme"]),
        (format!("id:{}", acme.id), vec!["acme"]),
        ("email:friend@example.com".into(), vec!["gamma"]),
        ("friend@example.com".into(), vec!["gamma"]),
        ("status:active".into(), vec!["gamma", "beta", "acme"]),
        ("status:pending_deletion".into(), vec![]),
        ("status:nonsense".into(), vec![]),
        ("colour:blue".into(), vec![]),
        ("id:abc".into(), vec![]),
    ];
    for (query, expected) in cases {
        let path = format!("{LIST}?query={}", urlencode(&query));
        let (status, body) = app.api_get(&path).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(slugs(&body), expected, "query {query}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn owner_lists_the_owned_organizations_with_single_owner(app: TestApp) {
    let (owner, acme) = app.owner_of_acme().await;
    app.create_org(&owner, "Beta", "beta").await;
    let other = app.create_user("other").await;
    app.add_member(&acme, &other, orgsettings::models::role::Role::Owner)
        .await;
    let theirs = app.create_org(&other, "Theirs", "theirs").await;
    app.add_member(&theirs, &owner, orgsettings::models::role::Role::Member)
        .await;
    let (status, body) = app.api_get(&format!("{LIST}?owner=1")).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(String, bool)> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["organization"]["slug"].as_str().unwrap().to_owned(),
                r["singleOwner"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("acme".to_owned(), false), ("beta".to_owned(), true)],
        "by name; a member-only organization is not listed"
    );
}

async fn the_link_header_walks_every_page_and_bad_cursors_get_400(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    for n in 0..6 {
        app.create_org(&owner, &format!("Org {n}"), &format!("org-{n}"))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = format!("{LIST}?per_page=3&query=org");
    let mut pages = 0;
    loop {
        let (status, body, link) = get_with_headers(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        seen.extend(slugs(&body));
        pages += 1;
        let link = link.expect("a Link header");
        let next = link
            .split(", ")
            .find(|l| l.contains("rel=\"next\""))
            .unwrap();
        assert!(link.contains("query=org"), "the query is kept: {link}");
        if next.contains("results=\"false\"") {
            break;
        }
        let url = next.trim_start_matches('<').split('>').next().unwrap();
        path = url.trim_start_matches(&app.base).to_owned();
        assert!(pages < 10, "the walk ends");
    }
    assert_eq!(pages, 2);
    assert_eq!(
        seen,
        ["org-5", "org-4", "org-3", "org-2", "org-1", "org-0"],
        "every organization once, newest first"
    );
    // an empty cursor (as sentry-cli sends) is the first page
    let (status, body) = app.api_get(&format!("{LIST}?cursor=&per_page=3")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slugs(&body).len(), 3);
    for (query, detail) in [
        ("cursor=nonsense", "Invalid cursor parameter."),
        ("cursor=3:-1:1", "Pagination offset cannot be negative"),
        ("per_page=101", "Invalid per_page value. Cannot exceed 100."),
        ("per_page=lots", "Invalid per_page parameter."),
    ] {
        let (status, body) = app.api_get(&format!("{LIST}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body, json!({ "detail": detail }), "{query}");
    }
}

async fn a_superuser_in_superuser_mode_lists_every_organization_with_show_all(app: TestApp) {
    app.owner_of_acme().await;
    app.create_user_with("root", true).await;
    let root = app.visitor_logged_in("root").await;
    assert_eq!(
        slugs(&root.api_get(&format!("{LIST}?show=all")).await.1).len(),
        0
    );
    root.get("/superuser/").await;
    root.post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    assert_eq!(
        slugs(&root.api_get(&format!("{LIST}?show=all")).await.1),
        ["acme"]
    );
    assert_eq!(
        slugs(&root.api_get(LIST).await.1).len(),
        0,
        "without show=all: their own"
    );
}

async fn creating_an_organization_makes_the_caller_its_owner(app: TestApp) {
    app.create_user("maker").await;
    let maker = app.visitor_logged_in("maker").await;
    let (status, body) = maker
        .api(
            Method::POST,
            LIST,
            Some(json!({"name": "Widgets Inc", "slug": "widgets", "defaultTeam": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["slug"], "widgets");
    assert_eq!(body["role"], "owner");
    assert!(
        body["access"]
            .as_array()
            .unwrap()
            .contains(&json!("org:admin"))
    );
    let id: i64 = body["id"].as_str().unwrap().parse().unwrap();
    let (event, _) = audit_entries(&app, id).await.pop().unwrap();
    assert_eq!(event, "org.create");
    // without a slug, one is made from the name; with a token of org:write
    let text = token(&maker, &["org:write"]).await;
    let (status, body) = app
        .visitor()
        .authorized(
            Method::POST,
            LIST,
            &format!("Bearer {text}"),
            Some(json!({"name": "Widgets Inc"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["slug"], "widgets-inc");
    let read = token(&maker, &["org:read"]).await;
    let (status, _) = app
        .visitor()
        .authorized(
            Method::POST,
            LIST,
            &format!("Bearer {read}"),
            Some(json!({"name": "Nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "creating needs org:write");
}

async fn creating_refuses_bad_names_taken_slugs_and_too_many_at_once(app: TestApp) {
    app.owner_of_acme().await;
    let count = |app: &TestApp| {
        let app_pool = app.pool.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use diesel::prelude::*;
                let mut conn = app_pool.get().unwrap();
                orgsettings::db::schema::organizations::table
                    .count()
                    .get_result::<i64>(&mut *conn)
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let before = count(&app).await;
    for (body, expected) in [
        (json!({}), json!({"name": ["This field is required."]})),
        (
            json!({"name": null}),
            json!({"name": ["This field may not be null."]}),
        ),
        (
            json!({"name": "Taken", "slug": "acme"}),
            json!({"slug": ["The slug \"acme\" is already in use."]}),
        ),
        (
            json!([1]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
    ] {
        let (status, answer) = app.api(Method::POST, LIST, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer, expected, "{body}");
    }
    let (status, answer) = app
        .api(
            Method::POST,
            LIST,
            Some(json!({"name": "Api", "slug": "api"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["slug"].is_array(), "a reserved slug: {answer}");
    assert_eq!(count(&app).await, before, "nothing was made");
    for n in 0..5 {
        let (status, _) = app
            .api(
                Method::POST,
                LIST,
                Some(json!({"name": format!("Many {n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, answer) = app
        .api(Method::POST, LIST, Some(json!({"name": "One too many"})))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        answer["detail"],
        "You are attempting to create too many organizations too quickly."
    );
    assert_eq!(count(&app).await, before + 5);
}

async fn agree_terms_is_asked_only_where_the_instance_has_terms(app: TestApp) {
    let app = app
        .respawn_with(|config| {
            config.terms = Some(orgsettings::config::Terms {
                terms_url: url::Url::parse("https://example.com/terms").unwrap(),
                privacy_url: url::Url::parse("https://example.com/privacy").unwrap(),
            })
        })
        .await;
    app.create_user("maker").await;
    let maker = app.visitor_logged_in("maker").await;
    for (body, expected) in [
        (json!({"name": "A"}), "This field is required."),
        (
            json!({"name": "A", "agreeTerms": false}),
            "This attribute is required.",
        ),
    ] {
        let (status, answer) = maker.api(Method::POST, LIST, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer, json!({ "agreeTerms": [expected] }));
    }
    let (status, _) = maker
        .api(
            Method::POST,
            LIST,
            Some(json!({"name": "A", "agreeTerms": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // the page asks the same, with links to both documents
    let page = maker.get("/organizations/new/").await;
    assert!(page.contains("href=\"https://example.com/terms\""));
    let refused = maker
        .post_form("/organizations/new/", &[("name", "Page Org")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.field_error("agreeTerms").as_deref(),
        Some("This attribute is required.")
    );
    maker
        .post_form(
            "/organizations/new/",
            &[("name", "Page Org"), ("agreeTerms", "true")],
        )
        .await
        .assert_redirect("/settings/page-org/");
}

async fn deleting_schedules_the_deletion_and_answers_202(app: TestApp) {
    let (_, acme) = app.owner_of_acme().await;
    let url = "/api/0/organizations/acme/";
    let (status, body) = app.api(Method::DELETE, url, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body["status"],
        json!({"id": "pending_deletion", "name": "pending deletion"})
    );
    let entries = audit_entries(&app, acme.id).await;
    assert_eq!(entries.last().unwrap().0, "org.remove");
    // again: the same answer, nothing more written
    let (status, body) = app.api(Method::DELETE, url, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"]["id"], "pending_deletion");
    assert_eq!(audit_entries(&app, acme.id).await.len(), entries.len());
    // restored as before
    let (status, body) = app.api_put(url, json!({"cancelDeletion": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"]["id"], "active");
    // managers may not
    let manager = app.create_user("mona").await;
    app.add_member(&acme, &manager, orgsettings::models::role::Role::Manager)
        .await;
    let mona = app.visitor_logged_in("mona").await;
    assert_eq!(
        mona.api(Method::DELETE, url, None).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn deleting_from_a_session_needs_sudo_which_the_password_grants(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    let url = "/api/0/organizations/acme/";
    end_sudo(&app, owner.id).await;
    let (status, body) = app.api(Method::DELETE, url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": {
            "code": "sudo-required",
            "message": "Account verification required.",
            "extra": {"username": "owner"},
        }})
    );
    let (_, read) = app.api_get(url).await;
    assert_eq!(read["status"]["id"], "active", "nothing happened");
    let (status, body) = app.api(Method::PUT, "/api/0/auth/", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": {"code": "missing_password_or_u2f"}}));
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/0/auth/",
            Some(json!({"password": "wrong one"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, json!({"detail": {"code": "ignore"}}));
    assert_eq!(
        app.api(Method::DELETE, url, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app
        .api(
            Method::PUT,
            "/api/0/auth/",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], "owner");
    assert_eq!(
        app.api(Method::DELETE, url, None).await.0,
        StatusCode::ACCEPTED
    );
}

async fn tokens_delete_without_sudo_but_need_org_admin_of_an_owner(app: TestApp) {
    let (owner, acme) = app.owner_of_acme().await;
    let url = "/api/0/organizations/acme/";
    let visitor = app.visitor_logged_in("owner").await;
    let write = token(&visitor, &["org:write"]).await;
    let admin = token(&visitor, &["org:admin"]).await;
    end_sudo(&app, owner.id).await;
    let (status, _) = app
        .visitor()
        .authorized(Method::DELETE, url, &format!("Bearer {write}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "org:write is not enough");
    let manager = app.create_user("mona").await;
    app.add_member(&acme, &manager, orgsettings::models::role::Role::Manager)
        .await;
    let mona = token(&app.visitor_logged_in("mona").await, &["org:admin"]).await;
    let (status, _) = app
        .visitor()
        .authorized(Method::DELETE, url, &format!("Bearer {mona}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a manager's org:admin is cut to the role"
    );
    let (status, body) = app
        .visitor()
        .authorized(Method::DELETE, url, &format!("Bearer {admin}"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"]["id"], "pending_deletion");
}

async fn the_health_endpoint_answers_any_caller_who_is_authenticated(app: TestApp) {
    app.owner_of_acme().await;
    let path = "/api/0/internal/health/";
    let (status, body) = app.api_get(path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["problems"], json!([]));
    let visitor = app.visitor_logged_in("owner").await;
    let text = token(&visitor, &["member:read"]).await;
    let (status, _) = app
        .visitor()
        .authorized(Method::GET, path, &format!("Bearer {text}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "any scope will do");
    assert_eq!(
        app.visitor().api_get(path).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app
        .visitor()
        .authorized(Method::GET, path, "Bearer sntryu_nope", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
