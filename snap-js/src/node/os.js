// node:os: LLRT's os with what it lacks read from /proc: hostname, cpus,
// totalmem, freemem, loadavg, uptime, networkInterfaces (empty: snapjs
// does not enumerate interfaces).
import llrt from "snapjs:llrt/os";
export * from "snapjs:llrt/os";
import { readFileSync } from "fs";

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};
const meminfo = (key) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(read("/proc/meminfo"));
  return m ? Number(m[1]) * 1024 : 0;
};

export function hostname() {
  return read("/proc/sys/kernel/hostname").trim() || "localhost";
}
export function cpus() {
  const out = [];
  for (const block of read("/proc/cpuinfo").split("\n\n")) {
    const model = /^model name\s*:\s*(.*)$/m.exec(block);
    const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(block);
    if (!/^processor\s*:/m.test(block)) continue;
    out.push({ model: model ? model[1] : "unknown", speed: mhz ? Math.floor(Number(mhz[1])) : 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } });
  }
  return out;
}
export const totalmem = () => meminfo("MemTotal");
export const freemem = () => meminfo("MemAvailable");
export function loadavg() {
  const parts = read("/proc/loadavg").split(" ");
  return parts.length >= 3 ? parts.slice(0, 3).map(Number) : [0, 0, 0];
}
export function uptime() {
  return Number(read("/proc/uptime").split(" ")[0]) || 0;
}
export function networkInterfaces() {
  return {};
}
export function machine() {
  return { x64: "x86_64", arm64: "aarch64" }[llrt.arch()] || llrt.arch();
}

Object.assign(llrt, { hostname, cpus, totalmem, freemem, loadavg, uptime, networkInterfaces, machine });
export default llrt;
