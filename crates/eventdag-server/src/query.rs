//! Query strings: decoded into a typed struct; unknown parameters and
//! wrong values are refused naming the parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Parameters a route accepts: the struct and the names it knows.
pub(crate) trait Params: DeserializeOwned {
    /// Every accepted parameter name.
    const NAMES: &'static [&'static str];
}

/// The decoded query string of a request.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<T: Params, St: Send + Sync> FromRequestParts<St> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or("")).map(QueryParams)
    }
}

/// Decodes `query` as `T`, refusing unknown and repeated parameters.
pub(crate) fn parse<T: Params>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|error| ApiError::bad_request("query", error.to_string()))?;
    for (index, (name, _)) in pairs.iter().enumerate() {
        if !T::NAMES.contains(&name.as_str()) {
            let accepted = if T::NAMES.is_empty() {
                "this route takes no query parameters".to_owned()
            } else {
                format!("accepted: {}", T::NAMES.join(", "))
            };
            return Err(ApiError::bad_request(
                name.clone(),
                format!("unknown query parameter {name:?}; {accepted}"),
            ));
        }
        if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(ApiError::bad_request(
                name.clone(),
                "the parameter is given more than once",
            ));
        }
    }
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        if field == "." {
            return ApiError::bad_request("query", error.into_inner().to_string());
        }
        let given = pairs
            .iter()
            .find(|(name, _)| *name == field)
            .map_or("", |(_, value)| value.as_str());
        ApiError::bad_request(
            field.clone(),
            format!(
                "{given:?} is not accepted ({}); accepted: {}",
                error.into_inner(),
                accepted(&field)
            ),
        )
    })
}

/// What a query parameter accepts, for error messages.
fn accepted(name: &str) -> &'static str {
    match name {
        "limit" => "a whole number from 0; limits above the maximum (10000) are capped",
        "kind" => "a whole number from 0 to 65535 (upper 4 bits category, lower 12 type)",
        "min_depth" | "max_depth" | "lane" => "a whole number from 0 to 4294967295",
        "after" => "a whole number from 0 to 18446744073709551615 (a cursor or sequence)",
        "upstream" => "true or false",
        "parent" | "event_id" | "correlation_id" => "a UUID",
        _ => "see the OpenAPI document at /openapi.json",
    }
}

/// Deserializes a `limit`: any whole number, larger ones than `usize`
/// saturating, since every limit is capped anyway.
///
/// # Errors
/// A value that is not a whole number.
pub(crate) fn saturating_limit<'de, D>(deserializer: D) -> Result<Option<usize>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    text.map(|text| {
        let digits = text.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom("not a whole number of digits"));
        }
        Ok(digits.parse::<usize>().unwrap_or(usize::MAX))
    })
    .transpose()
}
