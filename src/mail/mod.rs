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

#[derive(Template)]
#[template(path = "emails/password_reset.txt")]
struct PasswordResetText<'a> {
    username: &'a str,
    url: &'a str,
    requested_by: Option<&'a str>,
    ip: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "emails/password_reset.html")]
struct PasswordResetHtml<'a> {
    username: &'a str,
    url: &'a str,
    requested_by: Option<&'a str>,
    ip: Option<&'a str>,
}

/// "Password Recovery" (Sentry's subject and kind): the single-use link to set a new password,
/// asked for by the user (from `ip`) or sent by a superuser (`requested_by`).
pub fn password_reset(
    mail: &MailConfig,
    to: &str,
    username: &str,
    url: &str,
    requested_by: Option<&str>,
    ip: Option<&str>,
) -> askama::Result<NewEmail> {
    let subject = format!("{} Password Recovery", mail.subject_prefix);
    email(
        to,
        subject,
        "user.password_recovery",
        &PasswordResetText {
            username,
            url,
            requested_by,
            ip,
        },
        &PasswordResetHtml {
            username,
            url,
            requested_by,
            ip,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/password_changed.txt")]
struct PasswordChangedText<'a> {
    username: &'a str,
    how: &'a str,
    ip: Option<&'a str>,
    recover_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/password_changed.html")]
struct PasswordChangedHtml<'a> {
    username: &'a str,
    how: &'a str,
    ip: Option<&'a str>,
    recover_url: &'a str,
}

/// "Your password was changed": the security notice after a change or a reset (`how` says which).
pub fn password_changed(
    mail: &MailConfig,
    to: &str,
    username: &str,
    how: &str,
    ip: Option<&str>,
    recover_url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!("{} Your password was changed", mail.subject_prefix);
    email(
        to,
        subject,
        "user.password_changed",
        &PasswordChangedText {
            username,
            how,
            ip,
            recover_url,
        },
        &PasswordChangedHtml {
            username,
            how,
            ip,
            recover_url,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/email_changed.txt")]
struct EmailChangedText<'a> {
    username: &'a str,
    new_address: &'a str,
    recover_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_changed.html")]
struct EmailChangedHtml<'a> {
    username: &'a str,
    new_address: &'a str,
    recover_url: &'a str,
}

/// "Your primary email address was changed", to the old address.
pub fn primary_email_changed(
    mail: &MailConfig,
    to: &str,
    username: &str,
    new_address: &str,
    recover_url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!(
        "{} Your primary email address was changed",
        mail.subject_prefix
    );
    email(
        to,
        subject,
        "user.email_changed",
        &EmailChangedText {
            username,
            new_address,
            recover_url,
        },
        &EmailChangedHtml {
            username,
            new_address,
            recover_url,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/api_token_created.txt")]
struct ApiTokenText<'a> {
    username: &'a str,
    token: &'a str,
    ip: Option<&'a str>,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/api_token_created.html")]
struct ApiTokenHtml<'a> {
    username: &'a str,
    token: &'a str,
    ip: Option<&'a str>,
    url: &'a str,
}

/// "A new API token was added to your account" (Sentry's `api-token-generated` security email).
pub fn api_token_created(
    mail: &MailConfig,
    to: &str,
    username: &str,
    token: &str,
    ip: Option<&str>,
    url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!(
        "{} A new API token was added to your account",
        mail.subject_prefix
    );
    email(
        to,
        subject,
        "user.api_token_created",
        &ApiTokenText {
            username,
            token,
            ip,
            url,
        },
        &ApiTokenHtml {
            username,
            token,
            ip,
            url,
        },
    )
}

#[derive(Template)]
#[template(path = "emails/org_token_created.txt")]
struct OrgTokenText<'a> {
    organization: &'a str,
    name: &'a str,
    creator: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/org_token_created.html")]
struct OrgTokenHtml<'a> {
    organization: &'a str,
    name: &'a str,
    creator: &'a str,
    url: &'a str,
}

/// "New organization auth token", to each owner of the organization.
pub fn org_token_created(
    mail: &MailConfig,
    to: &str,
    organization: &str,
    name: &str,
    creator: &str,
    url: &str,
) -> askama::Result<NewEmail> {
    let subject = format!(
        "{} New organization auth token in {organization}",
        mail.subject_prefix
    );
    email(
        to,
        subject,
        "org.auth_token_created",
        &OrgTokenText {
            organization,
            name,
            creator,
            url,
        },
        &OrgTokenHtml {
            organization,
            name,
            creator,
            url,
        },
    )
}

/// A rendering error as the domain reports it.
pub fn render_failed(error: askama::Error) -> crate::errors::DomainError {
    crate::errors::DomainError::Internal(anyhow::Error::new(error).context("rendering an email"))
}
