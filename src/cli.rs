//! The subcommands of `orgsettings`. Each opens the database named by `DATABASE_URL` /
//! `--database-url`, applies pending migrations, and does its one job. Errors come back as one line.

use std::net::TcpListener;

use actix_web::cookie::Key;
use anyhow::{Context, bail};
use tracing_subscriber::EnvFilter;

use crate::accounts::{self, PermissionChange};
use crate::app::{self, AppState, Sessions};
use crate::config::{
    self, Cli, Command, Config, CreateOrgArgs, CreateUserArgs, GlobalArgs, PermissionsCommand,
    ServeArgs, SetPasswordArgs,
};
use crate::db::{self, AnyConnection, DatabaseUrl, Pool, write_tx};
use crate::demo;
use crate::errors::{DomainError, FieldErrors};
use crate::models::actor::Actor;
use crate::models::member::Member;
use crate::models::organization::{OrgName, Organization};
use crate::models::permission;
use crate::models::role::Role;
use crate::models::setup;
use crate::models::slug::Slug;
use crate::models::user::{NewUser, Password, SignUp, User};

/// Logs go to stderr, one line per event; the filter comes from `--log` / `ORGSETTINGS_LOG`.
pub fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.global, *args),
        Command::Migrate => {
            let url = DatabaseUrl::parse(&cli.global.database_url)?;
            let pool = db::connect(&url, 1)?;
            match migrate(&pool, &url)? {
                0 => println!("No migrations to apply; {url} is up to date."),
                n => println!("Applied {n} migration(s) to {url}."),
            }
            Ok(())
        }
        Command::Createuser(args) => create_user(&open(&cli.global)?, args),
        Command::Createorg(args) => create_org(&open(&cli.global)?, args),
        Command::Setpassword(args) => set_password(&open(&cli.global)?, args),
        Command::Permissions(command) => permissions(&open(&cli.global)?, command),
    }
}

/// Sentry's `user_param_to_user`: one user with a usable password, matched by username (any case)
/// or by email, who must be a superuser.
fn user_param_to_user(conn: &mut AnyConnection, value: &str) -> anyhow::Result<User> {
    let mut users = User::find_users(conn, value)?;
    let user = match users.len() {
        0 => bail!("No user matching `{value}`"),
        1 => users.remove(0),
        _ => bail!("Found more than one user matching `{value}`"),
    };
    if !user.is_superuser {
        bail!("User `{}` does not have superuser status", user.username);
    }
    Ok(user)
}

/// `orgsettings permissions add|remove|list` (docs/compatibility.md, "Permissions command").
fn permissions(pool: &Pool, command: PermissionsCommand) -> anyhow::Result<()> {
    let mut conn = pool.get().context("getting a database connection")?;
    let (user_param, change) = match &command {
        PermissionsCommand::Add { user, permission } => (user, Some((permission, true))),
        PermissionsCommand::Remove { user, permission } => (user, Some((permission, false))),
        PermissionsCommand::List { user } => (user, None),
    };
    let user = user_param_to_user(&mut conn, user_param)?;
    let Some((permission, add)) = change else {
        println!("Permissions for `{}`:", user.username);
        for permission in permission::list(&mut conn, user.id)? {
            println!("- {permission}");
        }
        return Ok(());
    };
    let outcome =
        match accounts::change_permission(&mut conn, &Actor::cli(), &user, permission, add) {
            Ok(outcome) => outcome,
            Err(DomainError::Refused(message)) => bail!("{message}"),
            Err(other) => return Err(other.into()),
        };
    let name = &user.username;
    match (add, outcome) {
        (true, PermissionChange::Done) => println!("Added permission `{permission}` to `{name}`"),
        (true, PermissionChange::Unchanged) => println!("Permission already exists for `{name}`"),
        (false, PermissionChange::Done) => {
            println!("Removed permission `{permission}` from `{name}`")
        }
        (false, PermissionChange::Unchanged) => println!("Permission does not exist for `{name}`"),
    }
    Ok(())
}

/// Connects (failing fast with the cause) and migrates.
fn open(global: &GlobalArgs) -> anyhow::Result<Pool> {
    let url = DatabaseUrl::parse(&global.database_url)?;
    let pool = db::connect(&url, 2)?;
    migrate(&pool, &url)?;
    Ok(pool)
}

/// The migration that stored normalized email addresses (computed in SQL for old rows).
const NORMALIZED_EMAILS: &str = "20261201000006";

/// Applies pending migrations, then the data changes that need Rust: after the migration that
/// added normalized email columns, every stored address is normalized again with
/// [`crate::models::user::normalize_email`] (SQL's `lower()` left non-ASCII letters as they were).
/// Returns how many migrations ran.
fn migrate(pool: &Pool, url: &DatabaseUrl) -> anyhow::Result<usize> {
    let applied = db::migrate(pool, url)?;
    if applied.iter().any(|version| version == NORMALIZED_EMAILS) {
        let mut conn = pool.get().context("getting a database connection")?;
        let changed = crate::models::user::normalize_stored_emails(&mut conn)
            .context("normalizing the stored email addresses")?;
        tracing::info!(changed, "normalized stored email addresses");
    }
    Ok(applied.len())
}

fn serve(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&global.database_url)?;
    let pool = db::connect(&url, args.pool_size())?;
    let applied = migrate(&pool, &url)?;
    tracing::info!(database = %url, migrations_applied = applied, "database ready");
    let listener =
        TcpListener::bind(args.bind).with_context(|| format!("cannot listen on {}", args.bind))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let mut config = Config::from_args(&args, bound)?;
    config.relay.secret = config::secret_key(&args, &url)?;
    let key = config::session_key(&args, &url)?;
    let key = Key::try_from(key.as_slice()).context("the session key is too short")?;
    if args.demo {
        print_demo(&pool, &config)?;
    }
    let mut conn = pool.get().context("getting a database connection")?;
    if let Some(token) = setup::issue_if_empty(&mut conn)? {
        println!(
            "\nThis instance has no users yet. Open this one-time link to create the first superuser \
             and organization:\n\n    {}\n",
            config.absolute_url(&format!("/setup/{token}/"))
        );
    }
    drop(conn);
    println!(
        "orgsettings is serving {} (listening on {bound})",
        config.public_url
    );
    actix_web::rt::System::new().block_on(async move {
        let sessions = match &args.redis_url {
            Some(redis) => Sessions::redis(redis).await?,
            None => Sessions::Database(pool.clone()),
        };
        let smtp = match &config.mail.smtp_url {
            Some(url) => Some(crate::mail::sender::transport(url)?),
            None => {
                println!("No SMTP server configured (ORGSETTINGS_SMTP_URL): emails stay in the outbox, readable at /manage/outbox/.");
                None
            }
        };
        let state = AppState::new(pool.clone(), config);
        actix_web::rt::spawn(crate::jobs::run(pool.clone(), state.config.clone()));
        if let Some(smtp) = smtp {
            actix_web::rt::spawn(crate::mail::sender::run(pool, state.config.mail.clone(), smtp));
        }
        app::start(listener, state, sessions, key, args.workers)?
            .await
            .context("the HTTP server stopped with an error")
    })
}

fn print_demo(pool: &Pool, config: &Config) -> anyhow::Result<()> {
    let mut conn = pool.get().context("getting a database connection")?;
    match demo::fill(&mut conn)? {
        None => println!("--demo: the database already has users; no demo data added."),
        Some(logins) => {
            println!(
                "\nDemo data created: organization `{}`. Log in at {} as:\n",
                demo::ORG_SLUG,
                config.absolute_url("/login")
            );
            for login in logins {
                println!(
                    "    {:<10} {:<24} {}",
                    login.username, login.password, login.note
                );
            }
            println!(
                "\nThese passwords are shown only this once (only their hashes are stored). \
                 Lost one? `orgsettings setpassword -u USER` sets a new one.\n"
            );
        }
    }
    Ok(())
}

/// The password from the flag, or asked for twice on the terminal.
/// The password given on the command line (or in `ORGSETTINGS_PASSWORD`), else prompted twice.
fn password_from(given: Option<&String>) -> anyhow::Result<String> {
    if let Some(password) = given {
        return Ok(password.clone());
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let second =
        rpassword::prompt_password("Password (again): ").context("reading the password")?;
    if first != second {
        bail!("the two passwords do not match");
    }
    Ok(first)
}

fn field_errors(errors: &FieldErrors) -> anyhow::Error {
    anyhow::anyhow!("{errors}")
}

fn create_user(pool: &Pool, args: CreateUserArgs) -> anyhow::Result<()> {
    let password = password_from(args.password.as_ref())?;
    let mut errors = FieldErrors::new();
    let sign_up = SignUp {
        username: &args.username,
        email: &args.email,
        password: &password,
        password_confirm: None,
    };
    let new_user = NewUser::parse(sign_up, &mut errors);
    let role = match &args.role {
        Some(raw) => match Role::parse(raw) {
            Ok(role) if role.is_retired() => {
                errors.add("role", "the admin role is retired; use manager or owner");
                None
            }
            result => errors.take(
                "role",
                result.map_err(|_| format!("`{raw}` is not a role: use member, manager or owner")),
            ),
        },
        None => None,
    };
    let Some(new_user) = new_user.filter(|_| errors.is_empty()) else {
        return Err(field_errors(&errors));
    };
    let new_user = NewUser {
        is_superuser: args.superuser,
        email_verified: args.email_verified,
        ..new_user
    };
    let mut conn = pool.get().context("getting a database connection")?;
    let org_slug = args.org.clone();
    let result = write_tx(&mut conn, |conn| {
        let membership = match (&org_slug, role) {
            (Some(slug), Some(role)) => {
                let org = Organization::find_by_slug(conn, slug)?.ok_or_else(|| {
                    DomainError::Invalid(FieldErrors::single(
                        "org",
                        format!("no organization with the slug `{slug}`"),
                    ))
                })?;
                Some((org, role))
            }
            _ => None,
        };
        let user = User::create(conn, &new_user)?;
        if let Some((org, role)) = &membership {
            Member::add_user(conn, org.id, &user, *role)?;
        }
        Ok::<_, DomainError>((user, membership))
    });
    let (user, membership) = match result {
        Ok(done) => done,
        Err(DomainError::Invalid(errors)) => return Err(field_errors(&errors)),
        Err(other) => return Err(other.into()),
    };
    let kind = if user.is_superuser {
        "superuser"
    } else {
        "user"
    };
    match membership {
        Some((org, role)) => println!(
            "Created {kind} `{}` <{}>, {} of `{}`.",
            user.username,
            user.email,
            role.id(),
            org.slug
        ),
        None => println!("Created {kind} `{}` <{}>.", user.username, user.email),
    }
    Ok(())
}

/// One user matched by username (any case) or email, as `createorg --owner` matches.
fn one_user(conn: &mut AnyConnection, value: &str) -> anyhow::Result<User> {
    let mut users = User::find_by_login(conn, value)?;
    match users.len() {
        0 => bail!("No user matching `{value}`"),
        1 => Ok(users.remove(0)),
        _ => bail!("Found more than one user matching `{value}`"),
    }
}

/// `orgsettings setpassword -u USER`: the way back in when no email reaches the user.
fn set_password(pool: &Pool, args: SetPasswordArgs) -> anyhow::Result<()> {
    let mut conn = pool.get().context("getting a database connection")?;
    let user = one_user(&mut conn, &args.user)?;
    let password = password_from(args.password.as_ref())?;
    let password =
        Password::parse(&password).map_err(|message| anyhow::anyhow!("password: {message}"))?;
    crate::recovery::set_password(&mut conn, &user, &password)?;
    println!(
        "Set the password of `{}`; every session of theirs ended.",
        user.username
    );
    Ok(())
}

fn create_org(pool: &Pool, args: CreateOrgArgs) -> anyhow::Result<()> {
    let mut errors = FieldErrors::new();
    let name = errors.take("name", OrgName::parse(&args.name));
    let slug = match &args.slug {
        Some(raw) => errors.take("slug", Slug::parse(raw)),
        None => None,
    };
    let Some(name) = name else {
        return Err(field_errors(&errors));
    };
    if !errors.is_empty() {
        return Err(field_errors(&errors));
    }
    let mut conn = pool.get().context("getting a database connection")?;
    let owner = one_user(&mut conn, &args.owner)?;
    match Organization::create(&mut conn, &name, slug.as_ref(), &owner, &Actor::cli()) {
        Ok(org) => {
            println!(
                "Created organization `{}` (slug `{}`), owned by `{}`.",
                org.name, org.slug, owner.username
            );
            Ok(())
        }
        Err(DomainError::Invalid(errors)) => Err(field_errors(&errors)),
        Err(other) => Err(other.into()),
    }
}
