//! `/account/security/`: two-factor authentication (TOTP): set it up with a QR code or the key,
//! confirm with a code, get recovery codes shown once (to copy, download or print), make new ones, or
//! turn it off. Setting it up accepts an invitation that was waiting for it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::AccountSection;
use crate::auth::two_factor;
use crate::errors::DomainError;
use crate::web::accept;
use crate::web::error::AppError;
use crate::web::page::{PageCtx, render};
use crate::web::respond::{see_other, throttle_ip};
use crate::web::session::{self, CurrentUser, FlashLevel};
use crate::web::state::AppState;
use crate::web::urls::{encode_data_uri, safe_next};

const PENDING_SECRET: &str = "totp_setup";
const NEW_CODES: &str = "recovery_once";
/// Where the recovery codes page goes on after the codes are saved (a page the user came from, or
/// the organization they just joined).
const AFTER_CODES: &str = "after_codes";

#[derive(Template)]
#[template(path = "account/security.html")]
struct SecurityPage {
    ctx: PageCtx,
    enrolled: bool,
    secret: String,
    qr_png: String,
    error: String,
    codes_left: usize,
    /// Recovery codes just made: shown this once.
    new_codes: Vec<String>,
    /// The codes, one per line (copied to the clipboard).
    codes_text: String,
    /// The codes as a text file, percent-encoded for a `data:` link (downloaded).
    codes_download: String,
    /// Where to go on once the codes are saved, and its name.
    after_codes: Option<(String, String)>,
    required_by: Vec<String>,
    /// A local page to come back to after setting up (kept through the form).
    next: String,
    /// Turning two-factor authentication off is being confirmed.
    confirm_disable: bool,
}

/// `?next=` and `?confirm=disable` on the security page.
#[derive(Debug, Default, Deserialize)]
pub struct SecurityQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    confirm: String,
}

#[allow(clippy::too_many_arguments)]
async fn security_page(
    state: &AppState,
    session: &Session,
    user: &crate::models::user::User,
    next: &str,
    error: String,
    confirm_disable: bool,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let of = user.clone();
    let two_factor::Status {
        enrolled,
        recovery_codes_left: codes_left,
        required_by,
    } = state.db(move |conn| two_factor::status(conn, &of)).await?;
    let (secret, qr_png) = if enrolled {
        (String::new(), String::new())
    } else {
        // the secret being set up stays the same across reloads of this session
        let secret = match session.get::<String>(PENDING_SECRET).ok().flatten() {
            Some(secret) => secret,
            None => {
                let secret = two_factor::new_secret();
                session.insert(PENDING_SECRET, &secret)?;
                secret
            }
        };
        let account = user.username.clone();
        let for_qr = secret.clone();
        let qr = web::block(move || two_factor::qr_png_base64(&for_qr, &account))
            .await?
            .map_err(AppError::Internal)?;
        (secret, qr)
    };
    let new_codes = match session::take(session, NEW_CODES) {
        Some(raw) => serde_json::from_str(&raw).unwrap_or_default(),
        None => Vec::new(),
    };
    let after_codes = session::take(session, AFTER_CODES)
        .and_then(|raw| serde_json::from_str::<(String, String)>(&raw).ok())
        .filter(|(href, _)| safe_next(href).is_some());
    let codes_text = new_codes.join("\n");
    let page = SecurityPage {
        ctx: PageCtx::for_account(session, user, AccountSection::Security)?,
        codes_download: encode_data_uri(&format!(
            "Recovery codes for {} on orgsettings. Each works once.\n\n{codes_text}\n",
            user.username
        )),
        codes_text,
        enrolled,
        secret,
        qr_png,
        error,
        codes_left,
        new_codes,
        after_codes,
        required_by,
        next: safe_next(next).unwrap_or_default().to_owned(),
        confirm_disable: confirm_disable && enrolled,
    };
    render(status, &page)
}

pub async fn security(
    state: web::Data<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    query: web::Query<SecurityQuery>,
) -> Result<HttpResponse, AppError> {
    security_page(
        &state,
        &session,
        &user,
        &query.next,
        String::new(),
        query.confirm == "disable",
        StatusCode::OK,
    )
    .await
}

/// What the security page's form asks for; each needs a current `code`.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum SecurityAction {
    /// Confirm the authenticator being set up.
    Enrol {
        #[serde(default)]
        code: String,
        /// The page to go on to once the recovery codes are saved.
        #[serde(default)]
        next: String,
    },
    /// New recovery codes, replacing the old ones.
    Regenerate {
        #[serde(default)]
        code: String,
    },
    /// Turn two-factor authentication off.
    Disable {
        #[serde(default)]
        code: String,
    },
}

/// `POST /account/security/`: confirm the setup with a `code`, make new recovery codes, or turn
/// two-factor authentication off (both with a current code). Every code check goes through the
/// second-factor throttle.
pub async fn security_submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: web::Form<SecurityAction>,
) -> Result<HttpResponse, AppError> {
    let ip = throttle_ip(&req);
    let throttle = state.config.login_throttle;
    let acting = user.clone();
    let action = form.into_inner();
    let next = match &action {
        SecurityAction::Enrol { next, .. } => safe_next(next).unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    let (enrolling, disabling) = (
        matches!(action, SecurityAction::Enrol { .. }),
        matches!(action, SecurityAction::Disable { .. }),
    );
    let done = match action {
        SecurityAction::Enrol { code, .. } => {
            let Some(secret) = session.get::<String>(PENDING_SECRET).ok().flatten() else {
                return Ok(see_other("/account/security/"));
            };
            let codes = state
                .db(move |conn| {
                    two_factor::enrol_checked(conn, throttle, &ip, &acting, &secret, &code)
                })
                .await;
            codes.map(|codes| {
                session.remove(PENDING_SECRET);
                (
                    Some(codes),
                    FlashLevel::Success,
                    "Two-factor authentication is on.",
                )
            })
        }
        SecurityAction::Regenerate { code } => state
            .db(move |conn| two_factor::regenerate_checked(conn, throttle, &ip, &acting, &code))
            .await
            .map(|codes| {
                (
                    Some(codes),
                    FlashLevel::Success,
                    "New recovery codes made; the old ones no longer work.",
                )
            }),
        SecurityAction::Disable { code } => state
            .db(move |conn| two_factor::disable_checked(conn, throttle, &ip, &acting, &code))
            .await
            .map(|()| (None, FlashLevel::Info, "Two-factor authentication is off.")),
    };
    let error = match done {
        Ok((codes, level, message)) => {
            if let Some(codes) = codes {
                session.insert(NEW_CODES, &codes)?;
            }
            session::flash(&session, level, message)?;
            // an invitation waiting for this: accepted now, and the codes page leads there
            let joined = if enrolling {
                accept::accept_pending(&state, &session, &req, &user).await?
            } else {
                None
            };
            let after = match joined {
                Some(org) => Some((format!("/settings/{}/", org.slug), org.name)),
                None if !next.is_empty() => Some((next, "where you were".to_owned())),
                None => None,
            };
            if let Some(after) = after {
                session.insert(AFTER_CODES, &after)?;
            }
            return Ok(see_other("/account/security/"));
        }
        Err(DomainError::Invalid(errors)) => errors.get("code"),
        Err(DomainError::Refused(message) | DomainError::RateLimited(message)) => message,
        Err(other) => return Err(other.into()),
    };
    security_page(
        &state,
        &session,
        &user,
        &next,
        error,
        disabling,
        StatusCode::BAD_REQUEST,
    )
    .await
}
