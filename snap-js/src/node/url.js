// node:url: LLRT's url (URL, URLSearchParams, fileURLToPath,
// pathToFileURL, urlToHttpOptions, domainTo*) plus Node's legacy API:
// url.parse giving a Url object, url.format of a Url-like object or a
// string, and url.resolve.
import { describe, invalidArg } from "snapjs:internal/errors";
import llrt from "snapjs:llrt/url";
export * from "snapjs:llrt/url";

const querystring = () => globalThis.__snapjs_cjs.builtin("querystring");



export function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}

const slashedProtocols = new Set(["http:", "https:", "ftp:", "gopher:", "file:", "ws:", "wss:", "http", "https", "ftp", "gopher", "file", "ws", "wss"]);
const noHostProtocols = new Set(["javascript", "javascript:"]);
// Characters Node escapes in a legacy path, query or hash.
const autoEscape = /[\t\n\r "'<>\\^`{|}]/g;
const escapeChar = (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");

Url.prototype.parse = function parse(url, parseQueryString, slashesDenoteHost) {
  if (typeof url !== "string") throw invalidArg("url", "of type string", url);
  let rest = url.trim().replace(/\\/g, (m, i, s) => (s.indexOf("?") !== -1 && i > s.indexOf("?") ? m : "/"));
  // A bare path can skip the rest.
  const simple = /^(\/\/?(?!\/)[^?\s]*)(\?[^\s]*)?$/.exec(rest);
  if (simple && !slashesDenoteHost) {
    this.path = rest;
    this.href = rest;
    this.pathname = simple[1];
    if (simple[2]) {
      this.search = simple[2];
      this.query = parseQueryString ? querystring().parse(this.search.slice(1)) : this.search.slice(1);
    } else if (parseQueryString) {
      this.search = null;
      this.query = Object.create(null);
    }
    return this;
  }
  const proto = /^([a-z0-9.+-]+:)/i.exec(rest);
  let lowerProto;
  if (proto) {
    lowerProto = proto[1].toLowerCase();
    this.protocol = lowerProto;
    rest = rest.slice(proto[1].length);
  }
  let slashes = false;
  if (slashesDenoteHost || proto || /^\/\/[^@/]+@[^@/]+/.test(rest)) {
    slashes = rest.startsWith("//");
    if (slashes && !(lowerProto && noHostProtocols.has(lowerProto))) {
      rest = rest.slice(2);
      this.slashes = true;
    }
  }
  if (!noHostProtocols.has(lowerProto) && (slashes || (lowerProto && !slashedProtocols.has(lowerProto)))) {
    let hostEnd = -1;
    for (const c of ["/", "?", "#"]) {
      const i = rest.indexOf(c);
      if (i !== -1 && (hostEnd === -1 || i < hostEnd)) hostEnd = i;
    }
    const hostPart = hostEnd === -1 ? rest : rest.slice(0, hostEnd);
    const at = hostPart.lastIndexOf("@");
    if (at !== -1) {
      this.auth = decodeURIComponent(hostPart.slice(0, at));
    }
    let host = at !== -1 ? hostPart.slice(at + 1) : hostPart;
    rest = hostEnd === -1 ? "" : rest.slice(hostEnd);
    const port = /:([0-9]*)$/.exec(host);
    if (port) {
      if (port[1] !== "") this.port = port[1];
      host = host.slice(0, host.length - port[0].length);
    }
    let hostname = host;
    const ipv6 = hostname.startsWith("[") && hostname.endsWith("]");
    if (ipv6) hostname = hostname.slice(1, -1);
    // Invalid hostname characters end the host; the rest is path.
    const bad = /[^A-Za-z0-9._+\-\u0080-\uffff:%]/.exec(hostname);
    if (!ipv6 && bad) {
      rest = hostname.slice(bad.index) + rest;
      hostname = hostname.slice(0, bad.index);
    }
    hostname = ipv6 ? hostname : hostname.toLowerCase();
    if (!ipv6 && hostname) hostname = llrt.domainToASCII(hostname) || hostname;
    this.hostname = hostname;
    const p = this.port ? ":" + this.port : "";
    this.host = (ipv6 ? `[${hostname}]` : hostname) + p;
  }
  rest = rest.replace(autoEscape, escapeChar);
  const hash = rest.indexOf("#");
  if (hash !== -1) {
    this.hash = rest.slice(hash);
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf("?");
  if (q !== -1) {
    this.search = rest.slice(q);
    this.query = rest.slice(q + 1);
    if (parseQueryString) this.query = querystring().parse(this.query);
    rest = rest.slice(0, q);
  } else if (parseQueryString) {
    this.search = null;
    this.query = Object.create(null);
  }
  if (rest) this.pathname = rest;
  if (slashedProtocols.has(lowerProto) && this.hostname && !this.pathname) this.pathname = "/";
  if (this.pathname || this.search) this.path = (this.pathname || "") + (this.search || "");
  this.href = this.format();
  return this;
};

Url.prototype.format = function format() {
  let auth = this.auth || "";
  if (auth) auth = encodeURIComponent(auth).replace(/%3A/i, ":") + "@";
  let protocol = this.protocol || "";
  let pathname = this.pathname || "";
  let hash = this.hash || "";
  let host = "";
  if (this.host) {
    host = auth + this.host;
  } else if (this.hostname) {
    host = auth + (this.hostname.includes(":") && !this.hostname.startsWith("[") ? `[${this.hostname}]` : this.hostname);
    if (this.port) host += ":" + this.port;
  }
  let search = this.search || "";
  if (!search && this.query && typeof this.query === "object" && Object.keys(this.query).length) {
    search = "?" + querystring().stringify(this.query);
  }
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  search = search.replace("#", "%23");
  if (this.slashes || ((!protocol || slashedProtocols.has(protocol)) && host)) {
    host = "//" + host;
    if (pathname && pathname[0] !== "/") pathname = "/" + pathname;
  } else if (!host) {
    host = "";
  }
  if (hash && hash[0] !== "#") hash = "#" + hash;
  if (search && search[0] !== "?") search = "?" + search;
  return protocol + host + pathname + search + hash;
};

Url.prototype.resolve = function resolve(relative) {
  return urlResolve(this.href, relative);
};

export function parse(url, parseQueryString, slashesDenoteHost) {
  if (url instanceof Url) return url;
  return new Url().parse(url, parseQueryString, slashesDenoteHost);
}

export function format(obj, options) {
  if (typeof obj === "string") return parse(obj).format();
  if (obj === null || typeof obj !== "object") throw invalidArg("urlObject", "one of type object or string", obj);
  if (obj instanceof llrt.URL) return llrt.format(obj, options);
  return Url.prototype.format.call(obj);
}

// A relative `from` resolves against a placeholder origin that is taken
// off again, so the answer stays relative, as Node's is.
const placeholder = "http://snapjs-resolve.invalid";
function urlResolve(from, to) {
  const absolute = /^[a-z][a-z0-9.+-]*:/i.test(from);
  const base = absolute ? from : placeholder + (from.startsWith("/") ? "" : "/") + from;
  const resolved = new llrt.URL(to, base).href;
  if (absolute || !resolved.startsWith(placeholder + "/")) return resolved;
  const rest = resolved.slice(placeholder.length);
  return from.startsWith("/") ? rest : rest.slice(1);
}
export { urlResolve as resolve };

function codeError(Base, code, message) {
  const err = new Base(message);
  err.code = code;
  return err;
}

// Node's POSIX rules (LLRT's leaves the path percent-encoded).
export function fileURLToPath(path) {
  if (typeof path === "string") path = new llrt.URL(path);
  else if (path === null || typeof path !== "object" || typeof path.href !== "string") throw invalidArg("path", "of type string or an instance of URL", path);
  if (path.protocol !== "file:") throw codeError(TypeError, "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  if (path.hostname !== "" && path.hostname !== "localhost") throw codeError(TypeError, "ERR_INVALID_FILE_URL_HOST", 'File URL host must be "localhost" or empty on linux');
  const pathname = path.pathname;
  if (/%2f/i.test(pathname)) throw codeError(TypeError, "ERR_INVALID_FILE_URL_PATH", "File URL path must not include encoded / characters");
  return decodeURIComponent(pathname);
}

const url = { ...llrt, Url, parse, format, resolve: urlResolve, fileURLToPath };
export default url;
