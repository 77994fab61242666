//! Key derivation: PBKDF2, scrypt and HKDF.

use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::Id;
use openssl::pkey_ctx::PkeyCtx;
use rquickjs::{Ctx, Result, TypedArray};

use super::bytes::{of, out, ssl, throw};

/// PBKDF2 with HMAC over `digest`.
pub(super) fn pbkdf2<'js>(
    ctx: Ctx<'js>,
    password: TypedArray<'js, u8>,
    salt: TypedArray<'js, u8>,
    iterations: usize,
    length: usize,
    digest: String,
) -> Result<TypedArray<'js, u8>> {
    let md = MessageDigest::from_name(&digest)
        .ok_or_else(|| throw(&ctx, format!("Invalid digest: {digest}")))?;
    let mut key = vec![0; length];
    openssl::pkcs5::pbkdf2_hmac(
        of(&ctx, &password)?,
        of(&ctx, &salt)?,
        iterations,
        md,
        &mut key,
    )
    .map_err(|e| ssl(&ctx, e))?;
    out(&ctx, key)
}

/// scrypt with `params` = `[N (cost), r (block size), p (parallelism),
/// maxmem]`.
pub(super) fn scrypt<'js>(
    ctx: Ctx<'js>,
    password: TypedArray<'js, u8>,
    salt: TypedArray<'js, u8>,
    params: Vec<f64>,
    length: usize,
) -> Result<TypedArray<'js, u8>> {
    let [n, r, p, maxmem] = params[..] else {
        return Err(throw(&ctx, "scrypt takes [N, r, p, maxmem]"));
    };
    let mut key = vec![0; length];
    openssl::pkcs5::scrypt(
        of(&ctx, &password)?,
        of(&ctx, &salt)?,
        n as u64,
        r as u64,
        p as u64,
        maxmem as u64,
        &mut key,
    )
    .map_err(|e| ssl(&ctx, e))?;
    out(&ctx, key)
}

/// HKDF (extract and expand) over `digest`.
pub(super) fn hkdf<'js>(
    ctx: Ctx<'js>,
    digest: String,
    ikm: TypedArray<'js, u8>,
    salt: TypedArray<'js, u8>,
    info: TypedArray<'js, u8>,
    length: usize,
) -> Result<TypedArray<'js, u8>> {
    let fail = |e: openssl::error::ErrorStack| ssl(&ctx, e);
    let md = Md::fetch(None, &digest, None).map_err(fail)?;
    let mut pctx = PkeyCtx::new_id(Id::HKDF).map_err(fail)?;
    pctx.derive_init().map_err(fail)?;
    pctx.set_hkdf_md(&md).map_err(fail)?;
    pctx.set_hkdf_key(of(&ctx, &ikm)?).map_err(fail)?;
    pctx.set_hkdf_salt(of(&ctx, &salt)?).map_err(fail)?;
    pctx.add_hkdf_info(of(&ctx, &info)?).map_err(fail)?;
    let mut key = vec![0; length];
    pctx.derive(Some(&mut key)).map_err(fail)?;
    out(&ctx, key)
}
