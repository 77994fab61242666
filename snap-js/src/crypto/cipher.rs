//! Symmetric ciphers by Node's names, run one-shot over the whole input.

use openssl::symm::{Cipher, Crypter, Mode};
use rquickjs::{Ctx, Object, Result, TypedArray};

use super::bytes::{of, out, ssl, throw};

/// OpenSSL's constructor of one cipher.
type Make = fn() -> Cipher;

/// Node's cipher names snapjs has, with OpenSSL's cipher for each.
const TABLE: &[(&str, Make)] = &[
    ("aes-128-cbc", Cipher::aes_128_cbc),
    ("aes-128-ctr", Cipher::aes_128_ctr),
    ("aes-128-ecb", Cipher::aes_128_ecb),
    ("aes-128-gcm", Cipher::aes_128_gcm),
    ("aes-192-cbc", Cipher::aes_192_cbc),
    ("aes-192-ctr", Cipher::aes_192_ctr),
    ("aes-192-ecb", Cipher::aes_192_ecb),
    ("aes-192-gcm", Cipher::aes_192_gcm),
    ("aes-256-cbc", Cipher::aes_256_cbc),
    ("aes-256-ctr", Cipher::aes_256_ctr),
    ("aes-256-ecb", Cipher::aes_256_ecb),
    ("aes-256-gcm", Cipher::aes_256_gcm),
    ("aes128", Cipher::aes_128_cbc),
    ("aes192", Cipher::aes_192_cbc),
    ("aes256", Cipher::aes_256_cbc),
    ("chacha20-poly1305", Cipher::chacha20_poly1305),
    ("id-aes128-gcm", Cipher::aes_128_gcm),
    ("id-aes192-gcm", Cipher::aes_192_gcm),
    ("id-aes256-gcm", Cipher::aes_256_gcm),
];

fn lookup(name: &str) -> Option<Cipher> {
    let name = name.to_ascii_lowercase();
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, f)| f())
}

/// `[keyLength, ivLength, aead]` of a cipher, or `undefined` for a name
/// snapjs does not know.
pub(super) fn info(name: String) -> Option<Vec<usize>> {
    lookup(&name).map(|c| {
        vec![
            c.key_len(),
            c.iv_len().unwrap_or(0),
            usize::from(is_aead(&name)),
        ]
    })
}

fn is_aead(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("gcm") || name == "chacha20-poly1305"
}

/// Every cipher name, sorted (Node's `getCiphers()`).
pub(super) fn names() -> Vec<String> {
    TABLE.iter().map(|(n, _)| (*n).to_owned()).collect()
}

/// The whole of one encryption or decryption: `{out, tag}` (the tag of
/// an AEAD encryption, `opts.tagLength` bytes; empty otherwise). `opts`:
/// `padding` (bool), `aad` and `tag` (bytes or undefined), `tagLength`.
pub(super) fn crypt<'js>(
    ctx: Ctx<'js>,
    name: String,
    key: TypedArray<'js, u8>,
    iv: Option<TypedArray<'js, u8>>,
    encrypt: bool,
    opts: Object<'js>,
    data: TypedArray<'js, u8>,
) -> Result<Object<'js>> {
    let padding: bool = opts.get("padding")?;
    let aad: Option<TypedArray<'js, u8>> = opts.get("aad")?;
    let tag: Option<TypedArray<'js, u8>> = opts.get("tag")?;
    let tag_length: usize = opts.get("tagLength")?;
    let cipher = lookup(&name).ok_or_else(|| throw(&ctx, "Unknown cipher"))?;
    let iv = match &iv {
        Some(iv) => Some(of(&ctx, iv)?),
        None => None,
    };
    let mode = if encrypt {
        Mode::Encrypt
    } else {
        Mode::Decrypt
    };
    let fail = |e: openssl::error::ErrorStack| ssl(&ctx, e);
    let mut crypter = Crypter::new(cipher, mode, of(&ctx, &key)?, iv).map_err(fail)?;
    crypter.pad(padding);
    if let Some(tag) = &tag {
        crypter.set_tag(of(&ctx, tag)?).map_err(fail)?;
    }
    if let Some(aad) = &aad {
        crypter.aad_update(of(&ctx, aad)?).map_err(fail)?;
    }
    let input = of(&ctx, &data)?;
    let mut output = vec![0; input.len() + cipher.block_size()];
    let mut n = crypter.update(input, &mut output).map_err(fail)?;
    n += crypter.finalize(&mut output[n..]).map_err(fail)?;
    output.truncate(n);
    let mut tag_out = Vec::new();
    if encrypt && is_aead(&name) {
        tag_out = vec![0; tag_length];
        crypter.get_tag(&mut tag_out).map_err(fail)?;
    }
    let result = Object::new(ctx.clone())?;
    result.set("out", out(&ctx, output)?)?;
    result.set("tag", out(&ctx, tag_out)?)?;
    Ok(result)
}
