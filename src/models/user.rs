//! Users, their email addresses, and the parsed values a user is made of.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{user_emails, users};
use crate::db::{AnyConnection, is_unique_violation, query, write_tx};
use crate::errors::{DomainError, FieldErrors};
use crate::models::lower;
use crate::secrets::password;

pub const ERR_USERNAME_NOT_OWN_EMAIL: &str =
    "A username that is an email address must be the account's own email address.";

/// The stored password of a user who cannot log in with a password (Django's unusable password).
pub const UNUSABLE_PASSWORD: &str = "!";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub session_version: i32,
    pub date_joined: NaiveDateTime,
    pub last_login: Option<NaiveDateTime>,
    /// `email` as [`normalize_email`] makes it, for comparisons.
    pub email_normalized: String,
}

/// The one form in which email addresses are compared: trimmed, lowercased (all of Unicode, not
/// only ASCII as SQL's `lower()` on SQLite) and in Unicode NFC, so `ÉLISE@example.com` typed on one
/// system and `élise@example.com` on another are the same address. Stored next to every address.
pub fn normalize_email(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.trim().to_lowercase().nfc().collect()
}

/// A username: 1–128 characters of letters, digits and `@ . + - _` (Django's rule), kept as typed;
/// lookups and uniqueness ignore case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field may not be blank.".into());
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                Self::MAX_LEN
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(
                "Enter a valid username: letters, digits and @ . + - _ only, no spaces.".into(),
            );
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: trimmed, at most 254 characters, one `@` with something on both sides and a dot
/// in the domain. Deliverability is proven by the verification link, not by a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field may not be blank.".into());
        }
        let invalid = || "Enter a valid email address.".to_owned();
        if value.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                Self::MAX_LEN
            ));
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty()
            || !domain_ok
            || value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
        {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address in its compared form ([`normalize_email`]).
    pub fn normalized(&self) -> String {
        normalize_email(&self.0)
    }
}

/// A new password: 8 to 256 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(format!(
                "This password is too short. It must contain at least {} characters.",
                Self::MIN_LEN
            ));
        }
        if len > Self::MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                Self::MAX_LEN
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A person's name as they want it shown: up to 200 characters (Sentry's `User.name`), trimmed, no
/// control characters; may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "Ensure this field has no more than {} characters.",
                Self::MAX_LEN
            ));
        }
        if value.chars().any(char::is_control) {
            return Err("Names cannot contain control characters.".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What it takes to create a user; parsed values only.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: EmailAddress,
    /// `None` creates a user without a usable password.
    pub password: Option<Password>,
    pub is_superuser: bool,
    pub email_verified: bool,
}

/// What a person typed to make an account.
#[derive(Debug, Clone, Copy)]
pub struct SignUp<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    /// The password typed again, where the form asks for it twice.
    pub password_confirm: Option<&'a str>,
}

pub const ERR_PASSWORDS_DIFFER: &str = "The two passwords do not match.";

impl NewUser {
    /// Parses a sign-up. Each bad value is an error on its field, added to `errors` (so a form with
    /// more fields gathers all its errors at once); `None` when any was bad. The user is neither a
    /// superuser nor verified: the caller says so when it is.
    pub fn parse(input: SignUp<'_>, errors: &mut FieldErrors) -> Option<NewUser> {
        let username = errors.take("username", Username::parse(input.username));
        let email = errors.take("email", EmailAddress::parse(input.email));
        let password = errors.take("password", Password::parse(input.password));
        if password.is_some()
            && input
                .password_confirm
                .is_some_and(|confirm| confirm != input.password)
        {
            errors.add("password_confirm", ERR_PASSWORDS_DIFFER);
            return None;
        }
        Some(NewUser {
            username: username?,
            email: email?,
            password: Some(password?),
            is_superuser: false,
            email_verified: false,
        })
    }
}

impl User {
    pub fn has_usable_password(&self) -> bool {
        self.password_hash != UNUSABLE_PASSWORD
    }

    /// The users with these ids (those that exist).
    pub fn find_many(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::id.eq_any(ids))
            .select(User::as_select())
            .load(conn)
    }

    pub fn find(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<User>> {
        crate::on_native_connection!(conn, |c| users::table
            .find(id)
            .select(User::as_select())
            .get_result(c)
            .optional())
    }

    /// The user a session is logged in as, while the session is still valid: the user is active and
    /// their `session_version` is still the one the session was made with.
    pub fn find_for_session(
        conn: &mut AnyConnection,
        id: i64,
        session_version: i32,
    ) -> QueryResult<Option<User>> {
        Ok(Self::find(conn, id)?.filter(|u| u.is_active && u.session_version == session_version))
    }

    /// The users a login name may mean: the case-insensitive username match and, when the value has
    /// an `@`, every user whose email address matches too (the login tries each one's password).
    /// A username never shadows another account's email: both are candidates.
    pub fn find_by_login(conn: &mut AnyConnection, login: &str) -> QueryResult<Vec<User>> {
        let value = login.trim().to_lowercase();
        let mut found: Vec<User> = users::table
            .filter(lower(users::username).eq(&value))
            .select(User::as_select())
            .load(conn)?;
        if value.contains('@') {
            let by_email: Vec<User> = users::table
                .filter(users::email_normalized.eq(normalize_email(&value)))
                .order(users::id)
                .select(User::as_select())
                .load(conn)?;
            for user in by_email {
                if !found.iter().any(|f| f.id == user.id) {
                    found.push(user);
                }
            }
        }
        Ok(found)
    }

    /// Sentry's `find_users` for the command line: a case-insensitive username match among users
    /// with a usable password (active or not); otherwise, when the value has an `@`, every such user
    /// whose email matches.
    pub fn find_users(conn: &mut AnyConnection, value: &str) -> QueryResult<Vec<User>> {
        let value = value.trim().to_lowercase();
        let by_username: Vec<User> = users::table
            .filter(users::password_hash.ne(UNUSABLE_PASSWORD))
            .filter(lower(users::username).eq(&value))
            .select(User::as_select())
            .load(conn)?;
        if !by_username.is_empty() || !value.contains('@') {
            return Ok(by_username);
        }
        users::table
            .filter(users::password_hash.ne(UNUSABLE_PASSWORD))
            .filter(users::email_normalized.eq(normalize_email(&value)))
            .order(users::id)
            .select(User::as_select())
            .load(conn)
    }

    /// Users whose username or email contains `search` (any case), by username; a page of them and
    /// the total.
    pub fn search(
        conn: &mut AnyConnection,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<User>, i64)> {
        let pattern = format!("%{}%", normalize_email(search).replace(['%', '_'], ""));
        let matching = || {
            users::table
                .filter(
                    lower(users::username)
                        .like(pattern.clone())
                        .or(users::email_normalized.like(pattern.clone())),
                )
                .into_boxed()
        };
        let total = matching().count().get_result(conn)?;
        let page = matching()
            .order(lower(users::username))
            .offset(offset)
            .limit(limit)
            .select(User::as_select())
            .load(conn)?;
        Ok((page, total))
    }

    /// Counts the active superusers and locks their rows until the transaction ends (a no-op
    /// UPDATE), so two superusers revoking or deactivating each other at once cannot both see the
    /// other one left: the second waits and counts again.
    pub fn lock_active_superusers(conn: &mut AnyConnection) -> QueryResult<usize> {
        diesel::update(
            users::table
                .filter(users::is_superuser.eq(true))
                .filter(users::is_active.eq(true)),
        )
        .set(users::is_superuser.eq(users::is_superuser))
        .execute(conn)
    }

    /// Sets the user's flags and ends every session of the user.
    pub fn set_flags_ending_sessions(
        conn: &mut AnyConnection,
        id: i64,
        is_active: bool,
        is_superuser: bool,
    ) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set((
                users::is_active.eq(is_active),
                users::is_superuser.eq(is_superuser),
            ))
            .execute(conn)?;
        Self::end_sessions(conn, id)
    }

    /// Ends every session of the user (a password or privilege changed): the stored sessions are
    /// deleted, and `session_version` is bumped, which also ends sessions kept in Redis (a session
    /// remembers the version it was made with).
    pub fn end_sessions(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set(users::session_version.eq(users::session_version + 1))
            .execute(conn)?;
        crate::models::session::delete_for_user(conn, id).map(|_| ())
    }

    pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    pub fn username_taken(conn: &mut AnyConnection, username: &Username) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            users::table.filter(lower(users::username).eq(username.as_str().to_lowercase())),
        ))
        .get_result(conn)
    }

    /// Creates the user and its primary email row. The password is hashed here, so call this off the
    /// async workers. A taken username is a field error on `username`.
    pub fn create(conn: &mut AnyConnection, new: &NewUser) -> Result<User, DomainError> {
        // a username that looks like an address could shadow someone else's login by email
        if EmailAddress::parse(new.username.as_str()).is_ok()
            && normalize_email(new.username.as_str()) != new.email.normalized()
        {
            return Err(DomainError::Invalid(FieldErrors::single(
                "username",
                ERR_USERNAME_NOT_OWN_EMAIL,
            )));
        }
        let password_hash = match &new.password {
            Some(password) => password::hash(password.expose())?,
            None => UNUSABLE_PASSWORD.to_owned(),
        };
        let now = query::now();
        let result = write_tx(conn, |conn| {
            if User::username_taken(conn, &new.username)? {
                return Err(taken_username());
            }
            let id: i64 = diesel::insert_into(users::table)
                .values((
                    users::username.eq(new.username.as_str()),
                    users::email.eq(new.email.as_str()),
                    users::email_normalized.eq(new.email.normalized()),
                    users::password_hash.eq(&password_hash),
                    users::is_superuser.eq(new.is_superuser),
                    users::date_joined.eq(now),
                ))
                .returning(users::id)
                .get_result(conn)?;
            diesel::insert_into(user_emails::table)
                .values((
                    user_emails::user_id.eq(id),
                    user_emails::email.eq(new.email.as_str()),
                    user_emails::email_normalized.eq(new.email.normalized()),
                    user_emails::is_verified.eq(new.email_verified),
                    // no link sent yet: nothing matches an empty hash
                    user_emails::validation_hash.eq(""),
                    user_emails::date_hash_added.eq(now),
                ))
                .execute(conn)?;
            users::table
                .find(id)
                .select(User::as_select())
                .first(conn)
                .map_err(DomainError::from)
        });
        match result {
            Err(DomainError::Db(err)) if is_unique_violation(&err) => Err(taken_username()),
            other => other,
        }
    }

    /// Sets a new password (hashed here: call this off the async workers) and ends every session
    /// of the user.
    pub fn set_password_ending_sessions(
        conn: &mut AnyConnection,
        id: i64,
        new: &Password,
    ) -> Result<(), DomainError> {
        let hash = password::hash(new.expose())?;
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)?;
        Self::end_sessions(conn, id)?;
        Ok(())
    }

    pub fn set_name(conn: &mut AnyConnection, id: i64, name: &PersonName) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set(users::name.eq(name.as_str()))
            .execute(conn)
            .map(|_| ())
    }

    /// Makes `address` (one of the user's addresses, as stored) the primary one, and moves the
    /// user's memberships to it in the member order (docs/architecture.md, "Member order").
    pub fn set_primary_email(conn: &mut AnyConnection, id: i64, address: &str) -> QueryResult<()> {
        use crate::db::schema::organization_members as members;
        let normalized = normalize_email(address);
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(address),
                users::email_normalized.eq(&normalized),
            ))
            .execute(conn)?;
        diesel::update(members::table.filter(members::user_id.eq(id)))
            .set(members::sort_address.eq(&normalized))
            .execute(conn)
            .map(|_| ())
    }

    pub fn record_login(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set(users::last_login.eq(query::now()))
            .execute(conn)
            .map(|_| ())
    }

    /// Whether the user has a confirmed second factor (TOTP); recovery codes alone do not count.
    pub fn has_two_factor(&self, conn: &mut AnyConnection) -> QueryResult<bool> {
        use crate::db::schema::authenticators;
        diesel::select(diesel::dsl::exists(
            authenticators::table
                .filter(authenticators::user_id.eq(self.id))
                .filter(authenticators::kind.eq("totp"))
                .filter(authenticators::confirmed.eq(true)),
        ))
        .get_result(conn)
    }

    /// Whether the user's primary email address is verified.
    pub fn primary_email_verified(&self, conn: &mut AnyConnection) -> QueryResult<bool> {
        user_emails::table
            .filter(user_emails::user_id.eq(self.id))
            .filter(user_emails::email_normalized.eq(&self.email_normalized))
            .select(user_emails::is_verified)
            .first(conn)
            .optional()
            .map(|v| v.unwrap_or(false))
    }
}

/// Recomputes every stored normalized address in Rust, in chunks (after the migration that added
/// the columns filled them with SQL's ASCII-only `lower()`); returns how many rows changed. An
/// address whose new form collides with another of the same user or organization keeps its old
/// form, with a warning.
pub fn normalize_stored_emails(conn: &mut AnyConnection) -> QueryResult<usize> {
    use crate::db::schema::organization_members as members;
    let users = renormalize(
        conn,
        |conn, after| {
            users::table
                .filter(users::id.gt(after))
                .order(users::id)
                .limit(RENORMALIZE_CHUNK)
                .select((users::id, users::email, users::email_normalized))
                .load(conn)
        },
        |conn, id, normalized| {
            diesel::update(users::table.find(id))
                .set(users::email_normalized.eq(normalized))
                .execute(conn)
        },
    )?;
    let addresses = renormalize(
        conn,
        |conn, after| {
            user_emails::table
                .filter(user_emails::id.gt(after))
                .order(user_emails::id)
                .limit(RENORMALIZE_CHUNK)
                .select((
                    user_emails::id,
                    user_emails::email,
                    user_emails::email_normalized,
                ))
                .load(conn)
        },
        |conn, id, normalized| {
            diesel::update(user_emails::table.find(id))
                .set(user_emails::email_normalized.eq(normalized))
                .execute(conn)
        },
    )?;
    let invites = renormalize(
        conn,
        |conn, after| {
            members::table
                .filter(members::id.gt(after))
                .filter(members::email.is_not_null())
                .order(members::id)
                .limit(RENORMALIZE_CHUNK)
                .select((
                    members::id,
                    members::email.assume_not_null(),
                    members::email_normalized.assume_not_null(),
                ))
                .load(conn)
        },
        |conn, id, normalized| {
            diesel::update(members::table.find(id))
                .set(members::email_normalized.eq(normalized))
                .execute(conn)
        },
    )?;
    if users + invites > 0 {
        // the member order follows the addresses (docs/architecture.md, "Member order")
        diesel::sql_query(
            "UPDATE organization_members SET sort_address = COALESCE((SELECT users.email_normalized \
             FROM users WHERE users.id = organization_members.user_id), email_normalized, '')",
        )
        .execute(conn)?;
    }
    Ok(users + addresses + invites)
}

const RENORMALIZE_CHUNK: i64 = 1000;

/// Walks a table by id, `load` giving (id, email, stored normalized form) after an id, and `store`
/// writing a new normalized form.
fn renormalize(
    conn: &mut AnyConnection,
    mut load: impl FnMut(&mut AnyConnection, i64) -> QueryResult<Vec<(i64, String, String)>>,
    mut store: impl FnMut(&mut AnyConnection, i64, String) -> QueryResult<usize>,
) -> QueryResult<usize> {
    let (mut changed, mut after) = (0, 0);
    loop {
        let rows = load(conn, after)?;
        let Some(last) = rows.last() else {
            return Ok(changed);
        };
        after = last.0;
        for (id, email, stored) in rows {
            let normalized = normalize_email(&email);
            if normalized == stored {
                continue;
            }
            match store(conn, id, normalized) {
                Ok(_) => changed += 1,
                Err(err) if is_unique_violation(&err) => {
                    tracing::warn!(id, "two addresses normalize alike; the old form is kept");
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// A fresh verification token for one of a user's addresses, for the link in the email; only its
/// SHA-256 is stored, and it replaces the address's previous link.
pub fn new_validation_hash(
    conn: &mut AnyConnection,
    user_id: i64,
    address: &str,
) -> QueryResult<String> {
    let token = crate::secrets::random_token();
    diesel::update(
        user_emails::table
            .filter(user_emails::user_id.eq(user_id))
            .filter(user_emails::email_normalized.eq(normalize_email(address))),
    )
    .set((
        user_emails::validation_hash.eq(crate::secrets::sha256_hex(&token)),
        user_emails::date_hash_added.eq(query::now()),
    ))
    .execute(conn)?;
    Ok(token)
}

fn taken_username() -> DomainError {
    DomainError::Invalid(FieldErrors::single(
        "username",
        "A user with that username already exists.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_allow_djangos_characters_and_nothing_else() {
        assert_eq!(
            Username::parse(" Alice.B+1@x_y-z ").unwrap().as_str(),
            "Alice.B+1@x_y-z"
        );
        assert!(Username::parse("alice smith").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn email_addresses_need_a_local_part_and_a_dotted_domain() {
        assert!(EmailAddress::parse("a@example.com").is_ok());
        for bad in [
            "",
            "a",
            "@example.com",
            "a@localhost",
            "a@.com",
            "a b@example.com",
            "a@example..com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn passwords_need_eight_characters_and_never_print() {
        assert!(Password::parse("short").is_err());
        let password = Password::parse("long enough").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
    }
}
