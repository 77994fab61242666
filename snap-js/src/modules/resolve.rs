//! Node's module resolution, one function for both `require` and `import`:
//! a specifier and the file that asks for it give the real path of the
//! file to load and its format.
//!
//! The algorithm is `oxc_resolver`'s (Node's CommonJS and ESM resolution:
//! `exports` and `imports` with conditions, subpath patterns, arrays of
//! targets, `node_modules` up the tree, directory indexes, symlinks to real
//! paths), set up as Node sets it up:
//! - `require` matches the conditions `node`, `require`, `default` and tries
//!   the extensions `.js`, `.json`, `.node` and `index` files;
//! - `import` matches `node`, `import`, `default` and is fully specified
//!   (a relative import names its file, as Node requires);
//! - only `main` is a main field: `browser` and `module` are ignored, as
//!   Node ignores them; `NODE_PATH` is not read (this version of the crate
//!   never reads it).
//!
//! Built-in modules are not resolved here: the caller tries them first.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oxc_resolver::{ModuleType, ResolveError as Oxc, ResolveOptions, Resolver};

/// Which of Node's two resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `require` and `require.resolve`.
    Require,
    /// `import` and `import()`.
    Import,
}

/// How a resolved file is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// CommonJS (`.cjs`, `.js` outside a `"type": "module"` package, any
    /// other extension).
    CommonJs,
    /// An ES module (`.mjs`, `.js` inside a `"type": "module"` package).
    Module,
    /// JSON.
    Json,
    /// A native addon (`.node`), which snapjs cannot load.
    Addon,
}

impl Format {
    /// Node's name for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::CommonJs => "commonjs",
            Self::Module => "module",
            Self::Json => "json",
            Self::Addon => "addon",
        }
    }
}

/// A resolved module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The file's real path.
    pub(crate) path: PathBuf,
    /// How to evaluate it.
    pub(crate) format: Format,
}

/// A specifier that does not resolve, with Node's error code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// No such file or package.
    #[error("Cannot find module '{specifier}'")]
    NotFound { specifier: String },
    /// The package's `exports` does not export that subpath.
    #[error("Package subpath '{subpath}' is not defined by \"exports\" in {package_json}")]
    NotExported {
        subpath: String,
        package_json: PathBuf,
    },
    /// A `#name` the package's `imports` does not define.
    #[error("Package import specifier \"{specifier}\" is not defined in package {package_json}")]
    ImportNotDefined {
        specifier: String,
        package_json: PathBuf,
    },
    /// A malformed `exports`/`imports` target or package config.
    #[error("{0}")]
    InvalidConfig(String),
    /// Reading the file system failed.
    #[error("cannot resolve '{specifier}': {cause}")]
    Io {
        specifier: String,
        #[source]
        cause: Oxc,
    },
}

impl ResolveError {
    /// Node's `code` for it.
    pub(crate) fn code(&self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Self::NotFound { .. } | Self::Io { .. }, Kind::Require) => "MODULE_NOT_FOUND",
            (Self::NotFound { .. } | Self::Io { .. }, Kind::Import) => "ERR_MODULE_NOT_FOUND",
            (Self::NotExported { .. }, _) => "ERR_PACKAGE_PATH_NOT_EXPORTED",
            (Self::ImportNotDefined { .. }, _) => "ERR_PACKAGE_IMPORT_NOT_DEFINED",
            (Self::InvalidConfig(_), _) => "ERR_INVALID_PACKAGE_CONFIG",
        }
    }
}

/// Both resolutions, sharing one cache of directories and `package.json`
/// files, and the format of every file resolved so far.
pub(crate) struct Resolution {
    require: Resolver,
    import: Resolver,
    formats: RefCell<HashMap<PathBuf, Format>>,
}

impl std::fmt::Debug for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolution").finish_non_exhaustive()
    }
}

fn options(conditions: &[&str], fully_specified: bool) -> ResolveOptions {
    ResolveOptions {
        condition_names: conditions.iter().map(|c| (*c).to_owned()).collect(),
        main_fields: vec!["main".into()],
        alias_fields: vec![],
        extensions: vec![".js".into(), ".json".into(), ".node".into()],
        main_files: vec!["index".into()],
        modules: vec!["node_modules".into()],
        symlinks: true,
        builtin_modules: false,
        module_type: true,
        fully_specified,
        ..ResolveOptions::default()
    }
}

impl Default for Resolution {
    fn default() -> Self {
        let require = Resolver::new(options(&["node", "require", "default"], false));
        let import = require.clone_with_options(options(&["node", "import", "default"], true));
        Self {
            require,
            import,
            formats: RefCell::default(),
        }
    }
}

impl Resolution {
    /// Resolves `specifier` as asked from a file in `dir`.
    pub(crate) fn resolve(
        &self,
        kind: Kind,
        specifier: &str,
        dir: &Path,
    ) -> Result<Resolved, ResolveError> {
        let resolver = match kind {
            Kind::Require => &self.require,
            Kind::Import => &self.import,
        };
        let specifier_path = specifier.strip_prefix("file://").unwrap_or(specifier);
        let found = resolver
            .resolve(dir, specifier_path)
            .map_err(|e| error(specifier, e))?;
        let path = found.path().to_path_buf();
        let format = match found.module_type() {
            Some(ModuleType::Module) => Format::Module,
            Some(ModuleType::Json) => Format::Json,
            Some(ModuleType::Addon) => Format::Addon,
            _ => Format::CommonJs,
        };
        // A `.js` file below a `node_modules` folder with no package.json
        // of its own is outside any type-module package (Node's package
        // scope ends at `node_modules`).
        let format = if format == Format::Module
            && path.extension().is_some_and(|e| e == "js")
            && !path.parent().is_some_and(folder_type_is_module)
        {
            Format::CommonJs
        } else {
            format
        };
        self.formats.borrow_mut().insert(path.clone(), format);
        Ok(Resolved { path, format })
    }

    /// The format of a file already resolved, or of `path` resolved now
    /// (an absolute path, as the loader is given).
    pub(crate) fn format(&self, path: &Path) -> Result<Resolved, ResolveError> {
        if let Some(format) = self.formats.borrow().get(path).copied() {
            return Ok(Resolved {
                path: path.to_path_buf(),
                format,
            });
        }
        let specifier = path.to_string_lossy();
        self.resolve(Kind::Require, &specifier, Path::new("/"))
    }
}

/// Whether the nearest `package.json` from `folder` up says
/// `"type": "module"`. A `node_modules` folder ends the search (CommonJS),
/// and so does a `package.json` that cannot be read or parsed: Node's
/// package scope, which `oxc_resolver`'s module type does not stop at
/// `node_modules`.
pub(crate) fn folder_type_is_module(folder: &Path) -> bool {
    for dir in folder.ancestors() {
        if dir.file_name().is_some_and(|n| n == "node_modules") {
            return false;
        }
        let path = dir.join("package.json");
        if !path.exists() {
            continue;
        }
        return std::fs::read(&path)
            .ok()
            .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
            .is_some_and(|v| v["type"] == "module");
    }
    false
}

fn error(specifier: &str, err: Oxc) -> ResolveError {
    match err {
        Oxc::NotFound(_) | Oxc::Ignored(_) | Oxc::MatchedAliasNotFound(..) => {
            ResolveError::NotFound {
                specifier: specifier.to_owned(),
            }
        }
        Oxc::PackagePathNotExported {
            subpath,
            package_json_path,
            ..
        } => ResolveError::NotExported {
            subpath,
            package_json: package_json_path,
        },
        Oxc::PackageImportNotDefined(specifier, package_json) => ResolveError::ImportNotDefined {
            specifier,
            package_json,
        },
        Oxc::InvalidModuleSpecifier(..)
        | Oxc::InvalidPackageTarget(..)
        | Oxc::InvalidPackageConfig(_)
        | Oxc::InvalidPackageConfigDefault(_)
        | Oxc::InvalidPackageConfigDirectory(_)
        | Oxc::Json(_)
        | Oxc::Specifier(_) => ResolveError::InvalidConfig(err.to_string()),
        cause => ResolveError::Io {
            specifier: specifier.to_owned(),
            cause,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        write(
            &root,
            &[
                ("app/a.js", ""),
                ("app/data.json", "{}"),
                ("app/lib/index.js", ""),
                ("app/esm/package.json", r#"{"type":"module"}"#),
                ("app/esm/x.js", ""),
                (
                    "node_modules/dual/package.json",
                    r##"{"name":"dual","main":"./main.js","browser":"./browser.js",
                        "exports":{".":{"import":"./esm.mjs","require":"./cjs.js"},
                                   "./feature/*":{"node":["./lib/*.js"]},
                                   "./package.json":"./package.json"},
                        "imports":{"#internal":"./internal.js"}}"##,
                ),
                ("node_modules/dual/esm.mjs", ""),
                ("node_modules/dual/cjs.js", ""),
                ("node_modules/dual/internal.js", ""),
                ("node_modules/dual/lib/one.js", ""),
                (
                    "node_modules/plain/package.json",
                    r#"{"main":"lib/main","browser":"browser.js"}"#,
                ),
                ("node_modules/plain/lib/main.js", ""),
                ("node_modules/plain/browser.js", ""),
                ("node_modules/plain/sub/file.js", ""),
                (
                    "node_modules/esmonly/package.json",
                    r#"{"type":"module","exports":{"default":"./index.js"}}"#,
                ),
                ("node_modules/esmonly/index.js", ""),
            ],
        );
        (dir, root)
    }

    fn resolve(r: &Resolution, kind: Kind, spec: &str, from: &Path) -> Resolved {
        r.resolve(kind, spec, from)
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    #[test]
    fn conditions_pick_require_or_import() {
        let (_dir, root) = tree();
        let r = Resolution::default();
        let app = root.join("app");
        let req = resolve(&r, Kind::Require, "dual", &app);
        assert_eq!(req.path, root.join("node_modules/dual/cjs.js"));
        assert_eq!(req.format, Format::CommonJs);
        let imp = resolve(&r, Kind::Import, "dual", &app);
        assert_eq!(imp.path, root.join("node_modules/dual/esm.mjs"));
        assert_eq!(imp.format, Format::Module);
    }

    #[test]
    fn subpath_patterns_arrays_and_imports() {
        let (_dir, root) = tree();
        let r = Resolution::default();
        let app = root.join("app");
        let one = resolve(&r, Kind::Require, "dual/feature/one", &app);
        assert_eq!(one.path, root.join("node_modules/dual/lib/one.js"));
        let pkg = root.join("node_modules/dual");
        let internal = resolve(&r, Kind::Require, "#internal", &pkg);
        assert_eq!(internal.path, pkg.join("internal.js"));
        let err = r.resolve(Kind::Require, "dual/cjs.js", &app).unwrap_err();
        assert_eq!(err.code(Kind::Require), "ERR_PACKAGE_PATH_NOT_EXPORTED");
        assert!(err.to_string().contains("'./cjs.js'"), "{err}");
        let err = r.resolve(Kind::Require, "#missing", &pkg).unwrap_err();
        assert_eq!(err.code(Kind::Require), "ERR_PACKAGE_IMPORT_NOT_DEFINED");
    }

    #[test]
    fn main_not_browser_and_deep_paths() {
        let (_dir, root) = tree();
        let r = Resolution::default();
        let app = root.join("app");
        let main = resolve(&r, Kind::Require, "plain", &app);
        assert_eq!(main.path, root.join("node_modules/plain/lib/main.js"));
        let deep = resolve(&r, Kind::Require, "plain/sub/file", &app);
        assert_eq!(deep.path, root.join("node_modules/plain/sub/file.js"));
    }

    #[test]
    fn type_module_packages_are_esm_even_for_require() {
        let (_dir, root) = tree();
        let r = Resolution::default();
        let app = root.join("app");
        let esm = resolve(&r, Kind::Require, "esmonly", &app);
        assert_eq!(esm.format, Format::Module);
        assert_eq!(
            resolve(&r, Kind::Require, "./esm/x", &app).format,
            Format::Module
        );
        assert_eq!(
            resolve(&r, Kind::Require, "./data.json", &app).format,
            Format::Json
        );
    }

    #[test]
    fn extensions_and_indexes_for_require_only() {
        let (_dir, root) = tree();
        let r = Resolution::default();
        let app = root.join("app");
        assert_eq!(
            resolve(&r, Kind::Require, "./a", &app).path,
            app.join("a.js")
        );
        assert_eq!(
            resolve(&r, Kind::Require, "./lib", &app).path,
            app.join("lib/index.js")
        );
        let err = r.resolve(Kind::Import, "./a", &app).unwrap_err();
        assert_eq!(err.code(Kind::Import), "ERR_MODULE_NOT_FOUND");
        let err = r.resolve(Kind::Require, "missing-pkg", &app).unwrap_err();
        assert_eq!(err.code(Kind::Require), "MODULE_NOT_FOUND");
        assert_eq!(err.to_string(), "Cannot find module 'missing-pkg'");
    }

    #[test]
    fn symlinks_resolve_to_the_real_path() {
        let (_dir, root) = tree();
        std::os::unix::fs::symlink(root.join("app/a.js"), root.join("app/link.js")).unwrap();
        let r = Resolution::default();
        let app = root.join("app");
        assert_eq!(
            resolve(&r, Kind::Require, "./link.js", &app).path,
            app.join("a.js")
        );
        assert_eq!(
            resolve(&r, Kind::Require, "../app/./a.js", &app).path,
            app.join("a.js")
        );
    }
}
