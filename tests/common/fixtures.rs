//! What the tests share: users, organizations and members, two-factor codes, emails, relay keys.

use orgsettings::models::actor::Actor;
use orgsettings::models::member::Member;
use orgsettings::models::organization::{OrgName, Organization};
use orgsettings::models::role::Role;
use orgsettings::models::slug::Slug;
use orgsettings::models::user::{EmailAddress, NewUser, Password, User, Username};

use super::PASSWORD;
use super::app::TestApp;
use super::visitor::{Page, unescape};

impl TestApp {
    pub async fn create_user(&self, username: &str) -> User {
        self.create_user_with(username, false).await
    }

    pub async fn create_user_with(&self, username: &str, superuser: bool) -> User {
        let new_user = NewUser {
            username: Username::parse(username).unwrap(),
            email: EmailAddress::parse(&format!("{username}@example.com")).unwrap(),
            password: Some(Password::parse(PASSWORD).unwrap()),
            is_superuser: superuser,
            email_verified: true,
        };
        self.with_db(move |conn| User::create(conn, &new_user).expect("create user"))
            .await
    }

    pub async fn create_org(&self, owner: &User, name: &str, slug: &str) -> Organization {
        let owner = owner.clone();
        let name = OrgName::parse(name).unwrap();
        let slug = Slug::parse(slug).unwrap();
        self.with_db(move |conn| {
            Organization::create(conn, &name, Some(&slug), &owner, &Actor::cli())
                .expect("create org")
        })
        .await
    }

    pub async fn add_member(&self, org: &Organization, user: &User, role: Role) {
        let (org_id, user) = (org.id, user.clone());
        self.with_db(move |conn| Member::add_user(conn, org_id, &user, role).expect("add member"))
            .await;
    }

    /// `owner`, owning the organization Acme (`acme`), logged in as the default visitor.
    pub async fn owner_of_acme(&self) -> (User, Organization) {
        self.owner_of("Acme", "acme").await
    }

    /// `owner`, owning an organization with this name and slug, logged in as the default visitor.
    pub async fn owner_of(&self, name: &str, slug: &str) -> (User, Organization) {
        let owner = self.create_user("owner").await;
        let org = self.create_org(&owner, name, slug).await;
        self.login("owner", PASSWORD).await;
        (owner, org)
    }
}

/// The audit entries of an organization, oldest first: (event api name, data).
pub async fn audit_entries(app: &TestApp, org_id: i64) -> Vec<(String, serde_json::Value)> {
    use orgsettings::models::audit::{AuditEntry, AuditQuery};
    let mut entries = app
        .with_db(move |conn| AuditEntry::list(conn, org_id, AuditQuery::default()).unwrap())
        .await;
    entries.reverse();
    entries
        .into_iter()
        .map(|e| {
            (
                e.event()
                    .map(|ev| ev.api_name().to_owned())
                    .unwrap_or_default(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect()
}

/// The outbox, oldest first.
pub async fn outbox(app: &TestApp) -> Vec<orgsettings::models::email::Email> {
    let (mut emails, _) = app
        .with_db(|conn| orgsettings::models::email::list(conn, false, 0, 1000).unwrap())
        .await;
    emails.reverse();
    emails
}

/// How many emails the outbox holds (all of them, not only the newest 1 000 `outbox` reads).
pub async fn outbox_count(app: &TestApp) -> i64 {
    app.with_db(|conn| {
        orgsettings::models::email::list(conn, false, 0, 1)
            .unwrap()
            .1
    })
    .await
}

/// The instance audit log's events, oldest first.
pub async fn instance_events(app: &TestApp) -> Vec<String> {
    app.with_db(|conn| {
        orgsettings::models::instance_audit::InstanceAuditEntry::recent(conn, None, 100).unwrap()
    })
    .await
    .into_iter()
    .rev()
    .map(|e| e.event)
    .collect()
}

/// The first link to this app in a text, as a path.
pub fn link_in(text: &str, base: &str, prefix: &str) -> Option<String> {
    let start = text.find(&format!("{base}{prefix}"))? + base.len();
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |n| start + n);
    Some(text[start..end].to_owned())
}

/// Turns on TOTP for a user directly; returns the secret (codes come from `totp_code`).
pub async fn enrol_totp(app: &TestApp, user: &User) -> String {
    let secret = orgsettings::auth::two_factor::new_secret();
    let code = totp_code(&secret);
    let (user, stored) = (user.clone(), secret.clone());
    let enrolled = app
        .with_db(move |conn| {
            orgsettings::auth::two_factor::enrol(conn, &user, &stored, &code).unwrap()
        })
        .await;
    assert!(enrolled.is_some());
    secret
}

/// The current TOTP code of a secret.
pub fn totp_code(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    orgsettings::auth::two_factor::code_at(secret, now).unwrap()
}

/// The code of the next time step (a code not used yet, for a second login in the same 30 s).
pub fn next_totp_code(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    orgsettings::auth::two_factor::code_at(secret, now + 30).unwrap()
}

/// Marks a user's primary email unverified.
pub async fn unverify(app: &TestApp, user: &User) {
    let id = user.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::user_emails;
        diesel::update(user_emails::table.filter(user_emails::user_id.eq(id)))
            .set(user_emails::is_verified.eq(false))
            .execute(conn)
            .unwrap();
    })
    .await;
}

/// `n` distinct valid Relay public keys (Ed25519, URL-safe base64 without padding), made from seeds.
pub fn relay_keys(n: usize) -> Vec<String> {
    use base64::Engine;
    (0..n)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
        })
        .collect()
}

/// The new token a token page shows once (`prefix` is `sntryu_` or `sntrys_`).
pub fn token_on(page: &Page, prefix: &str) -> String {
    let marker = "id=\"new-token-text\" title=\"";
    let start = page
        .body
        .find(&format!("{marker}{prefix}"))
        .expect("the new token is shown")
        + marker.len();
    let end = page.body[start..].find('"').expect("the title ends") + start;
    unescape(&page.body[start..end])
}

/// `n` pending invitations to `{prefix}-{i}@example.com` in `org`, written directly (no emails, no
/// limits), for lists that need many rows.
pub async fn add_invitations(app: &TestApp, org: &Organization, prefix: &str, n: usize) {
    let (org_id, prefix) = (org.id, prefix.to_owned());
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::organization_members as m;
        let now = orgsettings::db::query::now();
        for i in 0..n {
            let email = format!("{prefix}-{i}@example.com");
            diesel::insert_into(m::table)
                .values((
                    m::organization_id.eq(org_id),
                    m::email.eq(&email),
                    m::email_normalized.eq(&email),
                    m::role.eq("member"),
                    m::role_rank.eq(3),
                    m::sort_address.eq(&email),
                    m::token.eq(format!("token-{prefix}-{i}")),
                    m::token_expires_at.eq(now + chrono::Duration::days(30)),
                    m::date_added.eq(now),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
}

/// Every member and invitation of an organization, owners first (as the Members page sorts them).
pub fn all_members(
    conn: &mut orgsettings::db::AnyConnection,
    org_id: i64,
) -> Vec<orgsettings::members::MemberView> {
    let filter = orgsettings::members::MemberFilter {
        sort: orgsettings::members::MemberSort::RoleThenAddress,
        ..Default::default()
    };
    orgsettings::members::search(conn, org_id, &filter, 0, i64::MAX).unwrap()
}

/// The members whose stored order (`role_rank`, `sort_address`) is not their role's rank and their
/// current address: none, whatever changed (docs/architecture.md, "Member order").
pub async fn members_out_of_order(app: &TestApp) -> Vec<(i64, i32, String)> {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Integer, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Integer)]
        role_rank: i32,
        #[diesel(sql_type = Text)]
        sort_address: String,
    }
    app.with_db(|conn| {
        diesel::sql_query(
            "SELECT m.id, m.role_rank, m.sort_address FROM organization_members m \
             LEFT JOIN users u ON u.id = m.user_id \
             WHERE m.role_rank <> CASE m.role WHEN 'owner' THEN 0 WHEN 'manager' THEN 1 \
             WHEN 'admin' THEN 2 ELSE 3 END \
             OR m.sort_address <> COALESCE(u.email_normalized, m.email_normalized)",
        )
        .load::<Row>(conn)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.role_rank, r.sort_address))
        .collect()
    })
    .await
}

/// `n` users `{prefix}-{i}` (no usable password) made members of `org`, written in bulk with plain
/// SQL, for tests of big organizations.
pub async fn add_bulk_members(app: &TestApp, org: &Organization, prefix: &str, n: usize) {
    let (org_id, prefix) = (org.id, prefix.to_owned());
    app.with_db(move |conn| insert_bulk_members(conn, org_id, &prefix, n))
        .await;
}

/// [`add_bulk_members`] on a connection (the benchmark builds its organizations with it).
pub fn insert_bulk_members(
    conn: &mut orgsettings::db::AnyConnection,
    org_id: i64,
    prefix: &str,
    n: usize,
) {
    use diesel::RunQueryDsl;
    let now = "2026-01-01 00:00:00";
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let name = format!("{prefix}-{i}");
                format!(
                    "('{name}', '', '{name}@example.com', '!', true, false, 0, '{now}', \
                     '{name}@example.com')"
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO users (username, name, email, password_hash, is_active, is_superuser, \
             session_version, date_joined, email_normalized) VALUES {}",
            rows.join(", ")
        ))
        .execute(conn)
        .unwrap();
    }
    diesel::sql_query(format!(
        "INSERT INTO organization_members (organization_id, user_id, role, role_rank, \
         sort_address, date_added) SELECT {org_id}, id, 'member', 3, email_normalized, '{now}' \
         FROM users WHERE username LIKE '{prefix}-%'"
    ))
    .execute(conn)
    .unwrap();
}
