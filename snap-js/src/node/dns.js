// node:dns: LLRT's dns.lookup, with Node's flag and error-code constants
// and dns.promises.lookup. No resolve* (snapjs has no DNS resolver of its
// own; lookup uses the system's).
import llrt from "snapjs:llrt/dns";
export * from "snapjs:llrt/dns";

export const ADDRCONFIG = 32;
export const V4MAPPED = 8;
export const ALL = 16;

const codes = {
  NODATA: "ENODATA",
  FORMERR: "EFORMERR",
  SERVFAIL: "ESERVFAIL",
  NOTFOUND: "ENOTFOUND",
  NOTIMP: "ENOTIMP",
  REFUSED: "EREFUSED",
  BADQUERY: "EBADQUERY",
  BADNAME: "EBADNAME",
  BADFAMILY: "EBADFAMILY",
  BADRESP: "EBADRESP",
  CONNREFUSED: "ECONNREFUSED",
  TIMEOUT: "ETIMEOUT",
  EOF: "EOF",
  FILE: "EFILE",
  NOMEM: "ENOMEM",
  DESTRUCTION: "EDESTRUCTION",
  BADSTR: "EBADSTR",
  BADFLAGS: "EBADFLAGS",
  NONAME: "ENONAME",
  BADHINTS: "EBADHINTS",
  NOTINITIALIZED: "ENOTINITIALIZED",
  LOADIPHLPAPI: "ELOADIPHLPAPI",
  ADDRGETNETWORKPARAMS: "EADDRGETNETWORKPARAMS",
  CANCELLED: "ECANCELLED",
};
export const {
  NODATA,
  FORMERR,
  SERVFAIL,
  NOTFOUND,
  NOTIMP,
  REFUSED,
  BADQUERY,
  BADNAME,
  BADFAMILY,
  BADRESP,
  CONNREFUSED,
  TIMEOUT,
  EOF,
  FILE,
  NOMEM,
  DESTRUCTION,
  BADSTR,
  BADFLAGS,
  NONAME,
  BADHINTS,
  NOTINITIALIZED,
  LOADIPHLPAPI,
  ADDRGETNETWORKPARAMS,
  CANCELLED,
} = codes;

export function lookup(hostname, options, callback) {
  return llrt.lookup(hostname, options, callback);
}

export const promises = {
  ...codes,
  lookup(hostname, options = {}) {
    const all = typeof options === "object" && options !== null && options.all;
    return new Promise((resolve, reject) => {
      llrt.lookup(hostname, options, (err, address, family) => {
        if (err) reject(err);
        else if (all) resolve(address);
        else resolve({ address, family });
      });
    });
  },
};

const dns = { ...llrt, ...codes, ADDRCONFIG, V4MAPPED, ALL, lookup, promises };
export default dns;
