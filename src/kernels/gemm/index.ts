/**
 * The matrix product layers use: C = epilogue(A · B + bias), with B (the weights) fixed at load.
 *
 * planProduct() chooses the backend once, when a layer's weights are loaded, in one function
 * (chooseGemmBackend) whose answer the layer keeps and `model.summary()` can show. The backends
 * (./typescript.ts, ./wasm.ts) are tested against ./reference.ts.
 */
import type { Activation } from "../activations.js";
import { gemm } from "./typescript.js";

export { gemm } from "./typescript.js";
export { gemmReference } from "./reference.js";

export type GemmBackend = "typescript";

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
   * m < rows. Allocates nothing.
   */
  run(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void;
}

/** The backends this runtime can run, the reference's fast equivalents (tests run them all). */
export function gemmBackends(): GemmBackend[] {
  return ["typescript"];
}

/** The one place a matrix product's backend is chosen. */
export function chooseGemmBackend(_inner: number, _cols: number): BackendChoice {
  return { backend: "typescript", reason: "float64 register tiles" };
}

const REASONS: Record<GemmBackend, string> = { typescript: "float64 register tiles" };

export function planProduct(
  weights: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  inner: number,
  cols: number,
  backend: GemmBackend = chooseGemmBackend(inner, cols).backend,
): MatrixProduct {
  return {
    backend,
    reason: REASONS[backend],
    inner,
    cols,
    run(a, aOffset, rows, c, cOffset) {
      gemm(a, aOffset, inner, weights, 0, cols, c, cOffset, cols, rows, inner, cols, bias, false, epilogue);
    },
  };
}
