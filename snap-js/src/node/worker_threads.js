// node:worker_threads: the main thread's view, which is all a snapjs
// function has (one JS thread, nothing running at the snapshot point).
// Packages that read isMainThread/parentPort/workerData at load work;
// starting a Worker throws ERR_NOT_SUPPORTED naming snapjs.
import { EventEmitter } from "events";

function notSupported(what) {
  const err = new Error(`${what} is not supported by snapjs: a function runs on one JS thread`);
  err.code = "ERR_NOT_SUPPORTED";
  return err;
}

export const isMainThread = true;
export const parentPort = null;
export const workerData = null;
export const threadId = 0;
export const resourceLimits = {};
export const SHARE_ENV = Symbol.for("nodejs.worker_threads.SHARE_ENV");

const environmentData = new Map();
export function getEnvironmentData(key) {
  return environmentData.get(key);
}
export function setEnvironmentData(key, value) {
  if (value === undefined) environmentData.delete(key);
  else environmentData.set(key, value);
}

export function markAsUntransferable() {}
export function isMarkedAsUntransferable() {
  return false;
}
export function moveMessagePortToContext() {
  throw notSupported("worker_threads.moveMessagePortToContext");
}
export function receiveMessageOnPort() {
  return undefined;
}

export class Worker extends EventEmitter {
  constructor() {
    super();
    throw notSupported("worker_threads.Worker");
  }
}

export const MessageChannel = globalThis.MessageChannel;
export const MessagePort = globalThis.MessagePort;
export const BroadcastChannel = globalThis.BroadcastChannel;

const workerThreads = {
  isMainThread,
  parentPort,
  workerData,
  threadId,
  resourceLimits,
  SHARE_ENV,
  getEnvironmentData,
  setEnvironmentData,
  markAsUntransferable,
  isMarkedAsUntransferable,
  moveMessagePortToContext,
  receiveMessageOnPort,
  Worker,
  MessageChannel,
  MessagePort,
  BroadcastChannel,
};
export default workerThreads;
