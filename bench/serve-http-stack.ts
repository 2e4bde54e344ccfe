/**
 * Which HTTP stack for `kerasless serve`: Node's own http against Fastify, measured on the shape of
 * a predict request (a JSON body of one LSTM(128) row parsed, a small JSON answer), with no model
 * behind it, so the difference is the stack's alone. Runs alternate between the two; medians.
 *
 *   node --import tsx bench/serve-http-stack.ts [--seconds 3] [--repeats 5]   (the decision: docs/decisions.md)
 */
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    repeats: { type: "string", default: "5" },
    connections: { type: "string", default: "64" },
    serve: { type: "string" },
  },
});

/** The child: one server of the given stack on a free port; prints the port. */
async function serve(stack: string): Promise<void> {
  const answer = (body: unknown): string =>
    JSON.stringify({ predictions: [[(body as { instances: number[][][] }).instances[0][0][0]]] });
  if (stack === "node") {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        // GET (bench/serve-load.ts' health probes) gets an empty object.
        const text = req.method === "POST" ? answer(JSON.parse(Buffer.concat(chunks).toString("utf8"))) : "{}";
        const json = Buffer.from(text);
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": json.length });
        res.end(json);
      });
    });
    server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
  } else {
    const { default: Fastify } = await import("fastify");
    const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
    app.post("/v1/models/m:predict", async (request, reply) => {
      reply.header("Content-Type", "application/json");
      return answer(request.body);
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
  }
}

async function measure(stack: string, body: string): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--serve", stack], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())));
  const url = `http://127.0.0.1:${port}/v1/models/m:predict`;
  const options = { url, method: "POST" as const, body, headers: { "content-type": "application/json" } };
  await autocannon({ ...options, connections: 16, duration: 1 }); // warm-up
  const result = await autocannon({
    ...options,
    connections: Number(args.connections),
    duration: Number(args.seconds),
  });
  child.kill();
  if (result.errors + result.non2xx > 0) throw new Error(`${stack}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return result.requests.average;
}

if (args.serve !== undefined) await serve(args.serve);
else {
  // One row of the LSTM(128) benchmark model: 50 steps x 16 features.
  const row = Array.from({ length: 50 }, (_, t) => Array.from({ length: 16 }, (_, f) => Math.sin(t * 16 + f)));
  const body = JSON.stringify({ instances: [row] });
  const results: Record<string, number[]> = { node: [], fastify: [] };
  for (let r = 0; r < Number(args.repeats); r++)
    for (const stack of r % 2 === 0 ? ["node", "fastify"] : ["fastify", "node"])
      results[stack].push(await measure(stack, body));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [stack, xs] of Object.entries(results))
    process.stdout.write(
      `${stack.padEnd(8)} median ${median(xs).toFixed(0)} req/s (runs: ${xs.map((x) => x.toFixed(0)).join(", ")})\n`,
    );
  process.stdout.write(`node:http / fastify = ${(median(results.node) / median(results.fastify)).toFixed(2)}\n`);
}
