/**
 * ONNX Runtime: native (onnxruntime-node) and WebAssembly (onnxruntime-web, in Node), on the ONNX
 * graphs bench/python/make_models.py built from the same Keras weights. The "-stateful" variants
 * run W5 only, on a graph of one time step that takes (h, c) as inputs and returns them.
 */
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { STREAMING_ONLY, formatMs } from "../lib/report.js";
import { QUICK, measure } from "../lib/timing.js";
import { packageVersion } from "../lib/versions.js";
import { benchPath, type Workload } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner, type Skip } from "./contender.js";

type Ort = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;
type OrtTensor = InstanceType<Ort["Tensor"]>;

const threads = availableParallelism();

async function loadOrt(flavor: "node" | "web"): Promise<Ort> {
  if (flavor === "node") return (await import("onnxruntime-node")) as Ort;
  const ort = (await import("onnxruntime-web")) as unknown as Ort;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  return ort;
}

export async function onnxruntime(flavor: "node" | "web", stateful: boolean): Promise<Contender> {
  const ort = await loadOrt(flavor);
  const options =
    flavor === "node"
      ? {
          executionProviders: ["cpu"],
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: "all" as const,
        }
      : { executionProviders: ["wasm"], graphOptimizationLevel: "all" as const };
  const sessions = new Map<string, Session>();
  const sessionFor = async (file: string): Promise<Session> => {
    let session = sessions.get(file);
    if (session === undefined) {
      session = await ort.InferenceSession.create(new Uint8Array(readFileSync(benchPath(file))), options);
      sessions.set(file, session);
    }
    return session;
  };
  const pkg = `onnxruntime-${flavor}`;

  return {
    describe: () => ({
      version: packageVersion(pkg),
      threads: flavor === "node" ? threads : ort.env.wasm.numThreads,
      config:
        flavor === "node"
          ? `CPU execution provider, intraOpNumThreads=${threads}, interOpNumThreads=1, graph optimization "all"`
          : `WASM backend (SIMD, env.wasm.numThreads=${ort.env.wasm.numThreads}), graph optimization "all"`,
      graphs: stateful
        ? "one LSTM step, (h, c) in and out: the faster of a MatMul/Sigmoid/Tanh cell and the LSTM operator over 1 step"
        : "LSTM/GRU operators; W8 (ONNX has no ConvLSTM): tf2onnx's graph of the tf.keras model, " +
          "a Loop of Conv operators",
    }),

    async prepare(w): Promise<Runner | Skip> {
      const shape = w.tensorShape;
      if (stateful) {
        if (w.kind !== "stream" || w.model.onnxStep === undefined) return { skipped: STREAMING_ONLY };
        // A careful user would pick the faster form of the step graph: time each briefly, keep the best.
        const tried: { form: string; runner: Runner; ms: number }[] = [];
        for (const [form, file] of Object.entries(w.model.onnxStep)) {
          const runner = statefulRunner(ort, await sessionFor(file), w);
          tried.push({ form, runner, ms: (await measure(runner.run, { ...QUICK, budgetMs: 300 })).median_ms });
        }
        tried.sort((a, b) => a.ms - b.ms);
        const formName = (form: string) =>
          form === "cell" ? "MatMul/Sigmoid/Tanh cell" : form === "lstm-op" ? "LSTM operator, sequence of 1" : form;
        return {
          ...tried[0].runner,
          note:
            `step graph: ${formName(tried[0].form)} (chosen by a quick timing: ` +
            `${tried.map((t) => `${formName(t.form)} ${formatMs(t.ms)}`).join(", ")})`,
        };
      }
      if (w.kind === "coldload") {
        const bytes = new Uint8Array(readFileSync(benchPath(w.model.onnx)));
        const coldPredict = async () => {
          const session = await ort.InferenceSession.create(bytes, options);
          const { y } = await session.run({ x: new ort.Tensor("float32", w.input, shape) });
          await session.release();
          return y.data as Float32Array;
        };
        return { check: coldPredict, run: coldPredict };
      }
      const session = await sessionFor(w.model.onnx);
      const predict = async () =>
        (await session.run({ x: new ort.Tensor("float32", w.input, shape) })).y.data as Float32Array;
      return { ...(w.kind === "stream" ? { mode: "window" as const } : {}), check: predict, run: predict };
    },
  };
}

function statefulRunner(ort: Ort, session: Session, w: Workload): Runner {
  const [batch, steps, features] = w.inputShape;
  const units = w.model.recurrent[0].units;
  const xs = Array.from({ length: steps }, (_, t) => stepSlice(w, t));
  const zeros = () => new ort.Tensor("float32", new Float32Array(batch * units), [batch, units]);
  let h: OrtTensor = zeros();
  let c: OrtTensor = zeros();
  let t = 0;
  return {
    mode: "stream",
    check: async () => {
      let state: { h: OrtTensor; c: OrtTensor } = { h: zeros(), c: zeros() };
      let y: OrtTensor | undefined;
      for (const x of xs) {
        const out = await session.run({ x: new ort.Tensor("float32", x, [batch, features]), h: state.h, c: state.c });
        state = { h: out.h_out, c: out.c_out };
        y = out.y;
      }
      return y!.data as Float32Array;
    },
    // The returned state tensors go straight back in: no copies between steps.
    run: async () => {
      const out = await session.run({ x: new ort.Tensor("float32", xs[t], [batch, features]), h, c });
      h = out.h_out;
      c = out.c_out;
      t = t + 1 === steps ? 0 : t + 1;
    },
  };
}
