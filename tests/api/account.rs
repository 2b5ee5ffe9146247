//! `/account/` (email verification), `/account/security/` (TOTP), the login's second step, and the
//! outbox with its SMTP sender.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use orgsettings::config::MailConfig;
use reqwest::StatusCode;

use crate::common::{
    PASSWORD, TestApp, enrol_totp, link_in, next_totp_code, outbox, totp_code, unverify,
};
use crate::on_both_backends;

on_both_backends!(
    a_user_verifies_their_email_with_the_link_sent_to_it,
    wrong_and_expired_verification_links_are_refused,
    setting_up_two_factor_shows_the_secret_and_recovery_codes_once,
    login_asks_for_the_code_and_takes_each_code_once,
    the_same_code_used_by_two_logins_at_once_lets_only_one_in,
    two_senders_delivering_the_outbox_at_once_send_each_email_once,
    recovery_codes_alone_do_not_count_as_two_factor,
);

async fn a_user_verifies_their_email_with_the_link_sent_to_it(app: TestApp) {
    let user = app.create_user("alice").await;
    unverify(&app, &user).await;
    app.login("alice", PASSWORD).await;
    let page = app.get("/account/").await;
    assert!(page.contains("alice@example.com"));
    assert!(page.contains("not verified"));
    app.post_form(
        "/account/",
        &[("action", "verify"), ("email", "alice@example.com")],
    )
    .await
    .assert_redirect("/account/");
    assert!(
        app.get("/account/")
            .await
            .contains("We sent a verification link to alice@example.com.")
    );
    let mail = outbox(&app).await.pop().unwrap();
    assert_eq!(mail.kind, "user.confirm_email");
    assert_eq!(mail.subject, "[orgsettings] Confirm your email address");
    let link = link_in(&mail.body_text, &app.base, "/account/confirm-email/").unwrap();
    let confirmed = TestApp::new_client()
        .get(app.url(&link))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(
        confirmed
            .text()
            .await
            .unwrap()
            .contains("alice@example.com is verified.")
    );
    assert!(app.get("/account/").await.contains(">verified<"));
    let again = app.get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "a link works once");
    app.post_form(
        "/account/",
        &[("action", "verify"), ("email", "alice@example.com")],
    )
    .await;
    assert!(
        app.get("/account/")
            .await
            .contains("alice@example.com is already verified.")
    );
}

async fn wrong_and_expired_verification_links_are_refused(app: TestApp) {
    let user = app.create_user("bob").await;
    unverify(&app, &user).await;
    app.login("bob", PASSWORD).await;
    app.post_form(
        "/account/",
        &[("action", "verify"), ("email", "bob@example.com")],
    )
    .await;
    let link = link_in(
        &outbox(&app).await.pop().unwrap().body_text,
        &app.base,
        "/account/confirm-email/",
    )
    .unwrap();
    let forged = format!("/account/confirm-email/{}/forged/", user.id);
    let page = app.get(&forged).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This verification link is not valid."));
    let id = user.id;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::user_emails;
        diesel::update(user_emails::table.filter(user_emails::user_id.eq(id)))
            .set(
                user_emails::date_hash_added
                    .eq(orgsettings::db::query::now() - chrono::Duration::days(4)),
            )
            .execute(conn)
            .unwrap();
    })
    .await;
    let expired = app.get(&link).await;
    assert!(expired.contains("This verification link has expired."));
    assert!(app.get("/account/").await.contains("not verified"));
    app.post_form(
        "/account/",
        &[("action", "verify"), ("email", "someone@else.example")],
    )
    .await;
    assert!(
        app.get("/account/")
            .await
            .contains("That address is not one of yours.")
    );
}

async fn setting_up_two_factor_shows_the_secret_and_recovery_codes_once(app: TestApp) {
    app.create_user("carol").await;
    app.login("carol", PASSWORD).await;
    let page = app.get("/account/security/").await;
    let secret = regex::Regex::new(r#"id="totp-secret">([A-Z2-7]+)<"#)
        .unwrap()
        .captures(&page.body)
        .unwrap()[1]
        .to_owned();
    assert!(
        page.body.contains("src=\"data:image/png;base64,"),
        "a server-rendered QR code"
    );
    assert!(
        app.get("/account/security/").await.body.contains(&secret),
        "the same secret on reload"
    );
    let wrong = app
        .post_form(
            "/account/security/",
            &[("action", "enrol"), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong
            .field_error("code")
            .unwrap()
            .starts_with("That code is not right.")
    );
    let code = totp_code(&secret);
    app.post_form(
        "/account/security/",
        &[("action", "enrol"), ("code", code.as_str())],
    )
    .await
    .assert_redirect("/account/security/");
    let done = app.get("/account/security/").await;
    assert!(done.contains("Two-factor authentication is on"));
    let codes: Vec<String> = regex::Regex::new(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")
        .unwrap()
        .captures_iter(&done.body)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(
        !app.get("/account/security/").await.contains(&codes[0]),
        "shown once"
    );
    assert!(
        app.get("/account/security/")
            .await
            .contains("Recovery codes left: 10.")
    );
}

async fn login_asks_for_the_code_and_takes_each_code_once(app: TestApp) {
    let user = app.create_user("dave").await;
    let secret = enrol_totp(&app, &user).await;
    app.get("/login").await;
    let first = app
        .post_form(
            "/login",
            &[
                ("username", "dave"),
                ("password", PASSWORD),
                ("next", "/account/"),
            ],
        )
        .await;
    first.assert_redirect("/login/2fa/");
    assert_eq!(
        app.get("/organizations/").await.status,
        StatusCode::SEE_OTHER,
        "not logged in yet"
    );
    app.get("/login/2fa/").await;
    let wrong = app.post_form("/login/2fa/", &[("code", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let code = next_totp_code(&secret);
    app.post_form("/login/2fa/", &[("code", code.as_str())])
        .await
        .assert_redirect("/account/");
    assert_eq!(app.get("/organizations/").await.status, StatusCode::OK);

    // the same code again is refused (no replay); a recovery code works once
    let codes = app
        .with_db({
            let user = user.clone();
            move |conn| {
                orgsettings::auth::two_factor::regenerate_recovery_codes(conn, user.id).unwrap()
            }
        })
        .await;
    let other = app.visitor();
    other.get("/login").await;
    other
        .post_form("/login", &[("username", "dave"), ("password", PASSWORD)])
        .await
        .assert_redirect("/login/2fa/");
    other.get("/login/2fa/").await;
    assert_eq!(
        other
            .post_form("/login/2fa/", &[("code", code.as_str())])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let upper = codes[0].to_uppercase();
    other
        .post_form("/login/2fa/", &[("code", upper.as_str())])
        .await
        .assert_redirect("/organizations/");
    let third = app.visitor();
    third.get("/login").await;
    third
        .post_form("/login", &[("username", "dave"), ("password", PASSWORD)])
        .await;
    third.get("/login/2fa/").await;
    assert_eq!(
        third
            .post_form("/login/2fa/", &[("code", codes[0].as_str())])
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "used up"
    );
}

async fn the_same_code_used_by_two_logins_at_once_lets_only_one_in(app: TestApp) {
    let user = app.create_user("ann").await;
    let secret = enrol_totp(&app, &user).await;
    let user_id = user.id;
    let recovery = app
        .with_db(move |conn| {
            orgsettings::auth::two_factor::regenerate_recovery_codes(conn, user_id).unwrap()
        })
        .await;
    for code in [next_totp_code(&secret), recovery[0].clone()] {
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let logins: Vec<_> = (0..2)
            .map(|_| {
                let (pool, start, user, code) =
                    (app.pool.clone(), start.clone(), user.clone(), code.clone());
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().unwrap();
                    start.wait();
                    orgsettings::auth::two_factor::verify(&mut conn, &user, &code).unwrap()
                })
            })
            .collect();
        let mut accepted = 0;
        for login in logins {
            accepted += usize::from(login.await.unwrap());
        }
        assert_eq!(accepted, 1, "code {code}");
    }
    let left = app
        .with_db(move |conn| {
            orgsettings::auth::two_factor::recovery_codes_left(conn, user_id).unwrap()
        })
        .await;
    assert_eq!(left, recovery.len() - 1);
}

async fn two_senders_delivering_the_outbox_at_once_send_each_email_once(app: TestApp) {
    const QUEUED: usize = 20;
    let mail = MailConfig::default();
    for i in 0..QUEUED {
        let queued = orgsettings::mail::confirm_email(
            &mail,
            &format!("u{i}@example.com"),
            "http://x/confirm",
        )
        .unwrap();
        app.with_db(move |conn| orgsettings::models::email::queue(conn, &queued).unwrap())
            .await;
    }
    let server = FakeSmtp::start();
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let (pool, start, mail, url) =
                (app.pool.clone(), start.clone(), mail.clone(), server.url());
            tokio::task::spawn_blocking(move || {
                let smtp = orgsettings::mail::sender::transport(&url).unwrap();
                let mut conn = pool.get().unwrap();
                start.wait();
                orgsettings::mail::sender::deliver_due(&mut conn, &mail, &smtp).unwrap()
            })
        })
        .collect();
    let mut sent = 0;
    for sender in senders {
        sent += sender.await.unwrap();
    }
    assert_eq!(sent, QUEUED);
    assert_eq!(server.messages().len(), QUEUED);
    assert!(
        outbox(&app)
            .await
            .iter()
            .all(|email| email.sent_at.is_some() && email.attempts == 1)
    );
}

async fn recovery_codes_alone_do_not_count_as_two_factor(app: TestApp) {
    let user = app.create_user("erin").await;
    let id = user.id;
    app.with_db(move |conn| {
        orgsettings::auth::two_factor::regenerate_recovery_codes(conn, id).unwrap()
    })
    .await;
    let has = app
        .with_db(move |conn| user.has_two_factor(conn).unwrap())
        .await;
    assert!(!has);
}

/// A fake SMTP server: takes any number of connections and keeps every message it gets.
struct FakeSmtp {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve_smtp(stream, &store));
            }
        });
        FakeSmtp { port, received }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

fn serve_smtp(stream: std::net::TcpStream, received: &Mutex<Vec<String>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut message: Option<String> = None;
    writer.write_all(b"220 fake ESMTP\r\n").unwrap();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(body) = message.as_mut() {
            if line == ".\r\n" {
                received
                    .lock()
                    .unwrap()
                    .push(message.take().unwrap_or_default());
                writer.write_all(b"250 queued\r\n").unwrap();
            } else {
                body.push_str(&line);
            }
            continue;
        }
        let command = line.to_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 fake\r\n"
        } else if command.starts_with("DATA") {
            message = Some(String::new());
            b"354 go ahead\r\n"
        } else if command.starts_with("QUIT") {
            writer.write_all(b"221 bye\r\n").unwrap();
            break;
        } else {
            b"250 ok\r\n"
        };
        writer.write_all(reply).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_delivers_the_outbox_over_smtp_and_retries_failures_later() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    let mail = MailConfig::default();
    let queued =
        orgsettings::mail::confirm_email(&mail, "frank@example.com", "http://x/confirm").unwrap();
    app.with_db(move |conn| orgsettings::models::email::queue(conn, &queued).unwrap())
        .await;

    // no server listening: the attempt fails, is recorded, and waits before the next one
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = mail.clone();
    let sent = app
        .with_db(move |conn| {
            let smtp = orgsettings::mail::sender::transport(&format!("smtp://127.0.0.1:{closed}"))
                .unwrap();
            orgsettings::mail::sender::deliver_due(conn, &config, &smtp).unwrap()
        })
        .await;
    assert_eq!(sent, 0);
    let failed = outbox(&app).await.pop().unwrap();
    assert_eq!(failed.attempts, 1);
    assert!(failed.sent_at.is_none() && failed.last_error.is_some());
    assert!(failed.next_attempt_at > orgsettings::db::query::now());

    // due again: a server takes it
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::emails;
        diesel::update(emails::table)
            .set(emails::next_attempt_at.eq(orgsettings::db::query::now()))
            .execute(conn)
            .unwrap();
    })
    .await;
    let server = FakeSmtp::start();
    let config = mail.clone();
    let url = server.url();
    let sent = app
        .with_db(move |conn| {
            let smtp = orgsettings::mail::sender::transport(&url).unwrap();
            orgsettings::mail::sender::deliver_due(conn, &config, &smtp).unwrap()
        })
        .await;
    assert_eq!(sent, 1);
    let received = server.messages().concat();
    assert!(received.contains("To: frank@example.com"), "{received}");
    assert!(
        received.contains("Subject: [orgsettings] Confirm your email address"),
        "{received}"
    );
    assert!(outbox(&app).await.pop().unwrap().sent_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superusers_with_options_admin_read_the_outbox() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    let admin = app.create_user_with("admin", true).await;
    let owner = app.create_user("owner").await;
    app.create_org(&owner, "Acme", "acme").await;
    let visitor = app.visitor();
    visitor.login("owner", PASSWORD).await;
    visitor.get("/settings/acme/members/").await;
    visitor
        .post_form(
            "/settings/acme/members/",
            &[
                ("action", "invite"),
                ("email", "gina@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    app.login("admin", PASSWORD).await;
    assert_eq!(
        app.get("/manage/outbox/").await.status,
        StatusCode::FORBIDDEN,
        "superuser mode first"
    );
    app.get("/superuser/").await;
    app.post_form("/superuser/", &[("password", PASSWORD)])
        .await;
    let refused = app.get("/manage/outbox/").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "options.admin too");
    assert!(refused.contains("This page needs the options.admin permission."));
    assert!(!refused.contains("gina@example.com"));
    let id = admin.id;
    app.with_db(move |conn| {
        orgsettings::models::permission::add(
            conn,
            id,
            orgsettings::models::permission::OPTIONS_ADMIN,
        )
        .unwrap()
    })
    .await;
    let page = app.get("/manage/outbox/").await;
    assert!(page.contains("[orgsettings] Join Acme on orgsettings"));
    assert!(page.contains("gina@example.com"));
    assert!(
        page.contains("<th scope=\"col\">Kind</th>"),
        "a table with the kind column"
    );
    assert!(page.contains("<td data-label=\"Kind\"><code>member.invite</code></td>"));
    assert!(page.contains("not sent"));
    assert!(page.contains("No SMTP server is configured"));
    assert!(
        page.contains("owner invited you to join Acme"),
        "the body is readable"
    );
}
