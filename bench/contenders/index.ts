/** The JavaScript contenders, by id. Each is imported only in its own worker process. */
import type { Contender } from "./contender.js";
import { KERASLESS_CONTENDERS } from "./kerasless.js";

export const JS_CONTENDERS: Record<string, () => Promise<Contender>> = {
  ...Object.fromEntries(
    KERASLESS_CONTENDERS.map((p) => [p.id, async () => (await import("./kerasless.js")).kerasless(p.id)]),
  ),
  "onnxruntime-node": async () => (await import("./onnxruntime.js")).onnxruntime("node", false),
  "onnxruntime-node-stateful": async () => (await import("./onnxruntime.js")).onnxruntime("node", true),
  "onnxruntime-web": async () => (await import("./onnxruntime.js")).onnxruntime("web", false),
  "onnxruntime-web-stateful": async () => (await import("./onnxruntime.js")).onnxruntime("web", true),
  "tfjs-wasm": async () => (await import("./tfjs.js")).tfjs("wasm"),
  "tfjs-cpu": async () => (await import("./tfjs.js")).tfjs("cpu"),
};
