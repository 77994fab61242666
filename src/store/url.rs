//! `s3://BUCKET/PREFIX`: where a store keeps snapshots.

use std::fmt;
use std::str::FromStr;

/// A store's address, as `--store` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    /// The bucket.
    pub bucket: String,
    /// The key prefix everything lives under, without leading or trailing
    /// slashes; may be empty.
    pub prefix: String,
}

/// Why a `--store` value is not an `s3://BUCKET/PREFIX` address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url:?} is not a store address: {reason} (expected s3://BUCKET/PREFIX)")]
pub struct BadStoreUrl {
    /// What was given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for StoreUrl {
    type Err = BadStoreUrl;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let refuse = |reason| BadStoreUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| refuse("only s3:// stores are supported"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules, in short: 3 to 63 lowercase letters,
        // digits, dots and hyphens.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(refuse(
                "the bucket name must be 3 to 63 lowercase letters, digits, dots or hyphens",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part == "." || part == ".." || (part.is_empty() && !prefix.is_empty()))
        {
            return Err(refuse("the prefix has an empty, `.` or `..` part"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl StoreUrl {
    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let url: StoreUrl = "s3://snaps/team/fn/".parse().unwrap();
        assert_eq!(url.bucket, "snaps");
        assert_eq!(url.prefix, "team/fn");
        assert_eq!(url.key("chunks/ab"), "team/fn/chunks/ab");
        assert_eq!(url.to_string(), "s3://snaps/team/fn");
        let bare: StoreUrl = "s3://snaps".parse().unwrap();
        assert_eq!(bare.key("chunks/ab"), "chunks/ab");
    }

    #[test]
    fn refuses_what_is_not_an_s3_address() {
        for (bad, why) in [
            ("/tmp/snaps", "only s3://"),
            ("https://snaps/x", "only s3://"),
            ("s3://", "bucket name"),
            ("s3://Snaps/x", "bucket name"),
            ("s3://ab/x", "bucket name"),
            ("s3://snaps/a//b", "empty"),
            ("s3://snaps/a/../b", "`..`"),
        ] {
            let err = bad.parse::<StoreUrl>().unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }
}
