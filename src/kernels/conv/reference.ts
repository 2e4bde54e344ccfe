/**
 * Convolution and transposed convolution as the Keras Conv / ConvTranspose and ONNX Conv /
 * ConvTranspose documentation define them, on channels_last tensors of any spatial rank, summed
 * in float64 and rounded once. The readable definition the fast paths are tested against.
 *
 * Convolution, kernel [...kernel, inChannels / groups, outChannels]:
 *   y[b, o, f] = bias[f] + Σ_t Σ_c x[b, o·stride + t·dilation - padBegin, g·Cg + c] · W[t, c, f]
 * Transposed convolution (its adjoint), kernel [...kernel, outChannels, inChannels / groups]:
 *   y[b, p, f] = bias[f] + Σ_{i, t : i·stride + t·dilation - padBegin = p} Σ_c x[b, i, g·Cg + c] · W[t, f, c]
 * with o, p, i, t multi-indices over the spatial axes, g = f's group, Cg = inChannels / groups;
 * positions outside the input read zeros. Then y = epilogue(y) on each row of outChannels.
 */
import type { ConvFunction, EitherConvFunction } from "./geometry.js";

/** The multi-index of flat row-major position `flat` in `shape`. */
function unflatten(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    index[a] = flat % shape[a];
    flat = Math.floor(flat / shape[a]);
  }
  return index;
}

/** The flat row-major position of `index` in `shape`, or -1 when it is outside. */
function flatten(index: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let a = 0; a < shape.length; a++) {
    if (index[a] < 0 || index[a] >= shape[a]) return -1;
    flat = flat * shape[a] + index[a];
  }
  return flat;
}

const product = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Both definitions at once: every pair (from, tap) with at = from·stride + tap·dilation - padBegin
 * inside the other grid adds x[input] · W[tap] to y[output], where (output, input) is (from, at)
 * for a convolution and (at, from) for a transposed one.
 */
const convolve: EitherConvFunction = (x, kernel, bias, epilogue, shape, call, y, transposed) => {
  const { inChannels: C, outChannels: F, groups } = shape;
  const Cg = C / groups;
  const Fg = F / groups;
  const inSize = product(call.input);
  const outSize = product(call.output);
  const taps = product(shape.kernel);
  const [fromDims, toDims] = transposed ? [call.input, call.output] : [call.output, call.input];
  // W[t, c, f] in Keras' convolution layout [...kernel, Cg, F]; W[t, f, c] in the transposed one.
  const weight = (t: number, c: number, f: number): number =>
    transposed ? kernel[(t * F + f) * Cg + c] : kernel[(t * Cg + c) * F + f];
  const sums = new Float64Array(outSize * F);
  for (let b = 0; b < call.batch; b++) {
    for (let p = 0; p < outSize * F; p++) sums[p] = bias === null ? 0 : bias[p % F];
    for (let from = 0; from < product(fromDims); from++) {
      const position = unflatten(from, fromDims);
      for (let t = 0; t < taps; t++) {
        const tap = unflatten(t, shape.kernel);
        const at = position.map((v, a) => v * shape.strides[a] + tap[a] * shape.dilations[a] - call.padsBegin[a]);
        const to = flatten(at, toDims);
        if (to < 0) continue; // zero padding (transposed: cropped by the padding)
        const [o, i] = transposed ? [to, from] : [from, to];
        for (let f = 0; f < F; f++) {
          const g = Math.floor(f / Fg);
          for (let c = 0; c < Cg; c++) sums[o * F + f] += x[(b * inSize + i) * C + g * Cg + c] * weight(t, c, f);
        }
      }
    }
    y.set(sums, b * outSize * F);
    if (epilogue !== null) epilogue.apply(y, b * outSize * F, y, b * outSize * F, outSize, F);
  }
};

export const convReference: ConvFunction = (x, kernel, bias, epilogue, shape, call, y) =>
  convolve(x, kernel, bias, epilogue, shape, call, y, false);

export const convTransposeReference: ConvFunction = (x, kernel, bias, epilogue, shape, call, y) =>
  convolve(x, kernel, bias, epilogue, shape, call, y, true);
