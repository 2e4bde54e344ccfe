/**
 * The matrix product layers use: C = epilogue(A · B + bias), with B (the weights) fixed at load.
 *
 * planProduct() chooses the backend once, when a layer's weights are loaded, in one function
 * (chooseGemmBackend) whose answer the layer keeps and summaries can show. Every backend
 * (./typescript.ts, ./wasm.ts) is tested against ./reference.ts.
 */
import type { Activation } from "../activations.js";
import { threaded } from "../plan.js";
import { kernelModule, kernelPath, kernelTeam, type TeamProduct } from "../wasm.js";
import { gemm } from "./typescript.js";
import { WasmProduct } from "./wasm.js";

export { gemm } from "./typescript.js";
export { gemmReference } from "./reference.js";

export type GemmBackend = "typescript" | "wasm" | "wasm-threads";

export interface BackendChoice {
  readonly backend: GemmBackend;
  /** Why this backend, in a few words (for summaries and inspect). */
  readonly reason: string;
}

/** A product with fixed weights [inner, cols], bias [cols] (or null) and epilogue (or null). */
export interface MatrixProduct extends BackendChoice {
  readonly inner: number;
  readonly cols: number;
  /**
   * c[cOffset + m*cols + n] = epilogue(bias[n] + Σ_k a[aOffset + m*inner + k] · weights[k, n]) for
   * m < rows. Allocates nothing once it has run on as many rows.
   */
  run(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void;
  /**
   * Present when the product keeps its own copy of the weights (WebAssembly memory): the weights
   * and the bias (if any), read back. The layer then drops its arrays, so the weights are held once.
   */
  held?(): Float32Array[];
}

/**
 * Multiply-adds per row below which the TypeScript tiles win: copying the rows into and out of
 * the WebAssembly memory and the call cost more than SIMD saves (bench/kernels.ts, recorded in
 * docs/decisions.md).
 */
export const WASM_MIN_ROW_WORK = 1024;

/** The backends this runtime can run now (the tests run every one against the reference). */
export function gemmBackends(): GemmBackend[] {
  if (kernelPath() !== "wasm") return ["typescript"];
  return kernelTeam() !== null ? ["typescript", "wasm", "wasm-threads"] : ["typescript", "wasm"];
}

let forced: GemmBackend | null = null;

/**
 * @internal Products planned from now on use `backend` whatever their size (null: choose
 * again). For tests that run every fixture on every backend.
 */
export function forceGemmBackend(backend: GemmBackend | null): void {
  forced = backend;
}

/** The one place a matrix product's backend is chosen. */
export function chooseGemmBackend(inner: number, cols: number): BackendChoice {
  if (forced !== null) return { backend: forced, reason: "forced" };
  if (kernelPath() !== "wasm") return { backend: "typescript", reason: "no WebAssembly SIMD (or js chosen)" };
  if (inner * cols < WASM_MIN_ROW_WORK)
    return { backend: "typescript", reason: `${inner}x${cols} weights: too small to pay for the copies` };
  const tiles = `${inner}x${cols} weights: SIMD tiles`;
  const team = kernelTeam();
  return team === null
    ? { backend: "wasm", reason: tiles }
    : { backend: "wasm-threads", reason: threaded(tiles, team.size) };
}

/**
 * A product that keeps its own copy of the weights, in one instance's WebAssembly memory or a
 * thread team's (which splits the rows). Made outside planProduct: closures made there would keep
 * its scope, and with it the arrays the layer drops, alive.
 */
function holding(
  choice: BackendChoice,
  inner: number,
  cols: number,
  product: Pick<TeamProduct, "runRows" | "held">,
): MatrixProduct {
  return {
    ...choice,
    inner,
    cols,
    run: (a, aOffset, rows, c, cOffset) => product.runRows(a, aOffset, rows, c, cOffset),
    held: () => product.held(),
  };
}

export function planProduct(
  weights: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  inner: number,
  cols: number,
  choice: BackendChoice = chooseGemmBackend(inner, cols),
): MatrixProduct {
  const team = choice.backend === "wasm-threads" ? kernelTeam() : null;
  if (team !== null) {
    const shape = { kernel: [], strides: [], dilations: [], groups: 1, inChannels: inner, outChannels: cols };
    return holding(choice, inner, cols, team.product(shape, weights, bias, epilogue));
  }
  // Without a team now (a forced choice), "wasm-threads" runs on one thread, as "wasm".
  const module = choice.backend !== "typescript" ? kernelModule() : null;
  if (module !== null)
    return holding(choice, inner, cols, new WasmProduct(module, weights, bias, epilogue, inner, cols));
  const backend =
    choice.backend !== "typescript" ? { backend: "typescript" as const, reason: "WebAssembly not ready" } : choice;
  return {
    ...backend,
    inner,
    cols,
    run(a, aOffset, rows, c, cOffset) {
      gemm(a, aOffset, inner, weights, 0, cols, c, cOffset, cols, rows, inner, cols, bias, false, epilogue);
    },
  };
}
