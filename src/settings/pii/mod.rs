//! Data-scrubbing validation as Sentry does it by calling Relay: selectors for `safeFields`, the PII
//! config for `relayPiiConfig` (docs/relay-pii.md).

pub mod builder;
pub mod config;
pub mod selector;

use crate::pyfmt::py_capitalize;

/// Sentry's check of `safeFields` items (already trimmed and non-blank): every item must be a valid
/// selector; the failures become one message, `"<error> (line n)"` capitalized as Python does, joined
/// with `",\n"`.
pub fn validate_safe_fields(items: &[String]) -> Result<(), String> {
    let failures: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            selector::validate_pii_selector(item)
                .err()
                .map(|err| py_capitalize(&format!("{err} (line {})", i + 1)))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_field_errors_are_numbered_capitalized_and_joined_like_sentrys() {
        let items: Vec<String> = [
            "$http.headers",
            "foo bar",
            "$bogus",
            "**.a.**",
            "Extra.$HTTP",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            validate_safe_fields(&items),
            Err("Invalid syntax near \"foo bar\" (line 2),\nUnknown value (line 3),\nDeep wildcard used more than once (line 4),\nInvalid syntax near \"extra.$http\" (line 5)".into())
        );
        assert_eq!(
            validate_safe_fields(&["$frame.vars".into(), "**".into()]),
            Ok(())
        );
    }
}
