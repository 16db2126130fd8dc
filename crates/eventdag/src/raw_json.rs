//! [`RawJson`]: a payload kept as the JSON text it arrived as.
//!
//! Decoding JSON into `serde_json::Value` rounds every number to an `f64`
//! or a 64-bit integer and sorts object keys; encoding it again is then a
//! different text than the client sent (`0.9813026452884325` becomes
//! `0.9813026452884324`, `123456789012345678901234567890` becomes
//! `1.2345678901234568e+29`). A store of record must give back what it
//! was given, so the server and the CLI store payloads as `RawJson`.
//!
//! "Exactly as sent" means: every number, string (escapes included),
//! key order and duplicate key is kept byte for byte; only whitespace
//! between tokens is removed, so that the same value sent pretty-printed
//! or compact is stored, hashed and served as the same bytes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Valid JSON text, without whitespace between tokens (see the module
/// docs for what is kept). Serialises as the JSON it holds, verbatim.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Parses `text` as one JSON value and keeps it, without the
    /// whitespace between tokens.
    ///
    /// # Errors
    /// serde_json's message (with line and column) when `text` is not one
    /// JSON value.
    pub fn from_text(text: &str) -> Result<Self, serde_json::Error> {
        let raw: Box<RawValue> = serde_json::from_str(text)?;
        Self::compacted(raw)
    }

    /// The JSON text of `value` (keys in `Value`'s order).
    #[must_use]
    pub fn from_value(value: &serde_json::Value) -> Self {
        // Invariant: serde_json writes a `Value` compactly and without
        // failing (its map keys are strings).
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => Self(raw),
            Err(_) => Self::null(),
        }
    }

    /// JSON `null`.
    #[must_use]
    pub fn null() -> Self {
        // `RawValue::NULL` is a `&'static RawValue`.
        Self(RawValue::NULL.to_owned())
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The payload decoded as a `Value` (numbers rounded as `Value`
    /// rounds them: for inspection, not for storing back).
    ///
    /// # Errors
    /// Never for a `RawJson`, which holds valid JSON; the type is
    /// serde_json's.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }

    /// Decodes the payload as `T`.
    ///
    /// # Errors
    /// serde_json's message when the JSON does not match `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }

    /// `raw` without whitespace between tokens; `raw` itself (no copy)
    /// when it has none, as every stored payload.
    fn compacted(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        match compact(raw.get()) {
            None => Ok(Self(raw)),
            Some(text) => RawValue::from_string(text).map(Self),
        }
    }
}

/// The JSON text `text` without whitespace outside strings, or `None`
/// when there is none to remove. `text` must be valid JSON: the scan only
/// tracks whether it is inside a string.
fn compact(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    // Stored payloads are compact already, and every read decodes one:
    // a text without whitespace needs no scan of its strings. In valid
    // JSON every byte at or below b' ' is whitespace (control characters
    // inside strings are escaped), so a text whose smallest byte is above
    // it has none; the minimum is a loop the compiler vectorises, where
    // the string-tracking scan below measured as most of an LMDB read.
    if bytes
        .iter()
        .copied()
        .min()
        .is_none_or(|lowest| lowest > b' ')
    {
        return None;
    }
    let mut in_string = false;
    let mut escaped = false;
    let mut out: Option<Vec<u8>> = None;
    for (index, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if byte == b'"' {
            in_string = true;
        } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            if out.is_none() {
                let mut kept = Vec::with_capacity(bytes.len());
                kept.extend_from_slice(&bytes[..index]);
                out = Some(kept);
            }
            continue;
        }
        if let Some(kept) = out.as_mut() {
            kept.push(byte);
        }
    }
    // Removing ASCII whitespace outside strings keeps UTF-8 valid.
    out.map(|kept| String::from_utf8_lossy(&kept).into_owned())
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl std::hash::Hash for RawJson {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.as_str())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for RawJson {
    fn default() -> Self {
        Self::null()
    }
}

impl From<serde_json::Value> for RawJson {
    fn from(value: serde_json::Value) -> Self {
        Self::from_value(&value)
    }
}

impl From<&serde_json::Value> for RawJson {
    fn from(value: &serde_json::Value) -> Self {
        Self::from_value(value)
    }
}

impl std::str::FromStr for RawJson {
    type Err = serde_json::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_text(text)
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Self::compacted(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keys_and_escapes_are_kept_as_sent() {
        let sent = r#"{"z":0.9813026452884325,"a":123456789012345678901234567890,"a":1e400,"s":"\u00e9 \" x"}"#;
        let raw = RawJson::from_text(sent).unwrap();
        assert_eq!(raw.as_str(), sent);
        assert_eq!(serde_json::to_string(&raw).unwrap(), sent);
    }

    #[test]
    fn whitespace_between_tokens_is_removed_but_not_inside_strings() {
        let raw =
            RawJson::from_text(" {\n  \"a b\" : [ 1 ,\t2 ],\r\n \"c\\\" \": \" x \" } ").unwrap();
        assert_eq!(raw.as_str(), r#"{"a b":[1,2],"c\" ":" x "}"#);
    }

    #[test]
    fn decoding_inside_a_document_keeps_the_payload_and_checks_it() {
        #[derive(Deserialize)]
        struct Body {
            payload: RawJson,
        }
        let body: Body = serde_json::from_str(r#"{"payload": { "n" : 1.50 } }"#).unwrap();
        assert_eq!(body.payload.as_str(), r#"{"n":1.50}"#);
        assert!(serde_json::from_str::<Body>(r#"{"payload": {"n": }}"#).is_err());
        assert!(RawJson::from_text("1 2").is_err());
    }

    #[test]
    fn compact_text_is_kept_without_a_copy_and_spaced_text_is_compacted() {
        assert_eq!(compact(r#"{"a":[1,"x"]}"#), None);
        assert_eq!(
            compact(r#"{"a": [1,"x y"]}"#).as_deref(),
            Some(r#"{"a":[1,"x y"]}"#)
        );
        // Whitespace only inside strings: the scan runs and finds nothing
        // to remove.
        assert_eq!(compact(r#"{"a":"x y"}"#), None);
    }

    #[test]
    fn values_convert_both_ways() {
        let value = serde_json::json!({"b": [true, null], "a": "x"});
        let raw = RawJson::from(&value);
        assert_eq!(raw.as_str(), r#"{"a":"x","b":[true,null]}"#);
        assert_eq!(raw.to_value().unwrap(), value);
        assert_eq!(RawJson::default().as_str(), "null");
        let from_value: RawJson = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(from_value, raw);
    }
}
