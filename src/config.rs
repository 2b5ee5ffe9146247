//! Every setting in one place: its flag, environment variable, default and meaning. The README's
//! configuration table is this file in prose; keep them in step.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::db::{Backend, DatabaseUrl};

#[derive(Debug, Parser)]
#[command(
    name = "orgsettings",
    version,
    about = "Organization settings for self-hosted error monitoring",
    long_about = "Organization settings for self-hosted error monitoring: the general settings, trusted \
                  Relay keys, avatar, members and audit log of each organization, in the browser and \
                  through a Sentry-compatible JSON API."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database: `sqlite://PATH` (embedded, the default) or `postgres://USER:PASSWORD@HOST:PORT/DB`
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://orgsettings.db",
        global = true
    )]
    pub database_url: String,

    /// Log filter, e.g. `info`, `warn`, `orgsettings=debug,info`
    #[arg(long, env = "ORGSETTINGS_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the web app
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit
    Migrate,
    /// Create a user (the password is prompted for when not given)
    Createuser(CreateUserArgs),
    /// Create an organization owned by an existing user
    Createorg(CreateOrgArgs),
    /// Set a user's password (prompted for when not given); every session of theirs ends
    Setpassword(SetPasswordArgs),
    #[command(subcommand, about = "Manage Permissions for Users.")]
    Permissions(PermissionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// Add a permission to a superuser
    Add {
        /// Username, or email of the user
        #[arg(short = 'u', long = "user")]
        user: String,
        /// The permission: broadcasts.admin, options.admin or users.admin
        #[arg(short = 'p', long = "permission")]
        permission: String,
    },
    /// Remove a permission from a superuser
    Remove {
        #[arg(short = 'u', long = "user")]
        user: String,
        #[arg(short = 'p', long = "permission")]
        permission: String,
    },
    /// List a superuser's permissions
    List {
        #[arg(short = 'u', long = "user")]
        user: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on
    #[arg(long, env = "ORGSETTINGS_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Public base URL of the app, used in printed and emailed links [default: http://BIND]
    #[arg(long, env = "ORGSETTINGS_URL")]
    pub public_url: Option<url::Url>,

    /// Session key: 64 or more bytes. When unset, a key is generated on first start and kept in
    /// SESSION_KEY_FILE
    #[arg(long, env = "ORGSETTINGS_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,

    /// Where the generated session key is kept (mode 0600) [default: next to the SQLite database,
    /// `DB.session-key`; `orgsettings.session-key` in the working directory for PostgreSQL]
    #[arg(long, env = "ORGSETTINGS_SESSION_KEY_FILE")]
    pub session_key_file: Option<PathBuf>,

    /// This instance's secret (Sentry's `system.secret-key`), 32 or more characters: it signs the
    /// challenge a Relay answers when it registers. When unset, one is generated on first start and
    /// kept in SECRET_KEY_FILE
    #[arg(long, env = "ORGSETTINGS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Where the generated secret is kept (mode 0600) [default: next to the SQLite database,
    /// `DB.secret-key`; `orgsettings.secret-key` in the working directory for PostgreSQL]
    #[arg(long, env = "ORGSETTINGS_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Let any Relay register (Sentry's `SENTRY_RELAY_OPEN_REGISTRATION`). When false, only Relays
    /// whose public key an organization trusts, and static relays
    #[arg(long, env = "ORGSETTINGS_RELAY_OPEN_REGISTRATION", default_value_t = true, action = clap::ArgAction::Set)]
    pub relay_open_registration: bool,

    /// Static relays (Sentry's `relay.static_auth`), as JSON:
    /// `{"RELAY_ID": {"public_key": "KEY", "internal": true}}`. They need no registration
    #[arg(long, env = "ORGSETTINGS_RELAY_STATIC_AUTH", default_value = "")]
    pub relay_static_auth: String,

    /// Keep sessions in Redis (e.g. `redis://127.0.0.1:6379`) instead of the encrypted cookie, so
    /// several instances share them and a session can be ended on the server
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Mark the session cookie `Secure` (sent over HTTPS only) [default: true when the public URL is https]
    #[arg(long, env = "ORGSETTINGS_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,

    /// Reverse proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDR ranges
    /// (e.g. `127.0.0.1,10.0.0.0/8`). The client is the rightmost address that is not one of them.
    /// Empty: the connection's peer is the client, and `X-Forwarded-For` is ignored
    #[arg(long, env = "ORGSETTINGS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Replaced by ORGSETTINGS_TRUSTED_PROXIES; setting it is an error that says so
    #[arg(long, env = "ORGSETTINGS_TRUST_PROXY", hide = true)]
    pub trust_proxy: Option<String>,

    /// Failed password or code checks allowed per client address and per account within the
    /// window, before the next one is refused (429)
    #[arg(long, env = "ORGSETTINGS_LOGIN_MAX_FAILURES", default_value_t = 10)]
    pub login_max_failures: u32,

    /// Length of the failed-check window, in seconds
    #[arg(long, env = "ORGSETTINGS_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: u64,

    /// Feature switches on top of the defaults: `+name` on, `-name` off, comma-separated (known:
    /// organizations:relay, organizations:required-email-verification; both on by default)
    #[arg(long, env = "ORGSETTINGS_FEATURES", default_value = "")]
    pub features: String,

    /// Superuser mode ends after this many seconds without a request
    #[arg(long, env = "ORGSETTINGS_SUPERUSER_IDLE_SECS", default_value_t = 900)]
    pub superuser_idle_secs: u64,

    /// Superuser mode ends this many seconds after it was turned on, whatever happens
    #[arg(long, env = "ORGSETTINGS_SUPERUSER_MAX_SECS", default_value_t = 21_600)]
    pub superuser_max_secs: u64,

    /// SMTP server for outgoing email, e.g. `smtp://USER:PASSWORD@mail.example.com:587` (STARTTLS) or
    /// `smtps://…:465`. Without it emails stay in the outbox (readable at /manage/outbox/)
    #[arg(long, env = "ORGSETTINGS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The From address of outgoing email
    #[arg(
        long,
        env = "ORGSETTINGS_MAIL_FROM",
        default_value = "orgsettings@localhost"
    )]
    pub mail_from: String,

    /// Put before the subject of every email
    #[arg(
        long,
        env = "ORGSETTINGS_MAIL_SUBJECT_PREFIX",
        default_value = "[orgsettings]"
    )]
    pub mail_subject_prefix: String,

    /// Your terms of service; with --privacy-url, creating an organization asks to agree to both
    #[arg(long, env = "ORGSETTINGS_TERMS_URL")]
    pub terms_url: Option<url::Url>,

    /// Your privacy policy (see --terms-url)
    #[arg(long, env = "ORGSETTINGS_PRIVACY_URL")]
    pub privacy_url: Option<url::Url>,

    /// Maximum database connections in the pool [default: twice the number of CPUs, at least 4]
    #[arg(long, env = "ORGSETTINGS_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,

    /// HTTP worker threads [default: number of CPUs]
    #[arg(long, env = "ORGSETTINGS_WORKERS")]
    pub workers: Option<usize>,

    /// Fill an empty database with a demo organization and users, and print their logins
    #[arg(long)]
    pub demo: bool,
}

impl ServeArgs {
    /// The pool's size: as given, or twice the CPUs (at least 4). More connections than that make
    /// PostgreSQL's backends, the server and its clients contend for the same cores, and the tail
    /// grows (docs/architecture.md, "Where a request's time goes").
    pub fn pool_size(&self) -> u32 {
        self.db_pool_size.unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
            u32::try_from(cpus * 2).unwrap_or(u32::MAX).max(4)
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// The password; prompted for (twice) when not given
    #[arg(long, env = "ORGSETTINGS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Make the user an instance superuser
    #[arg(long)]
    pub superuser: bool,
    /// Mark the email address as verified
    #[arg(long)]
    pub email_verified: bool,
    /// Also add the user to this organization (slug)
    #[arg(long, requires = "role")]
    pub org: Option<String>,
    /// The role in --org: member, manager or owner
    #[arg(long, requires = "org")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SetPasswordArgs {
    /// Username, or email of the user
    #[arg(short = 'u', long = "user")]
    pub user: String,
    /// The new password; prompted for (twice) when not given
    #[arg(long, env = "ORGSETTINGS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CreateOrgArgs {
    #[arg(long)]
    pub name: String,
    /// Derived from the name when not given
    #[arg(long)]
    pub slug: Option<String>,
    /// Username or email of the owner
    #[arg(long)]
    pub owner: String,
}

/// A feature that can be switched on or off for the whole instance (Sentry's feature names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `organizations:relay`: trusted relays.
    Relay,
    /// `organizations:required-email-verification`: the requirement of a verified email.
    RequiredEmailVerification,
}

impl Feature {
    pub const ALL: [Feature; 2] = [Feature::Relay, Feature::RequiredEmailVerification];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Relay => "organizations:relay",
            Feature::RequiredEmailVerification => "organizations:required-email-verification",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Instance-wide feature switches (`ORGSETTINGS_FEATURES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    enabled: Vec<Feature>,
}

impl Features {
    /// Parses `+name,-name,name` on top of the defaults (every known feature on).
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut enabled: Vec<Feature> = Feature::ALL.to_vec();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (on, name) = match item.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, item.strip_prefix('+').unwrap_or(item)),
            };
            let Some(feature) = Feature::from_name(name) else {
                let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
                bail!(
                    "unknown feature `{name}` in ORGSETTINGS_FEATURES; known features: {}",
                    known.join(", ")
                );
            };
            enabled.retain(|f| *f != feature);
            if on {
                enabled.push(feature);
            }
        }
        Ok(Self { enabled })
    }

    pub fn has(&self, feature: Feature) -> bool {
        self.enabled.contains(&feature)
    }

    /// The features that are on, in Sentry's order.
    pub fn enabled(&self) -> impl Iterator<Item = Feature> + '_ {
        Feature::ALL.into_iter().filter(|f| self.has(*f))
    }
}

impl Default for Features {
    fn default() -> Self {
        Self {
            enabled: Feature::ALL.to_vec(),
        }
    }
}

/// How emails are sent and signed.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The `From:` address.
    pub from: String,
    /// Put before every subject (Sentry's `mail.subject-prefix`).
    pub subject_prefix: String,
    /// `smtp://USER:PASSWORD@HOST:587` (STARTTLS), `smtps://…:465`, or `None`: emails stay in the outbox.
    pub smtp_url: Option<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "orgsettings@localhost".into(),
            subject_prefix: "[orgsettings]".into(),
            smtp_url: None,
        }
    }
}

/// How many failed password or code checks a client address or an account may have within a window
/// (`ORGSETTINGS_LOGIN_MAX_FAILURES`, `ORGSETTINGS_LOGIN_WINDOW_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub max_failures: u32,
    pub window: Duration,
}

/// The reverse proxies in front of the app (`ORGSETTINGS_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses `addr,addr/len,…`; a bare address is a range of one.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut nets = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<ipnet::IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<std::net::IpAddr>() {
                    Ok(addr) => ipnet::IpNet::from(addr),
                    Err(_) => bail!(
                        "`{item}` in ORGSETTINGS_TRUSTED_PROXIES is neither an IP address nor a CIDR \
                         range such as 10.0.0.0/8"
                    ),
                },
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, addr: std::net::IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind the proxies: when the connection comes from a trusted proxy, the rightmost
    /// `X-Forwarded-For` address that is not a trusted proxy (the leftmost when all are); otherwise
    /// the peer itself. Entries left of the first one that does not parse are never believed.
    pub fn client(&self, peer: std::net::IpAddr, forwarded_for: &[&str]) -> std::net::IpAddr {
        if !self.contains(peer) {
            return canonical(peer);
        }
        let mut client = canonical(peer);
        let hops = forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Some(addr) = parse_hop(hop) else {
                break;
            };
            client = addr;
            if !self.contains(addr) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address seen as `::ffff:a.b.c.d` is the IPv4 address.
fn canonical(addr: std::net::IpAddr) -> std::net::IpAddr {
    match addr {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    let hop = hop.trim();
    if let Ok(addr) = hop.parse::<std::net::IpAddr>() {
        return Some(canonical(addr));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

/// The resolved settings the running app uses (built from [`ServeArgs`], or directly by tests).
#[derive(Debug, Clone)]
pub struct Config {
    pub public_url: url::Url,
    pub cookie_secure: bool,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Failed password or code checks allowed per client address and per account.
    pub login_throttle: LoginThrottle,
    pub features: Features,
    /// Superuser mode ends after this long without a request.
    pub superuser_idle: Duration,
    /// Superuser mode ends this long after it was turned on.
    pub superuser_max: Duration,
    pub mail: MailConfig,
    /// The terms of service and privacy policy a new organization's creator agrees to (Sentry's
    /// `TERMS_URL` and `PRIVACY_URL`: `agreeTerms` is asked only when both are set).
    pub terms: Option<Terms>,
    pub relay: RelayConfig,
}

/// A relay configured in `ORGSETTINGS_RELAY_STATIC_AUTH` (Sentry's `relay.static_auth`): it needs
/// no registration and leaves no usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticRelay {
    pub public_key: String,
    pub internal: bool,
}

/// Who may register as a Relay, and what signs the registration challenges.
#[derive(Clone)]
pub struct RelayConfig {
    /// Any relay may register; when off, only relays whose key an organization trusts, and
    /// static relays.
    pub open_registration: bool,
    pub static_relays: std::collections::HashMap<String, StaticRelay>,
    /// This instance's secret (Sentry's `system.secret-key`): the HMAC key of challenge tokens.
    pub secret: Vec<u8>,
}

impl fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConfig")
            .field("open_registration", &self.open_registration)
            .field("static_relays", &self.static_relays)
            .field("secret", &"***")
            .finish()
    }
}

impl RelayConfig {
    /// Open registration, no static relays, a random secret (a new instance's defaults).
    pub fn with_random_secret() -> Self {
        let mut secret = vec![0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Self {
            open_registration: true,
            static_relays: Default::default(),
            secret,
        }
    }

    /// `ORGSETTINGS_RELAY_STATIC_AUTH`: a JSON object of relay id → `{"public_key", "internal"}`.
    pub fn parse_static(
        text: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, StaticRelay>> {
        let mut relays = std::collections::HashMap::new();
        if text.trim().is_empty() {
            return Ok(relays);
        }
        let value: serde_json::Value =
            serde_json::from_str(text).context("ORGSETTINGS_RELAY_STATIC_AUTH is not JSON")?;
        let Some(object) = value.as_object() else {
            bail!(
                "ORGSETTINGS_RELAY_STATIC_AUTH must be a JSON object of relay id → {{\"public_key\": …}}"
            );
        };
        for (id, info) in object {
            let Some(public_key) = info.get("public_key").and_then(|k| k.as_str()) else {
                bail!("ORGSETTINGS_RELAY_STATIC_AUTH: relay {id} has no \"public_key\"");
            };
            relays.insert(
                id.clone(),
                StaticRelay {
                    public_key: public_key.to_owned(),
                    internal: info.get("internal").and_then(|i| i.as_bool()) == Some(true),
                },
            );
        }
        Ok(relays)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub terms_url: url::Url,
    pub privacy_url: url::Url,
}

impl Config {
    /// Defaults for a server reachable at `public_url`.
    pub fn for_url(public_url: url::Url) -> Self {
        Self {
            cookie_secure: public_url.scheme() == "https",
            public_url,
            trusted_proxies: TrustedProxies::default(),
            login_throttle: LoginThrottle {
                max_failures: 10,
                window: Duration::from_secs(900),
            },
            features: Features::default(),
            superuser_idle: Duration::from_secs(15 * 60),
            superuser_max: Duration::from_secs(6 * 3600),
            mail: MailConfig::default(),
            terms: None,
            relay: RelayConfig::with_random_secret(),
        }
    }

    /// The settings of `serve`, for a server listening on `bound`.
    pub fn from_args(args: &ServeArgs, bound: SocketAddr) -> anyhow::Result<Self> {
        let public_url = match &args.public_url {
            Some(url) => url.clone(),
            None => url::Url::parse(&format!("http://{bound}/"))
                .with_context(|| format!("making a URL of the bind address {bound}"))?,
        };
        let mut config = Self::for_url(public_url);
        if let Some(secure) = args.cookie_secure {
            config.cookie_secure = secure;
        }
        if args.trust_proxy.is_some() {
            bail!(
                "ORGSETTINGS_TRUST_PROXY is gone: list your reverse proxies in ORGSETTINGS_TRUSTED_PROXIES \
                 instead (addresses or CIDR ranges, e.g. ORGSETTINGS_TRUSTED_PROXIES=127.0.0.1), so a \
                 client cannot choose its own address with X-Forwarded-For"
            );
        }
        config.trusted_proxies = TrustedProxies::parse(&args.trusted_proxies)?;
        config.login_throttle = LoginThrottle {
            max_failures: args.login_max_failures.max(1),
            window: Duration::from_secs(args.login_window_secs.max(1)),
        };
        config.features = Features::parse(&args.features)?;
        config.superuser_idle = Duration::from_secs(args.superuser_idle_secs.max(1));
        config.superuser_max = Duration::from_secs(args.superuser_max_secs.max(1));
        config.mail = MailConfig {
            from: args.mail_from.clone(),
            subject_prefix: args.mail_subject_prefix.clone(),
            smtp_url: args.smtp_url.clone().filter(|url| !url.trim().is_empty()),
        };
        config.terms = match (&args.terms_url, &args.privacy_url) {
            (Some(terms_url), Some(privacy_url)) => Some(Terms {
                terms_url: terms_url.clone(),
                privacy_url: privacy_url.clone(),
            }),
            (None, None) => None,
            _ => bail!(
                "ORGSETTINGS_TERMS_URL and ORGSETTINGS_PRIVACY_URL go together: set both (new \
                 organizations then ask to agree to them) or neither"
            ),
        };
        config.relay.open_registration = args.relay_open_registration;
        config.relay.static_relays = RelayConfig::parse_static(&args.relay_static_auth)?;
        Ok(config)
    }

    /// An absolute link to a path of this app.
    pub fn absolute_url(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

/// The session key: the configured one, or the one kept in the key file (generated on first start).
pub fn session_key(args: &ServeArgs, db: &DatabaseUrl) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &args.session_key {
        if key.len() < 64 {
            bail!(
                "ORGSETTINGS_SESSION_KEY is {} bytes long; it must have at least 64 (e.g. `openssl rand -base64 64`)",
                key.len()
            );
        }
        return Ok(key.as_bytes().to_vec());
    }
    let path = match &args.session_key_file {
        Some(path) => path.clone(),
        None => default_key_file(db, "session-key"),
    };
    load_or_create_key_file(&path)
}

/// The instance secret: the configured one, or the one kept in its file (generated on first start).
pub fn secret_key(args: &ServeArgs, db: &DatabaseUrl) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &args.secret_key {
        if key.chars().count() < 32 {
            bail!(
                "ORGSETTINGS_SECRET_KEY is {} characters long; it must have at least 32",
                key.chars().count()
            );
        }
        return Ok(key.as_bytes().to_vec());
    }
    let path = match &args.secret_key_file {
        Some(path) => path.clone(),
        None => default_key_file(db, "secret-key"),
    };
    load_or_create_key_file(&path)
}

fn default_key_file(db: &DatabaseUrl, suffix: &str) -> PathBuf {
    match (db.backend(), db.sqlite_path()) {
        (Backend::Sqlite, Some(path)) => {
            let path = Path::new(path.strip_prefix("file:").unwrap_or(path));
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{suffix}"));
            path.with_file_name(name)
        }
        _ => PathBuf::from(format!("orgsettings.{suffix}")),
    }
}

/// Reads the key file, or creates it with 64 random bytes (base64) and mode 0600.
pub fn load_or_create_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = STANDARD
                .decode(text.trim())
                .with_context(|| format!("key file {} is not base64", path.display()))?;
            if key.len() < 64 {
                bail!(
                    "key file {} holds {} bytes; it needs at least 64",
                    path.display(),
                    key.len()
                );
            }
            Ok(key)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 64];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating key file {}", path.display()))?;
            writeln!(file, "{}", STANDARD.encode(&key))
                .with_context(|| format!("writing key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new key file");
            Ok(key)
        }
        Err(err) => Err(err).with_context(|| format!("reading key file {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_default_on_and_can_be_switched_off_and_on() {
        let defaults = Features::parse("").unwrap();
        assert!(defaults.has(Feature::Relay));
        assert!(defaults.has(Feature::RequiredEmailVerification));
        let off = Features::parse("-organizations:relay").unwrap();
        assert!(!off.has(Feature::Relay));
        assert!(off.has(Feature::RequiredEmailVerification));
        let back = Features::parse("-organizations:relay, +organizations:relay").unwrap();
        assert!(back.has(Feature::Relay));
    }

    #[test]
    fn unknown_features_are_refused_with_the_known_list() {
        let err = Features::parse("+organizations:rleay")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown feature `organizations:rleay`"),
            "{err}"
        );
        assert!(err.contains("organizations:relay"), "{err}");
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        use clap::Parser;
        let cli = Cli::try_parse_from(["orgsettings", "serve"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Serve(args) => *args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn the_pool_is_twice_the_cpus_and_at_least_four_unless_given() {
        let cpus = std::thread::available_parallelism().unwrap().get() as u32;
        // the environment may set it; the flag wins over it
        assert_eq!(serve_args(&["--db-pool-size", "7"]).pool_size(), 7);
        let mut args = serve_args(&[]);
        args.db_pool_size = None;
        assert_eq!(args.pool_size(), (cpus * 2).max(4));
    }

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::parse("").unwrap();
        assert_eq!(
            none.client(ip("198.51.100.9"), &["203.0.113.7"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // the client put a fake address first; the proxy appended the real one
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["6.6.6.6, 203.0.113.7"]),
            ip("203.0.113.7")
        );
        // two trusted hops, over two headers
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["6.6.6.6, 203.0.113.7", "10.9.9.9"]),
            ip("203.0.113.7")
        );
        // only proxies: the leftmost
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["10.0.0.5"]),
            ip("10.0.0.5")
        );
        // garbage is never believed, nor anything left of it
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["6.6.6.6, not-an-ip"]),
            ip("127.0.0.1")
        );
        // ports and brackets are stripped
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        // a connection from elsewhere is not a proxy: its header is ignored
        assert_eq!(
            proxies.client(ip("192.0.2.1"), &["203.0.113.7"]),
            ip("192.0.2.1")
        );
        // IPv4 seen through an IPv6 socket
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &["203.0.113.7"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn trusted_proxies_refuse_what_is_not_an_address_or_range() {
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(err.to_string().contains("`proxy.local`"), "{err}");
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back_unchanged() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.session-key");
        let first = load_or_create_key_file(&path).unwrap();
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create_key_file(&path).unwrap(), first);
    }

    #[test]
    fn the_default_key_file_sits_next_to_the_sqlite_database() {
        let db = DatabaseUrl::parse("sqlite://data/app.db").unwrap();
        assert_eq!(
            default_key_file(&db, "session-key"),
            PathBuf::from("data/app.db.session-key")
        );
    }
}
