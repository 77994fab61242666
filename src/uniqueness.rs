//! `snaprun check-unique`: finds entropy that a snapshot hands to every
//! restored instance, by looking at the function from the outside.
//!
//! The function's init runs once and is snapshotted. N instances are restored
//! from that snapshot, each gets the same event as its first and only
//! invocation, and the responses are compared. A value that looks random
//! (a UUID, a long hex or base64 run, a float with many fractional digits)
//! and is the same in two or more restored instances was almost certainly
//! generated during init and copied by the snapshot: a cached seed, id or
//! key that no after-restore hook refreshed.
//!
//! The scan only sees what the responses show. Entropy that a function keeps
//! to itself (a seed it never prints, a key it only signs with) is invisible
//! here; see `docs/uniqueness-check.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::instance::{Instance, Start, StartError};
use crate::restorer::{Restorer, SnapshotEngine};
use crate::runtime::Outcome;

/// Strings shorter than this are never taken for random tokens (UUIDs and
/// floats have their own shapes).
pub const MIN_TOKEN_LEN: usize = 16;

/// Floats with at least this many fractional digits look random.
pub const MIN_FRACTION_DIGITS: usize = 8;

/// Why a value looks random.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenKind {
    /// `8-4-4-4-12` hex digits.
    Uuid,
    /// At least 16 hex digits, letters and digits mixed.
    Hex,
    /// At least 16 characters of the base64 or base64url alphabet, with
    /// character classes mixed as in random data.
    Base64,
    /// A number with at least 8 fractional digits.
    Float,
}

impl TokenKind {
    /// A short name: `uuid`, `hex`, `base64`, `float`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uuid => "uuid",
            Self::Hex => "hex",
            Self::Base64 => "base64",
            Self::Float => "float",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A random-looking value found in one response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    /// Where: a JSON path such as `$.ids[0]`; `$` for a body that is not JSON.
    pub path: String,
    /// The random-looking text.
    pub value: String,
    /// Why it looks random.
    pub kind: TokenKind,
    /// Whether it is the whole leaf, or a token inside a longer string.
    pub whole: bool,
}

/// A random-looking value that two or more restored instances returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The value and where it was.
    pub candidate: Candidate,
    /// How many restored instances returned it there.
    pub same_in: usize,
    /// How many restored instances answered.
    pub of: usize,
}

/// The outcome of a check.
#[derive(Debug, Clone)]
pub struct Report {
    /// The snapshot engine: `criu` or `native`.
    pub engine: &'static str,
    /// One entry per restored instance, in the order they answered.
    pub instances: Vec<InstanceInfo>,
    /// Random-looking values that were the same in two or more instances.
    pub findings: Vec<Finding>,
    /// How many random-looking values the responses held in all, duplicated
    /// or not (each counted once per path and value).
    pub random_values: usize,
}

/// One restored instance and its answer.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    /// The bootstrap's pid as snaprun sees it, when known.
    pub pid: Option<u32>,
    /// Restore start until it asked for its first event.
    pub restore: Duration,
    /// Its response body.
    pub response: Bytes,
}

/// Why a check could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The engine makes no snapshot, so there is nothing to compare.
    #[error(
        "check-unique compares instances restored from one snapshot, and engine none makes no snapshot (use --engine criu as root, or --engine native for a bootstrap that links snap)"
    )]
    NoSnapshot,
    /// Fewer than two instances asked for.
    #[error("--instances must be at least 2 to compare restored instances, not {0}")]
    TooFewInstances(usize),
    /// The snapshot could not be made or an instance not restored.
    #[error("{what} failed: {cause}")]
    Start {
        /// `snapshot` or `restore N`.
        what: String,
        /// Why.
        cause: StartError,
    },
    /// An instance came up without being restored from the snapshot.
    #[error("instance {0} was not restored from the snapshot")]
    NotRestored(usize),
    /// Two instances turned out to be the same process.
    #[error(
        "instances {0} and {1} are the same process (pid {2}); the check needs distinct restores"
    )]
    SameProcess(usize, usize, u32),
    /// The function answered with an error.
    #[error("restored instance {instance} returned {error_type}: {message}")]
    Function {
        /// Which instance (1-based).
        instance: usize,
        /// Its errorType.
        error_type: String,
        /// Its errorMessage.
        message: String,
    },
    /// The instance went away or took longer than the function's timeout.
    #[error("restored instance {instance}: the invocation did not complete: {why}")]
    Invocation {
        /// Which instance (1-based).
        instance: usize,
        /// What happened.
        why: String,
    },
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Check {
    /// How many instances to restore and compare.
    pub instances: usize,
    /// The event every instance gets.
    pub event: Bytes,
    /// JSON paths whose values (and everything under them) are not
    /// reported: constants that only look random, such as a build hash.
    pub ignore: Vec<String>,
}

/// Makes (or reuses) the snapshot, restores `check.instances` instances from
/// it, sends each `check.event` as its first invocation, and compares the
/// responses.
///
/// Every instance is a restore of its own and answers exactly one event, so
/// each response comes from a distinct restored process. All of them stay
/// alive until every one has answered, then all are killed.
pub async fn run(engine: Option<SnapshotEngine>, check: &Check) -> Result<Report, CheckError> {
    let engine = engine.ok_or(CheckError::NoSnapshot)?;
    let count = check.instances;
    if count < 2 {
        return Err(CheckError::TooFewInstances(count));
    }
    let name = engine.name();
    let timeout = engine.spec().config.timeout;
    let restorer = Arc::new(engine.prepare().await.map_err(|cause| CheckError::Start {
        what: "snapshot".into(),
        cause,
    })?);
    tracing::info!(count, engine = name, "restoring instances");
    let instances = restore_all(&restorer, count).await?;
    let mut seen = BTreeMap::new();
    for (i, instance) in instances.iter().enumerate() {
        if !matches!(instance.start(), Some(Start::Restored { .. })) {
            return Err(CheckError::NotRestored(i + 1));
        }
        if let Some(pid) = instance.pid() {
            if let Some(first) = seen.insert(pid, i + 1) {
                return Err(CheckError::SameProcess(first, i + 1, pid));
            }
        }
    }
    let answers = invoke_all(instances, &check.event, timeout).await?;
    let responses: Vec<&[u8]> = answers.iter().map(|a| &a.response[..]).collect();
    let (findings, random_values) = compare(&responses, &check.event, &check.ignore);
    Ok(Report {
        engine: name,
        instances: answers,
        findings,
        random_values,
    })
}

/// Restores `count` instances at once. Every restore is awaited before an
/// error is returned, so none is left running (a dropped instance is killed).
async fn restore_all(restorer: &Arc<Restorer>, count: usize) -> Result<Vec<Instance>, CheckError> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let restorer = Arc::clone(restorer);
            tokio::spawn(async move { restorer.restore().await })
        })
        .collect();
    let mut instances = Vec::with_capacity(count);
    let mut first_error = None;
    for (i, task) in tasks.into_iter().enumerate() {
        let result = match task.await {
            Ok(result) => result,
            Err(join) => Err(StartError::Snapshot(join.to_string())),
        };
        match result {
            Ok(instance) => instances.push(instance),
            Err(cause) => {
                first_error.get_or_insert(CheckError::Start {
                    what: format!("restore {}", i + 1),
                    cause,
                });
            }
        }
    }
    match first_error {
        None => Ok(instances),
        Some(err) => {
            for instance in instances {
                instance.kill().await;
            }
            Err(err)
        }
    }
}

/// Sends `event` to every instance at once and collects the responses, in
/// instance order. Kills every instance afterwards.
async fn invoke_all(
    instances: Vec<Instance>,
    event: &Bytes,
    timeout: Duration,
) -> Result<Vec<InstanceInfo>, CheckError> {
    let tasks: Vec<_> = instances
        .into_iter()
        .enumerate()
        .map(|(i, mut instance)| {
            let event = event.clone();
            tokio::spawn(async move {
                let pid = instance.pid();
                let restore = match instance.start() {
                    Some(Start::Restored { restore }) => restore,
                    _ => Duration::ZERO,
                };
                let result = invoke(&mut instance, i + 1, event, timeout).await;
                (
                    instance,
                    result.map(|response| InstanceInfo {
                        pid,
                        restore,
                        response,
                    }),
                )
            })
        })
        .collect();
    let mut answered = Vec::new();
    let mut alive = Vec::new();
    let mut first_error = None;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok((instance, result)) => {
                alive.push(instance);
                match result {
                    Ok(info) => answered.push(info),
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
            Err(join) => {
                first_error.get_or_insert(CheckError::Invocation {
                    instance: i + 1,
                    why: join.to_string(),
                });
            }
        }
    }
    for instance in alive {
        instance.kill().await;
    }
    match first_error {
        None => Ok(answered),
        Some(err) => Err(err),
    }
}

async fn invoke(
    instance: &mut Instance,
    number: usize,
    event: Bytes,
    timeout: Duration,
) -> Result<Bytes, CheckError> {
    let gone = |why: String| CheckError::Invocation {
        instance: number,
        why,
    };
    let (_, outcome) = instance
        .api
        .invoke(event)
        .await
        .map_err(|_| gone("the instance is gone".into()))?;
    let outcome = tokio::select! {
        outcome = outcome => outcome.map_err(|_| gone("the instance is gone".into()))?,
        status = instance.exited() => return Err(gone(format!("the bootstrap exited ({status})"))),
        () = tokio::time::sleep(timeout) => return Err(gone(format!("timed out after {timeout:?}"))),
    };
    match outcome {
        Outcome::Response(body) => Ok(body),
        Outcome::Error(e) => Err(CheckError::Function {
            instance: number,
            error_type: e.error_type,
            message: e.message,
        }),
    }
}

/// Compares the responses of restored instances. Returns every
/// random-looking value that two or more of them returned at the same place,
/// most widely shared first, and how many random-looking values there were
/// in all. Tokens that also occur in `event` are skipped: the function may
/// simply echo its input. So is everything at or under a path in `ignore`.
pub fn compare(responses: &[&[u8]], event: &[u8], ignore: &[String]) -> (Vec<Finding>, usize) {
    let event = String::from_utf8_lossy(event);
    let ignored = |path: &str| {
        ignore.iter().any(|i| {
            path.strip_prefix(i.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    };
    let mut counts: BTreeMap<Candidate, usize> = BTreeMap::new();
    for response in responses {
        for candidate in candidates(response) {
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
            candidate,
            same_in,
            of: responses.len(),
        })
        .collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.same_in));
    (findings, random_values)
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

impl Report {
    /// Whether no random-looking value was shared.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report as text: one line per finding, then a summary.
    pub fn to_text(&self) -> String {
        let n = self.instances.len();
        let mut out = format!(
            "engine {} · {n} restored instances, one event each, all alive at once (pids {})\n",
            self.engine,
            self.pids()
        );
        if self.findings.is_empty() {
            out.push_str(&format!(
                "no random-looking value is shared between restored instances ({} seen, all distinct)\n",
                self.random_values
            ));
            if self.random_values == 0 {
                out.push_str(
                    "note: the responses hold no random-looking value, so this says nothing about entropy the function keeps to itself\n",
                );
            }
            return out;
        }
        for f in &self.findings {
            let c = &f.candidate;
            let place = if c.whole {
                c.path.clone()
            } else {
                format!("{} (inside the string)", c.path)
            };
            out.push_str(&format!(
                "{place}: {} {}: same in {} of {} restored instances\n",
                c.kind, c.value, f.same_in, f.of
            ));
        }
        out.push_str(&format!(
            "{} random-looking value{} duplicated by the snapshot: generated during init and never refreshed after restore\n",
            self.findings.len(),
            if self.findings.len() == 1 { " is" } else { "s are" }
        ));
        out
    }

    /// The report as the JSON `snaprun check-unique --json` prints.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "engine": self.engine,
            "instances": self.instances.len(),
            "distinct_instances": true,
            "pids": self.instances.iter().map(|i| i.pid).collect::<Vec<_>>(),
            "restore_ms": self.instances.iter().map(|i| i.restore.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
            "random_values": self.random_values,
            "duplicated": self.findings.iter().map(|f| serde_json::json!({
                "path": f.candidate.path,
                "value": f.candidate.value,
                "kind": f.candidate.kind.name(),
                "whole": f.candidate.whole,
                "same_in": f.same_in,
                "of": f.of,
            })).collect::<Vec<_>>(),
            "ok": self.is_clean(),
        })
    }

    fn pids(&self) -> String {
        let pids: Vec<String> = self
            .instances
            .iter()
            .map(|i| i.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()))
            .collect();
        pids.join(", ")
    }
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
        let (findings, total) = compare(&[a, b], b"{}", &[]);
        assert_eq!(total, 3);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].candidate.path, "$.cached");
        assert_eq!((findings[0].same_in, findings[0].of), (2, 2));
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
}
