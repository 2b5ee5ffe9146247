//! Sentry's search syntax for lists (`sentry.search.utils.tokenize_query`): `key:value` tokens
//! (a value may be quoted, and several values of one key add up) and free text, the words that
//! are not `key:value`. `OR` and `AND` are ignored, as Sentry ignores them.

/// A parsed query: the free text words, and each key with its values, in the order typed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pub text: Vec<String>,
    pub terms: Vec<(String, Vec<String>)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut query = Query::default();
        for token in split(raw) {
            if token.eq_ignore_ascii_case("or")
                || token.eq_ignore_ascii_case("and")
                || token.trim_matches(|c| c == '(' || c == ')').is_empty()
            {
                continue;
            }
            match tag(&token) {
                Some((key, value)) => match query.terms.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, values)) => values.push(value),
                    None => query.terms.push((key, vec![value])),
                },
                None => query.text.push(unquote(&token).to_owned()),
            }
        }
        query
    }

    /// The free text as one string (Sentry joins the words with spaces).
    pub fn joined_text(&self) -> Option<String> {
        (!self.text.is_empty()).then(|| self.text.join(" "))
    }
}

/// Whitespace-separated tokens; a double-quoted part keeps its spaces (`email:"a b"`).
fn split(raw: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in raw.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// `key:value` when the token is one: a `:` after the first character, not followed by another
/// `:` or the end (Sentry's rule), and not in a token that starts with a quote.
fn tag(token: &str) -> Option<(String, String)> {
    if token.starts_with(['"', '\'', ':']) {
        return None;
    }
    let at = token.find(':')?;
    let rest = &token[at + 1..];
    if rest.is_empty() || rest.starts_with(':') {
        return None;
    }
    Some((token[..at].to_owned(), unquote(rest).to_owned()))
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// A `LIKE` pattern matching `text` anywhere, with `%` and `_` taken literally (dropped).
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.to_lowercase().replace(['%', '_', '\\'], ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_free_text_are_told_apart_as_sentry_does() {
        let query =
            Query::parse(r#"role:owner alice email:"a b@x.io" has2fa:true role:manager OR bob"#);
        assert_eq!(query.text, ["alice", "bob"]);
        assert_eq!(
            query.terms,
            [
                (
                    "role".to_owned(),
                    vec!["owner".to_owned(), "manager".to_owned()]
                ),
                ("email".to_owned(), vec!["a b@x.io".to_owned()]),
                ("has2fa".to_owned(), vec!["true".to_owned()]),
            ]
        );
        assert_eq!(query.joined_text().as_deref(), Some("alice bob"));
        assert_eq!(Query::parse("  ").joined_text(), None);
        // a trailing colon, a leading one or a double one is text
        assert_eq!(Query::parse("acme: :x a::b").text, ["acme:", ":x", "a::b"]);
    }
}
