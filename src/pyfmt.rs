//! Python's `str()` and `repr()` of JSON-like values, for audit text that reads exactly like Sentry's
//! (`to True`, `from Foo to Bar`, `to ['password']`).

use serde_json::Value;

/// `str(value)`: strings as they are, everything else as `repr`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `repr(value)`.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Python's `str.capitalize()`: the first character upper-cased, every other one lower-cased.
pub fn py_capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
        None => String::new(),
    }
}

/// `repr(str)`: single quotes unless the text has a single quote and no double quote; backslash,
/// the quote and control characters escaped.
pub fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || is_separator(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Characters Python does not print as themselves: line and paragraph separators and spaces other
/// than U+0020.
fn is_separator(c: char) -> bool {
    c != ' ' && c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_as_python_prints_them() {
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!(5)), "5");
        assert_eq!(py_str(&json!("Foo Bar")), "Foo Bar");
        assert_eq!(
            py_str(&json!(["password", "secret"])),
            "['password', 'secret']"
        );
        assert_eq!(py_str(&json!([])), "[]");
        assert_eq!(
            py_repr(&json!({"a": null, "b": "x"})),
            "{'a': None, 'b': 'x'}"
        );
    }

    #[test]
    fn string_reprs_choose_quotes_and_escape_like_python() {
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("say \"hi\""), "'say \"hi\"'");
        assert_eq!(py_repr_str("both ' and \""), "'both \\' and \"'");
        assert_eq!(py_repr_str("a\\b\nc\td"), "'a\\\\b\\nc\\td'");
        assert_eq!(py_repr_str("\u{1b}"), "'\\x1b'");
        assert_eq!(py_repr_str("\u{a0}"), "'\\xa0'");
        assert_eq!(py_repr_str("\u{2028}"), "'\\u2028'");
        assert_eq!(py_repr_str("héllo 😀"), "'héllo 😀'");
    }
}
