// Runs the browser bundle inside a plain V8 context (node:vm): ECMAScript built-ins plus
// TextDecoder, and nothing else — no require, no process, no Buffer, no fetch, no Blob.
// Needs --experimental-vm-modules (for vm.SourceTextModule). Started by bundle.test.ts.
//
// stdin:  {"code": "<bundle source>",
//          "cases": [{"id", "model": base64, "weights"?: base64, "name", "inputs": [...]}]}
// stdout: {"globals": {...},
//          "results": [{"id", "outputs": [{"shape", "data"}]}
//                      | {"id", "error": {"name", "keraslessError", "code", "message"}}]}
import vm from "node:vm";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { code, cases } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const context = vm.createContext({ TextDecoder });
const bundle = new vm.SourceTextModule(code, { context, identifier: "kerasless.min.js" });
await bundle.link(() => {
  throw new Error("the bundle imports another module");
});
await bundle.evaluate();

// Everything the model sees is made inside the context: its own Uint8Array, its own JSON.parse.
const run = vm.runInContext(
  `(async (loadModel, KeraslessError, byteLength, fill, name, weightsLength, fillWeights, inputsJson) => {
    const bytes = new Uint8Array(byteLength); fill(bytes);
    const weights = weightsLength < 0 ? undefined : new Uint8Array(weightsLength);
    if (weights) fillWeights(weights);
    try {
      const model = await loadModel(bytes, { name, weights });
      // Non-finite values travel as the strings "NaN", "Infinity", "-Infinity" both ways.
      const nonFinite = (_, v) => (v === "NaN" || v === "Infinity" || v === "-Infinity" ? Number(v) : v);
      const outputs = model.predict(JSON.parse(inputsJson, nonFinite));
      const text = (v) => (Number.isFinite(v) ? v : String(v));
      return JSON.stringify({ outputs: outputs.map((t) => ({ shape: t.shape, data: Array.from(t.data, text) })) });
    } catch (e) {
      const { name, code, message } = e;
      return JSON.stringify({ error: { name, keraslessError: e instanceof KeraslessError, code, message } });
    }
  })`,
  context,
);

const copier = (base64) => {
  const source = Buffer.from(base64, "base64");
  return [
    source.length,
    (target) => {
      for (let i = 0; i < source.length; i++) target[i] = source[i];
    },
  ];
};

const results = [];
for (const c of cases) {
  const [length, fill] = copier(c.model);
  const [weightsLength, fillWeights] = c.weights === undefined ? [-1, () => {}] : copier(c.weights);
  const inputs = JSON.stringify(c.inputs.map((t) => ({ shape: t.shape, data: t.data })));
  results.push({
    id: c.id,
    ...JSON.parse(
      await run(
        bundle.namespace.loadModel,
        bundle.namespace.KeraslessError,
        length,
        fill,
        c.name,
        weightsLength,
        fillWeights,
        inputs,
      ),
    ),
  });
}
const globals = vm.runInContext(
  `({ process: typeof process, require: typeof require, Buffer: typeof Buffer,
      fetch: typeof fetch, Blob: typeof Blob, TextDecoder: typeof TextDecoder })`,
  context,
);
process.stdout.write(JSON.stringify({ globals, exports: Object.keys(bundle.namespace).sort(), results }));
