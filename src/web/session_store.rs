//! Where sessions are kept: in the app's own database by default (SQLite or PostgreSQL), or in
//! Redis with `REDIS_URL`. Either way the cookie holds only a random key (encrypted and signed), and
//! the state lives on the server, so logging out, leaving superuser mode and privilege changes end
//! the session for every copy of its cookie.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::cookie::time::Duration as CookieDuration;
use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};

use crate::db::Pool;
use crate::models::session;

type SessionState = HashMap<String, String>;

/// Anonymous sessions (a login form's CSRF token, a login waiting for its second factor) live at
/// most this long, so visitors who never log in do not fill the table.
pub const ANONYMOUS_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// One `SessionStore` type for both choices, so one `App` type serves either.
#[derive(Clone)]
pub enum Sessions {
    /// The `sessions` table of the app's database.
    Database(Pool),
    /// Redis, shared by every instance pointed at it.
    Redis(RedisSessionStore),
}

impl Sessions {
    pub async fn redis(url: &str) -> anyhow::Result<Self> {
        let store = RedisSessionStore::new(url)
            .await
            .with_context(|| format!("connecting to Redis at {url} for sessions"))?;
        Ok(Sessions::Redis(store))
    }
}

/// Runs a session query on the blocking pool.
async fn with_db<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut crate::db::AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> anyhow::Result<T> {
    let pool = pool.clone();
    actix_web::web::block(move || -> anyhow::Result<T> {
        let mut conn = pool
            .get()
            .context("getting a database connection for the session")?;
        f(&mut conn).context("session query")
    })
    .await
    .context("session query on the blocking pool")?
}

/// [`with_db`] for the session's lookup by key: on SQLite right here when a connection is idle
/// (`db::read_here`), saving two thread hand-offs per request.
async fn read_db<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut crate::db::AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> anyhow::Result<T> {
    match crate::db::read_here(pool, f) {
        Ok(answer) => answer.context("session query"),
        Err(f) => with_db(pool, f).await,
    }
}

/// The logged-in user of a state, so the row can be found when all of a user's sessions end.
fn user_of(state: &SessionState) -> Option<i64> {
    state
        .get(super::session::USER_ID)
        .and_then(|raw| serde_json::from_str(raw).ok())
}

fn expiry(state: &SessionState, ttl: &CookieDuration) -> chrono::NaiveDateTime {
    let ttl = std::time::Duration::try_from(*ttl).unwrap_or(ANONYMOUS_TTL);
    let ttl = if user_of(state).is_some() {
        ttl
    } else {
        ttl.min(ANONYMOUS_TTL)
    };
    crate::db::query::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1))
}

fn new_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 64)
}

fn into_key(raw: String) -> anyhow::Result<SessionKey> {
    SessionKey::try_from(raw).map_err(|e| anyhow::anyhow!("{e}"))
}

impl SessionStore for Sessions {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        match self {
            Sessions::Database(pool) => {
                let hash = session::key_hash(key.as_ref());
                let stored = read_db(pool, move |conn| session::load(conn, &hash))
                    .await
                    .map_err(LoadError::Other)?;
                stored
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| LoadError::Deserialization(e.into()))
            }
            Sessions::Redis(store) => store.load(key).await,
        }
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        match self {
            Sessions::Database(pool) => {
                let text = serde_json::to_string(&state)
                    .map_err(|e| SaveError::Serialization(e.into()))?;
                let (user_id, expires) = (user_of(&state), expiry(&state, ttl));
                let key = new_key();
                let hash = session::key_hash(&key);
                with_db(pool, move |conn| {
                    session::insert(conn, &hash, user_id, &text, expires)
                })
                .await
                .map_err(SaveError::Other)?;
                into_key(key).map_err(SaveError::Other)
            }
            Sessions::Redis(store) => store.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            Sessions::Database(pool) => {
                let text = serde_json::to_string(&state)
                    .map_err(|e| UpdateError::Serialization(e.into()))?;
                let (user_id, expires) = (user_of(&state), expiry(&state, ttl));
                let hash = session::key_hash(key.as_ref());
                let live = with_db(pool, move |conn| {
                    session::update(conn, &hash, user_id, &text, expires)
                })
                .await
                .map_err(UpdateError::Other)?;
                if live {
                    Ok(key)
                } else {
                    // ended meanwhile (logged out elsewhere, privileges changed): it stays ended,
                    // and the browser gets a key that leads nowhere
                    into_key(new_key()).map_err(UpdateError::Other)
                }
            }
            Sessions::Redis(store) => store.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &CookieDuration) -> anyhow::Result<()> {
        match self {
            Sessions::Database(pool) => {
                let hash = session::key_hash(key.as_ref());
                let ttl = std::time::Duration::try_from(*ttl).unwrap_or(ANONYMOUS_TTL);
                let expires = crate::db::query::now()
                    + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1));
                with_db(pool, move |conn| session::extend(conn, &hash, expires)).await
            }
            Sessions::Redis(store) => store.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        match self {
            Sessions::Database(pool) => {
                let hash = session::key_hash(key.as_ref());
                with_db(pool, move |conn| session::delete(conn, &hash)).await
            }
            Sessions::Redis(store) => store.delete(key).await,
        }
    }
}
