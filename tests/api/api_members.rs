//! The members API: `GET/POST /api/0/organizations/{org}/members/` and
//! `GET/PUT/DELETE /api/0/organizations/{org}/members/{member_id}/`.

use orgsettings::members::ERR_LAST_OWNER;
use orgsettings::models::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, Visitor, add_invitations, audit_entries, enrol_totp, outbox};
use crate::on_both_backends;

const MEMBERS: &str = "/api/0/organizations/acme/members/";

on_both_backends!(
    walking_the_link_header_lists_every_member_of_a_big_organization_once,
    the_member_search_takes_sentrys_keys,
    inviting_makes_a_pending_member_and_refuses_as_the_page_does,
    a_member_is_found_by_id_or_me_and_only_in_its_own_organization,
    changing_roles_and_reinviting_keep_the_pages_rules,
    removing_members_keeps_the_last_owner_and_needs_member_admin,
    a_tokens_member_scopes_decide_what_it_may_do,
    nothing_about_members_changes_while_the_organization_is_pending_deletion,
);

async fn nothing_about_members_changes_while_the_organization_is_pending_deletion(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let alice = app.create_user("alice").await;
    app.add_member(&org, &alice, Role::Member).await;
    add_invitations(&app, &org, "waiting", 1).await;
    let (_, all) = app.api_get(MEMBERS).await;
    let alice_id = id_of(
        all.as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == "alice@example.com")
            .unwrap(),
    );
    let invite_id = id_of(
        all.as_array()
            .unwrap()
            .iter()
            .find(|m| m["pending"] == true)
            .unwrap(),
    );
    let (status, _) = app
        .api(Method::DELETE, "/api/0/organizations/acme/", None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let before = audit_entries(&app, org.id).await.len();
    let refused = json!({"detail": orgsettings::models::organization::ERR_PENDING_DELETION});
    for (method, path, body) in [
        (
            Method::POST,
            MEMBERS.to_owned(),
            Some(json!({"email": "new@example.com"})),
        ),
        (
            Method::PUT,
            member_path(&alice_id),
            Some(json!({"orgRole": "manager"})),
        ),
        (
            Method::PUT,
            member_path(&invite_id),
            Some(json!({"reinvite": true})),
        ),
        (Method::DELETE, member_path(&alice_id), None),
    ] {
        let (status, answer) = app.api(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert_eq!(answer, refused, "{method} {path}");
    }
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        before,
        "nothing changed"
    );
    let page = app
        .post_form(
            "/settings/acme/members/",
            &[
                ("action", "invite"),
                ("email", "page@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    page.assert_redirect("/settings/acme/members/");
    let shown = app.get("/settings/acme/members/").await;
    assert!(
        shown.contains("This organization is scheduled for deletion."),
        "the page says why"
    );
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        before,
        "and changes nothing"
    );
}

fn member_path(id: &str) -> String {
    format!("{MEMBERS}{id}/")
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

fn emails(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `next` while it has results; every page's bodies.
async fn walk(visitor: &Visitor, base: &str, first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut path = first.to_owned();
    loop {
        let response = visitor.client.get(visitor.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        pages.push(response.json::<Value>().await.unwrap());
        let next = link
            .split(", ")
            .find(|l| l.contains("rel=\"next\""))
            .unwrap();
        if next.contains("results=\"false\"") {
            return pages;
        }
        path = next
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .trim_start_matches(base)
            .to_owned();
        assert!(pages.len() < 20, "the walk ends");
    }
}

async fn walking_the_link_header_lists_every_member_of_a_big_organization_once(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    add_invitations(&app, &org, "guest", 250).await;
    let pages = walk(&app, &app.base, MEMBERS).await;
    assert_eq!(
        pages
            .iter()
            .map(|p| p.as_array().unwrap().len())
            .collect::<Vec<_>>(),
        [100, 100, 51],
        "Sentry's pages of 100"
    );
    let ids: Vec<i64> = pages
        .iter()
        .flat_map(|p| p.as_array().unwrap().clone())
        .map(|m| id_of(&m).parse().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "in id order, each once");
    assert_eq!(ids.len(), 251);
    // a filtered walk keeps its query on every link
    let pages = walk(
        &app,
        &app.base,
        &format!("{MEMBERS}?query=isInvited:true&per_page=60"),
    )
    .await;
    assert_eq!(
        pages
            .iter()
            .map(|p| p.as_array().unwrap().len())
            .sum::<usize>(),
        250
    );
}

async fn the_member_search_takes_sentrys_keys(app: TestApp) {
    let (owner, org) = app.owner_of_acme().await;
    let alice = app.create_user("alice").await;
    app.add_member(&org, &alice, Role::Member).await;
    enrol_totp(&app, &alice).await;
    let bob = app.create_user("bob").await;
    app.add_member(&org, &bob, Role::Manager).await;
    add_invitations(&app, &org, "carol", 1).await;
    let (_, all) = app.api_get(MEMBERS).await;
    let alice_member = all
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "alice@example.com")
        .unwrap()
        .clone();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("email:alice@example.com".into(), vec!["alice@example.com"]),
        (
            "email:carol-0@example.com".into(),
            vec!["carol-0@example.com"],
        ),
        ("role:manager".into(), vec!["bob@example.com"]),
        (
            "role:owner role:manager".into(),
            vec!["owner@example.com", "bob@example.com"],
        ),
        ("has2fa:true".into(), vec!["alice@example.com"]),
        (
            "has2fa:false".into(),
            vec!["owner@example.com", "bob@example.com"],
        ),
        ("isInvited:true".into(), vec!["carol-0@example.com"]),
        (
            "isInvited:false".into(),
            vec!["owner@example.com", "alice@example.com", "bob@example.com"],
        ),
        ("ALI".into(), vec!["alice@example.com"]),
        ("carol".into(), vec!["carol-0@example.com"]),
        (
            format!("id:{}", id_of(&alice_member)),
            vec!["alice@example.com"],
        ),
        (format!("user.id:{}", owner.id), vec!["owner@example.com"]),
        (
            "scope:member:admin".into(),
            vec!["owner@example.com", "bob@example.com"],
        ),
        ("favourite:colour".into(), vec![]),
        ("id:abc".into(), vec![]),
    ];
    for (query, expected) in cases {
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let (status, body) = app.api_get(&format!("{MEMBERS}?query={encoded}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(emails(&body), expected, "query {query}");
    }
    // the shape of a member and of an invitation
    assert_eq!(alice_member["orgRole"], "member");
    assert_eq!(alice_member["pending"], false);
    assert_eq!(alice_member["user"]["username"], "alice");
    assert_eq!(alice_member["user"]["has2fa"], true);
    let carol = all
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "carol-0@example.com")
        .unwrap();
    assert_eq!(carol["pending"], true);
    assert_eq!(carol["user"], json!(null));
    assert_eq!(carol["expired"], false);
    let (status, body) = app.api_get(&format!("{MEMBERS}?cursor=1:2")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Invalid cursor parameter.");
}

async fn inviting_makes_a_pending_member_and_refuses_as_the_page_does(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let before = outbox(&app).await.len();
    let (status, body) = app
        .api(
            Method::POST,
            MEMBERS,
            Some(json!({"email": "dana@example.com", "orgRole": "manager"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email"], "dana@example.com");
    assert_eq!(body["orgRole"], "manager");
    assert_eq!(body["pending"], true);
    let mails = outbox(&app).await;
    assert_eq!(mails.len(), before + 1);
    assert!(mails.last().unwrap().body_text.contains("/accept/"));
    let (event, _) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "member.invite");
    // without an email; the role defaults to the organization's default role
    let (status, body) = app
        .api(
            Method::POST,
            MEMBERS,
            Some(json!({"email": "quiet@example.com", "sendInvite": false})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["orgRole"], "member");
    assert_eq!(
        outbox(&app).await.len(),
        before + 1,
        "sendInvite: false sends nothing"
    );
    for (sent, field, message) in [
        (json!({}), "email", "This field is required."),
        (
            json!({"email": "owner@example.com"}),
            "email",
            "owner@example.com is already a member of this organization.",
        ),
        (
            json!({"email": "dana@example.com"}),
            "email",
            "dana@example.com has already been invited; resend the invitation instead.",
        ),
        (
            json!({"email": "not an address"}),
            "email",
            "Enter a valid email address.",
        ),
        (
            json!({"email": "x@example.com", "orgRole": "boss"}),
            "orgRole",
            "\"boss\" is not a valid choice.",
        ),
        (
            json!({"email": "x@example.com", "role": "admin"}),
            "role",
            "You cannot invite members as Admin.",
        ),
    ] {
        let (status, body) = app.api(Method::POST, MEMBERS, Some(sent.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sent}");
        assert_eq!(body, json!({ field: [message] }), "{sent}");
    }
    // a manager may not invite an owner
    let mona = app.create_user("mona").await;
    app.add_member(&org, &mona, Role::Manager).await;
    let manager = app.visitor_logged_in("mona").await;
    let (status, body) = manager
        .api(
            Method::POST,
            MEMBERS,
            Some(json!({"email": "boss@example.com", "orgRole": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"orgRole": ["You cannot invite members as Owner."]})
    );
}

async fn a_member_is_found_by_id_or_me_and_only_in_its_own_organization(app: TestApp) {
    let (owner, _) = app.owner_of_acme().await;
    let stranger = app.create_user("stranger").await;
    let other = app.create_org(&stranger, "Other", "other").await;
    add_invitations(&app, &other, "theirs", 1).await;
    let (status, me) = app.api_get(&member_path("me")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], json!(owner.id.to_string()));
    assert_eq!(me["orgRole"], "owner");
    assert!(me["orgRoleList"].as_array().unwrap().len() >= 3);
    let (status, same) = app.api_get(&member_path(&id_of(&me))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["id"], me["id"]);
    let (_, theirs) = app
        .visitor_logged_in("stranger")
        .await
        .api_get("/api/0/organizations/other/members/?query=isInvited:true")
        .await;
    let theirs_id = id_of(&theirs[0]);
    for path in [
        member_path(&theirs_id),
        member_path("abc"),
        member_path("0"),
    ] {
        let (status, body) = app.api_get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["detail"], "The requested resource does not exist");
    }
    let (status, _) = app
        .api(Method::DELETE, &member_path(&theirs_id), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organization's member is not removed"
    );
}

async fn changing_roles_and_reinviting_keep_the_pages_rules(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let alice = app.create_user("alice").await;
    app.add_member(&org, &alice, Role::Member).await;
    let (_, found) = app.api_get(&format!("{MEMBERS}?query=alice")).await;
    let alice_id = id_of(&found[0]);
    let (status, body) = app
        .api_put(&member_path(&alice_id), json!({"orgRole": "manager"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["orgRole"], "manager");
    let (event, _) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "member.edit");
    // the last owner stays an owner
    let (_, me) = app.api_get(&member_path("me")).await;
    let (status, body) = app
        .api_put(&member_path(&id_of(&me)), json!({"orgRole": "member"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": ERR_LAST_OWNER}));
    // a manager may not make an owner
    let manager = app.visitor_logged_in("alice").await;
    let bob = app.create_user("bob").await;
    app.add_member(&org, &bob, Role::Member).await;
    let (_, found) = app.api_get(&format!("{MEMBERS}?query=bob")).await;
    let (status, body) = manager
        .api_put(&member_path(&id_of(&found[0])), json!({"orgRole": "owner"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"detail": "Your role (Manager) cannot make this change; ask an owner."})
    );
    // reinviting a pending invitation sends a new link; a joined member has none
    add_invitations(&app, &org, "pending", 1).await;
    let (_, found) = app
        .api_get(&format!("{MEMBERS}?query=isInvited:true"))
        .await;
    let before = outbox(&app).await.len();
    let (status, _) = app
        .api_put(&member_path(&id_of(&found[0])), json!({"reinvite": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox(&app).await.len(), before + 1);
    let (status, body) = app
        .api_put(&member_path(&alice_id), json!({"reinvite": true}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "You cannot modify invitations sent to an existing member."
    );
    // all or nothing: a refused role change sends no invitation
    let (_, pending) = app
        .api_get(&format!("{MEMBERS}?query=isInvited:true"))
        .await;
    let before = outbox(&app).await.len();
    let (status, _) = manager
        .api_put(
            &member_path(&id_of(&pending[0])),
            json!({"reinvite": true, "orgRole": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outbox(&app).await.len(), before, "nothing was sent");
    let (status, body) = app
        .api_put(&member_path(&alice_id), json!({"reinvite": "maybe"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"reinvite": ["Must be a valid boolean."]}));
}

async fn removing_members_keeps_the_last_owner_and_needs_member_admin(app: TestApp) {
    let (_, org) = app.owner_of_acme().await;
    let alice = app.create_user("alice").await;
    app.add_member(&org, &alice, Role::Member).await;
    let mona = app.create_user("mona").await;
    app.add_member(&org, &mona, Role::Manager).await;
    let (_, me) = app.api_get(&member_path("me")).await;
    let (status, body) = app
        .api(Method::DELETE, &member_path(&id_of(&me)), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": ERR_LAST_OWNER}));
    let manager = app.visitor_logged_in("mona").await;
    let (status, body) = manager
        .api(Method::DELETE, &member_path(&id_of(&me)), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": "Only owners can remove owners."}));
    let member = app.visitor_logged_in("alice").await;
    let (_, found) = app.api_get(&format!("{MEMBERS}?query=mona")).await;
    let mona_id = id_of(&found[0]);
    let (status, _) = member
        .api(Method::DELETE, &member_path(&mona_id), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members lack member:admin");
    let (status, _) = manager.api_get(MEMBERS).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.api(Method::DELETE, &member_path(&mona_id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (event, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(event, "member.remove");
    assert_eq!(data["email"], "mona@example.com");
    assert_eq!(
        app.api_get(&member_path(&mona_id)).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn a_tokens_member_scopes_decide_what_it_may_do(app: TestApp) {
    app.owner_of_acme().await;
    let owner = app.visitor_logged_in("owner").await;
    let make = |scopes: Vec<&'static str>| {
        let owner = &owner;
        async move {
            let (_, body) = owner
                .api(
                    Method::POST,
                    "/api/0/api-tokens/",
                    Some(json!({"name": "t", "scopes": scopes})),
                )
                .await;
            format!("Bearer {}", body["token"].as_str().unwrap())
        }
    };
    let read = make(vec!["member:read"]).await;
    let org_read = make(vec!["org:read"]).await;
    let write = make(vec!["member:write"]).await;
    let anonymous = app.visitor();
    assert_eq!(
        anonymous
            .authorized(Method::GET, MEMBERS, &read, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        anonymous
            .authorized(Method::GET, MEMBERS, &org_read, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let invite = json!({"email": "tok@example.com"});
    assert_eq!(
        anonymous
            .authorized(Method::POST, MEMBERS, &read, Some(invite.clone()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = anonymous
        .authorized(Method::POST, MEMBERS, &write, Some(invite))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        anonymous
            .authorized(Method::DELETE, &member_path(&id_of(&body)), &write, None)
            .await
            .0,
        StatusCode::FORBIDDEN,
        "removing needs member:admin"
    );
}
