//! Why a request failed, and the Node error (`code`, `message`, `syscall`,
//! ...) that `http.js` turns it into.

use std::net::SocketAddr;

/// A failed request, as Node would name it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetError {
    /// The host name did not resolve.
    #[error("getaddrinfo ENOTFOUND {host}")]
    NotFound {
        host: String,
        #[source]
        cause: std::io::Error,
    },
    /// Connecting failed (refused, unreachable, ...).
    #[error("connect {code} {addr}")]
    Connect {
        code: &'static str,
        addr: SocketAddr,
        #[source]
        cause: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("{message}")]
    Tls {
        code: &'static str,
        message: String,
        #[source]
        cause: std::io::Error,
    },
    /// A name TLS cannot verify against (`servername`).
    #[error("invalid server name for TLS: {name}")]
    ServerName { name: String },
    /// The TLS options (`ca`) could not be used.
    #[error("cannot use the TLS options: {message}")]
    TlsConfig { message: String },
    /// The connection closed before the response's head.
    #[error("socket hang up")]
    HangUp {
        #[source]
        cause: hyper::Error,
    },
    /// The connection failed while the response body was read.
    #[error("aborted")]
    Aborted {
        #[source]
        cause: hyper::Error,
    },
    /// The request's head could not be built (a header Node would refuse
    /// earlier).
    #[error("cannot build the request: {cause}")]
    Request {
        #[source]
        cause: hyper::http::Error,
    },
    /// Another protocol failure.
    #[error("{cause}")]
    Http {
        #[source]
        cause: hyper::Error,
    },
}

impl NetError {
    /// Node's `code`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "ENOTFOUND",
            Self::Connect { code, .. } | Self::Tls { code, .. } => code,
            Self::ServerName { .. } => "ERR_INVALID_ARG_VALUE",
            Self::TlsConfig { .. } => "ERR_TLS_INVALID_CONTEXT",
            Self::HangUp { .. } | Self::Aborted { .. } => "ECONNRESET",
            Self::Request { .. } => "ERR_INVALID_HTTP_TOKEN",
            Self::Http { .. } => "HPE_INVALID",
        }
    }

    /// `(name, value)` properties Node sets besides `code` and `message`.
    pub(crate) fn fields(&self) -> Vec<(&'static str, FieldValue)> {
        match self {
            Self::NotFound { host, .. } => vec![
                ("errno", FieldValue::Int(-3008)),
                ("syscall", FieldValue::Str("getaddrinfo".into())),
                ("hostname", FieldValue::Str(host.clone())),
            ],
            Self::Connect {
                code, addr, cause, ..
            } => vec![
                (
                    "errno",
                    FieldValue::Int(-cause.raw_os_error().unwrap_or(errno_of(code))),
                ),
                ("syscall", FieldValue::Str("connect".into())),
                ("address", FieldValue::Str(addr.ip().to_string())),
                ("port", FieldValue::Int(i32::from(addr.port()))),
            ],
            _ => Vec::new(),
        }
    }

    /// A connect failure, named by its errno.
    pub(crate) fn connect(addr: SocketAddr, cause: std::io::Error) -> Self {
        Self::Connect {
            code: errno_name(&cause),
            addr,
            cause,
        }
    }

    /// A failed TLS handshake: Node's code and message for a certificate
    /// rustls refused.
    pub(crate) fn tls(cause: std::io::Error) -> Self {
        use rustls::{CertificateError, Error as TlsError};
        let inner = cause
            .get_ref()
            .and_then(|e| e.downcast_ref::<TlsError>())
            .cloned();
        let (code, message) = match inner {
            Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => (
                "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                "unable to verify the first certificate".to_owned(),
            ),
            Some(TlsError::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            )) => ("CERT_HAS_EXPIRED", "certificate has expired".to_owned()),
            Some(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => (
                "ERR_TLS_CERT_ALTNAME_INVALID",
                "Hostname/IP does not match certificate's altnames".to_owned(),
            ),
            Some(other) => ("ERR_SSL_HANDSHAKE_FAILURE", other.to_string()),
            None if cause.kind() == std::io::ErrorKind::ConnectionReset => {
                ("ECONNRESET", "socket hang up".to_owned())
            }
            None => (
                "ERR_SSL_HANDSHAKE_FAILURE",
                format!("TLS handshake failed: {cause}"),
            ),
        };
        Self::Tls {
            code,
            message,
            cause,
        }
    }
}

/// A value of an error property.
#[derive(Debug, Clone)]
pub(crate) enum FieldValue {
    Int(i32),
    Str(String),
}

fn errno_name(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ECONNREFUSED",
        Some(libc::ECONNRESET) => "ECONNRESET",
        Some(libc::ETIMEDOUT) => "ETIMEDOUT",
        Some(libc::EHOSTUNREACH) => "EHOSTUNREACH",
        Some(libc::ENETUNREACH) => "ENETUNREACH",
        Some(libc::EADDRNOTAVAIL) => "EADDRNOTAVAIL",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        _ => match err.kind() {
            std::io::ErrorKind::ConnectionRefused => "ECONNREFUSED",
            std::io::ErrorKind::TimedOut => "ETIMEDOUT",
            _ => "ECONNRESET",
        },
    }
}

fn errno_of(code: &str) -> i32 {
    match code {
        "ECONNREFUSED" => libc::ECONNREFUSED,
        "ETIMEDOUT" => libc::ETIMEDOUT,
        _ => libc::ECONNRESET,
    }
}
