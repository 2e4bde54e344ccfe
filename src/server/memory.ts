/**
 * Memory in use by this thread after a full garbage collection: the JavaScript heap and the array
 * buffers (Node's Buffers included). The fault tests compare it before and after each fault.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | undefined;

/** A full garbage collection of this thread's heap, whether or not Node was started with --expose-gc. */
export function collectGarbage(): void {
  if (collect === undefined) {
    // The flag makes contexts created from now on get gc(); it collects the whole heap of the thread.
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}

export function memoryInUse(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
