//! Cursor pagination as Sentry's API does it (`api/paginator.py`, `api/base.py`): `?cursor=` and
//! `?per_page=` in, a `Link` header with a `previous` and a `next` link out, each saying whether it
//! has results. sentry-cli and terraform follow the `next` link while `results="true"`.
//!
//! Two kinds of cursor, both `value:offset:is_prev` as Sentry writes them:
//! - pages (Sentry's `OffsetPaginator`): `per_page:page:is_prev`, for lists ordered by name;
//! - keys (Sentry's key paginators): `id:0:is_prev`, for the audit log, newest first, so rows
//!   written while a client pages do not shift the pages it has not read yet.

use actix_web::HttpRequest;

use super::error::ApiError;
use crate::config::Config;

/// Sentry's default and largest page.
pub const MAX_PER_PAGE: i64 = 100;

/// A parsed `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub value: i64,
    pub offset: i64,
    pub is_prev: bool,
}

impl Cursor {
    /// Sentry's `Cursor.from_string`: three `:`-separated integers.
    pub fn parse(text: &str) -> Result<Cursor, ApiError> {
        let invalid = || ApiError::BadRequest("Invalid cursor parameter.".into());
        let bits: Vec<&str> = text.split(':').collect();
        let [value, offset, is_prev] = bits.as_slice() else {
            return Err(invalid());
        };
        // a float value (a date cursor of Sentry's) is read as its whole part
        let value = value
            .split('.')
            .next()
            .unwrap_or_default()
            .parse::<i64>()
            .map_err(|_| invalid())?;
        let offset = offset.parse::<i64>().map_err(|_| invalid())?;
        let is_prev = is_prev.parse::<i64>().map_err(|_| invalid())? != 0;
        Ok(Cursor {
            value,
            offset,
            is_prev,
        })
    }

    fn text(self) -> String {
        format!("{}:{}:{}", self.value, self.offset, i64::from(self.is_prev))
    }
}

/// `cursor` and `per_page` of a request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub cursor: Option<Cursor>,
    pub per_page: i64,
}

impl PageRequest {
    /// Reads the query string with Sentry's answers: an empty `cursor=` (as sentry-cli sends) is the
    /// first page; a malformed one is `400 Invalid cursor parameter.`; `per_page` is 1 to 100.
    pub fn from_request(req: &HttpRequest) -> Result<PageRequest, ApiError> {
        let mut cursor = None;
        let mut per_page = MAX_PER_PAGE;
        for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            match key.as_ref() {
                "cursor" if !value.is_empty() => cursor = Some(Cursor::parse(&value)?),
                "per_page" => {
                    per_page = value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| ApiError::BadRequest("Invalid per_page parameter.".into()))?;
                    if per_page > MAX_PER_PAGE {
                        return Err(ApiError::BadRequest(format!(
                            "Invalid per_page value. Cannot exceed {MAX_PER_PAGE}."
                        )));
                    }
                    if per_page < 1 {
                        return Err(ApiError::BadRequest("Invalid per_page parameter.".into()));
                    }
                }
                _ => {}
            }
        }
        Ok(PageRequest { cursor, per_page })
    }

    /// The page number and rows to skip of a page cursor (Sentry's `OffsetPaginator`).
    pub fn page(&self) -> Result<(i64, i64), ApiError> {
        let page = self.cursor.map_or(0, |c| c.offset);
        if page < 0 {
            return Err(ApiError::BadRequest(
                "Pagination offset cannot be negative".into(),
            ));
        }
        Ok((page, page.saturating_mul(self.per_page)))
    }
}

/// A link of the `Link` header: its cursor, and whether following it finds anything.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub cursor: Cursor,
    pub has_results: bool,
}

/// The links of an offset page `page` that found `more` rows after it.
pub fn page_links(per_page: i64, page: i64, more: bool) -> (Link, Link) {
    (
        Link {
            cursor: Cursor {
                value: per_page,
                offset: page - 1,
                is_prev: true,
            },
            has_results: page > 0,
        },
        Link {
            cursor: Cursor {
                value: per_page,
                offset: page + 1,
                is_prev: false,
            },
            has_results: more,
        },
    )
}

/// Sentry's `Link` header for a list at the request's path: the query string without its cursor,
/// then `&cursor=…`, `rel`, `results` and `cursor` for each link.
pub fn link_header(req: &HttpRequest, config: &Config, previous: Link, next: Link) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(key, _)| key != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    let base = format!("{}?{}", config.absolute_url(req.path()), query);
    [("previous", previous), ("next", next)]
        .iter()
        .map(|(name, link)| {
            let cursor = link.cursor.text();
            format!(
                "<{base}&cursor={cursor}>; rel=\"{name}\"; results=\"{}\"; cursor=\"{cursor}\"",
                link.has_results
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cursors_read_and_write_sentrys_three_numbers() {
        let cursor = Cursor::parse("100:2:0").unwrap();
        assert_eq!(
            cursor,
            Cursor {
                value: 100,
                offset: 2,
                is_prev: false
            }
        );
        assert_eq!(cursor.text(), "100:2:0");
        assert_eq!(
            Cursor::parse("1700000000.5:0:1").unwrap().value,
            1_700_000_000
        );
        for bad in ["", "1:2", "a:0:0", "1:2:3:4", "0:x:0"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_cursor_is_the_first_page_and_per_page_is_bounded() {
        let req =
            TestRequest::with_uri("/api/0/organizations/?cursor=&per_page=5").to_http_request();
        let page = PageRequest::from_request(&req).unwrap();
        assert_eq!(page.cursor, None);
        assert_eq!(page.per_page, 5);
        assert_eq!(page.page().unwrap(), (0, 0));
        for uri in [
            "/x?per_page=101",
            "/x?per_page=0",
            "/x?per_page=ten",
            "/x?cursor=nope",
        ] {
            let req = TestRequest::with_uri(uri).to_http_request();
            assert!(PageRequest::from_request(&req).is_err(), "{uri}");
        }
    }

    #[test]
    fn the_link_header_keeps_the_query_and_replaces_the_cursor() {
        let config = Config::for_url(url::Url::parse("http://sentry.example/").unwrap());
        let req = TestRequest::with_uri("/api/0/organizations/?query=acme&cursor=100:1:0")
            .to_http_request();
        let (previous, next) = page_links(100, 1, false);
        assert_eq!(
            link_header(&req, &config, previous, next),
            "<http://sentry.example/api/0/organizations/?query=acme&cursor=100:0:1>; \
             rel=\"previous\"; results=\"true\"; cursor=\"100:0:1\", \
             <http://sentry.example/api/0/organizations/?query=acme&cursor=100:2:0>; \
             rel=\"next\"; results=\"false\"; cursor=\"100:2:0\""
        );
    }
}
