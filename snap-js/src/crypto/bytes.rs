//! Bytes in and out of JS, and OpenSSL's errors as JS exceptions.

use std::fmt::Display;

use rquickjs::{Ctx, Exception, Result, TypedArray};

/// A JS `Error` whose message is `what` (OpenSSL's reason, or ours).
pub(super) fn throw(ctx: &Ctx<'_>, what: impl Display) -> rquickjs::Error {
    Exception::throw_message(ctx, &what.to_string())
}

/// The bytes a `Uint8Array` views.
pub(super) fn of<'a>(ctx: &Ctx<'_>, array: &'a TypedArray<'_, u8>) -> Result<&'a [u8]> {
    array
        .as_bytes()
        .ok_or_else(|| throw(ctx, "the buffer's ArrayBuffer is detached"))
}

/// A new `Uint8Array` holding `bytes`.
pub(super) fn out<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<TypedArray<'js, u8>> {
    TypedArray::new(ctx.clone(), bytes)
}

/// A JS `Error` for OpenSSL's error, in Node's words:
/// `error:<code>:<library>::<reason>`.
pub(super) fn ssl(ctx: &Ctx<'_>, stack: openssl::error::ErrorStack) -> rquickjs::Error {
    match stack.errors().first() {
        Some(e) => throw(
            ctx,
            format!(
                "error:{:08X}:{}::{}",
                e.code(),
                e.library().unwrap_or(""),
                e.reason().unwrap_or("")
            ),
        ),
        None => throw(ctx, "OpenSSL failed without a reason"),
    }
}
