/**
 * CuDNNLSTM and CuDNNGRU (Keras 2 / tf.keras 1.x-2.x files). They compute what LSTM and
 * GRU(reset_after=True) compute with tanh and sigmoid; only the weight layout differs, and it is
 * converted once at load time the way tf.keras converts it when it loads these weights into a
 * plain LSTM / GRU:
 *  - each gate's input kernel block [in, units] holds cuDNN's [units, in] matrix in row-major
 *    order, so Keras' kernel[i][j] is block.flat[j * in + i];
 *  - each gate's recurrent kernel block is transposed;
 *  - the bias has an input and a recurrent part per gate: LSTM sums them ([8u] -> [4u]); GRU
 *    keeps both ([6u] is reset_after's [2, 3u]).
 * The gate order in the blocks is Keras' (LSTM i f c o; GRU z r h).
 */
import type { ConfigReader } from "./config.js";
import { GRU, LSTM } from "./recurrent.js";
import type { LayerDefinition } from "./registry-types.js";

/** The Keras layout of a CuDNN input kernel [inputDim, gates*units]. */
export function cudnnInputKernel(kernel: Float32Array, inputDim: number, units: number, gates: number): Float32Array {
  const width = gates * units;
  const out = new Float32Array(kernel.length);
  for (let g = 0; g < gates; g++) {
    for (let i = 0; i < inputDim; i++) {
      for (let j = 0; j < units; j++) {
        const flat = j * inputDim + i; // position in the block's row-major [inputDim, units] data
        const row = Math.floor(flat / units);
        const col = flat % units;
        out[i * width + g * units + j] = kernel[row * width + g * units + col];
      }
    }
  }
  return out;
}

/** The Keras layout of a CuDNN recurrent kernel [units, gates*units]: every gate block transposed. */
export function cudnnRecurrentKernel(kernel: Float32Array, units: number, gates: number): Float32Array {
  const width = gates * units;
  const out = new Float32Array(kernel.length);
  for (let g = 0; g < gates; g++) {
    for (let i = 0; i < units; i++) {
      for (let j = 0; j < units; j++) out[i * width + g * units + j] = kernel[j * width + g * units + i];
    }
  }
  return out;
}

/** CuDNN configs have no activation options: reject any that would change the math. */
function checkCudnnConfig(reader: ConfigReader): void {
  for (const key of ["activation", "recurrent_activation", "use_bias", "reset_after"]) {
    if (reader.raw(key) !== undefined) reader.unsupported(`"${key}" is not an option of ${reader.className}`);
  }
}

export class CuDNNLSTM extends LSTM {
  constructor(reader: ConfigReader) {
    checkCudnnConfig(reader);
    super(reader);
  }

  protected override biasShape(): number[] {
    return [8 * this.options.units];
  }

  protected override weightsLoaded([kernel, recurrentKernel, bias]: Float32Array[]): void {
    const u = this.options.units;
    const summed = new Float32Array(4 * u);
    for (let j = 0; j < 4 * u; j++) summed[j] = bias[j] + bias[4 * u + j];
    super.weightsLoaded([
      cudnnInputKernel(kernel, this.inputDim, u, 4),
      cudnnRecurrentKernel(recurrentKernel, u, 4),
      summed,
    ]);
  }
}

export class CuDNNGRU extends GRU {
  constructor(reader: ConfigReader) {
    checkCudnnConfig(reader);
    super(reader.withOverrides({ reset_after: true }));
  }

  protected override biasShape(): number[] {
    return [6 * this.options.units];
  }

  protected override weightsLoaded([kernel, recurrentKernel, bias]: Float32Array[]): void {
    const u = this.options.units;
    // [6u] = input biases (z r h) then recurrent biases: reset_after's [2, 3u] row-major.
    super.weightsLoaded([
      cudnnInputKernel(kernel, this.inputDim, u, 3),
      cudnnRecurrentKernel(recurrentKernel, u, 3),
      bias,
    ]);
  }
}

const CUDNN_OPTIONS = "`return_sequences`, `return_state`, `go_backwards`, `initial_state`";

export const cudnnLayers: LayerDefinition[] = [
  {
    className: "CuDNNLSTM",
    family: "cudnn",
    summary:
      "Keras 2 files; runs as LSTM (tanh, sigmoid) with the weights converted as tf.keras converts them; " +
      CUDNN_OPTIONS,
    create: (r) => new CuDNNLSTM(r),
  },
  {
    className: "CuDNNGRU",
    family: "cudnn",
    summary:
      "Keras 2 files; runs as GRU(reset_after=True) with the weights converted as tf.keras converts them; " +
      CUDNN_OPTIONS,
    create: (r) => new CuDNNGRU(r),
  },
];
