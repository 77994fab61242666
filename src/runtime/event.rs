//! What travels through an invocation.

use bytes::Bytes;

use super::ErrorBody;

/// The function's configuration, as the bootstrap's environment shows it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: u32,
    /// `_HANDLER`.
    pub handler: String,
    /// The per-invocation limit.
    pub timeout: std::time::Duration,
}

impl FunctionConfig {
    /// The ARN the `Lambda-Runtime-Invoked-Function-Arn` header carries.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{}",
            self.name
        )
    }
}

/// One invocation on its way to the bootstrap.
#[derive(Debug)]
pub struct Event {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The payload.
    pub payload: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: Unix milliseconds.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler's response.
    Response(Bytes),
    /// The handler, the runtime or the environment failed.
    Error(ErrorBody),
}
