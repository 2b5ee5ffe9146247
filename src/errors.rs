//! The domain's errors, and which error type belongs where.
//!
//! | where | error type | why |
//! |---|---|---|
//! | `db` (setup) | `db::DbSetupError` | connecting and migrating fail with the URL and the cause |
//! | `models` | `diesel::QueryResult` | a model runs queries and nothing else |
//! | the domain (`settings`, `members`, `accounts`, `auth`, …) | [`DomainError`] | a change, login step or invitation that did not happen: invalid input ([`FieldErrors`], shown next to the fields), a refusal in words, too many tries, a conflict, or a failure |
//! | background work, mail, the CLI | `anyhow::Result` | logged or printed as one line with its causes |
//! | HTML handlers | `web::error::AppError` | a status code and an error page; the cause is logged, never shown |
//! | JSON handlers | `web::api::error::ApiError` | Django REST framework's shapes (`{"detail": …}`, `{"field": [...]}`) |
//!
//! Field errors are data, not exceptions: every flow that validates input returns them, and the web
//! layer shows them next to the field (HTML) or as Sentry's `{"field": ["message"]}` body (JSON).
//! `AppError` and `ApiError` convert from `DomainError`; a handler matches the cases it renders
//! itself (a form with its errors) and passes on the rest with `?`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Messages per field name, in the order they were found.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on one field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Records the error of a parse result and returns its value, if any.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The messages of one field, joined for display under it (empty when the field is fine).
    pub fn get(&self, field: &str) -> String {
        self.0.get(field).map(|m| m.join(" ")).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The same errors with the field `from` called `to` (an API naming a field otherwise).
    pub fn renamed(mut self, from: &str, to: &str) -> Self {
        if from != to
            && let Some(messages) = self.0.remove(from)
        {
            self.0.entry(to.to_owned()).or_default().extend(messages);
        }
        self
    }

    /// `Ok(())` when there are no errors, so validation can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), DomainError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self))
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

/// A field that someone else changed after the editing form was rendered, to a value other than the
/// one this save wants: saving would silently undo their change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub field: &'static str,
    /// What the form showed.
    pub shown: serde_json::Value,
    /// What is stored now.
    pub theirs: serde_json::Value,
    /// What this save wanted.
    pub yours: serde_json::Value,
}

/// Why a domain operation (a save, an invitation, a login step, …) did not happen. Nothing was
/// written in any case.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input was refused; the messages go next to their fields.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The save as a whole is not allowed now; the message says why.
    #[error("{0}")]
    Refused(String),
    /// An upload over the size limit (413, as Sentry answers it).
    #[error("{0}")]
    TooLarge(String),
    /// Too many of these recently (invitations, say): 429; the message says what.
    #[error("{0}")]
    RateLimited(String),
    /// Fields changed by someone else since the form was shown.
    #[error("{} field(s) changed by someone else", .0.len())]
    Conflict(Vec<Conflict>),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl crate::db::FromUnavailable for DomainError {
    fn from_unavailable(err: crate::db::Unavailable) -> Self {
        DomainError::Internal(anyhow::Error::new(err))
    }
}

impl From<FieldErrors> for DomainError {
    fn from(errors: FieldErrors) -> Self {
        DomainError::Invalid(errors)
    }
}
