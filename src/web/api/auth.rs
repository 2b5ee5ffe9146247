//! Who is calling the API: a token in `Authorization: Bearer …` (then cookies are ignored, and the
//! CSRF middleware lets the request through), or else the browser session. And what the caller may
//! do in the organization of the path: [`ApiAccess`] resolves it and checks the endpoint's scopes
//! (Sentry's `OrganizationPermission.scope_map`), answering Sentry's 401 and 403 texts.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::ApiError;
use crate::access::{self, Lookup};
use crate::models::user::User;
use crate::tokens::scopes::{self, Scopes};
use crate::tokens::{self, Credential};
use crate::web::access::{Denied, OrgAccess};
use crate::web::session::session_user;
use crate::web::state::AppState;

/// Whether a request carries an `Authorization` header: it then speaks for itself, and the session
/// is not used (nor its CSRF token asked for).
pub fn has_authorization(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::AUTHORIZATION)
}

/// Who calls.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    /// The browser session's user.
    Session(User),
    /// A valid token.
    Token(Box<Credential>),
}

/// The token of the `Authorization` header (DRF's `get_authorization_header(...).split()` rules),
/// or Sentry's refusal of the header.
fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::AuthenticationFailed("Invalid token header."))?;
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [scheme, ..] if scheme.eq_ignore_ascii_case("basic") => {
            Err(ApiError::AuthenticationFailed("API key is not valid"))
        }
        [scheme] if scheme.eq_ignore_ascii_case("bearer") => Err(ApiError::AuthenticationFailed(
            "Invalid token header. No credentials provided.",
        )),
        [scheme, token] if scheme.eq_ignore_ascii_case("bearer") => Ok(Some((*token).to_owned())),
        [scheme, ..] if scheme.eq_ignore_ascii_case("bearer") => {
            Err(ApiError::AuthenticationFailed(
                "Invalid token header. Token string should not contain spaces.",
            ))
        }
        // a scheme nobody here knows: no credentials (the session is not used either)
        _ => Err(ApiError::NotAuthenticated),
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))
}

/// The caller of a request: its token when it has an `Authorization` header (refused with Sentry's
/// texts when the token is not good), else its session's user.
pub async fn caller(req: &HttpRequest) -> Result<Caller, ApiError> {
    match bearer(req)? {
        Some(text) => {
            let state = state(req)?;
            match state
                .db(move |conn| tokens::authenticate(conn, &text))
                .await?
            {
                Ok(credential) => Ok(Caller::Token(Box::new(credential))),
                Err(refusal) => Err(ApiError::AuthenticationFailed(refusal.message())),
            }
        }
        None => Ok(match session_user(req).await? {
            Some(user) => Caller::Session(user),
            None => Caller::Anonymous,
        }),
    }
}

/// The scopes an endpoint asks for (any one of them will do).
pub trait Permission {
    const SCOPES: &'static [&'static str];
}

/// Reading an organization: `org:read`, `org:write` or `org:admin`.
pub struct OrgRead;
/// Changing an organization: `org:write` or `org:admin`.
pub struct OrgWrite;

impl Permission for OrgRead {
    const SCOPES: &'static [&'static str] = scopes::ORG_READ;
}

impl Permission for OrgWrite {
    const SCOPES: &'static [&'static str] = scopes::ORG_WRITE;
}

/// Removing an organization: `org:admin`.
pub struct OrgAdmin;

impl Permission for OrgAdmin {
    const SCOPES: &'static [&'static str] = scopes::ORG_ADMIN;
}

/// Reading members: `member:read`, `member:write` or `member:admin`.
pub struct MemberRead;
/// Inviting and changing members: `member:write` or `member:admin`.
pub struct MemberWrite;
/// Removing members: `member:admin`.
pub struct MemberAdmin;

impl Permission for MemberRead {
    const SCOPES: &'static [&'static str] = scopes::MEMBER_READ;
}

impl Permission for MemberWrite {
    const SCOPES: &'static [&'static str] = scopes::MEMBER_WRITE;
}

impl Permission for MemberAdmin {
    const SCOPES: &'static [&'static str] = scopes::MEMBER_ADMIN;
}

/// A user calling an endpoint outside any one organization (the organization list, creating
/// one), with the scopes the endpoint wants when the call comes with a personal token. A session
/// has every scope of the user; an organization token is refused, as by the organization endpoints.
pub struct UserAccess<P> {
    pub user: User,
    /// The token's scopes (widened by the hierarchy), or `None` for a session.
    pub token_scopes: Option<Scopes>,
    permission: PhantomData<P>,
}

impl<P: Permission> UserAccess<P> {
    async fn resolve(req: HttpRequest) -> Result<Self, ApiError> {
        let (user, token_scopes) = match caller(&req).await? {
            Caller::Anonymous => return Err(ApiError::NotAuthenticated),
            Caller::Session(user) => (user, None),
            Caller::Token(credential) => match *credential {
                Credential::Personal { user, scopes, .. } => {
                    if !scopes.has_any(P::SCOPES) {
                        return Err(ApiError::Forbidden);
                    }
                    (user, Some(scopes))
                }
                Credential::Org { .. } => return Err(ApiError::Forbidden),
            },
        };
        Ok(Self {
            user,
            token_scopes,
            permission: PhantomData,
        })
    }
}

impl<P: Permission + 'static> FromRequest for UserAccess<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::resolve(req).await })
    }
}

/// The organization of the path as the caller may use it, with what they may do there: for a
/// session, the scopes of their role; for a personal token, the token's scopes cut down to the
/// role's (a member's token with `org:write` still cannot change settings). An organization
/// token (`org:ci`) is refused by every organization endpoint so far.
pub struct ApiAccess<P> {
    pub access: OrgAccess,
    pub scopes: Scopes,
    /// The request came with a token (it counts as having re-entered the password, as in Sentry).
    pub by_token: bool,
    permission: PhantomData<P>,
}

impl<P> ApiAccess<P> {
    /// Owner-only fields (the default role) need `org:admin`, as Sentry's serializer asks.
    pub fn is_admin(&self) -> bool {
        self.scopes.has("org:admin")
    }
}

impl<P: Permission> ApiAccess<P> {
    async fn resolve(req: HttpRequest) -> Result<Self, ApiError> {
        if !has_authorization(&req) {
            // a session's user and membership are read together (one query)
            let access = session_access(&req).await?;
            let scopes = Scopes::of_role(access.role);
            return Self::allowed(access, scopes, false);
        }
        let (access, scopes, by_token) = match caller(&req).await? {
            // with an `Authorization` header the caller is its token or nobody
            Caller::Anonymous | Caller::Session(_) => return Err(ApiError::NotAuthenticated),
            Caller::Token(credential) => match *credential {
                Credential::Personal { user, scopes, .. } => {
                    let access = token_access(&req, user).await?;
                    let scopes = scopes.intersection(&Scopes::of_role(access.role));
                    (access, scopes, true)
                }
                Credential::Org { .. } => {
                    // an organization token carries `org:ci` alone, which no organization endpoint
                    // here asks for (Sentry's ask it for releases and source maps): refused as a
                    // missing scope is, in its own organization and in any other
                    return Err(ApiError::Forbidden);
                }
            },
        };
        Self::allowed(access, scopes, by_token)
    }

    /// The access, when its scopes include one the endpoint asks for.
    fn allowed(access: OrgAccess, scopes: Scopes, by_token: bool) -> Result<Self, ApiError> {
        if !scopes.has_any(P::SCOPES) {
            return Err(ApiError::Forbidden);
        }
        Ok(Self {
            access,
            scopes,
            by_token,
            permission: PhantomData,
        })
    }
}

/// The session's access, as the pages resolve it (superuser mode included), with JSON errors.
async fn session_access(req: &HttpRequest) -> Result<OrgAccess, ApiError> {
    match OrgAccess::resolve(req).await {
        Ok(access) => Ok(access),
        Err(Denied::Failed(err)) => Err(err.into()),
        Err(Denied::NotLoggedIn) => Err(ApiError::NotAuthenticated),
        Err(Denied::NotFound) => Err(ApiError::NotFound),
        Err(Denied::SuperuserModeOff) => Err(ApiError::SuperuserRequired),
        Err(Denied::Moved(location)) => Err(ApiError::Moved(location)),
        Err(Denied::TwoFactorRequired(_)) => Err(ApiError::TwoFactorRequired),
    }
}

/// A token's user in the organization of the path: membership only, never superuser mode.
async fn token_access(req: &HttpRequest, user: User) -> Result<OrgAccess, ApiError> {
    let slug = req.match_info().get("org").unwrap_or_default().to_owned();
    let state = state(req)?;
    let lookup = slug.clone();
    let found = state
        .read(move |conn| access::resolve_for(conn, &lookup, user, false))
        .await?;
    match found {
        Lookup::Found(access) => Ok(*access),
        Lookup::NoUser | Lookup::Missing => Err(ApiError::NotFound),
        // a superuser's token reaches their own organizations only
        Lookup::SuperuserModeOff => Err(ApiError::SuperuserRequired),
        Lookup::TwoFactorRequired(_) => Err(ApiError::TwoFactorRequired),
        Lookup::Renamed(new_slug) => Err(ApiError::Moved(crate::web::access::moved_url(
            req, &slug, &new_slug,
        ))),
    }
}

impl<P: Permission + 'static> FromRequest for ApiAccess<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(Self::resolve(req))
    }
}

/// The logged-in user of a session-only endpoint (the token endpoints: a token cannot make
/// tokens). A request with an `Authorization` header is not authenticated here at all.
pub struct SessionOnly(pub User);

impl FromRequest for SessionOnly {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if has_authorization(&req) {
                return Err(ApiError::NotAuthenticated);
            }
            match session_user(&req).await? {
                Some(user) => Ok(SessionOnly(user)),
                None => Err(ApiError::NotAuthenticated),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_organization_endpoint_takes_an_organization_tokens_scope() {
        for wanted in [OrgRead::SCOPES, OrgWrite::SCOPES] {
            assert!(!wanted.contains(&crate::tokens::org::SCOPE));
        }
    }
}
