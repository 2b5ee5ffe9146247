//! The organization as the API shows it (docs/compatibility.md, "The API response").

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::config::{Config, Feature, Features};
use crate::models::avatar::OrgAvatar;
use crate::models::flags::Flag;
use crate::models::organization::{OrgStatus, Organization};
use crate::models::role::Role;
use crate::settings::current::OrgSettings;
use crate::settings::options::OPTIONS;
use crate::settings::relays;
use crate::settings::update::FLAG_FIELDS;
use crate::tokens::scopes::Scopes;

/// A time as Sentry's API writes it: `2026-12-01T10:00:00.000000Z`.
pub fn iso(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn status_json(status: OrgStatus) -> Value {
    json!({"id": status.api_id(), "name": status.label()})
}

fn int_option(current: &OrgSettings, api_key: &str, features: &Features, default: i64) -> i64 {
    current
        .api_value(api_key, features)
        .and_then(|v| v.as_i64())
        .unwrap_or(default)
}

/// The avatar block: type, and the ident and URL of an uploaded image (null without one).
fn avatar_json(avatar: Option<&OrgAvatar>, config: &Config) -> Value {
    match avatar {
        Some(avatar) if avatar.file_id.is_some() => json!({
            "avatarType": avatar.avatar_type().id(),
            "avatarUuid": avatar.ident,
            "avatarUrl": config.absolute_url(&format!("/organization-avatar/{}/", avatar.ident)),
        }),
        Some(avatar) => {
            json!({"avatarType": avatar.avatar_type().id(), "avatarUuid": null, "avatarUrl": null})
        }
        None => json!({"avatarType": "letter_avatar", "avatarUuid": null, "avatarUrl": null}),
    }
}

/// Sentry's `OrganizationSerializer` (the summary a list shows): identity, status, avatar, links,
/// features and the flags every member may know.
fn summary_fields(
    org: &Organization,
    avatar: Option<&OrgAvatar>,
    config: &Config,
) -> Map<String, Value> {
    let features = &config.features;
    let mut body = Map::new();
    body.insert("id".into(), json!(org.id.to_string()));
    body.insert("slug".into(), json!(org.slug));
    body.insert("status".into(), status_json(org.status));
    body.insert(
        "name".into(),
        json!(if org.name.is_empty() {
            &org.slug
        } else {
            &org.name
        }),
    );
    body.insert("dateCreated".into(), json!(iso(org.date_added)));
    body.insert(
        "isEarlyAdopter".into(),
        json!(org.flags.get(Flag::EarlyAdopter)),
    );
    body.insert("require2FA".into(), json!(org.flags.get(Flag::Require2fa)));
    body.insert("avatar".into(), avatar_json(avatar, config));
    body.insert(
        "features".into(),
        json!(features.enabled().map(Feature::name).collect::<Vec<_>>()),
    );
    body.insert(
        "links".into(),
        json!({
            "organizationUrl": config.absolute_url(&format!("/settings/{}/", org.slug)),
            "regionUrl": config.public_url.as_str().trim_end_matches('/'),
        }),
    );
    body.insert("hasAuthProvider".into(), json!(false));
    body.insert(
        "allowMemberInvite".into(),
        json!(!org.flags.get(Flag::DisableMemberInvite)),
    );
    body.insert(
        "allowMemberProjectCreation".into(),
        json!(!org.flags.get(Flag::DisableMemberProjectCreation)),
    );
    body.insert(
        "allowSuperuserAccess".into(),
        json!(org.admits_superusers()),
    );
    body
}

/// The summary of an organization, as `GET /api/0/organizations/` lists it.
pub fn organization_summary(
    org: &Organization,
    avatar: Option<&OrgAvatar>,
    config: &Config,
) -> Value {
    Value::Object(summary_fields(org, avatar, config))
}

/// The roles as Sentry lists them, the same in every answer: written as JSON once (building the
/// scope sets on every request was 7 % of an API read's CPU; copying the built lists into each
/// answer and writing them out again, most of the answer's bytes, another 8 %).
static AVAILABLE_ROLES: LazyLock<Box<RawValue>> = LazyLock::new(|| {
    raw(&Role::ALL
        .iter()
        .map(|r| json!({"id": r.id(), "name": r.name()}))
        .collect::<Vec<_>>())
});

static ORG_ROLE_LIST: LazyLock<Box<RawValue>> = LazyLock::new(|| {
    raw(&Role::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.name(),
                "isRetired": r.is_retired(),
                "scopes": Scopes::of_role(*r).iter().collect::<Vec<_>>(),
            })
        })
        .collect::<Vec<_>>())
});

/// A list of JSON values, written out once.
fn raw(items: &[Value]) -> Box<RawValue> {
    // a `Value` always writes as valid JSON, so `from_string` cannot refuse it
    RawValue::from_string(Value::from(items.to_vec()).to_string())
        .unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// `DetailedOrganizationSerializer`'s answer, its keys in Sentry's order: the fields before the
/// role lists, the role lists as written once, the fields after them.
#[derive(Debug, Serialize)]
pub struct OrganizationDetails {
    #[serde(flatten)]
    head: Map<String, Value>,
    #[serde(rename = "availableRoles")]
    available_roles: &'static RawValue,
    #[serde(rename = "orgRoleList")]
    org_role_list: &'static RawValue,
    #[serde(flatten)]
    tail: Map<String, Value>,
}

/// `DetailedOrganizationSerializer` for a member with `role`, whose request may do `access` (the
/// role's scopes, or a token's cut down to them).
pub fn organization(
    current: &OrgSettings,
    role: Role,
    access: &Scopes,
    config: &Config,
) -> OrganizationDetails {
    let features = &config.features;
    let org = &current.org;
    let mut body = summary_fields(org, current.avatar.as_ref(), config);
    body.insert("isDefault".into(), json!(false));
    body.insert(
        "quota".into(),
        json!({
            "maxRate": null,
            "maxRateInterval": 60,
            "accountLimit": int_option(current, "accountRateLimit", features, 0),
            "projectLimit": int_option(current, "projectRateLimit", features, 100),
        }),
    );
    body.insert("defaultRole".into(), json!(org.default_role.id()));
    let mut tail = Map::new();
    for field in &FLAG_FIELDS {
        if let Some(value) = current.api_value(field.api_key, features) {
            tail.insert(field.api_key.into(), value);
        }
    }
    for def in &OPTIONS {
        if def.legacy {
            continue;
        }
        if let Some(value) = current.api_value(def.api_key, features) {
            tail.insert(def.api_key.into(), value);
        }
    }
    tail.insert(
        "trustedRelays".into(),
        Value::from(
            relays::stored_relays(current.options.get(relays::OPTION_KEY))
                .iter()
                .map(relays::StoredRelay::to_api)
                .collect::<Vec<_>>(),
        ),
    );
    tail.insert("access".into(), json!(access.iter().collect::<Vec<_>>()));
    tail.insert("role".into(), json!(role.id()));
    tail.insert("orgRole".into(), json!(role.id()));
    tail.insert("pendingAccessRequests".into(), json!(0));
    OrganizationDetails {
        head: body,
        available_roles: &AVAILABLE_ROLES,
        org_role_list: &ORG_ROLE_LIST,
        tail,
    }
}

/// Sentry's `UserSerializer` for the caller themself (`GET /api/0/`).
pub fn user(
    user: &crate::models::user::User,
    emails: &[crate::profile::UserEmail],
    has_2fa: bool,
) -> Value {
    json!({
        "id": user.id.to_string(),
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "avatarUrl": null,
        "isActive": user.is_active,
        "hasPasswordAuth": user.has_usable_password(),
        "isManaged": false,
        "dateJoined": iso(user.date_joined),
        "lastLogin": user.last_login.map(iso),
        "has2fa": has_2fa,
        "lastActive": user.last_login.map(iso),
        "isSuperuser": user.is_superuser,
        "isStaff": false,
        "experiments": {},
        "emails": emails
            .iter()
            .enumerate()
            .map(|(i, e)| json!({"id": (i + 1).to_string(), "email": e.email, "is_verified": e.is_verified}))
            .collect::<Vec<_>>(),
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": null, "avatarUrl": null},
    })
}

/// Sentry's `ApiTokenSerializer`: the token's text only when it was just made.
pub fn api_token(token: &crate::models::api_token::ApiToken, text: Option<&str>) -> Value {
    let mut body = json!({
        "id": token.id.to_string(),
        "name": if token.name.is_empty() { Value::Null } else { json!(token.name) },
        "scopes": Scopes::from_stored(&token.scopes).iter().collect::<Vec<_>>(),
        "application": null,
        "expiresAt": token.expires_at.map(iso),
        "dateCreated": iso(token.created_at),
        "dateLastUsed": token.last_used_at.map(iso),
        "state": null,
        "tokenLastCharacters": token.token_last_characters,
    });
    if let Some(text) = text {
        body["token"] = json!(text);
    }
    body
}

/// Sentry's `OrganizationMemberSerializer` for a member or a pending invitation.
pub fn member(view: &crate::members::MemberView, now: chrono::NaiveDateTime) -> Value {
    let member = &view.member;
    let role = member.role();
    let user = member.user_id.map(|id| {
        let name = match view.user_name.as_deref() {
            Some(name) if !name.is_empty() => name,
            _ => view.username.as_deref().unwrap_or_default(),
        };
        json!({
            "id": id.to_string(),
            "name": name,
            "username": view.username,
            "email": view.user_email,
            "avatarUrl": null,
            "isActive": true,
            "has2fa": view.two_factor,
            "emails": [{"email": view.user_email, "is_verified": view.email_verified}],
        })
    });
    let name = user
        .as_ref()
        .and_then(|u| u["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| view.email().to_owned());
    json!({
        "id": member.id.to_string(),
        "email": view.email(),
        "name": name,
        "user": user,
        "orgRole": role.id(),
        "role": role.id(),
        "roleName": role.name(),
        "pending": view.is_pending(),
        "expired": view.expired(now),
        "flags": {
            "idp:provisioned": false,
            "idp:role-restricted": false,
            "sso:linked": false,
            "sso:invalid": false,
            "member-limit:restricted": false,
            "partnership:restricted": false,
        },
        "dateCreated": iso(member.date_added),
        "inviteStatus": "approved",
        "inviterName": null,
    })
}
