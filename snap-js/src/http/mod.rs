//! The native half of `node:http` and `node:https` (the JS half is
//! `node/http.js`): requests over hyper's HTTP/1 client connections (TLS by
//! rustls with LLRT's roots, the stack `fetch` already links), a keep-alive
//! pool per `Agent`, and Node's error codes.
//!
//! JS sees a hidden object, `__snapjs_http`, of small functions keyed by a
//! request id:
//! - `open(options) -> id`: the request's head and (when whole) its body;
//! - `head(id) -> Promise<head | {error}>`: connect or reuse, send, wait
//!   for the response's head;
//! - `write(id, bytes) -> Promise<bool>`, `end(id)`: a streamed body;
//! - `read(id) -> Promise<{chunk} | {done} | {error}>`: the response body;
//! - `abort(id)`, `destroyAgent(agentId)`, `idle()`.
//!
//! Every future runs on the JS scheduler; each connection's own task runs
//! on tokio (see `pool`), so nothing here survives the init runtime.

mod body;
mod error;
mod pool;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response};
use rquickjs::prelude::{Async, Func};
use rquickjs::{Ctx, Exception, Object, TypedArray, Value};
use tokio::sync::{Notify, mpsc};

use body::{CHANNEL_CHUNKS, RequestBody};
use error::{FieldValue, NetError};
use pool::{Conn, PoolKey, TlsOptions};

pub(crate) use pool::close_all;

/// The hidden global `http.js` takes its binding from.
const BINDING: &str = "__snapjs_http";

/// A request not sent yet.
struct Pending {
    key: PoolKey,
    tls: TlsOptions,
    keep_alive: bool,
    request: Request<RequestBody>,
}

/// One request's state between the JS calls.
struct Slot {
    pending: Option<Pending>,
    body: Option<mpsc::Sender<Bytes>>,
    incoming: Option<Incoming>,
    /// The connection, to go back to its pool once the body is read.
    reusable: Option<(PoolKey, Conn)>,
    abort: Rc<Notify>,
}

thread_local! {
    static SLOTS: RefCell<HashMap<u32, Slot>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

fn with_slot<R>(id: u32, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    SLOTS.with(|slots| slots.borrow_mut().get_mut(&id).map(f))
}

fn remove_slot(id: u32) -> Option<Slot> {
    SLOTS.with(|slots| slots.borrow_mut().remove(&id))
}

/// Installs `__snapjs_http` (not enumerable).
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let binding = Object::new(ctx.clone())?;
    binding.set("open", Func::from(open))?;
    binding.set("head", Func::from(Async(head)))?;
    binding.set(
        "write",
        Func::from(Async(|id: u32, chunk: TypedArray<'_, u8>| {
            write(id, chunk.as_bytes().map(Bytes::copy_from_slice))
        })),
    )?;
    binding.set("end", Func::from(end))?;
    binding.set("read", Func::from(Async(read)))?;
    binding.set("abort", Func::from(abort))?;
    binding.set("destroyAgent", Func::from(pool::close_agent))?;
    binding.set("idle", Func::from(|| pool::idle_count() as u32))?;
    ctx.globals().prop(
        BINDING,
        rquickjs::object::Property::from(binding).configurable(),
    )?;
    Ok(())
}

/// `open(options)`: `{method, https, host, port, path, headers: [[name,
/// value]], agent, keepAlive, body?: Uint8Array, streamed: bool,
/// rejectUnauthorized, ca: [pem], servername}`.
fn open<'js>(ctx: Ctx<'js>, options: Object<'js>) -> rquickjs::Result<u32> {
    let method: String = options.get("method")?;
    let https: bool = options.get("https")?;
    let host: String = options.get("host")?;
    let port: u16 = options.get("port")?;
    let path: String = options.get("path")?;
    let headers: Vec<Vec<String>> = options.get("headers")?;
    let agent: u32 = options.get::<_, Option<u32>>("agent")?.unwrap_or(0);
    let keep_alive: bool = options
        .get::<_, Option<bool>>("keepAlive")?
        .unwrap_or(false);
    let streamed: bool = options.get::<_, Option<bool>>("streamed")?.unwrap_or(false);
    let whole: Option<TypedArray<u8>> = options.get("body")?;
    let tls = TlsOptions {
        reject_unauthorized: options
            .get::<_, Option<bool>>("rejectUnauthorized")?
            .unwrap_or(true),
        ca: options
            .get::<_, Option<Vec<String>>>("ca")?
            .unwrap_or_default(),
        servername: options.get("servername")?,
    };
    let (tx, body) = if streamed {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        (Some(tx), RequestBody::Streamed(rx))
    } else {
        let data = whole
            .and_then(|w| w.as_bytes().map(Bytes::copy_from_slice))
            .filter(|d| !d.is_empty());
        (None, RequestBody::Whole(data))
    };
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| Exception::throw_type(&ctx, &format!("invalid HTTP method: {method}")))?;
    let mut builder = Request::builder().method(method).uri(path.as_str());
    for pair in &headers {
        let [name, value] = pair.as_slice() else {
            return Err(Exception::throw_type(
                &ctx,
                "a header is not a [name, value] pair",
            ));
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Exception::throw_type(
                &ctx,
                &format!("Header name must be a valid HTTP token [\"{name}\"]"),
            )
        })?;
        let value = HeaderValue::from_bytes(&latin1(value)).map_err(|_| {
            Exception::throw_type(
                &ctx,
                &format!("Invalid character in header content [\"{name}\"]"),
            )
        })?;
        builder = builder.header(name, value);
    }
    let request = builder
        .body(body)
        .map_err(|cause| Exception::throw_type(&ctx, &NetError::Request { cause }.to_string()))?;
    let key = PoolKey {
        agent,
        https,
        host,
        port,
        tls: if https { tls.key() } else { String::new() },
    };
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    });
    SLOTS.with(|slots| {
        slots.borrow_mut().insert(
            id,
            Slot {
                pending: Some(Pending {
                    key,
                    tls,
                    keep_alive: keep_alive && agent != 0,
                    request,
                }),
                body: tx,
                incoming: None,
                reusable: None,
                abort: Rc::new(Notify::new()),
            },
        );
    });
    Ok(id)
}

/// A header value as Node writes it: one byte per UTF-16 unit (latin1).
fn latin1(value: &str) -> Vec<u8> {
    value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

async fn head<'js>(ctx: Ctx<'js>, id: u32) -> rquickjs::Result<Object<'js>> {
    let Some((pending, abort)) = with_slot(id, |s| (s.pending.take(), s.abort.clone())) else {
        return aborted(&ctx);
    };
    let Some(pending) = pending else {
        return Err(Exception::throw_message(
            &ctx,
            "the request was already sent",
        ));
    };
    let key = pending.key.clone();
    let keep_alive = pending.keep_alive;
    let sent = tokio::select! {
        sent = send(pending) => sent,
        () = abort.notified() => return aborted(&ctx),
    };
    let (response, conn) = match sent {
        Ok(sent) => sent,
        Err(err) => {
            remove_slot(id);
            return error_object(&ctx, &err);
        }
    };
    let (parts, incoming) = response.into_parts();
    let head = Object::new(ctx.clone())?;
    head.set("status", parts.status.as_u16())?;
    let reason = parts
        .extensions
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .or_else(|| parts.status.canonical_reason().map(str::to_owned))
        .unwrap_or_default();
    head.set("statusText", reason)?;
    let version = match parts.version {
        hyper::Version::HTTP_10 => "1.0",
        hyper::Version::HTTP_2 => "2.0",
        _ => "1.1",
    };
    head.set("httpVersion", version)?;
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        headers.push(vec![
            name.as_str().to_owned(),
            value
                .as_bytes()
                .iter()
                .map(|&b| char::from(b))
                .collect::<String>(),
        ]);
    }
    head.set("headers", headers)?;
    head.set("reused", conn.reused)?;
    head.set("remoteAddress", conn.remote.ip().to_string())?;
    head.set("remotePort", conn.remote.port())?;
    if let Some(local) = conn.local {
        head.set("localPort", local.port())?;
    }
    let closes = |h: &hyper::HeaderMap| {
        h.get_all(hyper::header::CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
        })
    };
    let reusable = keep_alive && version == "1.1" && !closes(&parts.headers);
    let stored = with_slot(id, |slot| {
        slot.incoming = Some(incoming);
        if reusable {
            slot.reusable = Some((key, conn));
        }
    });
    if stored.is_none() {
        return aborted(&ctx);
    }
    Ok(head)
}

async fn send(pending: Pending) -> Result<(Response<Incoming>, Conn), NetError> {
    let mut conn = pool::checkout(&pending.key, &pending.tls).await?;
    let response = conn
        .sender
        .send_request(pending.request)
        .await
        .map_err(|cause| {
            if cause.is_incomplete_message() || cause.is_canceled() || cause.is_closed() {
                NetError::HangUp { cause }
            } else {
                NetError::Http { cause }
            }
        })?;
    Ok((response, conn))
}

async fn write(id: u32, data: Option<Bytes>) -> rquickjs::Result<bool> {
    let Some(Some(tx)) = with_slot(id, |s| s.body.clone()) else {
        return Ok(false);
    };
    let Some(data) = data else {
        return Ok(true);
    };
    Ok(tx.send(data).await.is_ok())
}

fn end(id: u32) {
    with_slot(id, |s| s.body = None);
}

fn abort(id: u32) {
    if let Some(slot) = remove_slot(id) {
        slot.abort.notify_one();
    }
}

async fn read<'js>(ctx: Ctx<'js>, id: u32) -> rquickjs::Result<Object<'js>> {
    let Some((incoming, abort)) = with_slot(id, |s| (s.incoming.take(), s.abort.clone())) else {
        return aborted(&ctx);
    };
    let Some(mut incoming) = incoming else {
        return Err(Exception::throw_message(
            &ctx,
            "the response is being read already",
        ));
    };
    loop {
        let frame = tokio::select! {
            frame = incoming.frame() => frame,
            () = abort.notified() => return aborted(&ctx),
        };
        match frame {
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                if data.is_empty() {
                    continue;
                }
                if with_slot(id, |s| s.incoming = Some(incoming)).is_none() {
                    return aborted(&ctx);
                }
                let out = Object::new(ctx.clone())?;
                out.set("chunk", TypedArray::<u8>::new(ctx.clone(), data.to_vec())?)?;
                return Ok(out);
            }
            None => {
                if let Some(Slot {
                    reusable: Some((key, conn)),
                    ..
                }) = remove_slot(id)
                {
                    pool::checkin(key, conn);
                }
                let out = Object::new(ctx.clone())?;
                out.set("done", true)?;
                return Ok(out);
            }
            Some(Err(cause)) => {
                remove_slot(id);
                return error_object(&ctx, &NetError::Aborted { cause });
            }
        }
    }
}

fn aborted<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let out = Object::new(ctx.clone())?;
    out.set("aborted", true)?;
    Ok(out)
}

fn error_object<'js>(ctx: &Ctx<'js>, err: &NetError) -> rquickjs::Result<Object<'js>> {
    tracing::debug!(code = err.code(), error = %err, "http: request failed");
    let out = Object::new(ctx.clone())?;
    let detail = Object::new(ctx.clone())?;
    detail.set("code", err.code())?;
    detail.set("message", err.to_string())?;
    for (name, value) in err.fields() {
        let value: Value = match value {
            FieldValue::Int(n) => Value::new_int(ctx.clone(), n),
            FieldValue::Str(s) => rquickjs::String::from_str(ctx.clone(), &s)?.into_value(),
        };
        detail.set(name, value)?;
    }
    out.set("error", detail)?;
    Ok(out)
}
