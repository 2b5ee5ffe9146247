//! Delivers the outbox over SMTP (lettre), retrying failures with backoff.

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use super::MailConfig;
use crate::db::{AnyConnection, Pool, query};
use crate::models::email::{self, Email};

/// How often the outbox is looked at.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The SMTP transport of a URL (`smtp://user:password@host:port`, `smtps://…`).
pub fn transport(url: &str) -> anyhow::Result<SmtpTransport> {
    Ok(SmtpTransport::from_url(url)
        .with_context(|| format!("bad SMTP URL (ORGSETTINGS_SMTP_URL): {}", redact(url)))?
        .timeout(Some(Duration::from_secs(20)))
        .build())
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn message(mail: &MailConfig, email: &Email) -> anyhow::Result<Message> {
    let from: Mailbox = mail
        .from
        .parse()
        .with_context(|| format!("bad From address {}", mail.from))?;
    let to: Mailbox = email
        .to_address
        .parse()
        .with_context(|| format!("bad recipient {}", email.to_address))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(&email.subject)
        .multipart(MultiPart::alternative_plain_html(
            email.body_text.clone(),
            email.body_html.clone(),
        ))
        .context("building the message")
}

/// Sends every due email once; returns how many were sent. Each is claimed first, so two instances
/// never send the same one. Failures are recorded with the next attempt time.
pub fn deliver_due(
    conn: &mut AnyConnection,
    mail: &MailConfig,
    smtp: &SmtpTransport,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    for email in email::due(conn, query::now(), 50)? {
        if !email::claim(conn, email.id, query::now())? {
            continue;
        }
        let result = message(mail, &email).and_then(|m| smtp.send(&m).map_err(anyhow::Error::from));
        match result {
            Ok(_) => {
                email::mark_sent(conn, email.id)?;
                sent += 1;
                tracing::info!(email_id = email.id, to = %email.to_address, "email sent");
            }
            Err(err) => {
                let error = format!("{err:#}");
                tracing::warn!(email_id = email.id, to = %email.to_address, error = %error, "sending an email failed; it will be retried");
                email::mark_failed(conn, &email, &error)?;
            }
        }
    }
    Ok(sent)
}

/// Runs forever on the actix runtime, delivering the outbox every few seconds.
pub async fn run(pool: Pool, mail: MailConfig, smtp: SmtpTransport) {
    let mut interval = actix_web::rt::time::interval(INTERVAL);
    loop {
        interval.tick().await;
        let (pool, mail, smtp) = (pool.clone(), mail.clone(), smtp.clone());
        let result = actix_web::web::block(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            deliver_due(&mut conn, &mail, &smtp)
        })
        .await;
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::error!(error = format!("{err:#}"), "delivering the outbox failed")
            }
            Err(err) => tracing::error!(error = %err, "delivering the outbox failed"),
        }
    }
}
