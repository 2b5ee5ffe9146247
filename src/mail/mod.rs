//! Emails: what each one says (askama templates in `templates/emails/`), and the sender that delivers
//! the outbox over SMTP when it is configured.

pub mod sender;

use askama::Template;

use crate::config::MailConfig;
use crate::models::email::NewEmail;
use crate::pyfmt::py_capitalize;

fn email<T: Template, H: Template>(
    to: &str,
    subject: String,
    kind: &'static str,
    text: &T,
    html: &H,
) -> askama::Result<NewEmail> {
    Ok(NewEmail {
        to: to.to_owned(),
        subject,
        text: text.render()?,
        html: html.render()?,
        kind,
    })
}

#[derive(Template)]
#[template(path = "emails/invite.txt")]
struct InviteText<'a> {
    inviter: &'a str,
    organization: &'a str,
    role: &'a str,
    url: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/invite.html")]
struct InviteHtml<'a> {
    inviter: &'a str,
    organization: &'a str,
    role: &'a str,
    url: &'a str,
    expires: &'a str,
}

/// "Join {org}": an invitation with its accept link.
pub fn invite(
    mail: &MailConfig,
    to: &str,
    inviter: &str,
    organization: &str,
    role: &str,
    url: &str,
    expires: &str,
) -> askama::Result<NewEmail> {
    let subject = format!("{} Join {organization} on orgsettings", mail.subject_prefix);
    email(
        to,
        subject,
        "member.invite",
        &InviteText {
            inviter,
            organization,
            role,
            url,
            expires,
        },
        &InviteHtml {
            inviter,
            organization,
            role,
            url,
            expires,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/setup_email.txt")]
struct SetupEmailText<'a> {
    organization: &'a str,
    email: &'a str,
    confirm_url: &'a str,
    invite_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/setup_email.html")]
struct SetupEmailHtml<'a> {
    organization: &'a str,
    email: &'a str,
    confirm_url: &'a str,
    invite_url: &'a str,
}

/// "Mandatory: Verify Email Address" (Sentry's `setup_email`), to a member removed for an unverified
/// address: the verification link and the invite link to come back.
pub fn setup_email(
    mail: &MailConfig,
    to: &str,
    organization: &str,
    confirm_url: &str,
    invite_url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!(
        "{} {} Mandatory: Verify Email Address",
        mail.subject_prefix,
        py_capitalize(organization)
    );
    email(
        to,
        subject,
        "user.setup_email",
        &SetupEmailText {
            organization,
            email: to,
            confirm_url,
            invite_url,
        },
        &SetupEmailHtml {
            organization,
            email: to,
            confirm_url,
            invite_url,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/setup_2fa.txt")]
struct Setup2faText<'a> {
    organization: &'a str,
    security_url: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/setup_2fa.html")]
struct Setup2faHtml<'a> {
    organization: &'a str,
    security_url: &'a str,
    url: &'a str,
}

/// "Mandatory: Enable Two-Factor Authentication" (Sentry's `setup_2fa`), with the invite link.
pub fn setup_2fa(
    mail: &MailConfig,
    to: &str,
    organization: &str,
    security_url: &str,
    url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!(
        "{} {} Mandatory: Enable Two-Factor Authentication",
        mail.subject_prefix,
        py_capitalize(organization)
    );
    email(
        to,
        subject,
        "user.setup_2fa",
        &Setup2faText {
            organization,
            security_url,
            url,
        },
        &Setup2faHtml {
            organization,
            security_url,
            url,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/confirm_email.txt")]
struct ConfirmText<'a> {
    email: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/confirm_email.html")]
struct ConfirmHtml<'a> {
    email: &'a str,
    url: &'a str,
}

/// "Confirm your email address": the verification link of one of the user's addresses.
pub fn confirm_email(mail: &MailConfig, to: &str, url: &str) -> askama::Result<NewEmail> {
    let subject = format!("{} Confirm your email address", mail.subject_prefix);
    email(
        to,
        subject,
        "user.confirm_email",
        &ConfirmText { email: to, url },
        &ConfirmHtml { email: to, url },
    )
}
