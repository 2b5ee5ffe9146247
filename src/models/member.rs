//! Organization members: a user with a role, or (later) a pending invite by email.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::role::Role;
use super::user::User;
use crate::db::schema::organization_members;
use crate::db::{AnyConnection, query};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organization_members)]
pub struct Member {
    pub id: i64,
    pub organization_id: i64,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub role: String,
    pub token: Option<String>,
    pub token_expires_at: Option<NaiveDateTime>,
    pub date_added: NaiveDateTime,
}

impl Member {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }

    /// The membership of `user_id` in `organization_id`, if any.
    pub fn find(
        conn: &mut AnyConnection,
        organization_id: i64,
        user_id: i64,
    ) -> QueryResult<Option<Member>> {
        organization_members::table
            .filter(organization_members::organization_id.eq(organization_id))
            .filter(organization_members::user_id.eq(user_id))
            .select(Member::as_select())
            .get_result(conn)
            .optional()
    }

    pub fn add_user(
        conn: &mut AnyConnection,
        organization_id: i64,
        user: &User,
        role: Role,
    ) -> QueryResult<i64> {
        diesel::insert_into(organization_members::table)
            .values((
                organization_members::organization_id.eq(organization_id),
                organization_members::user_id.eq(user.id),
                organization_members::role.eq(role.id()),
                organization_members::role_rank.eq(role.list_rank()),
                organization_members::sort_address.eq(&user.email_normalized),
                organization_members::date_added.eq(query::now()),
            ))
            .returning(organization_members::id)
            .get_result(conn)
    }
}
