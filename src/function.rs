//! The function being run: its bootstrap, arguments and environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::FunctionConfig;

/// Everything needed to start a bootstrap.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The bootstrap executable.
    pub bootstrap: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment from `--env K=V`, applied last.
    pub env: Vec<(String, String)>,
    /// Name, memory size, handler, timeout.
    pub config: FunctionConfig,
    /// Limit on init (and before-snapshot hooks).
    pub init_timeout: Duration,
}

impl FunctionSpec {
    /// The environment a bootstrap gets, as Lambda documents it, for the
    /// Runtime API at `runtime_api` (`host:port`).
    pub fn environment(
        &self,
        runtime_api: &str,
        initialization_type: &str,
    ) -> Vec<(String, String)> {
        let c = &self.config;
        let task_root = self
            .bootstrap
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ".".into());
        let mut env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            (
                "AWS_LAMBDA_INITIALIZATION_TYPE",
                initialization_type.to_owned(),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", c.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", c.memory_mb.to_string()),
            (
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                c.timeout.as_secs().max(1).to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", c.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "snaprun".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_snaprun".to_owned()),
            ("_HANDLER", c.handler.clone()),
            ("LAMBDA_TASK_ROOT", task_root),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            (
                "AWS_REGION",
                std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            ),
            (
                "AWS_DEFAULT_REGION",
                std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            ),
            ("TZ", ":UTC".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for key in [
            "PATH",
            "HOME",
            "LANG",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            // A native bootstrap writes and opens its own snapshots.
            snap::snapshot::SIGNING_KEY_ENV,
            snap::snapshot::ENCRYPT_KEY_ENV,
            snap::snapshot::PLAIN_CACHE_ENV,
            "SNAP_SECRET_ENV",
        ] {
            if let Ok(value) = std::env::var(key) {
                env.push((key.to_owned(), value));
            }
        }
        for (k, v) in &self.env {
            env.retain(|(existing, _)| existing != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    /// The identity of this function's snapshots, under either engine:
    /// the bootstrap by content, its arguments, and every variable of
    /// [`Self::environment`] at init that counts
    /// ([`snap::snapshot::Identity::counts`]: every `--env`, and every
    /// variable passed through from snaprun's own environment, secrets by
    /// digest), with `engine`'s own settings that shape the snapshot.
    /// The one place an identity is computed: what a snapshot was made of
    /// and what a later run asks for are compared through it.
    pub fn identity(
        &self,
        engine: impl IntoIterator<Item = (String, String)>,
    ) -> std::io::Result<snap::snapshot::Identity> {
        // The Runtime API's address differs per instance and never counts.
        let env = self.environment("", "snap-start").into_iter().chain(engine);
        snap::snapshot::Identity::of_command(&self.bootstrap, &self.args, env)
    }
}
