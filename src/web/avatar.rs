//! `/settings/{org}/avatar/` (choose the letter avatar or upload an image) and
//! `/organization-avatar/{ident}/?s=N` (the image, in the allowed sizes).

use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes as FileBytes;
use actix_multipart::form::text::Text;
use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::OrgAccess;
use super::error::AppError;
use super::page::{AvatarView, PageCtx, Section, render};
use super::respond::see_other;
use super::session::FlashLevel;
use super::session::{self};
use crate::errors::{DomainError, FieldErrors};
use crate::models::avatar::{AvatarImage, AvatarType, OrgAvatar};
use crate::models::file;
use crate::settings::avatar::{self as images, AvatarError};
use crate::settings::update::{AvatarChange, AvatarFields, OrganizationUpdate};
use crate::web::state::AppState;

/// The avatar form: `avatarType` and the file input `avatar` (the CSRF token is checked by the
/// middleware before this is read).
#[derive(MultipartForm)]
pub struct AvatarForm {
    #[multipart(rename = "avatarType")]
    avatar_type: Option<Text<String>>,
    #[multipart(limit = "6MB")]
    avatar: Option<FileBytes>,
}

#[derive(Template)]
#[template(path = "settings/avatar.html")]
struct AvatarPage {
    ctx: PageCtx,
    slug: String,
    can_write: bool,
    preview: AvatarView,
    letter: AvatarView,
    has_upload: bool,
    selected: &'static str,
    errors: FieldErrors,
    max_mb: usize,
    min_px: u32,
    max_px: u32,
}

fn render_page(
    session: &Session,
    access: &OrgAccess,
    selected: Option<AvatarType>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let avatar = access.avatar.as_ref();
    let current = avatar.map_or(AvatarType::LetterAvatar, OrgAvatar::avatar_type);
    let page = AvatarPage {
        ctx: PageCtx::for_org(session, access, Section::Avatar)?,
        slug: access.org.slug.clone(),
        can_write: access.role.can_write() && !access.org.is_pending_deletion(),
        preview: AvatarView::of(&access.org, avatar),
        letter: AvatarView::from_parts(&access.org.name, None),
        has_upload: avatar.is_some_and(|a| a.file_id.is_some()),
        selected: selected.unwrap_or(current).id(),
        errors,
        max_mb: images::MAX_BYTES / 1_000_000,
        min_px: images::MIN_DIMENSION,
        max_px: images::MAX_DIMENSION,
    };
    render(status, &page)
}

pub async fn page(session: Session, access: OrgAccess) -> Result<HttpResponse, AppError> {
    render_page(&session, &access, None, FieldErrors::new(), StatusCode::OK)
}

pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    access: OrgAccess,
    form: MultipartForm<AvatarForm>,
) -> Result<HttpResponse, AppError> {
    access.require_write()?;
    let form = form.into_inner();
    let raw_type = form.avatar_type.map(|t| t.into_inner()).unwrap_or_default();
    let Some(avatar_type) = AvatarType::parse(&raw_type) else {
        let errors = FieldErrors::single(
            "avatarType",
            format!("\"{raw_type}\" is not a valid choice."),
        );
        return render_page(&session, &access, None, errors, StatusCode::BAD_REQUEST);
    };
    let upload = form.avatar.map(|f| f.data).filter(|data| !data.is_empty());
    // an image only counts when the upload option is chosen
    let photo = match upload.filter(|_| avatar_type == AvatarType::Upload) {
        None => None,
        Some(bytes) => match state
            .image_work(move || images::process_upload(&bytes))
            .await?
        {
            Ok(png) => Some(png),
            Err(err) => {
                let status = if err == AvatarError::TooLarge {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                let mut message = err.message();
                if err == AvatarError::TooLarge {
                    message.push_str(": an avatar may be at most 5 MB.");
                }
                let errors = FieldErrors::single("avatar", message);
                return render_page(&session, &access, Some(avatar_type), errors, status);
            }
        },
    };
    let update = OrganizationUpdate {
        avatar: Some(AvatarChange {
            avatar_type,
            photo,
            fields: AvatarFields::Page,
        }),
        ..OrganizationUpdate::default()
    };
    match access.save(&state, &req, update).await {
        Ok(saved) => {
            let message = if saved.changes.is_empty() {
                "No changes to save."
            } else {
                "Avatar saved."
            };
            session::flash(&session, FlashLevel::Success, message)?;
            Ok(see_other(&format!(
                "/settings/{}/avatar/",
                saved.settings.org.slug
            )))
        }
        Err(DomainError::Invalid(errors)) => render_page(
            &session,
            &access,
            Some(avatar_type),
            errors,
            StatusCode::BAD_REQUEST,
        ),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct SizeQuery {
    s: Option<String>,
}

/// `GET /organization-avatar/{ident}/?s=N`: the stored PNG, or a copy `N`×`N` (snapped to the allowed
/// sizes, made once and kept). Cacheable forever: a new upload gets a new ident.
pub async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    ident: web::Path<String>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    let size = match &query.s {
        None => None,
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) => Some(images::snap_size(n)),
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The size (s) must be a whole number of pixels.".into(),
                ));
            }
        },
    };
    let ident = ident.into_inner();
    let found = state
        .db(move |conn| OrgAvatar::image(conn, &ident, size))
        .await?;
    let png = match found.ok_or(AppError::NotFound)? {
        AvatarImage::Ready(png) => png,
        AvatarImage::ToResize {
            file_id,
            size,
            original,
        } => {
            let resized = state
                .image_work(move || images::resize(&original, size))
                .await?
                .map_err(|e| {
                    AppError::Internal(anyhow::Error::new(e).context("resizing an avatar"))
                })?;
            let stored = resized.clone();
            state
                .db(move |conn| file::store_thumbnail(conn, file_id, size, &stored))
                .await?;
            resized
        }
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty() && *o != "null")
        .unwrap_or("*")
        .to_owned();
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "max-age=315360000"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
        .body(png))
}
