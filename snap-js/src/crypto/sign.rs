//! Signatures: RSA (PKCS#1 v1.5, PSS), ECDSA (DER or IEEE P1363) and
//! EdDSA, with the key as `keys::parse`'s canonical DER.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use rquickjs::{Ctx, Object, Result, TypedArray};

use super::bytes::{of, out, ssl, throw};

type Stack = openssl::error::ErrorStack;

/// Node's `RSA_PKCS1_PSS_PADDING`.
const PSS: i32 = 6;

fn digest_of(ctx: &Ctx<'_>, name: &Option<String>) -> Result<Option<MessageDigest>> {
    match name {
        None => Ok(None),
        Some(n) => MessageDigest::from_name(n)
            .map(Some)
            .ok_or_else(|| throw(ctx, "Invalid digest")),
    }
}

/// Bytes per scalar of an EC key's curve (for IEEE P1363 signatures).
fn scalar_len<T: HasPublic>(key: &PKeyRef<T>) -> std::result::Result<i32, Stack> {
    let bits = key.ec_key()?.group().order_bits();
    Ok(bits.div_ceil(8) as i32)
}

/// `opts`: `padding` and `saltLength` (Node's numbers), `p1363` (bool).
fn options(opts: &Object<'_>) -> Result<(i32, i32, bool)> {
    Ok((
        opts.get("padding")?,
        opts.get("saltLength")?,
        opts.get("p1363")?,
    ))
}

/// A signature of `data` with the private key `der` (PKCS#8).
pub(super) fn sign<'js>(
    ctx: Ctx<'js>,
    digest: Option<String>,
    der: TypedArray<'js, u8>,
    data: TypedArray<'js, u8>,
    opts: Object<'js>,
) -> Result<TypedArray<'js, u8>> {
    let (padding, salt_length, p1363) = options(&opts)?;
    let fail = |e: Stack| ssl(&ctx, e);
    let md = digest_of(&ctx, &digest)?;
    let key = PKey::private_key_from_der(of(&ctx, &der)?).map_err(fail)?;
    let mut signer = match md {
        Some(md) if !matches!(key.id(), Id::ED25519 | Id::ED448) => Signer::new(md, &key),
        _ => Signer::new_without_digest(&key),
    }
    .map_err(fail)?;
    if key.id() == Id::RSA {
        signer
            .set_rsa_padding(Padding::from_raw(padding))
            .map_err(fail)?;
        if padding == PSS {
            signer
                .set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt_length))
                .map_err(fail)?;
        }
    }
    let mut sig = signer.sign_oneshot_to_vec(of(&ctx, &data)?).map_err(fail)?;
    if p1363 && key.id() == Id::EC {
        let n = scalar_len(&key).map_err(fail)?;
        let parsed = EcdsaSig::from_der(&sig).map_err(fail)?;
        let mut raw = parsed.r().to_vec_padded(n).map_err(fail)?;
        raw.extend(parsed.s().to_vec_padded(n).map_err(fail)?);
        sig = raw;
    }
    out(&ctx, sig)
}

fn check<T: HasPublic>(
    key: &PKeyRef<T>,
    md: Option<MessageDigest>,
    data: &[u8],
    sig: &[u8],
    padding: i32,
    salt_length: i32,
    p1363: bool,
) -> std::result::Result<bool, Stack> {
    let converted;
    let mut sig = sig;
    if p1363 && key.id() == Id::EC {
        let n = scalar_len(key)? as usize;
        if sig.len() != 2 * n {
            return Ok(false);
        }
        let r = BigNum::from_slice(&sig[..n])?;
        let s = BigNum::from_slice(&sig[n..])?;
        converted = EcdsaSig::from_private_components(r, s)?.to_der()?;
        sig = &converted;
    }
    let mut verifier = match md {
        Some(md) if !matches!(key.id(), Id::ED25519 | Id::ED448) => Verifier::new(md, key),
        _ => Verifier::new_without_digest(key),
    }?;
    if key.id() == Id::RSA {
        verifier.set_rsa_padding(Padding::from_raw(padding))?;
        if padding == PSS {
            verifier.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt_length))?;
        }
    }
    // A malformed signature is a failed verification, as in Node.
    Ok(verifier.verify_oneshot(sig, data).unwrap_or(false))
}

/// Whether `sig` signs `data` under the key `der` (SPKI, or PKCS#8 when
/// `opts.private`).
pub(super) fn verify<'js>(
    ctx: Ctx<'js>,
    digest: Option<String>,
    der: TypedArray<'js, u8>,
    data: TypedArray<'js, u8>,
    sig: TypedArray<'js, u8>,
    opts: Object<'js>,
) -> Result<bool> {
    let (padding, salt_length, p1363) = options(&opts)?;
    let private: bool = opts.get("private")?;
    let fail = |e: Stack| ssl(&ctx, e);
    let md = digest_of(&ctx, &digest)?;
    let der = of(&ctx, &der)?;
    let (data, sig) = (of(&ctx, &data)?, of(&ctx, &sig)?);
    if private {
        let key = PKey::private_key_from_der(der).map_err(fail)?;
        check(&key, md, data, sig, padding, salt_length, p1363).map_err(fail)
    } else {
        let key = PKey::public_key_from_der(der).map_err(fail)?;
        check(&key, md, data, sig, padding, salt_length, p1363).map_err(fail)
    }
}
