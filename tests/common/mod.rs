//! Test harness: spawns the real app on a random port with a fresh database (a temporary SQLite file,
//! or a new PostgreSQL database), and a cookie-keeping HTTP client that does not follow redirects.
//!
//! Services: PostgreSQL at `ORGSETTINGS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! Redis at `ORGSETTINGS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). When one is missing the
//! test prints SKIP and passes, unless `ORGSETTINGS_REQUIRE_SERVICES=1`, which makes it fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod images;

use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use orgsettings::app::{self, AppState, Sessions};
use orgsettings::config::Config;
use orgsettings::db::{self, AnyConnection, DatabaseUrl, Pool};
use orgsettings::models::actor::Actor;
use orgsettings::models::member::Member;
use orgsettings::models::organization::{OrgName, Organization};
use orgsettings::models::role::Role;
use orgsettings::models::slug::Slug;
use orgsettings::models::user::{EmailAddress, NewUser, Password, User, Username};
use reqwest::StatusCode;

pub use orgsettings::db::Backend;

pub const PASSWORD: &str = "correct horse battery";

/// Generates one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) =
                        $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await
                    else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

pub fn require_services() -> bool {
    std::env::var("ORGSETTINGS_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// Says why a test cannot run: SKIP (pass) normally, a failure when services are required.
pub fn skip(what: &str, why: &str) {
    if require_services() {
        panic!("{what} is required (ORGSETTINGS_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    eprintln!("SKIP: {what} unavailable: {why}");
}

pub fn pg_admin_url() -> String {
    std::env::var("ORGSETTINGS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("ORGSETTINGS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh database for one test; removed when dropped.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

static PG_COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// `None` (after SKIP) when PostgreSQL is not reachable.
    pub fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(TestDb::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let mut admin = match PgConnection::establish(&admin_url) {
                    Ok(conn) => conn,
                    Err(err) => {
                        skip("PostgreSQL", &format!("{admin_url}: {err}"));
                        return None;
                    }
                };
                let name = format!(
                    "orgsettings_test_{}_{}_{}",
                    std::process::id(),
                    PG_COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand_suffix()
                );
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("PG URL");
                url.set_path(&name);
                Some(TestDb::Postgres {
                    admin_url,
                    name,
                    url: url.to_string(),
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> Pool {
        let url = DatabaseUrl::parse(self.url()).expect("test database URL");
        let pool = db::connect(&url, 8).expect("connect to the test database");
        db::migrate(&pool, &url).expect("migrate the test database");
        pool
    }

    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            TestDb::Sqlite { dir, .. } => Some(dir.path()),
            TestDb::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

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
        let server = app::start(listener, state, sessions.clone(), key.clone(), Some(2))
            .expect("start server");
        let handle = server.handle();
        tokio::spawn(server);
        Some(TestApp {
            visitor: Visitor::new(&base),
            base,
            pool,
            backend: options.backend,
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

    /// `owner`, owning the organization Acme (`acme`), logged in as the default visitor.
    pub async fn owner_of_acme(&self) -> (User, Organization) {
        let owner = self.create_user("owner").await;
        let org = self.create_org(&owner, "Acme", "acme").await;
        self.login("owner", PASSWORD).await;
        (owner, org)
    }

    /// Another browser: its own cookies and session.
    pub fn visitor(&self) -> Visitor {
        Visitor::new(&self.base)
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

    /// Waits until the requirement jobs the app started in the background have finished.
    pub async fn wait_for_jobs(&self) {
        for _ in 0..200 {
            let unfinished = self
                .with_db(|conn| orgsettings::models::job::unfinished(conn).expect("list jobs"))
                .await
                .len();
            if unfinished == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("requirement jobs still unfinished after 5 s");
    }

    /// Queries the app has run so far (all connections of its pool).
    pub fn queries(&self) -> u64 {
        db::query_count(&self.pool)
    }

    pub async fn create_user(&self, username: &str) -> User {
        self.create_user_with(username, false).await
    }

    pub async fn create_user_with(&self, username: &str, superuser: bool) -> User {
        let new_user = NewUser {
            username: Username::parse(username).unwrap(),
            email: EmailAddress::parse(&format!("{username}@example.com")).unwrap(),
            password: Some(Password::parse(PASSWORD).unwrap()),
            is_superuser: superuser,
            email_verified: true,
        };
        self.with_db(move |conn| User::create(conn, &new_user).expect("create user"))
            .await
    }

    pub async fn create_org(&self, owner: &User, name: &str, slug: &str) -> Organization {
        let owner = owner.clone();
        let name = OrgName::parse(name).unwrap();
        let slug = Slug::parse(slug).unwrap();
        self.with_db(move |conn| {
            Organization::create(conn, &name, Some(&slug), &owner, &Actor::cli())
                .expect("create org")
        })
        .await
    }

    pub async fn add_member(&self, org: &Organization, user: &User, role: Role) {
        let (org_id, user_id) = (org.id, user.id);
        self.with_db(move |conn| {
            Member::add_user(conn, org_id, user_id, role).expect("add member")
        })
        .await;
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

/// A browser: its own cookie jar and the CSRF token of the last page it loaded. Redirects are not
/// followed, so tests see them.
pub struct Visitor {
    pub base: String,
    pub client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    csrf: Mutex<String>,
}

impl Visitor {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self {
            base: base.to_owned(),
            client,
            jar,
            csrf: Mutex::new(String::new()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET; remembers the page's CSRF token.
    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        self.page(response).await
    }

    async fn page(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.expect("body");
        if let Some(token) = meta_csrf(&body) {
            *self.csrf.lock().unwrap() = token;
        }
        Page {
            status,
            location,
            body,
        }
    }

    /// The CSRF token of the last page fetched (fetching `/login` when none was).
    pub async fn csrf_token(&self) -> String {
        let token = self.csrf.lock().unwrap().clone();
        if !token.is_empty() {
            return token;
        }
        self.get("/login").await;
        self.csrf.lock().unwrap().clone()
    }

    /// POSTs a form with the session's CSRF token, as a browser would after loading the page.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_form_with_headers(path, fields, &[]).await
    }

    /// The same, with extra request headers (`X-Forwarded-For` from a proxy, say).
    pub async fn post_form_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let token = self.csrf_token().await;
        let mut body: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        body.extend_from_slice(fields);
        let mut request = self.client.post(self.url(path)).form(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("POST");
        self.page(response).await
    }

    /// Loads the form page (for its token), then submits the form to the same path.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(path).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "GET {path} before submitting: {}",
            page.body
        );
        self.post_form(path, fields).await
    }

    /// Logs in through the login form and loads the landing page (which carries the new token).
    pub async fn login(&self, username: &str, password: &str) {
        self.get("/login").await;
        let page = self
            .post_form("/login", &[("username", username), ("password", password)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "login as {username} failed: {}",
            page.body
        );
        self.get("/organizations/").await;
    }

    /// Loads the page, fills its form as a browser would (every enabled field with what it shows),
    /// applies the edits, and submits it to the form's action.
    pub async fn submit_form(&self, path: &str, edits: &[Edit]) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {}", page.body);
        self.resubmit(&page, path, edits).await
    }

    /// Submits the form of an already loaded page (e.g. one that came back with errors).
    pub async fn resubmit(&self, page: &Page, action: &str, edits: &[Edit]) -> Page {
        let mut fields = page.form_fields(action);
        for edit in edits {
            match edit {
                Edit::Set(name, value) => {
                    fields.retain(|(n, _)| n != name);
                    fields.push(((*name).to_owned(), (*value).to_owned()));
                }
                Edit::Uncheck(name) => fields.retain(|(n, _)| n != name),
            }
        }
        let response = self
            .client
            .post(self.url(action))
            .form(&fields)
            .send()
            .await
            .expect("POST");
        self.page(response).await
    }

    /// Uploads an avatar through the avatar page's multipart form (with the session's CSRF token).
    pub async fn upload_avatar(
        &self,
        slug: &str,
        avatar_type: &str,
        file: Option<Vec<u8>>,
    ) -> Page {
        let path = format!("/settings/{slug}/avatar/");
        self.get(&path).await;
        let token = self.csrf_token().await;
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .text("avatarType", avatar_type.to_owned());
        form = match file {
            Some(bytes) => form.part(
                "avatar",
                reqwest::multipart::Part::bytes(bytes).file_name("avatar.png"),
            ),
            None => form.part(
                "avatar",
                reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
            ),
        };
        let response = self
            .client
            .post(self.url(&path))
            .multipart(form)
            .send()
            .await
            .expect("upload");
        self.page(response).await
    }

    /// A JSON API call with the session's CSRF token in `X-CSRFToken`; returns status and body.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let token = self.csrf_token().await;
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("X-CSRFToken", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn api_get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        self.api(reqwest::Method::GET, path, None).await
    }

    pub async fn api_put(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.api(reqwest::Method::PUT, path, Some(body)).await
    }

    /// The value of the session cookie, as the client holds it.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&self.base).ok()?;
        let header = self.jar.cookies(&url)?;
        let prefix = format!("{}=", orgsettings::web::session::SESSION_COOKIE);
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix(prefix.as_str()))
            .map(str::to_owned)
    }

    /// Replaces the client's session cookie (to replay an old one).
    pub fn set_session_cookie(&self, value: &str) {
        let url = url::Url::parse(&self.base).unwrap();
        self.jar.add_cookie_str(
            &format!(
                "{}={value}; Path=/",
                orgsettings::web::session::SESSION_COOKIE
            ),
            &url,
        );
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

/// A response, read.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The error message shown next to a form field (`<p class="error" id="error_FIELD">`).
    pub fn field_error(&self, field: &str) -> Option<String> {
        let marker = format!("id=\"error_{field}\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find("</p>")? + start;
        Some(unescape(&self.body[start..end]))
    }

    /// The value of an input, as rendered.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = self.body[at..].find('>')? + at;
        let tag = &self.body[tag_start..tag_end];
        let value_at = tag.find("value=\"")? + "value=\"".len();
        let value_end = tag[value_at..].find('"')? + value_at;
        Some(unescape(&tag[value_at..value_end]))
    }

    pub fn contains(&self, text: &str) -> bool {
        unescape(&self.body).contains(text)
    }

    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect: {}",
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(to));
    }
}

/// A change to a form before it is submitted.
pub enum Edit {
    Set(&'static str, &'static str),
    Uncheck(&'static str),
}

impl Page {
    /// What a browser would submit for the form whose action is `action`: enabled inputs (checked
    /// checkboxes only), selected options and textareas.
    pub fn form_fields(&self, action: &str) -> Vec<(String, String)> {
        let start = self
            .body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posting to {action}: {}", self.body));
        let end = self.body[start..].find("</form>").expect("end of form") + start;
        let form = &self.body[start..end];
        let tag = regex::Regex::new(r#"(?s)<(input|select|textarea)\b([^>]*)>"#).unwrap();
        let attr = |attrs: &str, name: &str| -> Option<String> {
            let re = regex::Regex::new(&format!(r#"\b{name}="([^"]*)""#)).unwrap();
            re.captures(attrs).map(|c| unescape(&c[1]))
        };
        let flag = |attrs: &str, name: &str| {
            regex::Regex::new(&format!(r"\s{name}(\s|$|>|/)"))
                .unwrap()
                .is_match(attrs)
        };
        let option = regex::Regex::new(r#"<option value="([^"]*)"( selected)?"#).unwrap();
        let mut fields = Vec::new();
        for caps in tag.captures_iter(form) {
            let (kind, attrs) = (&caps[1], &caps[2]);
            let Some(name) = attr(attrs, "name") else {
                continue;
            };
            if flag(attrs, "disabled") {
                continue;
            }
            let after = caps.get(0).unwrap().end();
            match kind {
                "input" => {
                    let ty = attr(attrs, "type").unwrap_or_else(|| "text".into());
                    if ty == "checkbox" && !flag(attrs, "checked") {
                        continue;
                    }
                    fields.push((name, attr(attrs, "value").unwrap_or_default()));
                }
                "textarea" => {
                    let close = form[after..].find("</textarea>").unwrap() + after;
                    fields.push((name, unescape(&form[after..close])));
                }
                _ => {
                    let close = form[after..].find("</select>").unwrap() + after;
                    let options = &form[after..close];
                    let all: Vec<_> = option.captures_iter(options).collect();
                    let chosen = all.iter().find(|c| c.get(2).is_some()).or(all.first());
                    if let Some(c) = chosen {
                        fields.push((name, unescape(&c[1])));
                    }
                }
            }
        }
        fields
    }

    /// Whether the input named `name` is rendered disabled.
    pub fn is_disabled(&self, name: &str) -> bool {
        let re = regex::Regex::new(&format!(
            r#"<(input|select|textarea)[^>]*name="{name}"[^>]*>"#
        ))
        .unwrap();
        re.find(&self.body)
            .is_some_and(|m| m.as_str().contains(" disabled"))
    }

    /// Whether the checkbox named `name` is rendered checked.
    pub fn is_checked(&self, name: &str) -> bool {
        let re = regex::Regex::new(&format!(r#"<input[^>]*name="{name}"[^>]*>"#)).unwrap();
        re.find(&self.body)
            .is_some_and(|m| m.as_str().contains(" checked"))
    }

    /// The text of a textarea.
    pub fn textarea(&self, name: &str) -> Option<String> {
        let re = regex::Regex::new(&format!(
            r#"(?s)<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>"#
        ))
        .unwrap();
        re.captures(&self.body).map(|c| unescape(&c[1]))
    }

    /// The selected option of a select.
    pub fn selected(&self, name: &str) -> Option<String> {
        let re = regex::Regex::new(&format!(
            r#"(?s)<select[^>]*name="{name}"[^>]*>(.*?)</select>"#
        ))
        .unwrap();
        let options = re.captures(&self.body)?.get(1)?.as_str().to_owned();
        let option = regex::Regex::new(r#"<option value="([^"]*)" selected"#).unwrap();
        option.captures(&options).map(|c| unescape(&c[1]))
    }
}

/// The audit entries of an organization, oldest first: (event api name, data).
pub async fn audit_entries(app: &TestApp, org_id: i64) -> Vec<(String, serde_json::Value)> {
    use orgsettings::models::audit::{AuditEntry, AuditQuery};
    let mut entries = app
        .with_db(move |conn| AuditEntry::list(conn, org_id, AuditQuery::default()).unwrap())
        .await;
    entries.reverse();
    entries
        .into_iter()
        .map(|e| {
            (
                e.event()
                    .map(|ev| ev.api_name().to_owned())
                    .unwrap_or_default(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect()
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let marker = "<meta name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    let token = &html[start..end];
    (!token.is_empty()).then(|| token.to_owned())
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Generates one plain (non-HTTP) test per backend from `fn name(db: TestDb)`.
#[macro_export]
macro_rules! db_test_on_both_backends {
    ($( $(#[$meta:meta])* fn $name:ident($db:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($db: $crate::common::TestDb) $body

                #[test]
                fn sqlite() {
                    run($crate::common::TestDb::create($crate::common::Backend::Sqlite).expect("SQLite"));
                }

                #[test]
                fn postgres() {
                    if let Some(db) = $crate::common::TestDb::create($crate::common::Backend::Postgres) {
                        run(db);
                    }
                }
            }
        )*
    };
}

/// The outbox, oldest first.
pub async fn outbox(app: &TestApp) -> Vec<orgsettings::models::email::Email> {
    let (mut emails, _) = app
        .with_db(|conn| orgsettings::models::email::list(conn, false, 0, 1000).unwrap())
        .await;
    emails.reverse();
    emails
}

/// The first link to this app in a text, as a path.
pub fn link_in(text: &str, base: &str, prefix: &str) -> Option<String> {
    let start = text.find(&format!("{base}{prefix}"))? + base.len();
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |n| start + n);
    Some(text[start..end].to_owned())
}

/// Turns on TOTP for a user directly; returns the secret (codes come from `totp_code`).
pub async fn enrol_totp(app: &TestApp, user: &User) -> String {
    let secret = orgsettings::auth::two_factor::new_secret();
    let code = totp_code(&secret);
    let (user, stored) = (user.clone(), secret.clone());
    let enrolled = app
        .with_db(move |conn| {
            orgsettings::auth::two_factor::enrol(conn, &user, &stored, &code).unwrap()
        })
        .await;
    assert!(enrolled.is_some());
    secret
}

/// The current TOTP code of a secret.
pub fn totp_code(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    orgsettings::auth::two_factor::code_at(secret, now).unwrap()
}

/// The code of the next time step (a code not used yet, for a second login in the same 30 s).
pub fn next_totp_code(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    orgsettings::auth::two_factor::code_at(secret, now + 30).unwrap()
}

/// Marks a user's primary email unverified.
pub async fn unverify(app: &TestApp, user: &User) {
    let id = user.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::user_emails;
        diesel::update(user_emails::table.filter(user_emails::user_id.eq(id)))
            .set(user_emails::is_verified.eq(false))
            .execute(conn)
            .unwrap();
    })
    .await;
}

/// `n` distinct valid Relay public keys (Ed25519, URL-safe base64 without padding), made from seeds.
pub fn relay_keys(n: usize) -> Vec<String> {
    use base64::Engine;
    (0..n)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
        })
        .collect()
}

/// Everything a request could change that matters, as text rows per table: the state before and
/// after a refused request must be equal. Sessions, rate-limit events and last-login times are left
/// out (they change on every attempt by design).
pub async fn snapshot(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    const TABLES: &[(&str, &str)] = &[
        (
            "users",
            "username, name, email, password_hash, is_active, is_superuser, session_version",
        ),
        (
            "user_emails",
            "user_id, email, is_verified, validation_hash",
        ),
        ("user_permissions", "user_id, permission"),
        (
            "organizations",
            "name, slug, status, flags, default_role, deletion_scheduled_at",
        ),
        (
            "organization_members",
            "organization_id, user_id, email, role, token, token_expires_at",
        ),
        ("organization_options", "organization_id, key, value"),
        ("organization_slug_redirects", "slug, organization_id"),
        ("files", "name, size"),
        (
            "organization_avatars",
            "organization_id, avatar_type, file_id, ident",
        ),
        (
            "audit_log_entries",
            "organization_id, actor_label, event, data",
        ),
        ("instance_audit_entries", "actor_label, event, data"),
        ("authenticators", "user_id, kind, config, last_step"),
        ("emails", "to_address, subject, kind"),
        ("jobs", "kind, organization_id, finished_at"),
        ("setup_tokens", "token"),
    ];
    app.with_db(|conn| {
        let mut rows = Vec::new();
        for (table, columns) in TABLES {
            let concat = columns
                .split(", ")
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let query = format!(
                "SELECT CAST(id AS TEXT) || ':' || {concat} AS row FROM {table} ORDER BY id"
            );
            let found: Vec<Row> = diesel::sql_query(query).load(conn).expect("snapshot");
            rows.extend(found.into_iter().map(|r| format!("{table} {}", r.row)));
        }
        rows
    })
    .await
}

impl Visitor {
    /// POSTs a multipart form (text fields and one file field) with the session's CSRF token.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, Vec<u8>),
    ) -> Page {
        let token = self.csrf_token().await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part(
            file.0.to_owned(),
            reqwest::multipart::Part::bytes(file.1).file_name("upload.png"),
        );
        let response = self
            .client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .expect("multipart POST");
        self.page(response).await
    }
}
