//! Searching an organization's members a page at a time, with Sentry's member search keys
//! (`organization_member/index.py`): `email:`, `id:`, `user.id:`, `role:`, `scope:`,
//! `isInvited:`, `has2fa:`, and free text matching a username, a name or an address; any other key
//! matches nothing. Every filter is SQL, so a page costs the same in an organization of any size.

use diesel::prelude::*;

use super::{MemberRow, MemberView, views_of};
use crate::db::AnyConnection;
use crate::db::schema::{authenticators, organization_members, users};
use crate::models::lower;
use crate::models::member::Member;
use crate::models::role::Role;
use crate::models::search::{Query, contains_pattern};
use crate::models::user::normalize_email;
use crate::tokens::scopes::Scopes;

/// The order of a member list.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    /// By id, as Sentry's API lists them.
    #[default]
    Id,
    /// Owners first, then managers, admins and members, each by address (the Members page).
    RoleThenAddress,
}

/// A parsed member query.
#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    pub sort: MemberSort,
    pub text: Option<String>,
    pub emails: Vec<String>,
    pub ids: Vec<i64>,
    pub user_ids: Vec<i64>,
    pub roles: Vec<String>,
    pub invited: Option<bool>,
    pub has_2fa: Option<bool>,
    /// A key or value that matches nothing was given.
    pub nothing: bool,
}

impl MemberFilter {
    pub fn parse(raw: &str) -> MemberFilter {
        let query = Query::parse(raw);
        let mut filter = MemberFilter {
            text: query.joined_text(),
            ..MemberFilter::default()
        };
        let truthy = |values: &[String]| values.iter().any(|v| v == "true");
        for (key, values) in &query.terms {
            match key.as_str() {
                "email" => filter
                    .emails
                    .extend(values.iter().map(|v| normalize_email(v))),
                "id" | "user.id" => {
                    let mut numbers = Vec::new();
                    for value in values {
                        match value.parse::<i64>() {
                            Ok(n) => numbers.push(n),
                            Err(_) => filter.nothing = true,
                        }
                    }
                    if key == "id" {
                        filter.ids.extend(numbers);
                    } else {
                        filter.user_ids.extend(numbers);
                    }
                }
                "role" => filter.roles.extend(values.iter().map(|v| v.to_lowercase())),
                // the roles that have any of these scopes (Sentry's `roles.with_any_scope`)
                "scope" => {
                    let wanted: Vec<&str> = values.iter().map(String::as_str).collect();
                    let roles: Vec<String> = Role::ALL
                        .iter()
                        .filter(|role| Scopes::of_role(**role).has_any(&wanted))
                        .map(|role| role.id().to_owned())
                        .collect();
                    if roles.is_empty() {
                        filter.nothing = true;
                    }
                    filter.roles.extend(roles);
                }
                "isInvited" => filter.invited = Some(truthy(values)),
                "has2fa" => filter.has_2fa = Some(truthy(values)),
                _ => filter.nothing = true,
            }
        }
        filter
    }
}

/// A page of the organization's members and invitations matching `filter`, by id (at most
/// `limit` after skipping `offset`); three queries.
pub fn search(
    conn: &mut AnyConnection,
    organization_id: i64,
    filter: &MemberFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<MemberView>> {
    if filter.nothing {
        return Ok(Vec::new());
    }
    let with_2fa = || {
        authenticators::table
            .filter(authenticators::kind.eq("totp"))
            .filter(authenticators::confirmed.eq(true))
            .select(authenticators::user_id)
    };
    let mut query = organization_members::table
        .left_join(users::table)
        .filter(organization_members::organization_id.eq(organization_id))
        // deactivated users are not listed, as in Sentry
        .filter(
            organization_members::user_id
                .is_null()
                .or(users::is_active.eq(true)),
        )
        .into_boxed();
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        query = query.filter(
            lower(users::username)
                .like(pattern.clone())
                .or(lower(users::name).like(pattern.clone()))
                .or(users::email_normalized.like(pattern.clone()))
                .or(organization_members::email_normalized.like(pattern))
                .assume_not_null(),
        );
    }
    if !filter.emails.is_empty() {
        query = query.filter(
            organization_members::email_normalized
                .eq_any(filter.emails.clone())
                .or(users::email_normalized.eq_any(filter.emails.clone()))
                .assume_not_null(),
        );
    }
    if !filter.ids.is_empty() {
        query = query.filter(organization_members::id.eq_any(filter.ids.clone()));
    }
    if !filter.user_ids.is_empty() {
        query = query.filter(organization_members::user_id.eq_any(filter.user_ids.clone()));
    }
    if !filter.roles.is_empty() {
        query = query.filter(organization_members::role.eq_any(filter.roles.clone()));
    }
    match filter.invited {
        Some(true) => query = query.filter(organization_members::user_id.is_null()),
        Some(false) => query = query.filter(organization_members::user_id.is_not_null()),
        None => {}
    }
    match filter.has_2fa {
        Some(true) => {
            query = query.filter(organization_members::user_id.eq_any(with_2fa().nullable()))
        }
        Some(false) => {
            query = query
                .filter(organization_members::user_id.is_not_null())
                .filter(diesel::dsl::not(
                    organization_members::user_id.eq_any(with_2fa().nullable()),
                ))
        }
        None => {}
    }
    query = match filter.sort {
        MemberSort::Id => query.order(organization_members::id),
        // the stored order, read off an index (docs/architecture.md, "Member order")
        MemberSort::RoleThenAddress => query.order((
            organization_members::role_rank,
            organization_members::sort_address,
            organization_members::id,
        )),
    };
    let rows: Vec<MemberRow> = query
        .offset(offset)
        .limit(limit)
        .select((
            Member::as_select(),
            (
                users::username,
                users::email,
                users::email_normalized,
                users::name,
            )
                .nullable(),
        ))
        .load(conn)?;
    views_of(conn, rows)
}
