//! The ES module side of the module system: the rquickjs [`Resolver`] and
//! [`Loader`] for files (built-ins are tried before them), and
//! `import.meta`.
//!
//! A module's name is its resolved real path, so QuickJS's own module
//! table loads each file once however it is reached. An ES module file is
//! compiled from source; a CommonJS file goes through the CommonJS loader
//! (`cjs.js`, so `require` and `import` share one cache) and is wrapped in
//! a module whose default export is `module.exports` and whose named
//! exports are its own enumerable keys; a JSON file is a module with one
//! default export.

use std::path::Path;
use std::rc::Rc;

use rquickjs::loader::{Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Exception, Function, Module, Object, Value};

use super::resolve::{Format, Kind, ResolveError};
use super::{Modules, throw_coded};

/// Resolves `import` specifiers from files.
#[derive(Debug)]
pub(crate) struct FileResolver(pub(crate) Rc<Modules>);

/// Loads resolved files as modules.
#[derive(Debug)]
pub(crate) struct FileLoader(pub(crate) Rc<Modules>);

/// The directory a module named `base` resolves from (the working
/// directory for a name that is not a path, such as an eval).
pub(crate) fn base_dir(base: &str) -> std::path::PathBuf {
    let base = base.strip_prefix("file://").unwrap_or(base);
    let path = Path::new(base);
    match path.parent() {
        Some(dir) if path.is_absolute() => dir.to_path_buf(),
        _ => std::env::current_dir().unwrap_or_else(|_| "/".into()),
    }
}

/// Node's `ERR_MODULE_NOT_FOUND` message for an import.
fn import_not_found(specifier: &str, base: &str, dir: &Path) -> String {
    let relative = specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier.starts_with('/')
        || specifier.starts_with("file:");
    if relative {
        let target = dir.join(specifier.strip_prefix("file://").unwrap_or(specifier));
        format!(
            "Cannot find module '{}' imported from {base}",
            super::normalize(&target).display()
        )
    } else {
        let mut parts = specifier.split('/');
        let first = parts.next().unwrap_or_default();
        let package = match (first.starts_with('@'), parts.next()) {
            (true, Some(second)) => format!("{first}/{second}"),
            _ => first.to_owned(),
        };
        format!("Cannot find package '{package}' imported from {base}")
    }
}

impl Resolver for FileResolver {
    fn resolve(&mut self, ctx: &Ctx<'_>, base: &str, name: &str) -> rquickjs::Result<String> {
        if let Some(builtin) = name.strip_prefix("node:") {
            return Err(throw_coded(
                ctx,
                &format!("No such built-in module: node:{builtin}"),
                "ERR_UNKNOWN_BUILTIN_MODULE",
            ));
        }
        let dir = base_dir(base);
        match self.0.resolution.resolve(Kind::Import, name, &dir) {
            Ok(found) => Ok(found.path.to_string_lossy().into_owned()),
            Err(err @ ResolveError::NotFound { .. }) => Err(throw_coded(
                ctx,
                &import_not_found(name, base, &dir),
                err.code(Kind::Import),
            )),
            Err(err) => Err(throw_coded(ctx, &err.to_string(), err.code(Kind::Import))),
        }
    }
}

/// `import.meta`'s `url`, `filename`, `dirname` and `resolve` for the
/// module at `path`.
pub(crate) fn set_meta<'js>(
    ctx: &Ctx<'js>,
    module: &Module<'js, Declared>,
    path: &Path,
) -> rquickjs::Result<()> {
    let meta: Object = module.meta()?;
    meta.set("url", super::file_url(path))?;
    meta.set("filename", path.to_string_lossy().as_ref())?;
    if let Some(dir) = path.parent() {
        meta.set("dirname", dir.to_string_lossy().as_ref())?;
    }
    let cjs: Object = ctx.globals().get(super::JS_GLOBAL)?;
    let make: Function = cjs.get("metaResolve")?;
    let resolve: Value = make.call((path.to_string_lossy().as_ref(),))?;
    meta.set("resolve", resolve)?;
    Ok(())
}

/// Whether `key` can be written as an export name without quotes.
fn plain_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// The source of the module that stands for a CommonJS file in ESM.
fn commonjs_facade(ctx: &Ctx<'_>, path: &str) -> rquickjs::Result<String> {
    let cjs: Object = ctx.globals().get(super::JS_GLOBAL)?;
    let import: Function = cjs.get("importCommonJs")?;
    let exports: Value = import.call((path,))?;
    let quoted = serde_json::to_string(path).unwrap_or_default();
    let mut source = format!(
        "const m = globalThis.{}.importCommonJs({quoted});\nexport default m;\n",
        super::JS_GLOBAL
    );
    let keys: Vec<String> = match exports.as_object() {
        Some(object) => object.keys::<String>().collect::<rquickjs::Result<_>>()?,
        None => Vec::new(),
    };
    let names: Vec<&String> = keys
        .iter()
        .filter(|k| k.as_str() != "default" && plain_name(k))
        .collect();
    for (i, key) in names.iter().enumerate() {
        source.push_str(&format!("const _{i} = m[{key:?}];\n"));
    }
    if !names.is_empty() {
        let list: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, k)| format!("_{i} as {k}"))
            .collect();
        source.push_str(&format!("export {{ {} }};\n", list.join(", ")));
    }
    Ok(source)
}

impl Loader for FileLoader {
    fn load<'js>(&mut self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js, Declared>> {
        let path = Path::new(name);
        let found = self
            .0
            .resolution
            .format(path)
            .map_err(|err| throw_coded(ctx, &err.to_string(), err.code(Kind::Import)))?;
        let source = match found.format {
            Format::Module => {
                super::attributes::blank_json_attributes(&read(ctx, path)?).into_owned()
            }
            Format::CommonJs => commonjs_facade(ctx, name)?.into_bytes(),
            Format::Json => {
                let text = String::from_utf8_lossy(&read(ctx, path)?).into_owned();
                let quoted = serde_json::to_string(&text).unwrap_or_default();
                format!("export default JSON.parse({quoted});\n").into_bytes()
            }
            Format::Addon => {
                return Err(throw_coded(
                    ctx,
                    &format!("Cannot load native addon {name}: snapjs runs JavaScript only"),
                    "ERR_DLOPEN_FAILED",
                ));
            }
        };
        let module = Module::declare(ctx.clone(), name, source)?;
        set_meta(ctx, &module, path)?;
        Ok(module)
    }
}

fn read(ctx: &Ctx<'_>, path: &Path) -> rquickjs::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Exception::throw_message(ctx, &format!("cannot read {}: {e}", path.display())))
}
