//! URLs the handlers build and check: where to go after login (`next`, local paths only), query-string
//! encoding, the path of the current request.

use actix_web::HttpRequest;
use serde::Deserialize;

/// `?next=`: where to go on afterwards; [`NextQuery::local`] keeps it only when it is on this site.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub next: String,
}

impl NextQuery {
    /// `next` when it is a local path, else empty.
    pub fn local(&self) -> &str {
        safe_next(&self.next).unwrap_or_default()
    }
}

/// `next` when it is a path on this site; never another host (no open redirect).
pub fn safe_next(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    local.then_some(next)
}

/// Percent-encodes a value for a query string.
pub fn encode_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Percent-encodes text for a `data:text/plain` link (spaces as `%20`, not `+`).
pub fn encode_data_uri(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The path and query of a request, to come back to after login.
pub fn request_path(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => req.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted_as_next() {
        assert_eq!(safe_next("/settings/acme/"), Some("/settings/acme/"));
        assert_eq!(
            safe_next("/organizations/?a=b"),
            Some("/organizations/?a=b")
        );
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/ok\r\nLocation: x",
            "evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
