//! Asymmetric keys: parsing PEM/DER into one canonical DER (PKCS#8 for a
//! private key, SPKI for a public one), exporting, details, generating.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use rquickjs::{Ctx, Object, Result, TypedArray};

use super::bytes::{of, out, ssl, throw};

type Stack = openssl::error::ErrorStack;

/// Node's name for a key's type (`asymmetricKeyType`).
pub(super) fn type_name(id: Id) -> &'static str {
    match id {
        Id::RSA => "rsa",
        Id::RSA_PSS => "rsa-pss",
        Id::EC => "ec",
        Id::ED25519 => "ed25519",
        Id::ED448 => "ed448",
        Id::X25519 => "x25519",
        Id::X448 => "x448",
        Id::DSA => "dsa",
        Id::DH => "dh",
        _ => "unknown",
    }
}

/// A private key from PEM or DER (PKCS#8, PKCS#1 or SEC1).
pub(super) fn private_from(data: &[u8], pem: bool) -> std::result::Result<PKey<Private>, Stack> {
    if pem {
        PKey::private_key_from_pem(data)
    } else {
        PKey::private_key_from_der(data)
    }
}

/// A public key from PEM or DER (SPKI or PKCS#1).
fn public_from(data: &[u8], pem: bool) -> std::result::Result<PKey<Public>, Stack> {
    let spki = if pem {
        PKey::public_key_from_pem(data)
    } else {
        PKey::public_key_from_der(data)
    };
    spki.or_else(|e| {
        let rsa = if pem {
            Rsa::public_key_from_pem_pkcs1(data)
        } else {
            Rsa::public_key_from_der_pkcs1(data)
        };
        rsa.and_then(PKey::from_rsa).map_err(|_| e)
    })
}

/// `[asymmetricKeyType, der]` of the key in `data`. `private`: a private
/// key (PKCS#8 DER out); otherwise a public key (SPKI DER out), which a
/// private key's PEM also gives, as in Node.
pub(super) fn parse<'js>(
    ctx: Ctx<'js>,
    data: TypedArray<'js, u8>,
    pem: bool,
    private: bool,
) -> Result<Object<'js>> {
    let data = of(&ctx, &data)?;
    let fail = |e: Stack| ssl(&ctx, e);
    let (id, der) = if private {
        let key = private_from(data, pem).map_err(fail)?;
        (key.id(), key.private_key_to_pkcs8().map_err(fail)?)
    } else {
        match public_from(data, pem) {
            Ok(key) => (key.id(), key.public_key_to_der().map_err(fail)?),
            Err(e) => {
                let key = private_from(data, pem).map_err(|_| fail(e))?;
                (key.id(), key.public_key_to_der().map_err(fail)?)
            }
        }
    };
    let result = Object::new(ctx.clone())?;
    result.set("type", type_name(id))?;
    result.set("der", out(&ctx, der)?)?;
    Ok(result)
}

/// The canonical DER of `parse` as `format` ("pem" or "der") and `kind`
/// ("pkcs1", "pkcs8", "spki" or "sec1").
pub(super) fn export<'js>(
    ctx: Ctx<'js>,
    der: TypedArray<'js, u8>,
    private: bool,
    format: String,
    kind: String,
) -> Result<TypedArray<'js, u8>> {
    let der = of(&ctx, &der)?;
    let fail = |e: Stack| ssl(&ctx, e);
    let pem = format == "pem";
    let bytes = if private {
        let key = PKey::private_key_from_der(der).map_err(fail)?;
        match (kind.as_str(), pem) {
            ("pkcs8", true) => key.private_key_to_pem_pkcs8(),
            ("pkcs8", false) => key.private_key_to_pkcs8(),
            ("pkcs1", true) => key.rsa().and_then(|k| k.private_key_to_pem()),
            ("pkcs1", false) => key.rsa().and_then(|k| k.private_key_to_der()),
            ("sec1", true) => key.ec_key().and_then(|k| k.private_key_to_pem()),
            ("sec1", false) => key.ec_key().and_then(|k| k.private_key_to_der()),
            _ => return Err(throw(&ctx, format!("Invalid type {kind}"))),
        }
    } else {
        let key = PKey::public_key_from_der(der).map_err(fail)?;
        match (kind.as_str(), pem) {
            ("spki", true) => key.public_key_to_pem(),
            ("spki", false) => key.public_key_to_der(),
            ("pkcs1", true) => key.rsa().and_then(|k| k.public_key_to_pem_pkcs1()),
            ("pkcs1", false) => key.rsa().and_then(|k| k.public_key_to_der_pkcs1()),
            _ => return Err(throw(&ctx, format!("Invalid type {kind}"))),
        }
    };
    out(&ctx, bytes.map_err(fail)?)
}

/// Node's curve name for an OpenSSL curve.
fn curve_name(nid: Nid) -> String {
    match nid {
        Nid::X9_62_PRIME256V1 => "prime256v1".to_owned(),
        Nid::SECP384R1 => "secp384r1".to_owned(),
        Nid::SECP521R1 => "secp521r1".to_owned(),
        Nid::SECP256K1 => "secp256k1".to_owned(),
        other => other.short_name().unwrap_or("unknown").to_owned(),
    }
}

/// `asymmetricKeyDetails`: `modulusLength` and `publicExponent` of an RSA
/// key, `namedCurve` of an EC key, nothing for the others.
pub(super) fn details<'js>(
    ctx: Ctx<'js>,
    der: TypedArray<'js, u8>,
    private: bool,
) -> Result<Object<'js>> {
    let der = of(&ctx, &der)?;
    let fail = |e: Stack| ssl(&ctx, e);
    let public = if private {
        let key = PKey::private_key_from_der(der).map_err(fail)?;
        PKey::public_key_from_der(&key.public_key_to_der().map_err(fail)?).map_err(fail)?
    } else {
        PKey::public_key_from_der(der).map_err(fail)?
    };
    let obj = Object::new(ctx.clone())?;
    if let Ok(rsa) = public.rsa() {
        obj.set("modulusLength", rsa.n().num_bits())?;
        let e: f64 = rsa.e().to_dec_str().map_err(fail)?.parse().unwrap_or(0.0);
        obj.set("publicExponent", e)?;
    } else if let Ok(ec) = public.ec_key() {
        if let Some(nid) = ec.group().curve_name() {
            obj.set("namedCurve", curve_name(nid))?;
        }
    }
    Ok(obj)
}

/// OpenSSL's curve for Node's name (or its NIST alias).
fn curve(name: &str) -> Option<Nid> {
    match name {
        "prime256v1" | "P-256" | "secp256r1" => Some(Nid::X9_62_PRIME256V1),
        "secp384r1" | "P-384" => Some(Nid::SECP384R1),
        "secp521r1" | "P-521" => Some(Nid::SECP521R1),
        "secp256k1" => Some(Nid::SECP256K1),
        _ => None,
    }
}

/// A new key pair: `{private: pkcs8 der, public: spki der}`.
pub(super) fn generate<'js>(
    ctx: Ctx<'js>,
    kind: String,
    modulus_length: Option<u32>,
    public_exponent: Option<u32>,
    named_curve: Option<String>,
) -> Result<Object<'js>> {
    let fail = |e: Stack| ssl(&ctx, e);
    let key = match kind.as_str() {
        "rsa" => {
            let e = BigNum::from_u32(public_exponent.unwrap_or(65537)).map_err(fail)?;
            let bits = modulus_length.unwrap_or(2048);
            let rsa = Rsa::generate_with_e(bits, &e).map_err(fail)?;
            PKey::from_rsa(rsa).map_err(fail)?
        }
        "ec" => {
            let name = named_curve.unwrap_or_default();
            let nid = curve(&name).ok_or_else(|| throw(&ctx, "Invalid EC curve name"))?;
            let group = EcGroup::from_curve_name(nid).map_err(fail)?;
            PKey::from_ec_key(EcKey::generate(&group).map_err(fail)?).map_err(fail)?
        }
        "ed25519" => PKey::generate_ed25519().map_err(fail)?,
        "x25519" => PKey::generate_x25519().map_err(fail)?,
        other => return Err(throw(&ctx, format!("Unsupported key type {other}"))),
    };
    let private = key.private_key_to_pkcs8().map_err(fail)?;
    let public = key.public_key_to_der().map_err(fail)?;
    let result = Object::new(ctx.clone())?;
    result.set("private", out(&ctx, private)?)?;
    result.set("public", out(&ctx, public)?)?;
    Ok(result)
}
