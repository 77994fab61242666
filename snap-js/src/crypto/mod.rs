//! `snapjs:native/crypto`: the OpenSSL operations behind `node:crypto`'s
//! ciphers, key derivation, keys and signatures (LLRT has them only under
//! `crypto.subtle`). Each function takes and returns plain bytes; the
//! Node API (`KeyObject`, `Cipheriv`, `Sign`, Node's errors) is
//! `node/crypto.js`. Nothing here runs until that module is imported.

mod bytes;
mod cipher;
mod kdf;
mod keys;
mod sign;

use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::prelude::Func;
use rquickjs::{Ctx, Result};

/// The module's name, which only snapjs's own JS built-ins import.
pub(crate) const NAME: &str = "snapjs:native/crypto";

#[derive(Debug)]
pub(crate) struct CryptoNative;

const EXPORTS: &[&str] = &[
    "cipherInfo",
    "ciphers",
    "crypt",
    "pbkdf2",
    "scrypt",
    "hkdf",
    "keyParse",
    "keyExport",
    "keyDetails",
    "generate",
    "sign",
    "verify",
];

impl ModuleDef for CryptoNative {
    fn declare(declare: &Declarations) -> Result<()> {
        for name in EXPORTS {
            declare.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(_ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export("cipherInfo", Func::from(cipher::info))?;
        exports.export("ciphers", Func::from(cipher::names))?;
        exports.export("crypt", Func::from(cipher::crypt))?;
        exports.export("pbkdf2", Func::from(kdf::pbkdf2))?;
        exports.export("scrypt", Func::from(kdf::scrypt))?;
        exports.export("hkdf", Func::from(kdf::hkdf))?;
        exports.export("keyParse", Func::from(keys::parse))?;
        exports.export("keyExport", Func::from(keys::export))?;
        exports.export("keyDetails", Func::from(keys::details))?;
        exports.export("generate", Func::from(keys::generate))?;
        exports.export("sign", Func::from(sign::sign))?;
        exports.export("verify", Func::from(sign::verify))?;
        Ok(())
    }
}
