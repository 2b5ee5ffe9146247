//! Organizations: the row, its name, and creating one with its owner.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text, Timestamp};

use super::actor::Actor;
use super::audit::{self, AuditEvent, NewAuditEntry};
use super::avatar::OrgAvatar;
use super::flags::Flags;
use super::member::Member;
use super::role::Role;
use super::slug::Slug;
use super::user::User;
use crate::db::schema::{
    organization_avatars, organization_members, organization_slug_redirects, organizations, users,
};
use crate::db::{AnyConnection, is_unique_violation, query, write_tx};
use crate::errors::{DomainError, FieldErrors};

/// An organization's status, stored as Sentry's numbers (docs/compatibility.md, "Organization").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgStatus {
    Active,
    PendingDeletion,
    DeletionInProgress,
}

impl OrgStatus {
    /// The stored number.
    pub fn code(self) -> i32 {
        match self {
            OrgStatus::Active => 0,
            OrgStatus::PendingDeletion => 1,
            OrgStatus::DeletionInProgress => 2,
        }
    }

    /// Sentry's API id and label.
    pub fn api_id(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::PendingDeletion => "pending_deletion",
            OrgStatus::DeletionInProgress => "deletion_in_progress",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::PendingDeletion => "pending deletion",
            OrgStatus::DeletionInProgress => "deletion in progress",
        }
    }
}

impl TryFrom<i32> for OrgStatus {
    type Error = String;

    fn try_from(code: i32) -> Result<Self, String> {
        match code {
            0 => Ok(OrgStatus::Active),
            1 => Ok(OrgStatus::PendingDeletion),
            2 => Ok(OrgStatus::DeletionInProgress),
            other => Err(format!("unknown organization status {other}")),
        }
    }
}

/// New organizations allow open membership (flag bit 0), as in Sentry.
pub const DEFAULT_FLAGS: Flags = Flags::from_bits(1);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub slug: String,
    #[diesel(deserialize_as = i32)]
    pub status: OrgStatus,
    #[diesel(deserialize_as = i64)]
    pub flags: Flags,
    #[diesel(deserialize_as = String)]
    pub default_role: Role,
    pub date_added: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deletion_scheduled_at: Option<NaiveDateTime>,
    /// Moved on by the database whenever one of the organization's options changes (a trigger):
    /// options read at this version are still the stored ones.
    pub options_version: i64,
}

/// An organization name: trimmed, not blank, at most 64 characters, on one line (no control
/// characters: a NUL, CR or LF would break headers, emails and the audit log's text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

pub const ERR_NAME_CONTROL: &str =
    "Enter a name without control characters (such as line breaks or tabs).";

impl OrgName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if value.chars().any(char::is_control) {
            return Err(ERR_NAME_CONTROL.into());
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                Self::MAX_LEN
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization together with the role of the user looking at it.
#[derive(Debug, Clone)]
pub struct OrgWithRole {
    pub org: Organization,
    /// `None` for an organization an active superuser sees without being a member.
    pub role: Option<Role>,
    /// The ident of the uploaded avatar image, when that is the organization's avatar.
    pub upload_ident: Option<String>,
}

/// An organization as one of its members sees it: the organization, the member's role, and the
/// organization's avatar when it has one.
pub type Membership = (Organization, Role, Option<OrgAvatar>);

impl Organization {
    pub fn find_by_slug(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<Organization>> {
        organizations::table
            .filter(organizations::slug.eq(slug.to_lowercase()))
            .select(Organization::as_select())
            .get_result(conn)
            .optional()
    }

    /// On the concrete connection, like the other lookups every request makes (it is the read of
    /// every save's row lock on SQLite).
    pub fn find(conn: &mut AnyConnection, id: i64) -> QueryResult<Organization> {
        crate::on_native_connection!(conn, |c| organizations::table
            .find(id)
            .select(Organization::as_select())
            .get_result(c))
    }

    /// Locks the organization's row until the transaction ends and reads it, in one statement. Every
    /// change that reads, checks and writes several rows of one organization (settings saves,
    /// member changes) takes it first, inside `write_tx`, so concurrent changes run one after
    /// another instead of each deciding on what the other is changing: on PostgreSQL two owners
    /// removing each other could otherwise both see two owners. PostgreSQL takes the row lock an
    /// UPDATE would (`FOR NO KEY UPDATE`: inserts referencing the row elsewhere do not wait);
    /// SQLite's `BEGIN IMMEDIATE` already holds the database's write lock, so there it is the read.
    pub fn lock(conn: &mut AnyConnection, id: i64) -> QueryResult<Organization> {
        match conn {
            AnyConnection::Postgresql(pg) => organizations::table
                .find(id)
                .for_no_key_update()
                .select(Organization::as_select())
                .get_result(pg),
            AnyConnection::Sqlite(_) => Self::find(conn, id),
        }
    }

    /// [`Organization::lock`], refusing an organization pending deletion: nothing of it changes until
    /// an owner restores it.
    pub fn lock_active(conn: &mut AnyConnection, id: i64) -> Result<Organization, DomainError> {
        let org = Self::lock(conn, id)?;
        if org.is_pending_deletion() {
            return Err(DomainError::Refused(ERR_PENDING_DELETION.into()));
        }
        Ok(org)
    }

    /// The current slug of the organization that used to be called `old_slug`, if one did and
    /// `user_id` is a member of it (others must not learn the new slug).
    pub fn renamed_from(
        conn: &mut AnyConnection,
        old_slug: &str,
        user_id: i64,
    ) -> QueryResult<Option<String>> {
        organization_slug_redirects::table
            .inner_join(organizations::table.inner_join(organization_members::table))
            .filter(organization_slug_redirects::slug.eq(old_slug.to_lowercase()))
            .filter(organization_members::user_id.eq(user_id))
            .select(organizations::slug)
            .get_result(conn)
            .optional()
    }

    /// Records a slug change: the old slug redirects to this organization from now on, and the new
    /// one stops redirecting anywhere else.
    pub fn record_rename(
        conn: &mut AnyConnection,
        organization_id: i64,
        old_slug: &str,
        new_slug: &str,
    ) -> QueryResult<()> {
        diesel::delete(
            organization_slug_redirects::table
                .filter(organization_slug_redirects::slug.eq_any([old_slug, new_slug])),
        )
        .execute(conn)?;
        diesel::insert_into(organization_slug_redirects::table)
            .values((
                organization_slug_redirects::slug.eq(old_slug),
                organization_slug_redirects::organization_id.eq(organization_id),
                organization_slug_redirects::created_at.eq(query::now()),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// The organization with this slug if `user_id` is a member, with the member's role and the
    /// organization's avatar, in one query.
    pub fn find_for_member(
        conn: &mut AnyConnection,
        slug: &str,
        user_id: i64,
    ) -> QueryResult<Option<Membership>> {
        let slug = slug.to_lowercase();
        let row: Option<(Organization, String, Option<OrgAvatar>)> =
            crate::on_native_connection!(conn, |c| organizations::table
                .inner_join(organization_members::table)
                .left_join(organization_avatars::table)
                .filter(organizations::slug.eq(&slug))
                .filter(organization_members::user_id.eq(user_id))
                .select((
                    Organization::as_select(),
                    organization_members::role,
                    Option::<OrgAvatar>::as_select(),
                ))
                .get_result(c)
                .optional())?;
        Ok(
            row.map(|(org, role, avatar)| {
                (org, Role::parse(&role).unwrap_or(Role::Member), avatar)
            }),
        )
    }

    /// The user `user_id` and, when they are a member of the organization with this slug, what
    /// [`Organization::find_for_member`] finds: a session's request reads both in one query.
    pub fn find_user_and_membership(
        conn: &mut AnyConnection,
        user_id: i64,
        slug: &str,
    ) -> QueryResult<Option<(User, Option<Membership>)>> {
        type Row = (
            User,
            Option<Organization>,
            Option<String>,
            Option<OrgAvatar>,
        );
        let slug = slug.to_lowercase();
        let row: Option<Row> = crate::on_native_connection!(conn, |c| {
            // bound by value: diesel wants a query with a subselect to own its values
            let org_of_slug = organizations::table
                .filter(organizations::slug.eq(slug.clone()))
                .select(organizations::id)
                .single_value();
            users::table
                .left_join(
                    organization_members::table.on(organization_members::user_id
                        .eq(users::id.nullable())
                        .and(
                            organization_members::organization_id
                                .nullable()
                                .eq(org_of_slug),
                        )),
                )
                .left_join(
                    organizations::table
                        .on(organizations::id.eq(organization_members::organization_id)),
                )
                .left_join(
                    organization_avatars::table
                        .on(organization_avatars::organization_id.eq(organizations::id)),
                )
                .filter(users::id.eq(user_id))
                .select((
                    User::as_select(),
                    Option::<Organization>::as_select(),
                    organization_members::role.nullable(),
                    Option::<OrgAvatar>::as_select(),
                ))
                .get_result(c)
                .optional()
        })?;
        Ok(row.map(|(user, org, role, avatar)| {
            let membership = org.map(|org| {
                let role = role.as_deref().and_then(|r| Role::parse(r).ok());
                (org, role.unwrap_or(Role::Member), avatar)
            });
            (user, membership)
        }))
    }

    /// Writes the columns a settings save changes (name, slug, default role, flags, status, the
    /// deletion date; `updated_at` becomes now) and the save's audit entry, if it has one. Call it
    /// under the row lock ([`Organization::lock`]). On PostgreSQL the two are one statement
    /// ([`RowWithEntry`]): every statement under the lock is a round trip that the organization's
    /// next save waits for (docs/architecture.md, "Saves of one organization on PostgreSQL").
    pub fn write_saved(
        conn: &mut AnyConnection,
        org: &mut Organization,
        entry: Option<&NewAuditEntry<'_>>,
    ) -> QueryResult<()> {
        org.updated_at = query::now();
        let row = SavedRow {
            org,
            flags: org.flags.bits(),
            status: org.status.code(),
        };
        let written = match (conn, entry) {
            (AnyConnection::Postgresql(pg), Some(entry)) => {
                let data = entry.data.to_string();
                RowWithEntry {
                    row,
                    entry,
                    data: &data,
                    event: entry.event.id(),
                }
                .execute(pg)?
            }
            (conn, entry) => {
                let written = crate::on_native_connection!(conn, |c| row.execute(c))?;
                if let Some(entry) = entry {
                    audit::record(conn, entry)?;
                }
                written
            }
        };
        match written {
            1 => Ok(()),
            n => Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "the save of organization {} wrote {n} rows, not one",
                    org.id
                )
                .into(),
            )),
        }
    }

    pub fn slug_taken(conn: &mut AnyConnection, slug: &Slug) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            organizations::table.filter(organizations::slug.eq(slug.as_str())),
        ))
        .get_result(conn)
    }

    /// The organizations a user is a member of, with their role and avatar, by name (one query).
    pub fn list_for_user(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<OrgWithRole>> {
        let rows: Vec<(Organization, String, Option<OrgAvatar>)> = organizations::table
            .inner_join(organization_members::table)
            .left_join(organization_avatars::table)
            .filter(organization_members::user_id.eq(user_id))
            .order((organizations::name, organizations::slug))
            .select((
                Organization::as_select(),
                organization_members::role,
                Option::<OrgAvatar>::as_select(),
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(org, role, avatar)| OrgWithRole {
                org,
                role: Some(Role::parse(&role).unwrap_or(Role::Member)),
                upload_ident: avatar.filter(OrgAvatar::shows_upload).map(|a| a.ident),
            })
            .collect())
    }

    /// Every organization, with `user_id`'s role where they are a member (for an active superuser;
    /// one query).
    pub fn list_all(conn: &mut AnyConnection, user_id: i64) -> QueryResult<Vec<OrgWithRole>> {
        let rows: Vec<(Organization, Option<String>, Option<OrgAvatar>)> = organizations::table
            .left_join(
                organization_members::table.on(organization_members::organization_id
                    .eq(organizations::id)
                    .and(organization_members::user_id.eq(user_id))),
            )
            .left_join(organization_avatars::table)
            .order((organizations::name, organizations::slug))
            .select((
                Organization::as_select(),
                organization_members::role.nullable(),
                Option::<OrgAvatar>::as_select(),
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(org, role, avatar)| OrgWithRole {
                org,
                role: role.map(|r| Role::parse(&r).unwrap_or(Role::Member)),
                upload_ident: avatar.filter(OrgAvatar::shows_upload).map(|a| a.ident),
            })
            .collect())
    }

    /// Creates an organization and makes `owner` its owner, with an ORG_ADD audit entry, in one
    /// transaction. Without a slug, one is made from the name (made unique with a numeric suffix);
    /// a given slug that is taken is a field error.
    pub fn create(
        conn: &mut AnyConnection,
        name: &OrgName,
        slug: Option<&Slug>,
        owner: &User,
        actor: &Actor,
    ) -> Result<Organization, DomainError> {
        let taken =
            || DomainError::Invalid(slug_in_use(slug.map(Slug::as_str).unwrap_or_default()));
        let result = write_tx(conn, |conn| {
            let slug = match slug {
                Some(slug) if Organization::slug_taken(conn, slug)? => return Err(taken()),
                Some(slug) => slug.clone(),
                None => unique_slug_for(conn, name)?,
            };
            let now = query::now();
            // a new organization takes its slug over from any renamed one
            diesel::delete(
                organization_slug_redirects::table
                    .filter(organization_slug_redirects::slug.eq(slug.as_str())),
            )
            .execute(conn)?;
            let id: i64 = diesel::insert_into(organizations::table)
                .values((
                    organizations::name.eq(name.as_str()),
                    organizations::slug.eq(slug.as_str()),
                    organizations::flags.eq(DEFAULT_FLAGS.bits()),
                    organizations::default_role.eq(Role::Member.id()),
                    organizations::date_added.eq(now),
                    organizations::updated_at.eq(now),
                ))
                .returning(organizations::id)
                .get_result(conn)?;
            Member::add_user(conn, id, owner, Role::Owner)?;
            let org = Organization::find(conn, id)?;
            audit::record(
                conn,
                &NewAuditEntry::new(org.id, actor, AuditEvent::OrgAdd, org.audit_log_data()),
            )?;
            Ok(org)
        });
        match result {
            Err(DomainError::Db(err)) if is_unique_violation(&err) && slug.is_some() => {
                Err(taken())
            }
            other => other,
        }
    }

    /// Sentry's `get_audit_log_data()`.
    pub fn audit_log_data(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "status": self.status.code(),
            "flags": self.flags.bits(),
            "default_role": self.default_role.id(),
        })
    }

    pub fn is_pending_deletion(&self) -> bool {
        self.status != OrgStatus::Active
    }

    /// Whether superuser mode opens this organization (`allowSuperuserAccess`).
    pub fn admits_superusers(&self) -> bool {
        !self
            .flags
            .get(crate::models::flags::Flag::PreventSuperuserAccess)
    }
}

/// What a change to an organization pending deletion answers.
pub const ERR_PENDING_DELETION: &str = "This organization is scheduled for deletion. Restore it \
     before changing its settings.";

pub fn slug_in_use(slug: &str) -> FieldErrors {
    FieldErrors::single("slug", format!("The slug \"{slug}\" is already in use."))
}

/// The slug made from `name`, or the first free `slug-N`.
fn unique_slug_for(conn: &mut AnyConnection, name: &OrgName) -> QueryResult<Slug> {
    let base = Slug::from_name(name.as_str());
    if !Organization::slug_taken(conn, &base)? {
        return Ok(base);
    }
    let mut n = 2;
    loop {
        let candidate = base.with_suffix(n);
        if !Organization::slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// The initials of a name, as Sentry's letter avatar shows them: the first letter of the first and of
/// the last word, uppercased ("?" for a name without letters).
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let first_letter = |word: &str| word.chars().next().into_iter().flat_map(char::to_uppercase);
    let letters: String = match words.as_slice() {
        [] => return "?".into(),
        [only] => first_letter(only).collect(),
        [first, .., last] => first_letter(first).chain(first_letter(last)).collect(),
    };
    letters
}

/// [`Organization::write_saved`]'s UPDATE, written by hand: its SQL is the same on every run, so
/// diesel prepares it once per connection (the `QueryId` below), where it prepares its own UPDATE
/// statements anew on every run (a quarter of a rename's time on SQLite's writer thread).
struct SavedRow<'a> {
    /// The row as the save leaves it, `updated_at` included.
    org: &'a Organization,
    flags: i64,
    status: i32,
}

impl QueryId for SavedRow<'_> {
    type QueryId = SavedRow<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for SavedRow<'_>
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    Option<NaiveDateTime>: ToSql<Nullable<Timestamp>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let org = self.org;
        out.push_sql("UPDATE organizations SET name = ");
        out.push_bind_param::<Text, _>(org.name.as_str())?;
        out.push_sql(", slug = ");
        out.push_bind_param::<Text, _>(org.slug.as_str())?;
        out.push_sql(", default_role = ");
        out.push_bind_param::<Text, _>(org.default_role.id())?;
        out.push_sql(", flags = ");
        out.push_bind_param::<BigInt, _>(&self.flags)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Integer, _>(&self.status)?;
        out.push_sql(", deletion_scheduled_at = ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&org.deletion_scheduled_at)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&org.updated_at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&org.id)?;
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for SavedRow<'_> {}

/// [`SavedRow`] and the save's audit entry as one PostgreSQL statement (a data-modifying `WITH`,
/// which diesel's DSL cannot write), prepared once per connection like it.
struct RowWithEntry<'a> {
    row: SavedRow<'a>,
    entry: &'a NewAuditEntry<'a>,
    data: &'a str,
    event: i32,
}

impl QueryId for RowWithEntry<'_> {
    type QueryId = RowWithEntry<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for RowWithEntry<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let entry = self.entry;
        out.push_sql("WITH saved AS (");
        self.row.walk_ast(out.reborrow())?;
        out.push_sql(
            " RETURNING id) INSERT INTO audit_log_entries (organization_id, actor_id, \
             actor_label, actor_is_staff, ip_address, event, target_object, target_user_id, \
             data, datetime) SELECT saved.id, ",
        );
        out.push_bind_param::<Nullable<BigInt>, _>(&entry.actor.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(entry.actor.label.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&entry.actor.is_staff)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&entry.actor.ip_address)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.event)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&entry.target_object)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&entry.target_user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.data)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.row.org.updated_at)?;
        out.push_sql(" FROM saved");
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for RowWithEntry<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_limited_to_64_characters() {
        assert_eq!(OrgName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert_eq!(
            OrgName::parse("   "),
            Err("This field may not be blank.".to_owned())
        );
        assert!(OrgName::parse(&"x".repeat(64)).is_ok());
        assert_eq!(
            OrgName::parse(&"x".repeat(65)),
            Err("Ensure this field has no more than 64 characters.".to_owned())
        );
    }

    #[test]
    fn a_saves_statements_are_kept_prepared_where_diesels_own_update_is_not() {
        use diesel::sqlite::Sqlite;
        let now = query::now();
        let org = Organization {
            id: 7,
            name: "Acme".into(),
            slug: "acme".into(),
            status: OrgStatus::Active,
            flags: Flags::from_bits(1),
            default_role: Role::Member,
            date_added: now,
            updated_at: now,
            deletion_scheduled_at: None,
            options_version: 0,
        };
        let row = || SavedRow {
            org: &org,
            flags: 1,
            status: 0,
        };
        assert!(SavedRow::query_id().is_some());
        assert!(row().is_safe_to_cache_prepared(&Sqlite).unwrap());
        assert!(row().is_safe_to_cache_prepared(&Pg).unwrap());
        let actor = Actor {
            user_id: Some(3),
            label: "owner".into(),
            ip_address: None,
            is_staff: false,
        };
        let entry = NewAuditEntry::new(7, &actor, AuditEvent::OrgEdit, serde_json::json!({}));
        let with_entry = RowWithEntry {
            row: row(),
            entry: &entry,
            data: "{}",
            event: AuditEvent::OrgEdit.id(),
        };
        assert!(RowWithEntry::query_id().is_some());
        assert!(with_entry.is_safe_to_cache_prepared(&Pg).unwrap());
        let sql = diesel::debug_query::<Pg, _>(&with_entry).to_string();
        assert!(
            sql.starts_with("WITH saved AS (UPDATE organizations SET name = $1"),
            "{sql}"
        );
        // what the save ran before: prepared and its SQL written anew on every run
        let diesels =
            diesel::update(organizations::table.find(7)).set(organizations::name.eq("Acme"));
        assert!(!diesels.is_safe_to_cache_prepared(&Sqlite).unwrap());
    }

    #[test]
    fn initials_take_the_first_and_last_word() {
        assert_eq!(initials("acme corp ltd"), "AL");
        assert_eq!(initials("Sentry"), "S");
        assert_eq!(initials("  "), "?");
    }
}
