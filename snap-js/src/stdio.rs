//! The raw write behind `process.stdout` and `process.stderr`
//! (`node/patches/globals.js`): bytes or text to the process's own stdout
//! or stderr, unformatted, as Node's streams write them.

use std::io::Write;

use rquickjs::{Ctx, Function, Object, TypedArray, Value};

/// The hidden global the JS patches call: `__snapjsWrite(fd, data)`.
const NAME: &str = "__snapjsWrite";

/// Writes `data` to fd 1 or 2; any other fd is a RangeError.
fn write<'js>(ctx: Ctx<'js>, fd: i32, data: Value<'js>) -> rquickjs::Result<()> {
    let text;
    let array;
    let bytes: &[u8] = if let Some(s) = data.as_string() {
        text = s.to_string()?;
        text.as_bytes()
    } else {
        array = TypedArray::<u8>::from_value(data)?;
        array.as_bytes().unwrap_or_default()
    };
    let result = match fd {
        1 => std::io::stdout().lock().write_all(bytes),
        2 => std::io::stderr().lock().write_all(bytes),
        other => {
            return Err(rquickjs::Exception::throw_range(
                &ctx,
                &format!("snapjs writes only to fd 1 and 2, not {other}"),
            ));
        }
    };
    result.map_err(|e| rquickjs::Exception::throw_internal(&ctx, &format!("write to fd {fd}: {e}")))
}

/// Defines the hidden write function (not enumerable).
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let function = Function::new(ctx.clone(), write)?.with_name(NAME)?;
    let globals: Object = ctx.globals();
    globals.prop(
        NAME,
        rquickjs::object::Property::from(function).configurable(),
    )
}
