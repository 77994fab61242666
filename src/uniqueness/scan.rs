//! The scan: which values in a response look random, and which of them
//! several restored instances share.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Candidate, Finding, MIN_FRACTION_DIGITS, MIN_TOKEN_LEN, Origin, TokenKind};

/// Compares the responses of restored instances, each its first and its
/// second answer to the same event. Returns every random-looking value that
/// two or more of them returned at the same place in their first answers,
/// most widely shared first, each with its [`Origin`], and how many
/// random-looking values the first answers held in all. Tokens that also
/// occur in `event` are skipped: the function may simply echo its input. So
/// is everything at or under a path in `ignore`.
pub fn compare(
    responses: &[(&[u8], &[u8])],
    event: &[u8],
    ignore: &[String],
) -> (Vec<Finding>, usize) {
    let event = String::from_utf8_lossy(event);
    let ignored = |path: &str| {
        ignore.iter().any(|i| {
            path.strip_prefix(i.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    };
    // Each answer scanned once: (first, second) per instance.
    let scanned: Vec<_> = responses
        .iter()
        .map(|(first, second)| (candidates(first), candidates(second)))
        .collect();
    let mut counts: BTreeMap<&Candidate, usize> = BTreeMap::new();
    for (first, _) in &scanned {
        for candidate in first {
            if !event.contains(&candidate.value) && !ignored(&candidate.path) {
                *counts.entry(candidate).or_default() += 1;
            }
        }
    }
    let random_values = counts.len();
    let mut findings: Vec<Finding> = counts
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(candidate, same_in)| Finding {
            origin: origin(candidate, &scanned),
            candidate: candidate.clone(),
            same_in,
            of: responses.len(),
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.same_in));
    (findings, random_values)
}

/// Where `candidate`, which several first answers share, came from: made
/// during init if every instance whose first answer held it holds it again
/// in its second, else by a generator the snapshot froze.
fn origin(candidate: &Candidate, scanned: &[(BTreeSet<Candidate>, BTreeSet<Candidate>)]) -> Origin {
    let stayed = scanned
        .iter()
        .filter(|(first, _)| first.contains(candidate))
        .all(|(_, second)| second.contains(candidate));
    if stayed {
        Origin::Init
    } else {
        Origin::FrozenGenerator
    }
}

/// Every random-looking value in one response body, each once per place.
/// A JSON body is walked leaf by leaf; anything else is one string at `$`.
pub fn candidates(body: &[u8]) -> BTreeSet<Candidate> {
    let mut out = BTreeSet::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => walk(&value, &mut "$".to_owned(), &mut out),
        Err(_) => strings("$", &String::from_utf8_lossy(body), &mut out),
    }
    out
}

fn walk(value: &Value, path: &mut String, out: &mut BTreeSet<Candidate>) {
    let len = path.len();
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                push_key(path, key);
                walk(value, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(value, path, out);
                path.truncate(len);
            }
        }
        Value::String(s) => strings(path, s, out),
        Value::Number(n) => {
            let text = n.to_string();
            if is_random_float(&text) {
                out.insert(Candidate {
                    path: path.clone(),
                    value: text,
                    kind: TokenKind::Float,
                    whole: true,
                });
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// `.key` for identifier-like keys, `["key"]` for the rest.
fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

fn strings(path: &str, s: &str, out: &mut BTreeSet<Candidate>) {
    for (kind, token) in random_tokens(s) {
        out.insert(Candidate {
            path: path.to_owned(),
            whole: token == s,
            value: token,
            kind,
        });
    }
}

/// The random-looking tokens in `s`, in order: UUIDs, floats with at least
/// [`MIN_FRACTION_DIGITS`] fractional digits, runs of at least
/// [`MIN_TOKEN_LEN`] hex digits, and base64/base64url runs of that length
/// whose character classes are mixed as in random data.
pub fn random_tokens(s: &str) -> Vec<(TokenKind, String)> {
    let bytes = s.as_bytes();
    let mut found: Vec<(usize, TokenKind, String)> = Vec::new();
    // Bytes already claimed by a UUID or a float.
    let mut taken = vec![false; bytes.len()];

    let mut i = 0;
    while i + 36 <= bytes.len() {
        if is_uuid(&bytes[i..i + 36])
            && !alnum_at(bytes, i.wrapping_sub(1))
            && !alnum_at(bytes, i + 36)
        {
            found.push((i, TokenKind::Uuid, s[i..i + 36].to_owned()));
            taken[i..i + 36].fill(true);
            i += 36;
        } else {
            i += 1;
        }
    }

    for (start, end) in runs(bytes, &taken, |b| {
        b.is_ascii_digit() || b == b'.' || b == b'-'
    }) {
        // A float is digits '.' digits, perhaps signed; a longer run such as
        // a version "1.2.3" or a date is something else.
        let text = &s[start..end];
        if is_random_float(text) && !alnum_at(bytes, start.wrapping_sub(1)) && !alnum_at(bytes, end)
        {
            found.push((start, TokenKind::Float, text.to_owned()));
            taken[start..end].fill(true);
        }
    }

    for (start, end) in runs(bytes, &taken, is_base64_byte) {
        let token = &s[start..end];
        let mut pieces = Vec::new();
        match classify(token) {
            Some(kind) => pieces.push((start, kind, token.to_owned())),
            // Not random as a whole (it may hold words): look at its parts,
            // as in `req-0123456789abcdef01234567`.
            None => {
                let mut offset = start;
                for part in token.split(['-', '_', '+', '/']) {
                    if let Some(kind) = classify(part) {
                        pieces.push((offset, kind, part.to_owned()));
                    }
                    offset += part.len() + 1;
                }
            }
        }
        found.extend(pieces);
    }
    found.sort_by_key(|(at, ..)| *at);
    found.into_iter().map(|(_, kind, t)| (kind, t)).collect()
}

/// Maximal runs of bytes that satisfy `pick` and are not `taken`.
fn runs(bytes: &[u8], taken: &[bool], pick: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let inside = pick(b) && !taken[i];
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, bytes.len()));
    }
    out
}

fn alnum_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(u8::is_ascii_alphanumeric)
}

/// The base64 and base64url alphabets, without the `=` padding (which ends
/// a run, so `key=...` splits there).
fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `-?digits.digits` with at least [`MIN_FRACTION_DIGITS`] after the point,
/// and an optional exponent.
fn is_random_float(text: &str) -> bool {
    let text = text.strip_prefix('-').unwrap_or(text);
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() >= MIN_FRACTION_DIGITS
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a token with no separators of its own looks random, and how.
fn classify(token: &str) -> Option<TokenKind> {
    if token.len() < MIN_TOKEN_LEN {
        return None;
    }
    let b = token.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    let letters = upper + lower;
    if b.iter().all(u8::is_ascii_hexdigit) {
        // Random hex has both digits and letters; a long decimal number
        // (a timestamp in nanoseconds) has no letters.
        return (digits > 0 && letters > 0).then_some(TokenKind::Hex);
    }
    if !b.iter().all(|c| is_base64_byte(*c)) {
        return None;
    }
    // Words joined by separators (`us-east-1-handler-2024`) are not random:
    // every part is letters only, digits only, or one capitalised word.
    let wordy = token
        .split(['-', '_', '+', '/'])
        .all(|part| is_word(part) || part.bytes().all(|c| c.is_ascii_digit()));
    if wordy {
        return None;
    }
    let classes = [digits, upper, lower].iter().filter(|n| **n > 0).count();
    let mixed = match classes {
        3 => true,
        // Letters of one case and digits: random (base32-like) data changes
        // class often; `function2024version3` does not.
        2 if digits > 0 => class_changes(b) * 10 >= (b.len() - 1) * 3,
        // Upper and lower case only: too easily a CamelCase name.
        _ => false,
    };
    mixed.then_some(TokenKind::Base64)
}

/// Letters only, in one case or capitalised (`word`, `WORD`, `Word`).
fn is_word(part: &str) -> bool {
    let b = part.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let rest = &b[1..];
    rest.iter().all(u8::is_ascii_lowercase) || b.iter().all(u8::is_ascii_uppercase)
}

/// How often adjacent characters differ in class (digit, upper, lower, other).
fn class_changes(b: &[u8]) -> usize {
    let class = |c: u8| match c {
        b'0'..=b'9' => 0,
        b'A'..=b'Z' => 1,
        b'a'..=b'z' => 2,
        _ => 3,
    };
    b.windows(2).filter(|w| class(w[0]) != class(w[1])).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(TokenKind, String)> {
        random_tokens(s)
    }

    #[test]
    fn random_looking_tokens() {
        let uuid = "3f2b8c1e-9a4d-4e7b-8c2f-1a2b3c4d5e6f";
        assert_eq!(kinds(uuid), vec![(TokenKind::Uuid, uuid.to_owned())]);
        assert_eq!(
            kinds("token 0123456789abcdef0123 end"),
            vec![(TokenKind::Hex, "0123456789abcdef0123".to_owned())]
        );
        assert_eq!(
            kinds("req-0123456789abcdef01234567"),
            vec![(TokenKind::Hex, "0123456789abcdef01234567".to_owned())]
        );
        assert_eq!(
            kinds("key=q8Zx3LmN0pR7tVw2Yb5K=="),
            vec![(TokenKind::Base64, "q8Zx3LmN0pR7tVw2Yb5K".to_owned())]
        );
        assert_eq!(
            kinds("x 0.8234567123 y"),
            vec![(TokenKind::Float, "0.8234567123".to_owned())]
        );
        assert_eq!(
            kinds(&format!("{uuid}/0.123456789")),
            vec![
                (TokenKind::Uuid, uuid.to_owned()),
                (TokenKind::Float, "0.123456789".to_owned())
            ]
        );
    }

    #[test]
    fn ordinary_text_is_not_random() {
        for s in [
            "hello from snap",
            "ThisIsACamelCaseName",
            "us-east-1-function-2024",
            "function2024version3",
            "1700000000000000000",
            "arn:aws:lambda:us-east-1:012345678912:function:function",
            "2024-05-01T12:00:00.123Z",
            "0.25",
            "1.2.3",
            "snake_case_identifier_here",
            "abcdefabcdefabcdef",
        ] {
            assert_eq!(kinds(s), vec![], "{s}");
        }
    }

    #[test]
    fn random_data_is_caught() {
        // xorshift64*: deterministic bytes that look random.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut byte = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        };
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let (mut hex, mut b64) = (0, 0);
        for _ in 0..1000 {
            let bytes: Vec<u8> = (0..16).map(|_| byte()).collect();
            let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            hex += usize::from(kinds(&h) == vec![(TokenKind::Hex, h.clone())]);
            let t: String = (0..22)
                .map(|_| B64[usize::from(byte() % 64)] as char)
                .collect();
            b64 += usize::from(!kinds(&t).is_empty());
        }
        assert_eq!(hex, 1000);
        assert!(b64 >= 950, "{b64} of 1000 base64 tokens caught");
    }

    #[test]
    fn json_paths() {
        let body = br#"{"ids":["0123456789abcdef0123",1],"a b":{"x":0.123456789},"n":5}"#;
        let found: Vec<_> = candidates(body)
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect();
        assert_eq!(
            found,
            vec![
                ("$.ids[0]".to_owned(), TokenKind::Hex),
                (r#"$["a b"].x"#.to_owned(), TokenKind::Float),
            ]
        );
        let raw = candidates(b"plain 0123456789abcdef0123");
        assert_eq!(raw.len(), 1);
        let c = raw.into_iter().next().unwrap_or_else(|| unreachable!());
        assert_eq!((c.path.as_str(), c.whole), ("$", false));
    }

    #[test]
    fn only_shared_random_values_are_findings() {
        let a = br#"{"cached":"0123456789abcdef0123","fresh":"aaaa1111bbbb2222cccc","hi":"hello"}"#;
        let b = br#"{"cached":"0123456789abcdef0123","fresh":"dddd3333eeee4444ffff","hi":"hello"}"#;
        let (a, b) = (&a[..], &b[..]);
        let (findings, total) = compare(&[(a, a), (b, b)], b"{}", &[]);
        assert_eq!(total, 3);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].candidate.path, "$.cached");
        assert_eq!((findings[0].same_in, findings[0].of), (2, 2));
        let [a, b] = [(a, a), (b, b)];
        // A value the event carries is an echo, not a duplicate.
        let (findings, _) = compare(&[a, b], br#"{"id":"0123456789abcdef0123"}"#, &[]);
        assert!(findings.is_empty());
        // So is a path the user vouches for, and what lies under it.
        for ignore in ["$.cached", "$"] {
            let (findings, _) = compare(&[a, b], b"{}", &[ignore.to_owned()]);
            assert!(findings.is_empty(), "{ignore}");
        }
        let (findings, _) = compare(&[a, b], b"{}", &["$.cache".to_owned()]);
        assert_eq!(findings.len(), 1);
    }

    #[test]
    fn a_shared_value_that_stays_was_made_at_init_and_one_that_moves_on_by_a_frozen_generator() {
        // Both instances: the same init value, then the same sequence from
        // a generator whose state the snapshot copied.
        let first = &br#"{"init":"0123456789abcdef0123","drawn":"aaaa1111bbbb2222cccc"}"#[..];
        let second = &br#"{"init":"0123456789abcdef0123","drawn":"dddd3333eeee4444ffff"}"#[..];
        let (findings, _) = compare(&[(first, second), (first, second)], b"{}", &[]);
        let origins: Vec<_> = findings
            .iter()
            .map(|f| (f.candidate.path.as_str(), f.origin))
            .collect();
        assert_eq!(
            origins,
            [
                ("$.drawn", Origin::FrozenGenerator),
                ("$.init", Origin::Init)
            ]
        );
        // One instance that moved on is enough: the value was drawn.
        let (findings, _) = compare(&[(first, first), (first, second)], b"{}", &[]);
        let drawn = findings.iter().find(|f| f.candidate.path == "$.drawn");
        assert_eq!(drawn.map(|f| f.origin), Some(Origin::FrozenGenerator));
    }
}
