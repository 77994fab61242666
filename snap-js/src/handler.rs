//! Finding and loading the function's handler, as Lambda's Node runtime
//! does: `_HANDLER=dir/file.export` names `file.js`, `file.mjs` or
//! `file.cjs` (tried in that order) under the task root, and the export
//! `export` of it (dots reach into nested objects).
//!
//! `.mjs` is an ES module, `.cjs` CommonJS, and `.js` an ES module when the
//! nearest `package.json` says `"type": "module"`, CommonJS otherwise.
//! ES modules go through the bytecode cache ([`crate::bytecode`]);
//! CommonJS files through the module system's `require` ([`crate::modules`]).

use snap::lambda::ErrorType;
use std::path::{Path, PathBuf};

/// Where the handler is.
#[derive(Debug, Clone)]
pub(crate) struct HandlerSpec {
    /// `_HANDLER` as given.
    pub(crate) name: String,
    /// The file.
    pub(crate) file: PathBuf,
    /// The export path (`handler`, `a.b`).
    pub(crate) export: Vec<String>,
    /// Whether the file is an ES module.
    pub(crate) esm: bool,
}

/// The handler cannot be found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// `_HANDLER` is not `file.export`.
    #[error("bad handler name {0:?}: expected file.export, e.g. index.handler")]
    Malformed(String),
    /// No file of that name.
    #[error("Cannot find module '{module}' (tried {tried}) for handler {handler:?}")]
    NotFound {
        module: String,
        tried: String,
        handler: String,
    },
}

impl ResolveError {
    /// The Lambda error type Node's runtime uses for it.
    pub(crate) fn error_type(&self) -> ErrorType {
        match self {
            Self::Malformed(_) => ErrorType::MalformedHandlerName,
            Self::NotFound { .. } => ErrorType::ImportModuleError,
        }
    }
}

impl HandlerSpec {
    /// Resolves `handler` under `task_root`.
    pub(crate) fn resolve(task_root: &Path, handler: &str) -> Result<Self, ResolveError> {
        let (dir, base) = match handler.rsplit_once('/') {
            Some((dir, base)) => (Some(dir), base),
            None => (None, handler),
        };
        let Some((module, export)) = base.split_once('.') else {
            return Err(ResolveError::Malformed(handler.to_owned()));
        };
        if module.is_empty() || export.is_empty() || export.split('.').any(str::is_empty) {
            return Err(ResolveError::Malformed(handler.to_owned()));
        }
        let folder = dir.map_or_else(|| task_root.to_path_buf(), |d| task_root.join(d));
        let candidates: Vec<PathBuf> = ["js", "mjs", "cjs"]
            .iter()
            .map(|ext| folder.join(format!("{module}.{ext}")))
            .collect();
        let Some(file) = candidates.iter().find(|p| p.is_file()).cloned() else {
            return Err(ResolveError::NotFound {
                module: module.to_owned(),
                tried: candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                handler: handler.to_owned(),
            });
        };
        let esm = match file.extension().and_then(|e| e.to_str()) {
            Some("mjs") => true,
            Some("cjs") => false,
            _ => package_type_is_module(&file),
        };
        Ok(Self {
            name: handler.to_owned(),
            file,
            export: export.split('.').map(str::to_owned).collect(),
            esm,
        })
    }
}

/// Whether the nearest `package.json` above `file` says `"type": "module"`.
fn package_type_is_module(file: &Path) -> bool {
    for dir in file.ancestors().skip(1) {
        let Ok(text) = std::fs::read(dir.join("package.json")) else {
            continue;
        };
        return serde_json::from_slice::<serde_json::Value>(&text)
            .is_ok_and(|v| v["type"] == "module");
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resolves_like_lambdas_node_runtime() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/app.mjs"), "").unwrap();
        std::fs::write(dir.path().join("index.js"), "").unwrap();
        let spec = HandlerSpec::resolve(dir.path(), "src/app.api.get").unwrap();
        assert_eq!(spec.file, dir.path().join("src/app.mjs"));
        assert_eq!(spec.export, ["api", "get"]);
        assert!(spec.esm);
        let spec = HandlerSpec::resolve(dir.path(), "index.handler").unwrap();
        assert!(
            !spec.esm,
            "a .js without package.json type module is CommonJS"
        );
        std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
        assert!(
            HandlerSpec::resolve(dir.path(), "index.handler")
                .unwrap()
                .esm
        );
        assert!(matches!(
            HandlerSpec::resolve(dir.path(), "index"),
            Err(ResolveError::Malformed(_))
        ));
        assert!(matches!(
            HandlerSpec::resolve(dir.path(), "missing.handler"),
            Err(ResolveError::NotFound { .. })
        ));
    }
}
