// node:diagnostics_channel: named channels that publishers post messages
// to and subscribers receive synchronously, and Node's TracingChannel
// (start/end/asyncStart/asyncEnd/error channels around a call). Channels
// are kept by name for the life of the process (Node keeps them weakly;
// snapjs has no WeakRef-based cache, so a channel object is reused).

import { describe, invalidArg } from "snapjs:internal/errors";
const channels = new Map();



function checkName(name) {
  if (typeof name !== "string" && typeof name !== "symbol") {
    throw invalidArg("channel", "one of type string or symbol", name);
  }
}

function checkFunction(fn, name) {
  if (typeof fn !== "function") throw invalidArg(name, "of type function", fn);
}

export class Channel {
  constructor(name) {
    this._subscribers = [];
    this._stores = new Map();
    this.name = name;
  }
  get hasSubscribers() {
    return this._subscribers.length > 0 || this._stores.size > 0;
  }
  subscribe(subscription) {
    checkFunction(subscription, "subscription");
    this._subscribers = [...this._subscribers, subscription];
  }
  unsubscribe(subscription) {
    const index = this._subscribers.indexOf(subscription);
    if (index === -1) return false;
    const next = this._subscribers.slice();
    next.splice(index, 1);
    this._subscribers = next;
    return true;
  }
  bindStore(store, transform) {
    this._stores.set(store, transform);
  }
  unbindStore(store) {
    return this._stores.delete(store);
  }
  publish(data) {
    for (const fn of this._subscribers) {
      try {
        fn(data, this.name);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
  runStores(data, fn, thisArg, ...args) {
    let run = () => {
      this.publish(data);
      return Reflect.apply(fn, thisArg, args);
    };
    for (const [store, transform] of this._stores) {
      const inner = run;
      let value = data;
      if (typeof transform === "function") value = transform(data);
      run = () => store.run(value, inner);
    }
    return run();
  }
}

export function channel(name) {
  checkName(name);
  let ch = channels.get(name);
  if (!ch) {
    ch = new Channel(name);
    channels.set(name, ch);
  }
  return ch;
}

export function hasSubscribers(name) {
  checkName(name);
  const ch = channels.get(name);
  return ch ? ch.hasSubscribers : false;
}

export function subscribe(name, subscription) {
  channel(name).subscribe(subscription);
}

export function unsubscribe(name, subscription) {
  checkName(name);
  const ch = channels.get(name);
  return ch ? ch.unsubscribe(subscription) : false;
}

const EVENTS = ["start", "end", "asyncStart", "asyncEnd", "error"];

export class TracingChannel {
  constructor(nameOrChannels) {
    if (typeof nameOrChannels === "string") {
      for (const event of EVENTS) {
        this[event] = channel(`tracing:${nameOrChannels}:${event}`);
      }
    } else if (nameOrChannels !== null && typeof nameOrChannels === "object") {
      for (const event of EVENTS) {
        const ch = nameOrChannels[event];
        if (!(ch instanceof Channel)) throw invalidArg(`nameOrChannels.${event}`, "an instance of Channel", ch);
        this[event] = ch;
      }
    } else {
      throw invalidArg("nameOrChannels", "of type string or an instance of TracingChannel or Object", nameOrChannels);
    }
  }
  get hasSubscribers() {
    return EVENTS.some((event) => this[event].hasSubscribers);
  }
  subscribe(handlers) {
    for (const event of EVENTS) {
      if (handlers[event]) this[event].subscribe(handlers[event]);
    }
  }
  unsubscribe(handlers) {
    let done = true;
    for (const event of EVENTS) {
      if (handlers[event] && !this[event].unsubscribe(handlers[event])) done = false;
    }
    return done;
  }
  traceSync(fn, context = {}, thisArg, ...args) {
    checkFunction(fn, "fn");
    if (!this.hasSubscribers) return Reflect.apply(fn, thisArg, args);
    const { start, end, error } = this;
    return start.runStores(context, () => {
      try {
        const result = Reflect.apply(fn, thisArg, args);
        context.result = result;
        return result;
      } catch (err) {
        context.error = err;
        error.publish(context);
        throw err;
      } finally {
        end.publish(context);
      }
    });
  }
  tracePromise(fn, context = {}, thisArg, ...args) {
    checkFunction(fn, "fn");
    if (!this.hasSubscribers) return Reflect.apply(fn, thisArg, args);
    const { start, end, asyncStart, asyncEnd, error } = this;
    const reject = (err) => {
      context.error = err;
      error.publish(context);
      asyncStart.publish(context);
      asyncEnd.publish(context);
      return Promise.reject(err);
    };
    const resolve = (result) => {
      context.result = result;
      asyncStart.publish(context);
      asyncEnd.publish(context);
      return result;
    };
    return start.runStores(context, () => {
      try {
        let promise = Reflect.apply(fn, thisArg, args);
        if (!(promise instanceof Promise)) promise = Promise.resolve(promise);
        return promise.then(resolve, reject);
      } catch (err) {
        context.error = err;
        error.publish(context);
        throw err;
      } finally {
        end.publish(context);
      }
    });
  }
  traceCallback(fn, position = -1, context = {}, thisArg, ...args) {
    checkFunction(fn, "fn");
    if (!this.hasSubscribers) return Reflect.apply(fn, thisArg, args);
    const { start, end, asyncStart, asyncEnd, error } = this;
    const index = position < 0 ? args.length + position : position;
    const callback = args[index];
    checkFunction(callback, "callback");
    args[index] = function wrappedCallback(err, res) {
      if (err) {
        context.error = err;
        error.publish(context);
      } else {
        context.result = res;
      }
      return asyncStart.runStores(context, () => {
        try {
          return Reflect.apply(callback, this, arguments);
        } finally {
          asyncEnd.publish(context);
        }
      });
    };
    return start.runStores(context, () => {
      try {
        return Reflect.apply(fn, thisArg, args);
      } catch (err) {
        context.error = err;
        error.publish(context);
        throw err;
      } finally {
        end.publish(context);
      }
    });
  }
}

export function tracingChannel(nameOrChannels) {
  return new TracingChannel(nameOrChannels);
}

const diagnosticsChannel = {
  channel,
  hasSubscribers,
  subscribe,
  unsubscribe,
  tracingChannel,
  Channel,
};
export default diagnosticsChannel;
