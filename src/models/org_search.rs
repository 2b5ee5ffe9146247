//! Listing organizations as `GET /api/0/organizations/` does (Sentry's `OrganizationIndexEndpoint`):
//! whose organizations, filtered by Sentry's query keys, newest first, a page at a time; and the
//! organizations a user owns (`?owner=1`).

use diesel::prelude::*;

use super::avatar::OrgAvatar;
use super::lower;
use super::organization::{OrgStatus, Organization};
use super::role::Role;
use super::search::{Query, contains_pattern};
use super::user::normalize_email;
use crate::db::AnyConnection;
use crate::db::schema::{organization_avatars, organization_members, organizations, users};

/// Whose organizations a list holds.
#[derive(Debug, Clone, Copy)]
pub enum Among {
    /// The organizations the user is a member of.
    MemberOf(i64),
    /// One organization (an organization token's).
    One(i64),
    /// Every organization (a superuser in superuser mode asking `show=all`), except those that
    /// keep superusers out.
    All,
}

/// The filters of `?query=` (Sentry's keys: free text, `slug`, `email`, `id`, `status`,
/// `member_id`; any other key matches nothing).
#[derive(Debug, Default, Clone)]
pub struct OrgFilter {
    pub text: Option<String>,
    pub slugs: Vec<String>,
    pub emails: Vec<String>,
    pub ids: Vec<i64>,
    pub statuses: Vec<OrgStatus>,
    pub member_ids: Vec<i64>,
    /// A key that matches nothing was given.
    pub nothing: bool,
}

impl OrgFilter {
    pub fn parse(raw: &str) -> OrgFilter {
        let query = Query::parse(raw);
        let mut filter = OrgFilter {
            text: query.joined_text(),
            ..OrgFilter::default()
        };
        let numbers = |values: &[String], nothing: &mut bool| -> Vec<i64> {
            values
                .iter()
                .filter_map(|v| match v.parse() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        *nothing = true;
                        None
                    }
                })
                .collect()
        };
        for (key, values) in &query.terms {
            match key.as_str() {
                "slug" => filter.slugs.extend(values.iter().map(|v| v.to_lowercase())),
                "email" => filter
                    .emails
                    .extend(values.iter().map(|v| normalize_email(v))),
                "id" => {
                    let ids = numbers(values, &mut filter.nothing);
                    filter.ids.extend(ids);
                }
                "member_id" => {
                    let ids = numbers(values, &mut filter.nothing);
                    filter.member_ids.extend(ids);
                }
                "status" => {
                    for value in values {
                        match [
                            OrgStatus::Active,
                            OrgStatus::PendingDeletion,
                            OrgStatus::DeletionInProgress,
                        ]
                        .into_iter()
                        .find(|s| s.api_id().eq_ignore_ascii_case(value))
                        {
                            Some(status) => filter.statuses.push(status),
                            None => filter.nothing = true,
                        }
                    }
                }
                _ => filter.nothing = true,
            }
        }
        filter
    }
}

/// A page of organizations (at most `limit`, after skipping `offset`), newest first, each with its
/// avatar row; one query.
pub fn page(
    conn: &mut AnyConnection,
    among: Among,
    filter: &OrgFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<(Organization, Option<OrgAvatar>)>> {
    if filter.nothing {
        return Ok(Vec::new());
    }
    let members_with_email = |emails: Vec<String>| {
        organization_members::table
            .inner_join(users::table)
            .filter(users::email_normalized.eq_any(emails))
            .select(organization_members::organization_id)
    };
    let mut query = organizations::table
        .left_join(organization_avatars::table)
        .into_boxed();
    query = match among {
        Among::MemberOf(user_id) => query.filter(
            organizations::id.eq_any(
                organization_members::table
                    .filter(organization_members::user_id.eq(user_id))
                    .select(organization_members::organization_id),
            ),
        ),
        Among::One(id) => query.filter(organizations::id.eq(id)),
        // the flag's bit is checked on the rows below (SQL has no portable bit test in diesel)
        Among::All => query,
    };
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        query = query.filter(
            lower(organizations::name)
                .like(pattern.clone())
                .or(organizations::slug.like(pattern))
                .or(organizations::id.eq_any(members_with_email(vec![normalize_email(text)]))),
        );
    }
    if !filter.slugs.is_empty() {
        query = query.filter(organizations::slug.eq_any(filter.slugs.clone()));
    }
    if !filter.emails.is_empty() {
        query = query.filter(organizations::id.eq_any(members_with_email(filter.emails.clone())));
    }
    if !filter.ids.is_empty() {
        query = query.filter(organizations::id.eq_any(filter.ids.clone()));
    }
    if !filter.statuses.is_empty() {
        let codes: Vec<i32> = filter.statuses.iter().map(|s| s.code()).collect();
        query = query.filter(organizations::status.eq_any(codes));
    }
    if !filter.member_ids.is_empty() {
        query = query.filter(
            organizations::id.eq_any(
                organization_members::table
                    .filter(organization_members::id.eq_any(filter.member_ids.clone()))
                    .select(organization_members::organization_id),
            ),
        );
    }
    let rows: Vec<(Organization, Option<OrgAvatar>)> = query
        .order((organizations::date_added.desc(), organizations::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((Organization::as_select(), Option::<OrgAvatar>::as_select()))
        .load(conn)?;
    Ok(match among {
        Among::All => rows
            .into_iter()
            .filter(|(org, _)| org.admits_superusers())
            .collect(),
        _ => rows,
    })
}

/// The active organizations `user_id` owns, by name, each with its avatar and whether they are its
/// only owner (`?owner=1`, used before closing an account); two queries.
pub fn owned_by(
    conn: &mut AnyConnection,
    user_id: i64,
) -> QueryResult<Vec<(Organization, Option<OrgAvatar>, bool)>> {
    let rows: Vec<(Organization, Option<OrgAvatar>)> = organizations::table
        .inner_join(organization_members::table)
        .left_join(organization_avatars::table)
        .filter(organization_members::user_id.eq(user_id))
        .filter(organization_members::role.eq(Role::Owner.id()))
        .filter(organizations::status.eq(OrgStatus::Active.code()))
        .order((organizations::name, organizations::id))
        .select((Organization::as_select(), Option::<OrgAvatar>::as_select()))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(org, _)| org.id).collect();
    let owners: Vec<(i64, i64)> = organization_members::table
        .inner_join(users::table)
        .filter(organization_members::organization_id.eq_any(&ids))
        .filter(organization_members::role.eq(Role::Owner.id()))
        .filter(users::is_active.eq(true))
        .group_by(organization_members::organization_id)
        .select((
            organization_members::organization_id,
            diesel::dsl::count(organization_members::id),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(org, avatar)| {
            let single = owners
                .iter()
                .any(|(id, count)| *id == org.id && *count == 1);
            (org, avatar, single)
        })
        .collect())
}
