use diesel::prelude::*;
use orgsettings::db::schema::organizations;
use orgsettings::models::role::Role;
use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_list_shows_the_users_organizations_with_their_role_and_no_others,
    creating_an_organization_makes_the_creator_owner_and_derives_the_slug,
    a_given_slug_is_lowercased_and_a_taken_one_is_a_field_error,
    bad_names_and_slugs_are_refused_next_to_the_field_and_nothing_is_created,
    another_organizations_pages_and_unknown_slugs_are_404,
);

async fn the_list_shows_the_users_organizations_with_their_role_and_no_others(app: TestApp) {
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let acme = app.create_org(&alice, "Acme", "acme").await;
    app.create_org(&bob, "Bobs Burgers", "bobs").await;
    let globex = app.create_org(&bob, "Globex", "globex").await;
    app.add_member(&globex, &alice, Role::Manager).await;
    app.login("alice", PASSWORD).await;
    let page = app.get("/organizations/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("/settings/acme/"));
    assert!(page.contains("/settings/globex/"));
    assert!(page.contains("Manager"));
    assert!(!page.contains("Bobs Burgers"));
    assert_eq!(acme.slug, "acme");
}

async fn creating_an_organization_makes_the_creator_owner_and_derives_the_slug(app: TestApp) {
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let page = app
        .submit(
            "/organizations/new/",
            &[("name", "  Acme Corp!  "), ("slug", "")],
        )
        .await;
    page.assert_redirect("/settings/acme-corp/");
    let created = app.get("/settings/acme-corp/").await;
    assert!(
        created.contains("Organization Acme Corp! created. You are its owner."),
        "{}",
        created.body
    );
    assert!(created.contains("Owner"));
    let second = app
        .submit(
            "/organizations/new/",
            &[("name", "Acme Corp"), ("slug", "")],
        )
        .await;
    second.assert_redirect("/settings/acme-corp-2/");
}

async fn a_given_slug_is_lowercased_and_a_taken_one_is_a_field_error(app: TestApp) {
    let alice = app.create_user("alice").await;
    app.create_org(&alice, "First", "taken").await;
    app.login("alice", PASSWORD).await;
    let page = app
        .submit(
            "/organizations/new/",
            &[("name", "Mine"), ("slug", "My-Org")],
        )
        .await;
    page.assert_redirect("/settings/my-org/");
    let taken = app
        .submit(
            "/organizations/new/",
            &[("name", "Second"), ("slug", "TAKEN")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        taken.field_error("slug").as_deref(),
        Some("The slug \"taken\" is already in use.")
    );
    assert_eq!(taken.input_value("name").as_deref(), Some("Second"));
    assert_eq!(taken.input_value("slug").as_deref(), Some("TAKEN"));
}

async fn bad_names_and_slugs_are_refused_next_to_the_field_and_nothing_is_created(app: TestApp) {
    app.create_user("alice").await;
    app.login("alice", PASSWORD).await;
    let long_name = "x".repeat(65);
    let cases: [(&str, &str, &str, &str); 6] = [
        ("", "ok-slug", "name", "This field may not be blank."),
        (
            long_name.as_str(),
            "ok-slug",
            "name",
            "Ensure this field has no more than 64 characters.",
        ),
        (
            "Acme",
            "foo bar",
            "slug",
            "The slug \"foo bar\" should not contain any whitespace.",
        ),
        (
            "Acme",
            "login",
            "slug",
            "This slug \"login\" is reserved and not allowed.",
        ),
        (
            "Acme",
            "1234",
            "slug",
            orgsettings::models::slug::PATTERN_MESSAGE,
        ),
        (
            "Acme",
            "-acme",
            "slug",
            orgsettings::models::slug::PATTERN_MESSAGE,
        ),
    ];
    for (name, slug, field, message) in cases {
        let page = app
            .submit("/organizations/new/", &[("name", name), ("slug", slug)])
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name} / {slug}");
        assert_eq!(
            page.field_error(field).as_deref(),
            Some(message),
            "{name} / {slug}"
        );
    }
    let count: i64 = app
        .with_db(|conn| organizations::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(count, 0);
}

async fn another_organizations_pages_and_unknown_slugs_are_404(app: TestApp) {
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    app.create_org(&alice, "Acme", "acme").await;
    app.create_org(&bob, "Secret Org", "secret").await;
    app.login("alice", PASSWORD).await;
    assert_eq!(app.get("/settings/acme/").await.status, StatusCode::OK);
    for path in ["/settings/secret/", "/settings/nope/"] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Secret Org"));
        assert!(page.contains("Page not found"));
    }
}
