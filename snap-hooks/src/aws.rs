//! The AWS SDK for Rust across a snapshot (the `aws-sdk` cargo feature).
//!
//! An `aws_config::SdkConfig` loaded at init is worth keeping: its region,
//! endpoint settings and credential provider chain are what init paid for.
//! But since behavior version 2024-03-28 it also holds an identity cache,
//! shared by every client built from it, and the first request at init
//! leaves the credentials it resolved there (for 15 minutes when they carry
//! no expiry, as environment credentials do). A client built from that
//! config after a restore signs with them, though the restoring environment
//! (on Lambda: the execution role's new session) has others.
//!
//! [`fresh_credentials`] is the config to build clients from after the
//! snapshot point: the same settings, with an empty cache of its own, so
//! the first request resolves credentials again through the same provider
//! chain, in the environment the process now has.

use aws_smithy_runtime::client::identity::IdentityCache;
use aws_types::SdkConfig;

/// `config` with a new, empty identity cache (the SDK's default lazy one)
/// in place of the one init filled; every other setting is kept.
///
/// Build clients after the snapshot point from what it returns. A config
/// without a cache (an older behavior version) gets the default one.
pub fn fresh_credentials(config: &SdkConfig) -> SdkConfig {
    config
        .to_builder()
        .identity_cache(IdentityCache::lazy().build())
        .build()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use aws_credential_types::Credentials;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
    use aws_smithy_async::rt::sleep::TokioSleep;
    use aws_smithy_async::time::SystemTimeSource;
    use aws_smithy_runtime_api::client::identity::{ResolveCachedIdentity, SharedIdentityResolver};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use aws_smithy_types::config_bag::ConfigBag;
    use aws_types::region::Region;

    use super::*;

    /// A provider whose key id can be changed, as the environment's
    /// credentials change between a snapshot and a restore.
    #[derive(Debug, Clone)]
    struct Rotating(Arc<Mutex<&'static str>>);

    impl ProvideCredentials for Rotating {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let key = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                key, "secret", None, None, "rotating",
            )))
        }
    }

    /// The key id a client built from `config` would sign with: resolved
    /// through the config's identity cache, as every request is.
    async fn signing_key(config: &SdkConfig) -> String {
        let cache = config.identity_cache().expect("an identity cache");
        let resolver = SharedIdentityResolver::new(config.credentials_provider().unwrap());
        let components = RuntimeComponentsBuilder::for_tests()
            .with_time_source(Some(SystemTimeSource::new()))
            .with_sleep_impl(Some(TokioSleep::new()))
            .build()
            .unwrap();
        let identity = cache
            .resolve_cached_identity(resolver, &components, &ConfigBag::base())
            .await
            .unwrap();
        identity
            .data::<Credentials>()
            .unwrap()
            .access_key_id()
            .to_owned()
    }

    #[tokio::test]
    async fn a_config_carried_across_a_snapshot_signs_with_the_new_credentials_once_fresh() {
        let key = Arc::new(Mutex::new("AKIA-AT-INIT"));
        let config = SdkConfig::builder()
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Rotating(Arc::clone(&key))))
            .identity_cache(IdentityCache::lazy().build())
            .build();
        // Init's first request fills the cache.
        assert_eq!(signing_key(&config).await, "AKIA-AT-INIT");
        // The restoring environment has other credentials.
        *key.lock().unwrap() = "AKIA-AFTER-RESTORE";
        // The config as it crossed the snapshot still signs with init's.
        assert_eq!(signing_key(&config).await, "AKIA-AT-INIT");
        let fresh = fresh_credentials(&config);
        assert_eq!(signing_key(&fresh).await, "AKIA-AFTER-RESTORE");
        // Everything else is the config init loaded.
        assert_eq!(fresh.region(), Some(&Region::new("eu-west-1")));
    }

    #[tokio::test]
    async fn a_config_without_a_cache_gets_one() {
        let key = Arc::new(Mutex::new("AKIA-ONLY"));
        let config = SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(Rotating(key)))
            .build();
        assert!(config.identity_cache().is_none());
        assert_eq!(signing_key(&fresh_credentials(&config)).await, "AKIA-ONLY");
    }
}
