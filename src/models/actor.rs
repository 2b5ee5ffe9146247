//! Who performs a change, for the audit logs: a user (from an address), or the command line.

use super::user::User;

/// Who performs a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
    pub ip_address: Option<String>,
    /// An active superuser acting on an organization they are not a member of.
    pub is_staff: bool,
}

impl Actor {
    pub fn user(user: &User, ip_address: Option<String>) -> Self {
        Self {
            user_id: Some(user.id),
            label: user.username.clone(),
            ip_address,
            is_staff: false,
        }
    }

    /// Changes made with the `orgsettings` command line.
    pub fn cli() -> Self {
        Self {
            user_id: None,
            label: "CLI".into(),
            ip_address: None,
            is_staff: false,
        }
    }
}
