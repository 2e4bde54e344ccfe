/**
 * The plan: which implementation each kernel of a layer runs on, decided once, at load time, in
 * one function per kind of kernel, with the reasons in words (`kerasless inspect --kernels`,
 * Model.kernelPlans()). The hot path then only follows it: nothing below re-checks activations,
 * cells or thread counts. Only what depends on the call is left to run time, and the plan says so
 * (masked or not; whether a batch is large enough for the threads).
 */
import type { Activation } from "./activations.js";
import { getActivation } from "./activations.js";
import { kernelPath, kernelTeam, wasmFeatures, type KernelPath, type KernelTeam, type WasmFeatures } from "./wasm.js";

/** What any layer's kernels run on, readable: the backend's short name and why it was chosen. */
export interface KernelPlan {
  readonly backend: string;
  readonly why: readonly string[];
}

/** A product's or a convolution's choice as a plan (null before the weights are loaded). */
export function choicePlan(choice: { readonly backend: string; readonly reason: string } | null): KernelPlan | null {
  return choice === null ? null : { backend: choice.backend, why: [choice.reason] };
}

/** The gate activations the WebAssembly gate passes compute. */
export type GateActivation = "sigmoid" | "hard_sigmoid_keras2" | "hard_sigmoid_keras3";

/** What the runtime offers to the models loaded now. */
export interface KernelEnvironment {
  readonly path: KernelPath;
  readonly team: KernelTeam | null;
  /** The WebAssembly build (relaxed SIMD's fused multiply-add, or SIMD128); null on the js path. */
  readonly features?: WasmFeatures | null;
}

export function currentEnvironment(): KernelEnvironment {
  const path = kernelPath();
  return { path, team: kernelTeam(), features: path === "wasm" ? wasmFeatures() : null };
}

/** "wasm-simd" or "wasm-relaxed-simd" (the build with fused multiply-add). */
function wasmName(env: KernelEnvironment): string {
  return env.features === "relaxed-simd" ? "wasm-relaxed-simd" : "wasm-simd";
}

/** A recurrent layer's cell as the plan needs to know it. */
export interface RecurrentSpec {
  readonly cell: "lstm" | "gru" | "simple_rnn";
  readonly units: number;
  readonly activation: Activation;
  /** The gates' activation (null for SimpleRNN). */
  readonly recurrentActivation: Activation | null;
  /** GRU only. */
  readonly resetAfter: boolean;
}

export interface RecurrentPlan extends KernelPlan {
  readonly path: KernelPath;
  /** The TypeScript step computes tanh and sigmoid gates inline (else through the activations). */
  readonly writtenOutGates: boolean;
  /** The whole step runs in WebAssembly with these gates; null: the TypeScript cell steps. */
  readonly fusedGates: GateActivation | null;
  /** Unit blocks a fused sequence is split into, one per thread of `team` (1: not split). */
  readonly parts: number;
  readonly team: KernelTeam | null;
}

/**
 * Per-step work (batch · units · projection width multiply-adds) below which a split sequence
 * runs all its blocks on the calling thread: the threads' barrier would cost more than they save.
 */
export const MIN_SPLIT_WORK = 16384;

/**
 * Multiply-adds of a convolution or matrix product call (rows · taps · channels · filters) below
 * which the kernel team leaves it to the calling thread: waking the helpers and meeting them at the
 * barrier would cost more than they save (bench/conv-threads.ts, docs/decisions.md).
 */
export const MIN_TEAM_WORK = 1 << 20;
let teamWork = MIN_TEAM_WORK;

/** The threshold calls are split from (MIN_TEAM_WORK unless a test set another). */
export function minTeamWork(): number {
  return teamWork;
}

/** @internal Calls of at least `work` multiply-adds are split from now on (0: every call; null: MIN_TEAM_WORK). */
export function setMinTeamWork(work: number | null): void {
  teamWork = work ?? MIN_TEAM_WORK;
}

/** A product split by rows between the team's threads (conv/team.ts), in the plan's words. */
export function threaded(what: string, threads: number): string {
  return `${what}; rows split in ${threads} parts from ${MIN_TEAM_WORK} multiply-adds a call`;
}

/** The WebAssembly gate pass for this gate activation (hard_sigmoid differs by Keras version), or null. */
function gateActivation(a: Activation): GateActivation | null {
  if (a.name === "sigmoid") return "sigmoid";
  if (a === getActivation("hard_sigmoid", 2)) return "hard_sigmoid_keras2";
  if (a === getActivation("hard_sigmoid", 3)) return "hard_sigmoid_keras3";
  return null;
}

/** Why the whole step cannot run in WebAssembly, or null when it can. */
function whyNotFused(spec: RecurrentSpec): string | null {
  if (spec.cell === "simple_rnn") return "SimpleRNN has no fused WebAssembly step";
  if (spec.cell === "gru" && !spec.resetAfter) return "GRU reset_after=False has no fused WebAssembly step";
  if (spec.activation.name !== "tanh") return `activation ${spec.activation.name}: the fused steps compute tanh`;
  if (gateActivation(spec.recurrentActivation!) === null)
    return `recurrent_activation ${spec.recurrentActivation!.name}: the fused gates compute sigmoid and hard_sigmoid`;
  return null;
}

/** How a recurrent layer's cell runs: every choice between its implementations is made here. */
export function planRecurrent(spec: RecurrentSpec, env: KernelEnvironment = currentEnvironment()): RecurrentPlan {
  const writtenOutGates =
    spec.cell !== "simple_rnn" && spec.activation.name === "tanh" && spec.recurrentActivation?.name === "sigmoid";
  const tsGates = writtenOutGates
    ? "TypeScript gates written out (tanh, sigmoid)"
    : "TypeScript gates through the activation functions";
  // Unsplit unless said otherwise: one thread.
  const plan = (path: KernelPath, fusedGates: GateActivation | null, backend: string, why: string[]) =>
    ({ path, writtenOutGates, fusedGates, parts: 1, team: null, backend, why }) satisfies RecurrentPlan;
  if (env.path === "js")
    return plan("js", null, "typescript", ["kernel path js (setKernelPath, or no WebAssembly SIMD here)", tsGates]);
  const notFused = whyNotFused(spec);
  if (notFused !== null) return plan("wasm", null, `${wasmName(env)} projection, typescript step`, [notFused, tsGates]);
  const fusedGates = gateActivation(spec.recurrentActivation!)!;
  const fused = "the whole step in WebAssembly SIMD (unmasked: one call per sequence; masked: one per step)";
  const team = env.team;
  const name = `${wasmName(env)} fused`;
  if (team === null) return plan("wasm", fusedGates, name, [fused]);
  const { units } = spec;
  const size = team.size;
  // Each part needs a few vectors of units.
  const notSplit =
    units % size !== 0
      ? `units ${units} do not divide among ${size} threads`
      : units / size < 4
        ? `units ${units} give fewer than 4 per thread of ${size}`
        : null;
  if (notSplit !== null) return plan("wasm", fusedGates, name, [fused, `one thread: ${notSplit}`]);
  return {
    ...plan("wasm", fusedGates, `${name}, ${size} threads`, [
      fused,
      `units split in ${size} blocks of ${units / size}, one per thread, for calls of at least ` +
        `${MIN_SPLIT_WORK} multiply-adds per step (batch x units x ${spec.cell === "lstm" ? 4 : 3}·units); ` +
        "smaller calls run every block on the calling thread",
    ]),
    parts: size,
    team,
  };
}

/** One plan for a bidirectional pair: the forward one when both agree, else both, labelled. */
export function bidirectionalPlan(forward: KernelPlan, backward: KernelPlan): KernelPlan {
  if (forward.backend === backward.backend && forward.why.join() === backward.why.join()) return forward;
  return {
    backend: `forward: ${forward.backend}; backward: ${backward.backend}`,
    why: [...forward.why.map((w) => `forward: ${w}`), ...backward.why.map((w) => `backward: ${w}`)],
  };
}
