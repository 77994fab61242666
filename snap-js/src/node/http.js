// Node's `http` module for snapjs: the client (request, get, Agent with
// keep-alive, ClientRequest as a writable stream, IncomingMessage as a
// readable stream, timeouts, aborts, Node's error codes). The network half
// is native (snap-js/src/http/, hyper and rustls, the stack fetch uses),
// reached through the hidden `__snapjs_http` binding. `https` (https.js)
// is this same client with TLS. The server side is not supported.
import { Writable, Readable } from "stream";
import * as events from "events";

const EventEmitter = events.EventEmitter || events.default;
const native = globalThis.__snapjs_http;
const nextTick = (fn, ...args) => queueMicrotask(() => fn(...args));
// LLRT's EventEmitter may lack listenerCount; eventNames() lists the events
// that have listeners.
const hasListeners = (emitter, name) =>
  typeof emitter.listenerCount === "function" ? emitter.listenerCount(name) > 0 : emitter.eventNames().includes(name);

export const METHODS = [
  "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
  "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK",
  "UNLOCK", "UNSUBSCRIBE",
];

export const STATUS_CODES = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints", 200: "OK", 201: "Created",
  202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content",
  206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used", 300: "Multiple Choices",
  301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 305: "Use Proxy",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
  402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
  407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large", 414: "URI Too Long",
  415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm a Teapot",
  421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
  425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
  505: "HTTP Version Not Supported", 506: "Variant Also Negotiates", 507: "Insufficient Storage",
  508: "Loop Detected", 509: "Bandwidth Limit Exceeded", 510: "Not Extended", 511: "Network Authentication Required",
};

export const maxHeaderSize = 16384;

// --- Node's errors.
const nodeError = (Base, code, message, fields) => {
  const err = new Base(message);
  err.code = code;
  if (fields) Object.assign(err, fields);
  return err;
};
const connReset = (message) => nodeError(Error, "ECONNRESET", message);
const abortError = (cause) => {
  const err = nodeError(Error, "ABORT_ERR", "The operation was aborted");
  err.name = "AbortError";
  if (cause !== undefined) err.cause = cause;
  return err;
};
const typeName = (value) => {
  if (value == null) return ` ${value}`;
  if (typeof value === "function") return `function ${value.name}`;
  if (typeof value === "object") return value.constructor && value.constructor.name ? `an instance of ${value.constructor.name}` : "an object";
  let shown = String(value).slice(0, 25);
  if (typeof value === "string") shown = `'${shown}'`;
  return `type ${typeof value} (${shown})`;
};
const invalidArgType = (name, expected, value) =>
  nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be ${expected}. Received ${typeName(value)}`);

// --- Header validation, as Node's.
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_PATH = /[^\u0021-\u00ff]/;

export function validateHeaderName(name, label = "Header name") {
  if (typeof name !== "string" || !name || !TOKEN.test(name)) {
    throw nodeError(TypeError, "ERR_INVALID_HTTP_TOKEN", `${label} must be a valid HTTP token ["${name}"]`);
  }
}

export function validateHeaderValue(name, value) {
  if (value === undefined) {
    throw nodeError(TypeError, "ERR_HTTP_INVALID_HEADER_VALUE", `Invalid value "${value}" for header "${name}"`);
  }
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (INVALID_VALUE.test(String(v))) {
      throw nodeError(TypeError, "ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`);
    }
  }
}

// --- Agent: the keep-alive pool of its requests' connections (kept
// natively, keyed by the agent's id).
let nextAgentId = 1;
const kId = Symbol("agentId");

export class Agent extends EventEmitter {
  constructor(options) {
    super();
    this.options = { __proto__: null, ...options, path: null };
    if (this.options.noDelay === undefined) this.options.noDelay = true;
    this.keepAlive = !!this.options.keepAlive;
    this.keepAliveMsecs = this.options.keepAliveMsecs || 1000;
    this.maxSockets = this.options.maxSockets || Infinity;
    this.maxFreeSockets = this.options.maxFreeSockets || 256;
    this.maxTotalSockets = this.options.maxTotalSockets || Infinity;
    this.totalSocketCount = 0;
    this.scheduling = this.options.scheduling || "lifo";
    this.defaultPort = 80;
    this.protocol = "http:";
    this.requests = { __proto__: null };
    this.sockets = { __proto__: null };
    this.freeSockets = { __proto__: null };
    this[kId] = nextAgentId++;
  }

  getName(options = {}) {
    let name = options.host || "localhost";
    name += ":";
    if (options.port) name += options.port;
    name += ":";
    if (options.localAddress) name += options.localAddress;
    if (options.family === 4 || options.family === 6) name += `:${options.family}`;
    return name;
  }

  destroy() {
    native.destroyAgent(this[kId]);
  }
}

export const globalAgent = new Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });

// --- The socket a request reports: what packages read off it (addresses,
// timeouts, keep-alive switches). The connection itself is native.
class Socket extends EventEmitter {
  constructor(req, encrypted) {
    super();
    this._req = req;
    this.connecting = false;
    this.remoteAddress = undefined;
    this.remotePort = undefined;
    this.localPort = undefined;
    this.encrypted = encrypted;
    this.authorized = encrypted ? true : undefined;
    this.destroyed = false;
    this.readable = true;
    this.writable = true;
  }
  setTimeout(ms, cb) {
    this._req.setTimeout(ms, cb);
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  address() {
    return { port: this.localPort };
  }
  destroy(err) {
    this._req.destroy(err);
    return this;
  }
  end() {
    return this;
  }
}

// --- Options from (url | options[, options][, callback]), as Node merges
// them.
function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
  };
  if (url.port !== "") options.port = Number(url.port);
  if (url.username || url.password) {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return options;
}

function parseUrl(input) {
  try {
    return new URL(input);
  } catch {
    const err = nodeError(TypeError, "ERR_INVALID_URL", "Invalid URL");
    err.input = input;
    throw err;
  }
}

function normalizeArgs(input, options, cb) {
  if (typeof input === "string") {
    input = urlToHttpOptions(parseUrl(input));
  } else if (input && typeof input === "object" && typeof input.href === "string" && typeof input.searchParams === "object") {
    input = urlToHttpOptions(input);
  } else {
    cb = options;
    options = input;
    input = null;
  }
  if (typeof options === "function") {
    cb = options;
    options = input || {};
  } else {
    options = Object.assign(input || {}, options);
  }
  return { options, cb };
}

// --- ClientRequest: a writable stream of the request body.
export class OutgoingMessage extends Writable {}

const headersSentError = (what) =>
  nodeError(Error, "ERR_HTTP_HEADERS_SENT", `Cannot ${what} headers after they are sent to the client`);

export class ClientRequest extends OutgoingMessage {
  constructor(input, options, cb) {
    super({ autoDestroy: false, emitClose: true });
    if (typeof input === "string" || (input && typeof input.href === "string" && typeof input.searchParams === "object") || typeof options === "function" || options !== undefined) {
      ({ options, cb } = normalizeArgs(input, options, cb));
    } else {
      options = Object.assign({}, input);
    }
    const defaultAgent = options._defaultAgent || globalAgent;
    let agent = options.agent;
    if (agent === false) {
      agent = new defaultAgent.constructor();
    } else if (agent === null || agent === undefined) {
      if (typeof options.createConnection !== "function") agent = defaultAgent;
    } else if (typeof agent.addRequest !== "function" && !(agent instanceof Agent)) {
      throw invalidArgType("options.agent", "of type Agent-like Object, undefined, or false", agent);
    }
    this.agent = agent;
    const protocol = options.protocol || defaultAgent.protocol;
    let expectedProtocol = defaultAgent.protocol;
    if (this.agent && this.agent.protocol) expectedProtocol = this.agent.protocol;
    if (protocol !== expectedProtocol) {
      throw nodeError(TypeError, "ERR_INVALID_PROTOCOL", `Protocol "${protocol}" not supported. Expected "${expectedProtocol}"`);
    }
    const defaultPort = options.defaultPort || (this.agent && this.agent.defaultPort) || defaultAgent.defaultPort;
    const port = (options.port = options.port || defaultPort || 80);
    const host = (options.host = validateHost(options.hostname, "hostname") || validateHost(options.host, "host") || "localhost");
    let method = options.method;
    if (method != null && typeof method !== "string") throw invalidArgType("options.method", "of type string", method);
    if (method) {
      validateHeaderName(method, "Method");
      method = method.toUpperCase();
    } else {
      method = "GET";
    }
    const path = options.path || "/";
    if (INVALID_PATH.test(path)) {
      throw nodeError(TypeError, "ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters");
    }
    this.method = method;
    this.path = path;
    this.host = host;
    this.protocol = protocol;
    this.port = Number(port);
    this.maxHeadersCount = null;
    this.reusedSocket = false;
    this.aborted = false;
    this.timeoutCb = null;
    this.res = null;
    this._headers = new Map(); // lower-case name -> [name, value]
    this._https = protocol === "https:";
    this._tls = this._https
      ? {
          rejectUnauthorized: options.rejectUnauthorized ?? agent?.options?.rejectUnauthorized ?? true,
          ca: toPemList(options.ca ?? agent?.options?.ca),
          servername: options.servername ?? agent?.options?.servername,
        }
      : null;
    this._id = 0;
    this._started = false;
    this._whole = null;
    this._timer = null;
    this._timeoutMs = 0;
    this._ended = false;
    this.socket = this.connection = new Socket(this, this._https);

    const headers = options.headers;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this._addHeader(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const name of Object.keys(headers)) this.setHeader(name, headers[name]);
    }
    if (options.setHost !== false && !this.hasHeader("host")) {
      let hostHeader = host;
      if (hostHeader.includes(":") && !hostHeader.startsWith("[")) hostHeader = `[${hostHeader}]`;
      if (Number(port) !== Number(defaultPort)) hostHeader += `:${port}`;
      this.setHeader("Host", hostHeader);
    }
    if (options.auth && !this.hasHeader("authorization")) {
      this.setHeader("Authorization", `Basic ${Buffer.from(options.auth).toString("base64")}`);
    }
    if (cb) this.once("response", cb);
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) nextTick(() => this.destroy(abortError(signal.reason)));
      else {
        const onAbort = () => this.destroy(abortError(signal.reason));
        signal.addEventListener("abort", onAbort, { once: true });
        this.once("close", () => signal.removeEventListener("abort", onAbort));
      }
    }
    nextTick(() => {
      if (!this.destroyed) this.emit("socket", this.socket);
    });
  }

  get headersSent() {
    return this._started;
  }
  get finished() {
    return this.writableEnded;
  }

  _addHeader(name, value) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    const key = name.toLowerCase();
    const prev = this._headers.get(key);
    if (prev) prev[1] = [].concat(prev[1], value);
    else this._headers.set(key, [name, value]);
  }
  setHeader(name, value) {
    if (this._started) throw headersSentError("set");
    validateHeaderName(name);
    validateHeaderValue(name, value);
    this._headers.set(name.toLowerCase(), [name, value]);
    return this;
  }
  appendHeader(name, value) {
    if (this._started) throw headersSentError("append");
    this._addHeader(name, value);
    return this;
  }
  getHeader(name) {
    if (typeof name !== "string") throw invalidArgType("name", "of type string", name);
    const entry = this._headers.get(name.toLowerCase());
    return entry ? entry[1] : undefined;
  }
  hasHeader(name) {
    if (typeof name !== "string") throw invalidArgType("name", "of type string", name);
    return this._headers.has(name.toLowerCase());
  }
  removeHeader(name) {
    if (typeof name !== "string") throw invalidArgType("name", "of type string", name);
    if (this._started) throw headersSentError("remove");
    this._headers.delete(name.toLowerCase());
  }
  getHeaders() {
    const out = { __proto__: null };
    for (const [key, [, value]] of this._headers) out[key] = value;
    return out;
  }
  getHeaderNames() {
    return [...this._headers.keys()];
  }
  getRawHeaderNames() {
    return [...this._headers.values()].map(([name]) => name);
  }
  flushHeaders() {
    if (!this._started) this._start(true);
  }
  setNoDelay() {}
  setSocketKeepAlive() {}

  setTimeout(ms, cb) {
    if (typeof ms !== "number" || !(ms >= 0)) throw invalidArgType("msecs", "of type number", ms);
    if (cb) this.once("timeout", cb);
    this._timeoutMs = ms;
    this._armTimer();
    return this;
  }
  _armTimer() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (this._timeoutMs > 0 && !this.destroyed && !(this.res && this.res.complete)) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this.emit("timeout");
        if (this.socket) this.socket.emit("timeout");
      }, this._timeoutMs);
    }
  }
  _clearTimer() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
  }

  abort() {
    if (this.aborted) return;
    this.aborted = true;
    nextTick(() => this.emit("abort"));
    this.destroy();
  }

  end(chunk, encoding, cb) {
    if (typeof chunk === "function") {
      cb = chunk;
      chunk = null;
    } else if (typeof encoding === "function") {
      cb = encoding;
      encoding = null;
    }
    const w = this._writableState;
    if (chunk != null && !this._started && w.length === 0 && !w.writing && !w.ending) {
      this._whole = typeof chunk === "string" ? Buffer.from(chunk, encoding || "utf8") : Buffer.from(chunk);
      chunk = null;
    }
    this._ended = true;
    return super.end(chunk, encoding, cb);
  }

  _write(chunk, encoding, cb) {
    if (!this._started) this._start(true);
    if (!this._id) return cb();
    native.write(this._id, chunk).then(
      () => cb(),
      (err) => cb(err),
    );
  }

  _final(cb) {
    if (!this._started) this._start(false);
    else if (this._id) native.end(this._id);
    cb();
  }

  // Opens the request natively: its head, and its body whole (end before
  // any write) or streamed.
  _start(streamed) {
    this._started = true;
    const useChunkedByDefault = !["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"].includes(this.method);
    const keepAlive = !!(this.agent && this.agent.keepAlive);
    // As Node, the framing headers are written, not stored (getHeader does
    // not see them).
    const headers = [];
    for (const [name, value] of this._headers.values()) {
      if (Array.isArray(value)) for (const v of value) headers.push([name, String(v)]);
      else headers.push([name, String(value)]);
    }
    if (!this.hasHeader("connection")) headers.push(["Connection", keepAlive ? "keep-alive" : "close"]);
    if (!this.hasHeader("content-length") && !this.hasHeader("transfer-encoding")) {
      if (streamed) headers.push(["Transfer-Encoding", "chunked"]);
      else if ((this._whole && this._whole.length) || useChunkedByDefault) {
        headers.push(["Content-Length", String(this._whole ? this._whole.length : 0)]);
      }
    }
    const body = this._whole;
    this._whole = null;
    const options = {
      method: this.method,
      https: this._https,
      host: this.host,
      port: this.port,
      path: this.path,
      headers,
      agent: this.agent && this.agent[kId] ? this.agent[kId] : 0,
      keepAlive,
      streamed,
      body: body ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : undefined,
    };
    if (this._tls) {
      options.rejectUnauthorized = this._tls.rejectUnauthorized !== false;
      if (this._tls.ca) options.ca = this._tls.ca;
      if (this._tls.servername) options.servername = this._tls.servername;
    }
    try {
      this._id = native.open(options);
    } catch (err) {
      nextTick(() => this.destroy(err));
      return;
    }
    const id = this._id;
    native.head(id).then(
      (head) => this._onHead(id, head),
      (err) => this.destroy(err),
    );
  }

  _onHead(id, head) {
    if (head.aborted || this.destroyed) return;
    if (head.error) {
      this._id = 0;
      const { code, message, ...fields } = head.error;
      this.destroy(nodeError(Error, code, message, fields));
      return;
    }
    this.reusedSocket = head.reused;
    Object.assign(this.socket, {
      remoteAddress: head.remoteAddress,
      remotePort: head.remotePort,
      localPort: head.localPort,
      remoteFamily: head.remoteAddress && head.remoteAddress.includes(":") ? "IPv6" : "IPv4",
    });
    const res = new IncomingMessage(this.socket);
    res.req = this;
    res._id = id;
    res.statusCode = head.status;
    res.statusMessage = head.statusText;
    res.httpVersion = head.httpVersion;
    const [major, minor] = head.httpVersion.split(".").map(Number);
    res.httpVersionMajor = major;
    res.httpVersionMinor = minor;
    res._setHeaders(head.headers);
    this.res = res;
    this._armTimer();
    if (hasListeners(this, "response")) this.emit("response", res);
    else res.resume();
    // Node's IncomingMessage starts reading as soon as it exists.
    res.read(0);
  }

  _onResponseEnd() {
    this._clearTimer();
    this._id = 0;
    this.destroy();
  }

  _destroy(err, cb) {
    this._clearTimer();
    const id = this._id;
    this._id = 0;
    const res = this.res;
    if (id && !(res && res.complete)) native.abort(id);
    if (res && !res.complete) {
      if (!res.destroyed) res._abortFromRequest();
    } else if (!res && !err) {
      err = connReset("socket hang up");
    }
    if (this.socket) this.socket.destroyed = true;
    cb(err);
  }
}

function validateHost(host, name) {
  if (host !== null && host !== undefined && typeof host !== "string") {
    throw invalidArgType(`options.${name}`, "of type string or one of undefined or null", host);
  }
  return host;
}

function toPemList(ca) {
  if (ca == null) return undefined;
  const list = Array.isArray(ca) ? ca : [ca];
  return list.map((c) => (typeof c === "string" ? c : Buffer.from(c).toString("utf8")));
}

// --- IncomingMessage: a readable stream of the response body.
const DISCARD_DUPLICATES = new Set([
  "age", "authorization", "content-length", "content-type", "etag", "expires", "from", "host",
  "if-modified-since", "if-unmodified-since", "last-modified", "location", "max-forwards",
  "proxy-authorization", "referer", "retry-after", "server", "user-agent",
]);

export class IncomingMessage extends Readable {
  constructor(socket) {
    super({ autoDestroy: true });
    this.socket = this.connection = socket;
    this.httpVersion = "1.1";
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.complete = false;
    this.aborted = false;
    this.headers = {};
    this.headersDistinct = {};
    this.rawHeaders = [];
    this.trailers = {};
    this.trailersDistinct = {};
    this.rawTrailers = [];
    this.url = "";
    this.method = null;
    this.statusCode = null;
    this.statusMessage = null;
    this._id = 0;
    this._reading = false;
  }

  _setHeaders(pairs) {
    const headers = {};
    const distinct = {};
    for (const [name, value] of pairs) {
      this.rawHeaders.push(name, value);
      (distinct[name] ||= []).push(value);
      if (name === "set-cookie") {
        (headers[name] ||= []).push(value);
      } else if (!(name in headers)) {
        headers[name] = value;
      } else if (DISCARD_DUPLICATES.has(name)) {
        // the first one wins
      } else if (name === "cookie") {
        headers[name] += `; ${value}`;
      } else {
        headers[name] += `, ${value}`;
      }
    }
    this.headers = headers;
    this.headersDistinct = distinct;
  }

  setTimeout(ms, cb) {
    if (this.req) this.req.setTimeout(ms, cb);
    return this;
  }

  _read() {
    if (this._reading || !this._id) return;
    this._reading = true;
    const id = this._id;
    native.read(id).then(
      (out) => {
        this._reading = false;
        if (this.destroyed || out.aborted) return;
        if (out.chunk) {
          if (this.req) this.req._armTimer();
          const chunk = out.chunk;
          if (this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) this._read();
        } else if (out.done) {
          this._id = 0;
          this.complete = true;
          this.push(null);
          this.once("end", () => {
            if (this.req) nextTick(() => this.req._onResponseEnd());
          });
        } else if (out.error) {
          this._id = 0;
          this.destroy(connReset(out.error.message));
          if (this.req) this.req._onResponseEnd();
        }
      },
      (err) => {
        this._reading = false;
        this.destroy(err);
      },
    );
  }

  // The request was destroyed while the body was being read.
  _abortFromRequest() {
    this._id = 0;
    this.destroy(connReset("aborted"));
  }

  _destroy(err, cb) {
    if (!this.complete && !this.aborted) {
      this.aborted = true;
      this.emit("aborted");
    }
    if (this._id && !this.complete) {
      native.abort(this._id);
      this._id = 0;
      if (this.req && !this.req.destroyed) nextTick(() => this.req.destroy());
    }
    // As Node's: an error is reported only to an 'error' listener.
    if (err && !hasListeners(this, "error")) err = null;
    cb(err);
  }
}

// --- The module's functions.
export function request(url, options, cb) {
  return new ClientRequest(url, options, cb);
}

export function get(url, options, cb) {
  const req = request(url, options, cb);
  req.end();
  return req;
}

const serverUnsupported = (what) => () => {
  throw nodeError(Error, "ERR_NOT_SUPPORTED", `snapjs does not support the HTTP server: http.${what} is not available (only the client: request, get, Agent)`);
};
export const createServer = serverUnsupported("createServer");
export const Server = serverUnsupported("Server");
export const ServerResponse = serverUnsupported("ServerResponse");
export const setMaxIdleHTTPParsers = () => {};

// https.js builds on these.
export const __snapjs = { normalizeArgs, kId };

const http = {
  METHODS,
  STATUS_CODES,
  Agent,
  ClientRequest,
  IncomingMessage,
  OutgoingMessage,
  Server,
  ServerResponse,
  createServer,
  validateHeaderName,
  validateHeaderValue,
  get,
  request,
  setMaxIdleHTTPParsers,
  maxHeaderSize,
  globalAgent,
};
export default http;
