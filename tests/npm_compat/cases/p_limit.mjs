// p-limit 7 (ESM-only, node:async_hooks AsyncResource) from an ES module
// handler: at most two tasks at once, in order.
import pLimit from "p-limit";
import { setTimeout as sleep } from "node:timers/promises";

export const handler = async () => {
  const limit = pLimit(2);
  let active = 0;
  let maxActive = 0;
  const started = [];
  const task = (i) =>
    limit(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      started.push(i);
      await sleep(5 * (i % 3));
      active -= 1;
      return i * i;
    });
  const results = await Promise.all([0, 1, 2, 3, 4, 5].map(task));
  return { results, maxActive, started: started.length, activeAfter: limit.activeCount, pending: limit.pendingCount };
};
