// Node's `stream/promises`: the promise forms of stream's pipeline and
// finished.
import { promises } from "stream";

export const pipeline = promises.pipeline;
export const finished = promises.finished;
export default promises;
