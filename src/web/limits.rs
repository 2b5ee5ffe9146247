//! How large a request body may be, by kind; larger gets 413.

/// URL-encoded forms.
pub const FORM_LIMIT: usize = 256 * 1024;
/// Multipart forms: an avatar of at most 5 MB and the form around it.
pub const UPLOAD_LIMIT: usize = 5_000_000 + 64 * 1024;
/// How much of an oversized upload is read and dropped before answering 413 (so the browser sees
/// the answer instead of a connection reset in the middle of its upload).
pub const DRAIN_LIMIT: usize = 32 * 1024 * 1024;
/// JSON bodies of the API: room for a 5 MB avatar in base64.
pub const API_BODY_LIMIT: usize = 8 * 1024 * 1024;
