use diesel::prelude::*;
use orgsettings::db::schema::{audit_log_entries, organizations, users};
use orgsettings::models::setup;
use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};
use crate::on_both_backends;

fn fields<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("username", "root"),
        ("email", "root@example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("organization", "Acme Corp"),
        ("slug", ""),
    ];
    for (name, value) in extra {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    fields
}

on_both_backends!(
    the_setup_link_creates_the_first_superuser_and_organization_then_dies,
    setup_refuses_bad_input_next_to_each_field_and_creates_nothing,
    a_wrong_setup_token_is_refused,
    two_visitors_using_the_setup_link_at_once_create_one_superuser,
);

async fn the_setup_link_creates_the_first_superuser_and_organization_then_dies(app: TestApp) {
    let token = app
        .with_db(|conn| setup::issue_if_empty(conn).unwrap())
        .await
        .expect("empty instance gets a token");
    let path = format!("/setup/{token}/");
    assert!(
        app.get("/login")
            .await
            .contains("This instance has no accounts yet")
    );

    let page = app.submit(&path, &fields(&[])).await;
    page.assert_redirect("/settings/acme-corp/");
    let landing = app.get("/settings/acme-corp/").await;
    assert_eq!(landing.status, StatusCode::OK);
    assert!(
        landing.contains("You are the superuser of this instance and the owner of Acme Corp."),
        "{}",
        landing.body
    );

    let (superuser, last_login, audited): (bool, Option<chrono::NaiveDateTime>, i64) = app
        .with_db(|conn| {
            let (superuser, last_login) = users::table
                .filter(users::username.eq("root"))
                .select((users::is_superuser, users::last_login))
                .first(conn)
                .unwrap();
            let audited = audit_log_entries::table.count().get_result(conn).unwrap();
            (superuser, last_login, audited)
        })
        .await;
    assert!(superuser);
    assert!(last_login.is_some(), "the setup link logged them in");
    assert_eq!(audited, 1, "the organization's creation is audited");

    let again = app.get(&path).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.contains("This setup link is not valid any more"));
    assert!(
        app.with_db(|conn| setup::issue_if_empty(conn).unwrap())
            .await
            .is_none(),
        "no new link once users exist"
    );
}

async fn setup_refuses_bad_input_next_to_each_field_and_creates_nothing(app: TestApp) {
    let token = app
        .with_db(|conn| setup::issue_if_empty(conn).unwrap())
        .await
        .unwrap();
    let path = format!("/setup/{token}/");
    let page = app
        .submit(
            &path,
            &fields(&[
                ("username", "has space"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("organization", "   "),
                ("slug", "ab"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.field_error("username")
            .unwrap()
            .starts_with("Enter a valid username")
    );
    assert_eq!(
        page.field_error("email").as_deref(),
        Some("Enter a valid email address.")
    );
    assert_eq!(
        page.field_error("password").as_deref(),
        Some("This password is too short. It must contain at least 8 characters.")
    );
    assert_eq!(
        page.field_error("organization").as_deref(),
        Some("This field may not be blank.")
    );
    assert_eq!(
        page.field_error("slug").as_deref(),
        Some("This slug \"ab\" is too short. Minimum of 3 characters.")
    );
    assert_eq!(
        page.input_value("email").as_deref(),
        Some("not-an-email"),
        "input is kept"
    );
    assert_eq!(
        page.input_value("password").as_deref(),
        Some(""),
        "passwords are not echoed"
    );

    let mismatch = app
        .post_form(&path, &fields(&[("password_confirm", "something else")]))
        .await;
    assert_eq!(
        mismatch.field_error("password_confirm").as_deref(),
        Some("The two passwords do not match.")
    );

    let counts: (i64, i64) = app
        .with_db(|conn| {
            (
                users::table.count().get_result(conn).unwrap(),
                organizations::table.count().get_result(conn).unwrap(),
            )
        })
        .await;
    assert_eq!(counts, (0, 0));
    assert_eq!(
        app.get(&path).await.status,
        StatusCode::OK,
        "the link still works"
    );
}

async fn a_wrong_setup_token_is_refused(app: TestApp) {
    app.with_db(|conn| setup::issue_if_empty(conn).unwrap())
        .await
        .unwrap();
    let page = app.get("/setup/not-the-token/").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This setup link is not valid any more"));
}

async fn two_visitors_using_the_setup_link_at_once_create_one_superuser(app: TestApp) {
    use orgsettings::models::organization::OrgName;
    use orgsettings::models::user::{EmailAddress, NewUser, Password, Username};
    let token = app
        .with_db(|conn| setup::issue_if_empty(conn).unwrap())
        .await
        .unwrap();
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let visits: Vec<_> = ["ann", "bob"]
        .into_iter()
        .map(|name| {
            let (pool, start, token) = (app.pool.clone(), start.clone(), token.clone());
            tokio::task::spawn_blocking(move || {
                let new_user = NewUser {
                    username: Username::parse(name).unwrap(),
                    email: EmailAddress::parse(&format!("{name}@example.com")).unwrap(),
                    password: Some(Password::parse(PASSWORD).unwrap()),
                    is_superuser: true,
                    email_verified: true,
                };
                let org = OrgName::parse(&format!("{name} corp")).unwrap();
                let mut conn = pool.get().unwrap();
                start.wait();
                setup::complete(&mut conn, &token, &new_user, &org, None, None)
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut completed = 0;
    for visit in visits {
        completed += usize::from(visit.await.unwrap());
    }
    assert_eq!(completed, 1);
    let (user_count, org_count): (i64, i64) = app
        .with_db(|conn| {
            (
                users::table.count().get_result(conn).unwrap(),
                organizations::table.count().get_result(conn).unwrap(),
            )
        })
        .await;
    assert_eq!((user_count, org_count), (1, 1));
}
