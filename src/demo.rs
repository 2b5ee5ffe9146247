//! `serve --demo`: a demo organization with one user per role, for trying things out.

use anyhow::Context;

use crate::db::{AnyConnection, write_tx};
use crate::errors::DomainError;
use crate::models::actor::Actor;
use crate::models::member::Member;
use crate::models::organization::{OrgName, Organization};
use crate::models::permission;
use crate::models::role::Role;
use crate::models::slug::Slug;
use crate::models::user::{EmailAddress, NewUser, Password, User, Username};
use crate::secrets::random_token;

pub const ORG_SLUG: &str = "demo";

pub struct DemoLogin {
    pub username: String,
    pub password: String,
    pub note: &'static str,
}

/// Fills an empty database (no users) and returns the logins it made; `None` when there were users.
pub fn fill(conn: &mut AnyConnection) -> anyhow::Result<Option<Vec<DemoLogin>>> {
    let people: [(&str, Option<Role>, bool, &'static str); 4] = [
        ("admin", None, true, "instance superuser"),
        ("owner", Some(Role::Owner), false, "owner of demo"),
        ("manager", Some(Role::Manager), false, "manager of demo"),
        ("member", Some(Role::Member), false, "member of demo"),
    ];
    let result = write_tx(conn, |conn| {
        if User::count(conn)? > 0 {
            return Ok(None);
        }
        let mut logins = Vec::new();
        let mut members = Vec::new();
        for (username, role, superuser, note) in people {
            let password = random_token()[..16].to_owned();
            let new_user = NewUser {
                username: Username::parse(username).map_err(anyhow::Error::msg)?,
                email: EmailAddress::parse(&format!("{username}@demo.example.com"))
                    .map_err(anyhow::Error::msg)?,
                password: Some(Password::parse(&password).map_err(anyhow::Error::msg)?),
                is_superuser: superuser,
                email_verified: true,
            };
            let user = User::create(conn, &new_user)?;
            if superuser {
                for name in permission::KNOWN {
                    permission::add(conn, user.id, name)?;
                }
            }
            logins.push(DemoLogin {
                username: username.to_owned(),
                password,
                note,
            });
            if let Some(role) = role {
                members.push((user, role));
            }
        }
        let (owner, _) = members.first().context("the demo has an owner")?.clone();
        let org = Organization::create(
            conn,
            &OrgName::parse("Demo Organization").map_err(anyhow::Error::msg)?,
            Some(&Slug::parse(ORG_SLUG).map_err(anyhow::Error::msg)?),
            &owner,
            &Actor::cli(),
        )?;
        for (user, role) in members.iter().skip(1) {
            Member::add_user(conn, org.id, user, *role)?;
        }
        Ok::<_, DomainError>(Some(logins))
    });
    result.map_err(|err| anyhow::anyhow!("creating the demo data: {err}"))
}
