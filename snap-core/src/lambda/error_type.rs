//! The `errorType`s that snap itself reports, as Lambda names them. A
//! function may post any other type; these are the ones the runtime side
//! (snaprun, the snapshot point, the hook libraries, snapjs) produces. The
//! runtime errors of a JavaScript function are the ones Lambda's Node.js
//! runtime reports.

use std::fmt;

/// An `errorType` that snap reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// Init did not finish within the init timeout.
    InitTimeout,
    /// The bootstrap exited during init or an invocation.
    ExitError,
    /// Restore plus after-restore hooks did not finish in time, or an
    /// after-restore hook ran past its own timeout.
    RestoreHookUserTimeout,
    /// A before-snapshot hook failed: no snapshot was taken.
    BeforeSnapshotError,
    /// An after-restore hook failed: the instance must not serve.
    AfterRestoreError,
    /// The snapshot could not be made or restored, for a reason of
    /// snaprun's own.
    Unknown,
    /// The function's response was larger than Lambda allows.
    ResponseSizeTooLarge,
    /// The invocation ran past the function's timeout.
    Timedout,
    /// A function error with no type of its own.
    Unhandled,
    /// The function's init threw or was rejected.
    InitError,
    /// The handler's module was not found or could not be loaded.
    ImportModuleError,
    /// The handler's module does not parse.
    UserCodeSyntaxError,
    /// The handler's module does not export the handler.
    HandlerNotFound,
    /// `_HANDLER` is not `file.export`.
    MalformedHandlerName,
    /// A promise was rejected and nothing handled it.
    UnhandledPromiseRejection,
}

impl ErrorType {
    /// The type as it goes on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InitTimeout => "Runtime.InitTimeout",
            Self::ExitError => "Runtime.ExitError",
            Self::RestoreHookUserTimeout => "Runtime.RestoreHookUserTimeout",
            Self::BeforeSnapshotError => "Runtime.BeforeSnapshotError",
            Self::AfterRestoreError => "Runtime.AfterRestoreError",
            Self::Unknown => "Runtime.Unknown",
            Self::ResponseSizeTooLarge => "Function.ResponseSizeTooLarge",
            Self::Timedout => "Sandbox.Timedout",
            Self::Unhandled => "Unhandled",
            Self::InitError => "Runtime.InitError",
            Self::ImportModuleError => "Runtime.ImportModuleError",
            Self::UserCodeSyntaxError => "Runtime.UserCodeSyntaxError",
            Self::HandlerNotFound => "Runtime.HandlerNotFound",
            Self::MalformedHandlerName => "Runtime.MalformedHandlerName",
            Self::UnhandledPromiseRejection => "Runtime.UnhandledPromiseRejection",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ErrorType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<ErrorType> for String {
    fn from(error_type: ErrorType) -> Self {
        error_type.as_str().to_owned()
    }
}

impl PartialEq<&str> for ErrorType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorType> for str {
    fn eq(&self, other: &ErrorType) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorType> for String {
    fn eq(&self, other: &ErrorType) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_as_lambda_writes_them() {
        assert_eq!(ErrorType::InitTimeout.to_string(), "Runtime.InitTimeout");
        assert_eq!(
            String::from(ErrorType::ResponseSizeTooLarge),
            "Function.ResponseSizeTooLarge"
        );
        assert!("Sandbox.Timedout" == &ErrorType::Timedout);
    }
}
