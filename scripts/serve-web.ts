/**
 * Serves examples/web/ (after `npm run build`) on 127.0.0.1, read-only, for the demo and its
 * end-to-end test.
 *
 *   npm run web            (then open the printed address)
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".json": "application/json",
  ".keras": "application/octet-stream",
  ".h5": "application/octet-stream",
};

export const WEB_ROOT = fileURLToPath(new URL("../examples/web/", import.meta.url));

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 (`port` 0 = any free port); only GET/HEAD of files under root. */
export function serveDirectory(root: string, port = 0): Promise<WebServer> {
  const server = createServer((request, response) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    const inside = file.startsWith(root.endsWith(sep) ? root : root + sep);
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405).end();
    } else if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    } else {
      response.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      if (request.method === "HEAD") response.end();
      else createReadStream(file).pipe(response);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${bound}/`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync(join(WEB_ROOT, "build/demo.js"))) {
    console.error("examples/web/build/ is missing: run `npm run build` first");
    process.exit(1);
  }
  const { url } = await serveDirectory(WEB_ROOT, Number(process.argv[2] ?? 8080));
  console.log(`kerasless web demo: ${url}  (Ctrl-C stops)`);
}
