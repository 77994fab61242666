// node:util/types: the type checks of Node's `util.types`, from each
// value's internal class as far as QuickJS shows it.

const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
const TypedArray = Object.getPrototypeOf(Uint8Array);
const typedTag = (v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get.call(v) : undefined);
const isObject = (v) => v !== null && (typeof v === "object" || typeof v === "function");
const boxed = (proto, v) => {
  if (!isObject(v)) return false;
  try {
    proto.valueOf.call(v);
    return true;
  } catch {
    return false;
  }
};
const brand = (method) => (v) => {
  if (!isObject(v)) return false;
  try {
    method.call(v);
    return true;
  } catch {
    return false;
  }
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;

export const isAnyArrayBuffer = (v) => isArrayBuffer(v) || isSharedArrayBuffer(v);
export const isArrayBuffer = (v) => isObject(v) && tag(v) === "ArrayBuffer";
export const isSharedArrayBuffer = (v) => isObject(v) && tag(v) === "SharedArrayBuffer";
export const isArrayBufferView = (v) => ArrayBuffer.isView(v);
export const isTypedArray = (v) => typedTag(v) !== undefined;
export const isDataView = (v) => v instanceof DataView;
export const isUint8Array = (v) => typedTag(v) === "Uint8Array";
export const isUint8ClampedArray = (v) => typedTag(v) === "Uint8ClampedArray";
export const isUint16Array = (v) => typedTag(v) === "Uint16Array";
export const isUint32Array = (v) => typedTag(v) === "Uint32Array";
export const isInt8Array = (v) => typedTag(v) === "Int8Array";
export const isInt16Array = (v) => typedTag(v) === "Int16Array";
export const isInt32Array = (v) => typedTag(v) === "Int32Array";
export const isFloat32Array = (v) => typedTag(v) === "Float32Array";
export const isFloat64Array = (v) => typedTag(v) === "Float64Array";
export const isBigInt64Array = (v) => typedTag(v) === "BigInt64Array";
export const isBigUint64Array = (v) => typedTag(v) === "BigUint64Array";
export const isAsyncFunction = (v) => v instanceof AsyncFunction || v instanceof AsyncGeneratorFunction;
export const isGeneratorFunction = (v) => v instanceof GeneratorFunction || v instanceof AsyncGeneratorFunction;
export const isGeneratorObject = (v) => isObject(v) && tag(v) === "Generator";
export const isDate = brand(Date.prototype.getTime);
export const isRegExp = (v) => {
  if (!isObject(v)) return false;
  try {
    Object.getOwnPropertyDescriptor(RegExp.prototype, "source").get.call(v);
    return v !== RegExp.prototype;
  } catch {
    return false;
  }
};
export const isMap = (v) => {
  if (!isObject(v)) return false;
  try {
    Map.prototype.has.call(v, undefined);
    return true;
  } catch {
    return false;
  }
};
export const isSet = (v) => {
  if (!isObject(v)) return false;
  try {
    Set.prototype.has.call(v, undefined);
    return true;
  } catch {
    return false;
  }
};
export const isWeakMap = (v) => {
  if (!isObject(v)) return false;
  try {
    WeakMap.prototype.has.call(v, {});
    return true;
  } catch {
    return false;
  }
};
export const isWeakSet = (v) => {
  if (!isObject(v)) return false;
  try {
    WeakSet.prototype.has.call(v, {});
    return true;
  } catch {
    return false;
  }
};
export const isMapIterator = (v) => isObject(v) && tag(v) === "Map Iterator";
export const isSetIterator = (v) => isObject(v) && tag(v) === "Set Iterator";
export const isPromise = (v) => isObject(v) && v instanceof Promise;
export const isProxy = () => false;
export const isNativeError = (v) => v instanceof Error;
export const isNumberObject = (v) => boxed(Number.prototype, v);
export const isStringObject = (v) => boxed(String.prototype, v);
export const isBooleanObject = (v) => boxed(Boolean.prototype, v);
export const isBigIntObject = (v) => typeof BigInt === "function" && boxed(BigInt.prototype, v);
export const isSymbolObject = (v) => boxed(Symbol.prototype, v);
export const isBoxedPrimitive = (v) =>
  isNumberObject(v) || isStringObject(v) || isBooleanObject(v) || isBigIntObject(v) || isSymbolObject(v);
export const isArgumentsObject = (v) => isObject(v) && tag(v) === "Arguments";
export const isModuleNamespaceObject = (v) => isObject(v) && tag(v) === "Module";
export const isExternal = () => false;
export const isKeyObject = (v) => isObject(v) && v.constructor && v.constructor.name === "KeyObject";
export const isCryptoKey = (v) => typeof CryptoKey === "function" && v instanceof CryptoKey;

const types = {
  isAnyArrayBuffer, isArrayBuffer, isSharedArrayBuffer, isArrayBufferView, isTypedArray, isDataView,
  isUint8Array, isUint8ClampedArray, isUint16Array, isUint32Array, isInt8Array, isInt16Array, isInt32Array,
  isFloat32Array, isFloat64Array, isBigInt64Array, isBigUint64Array, isAsyncFunction, isGeneratorFunction,
  isGeneratorObject, isDate, isRegExp, isMap, isSet, isWeakMap, isWeakSet, isMapIterator, isSetIterator,
  isPromise, isProxy, isNativeError, isNumberObject, isStringObject, isBooleanObject, isBigIntObject,
  isSymbolObject, isBoxedPrimitive, isArgumentsObject, isModuleNamespaceObject, isExternal, isKeyObject,
  isCryptoKey,
};
export default types;
