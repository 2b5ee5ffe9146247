//! Helpers for reading form bodies: serde-tagged action enums read every value as text, so numbers
//! are parsed here.

use serde::Deserialize;

/// A row id from a form field (text in a form body), e.g. `#[serde(deserialize_with = "id")]`.
pub fn id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an id")))
}
