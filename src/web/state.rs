//! `AppState`: what every request shares (the pool, the configuration, the image-work queue), and how
//! handlers run work off the async workers: `db` for database work, `read` for a quick read by key
//! (on SQLite run in place when it can), `write` for a short write (on SQLite on the writer
//! thread), `save_of` for a settings save (on PostgreSQL a few of an organization's at a time),
//! `image_work` for images (docs/architecture.md, "Writes on SQLite" and "Where a
//! request's time goes"); and `settings_of`, an organization's settings with the options this
//! process keeps while their version stands (docs/architecture.md, "The options cache").

use std::sync::Arc;

use diesel::QueryResult;

use crate::config::Config;
use crate::db::{AnyConnection, FromUnavailable, Pool, Unavailable};
use crate::jobs::Background;
use crate::models::avatar::OrgAvatar;
use crate::models::option::OptionsCache;
use crate::models::organization::Organization;
use crate::settings::current::OrgSettings;
use crate::web::kept::{AnswersCache, FieldsCache};

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    /// Starts the requirement jobs a save recorded.
    pub jobs: Background,
    /// Permits for image work (decoding uploads, resizing avatars), shared by every worker.
    image_work: Arc<tokio::sync::Semaphore>,
    /// The organizations' options as last read, each good while its version stands.
    options: Arc<OptionsCache>,
    /// The settings form's fields as last rendered, each good while its organization's row stands.
    pub form_fields: Arc<FieldsCache>,
    /// The organization API's answers as last written, each good while its row and avatar stand.
    pub org_answers: Arc<AnswersCache>,
    /// Turns of the settings saves on PostgreSQL, by organization (striped): see
    /// [`AppState::save_of`].
    save_turns: Arc<[tokio::sync::Semaphore]>,
}

/// How many stripes the organizations' save turns are spread over.
const SAVE_STRIPES: usize = 64;
/// How many saves of one organization (stripe) go to PostgreSQL at once: one holding the row
/// lock and one waiting for it, ready the moment it is free.
const SAVES_AT_ONCE: usize = 2;

impl AppState {
    pub fn new(pool: Pool, config: Config) -> Self {
        let config = Arc::new(config);
        Self {
            jobs: Background::new(pool.clone(), config.clone()),
            pool,
            config,
            image_work: Arc::new(tokio::sync::Semaphore::new(
                crate::settings::avatar::CONCURRENT_IMAGE_WORK,
            )),
            options: Arc::new(OptionsCache::default()),
            form_fields: Arc::new(FieldsCache::default()),
            org_answers: Arc::new(AnswersCache::default()),
            save_turns: (0..SAVE_STRIPES)
                .map(|_| tokio::sync::Semaphore::new(SAVES_AT_ONCE))
                .collect(),
        }
    }

    /// The options this process keeps (a save under the organization's lock may use them).
    pub fn kept_options(&self) -> Arc<OptionsCache> {
        self.options.clone()
    }

    /// The settings of an organization whose row (and avatar) this request has just read: its
    /// options from the cache when the row's `options_version` says they are still the stored
    /// ones (no trip to the database at all), otherwise read now.
    pub async fn settings_of(
        &self,
        org: Organization,
        avatar: Option<OrgAvatar>,
    ) -> QueryResult<OrgSettings> {
        match self.options.get(&org) {
            Some(options) => Ok(OrgSettings {
                org,
                options,
                avatar,
            }),
            None => {
                let cache = self.options.clone();
                self.read(move |conn| OrgSettings::with_kept_options(conn, &cache, org, avatar))
                    .await
            }
        }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool (diesel and argon2 never run on
    /// the async workers). The answer is `f`'s own: a model's `QueryResult`, a domain call's
    /// `DomainError`; that the call could not run at all comes back in the same type.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: FromUnavailable + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || match pool.get() {
            Ok(mut conn) => f(&mut conn),
            Err(err) => Err(E::from_unavailable(Unavailable::Pool(err))),
        })
        .await
        .unwrap_or_else(|err| Err(E::from_unavailable(Unavailable::Blocking(err.to_string()))))
    }

    /// [`AppState::db`] for a quick read by key (the session, the access check, a page's options):
    /// on SQLite it runs right here when a connection is idle, saving two thread hand-offs
    /// (`db::read_here`); elsewhere, and when the pool is busy, on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: FromUnavailable + Send + 'static,
    {
        match crate::db::read_here(&self.pool, f) {
            Ok(answer) => answer,
            Err(f) => self.db(f).await,
        }
    }

    /// [`AppState::db`] for short database work that writes (a save, a member change): on SQLite
    /// on the pool's writer thread, one write after another in arrival order
    /// (`db::on_writer_thread`); on PostgreSQL on the blocking pool.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: FromUnavailable + Send + 'static,
    {
        match crate::db::on_writer_thread(&self.pool, f) {
            Ok(answered) => answered.await.unwrap_or_else(|_| {
                Err(E::from_unavailable(Unavailable::Blocking(
                    "the write stopped before it answered".into(),
                )))
            }),
            Err(f) => self.db(f).await,
        }
    }

    /// [`AppState::write`] for a save that locks organization `org_id`'s row. On PostgreSQL at
    /// most [`SAVES_AT_ONCE`] saves of an organization (of its stripe) take connections at a
    /// time; the others wait here, first come first served, without a connection
    /// (docs/architecture.md, "Saves of one organization on PostgreSQL"). Otherwise every waiting
    /// save holds one of the pool's few connections while it waits for the row lock, every other
    /// request waits for a connection behind them, and the pool hands a freed connection to
    /// whoever asks first rather than to whoever waited longest. On SQLite the writer thread
    /// already queues the writes in arrival order.
    pub async fn save_of<T, E, F>(&self, org_id: i64, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: FromUnavailable + Send + 'static,
    {
        if self.pool.backend() == crate::db::Backend::Sqlite {
            return self.write(f).await;
        }
        let stripe = &self.save_turns[org_id.unsigned_abs() as usize % SAVE_STRIPES];
        let _turn = stripe.acquire().await.map_err(|e| {
            E::from_unavailable(Unavailable::Blocking(format!("save turns closed: {e}")))
        })?;
        self.write(f).await
    }

    /// Runs image work (decoding, resizing) on the blocking pool, at most
    /// `settings::avatar::CONCURRENT_IMAGE_WORK` at a time in this process; later callers wait.
    pub async fn image_work<T, F>(&self, f: F) -> Result<T, Unavailable>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .image_work
            .acquire()
            .await
            .map_err(|e| Unavailable::Blocking(format!("the image work queue closed: {e}")))?;
        actix_web::web::block(f)
            .await
            .map_err(|e| Unavailable::Blocking(e.to_string()))
    }
}
