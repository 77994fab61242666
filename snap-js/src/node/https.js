// Node's `https` module for snapjs: the `http` client (http.js) over TLS,
// verified against LLRT's roots (webpki-roots) or the `ca` option;
// `rejectUnauthorized: false` turns verification off. No server.
import http, { Agent as HttpAgent, ClientRequest, __snapjs } from "http";

export class Agent extends HttpAgent {
  constructor(options) {
    super(options);
    this.defaultPort = 443;
    this.protocol = "https:";
  }
}

export const globalAgent = new Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });

export function request(url, options, cb) {
  const args = __snapjs.normalizeArgs(url, options, cb);
  return new ClientRequest({ _defaultAgent: globalAgent, ...args.options }, args.cb);
}

export function get(url, options, cb) {
  const req = request(url, options, cb);
  req.end();
  return req;
}

export const createServer = () => {
  const err = new Error("snapjs does not support the HTTPS server: https.createServer is not available (only the client: request, get, Agent)");
  err.code = "ERR_NOT_SUPPORTED";
  throw err;
};
export const Server = createServer;

const https = { Agent, globalAgent, Server, createServer, get, request };
export default https;
