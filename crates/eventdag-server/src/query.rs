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
        let message = error.into_inner().to_string();
        ApiError::bad_request(
            if field == "." {
                "query".to_owned()
            } else {
                field
            },
            message,
        )
    })
}
