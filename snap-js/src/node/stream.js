// Node's `stream` module for snapjs: Readable, Writable, Duplex, Transform,
// PassThrough, pipeline, finished, the legacy Stream base, and
// `stream/promises` (see promises below). Written for snapjs with Node's
// semantics for what packages use (flowing and paused modes, backpressure
// by highWaterMark, object mode, destroy with an error, async iteration),
// on LLRT's EventEmitter so that `stream instanceof EventEmitter` holds.
import * as events from "events";
import * as stringDecoder from "string_decoder";

const EventEmitter = events.EventEmitter || events.default;
const StringDecoder = stringDecoder.StringDecoder || (stringDecoder.default && stringDecoder.default.StringDecoder);

// process.nextTick is not in LLRT's process; a microtask keeps the order
// that matters here (after the current synchronous code).
const nextTick = (fn, ...args) => {
  if (typeof process !== "undefined" && typeof process.nextTick === "function") process.nextTick(fn, ...args);
  else queueMicrotask(() => fn(...args));
};
const nop = () => {};

// --- Node's error codes.
const makeError = (Base, code, message) => {
  const err = new Base(message);
  err.code = code;
  return err;
};
const errors = {
  pushAfterEof: () => makeError(Error, "ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF"),
  unshiftAfterEnd: () => makeError(Error, "ERR_STREAM_UNSHIFT_AFTER_END_EVENT", "stream.unshift() after end event"),
  writeAfterEnd: () => makeError(Error, "ERR_STREAM_WRITE_AFTER_END", "write after end"),
  destroyed: (method) => makeError(Error, "ERR_STREAM_DESTROYED", `Cannot call ${method} after a stream was destroyed`),
  prematureClose: () => makeError(Error, "ERR_STREAM_PREMATURE_CLOSE", "Premature close"),
  notImplemented: (method) => makeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", `The ${method} method is not implemented`),
  multipleCallback: () => makeError(Error, "ERR_MULTIPLE_CALLBACK", "Callback called multiple times"),
  nullValues: () => makeError(TypeError, "ERR_STREAM_NULL_VALUES", "May not write null values to stream"),
  alreadyFinished: (method) => makeError(Error, "ERR_STREAM_ALREADY_FINISHED", `Cannot call ${method} after a stream was finished`),
  invalidChunk: (name, value) =>
    makeError(
      TypeError,
      "ERR_INVALID_ARG_TYPE",
      `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${describe(value)}`,
    ),
  invalidArg: (name, what, value) =>
    makeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be ${what}. Received ${describe(value)}`),
  missingArgs: (name) => makeError(TypeError, "ERR_MISSING_ARGS", `The "${name}" argument must be specified`),
  abort: (cause) => {
    const err = new Error("The operation was aborted");
    err.name = "AbortError";
    err.code = "ABORT_ERR";
    if (cause !== undefined) err.cause = cause;
    return err;
  },
};
function describe(value) {
  if (value == null) return ` ${value}`;
  if (typeof value === "function") return `function ${value.name}`;
  if (typeof value === "object") {
    if (value.constructor && value.constructor.name) return `an instance of ${value.constructor.name}`;
    return "an object";
  }
  let shown = String(value).slice(0, 25);
  if (typeof value === "string") shown = `'${shown}'`;
  return `type ${typeof value} (${shown})`;
}

// LLRT's EventEmitter may lack listenerCount; eventNames() lists the events
// that have listeners.
const listenerCount = (emitter, name) => {
  if (typeof emitter.listenerCount === "function") return emitter.listenerCount(name);
  if (typeof emitter.eventNames === "function") return emitter.eventNames().includes(name) ? 1 : 0;
  return 1;
};

const isUint8 = (chunk) => chunk instanceof Uint8Array;
const toBuffer = (chunk, encoding) =>
  typeof chunk === "string"
    ? Buffer.from(chunk, encoding)
    : Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

const defaultHighWaterMark = (objectMode) => (objectMode ? 16 : 16 * 1024);
const highWaterMarkOf = (options, key, objectMode) => {
  const hwm = options[key] != null ? options[key] : options.highWaterMark;
  if (hwm == null) return defaultHighWaterMark(objectMode);
  if (!Number.isInteger(hwm) || hwm < 0) {
    const err = new RangeError(`The value of "options.${key}" is invalid. Received ${hwm}`);
    err.code = "ERR_INVALID_ARG_VALUE";
    throw err;
  }
  return hwm;
};

// --- Destroy, shared by every kind of stream.
function errorOrDestroy(stream, err) {
  const r = stream._readableState;
  const w = stream._writableState;
  if ((r && r.destroyed) || (w && w.destroyed)) return;
  if ((r && r.autoDestroy) || (w && w.autoDestroy)) stream.destroy(err);
  else if (err) {
    if (w && !w.errored) w.errored = err;
    if (r && !r.errored) r.errored = err;
    nextTick(emitError, stream, err);
  }
}
function emitError(stream, err) {
  const r = stream._readableState;
  const w = stream._writableState;
  if ((w && w.errorEmitted) || (r && r.errorEmitted)) return;
  if (w) w.errorEmitted = true;
  if (r) r.errorEmitted = true;
  stream.emit("error", err);
}
function emitClose(stream) {
  const r = stream._readableState;
  const w = stream._writableState;
  if (w) w.closeEmitted = true;
  if (r) r.closeEmitted = true;
  if ((w && w.emitClose) || (r && r.emitClose)) stream.emit("close");
}
function destroy(err, cb) {
  const r = this._readableState;
  const w = this._writableState;
  const s = w || r;
  if ((w && w.destroyed) || (r && r.destroyed)) {
    if (typeof cb === "function") cb();
    return this;
  }
  if (err) {
    if (w && !w.errored) w.errored = err;
    if (r && !r.errored) r.errored = err;
  }
  if (w) w.destroyed = true;
  if (r) r.destroyed = true;
  const done = (er) => {
    if (er) {
      if (w && !w.errored) w.errored = er;
      if (r && !r.errored) r.errored = er;
    }
    if (w) w.closed = true;
    if (r) r.closed = true;
    if (w) for (const fn of w.onFinished.splice(0)) fn(er || errors.destroyed("end"));
    if (typeof cb === "function") cb(er);
    nextTick(() => {
      if (er) emitError(this, er);
      emitClose(this);
    });
  };
  if (s.constructed === false) {
    this.once("__constructed", () => this._destroy(err || null, done));
  } else {
    try {
      this._destroy(err || null, done);
    } catch (thrown) {
      done(thrown);
    }
  }
  return this;
}
function undestroy() {
  const r = this._readableState;
  const w = this._writableState;
  for (const s of [r, w]) {
    if (!s) continue;
    s.destroyed = false;
    s.closed = false;
    s.closeEmitted = false;
    s.errored = null;
    s.errorEmitted = false;
    s.ended = s.ending = s.finished = false;
  }
  if (r) r.endEmitted = false;
}

// Runs options.construct before any read or write.
function construct(stream, fn) {
  const s = stream._readableState || stream._writableState;
  const states = [stream._readableState, stream._writableState].filter(Boolean);
  for (const st of states) st.constructed = false;
  stream.once("__constructed", nop);
  nextTick(() => {
    let called = false;
    const done = (err) => {
      if (called) return errorOrDestroy(stream, errors.multipleCallback());
      called = true;
      for (const st of states) st.constructed = true;
      stream.emit("__constructed");
      if (err) errorOrDestroy(stream, err);
      else if (stream._readableState && stream._readableState.needReadable) stream.read(0);
      else if (stream._readableState && stream._readableState.flowing) nextTick(flow, stream);
      if (stream._writableState) {
        clearBuffer(stream, stream._writableState);
        finishMaybe(stream, stream._writableState);
      }
    };
    try {
      fn.call(stream, done);
    } catch (err) {
      done(err);
    }
  });
  return s;
}

// --- Stream: the legacy base, an EventEmitter with pipe().
//
// LLRT's EventEmitter is native: its methods refuse an object its own
// constructor did not make, and it cannot be called as a function. Node's
// stream classes are functions that pre-ES6 subclasses call
// (`Readable.call(this)`, as follow-redirects does), so streams keep their
// listeners in JS (the methods below) and only inherit EventEmitter's
// prototype, for `instanceof EventEmitter`.
function Stream(options) {
  if (!(this instanceof Stream)) return new Stream(options);
  listenersOf(this);
}
Object.setPrototypeOf(Stream.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Stream, EventEmitter);

function listenersOf(emitter) {
  if (!Object.prototype.hasOwnProperty.call(emitter, "_events") || !emitter._events) {
    emitter._events = Object.create(null);
    emitter._eventsCount = 0;
  }
  return emitter._events;
}
function addListenerImpl(emitter, name, fn, prepend) {
  if (typeof fn !== "function") throw errors.invalidArg("listener", "of type function", fn);
  const all = listenersOf(emitter);
  if (all.newListener) emitter.emit("newListener", name, fn.listener ? fn.listener : fn);
  const list = all[name] || (all[name] = []);
  if (list.length === 0) emitter._eventsCount++;
  if (prepend) list.unshift(fn);
  else list.push(fn);
  return emitter;
}
function onceWrapper(emitter, name, fn) {
  const wrapped = function (...args) {
    emitter.removeListener(name, wrapped);
    return fn.apply(this, args);
  };
  wrapped.listener = fn;
  return wrapped;
}
const emitterMethods = {
  on(name, fn) {
    return addListenerImpl(this, name, fn, false);
  },
  addListener(name, fn) {
    return this.on(name, fn);
  },
  prependListener(name, fn) {
    return addListenerImpl(this, name, fn, true);
  },
  once(name, fn) {
    if (typeof fn !== "function") throw errors.invalidArg("listener", "of type function", fn);
    return this.on(name, onceWrapper(this, name, fn));
  },
  prependOnceListener(name, fn) {
    if (typeof fn !== "function") throw errors.invalidArg("listener", "of type function", fn);
    return this.prependListener(name, onceWrapper(this, name, fn));
  },
  removeListener(name, fn) {
    const all = listenersOf(this);
    const list = all[name];
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === fn || list[i].listener === fn) {
        list.splice(i, 1);
        if (list.length === 0) {
          delete all[name];
          this._eventsCount--;
        }
        if (all.removeListener) this.emit("removeListener", name, fn);
        break;
      }
    }
    return this;
  },
  off(name, fn) {
    return this.removeListener(name, fn);
  },
  removeAllListeners(name) {
    const all = listenersOf(this);
    if (name === undefined) {
      this._events = Object.create(null);
      this._eventsCount = 0;
    } else if (all[name]) {
      delete all[name];
      this._eventsCount--;
    }
    return this;
  },
  emit(name, ...args) {
    const list = listenersOf(this)[name];
    if (!list || list.length === 0) {
      if (name === "error") {
        const err = args[0];
        if (err instanceof Error) throw err;
        const wrapped = new Error(`Unhandled error. (${err})`);
        wrapped.code = "ERR_UNHANDLED_ERROR";
        wrapped.context = err;
        throw wrapped;
      }
      return false;
    }
    for (const fn of list.slice()) fn.apply(this, args);
    return true;
  },
  listeners(name) {
    return (listenersOf(this)[name] || []).map((fn) => fn.listener || fn);
  },
  rawListeners(name) {
    return (listenersOf(this)[name] || []).slice();
  },
  listenerCount(name) {
    const list = listenersOf(this)[name];
    return list ? list.length : 0;
  },
  eventNames() {
    return Reflect.ownKeys(listenersOf(this));
  },
  setMaxListeners(n) {
    this._maxListeners = n;
    return this;
  },
  getMaxListeners() {
    return this._maxListeners === undefined ? 10 : this._maxListeners;
  },
};
for (const [name, fn] of Object.entries(emitterMethods)) {
  Object.defineProperty(Stream.prototype, name, { value: fn, writable: true, configurable: true });
}

Stream.prototype.pipe = function pipe(dest, options) {
  {
    const source = this;
    const ondata = (chunk) => {
      if (dest.writable && dest.write(chunk) === false && source.pause) source.pause();
    };
    const ondrain = () => {
      if (source.readable && source.resume) source.resume();
    };
    source.on("data", ondata);
    dest.on("drain", ondrain);
    let didEnd = false;
    const onend = () => {
      if (didEnd) return;
      didEnd = true;
      dest.end();
    };
    const onclose = () => {
      if (didEnd) return;
      didEnd = true;
      if (typeof dest.destroy === "function") dest.destroy();
    };
    if (!dest._isStdio && (!options || options.end !== false)) {
      source.on("end", onend);
      source.on("close", onclose);
    }
    const cleanup = () => {
      source.removeListener("data", ondata);
      dest.removeListener("drain", ondrain);
      source.removeListener("end", onend);
      source.removeListener("close", onclose);
      source.removeListener("error", onerror);
      dest.removeListener("error", onerror);
      source.removeListener("end", cleanup);
      source.removeListener("close", cleanup);
      dest.removeListener("close", cleanup);
    };
    const onerror = (err) => {
      cleanup();
      if (listenerCount(this, "error") === 0) this.emit("error", err);
    };
    source.on("error", onerror);
    dest.on("error", onerror);
    source.on("end", cleanup);
    source.on("close", cleanup);
    dest.on("close", cleanup);
    dest.emit("pipe", source);
    return dest;
  }
};

// --- Readable.
class ReadableState {
  constructor(options, stream, isDuplex) {
    this.objectMode = !!(options.objectMode || (isDuplex && options.readableObjectMode));
    this.highWaterMark = highWaterMarkOf(options, "readableHighWaterMark", this.objectMode);
    if (isDuplex && options.readableHighWaterMark == null && options.highWaterMark == null)
      this.highWaterMark = defaultHighWaterMark(this.objectMode);
    this.buffer = [];
    this.length = 0;
    this.pipes = [];
    this.flowing = null;
    this.ended = false;
    this.endEmitted = false;
    this.reading = false;
    this.constructed = true;
    this.sync = true;
    this.needReadable = false;
    this.emittedReadable = false;
    this.readableListening = false;
    this.resumeScheduled = false;
    this.errorEmitted = false;
    this.emitClose = options.emitClose !== false;
    this.autoDestroy = options.autoDestroy !== false;
    this.destroyed = false;
    this.errored = null;
    this.closed = false;
    this.closeEmitted = false;
    this.defaultEncoding = options.defaultEncoding || "utf8";
    this.awaitDrainWriters = null;
    this.multiAwaitDrain = false;
    this.readingMore = false;
    this.dataEmitted = false;
    this.decoder = null;
    this.encoding = null;
    if (options.encoding) {
      this.decoder = new StringDecoder(options.encoding);
      this.encoding = options.encoding;
    }
  }
}

// Node's classes are functions (`Readable.call(this, options)` works);
// their methods are written as classes whose prototypes the functions take.
function Readable(options) {
  if (!(this instanceof Readable)) return new Readable(options);
  Stream.call(this, options);
  options = options || {};
  {
    const isDuplex = this instanceof Duplex;
    this._readableState = new ReadableState(options, this, isDuplex);
    if (typeof options.read === "function") this._read = options.read;
    if (typeof options.destroy === "function") this._destroy = options.destroy;
    if (typeof options.construct === "function") this._construct = options.construct;
    if (options.signal) addAbortSignal(options.signal, this);
    if (typeof this._construct === "function" && !isDuplex) construct(this, this._construct);
  }
}

class ReadableMethods extends Stream {
  get readable() {
    const r = this._readableState;
    return !!r && r.readable !== false && !r.destroyed && !r.errorEmitted && !r.endEmitted;
  }
  set readable(v) {
    if (this._readableState) this._readableState.readable = !!v;
  }
  get readableEnded() {
    return this._readableState ? this._readableState.endEmitted : false;
  }
  get readableFlowing() {
    return this._readableState.flowing;
  }
  set readableFlowing(v) {
    this._readableState.flowing = v;
  }
  get readableLength() {
    return this._readableState.length;
  }
  get readableHighWaterMark() {
    return this._readableState.highWaterMark;
  }
  get readableObjectMode() {
    return this._readableState ? this._readableState.objectMode : false;
  }
  get readableEncoding() {
    return this._readableState ? this._readableState.encoding : null;
  }
  get readableAborted() {
    const r = this._readableState;
    return !!(r.readable !== false && (r.destroyed || r.errored) && !r.endEmitted);
  }
  get readableErrored() {
    return this._readableState ? this._readableState.errored : null;
  }
  get readableDidRead() {
    return this._readableState.dataEmitted;
  }
  get destroyed() {
    const r = this._readableState;
    const w = this._writableState;
    return !!((r && r.destroyed) || (w && w.destroyed));
  }
  set destroyed(v) {
    if (this._readableState) this._readableState.destroyed = v;
    if (this._writableState) this._writableState.destroyed = v;
  }
  get closed() {
    const r = this._readableState;
    const w = this._writableState;
    return !!((r && r.closed) || (w && w.closed));
  }
  get errored() {
    const r = this._readableState;
    const w = this._writableState;
    return (r && r.errored) || (w && w.errored) || null;
  }

  _read() {
    throw errors.notImplemented("_read()");
  }
  _destroy(err, cb) {
    cb(err);
  }

  push(chunk, encoding) {
    return addChunk(this, chunk, encoding, false);
  }
  unshift(chunk, encoding) {
    return addChunk(this, chunk, encoding, true);
  }

  isPaused() {
    const r = this._readableState;
    return r.paused === true || r.flowing === false;
  }

  setEncoding(encoding) {
    const r = this._readableState;
    const decoder = new StringDecoder(encoding);
    r.decoder = decoder;
    r.encoding = decoder.encoding || encoding;
    let content = "";
    for (const chunk of r.buffer) content += decoder.write(chunk);
    r.buffer = content ? [content] : [];
    r.length = content.length;
    return this;
  }

  read(n) {
    const r = this._readableState;
    if (n === undefined) n = NaN;
    else if (!Number.isInteger(n)) n = Number.parseInt(n, 10);
    const nOrig = n;
    if (n > r.highWaterMark) r.highWaterMark = nextPowerOf2(n);
    if (n !== 0) r.emittedReadable = false;
    if (
      n === 0 &&
      r.needReadable &&
      ((r.highWaterMark !== 0 ? r.length >= r.highWaterMark : r.length > 0) || r.ended)
    ) {
      if (r.length === 0 && r.ended) endReadable(this);
      else emitReadable(this);
      return null;
    }
    n = howMuchToRead(n, r);
    if (n === 0 && r.ended) {
      if (r.length === 0) endReadable(this);
      return null;
    }
    let doRead = r.needReadable;
    if (r.length === 0 || r.length - n < r.highWaterMark) doRead = true;
    if (r.ended || r.reading || r.destroyed || r.errored || !r.constructed) doRead = false;
    else if (doRead) {
      r.reading = true;
      r.sync = true;
      if (r.length === 0) r.needReadable = true;
      try {
        this._read(r.highWaterMark);
      } catch (err) {
        errorOrDestroy(this, err);
      }
      r.sync = false;
      if (!r.reading) n = howMuchToRead(nOrig, r);
    }
    let ret = n > 0 ? fromList(n, r) : null;
    if (ret === null) {
      r.needReadable = r.length <= r.highWaterMark;
      n = 0;
    } else {
      r.length -= r.objectMode ? 1 : n;
      if (r.multiAwaitDrain) r.awaitDrainWriters.clear();
      else r.awaitDrainWriters = null;
    }
    if (r.length === 0) {
      if (!r.ended) r.needReadable = true;
      if (nOrig !== n && r.ended) endReadable(this);
    }
    if (ret !== null && !r.errorEmitted && !r.closeEmitted) {
      r.dataEmitted = true;
      this.emit("data", ret);
    }
    return ret;
  }

  on(ev, fn) {
    const res = super.on(ev, fn);
    listenerAdded(this, ev);
    return res;
  }
  once(ev, fn) {
    const res = super.once(ev, fn);
    listenerAdded(this, ev);
    return res;
  }
  prependListener(ev, fn) {
    const res = super.prependListener(ev, fn);
    listenerAdded(this, ev);
    return res;
  }
  prependOnceListener(ev, fn) {
    const res = super.prependOnceListener(ev, fn);
    listenerAdded(this, ev);
    return res;
  }
  addListener(ev, fn) {
    return this.on(ev, fn);
  }
  removeListener(ev, fn) {
    const res = super.removeListener(ev, fn);
    if (ev === "readable") nextTick(updateReadableListening, this);
    return res;
  }
  off(ev, fn) {
    return this.removeListener(ev, fn);
  }
  removeAllListeners(ev) {
    const res = typeof super.removeAllListeners === "function" ? super.removeAllListeners(ev) : this;
    if (ev === "readable" || ev === undefined) nextTick(updateReadableListening, this);
    return res;
  }

  resume() {
    const r = this._readableState;
    if (!r.flowing) {
      r.flowing = !r.readableListening;
      if (!r.resumeScheduled) {
        r.resumeScheduled = true;
        nextTick(resume_, this, r);
      }
    }
    r.paused = false;
    return this;
  }

  pause() {
    const r = this._readableState;
    if (r.flowing !== false) {
      r.flowing = false;
      this.emit("pause");
    }
    r.paused = true;
    return this;
  }

  pipe(dest, options) {
    const src = this;
    const r = this._readableState;
    if (r.pipes.length === 1 && !r.multiAwaitDrain) {
      r.multiAwaitDrain = true;
      r.awaitDrainWriters = new Set(r.awaitDrainWriters ? [r.awaitDrainWriters] : []);
    }
    r.pipes.push(dest);
    const doEnd = (!options || options.end !== false) && dest !== globalThis.process?.stdout && dest !== globalThis.process?.stderr;
    const onend = () => dest.end();
    const endFn = doEnd ? onend : unpipe;
    if (r.endEmitted) nextTick(endFn);
    else src.once("end", endFn);
    dest.on("unpipe", onunpipe);
    function onunpipe(readable, info) {
      if (readable === src && info && info.hasUnpiped === false) {
        info.hasUnpiped = true;
        cleanup();
      }
    }
    let ondrain;
    let cleanedUp = false;
    function cleanup() {
      dest.removeListener("close", onclose);
      dest.removeListener("finish", onfinish);
      if (ondrain) dest.removeListener("drain", ondrain);
      dest.removeListener("error", onerror);
      dest.removeListener("unpipe", onunpipe);
      src.removeListener("end", onend);
      src.removeListener("end", unpipe);
      src.removeListener("data", ondata);
      cleanedUp = true;
      if (ondrain && r.awaitDrainWriters && (!dest._writableState || dest._writableState.needDrain)) ondrain();
    }
    function pause() {
      if (!cleanedUp) {
        if (r.pipes.length === 1 && r.pipes[0] === dest) {
          r.awaitDrainWriters = dest;
          r.multiAwaitDrain = false;
        } else if (r.pipes.length > 1 && r.pipes.includes(dest)) {
          r.awaitDrainWriters.add(dest);
        }
        src.pause();
      }
      if (!ondrain) {
        ondrain = pipeOnDrain(src, dest);
        dest.on("drain", ondrain);
      }
    }
    function ondata(chunk) {
      if (dest.write(chunk) === false) pause();
    }
    src.on("data", ondata);
    function onerror(er) {
      unpipe();
      dest.removeListener("error", onerror);
      if (listenerCount(dest, "error") === 0) {
        const s = dest._writableState || dest._readableState;
        if (s && !s.errorEmitted) errorOrDestroy(dest, er);
        else dest.emit("error", er);
      }
    }
    prependListener(dest, "error", onerror);
    function onclose() {
      dest.removeListener("finish", onfinish);
      unpipe();
    }
    dest.once("close", onclose);
    function onfinish() {
      dest.removeListener("close", onclose);
      unpipe();
    }
    dest.once("finish", onfinish);
    function unpipe() {
      src.unpipe(dest);
    }
    dest.emit("pipe", src);
    if (dest.writableNeedDrain === true) pause();
    else if (!r.flowing) src.resume();
    return dest;
  }

  unpipe(dest) {
    const r = this._readableState;
    const info = { hasUnpiped: false };
    if (r.pipes.length === 0) return this;
    if (!dest) {
      const dests = r.pipes;
      r.pipes = [];
      this.pause();
      for (const d of dests) d.emit("unpipe", this, { hasUnpiped: false });
      return this;
    }
    const i = r.pipes.indexOf(dest);
    if (i === -1) return this;
    r.pipes.splice(i, 1);
    if (r.pipes.length === 0) this.pause();
    dest.emit("unpipe", this, info);
    return this;
  }

  wrap(stream) {
    let paused = false;
    stream.on("data", (chunk) => {
      if (!this.push(chunk) && stream.pause) {
        paused = true;
        stream.pause();
      }
    });
    stream.on("end", () => this.push(null));
    stream.on("error", (err) => errorOrDestroy(this, err));
    stream.on("close", () => this.destroy());
    stream.on("destroy", () => this.destroy());
    this._read = () => {
      if (paused && stream.resume) {
        paused = false;
        stream.resume();
      }
    };
    return this;
  }

  [Symbol.asyncIterator]() {
    return iterator(this, { destroyOnReturn: true });
  }
  iterator(options) {
    return iterator(this, { destroyOnReturn: !options || options.destroyOnReturn !== false });
  }

}
adopt(Readable, ReadableMethods, Stream);
Readable.from = (iterable, options) => from(iterable, options);
Readable.prototype.destroy = destroy;
Readable.prototype._undestroy = undestroy;

// A 'data' listener starts the flow; a 'readable' one pauses it (Node's
// Readable.prototype.on, for every way a listener is added).
function listenerAdded(stream, ev) {
  const r = stream._readableState;
  if (ev === "data") {
    r.readableListening = listenerCount(stream, "readable") > 0 && r.readableListening;
    if (r.flowing !== false) stream.resume();
  } else if (ev === "readable") {
    if (!r.endEmitted && !r.readableListening) {
      r.readableListening = r.needReadable = true;
      r.flowing = false;
      r.emittedReadable = false;
      if (r.length) emitReadable(stream);
      else if (!r.reading) nextTick(() => stream.read(0));
    }
  }
}

// `Ctor` takes `Methods`' prototype, and inherits `Parent`'s statics.
function adopt(Ctor, Methods, Parent) {
  Ctor.prototype = Methods.prototype;
  Object.defineProperty(Ctor.prototype, "constructor", { value: Ctor, writable: true, configurable: true });
  Object.setPrototypeOf(Ctor, Parent);
}

function prependListener(emitter, ev, fn) {
  if (typeof emitter.prependListener === "function") emitter.prependListener(ev, fn);
  else emitter.on(ev, fn);
}

function nextPowerOf2(n) {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function howMuchToRead(n, r) {
  if (n <= 0 || (r.length === 0 && r.ended)) return 0;
  if (r.objectMode) return 1;
  if (Number.isNaN(n)) {
    if (r.flowing && r.length) return r.decoder ? r.length : r.buffer[0].length;
    return r.length;
  }
  if (n <= r.length) return n;
  return r.ended ? r.length : 0;
}

// n units off the front of the buffer.
function fromList(n, r) {
  if (r.length === 0) return null;
  if (r.objectMode) return r.buffer.shift();
  if (!n || n >= r.length) {
    let ret;
    if (r.decoder) ret = r.buffer.join("");
    else if (r.buffer.length === 1) ret = r.buffer[0];
    else ret = Buffer.concat(r.buffer, r.length);
    r.buffer = [];
    return ret;
  }
  const first = r.buffer[0];
  if (n < first.length) {
    r.buffer[0] = first.slice(n);
    return first.slice(0, n);
  }
  if (n === first.length) return r.buffer.shift();
  if (r.decoder) {
    let ret = "";
    while (ret.length < n) {
      const str = r.buffer[0];
      const need = n - ret.length;
      if (str.length <= need) {
        ret += str;
        r.buffer.shift();
      } else {
        ret += str.slice(0, need);
        r.buffer[0] = str.slice(need);
      }
    }
    return ret;
  }
  const ret = Buffer.allocUnsafe(n);
  let off = 0;
  while (off < n) {
    const buf = r.buffer[0];
    const need = n - off;
    if (buf.length <= need) {
      ret.set(buf, off);
      off += buf.length;
      r.buffer.shift();
    } else {
      ret.set(buf.subarray(0, need), off);
      r.buffer[0] = buf.slice(need);
      off += need;
    }
  }
  return ret;
}

function addChunk(stream, chunk, encoding, addToFront) {
  const r = stream._readableState;
  let err;
  if (!r.objectMode) {
    if (typeof chunk === "string") {
      encoding = encoding || r.defaultEncoding;
      if (r.encoding !== encoding) {
        if (addToFront && r.encoding) chunk = Buffer.from(chunk, encoding).toString(r.encoding);
        else {
          chunk = Buffer.from(chunk, encoding);
          encoding = "";
        }
      }
    } else if (isUint8(chunk)) {
      chunk = toBuffer(chunk);
      encoding = "";
    } else if (chunk != null) {
      err = errors.invalidArg("chunk", "of type string or an instance of Buffer or Uint8Array", chunk);
    }
  }
  if (err) {
    errorOrDestroy(stream, err);
    return false;
  }
  if (chunk === null) {
    r.reading = false;
    onEofChunk(stream, r);
    return false;
  }
  if (r.objectMode || (chunk && chunk.length > 0)) {
    if (addToFront) {
      if (r.endEmitted) {
        errorOrDestroy(stream, errors.unshiftAfterEnd());
        return false;
      }
      if (r.destroyed || r.errored) return false;
      pushChunk(stream, r, chunk, true);
    } else if (r.ended) {
      errorOrDestroy(stream, errors.pushAfterEof());
      return false;
    } else if (r.destroyed || r.errored) {
      return false;
    } else {
      r.reading = false;
      if (r.decoder && !encoding) {
        chunk = r.decoder.write(chunk);
        if (r.objectMode || chunk.length !== 0) pushChunk(stream, r, chunk, false);
        else maybeReadMore(stream, r);
      } else {
        pushChunk(stream, r, chunk, false);
      }
    }
  } else if (!addToFront) {
    r.reading = false;
    maybeReadMore(stream, r);
  }
  return !r.ended && (r.length < r.highWaterMark || r.length === 0);
}

function pushChunk(stream, r, chunk, addToFront) {
  if (r.flowing && r.length === 0 && !r.sync && listenerCount(stream, "data") > 0) {
    if (r.multiAwaitDrain) r.awaitDrainWriters.clear();
    else r.awaitDrainWriters = null;
    r.dataEmitted = true;
    stream.emit("data", chunk);
  } else {
    r.length += r.objectMode ? 1 : chunk.length;
    if (addToFront) r.buffer.unshift(chunk);
    else r.buffer.push(chunk);
    if (r.needReadable) emitReadable(stream);
  }
  maybeReadMore(stream, r);
}

function onEofChunk(stream, r) {
  if (r.ended) return;
  if (r.decoder) {
    const chunk = r.decoder.end();
    if (chunk && chunk.length) {
      r.buffer.push(chunk);
      r.length += r.objectMode ? 1 : chunk.length;
    }
  }
  r.ended = true;
  if (r.sync) emitReadable(stream);
  else {
    r.needReadable = false;
    r.emittedReadable = true;
    emitReadable_(stream);
  }
}

function emitReadable(stream) {
  const r = stream._readableState;
  r.needReadable = false;
  if (!r.emittedReadable) {
    r.emittedReadable = true;
    nextTick(emitReadable_, stream);
  }
}
function emitReadable_(stream) {
  const r = stream._readableState;
  if (!r.destroyed && !r.errored && (r.length || r.ended)) {
    stream.emit("readable");
    r.emittedReadable = false;
  }
  r.needReadable = !r.flowing && !r.ended && r.length <= r.highWaterMark;
  flow(stream);
}

function maybeReadMore(stream, r) {
  if (!r.readingMore && r.constructed) {
    r.readingMore = true;
    nextTick(maybeReadMore_, stream, r);
  }
}
function maybeReadMore_(stream, r) {
  while (!r.reading && !r.ended && (r.length < r.highWaterMark || (r.flowing && r.length === 0))) {
    const len = r.length;
    stream.read(0);
    if (len === r.length) break;
  }
  r.readingMore = false;
}

function pipeOnDrain(src, dest) {
  return function () {
    const r = src._readableState;
    if (r.awaitDrainWriters === dest) r.awaitDrainWriters = null;
    else if (r.multiAwaitDrain) r.awaitDrainWriters.delete(dest);
    if ((!r.awaitDrainWriters || r.awaitDrainWriters.size === 0) && listenerCount(src, "data")) {
      src.resume();
    }
  };
}

function updateReadableListening(stream) {
  const r = stream._readableState;
  r.readableListening = listenerCount(stream, "readable") > 0;
  if (r.resumeScheduled && r.paused === false) r.flowing = true;
  else if (listenerCount(stream, "data") > 0) stream.resume();
  else if (!r.readableListening) r.flowing = null;
}

function resume_(stream, r) {
  if (!r.reading) stream.read(0);
  r.resumeScheduled = false;
  stream.emit("resume");
  flow(stream);
  if (r.flowing && !r.reading) stream.read(0);
}

function flow(stream) {
  const r = stream._readableState;
  while (r.flowing && stream.read() !== null);
}

function endReadable(stream) {
  const r = stream._readableState;
  if (!r.endEmitted) {
    r.ended = true;
    nextTick(endReadableNT, r, stream);
  }
}
function endReadableNT(r, stream) {
  if (!r.errored && !r.closeEmitted && !r.endEmitted && r.length === 0) {
    r.endEmitted = true;
    stream.emit("end");
    const w = stream._writableState;
    if (w && !w.finished && stream.allowHalfOpen === false && stream.writable !== false) stream.end();
    else if (r.autoDestroy) {
      const autoDestroy = !w || (w.autoDestroy && (w.finished || w.writable === false));
      if (autoDestroy) stream.destroy();
    }
  }
}

// --- Readable.from: any iterable or async iterable, object mode by default.
function from(iterable, options) {
  if (typeof iterable === "string" || Buffer.isBuffer(iterable) || iterable instanceof Uint8Array) {
    let done = false;
    return new Readable({
      objectMode: true,
      ...options,
      read() {
        if (done) return;
        done = true;
        this.push(iterable);
        this.push(null);
      },
    });
  }
  let iterator;
  let isAsync;
  if (iterable && typeof iterable[Symbol.asyncIterator] === "function") {
    isAsync = true;
    iterator = iterable[Symbol.asyncIterator]();
  } else if (iterable && typeof iterable[Symbol.iterator] === "function") {
    isAsync = false;
    iterator = iterable[Symbol.iterator]();
  } else {
    throw errors.invalidArg("iterable", "an instance of Iterable", iterable);
  }
  let reading = false;
  const readable = new Readable({
    objectMode: true,
    highWaterMark: 1,
    ...options,
    read() {
      if (!reading) {
        reading = true;
        next();
      }
    },
    destroy(error, cb) {
      close(error).then(
        () => nextTick(cb, error),
        (e) => nextTick(cb, e || error),
      );
    },
  });
  async function close(error) {
    const hadError = error !== undefined && error !== null;
    const hasThrow = typeof iterator.throw === "function";
    if (hadError && hasThrow) {
      const { value, done } = await iterator.throw(error);
      await value;
      if (done) return;
    }
    if (typeof iterator.return === "function") {
      const { value } = await iterator.return();
      await value;
    }
  }
  async function next() {
    for (;;) {
      try {
        const { value, done } = isAsync ? await iterator.next() : iterator.next();
        if (done) {
          readable.push(null);
        } else {
          const res = value && typeof value.then === "function" ? await value : value;
          if (res === null) {
            reading = false;
            throw errors.nullValues();
          } else if (readable.push(res)) {
            continue;
          } else {
            reading = false;
          }
        }
      } catch (err) {
        readable.destroy(err);
      }
      break;
    }
  }
  return readable;
}

// --- Async iteration over a Readable. QuickJS does not wait for an async
// generator's return() when a for-await loop breaks, so the stream is
// destroyed by the iterator's own return(), synchronously, as Node's is
// by the time the loop is left.
function iterator(stream, options) {
  const gen = iterate(stream, options);
  return {
    next: () => gen.next(),
    return(value) {
      if (options.destroyOnReturn !== false && !stream.destroyed) stream.destroy(null);
      return gen.return(value);
    },
    throw: (err) => gen.throw(err),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
async function* iterate(stream, options) {
  let callback = nop;
  function next(resolve) {
    if (this === stream) {
      callback();
      callback = nop;
    } else {
      callback = resolve;
    }
  }
  stream.on("readable", next);
  let error;
  const cleanup = finished(stream, { writable: false }, (err) => {
    error = err ? err : null;
    callback();
    callback = nop;
  });
  try {
    for (;;) {
      const chunk = stream.destroyed ? null : stream.read();
      if (chunk !== null) yield chunk;
      else if (error) throw error;
      else if (error === null) return;
      else await new Promise(next);
    }
  } catch (err) {
    error = err;
    throw error;
  } finally {
    if ((error || options.destroyOnReturn !== false) && (error === undefined || stream._readableState.autoDestroy)) {
      stream.destroy(error || null);
    } else {
      stream.removeListener("readable", next);
      cleanup();
    }
  }
}

// --- Writable.
class WritableState {
  constructor(options, stream, isDuplex) {
    this.objectMode = !!(options.objectMode || (isDuplex && options.writableObjectMode));
    this.highWaterMark = highWaterMarkOf(options, "writableHighWaterMark", this.objectMode);
    if (isDuplex && options.writableHighWaterMark == null && options.highWaterMark == null)
      this.highWaterMark = defaultHighWaterMark(this.objectMode);
    this.finalCalled = false;
    this.needDrain = false;
    this.ending = false;
    this.ended = false;
    this.finished = false;
    this.destroyed = false;
    this.decodeStrings = options.decodeStrings !== false;
    this.defaultEncoding = options.defaultEncoding || "utf8";
    this.length = 0;
    this.writing = false;
    this.corked = 0;
    this.sync = true;
    this.bufferProcessing = false;
    this.onwrite = onwrite.bind(undefined, stream);
    this.writecb = null;
    this.writelen = 0;
    this.buffered = [];
    this.pendingcb = 0;
    this.constructed = true;
    this.prefinished = false;
    this.errorEmitted = false;
    this.emitClose = options.emitClose !== false;
    this.autoDestroy = options.autoDestroy !== false;
    this.errored = null;
    this.closed = false;
    this.closeEmitted = false;
    this.allNoop = true;
    this.afterWriteTickInfo = null;
    this.onFinished = [];
  }
}

function writableInit(stream, options) {
  options = options || {};
  const isDuplex = stream instanceof Duplex;
  stream._writableState = new WritableState(options, stream, isDuplex);
  if (typeof options.write === "function") stream._write = options.write;
  if (typeof options.writev === "function") stream._writev = options.writev;
  if (typeof options.destroy === "function") stream._destroy = options.destroy;
  if (typeof options.final === "function") stream._final = options.final;
  if (typeof options.construct === "function") stream._construct = options.construct;
  if (options.signal) addAbortSignal(options.signal, stream);
}

function Writable(options) {
  if (!(this instanceof Writable)) return new Writable(options);
  Stream.call(this, options);
  writableInit(this, options);
  if (typeof this._construct === "function") construct(this, this._construct);
}
class WritableMethods extends Stream {}
adopt(Writable, WritableMethods, Stream);
Object.defineProperty(Writable, Symbol.hasInstance, {
  value(object) {
    if (Function.prototype[Symbol.hasInstance].call(this, object)) return true;
    if (this !== Writable) return false;
    return !!(object && object._writableState instanceof WritableState);
  },
  configurable: true,
});

const writableMethods = {
  _write(chunk, encoding, cb) {
    if (this._writev) this._writev([{ chunk, encoding }], cb);
    else throw errors.notImplemented("_write()");
  },
  _destroy(err, cb) {
    cb(err);
  },
  write(chunk, encoding, cb) {
    return writeOrBuffer(this, chunk, encoding, cb);
  },
  cork() {
    this._writableState.corked++;
  },
  uncork() {
    const w = this._writableState;
    if (w.corked) {
      w.corked--;
      if (!w.writing) clearBuffer(this, w);
    }
  },
  setDefaultEncoding(encoding) {
    if (typeof encoding === "string") encoding = encoding.toLowerCase();
    if (!Buffer.isEncoding(encoding)) {
      const err = new TypeError(`Unknown encoding: ${encoding}`);
      err.code = "ERR_UNKNOWN_ENCODING";
      throw err;
    }
    this._writableState.defaultEncoding = encoding;
    return this;
  },
  end(chunk, encoding, cb) {
    const w = this._writableState;
    if (typeof chunk === "function") {
      cb = chunk;
      chunk = null;
      encoding = null;
    } else if (typeof encoding === "function") {
      cb = encoding;
      encoding = null;
    }
    let err;
    if (chunk !== null && chunk !== undefined) {
      const ret = writeImpl(this, chunk, encoding);
      if (ret instanceof Error) err = ret;
    }
    if (w.corked) {
      w.corked = 1;
      this.uncork();
    }
    if (err) {
      // the write's error is reported to cb below
    } else if (!w.errored && !w.ending) {
      w.ending = true;
      finishMaybe(this, w, true);
      w.ended = true;
    } else if (w.finished) {
      err = errors.alreadyFinished("end");
    } else if (w.destroyed) {
      err = errors.destroyed("end");
    }
    if (typeof cb === "function") {
      if (err || w.finished) nextTick(cb, err);
      else w.onFinished.push(cb);
    }
    return this;
  },
  destroy,
  _undestroy: undestroy,
};
for (const [name, fn] of Object.entries(writableMethods)) {
  Object.defineProperty(Writable.prototype, name, { value: fn, writable: true, configurable: true });
}
const writableGetters = {
  writable: {
    get() {
      const w = this._writableState;
      return !!w && w.writable !== false && !w.destroyed && !w.errored && !w.ending && !w.ended;
    },
    set(v) {
      if (this._writableState) this._writableState.writable = !!v;
    },
  },
  writableFinished: { get() { return this._writableState ? this._writableState.finished : false; } },
  writableEnded: { get() { return this._writableState ? this._writableState.ending : false; } },
  writableLength: { get() { return this._writableState && this._writableState.length; } },
  writableHighWaterMark: { get() { return this._writableState && this._writableState.highWaterMark; } },
  writableObjectMode: { get() { return this._writableState ? this._writableState.objectMode : false; } },
  writableErrored: { get() { return this._writableState ? this._writableState.errored : null; } },
  writableCorked: { get() { return this._writableState ? this._writableState.corked : 0; } },
  writableNeedDrain: {
    get() {
      const w = this._writableState;
      return !!w && !w.destroyed && !w.ending && w.needDrain;
    },
  },
  writableAborted: {
    get() {
      const w = this._writableState;
      return !!(w.writable !== false && (w.destroyed || w.errored) && !w.finished);
    },
  },
};
const sharedGetters = {
  destroyed: Object.getOwnPropertyDescriptor(Readable.prototype, "destroyed"),
  closed: Object.getOwnPropertyDescriptor(Readable.prototype, "closed"),
  errored: Object.getOwnPropertyDescriptor(Readable.prototype, "errored"),
};
Object.defineProperties(Writable.prototype, { ...writableGetters, ...sharedGetters });

function writeImpl(stream, chunk, encoding, cb) {
  const w = stream._writableState;
  if (typeof encoding === "function") {
    cb = encoding;
    encoding = w.defaultEncoding;
  } else {
    if (!encoding) encoding = w.defaultEncoding;
    else if (encoding !== "buffer" && !Buffer.isEncoding(encoding)) {
      const err = new TypeError(`Unknown encoding: ${encoding}`);
      err.code = "ERR_UNKNOWN_ENCODING";
      throw err;
    }
    if (typeof cb !== "function") cb = nop;
  }
  if (chunk === null) throw errors.nullValues();
  if (!w.objectMode) {
    if (typeof chunk === "string") {
      if (w.decodeStrings !== false) {
        chunk = Buffer.from(chunk, encoding);
        encoding = "buffer";
      }
    } else if (chunk instanceof Uint8Array) {
      chunk = toBuffer(chunk);
      encoding = "buffer";
    } else {
      throw errors.invalidChunk("chunk", chunk);
    }
  }
  let err;
  if (w.ending) err = errors.writeAfterEnd();
  else if (w.destroyed) err = errors.destroyed("write");
  if (err) {
    nextTick(cb, err);
    errorOrDestroy(stream, err);
    return err;
  }
  w.pendingcb++;
  const len = w.objectMode ? 1 : chunk.length;
  w.length += len;
  const ret = w.length < w.highWaterMark;
  if (!ret) w.needDrain = true;
  if (w.writing || w.corked || w.errored || !w.constructed) {
    w.buffered.push({ chunk, encoding, callback: cb });
    if (w.allNoop && cb !== nop) w.allNoop = false;
  } else {
    w.writelen = len;
    w.writecb = cb;
    w.writing = true;
    w.sync = true;
    stream._write(chunk, encoding, w.onwrite);
    w.sync = false;
  }
  return ret && !w.errored && !w.destroyed;
}

function writeOrBuffer(stream, chunk, encoding, cb) {
  const ret = writeImpl(stream, chunk, encoding, cb);
  return ret instanceof Error ? false : ret;
}

function doWrite(stream, w, writev, len, chunk, encoding, cb) {
  w.writelen = len;
  w.writecb = cb;
  w.writing = true;
  w.sync = true;
  if (w.destroyed) w.onwrite(errors.destroyed("write"));
  else if (writev) stream._writev(chunk, w.onwrite);
  else stream._write(chunk, encoding, w.onwrite);
  w.sync = false;
}

function onwrite(stream, er) {
  const w = stream._writableState;
  const sync = w.sync;
  const cb = w.writecb;
  if (typeof cb !== "function") {
    errorOrDestroy(stream, errors.multipleCallback());
    return;
  }
  w.writing = false;
  w.writecb = null;
  w.length -= w.writelen;
  w.writelen = 0;
  if (er) {
    if (!w.errored) w.errored = er;
    if (stream._readableState && !stream._readableState.errored) stream._readableState.errored = er;
    if (sync) nextTick(onwriteError, stream, w, er, cb);
    else onwriteError(stream, w, er, cb);
  } else {
    if (w.buffered.length > 0) clearBuffer(stream, w);
    if (sync) {
      if (w.afterWriteTickInfo !== null && w.afterWriteTickInfo.cb === cb) {
        w.afterWriteTickInfo.count++;
      } else {
        w.afterWriteTickInfo = { count: 1, cb, stream, state: w };
        nextTick(afterWriteTick, w.afterWriteTickInfo);
      }
    } else {
      afterWrite(stream, w, 1, cb);
    }
  }
}
function onwriteError(stream, w, er, cb) {
  --w.pendingcb;
  cb(er);
  errorBuffer(w);
  errorOrDestroy(stream, er);
}
function afterWriteTick({ stream, state, count, cb }) {
  state.afterWriteTickInfo = null;
  afterWrite(stream, state, count, cb);
}
function afterWrite(stream, w, count, cb) {
  const needDrain = !w.ending && !stream.destroyed && w.length === 0 && w.needDrain;
  if (needDrain) {
    w.needDrain = false;
    stream.emit("drain");
  }
  while (count-- > 0) {
    w.pendingcb--;
    cb(null);
  }
  if (w.destroyed) errorBuffer(w);
  finishMaybe(stream, w);
}
function errorBuffer(w) {
  if (w.writing) return;
  for (const cb of w.onFinished.splice(0)) cb(w.errored || errors.destroyed("end"));
  for (const { chunk, callback } of w.buffered) {
    const len = w.objectMode ? 1 : chunk.length;
    w.length -= len;
    w.pendingcb--;
    callback(w.errored || errors.destroyed("write"));
  }
  w.buffered = [];
}
function clearBuffer(stream, w) {
  if (w.corked || w.bufferProcessing || w.destroyed || !w.constructed) return;
  const buffered = w.buffered;
  if (buffered.length === 0) return;
  w.bufferProcessing = true;
  if (buffered.length > 1 && stream._writev) {
    w.pendingcb -= buffered.length - 1;
    const callbacks = buffered.map((b) => b.callback);
    const all = (err) => {
      for (const cb of callbacks) cb(err);
    };
    const chunks = buffered.map(({ chunk, encoding }) => ({ chunk, encoding }));
    w.buffered = [];
    doWrite(stream, w, true, w.length, chunks, "", all);
  } else {
    do {
      const { chunk, encoding, callback } = w.buffered.shift();
      const len = w.objectMode ? 1 : chunk.length;
      doWrite(stream, w, false, len, chunk, encoding, callback);
    } while (w.buffered.length > 0 && !w.writing);
  }
  w.bufferProcessing = false;
}

function needFinish(w) {
  return (
    w.ending &&
    !w.destroyed &&
    w.constructed &&
    w.length === 0 &&
    !w.errored &&
    w.buffered.length === 0 &&
    !w.finished &&
    !w.writing &&
    !w.errorEmitted &&
    !w.closeEmitted
  );
}
function callFinal(stream, w) {
  let called = false;
  const done = (err) => {
    if (called) {
      errorOrDestroy(stream, errors.multipleCallback());
      return;
    }
    called = true;
    w.pendingcb--;
    if (err) {
      for (const cb of w.onFinished.splice(0)) cb(err);
      errorBuffer(w);
      errorOrDestroy(stream, err);
    } else if (needFinish(w)) {
      w.prefinished = true;
      stream.emit("prefinish");
      w.pendingcb++;
      nextTick(finish, stream, w);
    }
  };
  w.sync = true;
  w.pendingcb++;
  try {
    stream._final(done);
  } catch (err) {
    done(err);
  }
  w.sync = false;
}
function prefinish(stream, w) {
  if (!w.prefinished && !w.finalCalled) {
    if (typeof stream._final === "function" && !w.destroyed) {
      w.finalCalled = true;
      callFinal(stream, w);
    } else {
      w.prefinished = true;
      stream.emit("prefinish");
    }
  }
}
function finishMaybe(stream, w, sync) {
  if (needFinish(w)) {
    prefinish(stream, w);
    if (w.pendingcb === 0) {
      if (sync) {
        w.pendingcb++;
        nextTick(() => {
          if (needFinish(w)) finish(stream, w);
          else w.pendingcb--;
        });
      } else if (needFinish(w)) {
        w.pendingcb++;
        finish(stream, w);
      }
    }
  }
}
function finish(stream, w) {
  w.pendingcb--;
  w.finished = true;
  for (const cb of w.onFinished.splice(0)) cb(null);
  stream.emit("finish");
  if (w.autoDestroy) {
    const r = stream._readableState;
    const autoDestroy = !r || (r.autoDestroy && (r.endEmitted || r.readable === false));
    if (autoDestroy) stream.destroy();
  }
}

// --- Duplex: a Readable that is also a Writable.
function Duplex(options) {
  if (!(this instanceof Duplex)) return new Duplex(options);
  Readable.call(this, options);
  writableInit(this, options);
  {
    options = options || {};
    this.allowHalfOpen = options.allowHalfOpen !== false;
    if (options.readable === false) {
      this._readableState.readable = false;
      this._readableState.ended = true;
      this._readableState.endEmitted = true;
    }
    if (options.writable === false) {
      this._writableState.writable = false;
      this._writableState.ending = true;
      this._writableState.ended = true;
      this._writableState.finished = true;
    }
    if (typeof this._construct === "function") construct(this, this._construct);
  }
}
class DuplexMethods extends Readable {}
adopt(Duplex, DuplexMethods, Readable);
for (const [name, fn] of Object.entries(writableMethods)) {
  if (name === "destroy" || name === "_undestroy" || name === "_destroy") continue;
  Object.defineProperty(Duplex.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperties(Duplex.prototype, writableGetters);

// --- Transform and PassThrough.
const kCallback = Symbol("kCallback");
function Transform(options) {
  if (!(this instanceof Transform)) return new Transform(options);
  Duplex.call(this, options);
  this._readableState.sync = false;
  this[kCallback] = null;
  if (options) {
    if (typeof options.transform === "function") this._transform = options.transform;
    if (typeof options.flush === "function") this._flush = options.flush;
  }
  this.on("prefinish", transformPrefinish);
}
class TransformMethods extends Duplex {
  _final(cb) {
    if (typeof this._flush === "function" && !this.destroyed) {
      this._flush((er, data) => {
        if (er) {
          if (cb) cb(er);
          else this.destroy(er);
          return;
        }
        if (data != null) this.push(data);
        this.push(null);
        if (cb) cb();
      });
    } else {
      this.push(null);
      if (cb) cb();
    }
  }
  _transform() {
    throw errors.notImplemented("_transform()");
  }
  _write(chunk, encoding, callback) {
    const r = this._readableState;
    const w = this._writableState;
    const length = r.length;
    this._transform(chunk, encoding, (err, val) => {
      if (err) {
        callback(err);
        return;
      }
      if (val != null) this.push(val);
      if (r.ended) nextTick(callback);
      else if (w.ended || length === r.length || r.length < r.highWaterMark) callback();
      else this[kCallback] = callback;
    });
  }
  _read() {
    if (this[kCallback]) {
      const callback = this[kCallback];
      this[kCallback] = null;
      callback();
    }
  }
}
function transformPrefinish() {
  if (this._final !== Transform.prototype._final) Transform.prototype._final.call(this);
}

adopt(Transform, TransformMethods, Duplex);

function PassThrough(options) {
  if (!(this instanceof PassThrough)) return new PassThrough(options);
  Transform.call(this, options);
}
class PassThroughMethods extends Transform {
  _transform(chunk, encoding, cb) {
    cb(null, chunk);
  }
}
adopt(PassThrough, PassThroughMethods, Transform);

// --- finished / eos.
function isReadableNodeStream(obj) {
  return !!(obj && typeof obj.pipe === "function" && typeof obj.on === "function" && (!obj._writableState || obj._readableState));
}
function isWritableNodeStream(obj) {
  return !!(obj && typeof obj.write === "function" && typeof obj.on === "function");
}
function isNodeStream(obj) {
  return !!(obj && typeof obj.on === "function" && (typeof obj.pipe === "function" || typeof obj.write === "function"));
}

function finished(stream, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  } else if (options == null) {
    options = {};
  }
  if (typeof callback !== "function") throw errors.invalidArg("callback", "of type function", callback);
  let called = false;
  const cb = (...args) => {
    if (called) return;
    called = true;
    callback.apply(stream, args);
  };
  const r = stream._readableState;
  const w = stream._writableState;
  const readable = options.readable ?? isReadableNodeStream(stream);
  const writable = options.writable ?? isWritableNodeStream(stream);
  let writableFinished = !!(w && w.finished);
  let readableFinished = !!(r && r.endEmitted);
  const onlegacyfinish = () => {
    if (!stream.writable) onfinish();
  };
  const onfinish = () => {
    writableFinished = true;
    if (stream.destroyed) willEmitClose = false;
    if (willEmitClose && (!stream.readable || readable)) return;
    if (!readable || readableFinished) cb.call(stream);
  };
  const onend = () => {
    readableFinished = true;
    if (stream.destroyed) willEmitClose = false;
    if (willEmitClose && (!stream.writable || writable)) return;
    if (!writable || writableFinished) cb.call(stream);
  };
  const onerror = (err) => cb.call(stream, err);
  let closed = !!(r && r.closed) || !!(w && w.closed);
  let willEmitClose =
    !!((w && w.autoDestroy && w.emitClose && !w.closed) || (r && r.autoDestroy && r.emitClose && !r.closed)) &&
    !!(w || r);
  const onclose = () => {
    closed = true;
    const errored = (w && w.errored) || (r && r.errored);
    if (errored && typeof errored !== "boolean") return cb.call(stream, errored);
    if (readable && !readableFinished && isReadableNodeStream(stream)) {
      if (!(r && r.endEmitted)) return cb.call(stream, errors.prematureClose());
    }
    if (writable && !writableFinished) {
      if (!(w && w.finished)) return cb.call(stream, errors.prematureClose());
    }
    cb.call(stream);
  };
  const onrequest = () => stream.req.on("finish", onfinish);
  if (stream.setHeader && typeof stream.abort === "function") {
    stream.on("complete", onfinish);
    if (!willEmitClose) stream.on("abort", onclose);
    if (stream.req) onrequest();
    else stream.on("request", onrequest);
  } else if (writable && !w) {
    stream.on("end", onlegacyfinish);
    stream.on("close", onlegacyfinish);
  }
  if (!willEmitClose && typeof stream.aborted === "boolean") stream.on("aborted", onclose);
  stream.on("end", onend);
  stream.on("finish", onfinish);
  if (options.error !== false) stream.on("error", onerror);
  stream.on("close", onclose);
  if (closed) {
    nextTick(onclose);
  } else if ((w && w.errorEmitted) || (r && r.errorEmitted)) {
    if (!willEmitClose) nextTick(onclose);
  } else if (!readable && (!willEmitClose || stream.readable) && writableFinished) {
    nextTick(onclose);
  } else if (!writable && (!willEmitClose || stream.writable) && readableFinished) {
    nextTick(onclose);
  } else if (r && stream.req && stream.aborted) {
    nextTick(onclose);
  }
  const cleanup = () => {
    callback = nop;
    stream.removeListener("aborted", onclose);
    stream.removeListener("complete", onfinish);
    stream.removeListener("abort", onclose);
    stream.removeListener("request", onrequest);
    if (stream.req) stream.req.removeListener("finish", onfinish);
    stream.removeListener("end", onlegacyfinish);
    stream.removeListener("close", onlegacyfinish);
    stream.removeListener("finish", onfinish);
    stream.removeListener("end", onend);
    stream.removeListener("error", onerror);
    stream.removeListener("close", onclose);
  };
  if (options.signal && !closed) {
    const abort = () => {
      const endCallback = callback;
      cleanup();
      endCallback.call(stream, errors.abort(options.signal.reason));
    };
    if (options.signal.aborted) nextTick(abort);
    else {
      options.signal.addEventListener("abort", abort, { once: true });
      const original = callback;
      callback = (...args) => {
        options.signal.removeEventListener("abort", abort);
        original.apply(stream, args);
      };
    }
  }
  return cleanup;
}

// --- pipeline: streams, with async iterables and (async) generator
// functions as the source, transforms and destination, as Node allows.
function pipeline(...streams) {
  let callback = typeof streams[streams.length - 1] === "function" ? streams.pop() : null;
  if (!callback) throw errors.invalidArg("streams[stream.length - 1]", "of type function", streams[streams.length - 1]);
  if (streams.length === 1 && Array.isArray(streams[0])) streams = streams[0];
  return pipelineImpl(streams, callback, {});
}

function pipelineImpl(streams, callback, options) {
  if (streams.length < 2) throw errors.missingArgs("streams");
  let error;
  let value;
  const destroys = [];
  let finishCount = 0;
  let done = false;
  const signal = options.signal;
  const onabort = () => finish(errors.abort(signal.reason));
  if (signal) {
    if (signal.aborted) nextTick(onabort);
    else signal.addEventListener("abort", onabort, { once: true });
  }
  function finishImpl(err, final) {
    if (err && (!error || error.code === "ERR_STREAM_PREMATURE_CLOSE")) error = err;
    if (!error && !final) return;
    while (destroys.length) destroys.shift()(error);
    if (signal) signal.removeEventListener("abort", onabort);
    if (final && !done) {
      done = true;
      nextTick(callback, error, value);
    }
  }
  function finish(err) {
    finishImpl(err, --finishCount === 0);
  }
  let ret;
  for (let i = 0; i < streams.length; i++) {
    const stream = streams[i];
    const reading = i < streams.length - 1;
    const writing = i > 0;
    const end = reading || options.end !== false;
    if (isNodeStream(stream)) {
      destroys.push(destroyer(stream, reading, writing));
    }
    if (i === 0) {
      if (typeof stream === "function") {
        ret = stream({ signal });
        if (!isIterable(ret)) throw errors.invalidArg("source", "an Iterable, AsyncIterable or Stream", ret);
      } else if (isNodeStream(stream) || isIterable(stream)) {
        ret = stream;
      } else {
        ret = Duplex.from(stream);
      }
    } else if (typeof stream === "function") {
      ret = isNodeStream(ret) ? ret : from(ret);
      ret = stream(ret, { signal });
      if (reading) {
        if (!isIterable(ret, true)) throw errors.invalidArg(`transform[${i - 1}]`, "an AsyncIterable", ret);
      } else {
        const pt = new PassThrough({ objectMode: true });
        const then = ret && ret.then;
        if (typeof then === "function") {
          finishCount++;
          then.call(
            ret,
            (val) => {
              value = val;
              if (val != null) pt.write(val);
              if (end) pt.end();
              nextTick(finish);
            },
            (err) => {
              pt.destroy(err);
              nextTick(finish, err);
            },
          );
        } else if (isIterable(ret, true)) {
          finishCount++;
          pump(ret, pt, finish, { end });
        } else {
          throw errors.invalidArg("destination", "an AsyncIterable or Promise", ret);
        }
        ret = pt;
        destroys.push(destroyer(ret, false, true));
      }
    } else if (isNodeStream(stream)) {
      if (isReadableNodeStream(ret)) {
        finishCount += 2;
        const cleanup = pipe(ret, stream, finish, { end });
        if (stream.readable && reading) destroys.push(cleanup);
      } else if (isIterable(ret)) {
        finishCount++;
        pump(ret, stream, finish, { end });
      } else {
        throw errors.invalidArg("val", "a ReadableStream, Readable, Iterable or AsyncIterable", ret);
      }
      ret = stream;
    } else {
      ret = Duplex.from(stream);
    }
  }
  if (signal && signal.aborted) nextTick(onabort);
  return ret;
}

function isIterable(obj, isAsync) {
  if (obj == null) return false;
  if (isAsync === true) return typeof obj[Symbol.asyncIterator] === "function";
  if (isAsync === false) return typeof obj[Symbol.iterator] === "function";
  return typeof obj[Symbol.asyncIterator] === "function" || typeof obj[Symbol.iterator] === "function";
}

function destroyer(stream, reading, writing) {
  let finishedFlag = false;
  stream.on("close", () => {
    finishedFlag = true;
  });
  const cleanup = finished(stream, { readable: reading, writable: writing }, (err) => {
    finishedFlag = !err;
  });
  return (err) => {
    if (finishedFlag) return;
    finishedFlag = true;
    cleanup();
    if (typeof stream.abort === "function" && typeof stream.setHeader === "function") stream.abort();
    else if (typeof stream.destroy === "function") stream.destroy(err || errors.prematureClose());
  };
}

function pipe(src, dst, finish, { end }) {
  let ended = false;
  dst.on("close", () => {
    if (!ended) finish(errors.prematureClose());
  });
  src.pipe(dst, { end: false });
  if (end) {
    const endFn = () => {
      ended = true;
      dst.end();
    };
    if (src._readableState && src._readableState.endEmitted) nextTick(endFn);
    else src.once("end", endFn);
    finished(src, { readable: true, writable: false }, (err) => {
      const r = src._readableState;
      if (err && err.code === "ERR_STREAM_PREMATURE_CLOSE" && r && r.ended && !r.errored && !r.errorEmitted) {
        src.once("end", finish).once("error", finish);
      } else {
        finish(err);
      }
    });
  } else {
    finish();
  }
  finished(dst, { readable: false, writable: true }, finish);
  return () => src.unpipe(dst);
}

async function pump(iterable, writable, finish, { end }) {
  let error;
  let onresolve = null;
  const resume = (err) => {
    if (err) error = err;
    if (onresolve) {
      const callback = onresolve;
      onresolve = null;
      callback();
    }
  };
  const wait = () =>
    new Promise((resolve, reject) => {
      if (error) reject(error);
      else
        onresolve = () => {
          if (error) reject(error);
          else resolve();
        };
    });
  writable.on("drain", resume);
  const cleanup = finished(writable, { readable: false }, resume);
  try {
    if (writable.writableNeedDrain) await wait();
    for await (const chunk of iterable) {
      if (!writable.write(chunk)) await wait();
    }
    if (end) {
      writable.end();
      await wait();
    }
    finish();
  } catch (err) {
    finish(error !== err ? err : error);
  } finally {
    cleanup();
    writable.removeListener("drain", resume);
  }
}

// Duplex.from: the cases packages use (a stream, an iterable, a function).
Duplex.from = function (body) {
  if (body instanceof Duplex) return body;
  if (isReadableNodeStream(body)) return body;
  if (isIterable(body)) return from(body);
  if (typeof body === "function") {
    const pt = new PassThrough({ objectMode: true });
    const out = body(pt);
    return isIterable(out) ? from(out) : pt;
  }
  throw errors.invalidArg("body", "a stream, iterable or function", body);
};

// --- addAbortSignal.
function addAbortSignal(signal, stream) {
  if (!signal || typeof signal.aborted !== "boolean") throw errors.invalidArg("signal", "an instance of AbortSignal", signal);
  const onAbort = () => stream.destroy(errors.abort(signal.reason));
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener("abort", onAbort, { once: true });
    finished(stream, () => signal.removeEventListener("abort", onAbort));
  }
  return stream;
}

// --- Inspectors.
const isReadable = (stream) =>
  !!stream && isReadableNodeStream(stream) && stream.readable === true && !stream.destroyed && !stream.readableEnded;
const isWritable = (stream) => !!stream && isWritableNodeStream(stream) && stream.writable === true && !stream.destroyed;
const isErrored = (stream) =>
  !!(stream && ((stream._readableState && stream._readableState.errorEmitted) || (stream._writableState && stream._writableState.errorEmitted)));
const isDisturbed = (stream) =>
  !!(stream && stream._readableState && (stream._readableState.dataEmitted || stream._readableState.endEmitted || stream.destroyed));
const isDestroyed = (stream) => !!(stream && stream.destroyed);

// --- stream/promises.
const promises = {
  pipeline(...streams) {
    return new Promise((resolve, reject) => {
      let options = {};
      const last = streams[streams.length - 1];
      if (last && typeof last === "object" && !isNodeStream(last) && !isIterable(last) && typeof last !== "function") {
        options = streams.pop();
      }
      if (streams.length === 1 && Array.isArray(streams[0])) streams = streams[0];
      pipelineImpl(streams, (err, value) => (err ? reject(err) : resolve(value)), options);
    });
  },
  finished(stream, options) {
    return new Promise((resolve, reject) => {
      finished(stream, options, (err) => (err ? reject(err) : resolve()));
    });
  },
};

const getDefaultHighWaterMark = (objectMode) => defaultHighWaterMark(objectMode);
const setDefaultHighWaterMark = () => {};

Object.assign(Stream, {
  Stream,
  Readable,
  Writable,
  Duplex,
  Transform,
  PassThrough,
  pipeline,
  finished,
  addAbortSignal,
  promises,
  isReadable,
  isWritable,
  isErrored,
  isDisturbed,
  isDestroyed,
  getDefaultHighWaterMark,
  setDefaultHighWaterMark,
});
Object.defineProperty(pipeline, Symbol.for("nodejs.util.promisify.custom"), { value: promises.pipeline });
Object.defineProperty(finished, Symbol.for("nodejs.util.promisify.custom"), { value: promises.finished });

export {
  Stream,
  Readable,
  Writable,
  Duplex,
  Transform,
  PassThrough,
  pipeline,
  finished,
  addAbortSignal,
  promises,
  isReadable,
  isWritable,
  isErrored,
  isDisturbed,
  isDestroyed,
  getDefaultHighWaterMark,
  setDefaultHighWaterMark,
};
export default Stream;
