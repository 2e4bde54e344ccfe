/**
 * Stream sessions over WebSocket (the `ws` library). `/sessions/ws?model=NAME&batch=N` opens a
 * session that lives as long as the socket; `/sessions/{id}/ws` attaches to one made over HTTP.
 * Messages are JSON: {"op": "step", "inputs": ...}, {"op": "get_state"}, {"op": "set_state",
 * "state": ...}, {"op": "reset"}; each reply echoes "op" and "seq", errors are {"error", "status"}.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { HttpError } from "./http-error.js";
import type { Logger } from "./log.js";
import type { Sessions } from "./sessions.js";

export interface WebSocketOptions {
  authorized(req: IncomingMessage): boolean;
  maxPayload: number;
  log: Logger;
}

const ATTACH = /^\/sessions\/([0-9a-f-]{36})\/ws$/;

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Error"}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function attachWebSockets(http: Server, sessions: Sessions, options: WebSocketOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (!options.authorized(req)) return refuse(socket, 401, "missing or wrong bearer token");
      let id: string;
      let owned = false;
      try {
        const attach = ATTACH.exec(url.pathname);
        if (attach !== null) id = sessions.get(attach[1]).id;
        else if (url.pathname === "/sessions/ws") {
          const batch = url.searchParams.get("batch");
          id = (
            await sessions.create(
              url.searchParams.get("model") ?? undefined,
              batch === null ? undefined : Number(batch),
            )
          ).id;
          owned = true;
        } else return refuse(socket, 404, `no WebSocket endpoint ${url.pathname}`);
      } catch (e) {
        return refuse(socket, e instanceof HttpError ? e.status : 500, (e as Error).message);
      }
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, id, owned));
    })();
  });

  function serve(ws: WebSocket, id: string, owned: boolean): void {
    ws.send(JSON.stringify({ op: "open", id }));
    // Messages are answered in order: a step waits for the one before it.
    let chain = Promise.resolve();
    ws.on("message", (data) => {
      chain = chain.then(async () => {
        let seq: unknown;
        let op: unknown;
        try {
          const message = JSON.parse(String(data)) as Record<string, unknown>;
          if (typeof message !== "object" || message === null) throw new HttpError(400, "a message is a JSON object");
          ({ seq, op } = message);
          let reply: Record<string, unknown>;
          if (op === "step") reply = { outputs: await sessions.step(id, message.inputs) };
          else if (op === "get_state") reply = { state: await sessions.exportState(id) };
          else if (op === "set_state") {
            await sessions.importState(id, message.state);
            reply = {};
          } else if (op === "reset") {
            await sessions.reset(id);
            reply = {};
          } else throw new HttpError(400, `unknown op ${JSON.stringify(op)} (step, get_state, set_state, reset)`);
          ws.send(JSON.stringify({ op, ...(seq === undefined ? {} : { seq }), ...reply }));
        } catch (e) {
          const status = e instanceof HttpError ? e.status : e instanceof SyntaxError ? 400 : 500;
          const message = e instanceof SyntaxError ? `the message is not JSON: ${e.message}` : (e as Error).message;
          ws.send(JSON.stringify({ op, ...(seq === undefined ? {} : { seq }), error: message, status }));
        }
      });
    });
    ws.on("close", () => {
      if (owned) void sessions.delete(id).catch(() => undefined);
    });
    ws.on("error", (e) => options.log("warn", "websocket error", { session: id, error: e.message }));
  }

  return {
    close(): void {
      for (const ws of wss.clients) ws.close(1001, "server shutting down");
      wss.close();
    },
  };
}
