// node:tls: what packages touch when they load and in plain HTTPS use.
// snapjs has no raw TLS sockets (its https requests go through
// node:https, which does TLS itself): connect, createServer and a
// TLSSocket that would connect throw ERR_NOT_SUPPORTED. A TLSSocket
// around an existing JS stream (what http2-wrapper builds at load) is
// made, as Node does, over an internal stream wrapper, and stays idle.
// rootCertificates is an empty frozen array: snapjs does not expose its
// TLS stack's roots.

import { describe } from "snapjs:internal/errors";
import { Duplex } from "stream";
import { isIP, isIPv4, isIPv6 } from "net";

export const DEFAULT_MIN_VERSION = "TLSv1.2";
export const DEFAULT_MAX_VERSION = "TLSv1.3";
export const DEFAULT_ECDH_CURVE = "auto";
export const DEFAULT_CIPHERS =
  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA";
export const CLIENT_RENEG_LIMIT = 3;
export const CLIENT_RENEG_WINDOW = 600;
export const rootCertificates = Object.freeze([]);


function notSupported(what) {
  const err = new Error(`${what} is not supported by snapjs: it has no raw TLS sockets (https requests go through node:https)`);
  err.code = "ERR_NOT_SUPPORTED";
  return err;
}

export function getCiphers() {
  return ["aes128-gcm-sha256", "aes256-gcm-sha384", "chacha20-poly1305-sha256", "tls_aes_128_gcm_sha256", "tls_aes_256_gcm_sha384", "tls_chacha20_poly1305_sha256"];
}

export function convertALPNProtocols(protocols, out) {
  if (Array.isArray(protocols)) {
    const parts = [];
    for (const p of protocols) {
      const bytes = Buffer.from(p);
      if (bytes.length > 255) {
        const err = new RangeError(`The byte length of the protocol at index ${parts.length} exceeds the maximum length. It must be <= 255. Received ${bytes.length}`);
        err.code = "ERR_OUT_OF_RANGE";
        throw err;
      }
      parts.push(Buffer.from([bytes.length]), bytes);
    }
    out.ALPNProtocols = Buffer.concat(parts);
  } else if (ArrayBuffer.isView(protocols)) {
    out.ALPNProtocols = Buffer.from(protocols.buffer, protocols.byteOffset, protocols.byteLength);
  }
}

function splitHost(host) {
  return host
    .replace(/[.]$/, "")
    .replace(/[A-Z]+/g, (s) => s.toLowerCase())
    .split(".");
}

// Node's wildcard rules: only the leftmost label may hold one `*`, not in
// an IDNA (xn--) label, and not for a pattern of two labels or fewer.
function check(hostParts, pattern, wildcards) {
  if (!pattern) return false;
  const patternParts = splitHost(pattern);
  if (hostParts.length !== patternParts.length) return false;
  if (patternParts.includes("")) return false;
  if (patternParts.some((s) => /[^\u0021-\u007F]/u.test(s))) return false;
  for (let i = hostParts.length - 1; i > 0; i--) {
    if (hostParts[i] !== patternParts[i]) return false;
  }
  const hostSub = hostParts[0];
  const patternSub = patternParts[0];
  const pieces = patternSub.split("*");
  if (pieces.length === 1 || patternSub.includes("xn--")) return hostSub === patternSub;
  if (!wildcards) return false;
  if (pieces.length > 2) return false;
  if (patternParts.length <= 2) return false;
  const [prefix, suffix] = pieces;
  if (prefix.length + suffix.length > hostSub.length) return false;
  return hostSub.startsWith(prefix) && hostSub.endsWith(suffix);
}

// "DNS:a, DNS:b, IP Address:1.2.3.4", with JSON-quoted entries kept whole.
function splitAltNames(altNames) {
  const out = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < altNames.length; i++) {
    const c = altNames[i];
    if (quoted) {
      if (c === "\\") current += altNames[++i];
      else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === "," && altNames[i + 1] === " ") {
      out.push(current);
      current = "";
      i++;
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

function canonicalizeIP(ip) {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  // Expand, then print in the shortest form (RFC 5952), as Node does.
  let [head, tail] = ip.toLowerCase().split("::");
  const toGroups = (s) => {
    if (!s) return [];
    const groups = [];
    for (const part of s.split(":")) {
      if (part.includes(".")) {
        const b = part.split(".").map(Number);
        groups.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else groups.push(parseInt(part, 16));
    }
    return groups;
  };
  const h = toGroups(head);
  const t = tail === undefined ? [] : toGroups(tail);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(":");
  return hex.slice(0, best).join(":") + "::" + hex.slice(best + bestLen).join(":");
}

export function checkServerIdentity(hostname, cert) {
  const subject = cert.subject;
  const altNames = cert.subjectaltname;
  const dnsNames = [];
  const ips = [];
  hostname = "" + hostname;
  if (altNames) {
    for (const name of splitAltNames(altNames)) {
      if (name.startsWith("DNS:")) dnsNames.push(name.slice(4));
      else if (name.startsWith("IP Address:")) ips.push(canonicalizeIP(name.slice(11)));
    }
  }
  let valid = false;
  let reason = "Unknown reason";
  hostname = hostname.replace(/[.]$/, "");
  if (isIP(hostname)) {
    valid = ips.includes(canonicalizeIP(hostname));
    if (!valid) reason = `IP: ${hostname} is not in the cert's list: ` + ips.join(", ");
  } else if (dnsNames.length > 0 || subject?.CN) {
    const hostParts = splitHost(hostname);
    const wildcard = (pattern) => check(hostParts, pattern, true);
    if (dnsNames.length > 0) {
      valid = dnsNames.some(wildcard);
      if (!valid) reason = `Host: ${hostname}. is not in the cert's altnames: ${altNames}`;
    } else {
      const cn = subject.CN;
      if (Array.isArray(cn)) valid = cn.some(wildcard);
      else if (cn) valid = wildcard(cn);
      if (!valid) reason = `Host: ${hostname}. is not cert's CN: ${cn}`;
    }
  } else {
    reason = "Cert does not contain a DNS name";
  }
  if (!valid) {
    const err = new Error(`Hostname/IP does not match certificate's altnames: ${reason}`);
    err.code = "ERR_TLS_CERT_ALTNAME_INVALID";
    err.reason = reason;
    err.host = hostname;
    err.cert = cert;
    return err;
  }
  return undefined;
}

export class SecureContext {
  constructor(options = {}) {
    this.context = { options: { ...options } };
  }
}

export function createSecureContext(options = {}) {
  if (options === null || typeof options !== "object") {
    const err = new TypeError(`The "options" argument must be of type object.${describe(options)}`);
    err.code = "ERR_INVALID_ARG_TYPE";
    throw err;
  }
  return new SecureContext(options);
}

// Node's internal wrapper that gives a JS stream a socket's handle.
class JSStreamSocket extends Duplex {
  constructor(inner) {
    super();
    this.stream = inner;
  }
}

export class TLSSocket extends Duplex {
  constructor(socket, options = {}) {
    if (!socket || typeof socket.pipe !== "function" || typeof socket.connect === "function") {
      throw notSupported("tls.TLSSocket over a network socket");
    }
    super();
    this._handle = { _parentWrap: new JSStreamSocket(socket) };
    this._tlsOptions = options;
    this.encrypted = true;
    this.authorized = false;
    this.authorizationError = null;
    this.alpnProtocol = false;
    this.servername = options.servername ?? null;
  }
  _read() {}
  _write(chunk, encoding, callback) {
    callback(notSupported("writing to a tls.TLSSocket"));
  }
  getPeerCertificate() {
    return {};
  }
  getProtocol() {
    return null;
  }
}

export class Server {
  constructor() {
    throw notSupported("tls.Server");
  }
}

export function connect() {
  throw notSupported("tls.connect");
}

export function createServer() {
  throw notSupported("tls.createServer");
}

export function createSecurePair() {
  throw notSupported("tls.createSecurePair");
}

const tls = {
  CLIENT_RENEG_LIMIT,
  CLIENT_RENEG_WINDOW,
  DEFAULT_CIPHERS,
  DEFAULT_ECDH_CURVE,
  DEFAULT_MIN_VERSION,
  DEFAULT_MAX_VERSION,
  getCiphers,
  rootCertificates,
  convertALPNProtocols,
  checkServerIdentity,
  createSecureContext,
  SecureContext,
  connect,
  createServer,
  createSecurePair,
  TLSSocket,
  Server,
};
export default tls;
