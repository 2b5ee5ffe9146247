//! The organization avatar: the page, the API fields, and serving the image.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::ImageFormat;
use orgsettings::models::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::images::{
    dimensions, encoded, jpeg_with_exif, other_formats, png, png_declaring,
};
use crate::common::{PASSWORD, TestApp, audit_entries};
use crate::on_both_backends;

const API: &str = "/api/0/organizations/acme/";
const PAGE: &str = "/settings/acme/avatar/";

async fn avatar_json(app: &TestApp) -> Value {
    app.api_get(API).await.1["avatar"].clone()
}

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    TestApp::new_client()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    an_uploaded_image_becomes_the_avatar_and_is_served_in_sizes,
    jpeg_and_gif_uploads_are_stored_as_png_without_their_metadata,
    a_new_upload_gets_a_new_ident_and_switching_to_initials_keeps_the_image,
    bad_uploads_are_refused_with_a_clear_message_and_nothing_changes,
    the_api_takes_base64_images_with_sentrys_answers,
    the_avatar_endpoint_uses_its_own_field_names,
    members_see_the_avatar_but_cannot_change_it,
    an_upload_without_the_csrf_token_is_refused,
    deleting_the_organization_deletes_its_image,
);

async fn an_uploaded_image_becomes_the_avatar_and_is_served_in_sizes(app: TestApp) {
    let org = app.owner_of("Acme Corp", "acme").await.1;
    assert_eq!(
        avatar_json(&app).await,
        json!({"avatarType": "letter_avatar", "avatarUuid": null, "avatarUrl": null})
    );
    let page = app
        .upload_avatar("acme", "upload", Some(png(300, 300)))
        .await;
    page.assert_redirect(PAGE);
    assert!(app.get(PAGE).await.contains("Avatar saved."));
    let avatar = avatar_json(&app).await;
    assert_eq!(avatar["avatarType"], "upload");
    let ident = avatar["avatarUuid"].as_str().unwrap().to_owned();
    assert_eq!(ident.len(), 32);
    assert!(
        avatar["avatarUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/organization-avatar/{ident}/"))
    );

    let full = fetch(&app, &format!("/organization-avatar/{ident}/")).await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "image/png");
    assert_eq!(full.headers()["cache-control"], "max-age=315360000");
    assert_eq!(full.headers()["x-content-type-options"], "nosniff");
    assert_eq!(full.headers()["access-control-allow-origin"], "*");
    assert!(full.headers().get("set-cookie").is_none());
    assert_eq!(dimensions(&full.bytes().await.unwrap()), (300, 300));

    for (asked, served) in [("33", 32), ("120", 120), ("1", 20), ("9999", 120)] {
        let resized = fetch(&app, &format!("/organization-avatar/{ident}/?s={asked}")).await;
        assert_eq!(resized.status(), StatusCode::OK, "s={asked}");
        assert_eq!(
            dimensions(&resized.bytes().await.unwrap()),
            (served, served),
            "s={asked}"
        );
    }
    let with_origin = TestApp::new_client()
        .get(app.url(&format!("/organization-avatar/{ident}/?s=32")))
        .header("origin", "https://sentry.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_origin.headers()["access-control-allow-origin"],
        "https://sentry.example"
    );
    assert_eq!(
        fetch(&app, &format!("/organization-avatar/{ident}/?s=big"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        fetch(
            &app,
            "/organization-avatar/0123456789abcdef0123456789abcdef/"
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );

    // the resized copy is made once
    fetch(&app, &format!("/organization-avatar/{ident}/?s=33")).await;
    let copies: i64 = app
        .with_db(|conn| {
            use diesel::prelude::*;
            orgsettings::db::schema::file_thumbnails::table
                .filter(orgsettings::db::schema::file_thumbnails::size.eq(32))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(copies, 1);

    let (_, data) = audit_entries(&app, org.id).await.pop().unwrap();
    assert_eq!(data, json!({"avatar": "to upload (a new image)"}));
    let sidebar = app.get("/settings/acme/").await;
    assert!(
        sidebar
            .body
            .contains(&format!("src=\"/organization-avatar/{ident}/?s=36\""))
    );
    assert!(
        app.get("/organizations/")
            .await
            .body
            .contains(&format!("/organization-avatar/{ident}/?s=36"))
    );
}

async fn jpeg_and_gif_uploads_are_stored_as_png_without_their_metadata(app: TestApp) {
    app.owner_of("Acme Corp", "acme").await;
    app.upload_avatar(
        "acme",
        "upload",
        Some(jpeg_with_exif(400, "SECRET-GPS-LOCATION")),
    )
    .await
    .assert_redirect(PAGE);
    let ident = avatar_json(&app).await["avatarUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = fetch(&app, &format!("/organization-avatar/{ident}/"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(
        !bytes.windows(19).any(|w| w == b"SECRET-GPS-LOCATION"),
        "metadata dropped"
    );
    app.upload_avatar("acme", "upload", Some(encoded(256, 256, ImageFormat::Gif)))
        .await
        .assert_redirect(PAGE);
    let ident = avatar_json(&app).await["avatarUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = fetch(&app, &format!("/organization-avatar/{ident}/"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
}

async fn a_new_upload_gets_a_new_ident_and_switching_to_initials_keeps_the_image(app: TestApp) {
    let org = app.owner_of("Acme Corp", "acme").await.1;
    app.upload_avatar("acme", "upload", Some(png(256, 256)))
        .await;
    let first = avatar_json(&app).await["avatarUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.upload_avatar("acme", "upload", Some(png(512, 512)))
        .await;
    let second = avatar_json(&app).await["avatarUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    assert_eq!(
        fetch(&app, &format!("/organization-avatar/{first}/"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "the old image is gone"
    );

    app.upload_avatar("acme", "letter_avatar", None)
        .await
        .assert_redirect(PAGE);
    let avatar = avatar_json(&app).await;
    assert_eq!(avatar["avatarType"], "letter_avatar");
    assert_eq!(
        avatar["avatarUuid"],
        second.as_str(),
        "the file and ident are kept"
    );
    let page = app.get(PAGE).await;
    assert!(
        page.body.contains("<text"),
        "the letter avatar shows: {}",
        page.body.len()
    );
    assert!(page.contains(">AC</text>"));
    // back to the image without uploading again
    app.upload_avatar("acme", "upload", None)
        .await
        .assert_redirect(PAGE);
    assert_eq!(avatar_json(&app).await["avatarType"], "upload");
    let events: Vec<Value> = audit_entries(&app, org.id)
        .await
        .into_iter()
        .map(|(_, d)| d["avatar"].clone())
        .collect();
    assert_eq!(
        &events[events.len() - 2..],
        [
            json!("from upload to letter_avatar"),
            json!("from letter_avatar to upload")
        ]
    );
}

async fn bad_uploads_are_refused_with_a_clear_message_and_nothing_changes(app: TestApp) {
    let org = app.owner_of("Acme Corp", "acme").await.1;
    let mut cases: Vec<(String, Vec<u8>, &str)> = other_formats()
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes, "Invalid image format."))
        .collect();
    cases.push((
        "non-square".into(),
        png(300, 200),
        "Invalid image dimensions. The image is 300×200 pixels: it must be square.",
    ));
    cases.push((
        "too small".into(),
        png(255, 255),
        "Invalid image dimensions. The image is 255×255 pixels: it must be at least 256×256.",
    ));
    cases.push((
        "too big".into(),
        png(1025, 1025),
        "Invalid image dimensions. The image is larger than 1024×1024 pixels.",
    ));
    cases.push((
        "decompression bomb".into(),
        png_declaring(100_000),
        "Invalid image dimensions. The image is larger than 1024×1024 pixels.",
    ));
    let mut truncated = png(300, 300);
    truncated.truncate(truncated.len() / 2);
    cases.push((
        "truncated".into(),
        truncated,
        orgsettings::settings::avatar::ERR_CORRUPT,
    ));
    for (name, bytes, message) in cases {
        let page = app.upload_avatar("acme", "upload", Some(bytes)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(
            page.field_error("avatar").as_deref(),
            Some(message),
            "{name}"
        );
        assert!(
            page.contains("PNG, JPEG or GIF; square, 256 to 1024 pixels wide; at most 5 MB."),
            "the limits are stated"
        );
    }
    let nothing = app.upload_avatar("acme", "upload", None).await;
    assert_eq!(
        nothing.field_error("avatarType").as_deref(),
        Some("Choose an image to upload, or use the letter avatar.")
    );
    let bogus = app.upload_avatar("acme", "gravatar", None).await;
    assert_eq!(
        bogus.field_error("avatarType").as_deref(),
        Some("\"gravatar\" is not a valid choice.")
    );

    let mut huge = png(256, 256);
    huge.resize(5_000_001, 0);
    let too_large = app.upload_avatar("acme", "upload", Some(huge)).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        too_large.field_error("avatar").as_deref(),
        Some("Image too large: an avatar may be at most 5 MB.")
    );
    let mut enormous = png(256, 256);
    enormous.resize(6_000_000, 0);
    let refused = app.upload_avatar("acme", "upload", Some(enormous)).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.contains("Image too large"));

    assert_eq!(avatar_json(&app).await["avatarType"], "letter_avatar");
    assert_eq!(
        audit_entries(&app, org.id).await.len(),
        1,
        "only the creation"
    );
}

async fn the_api_takes_base64_images_with_sentrys_answers(app: TestApp) {
    app.owner_of("Acme Corp", "acme").await;
    let (status, body) = app.api_put(API, json!({"avatarType": "upload"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"avatarType": ["Cannot set avatarType to upload without avatar"]})
    );
    let (status, body) = app
        .api_put(API, json!({"avatar": STANDARD.encode(png(256, 256))}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["avatar"]["avatarType"], "upload",
        "an image alone means upload"
    );
    let cases = [
        (
            json!({"avatar": "!!not base64!!"}),
            json!({"avatar": ["The avatar is not valid base64."]}),
        ),
        (
            json!({"avatar": STANDARD.encode(b"plain text")}),
            json!({"avatar": ["Invalid image format."]}),
        ),
        (
            json!({"avatar": STANDARD.encode(png(256, 300))}),
            json!({"avatar": ["Invalid image dimensions. The image is 256×300 pixels: it must be square."]}),
        ),
        (
            json!({"avatarType": "selfie"}),
            json!({"avatarType": ["\"selfie\" is not a valid choice."]}),
        ),
        (
            json!({"avatarType": null, "avatar": STANDARD.encode(png(256, 256))}),
            json!({"avatarType": ["This field may not be null."]}),
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = app.api_put(API, request.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}");
        assert_eq!(body, expected, "{request}");
    }
    let mut huge = png(256, 256);
    huge.resize(5_000_001, 0);
    let (status, body) = app
        .api_put(API, json!({"avatar": STANDARD.encode(huge)}))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"detail": "Image too large"}));
}

async fn the_avatar_endpoint_uses_its_own_field_names(app: TestApp) {
    app.owner_of("Acme Corp", "acme").await;
    let url = "/api/0/organizations/acme/avatar/";
    let (status, body) = app.api_put(url, json!({"avatar_type": "upload"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"avatar_type": ["Cannot set avatar_type to upload without avatar_photo"]})
    );
    let (status, body) = app.api_put(url, json!({})).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"avatar_type": ["This field is required."]})
        )
    );
    let (status, body) = app
        .api_put(
            url,
            json!({"avatar_type": "upload", "avatar_photo": STANDARD.encode(png(256, 256))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["avatar"]["avatarType"], "upload");
    let (status, body) = app.api_get(url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["avatar"]["avatarType"], "upload");
    let (_, body) = app
        .api_put(url, json!({"avatar_type": "letter_avatar"}))
        .await;
    assert_eq!(body["avatar"]["avatarType"], "letter_avatar");
}

async fn members_see_the_avatar_but_cannot_change_it(app: TestApp) {
    let org = app.owner_of("Acme Corp", "acme").await.1;
    let member = app.create_user("member").await;
    app.add_member(&org, &member, Role::Member).await;
    let visitor = app.visitor();
    visitor.login("member", PASSWORD).await;
    let page = visitor.get(PAGE).await;
    assert!(page.contains("Only owners and managers can change the avatar."));
    assert_eq!(
        visitor
            .upload_avatar("acme", "upload", Some(png(256, 256)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (status, _) = visitor
        .api_put(
            "/api/0/organizations/acme/avatar/",
            json!({"avatar_type": "letter_avatar"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn an_upload_without_the_csrf_token_is_refused(app: TestApp) {
    app.owner_of("Acme Corp", "acme").await;
    let form = reqwest::multipart::Form::new()
        .text("avatarType", "upload")
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(png(256, 256)).file_name("a.png"),
        );
    let response = app
        .client
        .post(app.url(PAGE))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(avatar_json(&app).await["avatarType"], "letter_avatar");
}

async fn deleting_the_organization_deletes_its_image(app: TestApp) {
    let org = app.owner_of("Acme Corp", "acme").await.1;
    app.upload_avatar("acme", "upload", Some(png(256, 256)))
        .await;
    let org_id = org.id;
    let actor = orgsettings::models::actor::Actor::cli();
    let files = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            let scheduled = orgsettings::settings::delete::schedule(conn, org_id, &actor).unwrap();
            orgsettings::settings::delete::delete_due(
                conn,
                scheduled.deletion_scheduled_at.unwrap(),
            )
            .unwrap();
            orgsettings::db::schema::files::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(files, 0);
}
