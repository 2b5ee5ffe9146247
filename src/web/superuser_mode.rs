//! Superuser mode as the session holds it: a superuser's powers apply only while their session holds
//! a grant, made by re-entering the password at `/superuser/` (`web::superuser`). It ends after an
//! idle time or an absolute limit, on logout, or when left; the grant lives in the server-side
//! session, so leaving ends it for every copy of the cookie.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use super::error::AppError;
use crate::config::Config;
use crate::models::user::User;

const GRANT: &str = "su";

/// The grant kept in the session. It carries its own limits, so any page can tell the time left.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    user_id: i64,
    since: i64,
    last: i64,
    idle_secs: i64,
    max_secs: i64,
}

impl Grant {
    fn ends_at(&self) -> i64 {
        (self.last + self.idle_secs).min(self.since + self.max_secs)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The session's superuser mode for `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    /// On, with this many seconds left (unless used again before).
    Active {
        seconds_left: i64,
    },
    /// It was on and ran out: the user is sent back to `/superuser/`.
    Expired,
}

impl Mode {
    pub fn is_active(self) -> bool {
        matches!(self, Mode::Active { .. })
    }
}

/// The user whose active (unexpired) grant the session holds, if any; the caller still checks that the
/// user is an active superuser.
pub fn granted_user(session: &Session) -> Option<i64> {
    let grant = session.get::<Grant>(GRANT).ok().flatten()?;
    (grant.ends_at() > now()).then_some(grant.user_id)
}

/// Reads the mode without changing the session.
pub fn mode(session: &Session, user: &User) -> Mode {
    let Ok(Some(grant)) = session.get::<Grant>(GRANT) else {
        return Mode::Off;
    };
    if grant.user_id != user.id || !user.is_superuser || !user.is_active {
        return Mode::Off;
    }
    match grant.ends_at() - now() {
        left if left > 0 => Mode::Active { seconds_left: left },
        _ => Mode::Expired,
    }
}

/// Reads the mode for a request that uses the powers: an active grant counts as activity (idle time
/// starts over); an expired one is removed, under a new session id.
pub fn use_powers(session: &Session, user: &User) -> Result<Mode, AppError> {
    let current = mode(session, user);
    match current {
        Mode::Active { .. } => {
            if let Ok(Some(mut grant)) = session.get::<Grant>(GRANT) {
                grant.last = now();
                session.insert(GRANT, &grant)?;
            }
            Ok(mode(session, user))
        }
        Mode::Expired => {
            session.remove(GRANT);
            session.renew();
            Ok(Mode::Expired)
        }
        Mode::Off => Ok(Mode::Off),
    }
}

pub fn enter(session: &Session, user: &User, config: &Config) -> Result<(), AppError> {
    let now = now();
    session.renew();
    // the password was just entered again
    super::sudo::grant(session)?;
    session.insert(
        GRANT,
        Grant {
            user_id: user.id,
            since: now,
            last: now,
            idle_secs: config.superuser_idle.as_secs() as i64,
            max_secs: config.superuser_max.as_secs() as i64,
        },
    )?;
    Ok(())
}

/// "14 minutes", "1 hour 5 minutes"
pub fn time_left(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let unit = |n: i64, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (hours, minutes) {
        (0, m) => unit(m, "minute"),
        (h, 0) => unit(h, "hour"),
        (h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

/// Ends the grant, under a new session id; `true` when there was one.
pub fn leave(session: &Session) -> bool {
    if super::session::take(session, GRANT).is_some() {
        session.renew();
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_in_minutes_and_hours() {
        assert_eq!(time_left(30), "1 minute");
        assert_eq!(time_left(14 * 60 + 1), "15 minutes");
        assert_eq!(time_left(3600), "1 hour");
        assert_eq!(time_left(3600 + 5 * 60), "1 hour 5 minutes");
        assert_eq!(time_left(2 * 3600 + 60), "2 hours 1 minute");
    }

    #[test]
    fn a_grant_ends_at_the_earlier_of_idle_and_absolute_limits() {
        let grant = Grant {
            user_id: 1,
            since: 0,
            last: 100,
            idle_secs: 900,
            max_secs: 600,
        };
        assert_eq!(grant.ends_at(), 600);
        let grant = Grant {
            user_id: 1,
            since: 0,
            last: 100,
            idle_secs: 60,
            max_secs: 600,
        };
        assert_eq!(grant.ends_at(), 160);
    }
}
