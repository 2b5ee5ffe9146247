//! Role × route and CSRF tests, generated from the app's own route table (`web::routes::ROUTES`):
//! every state-changing route must have a row in [`CASES`], or `every_state_changing_route_has_a_row`
//! fails. Each row says who may use the route; every other kind of caller is refused with the
//! expected status and nothing in the database changes. The same rows drive the CSRF checks: no
//! token, a wrong one, another session's, a foreign Origin.

use std::collections::HashMap;

use orgsettings::models::organization::Organization;
use orgsettings::models::user::User;
use orgsettings::web::routes::ROUTES;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, PASSWORD, TestApp, Visitor, images, relay_keys, snapshot};

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    Member,
    Manager,
    Owner,
    /// The owner of another organization.
    OtherOwner,
    /// A superuser with superuser mode off.
    SuperuserOff,
    /// A superuser with superuser mode on (and every permission).
    SuperuserOn,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::Member,
    Who::Manager,
    Who::Owner,
    Who::OtherOwner,
    Who::SuperuserOff,
    Who::SuperuserOn,
];

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone: the route's own checks (a password, a token) decide, the same for every caller.
    Public,
    /// Any logged-in user.
    LoggedIn,
    /// The instance's superusers, superuser mode on or off.
    Superuser,
    /// Superuser mode on (and the page's permission).
    Manage,
    /// Owners and managers of the organization, and superuser mode.
    OrgWrite,
    /// Owners of the organization, and superuser mode.
    OrgOwner,
    /// A Relay's signature decides: sessions, roles and CSRF tokens mean nothing (the requests
    /// here are unsigned, so every caller gets the same refusal).
    RelaySigned,
}

/// One row: a state-changing route, who may use it, and what a permitted request answers.
struct Case {
    method: &'static str,
    path: &'static str,
    access: Access,
    /// A JSON API route (401 instead of a login redirect).
    api: bool,
    /// What a permitted request answers (for `Public`, what every caller gets).
    success: StatusCode,
}

const fn case(
    method: &'static str,
    path: &'static str,
    access: Access,
    success: StatusCode,
) -> Case {
    Case {
        method,
        path,
        access,
        api: false,
        success,
    }
}

const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

const CASES: &[Case] = &[
    // a wrong password: refused the same way for everyone
    case("post", "/login", Access::Public, StatusCode::BAD_REQUEST),
    // no login waiting for its second step: back to /login
    case("post", "/login/2fa/", Access::Public, SEE_OTHER),
    case("post", "/logout", Access::Public, SEE_OTHER),
    case("post", "/superuser/", Access::Superuser, SEE_OTHER),
    case("post", "/superuser/leave/", Access::LoggedIn, SEE_OTHER),
    case("post", "/manage/users/new/", Access::Manage, SEE_OTHER),
    case("post", "/manage/users/{id}/", Access::Manage, SEE_OTHER),
    case(
        "post",
        "/manage/users/{id}/permissions/",
        Access::Manage,
        SEE_OTHER,
    ),
    // a setup link that does not exist ("not valid any more")
    case(
        "post",
        "/setup/{token}/",
        Access::Public,
        StatusCode::BAD_REQUEST,
    ),
    case("post", "/account/", Access::LoggedIn, SEE_OTHER),
    case("post", "/account/security/", Access::LoggedIn, SEE_OTHER),
    case("post", "/account/password/", Access::LoggedIn, SEE_OTHER),
    case("post", "/account/api-tokens/", Access::LoggedIn, SEE_OTHER),
    // the same answer whether or not an account matches
    case("post", "/account/recover/", Access::Public, StatusCode::OK),
    // a reset link with a forged token
    case(
        "post",
        "/account/recover/confirm/{user_id}/{token}/",
        Access::Public,
        StatusCode::BAD_REQUEST,
    ),
    // an invitation link with a forged token
    case(
        "post",
        "/accept/{member_id}/{token}/",
        Access::Public,
        StatusCode::BAD_REQUEST,
    ),
    case("post", "/organizations/new/", Access::LoggedIn, SEE_OTHER),
    Case {
        method: "post",
        path: "/api/0/api-tokens/",
        access: Access::LoggedIn,
        api: true,
        success: StatusCode::CREATED,
    },
    Case {
        method: "delete",
        path: "/api/0/api-tokens/",
        access: Access::LoggedIn,
        api: true,
        success: StatusCode::NO_CONTENT,
    },
    Case {
        method: "put",
        path: "/api/0/organizations/{org}/",
        access: Access::OrgWrite,
        api: true,
        success: StatusCode::OK,
    },
    Case {
        method: "put",
        path: "/api/0/organizations/{org}/avatar/",
        access: Access::OrgWrite,
        api: true,
        success: StatusCode::OK,
    },
    case("post", "/settings/{org}/", Access::OrgWrite, SEE_OTHER),
    case(
        "post",
        "/settings/{org}/security-and-privacy/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/security-and-privacy/pii-rules/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/relays/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/auth-tokens/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/avatar/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/members/",
        Access::OrgWrite,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/remove/",
        Access::OrgOwner,
        SEE_OTHER,
    ),
    case(
        "post",
        "/settings/{org}/restore/",
        Access::OrgOwner,
        SEE_OTHER,
    ),
    Case {
        method: "put",
        path: "/api/0/auth/",
        access: Access::LoggedIn,
        api: true,
        success: StatusCode::OK,
    },
    Case {
        method: "post",
        path: "/api/0/organizations/",
        access: Access::LoggedIn,
        api: true,
        success: StatusCode::CREATED,
    },
    Case {
        method: "delete",
        path: "/api/0/organizations/{org}/",
        access: Access::OrgOwner,
        api: true,
        success: StatusCode::ACCEPTED,
    },
    Case {
        method: "post",
        path: "/api/0/organizations/{org}/members/",
        access: Access::OrgWrite,
        api: true,
        success: StatusCode::CREATED,
    },
    Case {
        method: "put",
        path: "/api/0/organizations/{org}/members/{member_id}/",
        access: Access::OrgWrite,
        api: true,
        success: StatusCode::OK,
    },
    Case {
        method: "delete",
        path: "/api/0/organizations/{org}/members/{member_id}/",
        access: Access::OrgWrite,
        api: true,
        success: StatusCode::NO_CONTENT,
    },
    // unsigned: "Missing relay signature"
    Case {
        method: "post",
        path: "/api/0/relays/register/challenge/",
        access: Access::RelaySigned,
        api: true,
        success: StatusCode::BAD_REQUEST,
    },
    Case {
        method: "post",
        path: "/api/0/relays/register/response/",
        access: Access::RelaySigned,
        api: true,
        success: StatusCode::BAD_REQUEST,
    },
    // no relay id: "Authentication credentials were not provided."
    Case {
        method: "post",
        path: "/api/0/relays/publickeys/",
        access: Access::RelaySigned,
        api: true,
        success: StatusCode::UNAUTHORIZED,
    },
];

/// The status a refused caller gets, or `None` when the caller may use the route.
fn refusal(access: Access, api: bool, who: Who) -> Option<StatusCode> {
    let login = if api {
        StatusCode::UNAUTHORIZED
    } else {
        SEE_OTHER
    };
    match (access, who) {
        (Access::Public | Access::RelaySigned, _) => None,
        (_, Who::Anonymous) => Some(login),
        (Access::LoggedIn, _) => None,
        (Access::Superuser, Who::SuperuserOff | Who::SuperuserOn) => None,
        (Access::Superuser, _) => Some(StatusCode::FORBIDDEN),
        (Access::Manage, Who::SuperuserOn) => None,
        (Access::Manage, _) => Some(StatusCode::FORBIDDEN),
        (Access::OrgWrite | Access::OrgOwner, Who::Owner | Who::SuperuserOn) => None,
        (Access::OrgWrite, Who::Manager) => None,
        (Access::OrgOwner, Who::Manager) => Some(StatusCode::FORBIDDEN),
        (_, Who::Member) => Some(StatusCode::FORBIDDEN),
        // a superuser outside superuser mode is told to turn it on (the API with Sentry's
        // superuser-required)
        (_, Who::SuperuserOff) => Some(StatusCode::FORBIDDEN),
        // another organization's people do not see it
        (_, Who::OtherOwner) => Some(StatusCode::NOT_FOUND),
    }
}

/// An app with an organization `acme` (owner, manager, member), another organization with its
/// owner, two superusers with every permission (one in superuser mode), a user to manage, and a
/// logged-in browser for each kind of caller.
struct World {
    app: TestApp,
    visitors: HashMap<Who, Visitor>,
    org: Organization,
    target: User,
}

fn username(who: Who) -> &'static str {
    match who {
        Who::Anonymous => "",
        Who::Member => "member",
        Who::Manager => "manager",
        Who::Owner => "owner",
        Who::OtherOwner => "outsider",
        Who::SuperuserOff => "sudo",
        Who::SuperuserOn => "root",
    }
}

impl World {
    async fn build(backend: Backend) -> Option<World> {
        use orgsettings::models::permission;
        use orgsettings::models::role::Role;
        let app = TestApp::spawn(backend).await?;
        let owner = app.create_user("owner").await;
        let org = app.create_org(&owner, "Acme", "acme").await;
        for (name, role) in [("manager", Role::Manager), ("member", Role::Member)] {
            let user = app.create_user(name).await;
            app.add_member(&org, &user, role).await;
        }
        let outsider = app.create_user("outsider").await;
        app.create_org(&outsider, "Other", "other").await;
        for name in ["root", "sudo"] {
            let user = app.create_user_with(name, true).await;
            let id = user.id;
            app.with_db(move |conn| {
                for p in permission::KNOWN {
                    permission::add(conn, id, p).unwrap();
                }
            })
            .await;
        }
        let target = app.create_user_with("target", true).await;
        let mut visitors = HashMap::new();
        for who in EVERYONE {
            let visitor = app.visitor();
            match who {
                Who::Anonymous => {
                    visitor.get("/login").await;
                }
                _ => visitor.login(username(who), PASSWORD).await,
            }
            if who == Who::SuperuserOn {
                visitor.get("/superuser/").await;
                visitor
                    .post_form("/superuser/", &[("password", PASSWORD)])
                    .await
                    .assert_redirect("/manage/");
            }
            visitors.insert(who, visitor);
        }
        Some(World {
            app,
            visitors,
            org,
            target,
        })
    }

    fn visitor(&self, who: Who) -> &Visitor {
        &self.visitors[&who]
    }
}

/// A request, ready to be sent by one caller.
enum Request {
    Form(String, Vec<(String, String)>),
    Json(Method, String, Value),
    Multipart(String, Vec<(&'static str, &'static str)>, Vec<u8>),
}

impl Request {
    fn form(path: impl Into<String>, fields: &[(&str, &str)]) -> Self {
        Request::Form(
            path.into(),
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// Sends it with the caller's session and CSRF token; the status and, for redirects, where to.
    async fn send(self, visitor: &Visitor) -> (StatusCode, Option<String>) {
        match self {
            Request::Form(path, fields) => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let page = visitor.post_form(&path, &fields).await;
                (page.status, page.location)
            }
            Request::Json(method, path, body) => {
                (visitor.api(method, &path, Some(body)).await.0, None)
            }
            Request::Multipart(path, fields, file) => {
                let page = visitor
                    .post_multipart(&path, &fields, ("avatar", file))
                    .await;
                (page.status, page.location)
            }
        }
    }
}

/// The settings form as the owner's browser would submit it, with one field changed: a text field
/// set to a value naming the caller, or a checkbox flipped.
async fn settings_form(world: &World, path: &str, who: Who, field: &str) -> Request {
    let page = world.visitor(Who::Owner).get(path).await;
    let mut fields = page.form_fields(path);
    fields.retain(|(name, _)| name != "csrf_token");
    match field {
        "name" | "sensitiveFields" => {
            fields.retain(|(name, _)| name != field);
            fields.push((field.into(), format!("set by {who:?}")));
        }
        checkbox => {
            let on = fields.iter().any(|(name, _)| name == checkbox);
            fields.retain(|(name, _)| name != checkbox);
            if !on {
                fields.push((checkbox.into(), "on".into()));
            }
        }
    }
    Request::Form(path.into(), fields)
}

/// The request `who` sends to the route of `case`, after setting up what it needs (a deletion to
/// restore, a permission to add again).
async fn request_for(world: &World, case: &Case, who: Who) -> Request {
    let app = &world.app;
    let (org_id, target_id) = (world.org.id, world.target.id);
    let tag = format!("{who:?}").to_lowercase();
    match (case.method, case.path) {
        ("post", "/login") => Request::form(
            "/login",
            &[("username", "nobody"), ("password", "wrong password")],
        ),
        ("post", "/login/2fa/") => Request::form("/login/2fa/", &[("code", "123456")]),
        ("post", "/logout") => Request::form("/logout", &[]),
        ("post", "/superuser/") => Request::form("/superuser/", &[("password", PASSWORD)]),
        ("post", "/superuser/leave/") => Request::form("/superuser/leave/", &[]),
        ("post", "/manage/users/new/") => {
            let username = format!("new-{tag}");
            let email = format!("new-{tag}@example.com");
            Request::form(
                "/manage/users/new/",
                &[
                    ("username", username.as_str()),
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                ],
            )
        }
        ("post", "/manage/users/{id}/") => {
            app.with_db(move |conn| {
                use diesel::prelude::*;
                use orgsettings::db::schema::users;
                diesel::update(users::table.find(target_id))
                    .set(users::is_active.eq(true))
                    .execute(conn)
                    .unwrap();
            })
            .await;
            Request::form(
                format!("/manage/users/{target_id}/"),
                &[("action", "deactivate")],
            )
        }
        ("post", "/manage/users/{id}/permissions/") => {
            app.with_db(move |conn| {
                orgsettings::models::permission::remove(conn, target_id, "broadcasts.admin")
                    .unwrap();
            })
            .await;
            Request::form(
                format!("/manage/users/{target_id}/permissions/"),
                &[("action", "add"), ("permission", "broadcasts.admin")],
            )
        }
        ("post", "/setup/{token}/") => Request::form(
            "/setup/no-such-link/",
            &[
                ("username", "first"),
                ("email", "first@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("organization", "First"),
            ],
        ),
        ("post", "/account/") => {
            let email = format!("{}-second@example.com", username(who));
            Request::form("/account/", &[("action", "add"), ("email", email.as_str())])
        }
        ("post", "/account/password/") => Request::form(
            "/account/password/",
            &[
                ("password", PASSWORD),
                ("new_password", "a new password"),
                ("new_password_confirm", "a new password"),
            ],
        ),
        ("post", "/account/api-tokens/") => Request::form(
            "/account/api-tokens/",
            &[
                ("action", "create"),
                ("name", tag.as_str()),
                ("scopes", "org:read"),
            ],
        ),
        ("post", "/settings/{org}/auth-tokens/") => Request::form(
            "/settings/acme/auth-tokens/",
            &[("action", "create"), ("name", tag.as_str())],
        ),
        ("post", "/account/recover/") => {
            Request::form("/account/recover/", &[("login", "nobody@example.com")])
        }
        ("post", "/account/recover/confirm/{user_id}/{token}/") => Request::form(
            "/account/recover/confirm/1/forged-token/",
            &[
                ("password", "a new password"),
                ("password_confirm", "a new password"),
            ],
        ),
        ("post", "/account/security/") => Request::form(
            "/account/security/",
            &[("action", "enrol"), ("code", "123456")],
        ),
        ("post", "/accept/{member_id}/{token}/") => Request::form(
            "/accept/1/forged-token/",
            &[
                ("username", "joiner"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        ),
        ("post", "/organizations/new/") => {
            let name = format!("Org of {tag}");
            Request::form("/organizations/new/", &[("name", name.as_str())])
        }
        ("post", "/api/0/api-tokens/") => Request::Json(
            Method::POST,
            "/api/0/api-tokens/".into(),
            json!({"name": format!("token of {tag}"), "scopes": ["org:read"]}),
        ),
        ("delete", "/api/0/api-tokens/") => {
            // a token of the caller's own to revoke (the anonymous caller gets the first user's)
            let name = match username(who) {
                "" => "owner",
                name => name,
            };
            let id = app
                .with_db(move |conn| {
                    let user = User::find_by_login(conn, name).unwrap().remove(0);
                    let request = orgsettings::tokens::personal::Request {
                        scopes: vec!["org:read".into()],
                        ..Default::default()
                    };
                    let config =
                        orgsettings::config::Config::for_url(url::Url::parse("http://x/").unwrap());
                    let actor = orgsettings::models::actor::Actor::user(&user, None);
                    orgsettings::tokens::personal::create(conn, &config, &actor, &user, &request)
                        .unwrap()
                        .0
                        .id
                })
                .await;
            Request::Json(
                Method::DELETE,
                "/api/0/api-tokens/".into(),
                json!({"tokenId": id}),
            )
        }
        ("put", "/api/0/organizations/{org}/") => {
            let early = app
                .with_db(move |conn| {
                    Organization::find(conn, org_id)
                        .unwrap()
                        .flags
                        .get(orgsettings::models::flags::Flag::EarlyAdopter)
                })
                .await;
            Request::Json(
                Method::PUT,
                "/api/0/organizations/acme/".into(),
                json!({"isEarlyAdopter": !early}),
            )
        }
        ("put", "/api/0/organizations/{org}/avatar/") => {
            use base64::Engine;
            let photo = base64::engine::general_purpose::STANDARD.encode(images::png(256, 256));
            Request::Json(
                Method::PUT,
                "/api/0/organizations/acme/avatar/".into(),
                json!({"avatar_type": "upload", "avatar_photo": photo}),
            )
        }
        ("post", "/settings/{org}/") => settings_form(world, "/settings/acme/", who, "name").await,
        ("post", "/settings/{org}/security-and-privacy/") => {
            settings_form(
                world,
                "/settings/acme/security-and-privacy/",
                who,
                "sensitiveFields",
            )
            .await
        }
        ("post", "/settings/{org}/security-and-privacy/pii-rules/") => {
            let source = format!("extra.{tag}");
            Request::form(
                "/settings/acme/security-and-privacy/pii-rules/",
                &[
                    ("action", "add"),
                    ("method", "mask"),
                    ("dataType", "creditcard"),
                    ("source", source.as_str()),
                ],
            )
        }
        ("post", "/settings/{org}/relays/") => {
            let index = EVERYONE.iter().position(|w| *w == who).unwrap_or(0);
            let key = relay_keys(EVERYONE.len())[index].clone();
            let name = format!("relay of {tag}");
            Request::form(
                "/settings/acme/relays/",
                &[
                    ("action", "add"),
                    ("name", name.as_str()),
                    ("publicKey", key.as_str()),
                    ("description", ""),
                ],
            )
        }
        ("post", "/settings/{org}/avatar/") => Request::Multipart(
            "/settings/acme/avatar/".into(),
            vec![("avatarType", "upload")],
            images::png(256, 256),
        ),
        ("post", "/settings/{org}/members/") => {
            let email = format!("{tag}@invited.example");
            Request::form(
                "/settings/acme/members/",
                &[
                    ("action", "invite"),
                    ("email", email.as_str()),
                    ("role", "member"),
                ],
            )
        }
        ("post", "/settings/{org}/remove/") => {
            app.with_db(move |conn| {
                use diesel::prelude::*;
                use orgsettings::db::schema::organizations;
                diesel::update(organizations::table.find(org_id))
                    .set((
                        organizations::status.eq(0),
                        organizations::deletion_scheduled_at.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)
                    .unwrap();
            })
            .await;
            Request::form(
                "/settings/acme/remove/",
                &[("confirm_slug", "acme"), ("password", PASSWORD)],
            )
        }
        ("post", "/settings/{org}/restore/") => {
            app.with_db(move |conn| {
                let actor = orgsettings::models::actor::Actor::cli();
                let _ = orgsettings::settings::delete::schedule(conn, org_id, &actor);
            })
            .await;
            Request::form("/settings/acme/restore/", &[])
        }
        ("put", "/api/0/auth/") => Request::Json(
            Method::PUT,
            "/api/0/auth/".into(),
            json!({"password": PASSWORD}),
        ),
        ("post", "/api/0/organizations/") => Request::Json(
            Method::POST,
            "/api/0/organizations/".into(),
            json!({"name": format!("Org of {tag}")}),
        ),
        ("delete", "/api/0/organizations/{org}/") => {
            app.with_db(move |conn| {
                use diesel::prelude::*;
                use orgsettings::db::schema::organizations;
                diesel::update(organizations::table.find(org_id))
                    .set((
                        organizations::status.eq(0),
                        organizations::deletion_scheduled_at.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)
                    .unwrap();
            })
            .await;
            Request::Json(
                Method::DELETE,
                "/api/0/organizations/acme/".into(),
                json!({}),
            )
        }
        ("post", "/api/0/organizations/{org}/members/") => Request::Json(
            Method::POST,
            "/api/0/organizations/acme/members/".into(),
            json!({"email": format!("{tag}@api-invited.example"), "orgRole": "member"}),
        ),
        ("put" | "delete", "/api/0/organizations/{org}/members/{member_id}/") => {
            // an invitation of its own for each caller to send again or revoke
            let org = world.org.clone();
            static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let email = format!("{tag}-{}-{n}@pending.example", case.method);
            let id = app
                .with_db(move |conn| {
                    let actor = orgsettings::models::actor::Actor::cli();
                    let config =
                        orgsettings::config::Config::for_url(url::Url::parse("http://x/").unwrap());
                    orgsettings::members::invite(
                        conn,
                        &config,
                        &org,
                        &actor,
                        orgsettings::models::role::Role::Owner,
                        &email,
                        orgsettings::models::role::Role::Member,
                        false,
                    )
                    .unwrap()
                    .id
                })
                .await;
            let path = format!("/api/0/organizations/acme/members/{id}/");
            match case.method {
                "put" => Request::Json(Method::PUT, path, json!({"reinvite": true})),
                _ => Request::Json(Method::DELETE, path, json!({})),
            }
        }
        ("post", "/api/0/relays/register/challenge/") => Request::Json(
            Method::POST,
            case.path.into(),
            json!({"relay_id": "67f400f9-7924-40c4-82a3-3fdb25b6d820", "public_key": relay_keys(1)[0]}),
        ),
        ("post", "/api/0/relays/register/response/") => Request::Json(
            Method::POST,
            case.path.into(),
            json!({"relay_id": "67f400f9-7924-40c4-82a3-3fdb25b6d820", "token": "x"}),
        ),
        ("post", "/api/0/relays/publickeys/") => {
            Request::Json(Method::POST, case.path.into(), json!({"relay_ids": []}))
        }
        (method, path) => panic!("no request for {method} {path}: add it here"),
    }
}

#[test]
fn every_state_changing_route_has_a_row() {
    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|route| route.is_state_changing())
        .filter(|route| {
            !CASES
                .iter()
                .any(|c| c.method == route.method && c.path == route.path)
        })
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    assert!(
        missing.is_empty(),
        "state-changing routes without a row in the role × route table: {missing:?}"
    );
    let stale: Vec<String> = CASES
        .iter()
        .filter(|c| {
            !ROUTES
                .iter()
                .any(|r| r.method == c.method && r.path == c.path)
        })
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );
}

/// Every caller against one route, on a fresh world: refused ones get their status and change
/// nothing; permitted ones get the route's answer.
async fn run_role_matrix(backend: Backend, case: &Case) {
    let Some(world) = World::build(backend).await else {
        return;
    };
    // the refused first, while the world is as built; then the permitted ones
    let mut order: Vec<Who> = EVERYONE
        .into_iter()
        .filter(|w| refusal(case.access, case.api, *w).is_some())
        .collect();
    order.extend(
        EVERYONE
            .into_iter()
            .filter(|w| refusal(case.access, case.api, *w).is_none()),
    );
    for who in order {
        let request = request_for(&world, case, who).await;
        let before = snapshot(&world.app).await;
        let (status, location) = request.send(world.visitor(who)).await;
        let route = format!("{} {} as {who:?}", case.method, case.path);
        match refusal(case.access, case.api, who) {
            Some(expected) => {
                assert_eq!(status, expected, "{route} must be refused");
                if expected == SEE_OTHER {
                    assert!(
                        location.as_deref().is_some_and(|l| l.starts_with("/login")),
                        "{route}: refused to the login page, not {location:?}"
                    );
                }
                assert_eq!(
                    snapshot(&world.app).await,
                    before,
                    "{route} was refused but changed the database"
                );
            }
            None => assert_eq!(status, case.success, "{route} is allowed"),
        }
    }
}

/// The same route with every way a CSRF token can be wrong, as a caller who may use it: 403 and
/// nothing changed.
async fn run_csrf_matrix(backend: Backend, case: &Case) {
    let Some(world) = World::build(backend).await else {
        return;
    };
    let who = EVERYONE
        .into_iter()
        .find(|w| refusal(case.access, case.api, *w).is_none() && *w != Who::Anonymous)
        .unwrap_or(Who::Anonymous);
    let visitor = world.visitor(who);
    let own_token = visitor.csrf_token().await;
    let foreign_token = world.visitor(Who::OtherOwner).csrf_token().await;
    let path = case.path.replace("{org}", "acme");
    let method = Method::from_bytes(case.method.to_uppercase().as_bytes()).unwrap();
    let variants: [(&str, Option<&str>, Option<&str>); 4] = [
        ("no token", None, None),
        ("a wrong token", Some("not-the-token"), None),
        (
            "another session's token",
            Some(foreign_token.as_str()),
            None,
        ),
        (
            "a foreign Origin",
            Some(own_token.as_str()),
            Some("https://evil.example"),
        ),
    ];
    for (what, token, origin) in variants {
        // build the request as for a permitted call (with its setup), then spoil its token
        let request = request_for(&world, case, who).await;
        let body: Vec<(String, String)> = match &request {
            Request::Form(_, fields) => fields.clone(),
            _ => Vec::new(),
        };
        let before = snapshot(&world.app).await;
        // the request's own path where it has one (a member's id), else the route's
        let path = match &request {
            Request::Json(_, own, _) => own.clone(),
            _ => path.clone(),
        };
        let mut builder = visitor.client.request(method.clone(), visitor.url(&path));
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder = match (&request, token) {
            (Request::Json(_, _, json), token) => {
                let builder = builder.json(json);
                match token {
                    Some(token) => builder.header("X-CSRFToken", token),
                    None => builder,
                }
            }
            (_, token) => {
                let mut fields = body.clone();
                if let Some(token) = token {
                    fields.push(("csrf_token".into(), token.into()));
                }
                builder.form(&fields)
            }
        };
        let response = builder.send().await.unwrap();
        let route = format!("{} {} with {what}", case.method, case.path);
        // a Relay's request is not a browser's: no CSRF check, the signature decides
        let expected = match case.access {
            Access::RelaySigned => case.success,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(response.status(), expected, "{route}");
        assert_eq!(
            snapshot(&world.app).await,
            before,
            "{route} was refused but changed the database"
        );
    }
}

macro_rules! matrix_tests {
    ($($name:ident => $index:expr),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn roles_on_sqlite() {
                    run_role_matrix(Backend::Sqlite, &CASES[$index]).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn roles_on_postgres() {
                    run_role_matrix(Backend::Postgres, &CASES[$index]).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn csrf_on_sqlite() {
                    run_csrf_matrix(Backend::Sqlite, &CASES[$index]).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn csrf_on_postgres() {
                    run_csrf_matrix(Backend::Postgres, &CASES[$index]).await;
                }
            }
        )*

        #[test]
        fn every_row_has_its_tests() {
            let covered = [$($index),*];
            assert_eq!(covered.len(), CASES.len(), "a row of CASES has no tests in matrix_tests!");
        }
    };
}

matrix_tests! {
    login => 0,
    login_second_step => 1,
    logout => 2,
    superuser_enter => 3,
    superuser_leave => 4,
    manage_new_user => 5,
    manage_user_action => 6,
    manage_permissions => 7,
    setup_link => 8,
    account => 9,
    account_security => 10,
    account_password => 11,
    account_api_tokens => 12,
    account_recover => 13,
    account_reset => 14,
    accept_invitation => 15,
    new_organization => 16,
    api_token_create => 17,
    api_token_delete => 18,
    api_organization => 19,
    api_avatar => 20,
    settings_general => 21,
    settings_security => 22,
    pii_rules => 23,
    relays => 24,
    org_auth_tokens => 25,
    avatar => 26,
    members => 27,
    remove_organization => 28,
    restore_organization => 29,
    api_sudo => 30,
    api_create_organization => 31,
    api_remove_organization => 32,
    api_invite_member => 33,
    api_update_member => 34,
    api_remove_member => 35,
    relay_register_challenge => 36,
    relay_register_response => 37,
    relay_public_keys => 38,
}
