//! Finding the function's handler, as AWS's Node runtime client does
//! (its `UserFunction.js`):
//!
//! - `_HANDLER` with `..` anywhere is refused (`Runtime.MalformedHandlerName`),
//!   as it could name a file outside the task root;
//! - the last path segment splits at its FIRST dot: `dir/app.outer.inner`
//!   is module `app` in `dir`, export path `outer.inner`; a segment
//!   without a dot is refused;
//! - the file is, in this order: the extensionless file itself (CommonJS);
//!   `app.js` as CommonJS unless the nearest `package.json` says
//!   `"type": "module"` (the search stops at a `node_modules` folder, and
//!   an unreadable `package.json` counts as CommonJS); `app.js` as an ES
//!   module when it does; `app.mjs` (ESM); `app.cjs` (CommonJS); last, the
//!   bare name as a package in a `node_modules` folder at or above the task
//!   root (CommonJS).
//!
//! ES modules go through the bytecode cache ([`crate::bytecode`]);
//! CommonJS files through the module system's `require` ([`crate::modules`]).

use snap::lambda::ErrorType;
use std::path::{Component, Path, PathBuf};

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
    /// `..` in `_HANDLER`.
    #[error(
        "'{0}' is not a valid handler name. Use absolute paths when specifying root directories in handler names."
    )]
    Relative(String),
    /// The last segment of `_HANDLER` has no dot.
    #[error("Bad handler '{0}': expected module.export, e.g. index.handler")]
    Malformed(String),
    /// No file of that name.
    #[error("Error: Cannot find module '{module}' (tried {tried}) for handler '{handler}'")]
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
            Self::Relative(_) | Self::Malformed(_) => ErrorType::MalformedHandlerName,
            Self::NotFound { .. } => ErrorType::ImportModuleError,
        }
    }
}

/// Node's `path.basename`: the last segment, trailing slashes ignored.
fn basename(handler: &str) -> &str {
    let trimmed = handler.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `root` joined with `rel` and `.` segments dropped (`..` is refused
/// before this), as Node's `path.resolve` gives it.
fn resolve_under(root: &Path, rel: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            Component::RootDir => out = PathBuf::from("/"),
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {}
        }
    }
    out
}

impl HandlerSpec {
    /// Resolves `handler` under `task_root`.
    pub(crate) fn resolve(task_root: &Path, handler: &str) -> Result<Self, ResolveError> {
        if handler.contains("..") {
            return Err(ResolveError::Relative(handler.to_owned()));
        }
        let base = basename(handler);
        let module_root = &handler[..handler.find(base).unwrap_or(0)];
        let Some((module, export)) = base.split_once('.') else {
            return Err(ResolveError::Malformed(handler.to_owned()));
        };
        let stem = resolve_under(&resolve_under(task_root, module_root), module);
        let with = |ext: &str| {
            let mut name = stem.clone().into_os_string();
            name.push(ext);
            PathBuf::from(name)
        };
        let js = with(".js");
        let js_is_esm = js.exists()
            && js
                .parent()
                .is_some_and(crate::modules::resolve::folder_type_is_module);
        let candidates = [
            (stem.clone(), false),
            (js.clone(), js_is_esm),
            (with(".mjs"), true),
            (with(".cjs"), false),
        ];
        // The client tests existence only (`fs.existsSync`); a directory
        // of that name is required as CommonJS.
        let found = candidates
            .iter()
            .find(|(p, _)| p.exists())
            .cloned()
            .or_else(|| node_modules_package(task_root, module).map(|p| (p, false)));
        let Some((file, esm)) = found else {
            return Err(ResolveError::NotFound {
                module: module.to_owned(),
                tried: candidates
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                handler: handler.to_owned(),
            });
        };
        Ok(Self {
            name: handler.to_owned(),
            file,
            export: export.split('.').map(str::to_owned).collect(),
            esm,
        })
    }
}

/// The client's last resort, `require.resolve(module, {paths: [taskRoot]})`
/// for a bare name: `module` in a `node_modules` folder at or above the task
/// root, as a file (`module.js`) or a package folder (its `main`, else
/// `index.js`). Loaded as CommonJS, as the client `require`s it.
fn node_modules_package(task_root: &Path, module: &str) -> Option<PathBuf> {
    if module.is_empty() {
        return None;
    }
    task_root.ancestors().find_map(|dir| {
        let base = dir.join("node_modules").join(module);
        let file = base.with_extension("js");
        if file.is_file() {
            return Some(file);
        }
        if !base.is_dir() {
            return None;
        }
        let main = std::fs::read(base.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
            .and_then(|v| v["main"].as_str().map(str::to_owned));
        let mut tries = Vec::new();
        if let Some(main) = main {
            let main = base.join(main);
            tries.extend([
                main.clone(),
                main.with_extension("js"),
                main.join("index.js"),
            ]);
        }
        tries.push(base.join("index.js"));
        tries.into_iter().find(|p| p.is_file())
    })
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
        std::fs::write(dir.path().join("index"), "").unwrap();
        let spec = HandlerSpec::resolve(dir.path(), "index.handler").unwrap();
        assert_eq!(
            (spec.file.clone(), spec.esm),
            (dir.path().join("index"), false),
            "the extensionless file comes first, as CommonJS"
        );
        assert!(matches!(
            HandlerSpec::resolve(dir.path(), "index"),
            Err(ResolveError::Malformed(_))
        ));
        assert!(matches!(
            HandlerSpec::resolve(dir.path(), "../x/index.handler"),
            Err(ResolveError::Relative(_))
        ));
        assert!(matches!(
            HandlerSpec::resolve(dir.path(), "missing.handler"),
            Err(ResolveError::NotFound { .. })
        ));
    }
}
