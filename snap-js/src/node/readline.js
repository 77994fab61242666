// node:readline: createInterface over a readable stream (anything with
// 'data' and 'end' events): 'line' and 'close' events, question(), and the
// async iterator over lines. Lines end at \n, \r\n or \r (with crlfDelay,
// a \r\n split across chunks is one line end). No terminal editing.
import EventEmitter from "events";
import { StringDecoder } from "string_decoder";

export class Interface extends EventEmitter {
  constructor(input, output, completer, terminal) {
    super();
    const options = input && typeof input.on === "function" && output === undefined && !("input" in input) ? { input } : input && "input" in input ? input : { input, output, completer, terminal };
    this.input = options.input;
    this.output = options.output;
    this.terminal = Boolean(options.terminal);
    this.crlfDelay = Math.max(100, Number(options.crlfDelay) || 100);
    this.closed = false;
    this.line = "";
    this._prompt = options.prompt === undefined ? "> " : options.prompt;
    this._paused = false;
    this._buffer = "";
    this._sawReturn = false;
    this._decoder = new StringDecoder("utf8");
    this._questionCallback = null;
    this._onData = (chunk) => this._write(typeof chunk === "string" ? chunk : this._decoder.write(chunk));
    this._onEnd = () => {
      const rest = this._buffer + this._decoder.end();
      this._buffer = "";
      if (rest.length > 0) this._line(rest);
      this.close();
    };
    if (this.input && typeof this.input.on === "function") {
      this.input.on("data", this._onData);
      this.input.on("end", this._onEnd);
      if (typeof this.input.resume === "function") this.input.resume();
    }
  }

  _line(line) {
    if (this._questionCallback) {
      const cb = this._questionCallback;
      this._questionCallback = null;
      cb(line);
    } else {
      this.emit("line", line);
    }
  }

  _write(text) {
    if (this.closed) return;
    let s = this._buffer + text;
    if (this._sawReturn && s.startsWith("\n")) s = s.slice(1);
    this._sawReturn = false;
    const re = /\r\n|\n|\r/g;
    let last = 0;
    let m;
    while ((m = re.exec(s)) !== null) {
      if (m[0] === "\r" && m.index === s.length - 1) this._sawReturn = true;
      this._line(s.slice(last, m.index));
      last = m.index + m[0].length;
      if (this.closed) return;
    }
    this._buffer = s.slice(last);
  }

  setPrompt(prompt) {
    this._prompt = prompt;
  }
  getPrompt() {
    return this._prompt;
  }
  prompt() {
    if (this.output && typeof this.output.write === "function") this.output.write(this._prompt);
  }
  question(query, options, cb) {
    if (typeof options === "function") cb = options;
    if (this.closed) {
      const err = new Error("readline was closed");
      err.code = "ERR_USE_AFTER_CLOSE";
      throw err;
    }
    if (this.output && typeof this.output.write === "function") this.output.write(query);
    this._questionCallback = cb;
  }
  write(data) {
    if (typeof data === "string") this._write(data);
  }
  pause() {
    if (this._paused) return this;
    this._paused = true;
    if (this.input && typeof this.input.pause === "function") this.input.pause();
    this.emit("pause");
    return this;
  }
  resume() {
    if (!this._paused) return this;
    this._paused = false;
    if (this.input && typeof this.input.resume === "function") this.input.resume();
    this.emit("resume");
    return this;
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.input && typeof this.input.removeListener === "function") {
      this.input.removeListener("data", this._onData);
      this.input.removeListener("end", this._onEnd);
    }
    this.emit("close");
  }
  getCursorPos() {
    return { rows: 0, cols: this.line.length };
  }
  [Symbol.asyncIterator]() {
    const lines = [];
    const waiting = [];
    let done = this.closed;
    this.on("line", (line) => {
      const w = waiting.shift();
      if (w) w({ value: line, done: false });
      else lines.push(line);
    });
    this.on("close", () => {
      done = true;
      for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    });
    const self = this;
    return {
      next() {
        if (lines.length > 0) return Promise.resolve({ value: lines.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return() {
        self.close();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

export function createInterface(input, output, completer, terminal) {
  return new Interface(input, output, completer, terminal);
}
export function clearLine(stream, dir, cb) {
  if (typeof cb === "function") queueMicrotask(cb);
  return true;
}
export function clearScreenDown(stream, cb) {
  if (typeof cb === "function") queueMicrotask(cb);
  return true;
}
export function cursorTo(stream, x, y, cb) {
  if (typeof y === "function") cb = y;
  if (typeof cb === "function") queueMicrotask(cb);
  return true;
}
export function moveCursor(stream, dx, dy, cb) {
  if (typeof cb === "function") queueMicrotask(cb);
  return true;
}
export function emitKeypressEvents() {}

export default { Interface, createInterface, clearLine, clearScreenDown, cursorTo, moveCursor, emitKeypressEvents };
