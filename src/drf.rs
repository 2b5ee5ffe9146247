//! Input coercion with Django REST framework's rules and messages, so scripts written against
//! Sentry's API get the same answers here. Each function takes a JSON value and returns the typed value
//! or the message DRF would give.

use serde_json::Value;

pub const NOT_NULL: &str = "This field may not be null.";
/// DRF's answer for a required field that was not sent.
pub const REQUIRED: &str = "This field is required.";
pub const NOT_BLANK: &str = "This field may not be blank.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const NOT_AN_INTEGER: &str = "A valid integer is required.";
pub const NOT_A_BOOLEAN: &str = "Must be a valid boolean.";

/// Python's `str.strip()` whitespace: Unicode White_Space plus the separators U+001C–U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `BooleanField`: JSON booleans, 0 / 1, and DRF's true/false words.
pub fn boolean(value: &Value) -> Result<bool, String> {
    const TRUE: [&str; 14] = [
        "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1",
    ];
    const FALSE: [&str; 14] = [
        "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0",
    ];
    match value {
        Value::Null => Err(NOT_NULL.into()),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::String(s) if TRUE.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => Ok(false),
        _ => Err(NOT_A_BOOLEAN.into()),
    }
}

/// `IntegerField` with optional bounds: integers, integral floats (`5.0`) and numeric strings.
pub fn integer(value: &Value, min: Option<i64>, max: Option<i64>) -> Result<i64, String> {
    let parsed = match value {
        Value::Null => return Err(NOT_NULL.into()),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => parse_int_text(s),
        _ => None,
    };
    let n = parsed.ok_or_else(|| NOT_AN_INTEGER.to_owned())?;
    if let Some(max) = max
        && n > max
    {
        return Err(format!("Ensure this value is less than or equal to {max}."));
    }
    if let Some(min) = min
        && n < min
    {
        return Err(format!(
            "Ensure this value is greater than or equal to {min}."
        ));
    }
    Ok(n)
}

/// Python's `int(re.sub(r"\.0*\s*$", "", text))`.
fn parse_int_text(text: &str) -> Option<i64> {
    let trimmed = text.trim_end_matches(is_py_space);
    let without_zero_fraction = match trimmed.rfind('.') {
        Some(dot) if trimmed[dot + 1..].chars().all(|c| c == '0') => &trimmed[..dot],
        _ => trimmed,
    };
    let digits = py_strip(without_zero_fraction).replace('_', "");
    digits.parse::<i64>().ok()
}

/// `CharField` (trimmed): strings, and numbers turned into text; booleans, lists and objects refused.
pub fn string(value: &Value, allow_blank: bool, max_len: Option<usize>) -> Result<String, String> {
    let text = match value {
        Value::Null => return Err(NOT_NULL.into()),
        Value::String(s) => py_strip(s).to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(NOT_A_STRING.into()),
    };
    if text.contains('\0') {
        return Err("Null characters are not allowed.".into());
    }
    if text.is_empty() && !allow_blank {
        return Err(NOT_BLANK.into());
    }
    if let Some(max) = max_len
        && text.chars().count() > max
    {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    Ok(text)
}

/// `ListField(child=CharField())`: a list of trimmed, non-blank strings.
pub fn string_list(value: &Value) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Null => return Err(NOT_NULL.into()),
        Value::Array(items) => items,
        other => {
            return Err(format!(
                "Expected a list of items but got type \"{}\".",
                python_type_name(other)
            ));
        }
    };
    items.iter().map(|item| string(item, false, None)).collect()
}

/// `ChoiceField`: the value, as text, must be one of `choices`.
pub fn choice<'a>(value: &Value, choices: &[&'a str]) -> Result<&'a str, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => return Err(NOT_NULL.into()),
        other => py_str_scalar(other),
    };
    choices
        .iter()
        .find(|c| **c == text)
        .copied()
        .ok_or_else(|| format!("\"{text}\" is not a valid choice."))
}

/// DRF's message for a datetime it cannot read.
pub const ERR_DATETIME: &str = "Datetime has wrong format. Use one of these formats instead: \
     YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/// A datetime as DRF's `DateTimeField` reads it: ISO 8601 with an offset (turned into UTC) or
/// without one (taken as UTC), or a date alone (its midnight).
pub fn datetime(text: &str) -> Result<chrono::NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(at);
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .ok_or_else(|| ERR_DATETIME.to_owned())
}

/// The name Python gives the type of a JSON value.
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn py_str_scalar(value: &Value) -> String {
    match value {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_accept_drfs_words_and_numbers() {
        for yes in [
            json!(true),
            json!(1),
            json!("yes"),
            json!("on"),
            json!("True"),
            json!(1.0),
        ] {
            assert_eq!(boolean(&yes), Ok(true), "{yes}");
        }
        for no in [json!(false), json!(0), json!("off"), json!("0"), json!("F")] {
            assert_eq!(boolean(&no), Ok(false), "{no}");
        }
        assert_eq!(boolean(&json!("maybe")), Err(NOT_A_BOOLEAN.into()));
        assert_eq!(boolean(&json!(2)), Err(NOT_A_BOOLEAN.into()));
        assert_eq!(boolean(&json!(null)), Err(NOT_NULL.into()));
    }

    #[test]
    fn integers_accept_numeric_text_and_integral_floats_within_bounds() {
        assert_eq!(integer(&json!(5), None, None), Ok(5));
        assert_eq!(integer(&json!("5"), None, None), Ok(5));
        assert_eq!(integer(&json!(" 7 "), None, None), Ok(7));
        assert_eq!(integer(&json!("5.0"), None, None), Ok(5));
        assert_eq!(integer(&json!(5.0), None, None), Ok(5));
        assert_eq!(integer(&json!(5.5), None, None), Err(NOT_AN_INTEGER.into()));
        assert_eq!(
            integer(&json!("abc"), None, None),
            Err(NOT_AN_INTEGER.into())
        );
        assert_eq!(
            integer(&json!(true), None, None),
            Err(NOT_AN_INTEGER.into())
        );
        assert_eq!(
            integer(&json!(101), Some(-1), Some(100)),
            Err("Ensure this value is less than or equal to 100.".into())
        );
        assert_eq!(
            integer(&json!(-2), Some(-1), Some(100)),
            Err("Ensure this value is greater than or equal to -1.".into())
        );
    }

    #[test]
    fn strings_are_trimmed_and_refuse_booleans_and_blanks() {
        assert_eq!(string(&json!("  a b \n"), false, None), Ok("a b".into()));
        assert_eq!(string(&json!(12), false, None), Ok("12".into()));
        assert_eq!(string(&json!(true), false, None), Err(NOT_A_STRING.into()));
        assert_eq!(string(&json!("   "), false, None), Err(NOT_BLANK.into()));
        assert_eq!(string(&json!("   "), true, None), Ok(String::new()));
        assert_eq!(
            string(&json!("abcd"), false, Some(3)),
            Err("Ensure this field has no more than 3 characters.".into())
        );
    }

    #[test]
    fn lists_name_the_wrong_type_and_refuse_blank_items() {
        assert_eq!(
            string_list(&json!(["a", " b "])),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            string_list(&json!("password")),
            Err("Expected a list of items but got type \"str\".".into())
        );
        assert_eq!(
            string_list(&json!({"a": 1})),
            Err("Expected a list of items but got type \"dict\".".into())
        );
        assert_eq!(string_list(&json!(["a", ""])), Err(NOT_BLANK.into()));
    }

    #[test]
    fn choices_quote_the_refused_input() {
        assert_eq!(choice(&json!("owner"), &["member", "owner"]), Ok("owner"));
        assert_eq!(
            choice(&json!("boss"), &["member", "owner"]),
            Err("\"boss\" is not a valid choice.".into())
        );
        assert_eq!(
            choice(&json!(true), &["member"]),
            Err("\"True\" is not a valid choice.".into())
        );
    }
}
