//! Relay registration (docs/relay-registration.md): the handshake with Sentry's own Relay library
//! (`sentry-relay` from PyPI, driven by `tests/clients/relay.py`), the usage it records, the
//! Relays page and `relay_usage`, `publickeys`, and every refusal, none of which writes a row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Options, TestApp, relay_client, relay_python};
use crate::on_both_backends;

const SECRET: &str = "the instance secret of this test, long enough";
const RELAY_ID: &str = "67f400f9-7924-40c4-82a3-3fdb25b6d820";
const OTHER_ID: &str = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";

on_both_backends!(
    a_relay_made_with_sentrys_library_registers_and_re_registering_updates_last_seen,
    the_relays_page_and_relay_usage_show_the_organizations_trusted_keys_only,
    the_librarys_tokens_and_the_servers_are_one_format,
    a_registered_relay_gets_other_relays_keys_by_signing_its_request,
    every_refusal_of_the_handshake_answers_as_sentry_and_records_nothing,
    expired_replayed_and_foreign_challenges_are_refused,
    with_open_registration_off_only_trusted_keys_and_static_relays_register,
    signed_requests_of_unknown_or_badly_signed_relays_are_refused,
);

/// The same backend again, with this relay configuration (and the test's known secret).
async fn relay_app(app: TestApp, configure: fn(&mut orgsettings::config::RelayConfig)) -> TestApp {
    let backend = app.backend;
    drop(app);
    let mut options = Options::new(backend);
    options.config = Box::new(move |config| {
        config.relay.secret = SECRET.as_bytes().to_vec();
        configure(&mut config.relay);
    });
    TestApp::spawn_with(options)
        .await
        .expect("the same backend")
}

async fn usage_rows(app: &TestApp) -> i64 {
    app.with_db(|conn| orgsettings::models::relay::usage_count(conn).unwrap())
        .await
}

/// A relay's key pair, made here (for requests the library would never send).
struct Relay {
    id: &'static str,
    key: ed25519_dalek::SigningKey,
    public: String,
}

impl Relay {
    fn new(id: &'static str, seed: u8) -> Relay {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        Relay { id, key, public }
    }

    /// Relay's signature format, signed at `at`.
    fn sign_at(&self, body: &[u8], at: chrono::DateTime<chrono::Utc>) -> String {
        let header = format!(
            "{{\"t\":\"{}\"}}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        );
        let mut signed = header.as_bytes().to_vec();
        signed.push(0);
        signed.extend_from_slice(body);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.key.sign(&signed).to_bytes()),
            URL_SAFE_NO_PAD.encode(header)
        )
    }

    fn sign(&self, body: &[u8]) -> String {
        self.sign_at(body, chrono::Utc::now())
    }

    fn challenge_body(&self) -> Vec<u8> {
        json!({"relay_id": self.id, "public_key": self.public, "version": "25.11.0"})
            .to_string()
            .into_bytes()
    }
}

async fn post(
    app: &TestApp,
    path: &str,
    body: &[u8],
    relay_id: Option<&str>,
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(id) = relay_id {
        request = request.header("X-Sentry-Relay-Id", id);
    }
    if let Some(signature) = signature {
        request = request.header("X-Sentry-Relay-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

const CHALLENGE: &str = "/api/0/relays/register/challenge/";
const RESPONSE: &str = "/api/0/relays/register/response/";
const PUBLIC_KEYS: &str = "/api/0/relays/publickeys/";

/// The challenge the server gives this relay.
async fn challenge_token(app: &TestApp, relay: &Relay) -> String {
    let body = relay.challenge_body();
    let (status, answer) = post(
        app,
        CHALLENGE,
        &body,
        Some(relay.id),
        Some(&relay.sign(&body)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

async fn answer_challenge(app: &TestApp, relay: &Relay, token: &str) -> (StatusCode, Value) {
    let body = json!({"relay_id": relay.id, "token": token, "version": "25.11.0"})
        .to_string()
        .into_bytes();
    post(
        app,
        RESPONSE,
        &body,
        Some(relay.id),
        Some(&relay.sign(&body)),
    )
    .await
}

type UsageRow = (
    String,
    String,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

/// Every usage row, oldest first: relay id, version, key, first seen, last seen.
async fn usage(app: &TestApp) -> Vec<UsageRow> {
    app.with_db(|conn| {
        use diesel::prelude::*;
        use orgsettings::db::schema::relay_usage as u;
        u::table
            .select((
                u::relay_id,
                u::version,
                u::public_key,
                u::first_seen,
                u::last_seen,
            ))
            .order(u::id)
            .load::<UsageRow>(conn)
            .unwrap()
    })
    .await
}

async fn a_relay_made_with_sentrys_library_registers_and_re_registering_updates_last_seen(
    app: TestApp,
) {
    let Some(python) = relay_python() else { return };
    let base = app.base.clone();
    let first = relay_client(&python, &["register", &base, "--version", "25.11.0"]).await;
    assert_eq!(first["challenge_status"], 200, "{first}");
    assert_eq!(first["challenge"]["relay_id"], first["relay_id"]);
    assert_eq!(first["response_status"], 200, "{first}");
    assert_eq!(first["response"], json!({"relay_id": first["relay_id"]}));
    let rows = usage(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, first["relay_id"].as_str().unwrap());
    assert_eq!(rows[0].1, "25.11.0");
    assert_eq!(rows[0].2, first["public_key"].as_str().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (id, secret, public) = (
        first["relay_id"].as_str().unwrap(),
        first["secret_key"].as_str().unwrap(),
        first["public_key"].as_str().unwrap(),
    );
    let again = relay_client(
        &python,
        &[
            "register",
            &base,
            "--relay-id",
            id,
            "--secret-key",
            secret,
            "--public-key",
            public,
            "--version",
            "25.11.0",
        ],
    )
    .await;
    assert_eq!(again["response_status"], 200, "{again}");
    let rows_again = usage(&app).await;
    assert_eq!(rows_again.len(), 1, "the same relay and version: one row");
    assert_eq!(rows_again[0].3, rows[0].3, "first seen kept");
    assert!(rows_again[0].4 > rows[0].4, "last seen moved on");
    let upgraded = relay_client(
        &python,
        &[
            "register",
            &base,
            "--relay-id",
            id,
            "--secret-key",
            secret,
            "--public-key",
            public,
            "--version",
            "26.1.0",
        ],
    )
    .await;
    assert_eq!(upgraded["response_status"], 200, "{upgraded}");
    let versions: Vec<String> = usage(&app).await.into_iter().map(|r| r.1).collect();
    assert_eq!(versions, vec!["25.11.0", "26.1.0"], "one row per version");
}

async fn the_relays_page_and_relay_usage_show_the_organizations_trusted_keys_only(app: TestApp) {
    let Some(python) = relay_python() else { return };
    app.owner_of_acme().await;
    let base = app.base.clone();
    let trusted = relay_client(&python, &["register", &base, "--version", "25.11.0"]).await;
    let stranger = relay_client(&python, &["register", &base, "--version", "25.10.0"]).await;
    assert_eq!(trusted["response_status"], 200);
    assert_eq!(stranger["response_status"], 200);
    let never = Relay::new(OTHER_ID, 9);
    let (status, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"trustedRelays": [
                {"name": "edge", "publicKey": trusted["public_key"]},
                {"name": "spare", "publicKey": never.public},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, usage) = app.api_get("/api/0/organizations/acme/relay_usage/").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let rows = usage.as_array().unwrap();
    assert_eq!(rows.len(), 1, "the stranger's relay is not shown: {usage}");
    assert_eq!(rows[0]["relayId"], trusted["relay_id"]);
    assert_eq!(rows[0]["publicKey"], trusted["public_key"]);
    assert_eq!(rows[0]["version"], "25.11.0");
    assert!(rows[0]["firstSeen"].as_str().unwrap().ends_with('Z'));
    assert!(rows[0]["lastSeen"].as_str().is_some());

    let page = app.get("/settings/acme/relays/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("25.11.0"), "the trusted key's version");
    assert!(!page.contains("25.10.0"), "nothing of the stranger");
    assert!(page.contains("Never"), "the key that never connected");
}

async fn the_librarys_tokens_and_the_servers_are_one_format(app: TestApp) {
    let Some(python) = relay_python() else { return };
    let app = relay_app(app, |_| {}).await;
    let base = app.base.clone();
    // a token the library mints with this instance's secret is one the server accepts
    let minted = relay_client(&python, &["register", &base, "--token-secret", SECRET]).await;
    assert_eq!(minted["response_status"], 200, "{minted}");
    // and one minted with another secret is refused
    let foreign = relay_client(
        &python,
        &["register", &base, "--token-secret", "another secret"],
    )
    .await;
    assert_eq!(foreign["response_status"], 400, "{foreign}");
    assert_eq!(foreign["response"]["detail"], "invalid signature on data");
    // the library's own server side accepts the server's token, signed as a relay answers it
    let served = relay_client(&python, &["register", &base]).await;
    let checked = relay_client(
        &python,
        &[
            "validate",
            SECRET,
            served["answer"].as_str().unwrap(),
            served["answer_signature"].as_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["relay_id"], served["relay_id"]);
    assert_eq!(checked["public_key"], served["public_key"]);
    assert_eq!(
        usage_rows(&app).await,
        2,
        "the foreign token recorded nothing"
    );
}

async fn a_registered_relay_gets_other_relays_keys_by_signing_its_request(app: TestApp) {
    let Some(python) = relay_python() else { return };
    let base = app.base.clone();
    let asking = relay_client(&python, &["register", &base]).await;
    let other = relay_client(&python, &["register", &base]).await;
    let unknown = "11111111-2222-4333-8444-555555555555";
    let answer = relay_client(
        &python,
        &[
            "publickeys",
            &base,
            asking["relay_id"].as_str().unwrap(),
            asking["secret_key"].as_str().unwrap(),
            other["relay_id"].as_str().unwrap(),
            unknown,
        ],
    )
    .await;
    assert_eq!(answer["status"], 200, "{answer}");
    let other_id = other["relay_id"].as_str().unwrap();
    assert_eq!(
        answer["body"],
        json!({
            "public_keys": {other_id: other["public_key"], unknown: null},
            "relays": {
                other_id: {"publicKey": other["public_key"], "internal": false},
                unknown: null,
            },
        })
    );
}

/// What is wrong, the body, the id and signature headers, and the expected answer.
type Refused = (
    &'static str,
    Vec<u8>,
    Option<&'static str>,
    Option<String>,
    StatusCode,
    Value,
);

async fn every_refusal_of_the_handshake_answers_as_sentry_and_records_nothing(app: TestApp) {
    let relay = Relay::new(RELAY_ID, 1);
    let body = relay.challenge_body();
    let good = relay.sign(&body);
    let detail = |message: &str| json!({ "detail": message });
    let cases: Vec<Refused> = vec![
        (
            "malformed JSON",
            b"{not json".to_vec(),
            Some(RELAY_ID),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            detail("No valid json body"),
        ),
        (
            "no relay id",
            json!({"public_key": relay.public}).to_string().into_bytes(),
            Some(RELAY_ID),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            json!({"relay_id": ["This field is required."]}),
        ),
        (
            "a malformed relay id and no key",
            json!({"relay_id": "not-a-uuid"}).to_string().into_bytes(),
            Some(RELAY_ID),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            json!({
                "relay_id": ["This value does not match the required pattern."],
                "public_key": ["This field is required."],
            }),
        ),
        (
            "an unsupported version",
            json!({"relay_id": RELAY_ID, "public_key": relay.public, "version": "latest"})
                .to_string()
                .into_bytes(),
            Some(RELAY_ID),
            Some(good.clone()),
            StatusCode::FORBIDDEN,
            detail("Relay version no longer supported, please upgrade to a more recent version"),
        ),
        (
            "no signature",
            body.clone(),
            Some(RELAY_ID),
            None,
            StatusCode::BAD_REQUEST,
            detail("Missing relay signature"),
        ),
        (
            "a signature over another body",
            body.clone(),
            Some(RELAY_ID),
            Some(relay.sign(b"{}")),
            StatusCode::BAD_REQUEST,
            detail("invalid signature on data"),
        ),
        (
            "a malformed key",
            json!({"relay_id": RELAY_ID, "public_key": "not a key"})
                .to_string()
                .into_bytes(),
            Some(RELAY_ID),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            detail("could not deserialize payload"),
        ),
        (
            "a clock two minutes behind",
            body.clone(),
            Some(RELAY_ID),
            Some(relay.sign_at(&body, chrono::Utc::now() - chrono::Duration::seconds(120))),
            StatusCode::BAD_REQUEST,
            detail("signature is too old"),
        ),
        (
            "a clock two minutes ahead",
            body.clone(),
            Some(RELAY_ID),
            Some(relay.sign_at(&body, chrono::Utc::now() + chrono::Duration::seconds(120))),
            StatusCode::BAD_REQUEST,
            detail("signature is too old"),
        ),
        (
            "another relay id in the header",
            body.clone(),
            Some(OTHER_ID),
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            detail("relay_id in payload did not match header"),
        ),
    ];
    for (what, body, id, signature, status, expected) in cases {
        let (got, answer) = post(&app, CHALLENGE, &body, id, signature.as_deref()).await;
        assert_eq!((got, &answer), (status, &expected), "{what}");
    }
    let too_big = vec![b' '; 65 * 1024];
    let (status, _) = post(&app, CHALLENGE, &too_big, Some(RELAY_ID), Some(&good)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // a relay id registered with one key cannot register with another
    let token = challenge_token(&app, &relay).await;
    assert_eq!(
        answer_challenge(&app, &relay, &token).await.0,
        StatusCode::OK
    );
    let impostor = Relay {
        id: RELAY_ID,
        ..Relay::new(RELAY_ID, 2)
    };
    let body = impostor.challenge_body();
    let (status, answer) = post(
        &app,
        CHALLENGE,
        &body,
        Some(RELAY_ID),
        Some(&impostor.sign(&body)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer,
        detail("Attempted to register agent with a different public key")
    );
    assert_eq!(usage_rows(&app).await, 1, "only the one registration");
}

async fn expired_replayed_and_foreign_challenges_are_refused(app: TestApp) {
    let app = relay_app(app, |_| {}).await;
    let relay = Relay::new(RELAY_ID, 3);
    let detail = |message: &str| json!({ "detail": message });

    // a token made over a minute ago (as this instance would have made it)
    let old = orgsettings::relay::auth::RegisterState {
        timestamp: chrono::Utc::now().timestamp() - 61,
        relay_id: RELAY_ID.into(),
        public_key: relay.public.clone(),
        rand: "old".into(),
    };
    let expired = orgsettings::relay::auth::sign_state(&old, SECRET.as_bytes()).unwrap();
    assert_eq!(
        answer_challenge(&app, &relay, &expired).await,
        (StatusCode::UNAUTHORIZED, detail("Challenge expired"))
    );
    // one made by another instance
    let fresh = orgsettings::relay::auth::RegisterState {
        timestamp: chrono::Utc::now().timestamp(),
        ..old.clone()
    };
    let foreign =
        orgsettings::relay::auth::sign_state(&fresh, b"another instance's secret").unwrap();
    assert_eq!(
        answer_challenge(&app, &relay, &foreign).await,
        (StatusCode::BAD_REQUEST, detail("invalid signature on data"))
    );
    // a token for another relay id, answered as this one
    let theirs = orgsettings::relay::auth::RegisterState {
        relay_id: OTHER_ID.into(),
        ..fresh.clone()
    };
    let theirs = orgsettings::relay::auth::sign_state(&theirs, SECRET.as_bytes()).unwrap();
    assert_eq!(
        answer_challenge(&app, &relay, &theirs).await,
        (
            StatusCode::BAD_REQUEST,
            detail("relay_id in payload did not match header")
        )
    );
    // an answer signed long ago
    let token = challenge_token(&app, &relay).await;
    let body = json!({"relay_id": RELAY_ID, "token": token})
        .to_string()
        .into_bytes();
    let stale = relay.sign_at(&body, chrono::Utc::now() - chrono::Duration::seconds(90));
    assert_eq!(
        post(&app, RESPONSE, &body, Some(RELAY_ID), Some(&stale)).await,
        (StatusCode::UNAUTHORIZED, detail("Challenge expired"))
    );
    assert_eq!(usage_rows(&app).await, 0);
    // the same token answered twice: the second is refused
    assert_eq!(
        answer_challenge(&app, &relay, &token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        answer_challenge(&app, &relay, &token).await,
        (
            StatusCode::BAD_REQUEST,
            detail("Challenge already answered")
        )
    );
    assert_eq!(usage_rows(&app).await, 1);
}

async fn with_open_registration_off_only_trusted_keys_and_static_relays_register(app: TestApp) {
    let app = relay_app(app, |relay| {
        relay.open_registration = false;
        relay.static_relays.insert(
            OTHER_ID.into(),
            orgsettings::config::StaticRelay {
                public_key: Relay::new(OTHER_ID, 5).public,
                internal: true,
            },
        );
    })
    .await;
    app.owner_of_acme().await;
    let relay = Relay::new(RELAY_ID, 4);
    let body = relay.challenge_body();
    let (status, answer) = post(
        &app,
        CHALLENGE,
        &body,
        Some(RELAY_ID),
        Some(&relay.sign(&body)),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Relay is not allowed to register"})
        )
    );
    let (status, body) = app
        .api_put(
            "/api/0/organizations/acme/",
            json!({"trustedRelays": [{"name": "edge", "publicKey": relay.public}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = challenge_token(&app, &relay).await;
    assert_eq!(
        answer_challenge(&app, &relay, &token).await.0,
        StatusCode::OK
    );
    // a static relay registers too, and leaves no usage
    let static_relay = Relay::new(OTHER_ID, 5);
    let token = challenge_token(&app, &static_relay).await;
    assert_eq!(
        answer_challenge(&app, &static_relay, &token).await.0,
        StatusCode::OK
    );
    assert_eq!(usage_rows(&app).await, 1);
    // as an internal relay, it sees which relays are internal
    let request = json!({"relay_ids": [OTHER_ID, RELAY_ID]})
        .to_string()
        .into_bytes();
    let (status, answer) = post(
        &app,
        PUBLIC_KEYS,
        &request,
        Some(OTHER_ID),
        Some(&static_relay.sign(&request)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["relays"][OTHER_ID]["internal"], true);
    assert_eq!(answer["relays"][RELAY_ID]["internal"], false);
    assert_eq!(answer["public_keys"][RELAY_ID], relay.public.as_str());
}

async fn signed_requests_of_unknown_or_badly_signed_relays_are_refused(app: TestApp) {
    let relay = Relay::new(RELAY_ID, 6);
    let token = challenge_token(&app, &relay).await;
    assert_eq!(
        answer_challenge(&app, &relay, &token).await.0,
        StatusCode::OK
    );
    let request = json!({"relay_ids": [RELAY_ID]}).to_string().into_bytes();
    let detail = |message: &str| json!({ "detail": message });
    let stranger = Relay::new(OTHER_ID, 7);
    for (what, id, signature, expected) in [
        (
            "no relay id",
            None,
            Some(relay.sign(&request)),
            detail("Authentication credentials were not provided."),
        ),
        (
            "no signature",
            Some(RELAY_ID),
            None,
            detail("Missing relay signature"),
        ),
        (
            "an unknown relay",
            Some(OTHER_ID),
            Some(stranger.sign(&request)),
            detail("Unknown relay"),
        ),
        (
            "another key's signature",
            Some(RELAY_ID),
            Some(stranger.sign(&request)),
            detail("Invalid relay signature"),
        ),
        (
            "a signature over another body",
            Some(RELAY_ID),
            Some(relay.sign(b"{}")),
            detail("Invalid relay signature"),
        ),
        (
            "a signature six minutes old",
            Some(RELAY_ID),
            Some(relay.sign_at(
                &request,
                chrono::Utc::now() - chrono::Duration::seconds(360),
            )),
            detail("Invalid relay signature"),
        ),
    ] {
        let answer = post(&app, PUBLIC_KEYS, &request, id, signature.as_deref()).await;
        assert_eq!(answer, (StatusCode::UNAUTHORIZED, expected), "{what}");
    }
    let fresh = relay.sign(&request);
    let (status, answer) = post(&app, PUBLIC_KEYS, &request, Some(RELAY_ID), Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["public_keys"][RELAY_ID], relay.public.as_str());
}
