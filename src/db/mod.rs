//! Database setup in one place: the connection type over both backends, the pool with per-connection
//! pragmas, embedded migrations, and the write-transaction helper every save goes through.
//!
//! SQLite allows one writer at a time. Left to itself, a writer that finds the lock taken sleeps in
//! SQLite's busy handler and retries, so under load saves wait in no order and some wait long. Here
//! every write of a pool ([`write_tx`], [`write`]) first takes its turn in the pool's writer queue,
//! a fair (first come, first served) lock, and only then starts SQLite's transaction: writers of this
//! process never meet SQLite's lock, and they run in the order they came. See
//! `docs/architecture.md`, "Writes on SQLite".
//!
//! Errors: functions here return `diesel::QueryResult` (queries) or [`DbSetupError`] (connecting and
//! migrating); the web layer maps both into `AppError`.

pub mod query;
pub mod schema;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// One connection type for both backends; the variant is chosen by the database URL.
/// PostgreSQL comes first so that diesel's own `establish` never hands a PostgreSQL URL to SQLite.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$run` (a diesel call on `$c`) with the concrete connection inside an [`AnyConnection`],
/// for the lookups every request makes (docs/architecture.md, "Where a request's time goes"):
/// diesel's `MultiConnection` renders a query's SQL text on every run, even when its prepared
/// statement is cached, while a concrete connection finds the cached statement by the query's
/// type. The query is written once and type-checked for each backend.
#[macro_export]
macro_rules! on_native_connection {
    ($conn:expr, |$c:ident| $run:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $run,
            $crate::db::AnyConnection::Postgresql($c) => $run,
        }
    };
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The connection pool, with the count of statements its connections have run.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    queries: Arc<AtomicU64>,
    backend: Backend,
    /// SQLite only: the thread that runs the requests' writes ([`on_writer_thread`]).
    writer: Option<Arc<WriterThread>>,
    /// SQLite only: the thread that checkpoints the WAL ([`Checkpointer`]).
    checkpointer: Option<Arc<Checkpointer>>,
    /// Quick reads by key may run on the calling thread ([`read_here`]): the database is on
    /// this host ([`DatabaseUrl::is_on_this_host`]).
    reads_here: bool,
}

impl Pool {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: how many checkpoints the pool's checkpoint thread has run, and the WAL's size and
    /// backfilled frames at the last one (`None` on PostgreSQL). Used by tests.
    pub fn checkpoints(&self) -> Option<CheckpointStats> {
        self.checkpointer
            .as_ref()
            .map(|c| *c.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<Manager>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Per-connection SQLite settings: enforce foreign keys, wait for a lock instead of failing at once,
/// the durability level recommended with WAL, and no checkpoint at commit: the pool's checkpoint
/// thread does them ([`Checkpointer`]; docs/architecture.md, "Writes on SQLite").
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;";

/// A database URL, parsed once: which backend, and what to hand to the driver.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver gets: the PostgreSQL URL as given, or the SQLite file path.
    target: String,
    /// The URL as the user wrote it, password hidden; used in every message.
    display: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    /// Accepts `sqlite://PATH`, `sqlite:PATH`, a bare file path, or `postgres://` / `postgresql://` URLs.
    pub fn parse(raw: &str) -> Result<Self, DbSetupError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DbSetupError::BadUrl {
                url: String::new(),
                reason: "the database URL is empty".into(),
            });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let display = redact_password(raw);
            url::Url::parse(raw).map_err(|e| DbSetupError::BadUrl {
                url: display.clone(),
                reason: e.to_string(),
            })?;
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
                display,
            });
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if let Some((scheme, _)) = raw.split_once("://")
            && scheme != "sqlite"
        {
            return Err(DbSetupError::BadUrl {
                url: redact_password(raw),
                reason: format!(
                    "unsupported scheme `{scheme}`; use sqlite://PATH or postgres://USER@HOST/DB"
                ),
            });
        }
        if path.is_empty() || path == ":memory:" {
            return Err(DbSetupError::BadUrl {
                url: raw.to_owned(),
                reason:
                    "give a file path: an in-memory SQLite database cannot be shared by the pool"
                        .into(),
            });
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
            display: raw.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether a statement's answer comes from this host: a SQLite file, or a PostgreSQL server
    /// reached over a Unix socket (no host, or a host that is a directory) or a loopback address.
    /// Its round trip then costs about what a hand-off to the blocking pool does, and cannot hang
    /// on a network.
    pub fn is_on_this_host(&self) -> bool {
        match self.backend {
            Backend::Sqlite => true,
            Backend::Postgres => {
                let Ok(url) = url::Url::parse(&self.target) else {
                    return false;
                };
                // a `host` parameter overrides the URL's host, as libpq reads it
                let host = url
                    .query_pairs()
                    .find(|(key, _)| key == "host")
                    .map(|(_, value)| value.into_owned())
                    .or_else(|| url.host_str().map(str::to_owned))
                    .unwrap_or_default();
                let address = host.trim_start_matches('[').trim_end_matches(']');
                host.is_empty()
                    || host.starts_with('/')
                    || host.to_ascii_lowercase().starts_with("%2f")
                    || host == "localhost"
                    || address
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// The SQLite file path, when this is a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    fn establish(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                PgConnection::establish(&self.target).map(AnyConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.display)
    }
}

fn redact_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // set_password only fails for URLs that cannot have one, which excludes this branch
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparsable database URL>".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("bad database URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot connect to the database `{url}`: {cause}")]
    Connect {
        url: String,
        cause: diesel::ConnectionError,
    },
    #[error("cannot create the database pool for `{url}`: {cause}")]
    Pool { url: String, cause: r2d2::PoolError },
    #[error("cannot apply migrations to `{url}`: {cause}")]
    Migrate { url: String, cause: String },
    #[error("cannot start the SQLite writer thread: {0}")]
    Writer(String),
    #[error("cannot start the SQLite checkpoint thread: {0}")]
    Checkpointer(String),
}

/// r2d2 manager that connects with the concrete connection type, so a failure reports its real cause
/// (diesel's `MultiConnection::establish` tries each backend and keeps only "Invalid connection url").
///
/// It also counts the statements run on its connections (see [`query_count`]).
#[derive(Clone, Debug)]
pub struct Manager {
    url: DatabaseUrl,
    queries: Arc<AtomicU64>,
    /// SQLite only: the queue every connection of this pool writes through.
    writers: Option<Arc<WriterQueue>>,
}

/// The writer queue of one SQLite pool: whoever holds it may write. Fair, so writers take turns in
/// the order they asked.
type WriterQueue = parking_lot::FairMutex<()>;

/// How long a write waits for its turn before it gives up (twice SQLite's `busy_timeout`, which
/// still covers writers of other processes, such as the CLI).
pub const WRITER_QUEUE_WAIT: Duration = Duration::from_secs(10);

/// A connection used within this window is handed out without the `SELECT 1` check, as HikariCP's
/// `aliveBypassWindowMs` does: it has just answered. Idle connections, and any whose last statement
/// failed, are checked first.
const ALIVE_BYPASS: Duration = Duration::from_secs(1);

/// What each pooled connection carries beside the driver's state: the statement counter, when it
/// last answered, whether it failed since, and (SQLite) its pool's writer queue. Installed as the
/// connection's diesel instrumentation, so it sees every statement.
struct Hooks {
    queries: Arc<AtomicU64>,
    writers: Option<Arc<WriterQueue>>,
    answered: Instant,
    /// The last statement failed: check the connection before handing it out again.
    suspect: bool,
    /// The connection itself is gone (closed, cannot send): drop it from the pool.
    lost: bool,
    /// Lent for a quick read on an async worker ([`read_here`]): writes are refused, since one
    /// could wait for its turn in the writer queue and stall the worker.
    reading_here: bool,
}

impl Instrumentation for Hooks {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.queries.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery { error: None, .. } => {
                self.answered = Instant::now();
                self.suspect = false;
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } => {
                self.suspect = true;
                self.lost |= matches!(
                    error,
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ClosedConnection
                            | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                        _
                    )
                );
            }
            _ => {}
        }
    }
}

fn hooks(conn: &mut AnyConnection) -> Option<&mut Hooks> {
    conn.instrumentation().downcast_mut::<Hooks>()
}

/// How many statements the pool's connections have run since it was built (the number a page takes
/// is the difference around its request; used by tests and the benchmark).
pub fn query_count(pool: &Pool) -> u64 {
    pool.queries.load(Ordering::Relaxed)
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        let mut conn = self
            .url
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        conn.set_instrumentation(Hooks {
            queries: self.queries.clone(),
            writers: self.writers.clone(),
            answered: Instant::now(),
            suspect: false,
            lost: false,
            reading_here: false,
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        if let Some(hooks) = hooks(conn)
            && !hooks.suspect
            && hooks.answered.elapsed() < ALIVE_BYPASS
        {
            return Ok(());
        }
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        hooks(conn).is_some_and(|hooks| hooks.lost)
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

/// Connects once with the concrete driver (fail fast, with the cause), then builds the pool.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, DbSetupError> {
    url.establish().map_err(|cause| DbSetupError::Connect {
        url: url.to_string(),
        cause,
    })?;
    let queries = Arc::new(AtomicU64::new(0));
    let inner = r2d2::Pool::builder()
        .max_size(max_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .build(Manager {
            url: url.clone(),
            queries: queries.clone(),
            writers: (url.backend == Backend::Sqlite).then(|| Arc::new(WriterQueue::new(()))),
        })
        .map_err(|cause| DbSetupError::Pool {
            url: url.to_string(),
            cause,
        })?;
    let (writer, checkpointer) = match url.backend {
        Backend::Sqlite => (
            Some(Arc::new(WriterThread::spawn(inner.clone())?)),
            Some(Arc::new(Checkpointer::spawn(url, queries.clone())?)),
        ),
        Backend::Postgres => (None, None),
    };
    Ok(Pool {
        inner,
        queries,
        backend: url.backend,
        writer,
        checkpointer,
        reads_here: url.is_on_this_host(),
    })
}

/// Applies pending migrations; returns the versions that ran (`20261201000006` for the folder
/// `2026-12-01-000006_security`). SQLite databases are switched to WAL here, once: the journal mode
/// is stored in the file.
pub fn migrate(pool: &Pool, url: &DatabaseUrl) -> Result<Vec<String>, DbSetupError> {
    let fail = |cause: String| DbSetupError::Migrate {
        url: url.to_string(),
        cause,
    };
    let mut conn = pool.get().map_err(|e| fail(e.to_string()))?;
    let source = match &mut *conn {
        AnyConnection::Sqlite(sqlite) => {
            sqlite
                .batch_execute("PRAGMA journal_mode = WAL;")
                .map_err(|e| fail(e.to_string()))?;
            SQLITE_MIGRATIONS
        }
        AnyConnection::Postgresql(_) => POSTGRES_MIGRATIONS,
    };
    let applied = conn
        .run_pending_migrations(source)
        .map_err(|e| fail(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// The writer queue of the connection's pool, when it has one (SQLite connections from [`connect`]).
fn writer_queue(conn: &mut AnyConnection) -> Option<Arc<WriterQueue>> {
    match conn {
        AnyConnection::Sqlite(_) => hooks(conn).and_then(|hooks| hooks.writers.clone()),
        AnyConnection::Postgresql(_) => None,
    }
}

/// Whether `conn` is inside a transaction (what it reads may be its own uncommitted writes).
pub fn in_transaction(conn: &mut AnyConnection) -> diesel::QueryResult<bool> {
    Ok(!outermost(conn)?)
}

fn outermost(conn: &mut AnyConnection) -> diesel::QueryResult<bool> {
    type Tm = AnyConnection;
    Ok(
        <Tm as TransactionManager<Tm>>::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_none(),
    )
}

/// A write of a request, as the writer thread runs it.
type WriteJob = Box<dyn FnOnce(&r2d2::Pool<Manager>) + Send>;

/// The thread that runs a SQLite pool's writes from requests one after another
/// (docs/architecture.md, "Writes on SQLite"). Writers handing the writer queue to each other
/// wake one another in turn, and a woken writer that waits for a core holds up everyone behind
/// it; one thread running the writes back to back does not wait on anyone. It ends when the last
/// clone of its pool is dropped (the channel closes).
struct WriterThread {
    jobs: std::sync::mpsc::Sender<WriteJob>,
}

impl WriterThread {
    fn spawn(pool: r2d2::Pool<Manager>) -> Result<Self, DbSetupError> {
        let (jobs, queue) = std::sync::mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    // a job that panics drops its answer (its request gets a 500); the thread
                    // goes on with the next
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&pool)));
                }
            })
            .map_err(|cause| DbSetupError::Writer(cause.to_string()))?;
        Ok(WriterThread { jobs })
    }
}

/// How often the checkpoint thread looks whether the pool has run statements since its last
/// checkpoint (and checkpoints when it has).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// What the checkpoint thread has done (SQLite's `PRAGMA wal_checkpoint` answer at the last one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Checkpoints run so far.
    pub runs: u64,
    /// Frames in the WAL at the last checkpoint.
    pub wal_frames: i64,
    /// Of those, frames copied back into the database file (all of them unless a reader still
    /// needed older ones).
    pub backfilled: i64,
}

#[derive(diesel::QueryableByName)]
struct CheckpointAnswer {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// The thread that checkpoints a SQLite pool's WAL (docs/architecture.md, "Writes on SQLite").
/// With SQLite's automatic checkpoint, the commit that fills the WAL past 1 000 pages copies them
/// into the database file and syncs both files before it returns: a few milliseconds in which
/// every write queued behind it waits. The pool's connections leave that to this thread, which
/// every [`CHECKPOINT_EVERY`] runs a `PASSIVE` checkpoint on its own connection when the pool has
/// run statements since the last one. A passive checkpoint takes no lock that a reader or writer
/// waits for. The thread ends when the last clone of its pool is dropped (the channel closes).
struct Checkpointer {
    _running: std::sync::mpsc::Sender<()>,
    stats: Arc<std::sync::Mutex<CheckpointStats>>,
}

impl Checkpointer {
    fn spawn(url: &DatabaseUrl, queries: Arc<AtomicU64>) -> Result<Self, DbSetupError> {
        let url = url.clone();
        let (running, stopped) = std::sync::mpsc::channel::<()>();
        let stats = Arc::new(std::sync::Mutex::new(CheckpointStats::default()));
        let kept = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut seen = queries.load(Ordering::Relaxed);
                // opened at the first checkpoint: a connection opened before the database was
                // switched to WAL (a new database, before its migrations) would not see the WAL
                let mut conn = None;
                // a timeout is the signal to look; a closed channel means the pool is gone
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let now = queries.load(Ordering::Relaxed);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    match checkpoint(&url, &mut conn) {
                        Ok(answer) => {
                            let mut stats = kept.lock().unwrap_or_else(|e| e.into_inner());
                            stats.runs += 1;
                            stats.wal_frames = answer.log.into();
                            stats.backfilled = answer.checkpointed.into();
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "WAL checkpoint failed");
                            conn = None;
                        }
                    }
                }
            })
            .map_err(|cause| DbSetupError::Checkpointer(cause.to_string()))?;
        Ok(Checkpointer {
            _running: running,
            stats,
        })
    }
}

/// One passive checkpoint on the checkpoint thread's connection, opened when there is none. A
/// database not (yet) in WAL mode answers -1 frames; the connection is then opened anew next time.
fn checkpoint(
    url: &DatabaseUrl,
    conn: &mut Option<AnyConnection>,
) -> Result<CheckpointAnswer, String> {
    let open = match conn {
        Some(open) => open,
        None => conn.insert(url.establish().map_err(|e| e.to_string())?),
    };
    let answer = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
        .get_result::<CheckpointAnswer>(open)
        .map_err(|e| e.to_string())?;
    if answer.log < 0 {
        *conn = None;
    }
    Ok(answer)
}

/// Sends `f` to the pool's writer thread (SQLite), which runs it with a pooled connection, in
/// arrival order, and answers through the returned receiver; gives `f` back on PostgreSQL (run it
/// on the blocking pool: PostgreSQL runs writers side by side). For short database work that
/// writes (saves, member changes): nothing slow, such as password hashing, since every other
/// write waits for it.
#[allow(clippy::type_complexity)]
pub fn on_writer_thread<T, E, F>(
    pool: &Pool,
    f: F,
) -> Result<tokio::sync::oneshot::Receiver<Result<T, E>>, F>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: FromUnavailable + Send + 'static,
{
    let Some(writer) = &pool.writer else {
        return Err(f);
    };
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: WriteJob = Box::new(move |pool| {
        let result = match pool.get() {
            Ok(mut conn) => f(&mut conn),
            Err(err) => Err(E::from_unavailable(Unavailable::Pool(err))),
        };
        // the request may have gone meanwhile: nobody to tell
        let _ = answer.send(result);
    });
    // the thread lives as long as the pool: a send cannot fail while `pool` is here; if it did,
    // the receiver reports the job dropped
    let _ = writer.jobs.send(job);
    Ok(answered)
}

/// Runs the read `f` on the calling thread (an async worker) when that costs less than the trip
/// to the blocking pool (docs/architecture.md, "Where a request's time goes"): with the database
/// on this host ([`DatabaseUrl::is_on_this_host`]) and a connection idle in the pool right now. A
/// lookup by key there takes microseconds (SQLite) or one local round trip (PostgreSQL); two
/// thread hand-offs take as long. Gives `f` back (nothing ran) for a database across a network,
/// whose statements could stall the worker, and when no connection is idle: run it on the
/// blocking pool then. Only for reads by key; [`write_tx`] and [`write`] refuse to run inside it.
pub fn read_here<T, F>(pool: &Pool, f: F) -> Result<T, F>
where
    F: FnOnce(&mut AnyConnection) -> T,
{
    if !pool.reads_here {
        return Err(f);
    }
    let Some(conn) = pool.try_get() else {
        return Err(f);
    };
    let mut lent = ReadingHere::lend(conn);
    Ok(f(&mut lent.0))
}

/// A connection lent to [`read_here`]; it refuses writes until it goes back to the pool, even
/// when the read unwinds.
struct ReadingHere(PooledConn);

impl ReadingHere {
    fn lend(mut conn: PooledConn) -> Self {
        set_reading_here(&mut conn, true);
        ReadingHere(conn)
    }
}

impl Drop for ReadingHere {
    fn drop(&mut self) {
        set_reading_here(&mut self.0, false);
    }
}

fn set_reading_here(conn: &mut AnyConnection, on: bool) {
    if let Some(hooks) = hooks(conn) {
        hooks.reading_here = on;
    }
}

/// Refuses a write on a connection lent to [`read_here`].
fn refuse_inside_read_here(conn: &mut AnyConnection) -> diesel::QueryResult<()> {
    if hooks(conn).is_some_and(|hooks| hooks.reading_here) {
        return Err(diesel::result::Error::QueryBuilderError(
            "a write inside `db::read_here`: writes run on the blocking pool".into(),
        ));
    }
    Ok(())
}

/// Waits for this write's turn in the queue (at most [`WRITER_QUEUE_WAIT`]).
fn take_turn(queue: &WriterQueue) -> diesel::QueryResult<parking_lot::FairMutexGuard<'_, ()>> {
    queue.try_lock_for(WRITER_QUEUE_WAIT).ok_or_else(|| {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(format!(
                "database is locked: this write waited {} s for its turn behind the process's \
                 other writes",
                WRITER_QUEUE_WAIT.as_secs()
            )),
        )
    })
}

/// Runs `f` in a write transaction: on SQLite, after its turn in the pool's writer queue, with
/// `BEGIN IMMEDIATE` (the write lock up front, so a writer of another process waits in
/// `busy_timeout` instead of failing with SQLITE_BUSY half-way); a plain `BEGIN` on PostgreSQL.
/// Nested calls become savepoints (and are already in their turn). Commits on `Ok`, rolls back on
/// `Err`.
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = AnyConnection;
    refuse_inside_read_here(conn)?;
    let outermost = outermost(conn)?;
    let queue = if outermost { writer_queue(conn) } else { None };
    let _turn = queue.as_deref().map(take_turn).transpose()?;
    match conn {
        AnyConnection::Sqlite(sqlite) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        _ => <Tm as TransactionManager<Tm>>::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            <Tm as TransactionManager<Tm>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(user_error) => match <Tm as TransactionManager<Tm>>::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(user_error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Runs a write that is not a transaction (one statement, autocommitted) in its turn among the
/// pool's writers, so it never waits in SQLite's busy handler behind them. Inside a transaction, and
/// on PostgreSQL, it just runs `f`.
pub fn write<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    refuse_inside_read_here(conn)?;
    let queue = if outermost(conn)? {
        writer_queue(conn)
    } else {
        None
    };
    let _turn = queue.as_deref().map(take_turn).transpose()?;
    f(conn)
}

/// Why a database call on the blocking pool could not even run: no connection came from the pool,
/// or the blocking task failed.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("the blocking task failed: {0}")]
    Blocking(String),
}

/// An error type that a database call on the blocking pool may return, which can also say that the
/// call could not run at all ([`Unavailable`]). The web layer's `AppState::db` needs it of the
/// closure's error type, so each call returns its own error type directly.
pub trait FromUnavailable {
    fn from_unavailable(err: Unavailable) -> Self;
}

impl FromUnavailable for diesel::result::Error {
    fn from_unavailable(err: Unavailable) -> Self {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new(err.to_string()),
        )
    }
}

impl FromUnavailable for anyhow::Error {
    fn from_unavailable(err: Unavailable) -> Self {
        anyhow::Error::new(err)
    }
}

/// Whether the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A trivial query, for the health check.
pub fn ping(conn: &mut AnyConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_hide_their_password_in_messages() {
        let url = DatabaseUrl::parse("postgres://app:secret@127.0.0.1:5432/app").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://app:***@127.0.0.1:5432/app");
    }

    #[test]
    fn a_database_on_this_host_is_a_file_a_socket_or_a_loopback_address() {
        for (raw, here) in [
            ("data/app.db", true),
            ("postgres://app@127.0.0.1:5432/app", true),
            ("postgres://app@localhost/app", true),
            ("postgres://app@[::1]/app", true),
            ("postgres:///app", true),
            ("postgres://app@%2Fvar%2Frun%2Fpostgresql/app", true),
            ("postgres:///app?host=/var/run/postgresql", true),
            ("postgres://app@db.internal:5432/app", false),
            ("postgres://app@10.0.0.5/app", false),
            ("postgres://app@localhost/app?host=db.internal", false),
        ] {
            let url = DatabaseUrl::parse(raw).unwrap();
            assert_eq!(url.is_on_this_host(), here, "{raw}");
        }
    }

    #[test]
    fn sqlite_urls_accept_the_scheme_or_a_bare_path() {
        for raw in ["sqlite://data/app.db", "sqlite:data/app.db", "data/app.db"] {
            let url = DatabaseUrl::parse(raw).unwrap();
            assert_eq!(url.sqlite_path(), Some("data/app.db"), "{raw}");
        }
    }

    #[test]
    fn unsupported_schemes_and_memory_databases_are_refused_with_a_reason() {
        let err = DatabaseUrl::parse("mysql://root:pw@localhost/db").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad database URL `mysql://root:***@localhost/db`: unsupported scheme `mysql`; use sqlite://PATH or postgres://USER@HOST/DB"
        );
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
        assert!(DatabaseUrl::parse("  ").is_err());
    }
}
