/**
 * ONNX LSTM and GRU features the Keras cells do not have: `clip` (gate pre-activations bounded
 * to [-clip, clip]), LSTM `input_forget` (f = 1 - i) and peepholes (P). These cells run in the
 * same driver as the Keras cells (kernels/recurrent/driver.ts) as RecurrentCells sharing their
 * input projection (MatrixCell), with a plain TypeScript step; models without those features use
 * the Keras cells and their fast paths.
 */
import type { Activation } from "../../kernels/activations.js";
import { MatrixCell, type KerasCellWeights, type RecurrentCell } from "../../kernels/recurrent/cell.js";

export interface OnnxCellOptions {
  clip: number;
  inputForget: boolean;
  /** [3u]: i, o, f (ONNX order), or null. */
  peepholes: Float32Array | null;
}

abstract class GeneralCell extends MatrixCell implements RecurrentCell {
  abstract readonly stateCount: number;
  protected readonly recurrentKernel: Float32Array;

  constructor(
    units: number,
    gates: number,
    weights: KerasCellWeights,
    inputBias: Float32Array | null,
    protected readonly clip: number,
  ) {
    super(units, gates, weights, inputBias);
    this.recurrentKernel = weights.recurrentKernel;
  }

  /** out[0..n) = h[row] · recurrentKernel[:, from..from+n), written to `out` at `at`. */
  protected recurrent(h: Float32Array, row: number, from: number, n: number, out: Float32Array, at: number): void {
    const u = this.units;
    const width = this.projectionWidth;
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < u; k++) sum += h[row + k] * this.recurrentKernel[k * width + from + j];
      out[at + j] = sum;
    }
  }

  protected clipped(x: number): number {
    const c = this.clip;
    return x < -c ? -c : x > c ? c : x;
  }

  abstract step(
    projection: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void;
}

/** Keras gate order i, f, c, o in the kernels (as mapped at load). */
export class OnnxLstmCell extends GeneralCell {
  readonly stateCount = 2;

  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly f: Activation,
    private readonly g: Activation,
    private readonly h: Activation,
    private readonly options: OnnxCellOptions,
  ) {
    super(units, 4, weights, weights.bias, options.clip);
  }

  step(
    p: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void {
    const u = this.units;
    const [hs, cs] = states;
    const peep = this.options.peepholes;
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const row = b * u;
      const at = offset + b * rowStride;
      // scratch row: the four gates' pre-activations, then activations in place.
      const s = b * 4 * u;
      this.recurrent(hs, row, 0, 4 * u, scratch, s);
      for (let j = 0; j < 4 * u; j++) scratch[s + j] += p[at + j];
      for (let j = 0; j < u; j++) {
        const c = cs[row + j];
        if (peep !== null) {
          scratch[s + j] += peep[j] * c; // i
          scratch[s + u + j] += peep[2 * u + j] * c; // f
        }
      }
      for (let j = 0; j < 3 * u; j++) scratch[s + j] = this.clipped(scratch[s + j]);
      this.f.apply(scratch, s, scratch, s, 1, 2 * u);
      this.g.apply(scratch, s + 2 * u, scratch, s + 2 * u, 1, u);
      for (let j = 0; j < u; j++) {
        const i = scratch[s + j];
        const f = this.options.inputForget ? 1 - i : scratch[s + u + j];
        const c = f * cs[row + j] + i * scratch[s + 2 * u + j];
        cs[row + j] = c;
        let o = scratch[s + 3 * u + j];
        if (peep !== null) o += peep[u + j] * c;
        scratch[s + 3 * u + j] = this.clipped(o);
      }
      this.f.apply(scratch, s + 3 * u, scratch, s + 3 * u, 1, u);
      this.h.apply(cs, row, scratch, s, 1, u);
      for (let j = 0; j < u; j++) hs[row + j] = scratch[s + 3 * u + j] * scratch[s + j];
    }
  }
}

/** Gate order z, r, h; `resetAfter` is ONNX linear_before_reset=1 (recurrentBias added before the reset). */
export class OnnxGruCell extends GeneralCell {
  readonly stateCount = 1;

  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly resetAfter: boolean,
    private readonly f: Activation,
    private readonly g: Activation,
    clip: number,
  ) {
    const w = 3 * units;
    const inputBias = weights.bias === null ? null : weights.bias.subarray(0, w);
    super(units, 3, weights, inputBias, clip);
    this.recurrentBias = resetAfter && weights.bias !== null ? weights.bias.subarray(w, 2 * w) : null;
  }

  private readonly recurrentBias: Float32Array | null;

  step(
    p: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void {
    const u = this.units;
    const hs = states[0];
    const rb = this.recurrentBias;
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const row = b * u;
      const at = offset + b * rowStride;
      const s = b * 3 * u;
      this.recurrent(hs, row, 0, 3 * u, scratch, s);
      if (rb !== null) for (let j = 0; j < 3 * u; j++) scratch[s + j] += rb[j];
      for (let j = 0; j < 2 * u; j++) scratch[s + j] = this.clipped(scratch[s + j] + p[at + j]);
      this.f.apply(scratch, s, scratch, s, 1, 2 * u);
      if (this.resetAfter) {
        for (let j = 0; j < u; j++)
          scratch[s + 2 * u + j] = this.clipped(p[at + 2 * u + j] + scratch[s + u + j] * scratch[s + 2 * u + j]);
      } else {
        // (r ⊙ h) · R_h: the reset gate scales the state before the product.
        for (let j = 0; j < u; j++) {
          let sum = 0;
          for (let k = 0; k < u; k++)
            sum += scratch[s + u + k] * hs[row + k] * this.recurrentKernel[k * 3 * u + 2 * u + j];
          scratch[s + 2 * u + j] = this.clipped(p[at + 2 * u + j] + sum);
        }
      }
      this.g.apply(scratch, s + 2 * u, scratch, s + 2 * u, 1, u);
      for (let j = 0; j < u; j++) {
        const z = scratch[s + j];
        hs[row + j] = z * hs[row + j] + (1 - z) * scratch[s + 2 * u + j];
      }
    }
  }
}
