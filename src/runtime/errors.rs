//! Error bodies: `{"errorMessage", "errorType", "stackTrace"}`.

use bytes::Bytes;
use serde_json::{Value, json};
use snap::lambda::ErrorType;

/// The content type of error bodies.
pub const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";

/// An error as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// `errorType`, such as `Runtime.ExitError`.
    pub error_type: String,
    /// `errorMessage`.
    pub message: String,
    /// `stackTrace`, if the runtime sent one.
    pub stack_trace: Vec<String>,
}

impl ErrorBody {
    /// An error of `error_type` saying `message`.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// Reads what a runtime posted. The body is optional and need not be
    /// well formed: a missing or malformed body keeps its text as the message
    /// and takes its type from the `Lambda-Runtime-Function-Error-Type`
    /// header, as Lambda does.
    pub fn from_posted(body: &[u8], header_type: Option<&str>) -> Self {
        let fallback_type = header_type
            .filter(|t| !t.is_empty())
            .unwrap_or(ErrorType::Unhandled.as_str());
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Self {
                error_type: map
                    .get("errorType")
                    .and_then(Value::as_str)
                    .unwrap_or(fallback_type)
                    .to_owned(),
                message: map
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                stack_trace: map
                    .get("stackTrace")
                    .and_then(Value::as_array)
                    .map(|lines| {
                        lines
                            .iter()
                            .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            _ => Self::new(fallback_type, String::from_utf8_lossy(body).into_owned()),
        }
    }

    /// Reads the error a streamed response reports in its trailers:
    /// `Lambda-Runtime-Function-Error-Type`, and
    /// `Lambda-Runtime-Function-Error-Body`, which Lambda's runtime clients
    /// send base64-encoded: the error JSON (Node's), or its message
    /// (`lambda_runtime`'s). A body that does not decode to JSON or to
    /// printable text is read as it is, as [`Self::from_posted`] reads one.
    pub fn from_trailers(error_type: &str, body: &[u8]) -> Self {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()
            .filter(|bytes| {
                matches!(serde_json::from_slice(bytes), Ok(Value::Object(_)))
                    || std::str::from_utf8(bytes).is_ok_and(|text| {
                        !text
                            .chars()
                            .any(|c| c.is_control() && c != '\n' && c != '\t')
                    })
            });
        Self::from_posted(decoded.as_deref().unwrap_or(body), Some(error_type))
    }

    /// The JSON body.
    pub fn to_json(&self) -> Bytes {
        let mut body = json!({ "errorMessage": self.message, "errorType": self.error_type });
        if !self.stack_trace.is_empty() {
            body["stackTrace"] = json!(self.stack_trace);
        }
        Bytes::from(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_carry_the_error_json_in_base64_or_plain_text() {
        // As the Node runtime client fails a stream: base64 of its JSON.
        let e = ErrorBody::from_trailers(
            "Error",
            b"eyJlcnJvclR5cGUiOiJFcnJvciIsImVycm9yTWVzc2FnZSI6Im1pZC1zdHJlYW0ifQ==",
        );
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("Error", "mid-stream")
        );
        // As lambda_runtime does: base64 of the message.
        let e = ErrorBody::from_trailers("Runtime.StreamError", b"c3RyZWFtIGJyb2tlbg==");
        assert_eq!(e.message, "stream broken");
        // Plain text, even text that happens to be valid base64, is the message.
        let e = ErrorBody::from_trailers("Handler.Fail", b"boom");
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("Handler.Fail", "boom")
        );
        let e = ErrorBody::from_trailers("Handler.Fail", br#"{"errorMessage":"plain json"}"#);
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("Handler.Fail", "plain json")
        );
    }

    #[test]
    fn posted_bodies_well_formed_or_not() {
        let e = ErrorBody::from_posted(
            br#"{"errorMessage":"boom","errorType":"Handler.Fail","stackTrace":["a","b"]}"#,
            None,
        );
        assert_eq!(e.error_type, "Handler.Fail");
        assert_eq!(e.message, "boom");
        assert_eq!(e.stack_trace, ["a", "b"]);
        let e = ErrorBody::from_posted(b"not json", Some("Runtime.Custom"));
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("Runtime.Custom", "not json")
        );
        let e = ErrorBody::from_posted(b"[1,2]", None);
        assert_eq!(e.error_type, "Unhandled");
        let e = ErrorBody::from_posted(b"", None);
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("Unhandled", "")
        );
    }
}
