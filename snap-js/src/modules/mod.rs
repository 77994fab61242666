//! Node's module system: resolution ([`resolve`]), the ES module loader
//! ([`loader`]) and the CommonJS loader (`cjs.js`, Node's `Module`), which
//! share one resolution and one idea of a module's identity, its real path.
//!
//! `cjs.js` gets a few natives from here, on a hidden global it takes and
//! deletes: resolving, compiling a CommonJS file in Node's wrapper, reading
//! a file, loading a built-in or an ES module synchronously (`require`).

pub(crate) mod attributes;
pub(crate) mod loader;
pub(crate) mod resolve;

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rquickjs::context::EvalOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{Array, Ctx, Exception, Function, Module, Object, Value};

use resolve::{Kind, Resolution};

/// The global `cjs.js` keeps its entry points on (non-enumerable).
pub(crate) const JS_GLOBAL: &str = "__snapjs_cjs";
/// The global the natives are handed over on, deleted by `cjs.js`.
const NATIVE_GLOBAL: &str = "__snapjs_modules_native";
const CJS_JS: &str = include_str!("cjs.js");

/// The state the loaders and the natives share.
#[derive(Debug, Default)]
pub(crate) struct Modules {
    pub(crate) resolution: Resolution,
}

/// A JS `Error` with Node's `code`, thrown.
pub(crate) fn throw_coded(ctx: &Ctx<'_>, message: &str, code: &str) -> rquickjs::Error {
    let made = (|| -> rquickjs::Result<Value<'_>> {
        let error = Exception::from_message(ctx.clone(), message)?;
        error.as_object().set("code", code)?;
        Ok(error.into_value())
    })();
    match made {
        Ok(error) => ctx.throw(error),
        Err(err) => err,
    }
}

/// `path` without `.` and `..` components (lexically, as Node's `path`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `file://` URL of an absolute path, escaped as Node's `pathToFileURL`.
pub(crate) fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if keep {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Loads `specifier` as an ES module now, running jobs until it settles
/// (`require` of a built-in or of an ES module). A module graph still
/// waiting (top-level await) is refused, as Node refuses it.
fn import_sync<'js>(ctx: &Ctx<'js>, specifier: &str) -> rquickjs::Result<Object<'js>> {
    let promise = Module::import(ctx, specifier)?;
    while promise.state() == PromiseState::Pending && ctx.execute_pending_job() {}
    match promise.result::<Object>() {
        Some(result) => result,
        None => Err(throw_coded(
            ctx,
            &format!(
                "require() cannot be used on an ESM graph with top-level await. Use import() instead.\n  Requiring {specifier}"
            ),
            "ERR_REQUIRE_ASYNC_MODULE",
        )),
    }
}

/// A built-in's object as `require` returns it: its default export, with
/// any named export it lacks.
fn builtin<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    let namespace = import_sync(ctx, name)?;
    let default: Value = namespace.get("default")?;
    let Some(object) = default.as_object() else {
        return Ok(namespace.into_value());
    };
    for key in namespace.keys::<String>() {
        let key = key?;
        if key != "default" && !object.contains_key(key.as_str())? {
            object.set(key.as_str(), namespace.get::<_, Value>(key.as_str())?)?;
        }
    }
    Ok(default)
}

/// A CommonJS file's source in Node's wrapper, compiled (not run) as a
/// sloppy-mode script named by its path.
fn compile<'js>(ctx: &Ctx<'js>, filename: &str, source: &str) -> rquickjs::Result<Function<'js>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let body = match source.strip_prefix("#!") {
        Some(rest) => format!("//{rest}"),
        None => source.to_owned(),
    };
    let wrapped =
        format!("(function (exports, require, module, __filename, __dirname) {{ {body}\n}})");
    let mut options = EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(filename.to_owned());
    ctx.eval_with_options(wrapped, options)
}

/// `require`'s resolution for `cjs.js`: `[path, format]`, or
/// `[null, code, message]`.
fn resolve_for_js<'js>(
    ctx: &Ctx<'js>,
    modules: &Modules,
    request: &str,
    parent: Option<&str>,
    kind: &str,
) -> rquickjs::Result<Array<'js>> {
    let kind = if kind == "import" {
        Kind::Import
    } else {
        Kind::Require
    };
    let dir = parent.map_or_else(
        || std::env::current_dir().unwrap_or_else(|_| "/".into()),
        loader::base_dir,
    );
    let out = Array::new(ctx.clone())?;
    match modules.resolution.resolve(kind, request, &dir) {
        Ok(found) => {
            out.set(0, found.path.to_string_lossy().as_ref())?;
            out.set(1, found.format.as_str())?;
        }
        Err(err) => {
            out.set(0, Value::new_null(ctx.clone()))?;
            out.set(1, err.code(kind))?;
            out.set(2, err.to_string())?;
        }
    }
    Ok(out)
}

/// Installs the CommonJS loader (`cjs.js`) and its natives; `builtins`
/// are the names `require` gives to the built-in loaders.
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    modules: &Rc<Modules>,
    builtins: HashSet<String>,
) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;
    let shared = Rc::clone(modules);
    native.set(
        "resolve",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, request: String, parent: Option<String>, kind: String| {
                resolve_for_js(&ctx, &shared, &request, parent.as_deref(), &kind)
            },
        )?,
    )?;
    let names: Vec<String> = builtins.iter().cloned().collect();
    native.set(
        "isBuiltin",
        Function::new(ctx.clone(), move |name: String| builtins.contains(&name))?,
    )?;
    native.set("builtinNames", names)?;
    native.set(
        "builtin",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            builtin(&ctx, &name)
        })?,
    )?;
    native.set(
        "importSync",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, path: String| {
            import_sync(&ctx, &path)
        })?,
    )?;
    native.set(
        "compile",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, filename: String, source: String| compile(&ctx, &filename, &source),
        )?,
    )?;
    native.set(
        "readFile",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, path: String| {
            std::fs::read_to_string(&path)
                .map_err(|e| Exception::throw_message(&ctx, &format!("cannot read {path}: {e}")))
        })?,
    )?;
    native.set(
        "fileUrl",
        Function::new(ctx.clone(), |path: String| file_url(Path::new(&path)))?,
    )?;
    ctx.globals().set(NATIVE_GLOBAL, native)?;
    let mut options = EvalOptions::default();
    options.filename = Some("snapjs:modules/cjs.js".to_owned());
    ctx.eval_with_options::<(), _>(CJS_JS, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_escape_as_node_does() {
        assert_eq!(
            file_url(Path::new("/a b/c#d?.js")),
            "file:///a%20b/c%23d%3F.js"
        );
        assert_eq!(
            normalize(Path::new("/a/./b/../c.js")),
            PathBuf::from("/a/c.js")
        );
    }
}
