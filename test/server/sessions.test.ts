/** Stream sessions over HTTP and WebSocket: Keras' numbers at the last step; a state moves between servers. */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import type { RunningServer } from "../../src/server/server.js";
import { SEED, assertKeras, nested, request, serve } from "./helpers.js";

/** The seed fixture's 7 windows, time steps [from, to) of each: [7, to - from, 3]. */
const steps = (from: number, to: number): unknown =>
  (nested(SEED.inputs[0]) as number[][][]).map((window) => window.slice(from, to));

/** The last step of each row of a [batch, steps, 1] output. */
const lastStep = (out: number[][][]): number[][] => out.map((row) => row[row.length - 1]);

describe("serve /sessions (streams)", () => {
  let server: RunningServer;
  let other: RunningServer;
  before(async () => {
    server = await serve({ maxSessions: 3 });
    other = await serve();
  });
  after(() => Promise.all([server.close(), other.close()]));

  it("create, step 2 + 2 time steps: the last step is Keras' predict of the window; delete", async () => {
    const created = await request(server, "POST", "/sessions", { model: "seed", batch: 7 });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.inputs, [{ name: "input_layer", dtype: "float32", shape: [7, null, 3] }]);
    const id: string = created.body.id;
    const first = await request(server, "POST", `/sessions/${id}/step`, { inputs: steps(0, 2) });
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body.outputs), ["dense"]);
    assert.equal(first.body.outputs.dense[0].length, 2);
    const second = await request(server, "POST", `/sessions/${id}/step`, { inputs: { input_layer: steps(2, 4) } });
    assertKeras(lastStep(second.body.outputs.dense), SEED.outputs[0], "after 4 steps");
    assert.equal((await request(server, "GET", `/sessions/${id}`)).body.steps, 4);
    assert.deepEqual(await request(server, "DELETE", `/sessions/${id}`).then((r) => [r.status, r.body]), [200, {}]);
    const gone = await request(server, "POST", `/sessions/${id}/step`, { inputs: steps(0, 1) });
    assert.equal(gone.status, 404);
    assert.match(gone.body.error, /does not exist/);
  });

  it("state exported after 2 steps and imported on another server continues with identical outputs", async () => {
    const a = (await request(server, "POST", "/sessions", { model: "seed", batch: 7 })).body.id;
    await request(server, "POST", `/sessions/${a}/step`, { inputs: steps(0, 2) });
    const state = await request(server, "GET", `/sessions/${a}/state`);
    assert.equal(state.status, 200);
    assert.equal(state.body.format, "kerasless-stream-state/1");
    const moved = await request(other, "POST", "/sessions", { model: "seed", state: state.body });
    assert.equal(moved.status, 201);
    assert.equal(moved.body.batch, 7);
    const there = await request(other, "POST", `/sessions/${moved.body.id}/step`, { inputs: steps(2, 4) });
    assertKeras(lastStep(there.body.outputs.dense), SEED.outputs[0], "moved session");
    const here = await request(server, "POST", `/sessions/${a}/step`, { inputs: steps(2, 4) });
    assert.deepEqual(here.body.outputs, there.body.outputs);
    // PUT writes the state back: the same two steps again give the same outputs; reset starts over.
    assert.equal((await request(server, "PUT", `/sessions/${a}/state`, state.body)).status, 200);
    const again = await request(server, "POST", `/sessions/${a}/step`, { inputs: steps(2, 4) });
    assert.deepEqual(again.body.outputs, here.body.outputs);
    await request(server, "POST", `/sessions/${a}/reset`);
    const fresh = await request(server, "POST", `/sessions/${a}/step`, { inputs: steps(0, 4) });
    assertKeras(lastStep(fresh.body.outputs.dense), SEED.outputs[0], "after reset");
    await request(server, "DELETE", `/sessions/${a}`);
    await request(other, "DELETE", `/sessions/${moved.body.id}`);
  });

  it("errors: unknown session or model 404, wrong step shape or bad state 400, too many sessions 429", async () => {
    const unknown = await request(server, "GET", "/sessions/00000000-0000-0000-0000-000000000000");
    assert.deepEqual([unknown.status, Object.keys(unknown.body)], [404, ["error"]]);
    const noModel = await request(server, "POST", "/sessions", { model: "nope" });
    assert.deepEqual([noModel.status, noModel.body.error], [404, 'model "nope" is not served here']);
    const id = (await request(server, "POST", "/sessions", { model: "seed", batch: 2 })).body.id;
    const shape = await request(server, "POST", `/sessions/${id}/step`, { inputs: [[[1, 2]]] });
    assert.equal(shape.status, 400);
    assert.match(shape.body.error, /expects shape \[2, None, 3\]/);
    const state = await request(server, "PUT", `/sessions/${id}/state`, { format: "other" });
    assert.equal(state.status, 400);
    const ids = [id];
    for (let i = 0; i < 2; i++) ids.push((await request(server, "POST", "/sessions", { model: "seed" })).body.id);
    const full = await request(server, "POST", "/sessions", { model: "seed" });
    assert.equal(full.status, 429);
    assert.equal(full.headers.get("retry-after"), "1");
    assert.match(full.body.error, /too many live sessions \(3\)/);
    for (const s of ids) await request(server, "DELETE", `/sessions/${s}`);
  });

  it("an idle session expires", async () => {
    const quick = await serve({ sessionIdleMs: 100 });
    try {
      const id = (await request(quick, "POST", "/sessions", { model: "seed" })).body.id;
      assert.equal((await request(quick, "GET", `/sessions/${id}`)).status, 200);
      await sleep(400);
      assert.equal((await request(quick, "GET", `/sessions/${id}`)).status, 404);
      assert.equal(quick.sessions.count, 0);
    } finally {
      await quick.close();
    }
  });

  it("over WebSocket: a session per socket, steps in order, state out and in, errors as messages", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/sessions/ws?model=seed&batch=7`);
    const replies: Record<string, unknown>[] = [];
    let wake: (() => void) | undefined;
    ws.on("message", (data) => {
      replies.push(JSON.parse(String(data)));
      wake?.();
    });
    const next = async (): Promise<Record<string, unknown>> => {
      while (replies.length === 0) await new Promise<void>((r) => (wake = r));
      return replies.shift()!;
    };
    const open = await next();
    assert.equal(open.op, "open");
    assert.equal(server.sessions.count, 1);
    ws.send(JSON.stringify({ op: "step", seq: 1, inputs: steps(0, 2) }));
    ws.send(JSON.stringify({ op: "get_state", seq: 2 }));
    ws.send(JSON.stringify({ op: "step", seq: 3, inputs: steps(2, 4) }));
    ws.send("not json");
    ws.send(JSON.stringify({ op: "fly", seq: 5 }));
    const [one, two, three, bad, unknownOp] = [await next(), await next(), await next(), await next(), await next()];
    assert.deepEqual([one.seq, two.seq, three.seq], [1, 2, 3]);
    assertKeras(lastStep((three.outputs as { dense: number[][][] }).dense), SEED.outputs[0], "websocket");
    assert.equal((two.state as { batch: number }).batch, 7);
    assert.equal(bad.status, 400);
    assert.match(String(bad.error), /not JSON/);
    assert.deepEqual([unknownOp.seq, unknownOp.status], [5, 400]);
    // Back to the state after 2 steps: the same outputs again, also when attached from a second socket.
    ws.send(JSON.stringify({ op: "set_state", seq: 6, state: two.state }));
    assert.equal((await next()).error, undefined);
    const attached = new WebSocket(`${server.url.replace("http", "ws")}/sessions/${String(open.id)}/ws`);
    const attachedReplies: Record<string, unknown>[] = [];
    await new Promise<void>((resolve) =>
      attached.on("message", (data) => {
        attachedReplies.push(JSON.parse(String(data)));
        if (attachedReplies.length === 1) attached.send(JSON.stringify({ op: "step", inputs: steps(2, 4) }));
        else resolve();
      }),
    );
    assert.deepEqual(attachedReplies[1].outputs, three.outputs);
    attached.close();
    ws.close();
    await sleep(100);
    assert.equal(server.sessions.count, 0);
  });

  it("a WebSocket to an unknown session is refused with 404", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/sessions/00000000-0000-0000-0000-000000000000/ws`);
    const status = await new Promise<number>((resolve) =>
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode!)),
    );
    assert.equal(status, 404);
  });
});
