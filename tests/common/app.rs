//! `TestApp`: the real app on a random port, on a fresh database.

use std::net::TcpListener;

use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use orgsettings::app::{self, AppState, Sessions};
use orgsettings::config::Config;
use orgsettings::db::{self, AnyConnection, Pool};

use super::Backend;
use super::database::TestDb;
use super::services::{redis_url, skip};
use super::visitor::Visitor;

/// How to spawn the app.
pub struct Options {
    pub backend: Backend,
    pub redis: bool,
    pub config: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Options {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            redis: false,
            config: Box::new(|_| {}),
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// The default visitor; `app.get(..)` etc. go through it (`Deref`).
    pub visitor: Visitor,
    pub pool: Pool,
    pub backend: Backend,
    /// The server's state (shared with it: its caches are the server's own).
    pub state: AppState,
    handle: ServerHandle,
    sessions: Sessions,
    key: Key,
    // dropped last: the database outlives the server and pool
    pub db: TestDb,
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;

    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(Options::new(backend)).await
    }

    pub async fn spawn_with(options: Options) -> Option<TestApp> {
        let db = TestDb::create(options.backend)?;
        let pool = db.pool();
        let sessions = if options.redis {
            match Sessions::redis(&redis_url()).await {
                Ok(sessions) => sessions,
                Err(err) => {
                    skip("Redis", &format!("{err:#}"));
                    return None;
                }
            }
        } else {
            Sessions::Database(pool.clone())
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("local addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let mut config = Config::for_url(url::Url::parse(&base).expect("base URL"));
        (options.config)(&mut config);
        let state = AppState::new(pool.clone(), config);
        let key = Key::generate();
        let server = app::start(
            listener,
            state.clone(),
            sessions.clone(),
            key.clone(),
            Some(2),
        )
        .expect("start server");
        let handle = server.handle();
        tokio::spawn(server);
        Some(TestApp {
            visitor: Visitor::new(&base),
            base,
            pool,
            backend: options.backend,
            state,
            handle,
            sessions,
            key,
            db,
        })
    }

    /// Another app on the same backend, with changed settings (for tests inside `on_both_backends!`
    /// that need a setting of their own; the first app is dropped).
    pub async fn respawn_with(self, config: impl FnOnce(&mut Config) + Send + 'static) -> TestApp {
        let mut options = Options::new(self.backend);
        options.config = Box::new(config);
        drop(self);
        TestApp::spawn_with(options)
            .await
            .expect("the backend answered a moment ago")
    }

    /// Another browser: its own cookies and session.
    pub fn visitor(&self) -> Visitor {
        Visitor::new(&self.base)
    }

    /// Another browser, logged in as `username` (password [`super::PASSWORD`]).
    pub async fn visitor_logged_in(&self, username: &str) -> Visitor {
        let visitor = self.visitor();
        visitor.login(username, super::PASSWORD).await;
        visitor
    }

    /// Runs database code off the async workers.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> T + Send + 'static,
    ) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("pooled connection")))
            .await
            .expect("blocking task")
    }

    /// Waits until the requirement jobs the app started in the background have finished (a minute
    /// at most: a big job on a busy machine takes seconds).
    pub async fn wait_for_jobs(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let unfinished = self
                .with_db(|conn| orgsettings::models::job::unfinished(conn).expect("list jobs"))
                .await
                .len();
            if unfinished == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("requirement jobs still unfinished after 60 s");
    }

    /// Queries the app has run so far (all connections of its pool).
    pub fn queries(&self) -> u64 {
        db::query_count(&self.pool)
    }

    /// Another server on the same database, session store and key, like a second instance behind a
    /// load balancer.
    pub async fn second_instance(&self) -> SecondInstance {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let config = Config::for_url(url::Url::parse(&base).unwrap());
        let state = AppState::new(self.pool.clone(), config);
        let server = app::start(
            listener,
            state,
            self.sessions.clone(),
            self.key.clone(),
            Some(1),
        )
        .expect("start the second server");
        let handle = server.handle();
        tokio::spawn(server);
        SecondInstance { base, handle }
    }

    /// A client with no cookies, against the same server.
    pub fn new_client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // stop accepting; the runtime ends the rest when the test returns
        drop(self.handle.stop(false));
    }
}

pub struct SecondInstance {
    pub base: String,
    handle: ServerHandle,
}

impl SecondInstance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for SecondInstance {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
