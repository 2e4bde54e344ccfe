/** Conv (any rank, groups, dilations, pads) and pooling, channels first as ONNX lays them out. */
import { formatShape } from "../../tensor.js";
import { channelsFirst, planConvolution, type ConvCall, type ConvShape } from "../../kernels/conv/index.js";
import { elementCount, type Value } from "../values.js";
import { bindable, pureOps, runtimeError, type NodeReader, type OpDefinition, type OpKernel } from "./types.js";

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads per spatial axis, then end pads. */
  pads: number[];
}

/** Window attributes for `spatial` axes; auto_pad SAME_* resolved against the input size at run time. */
function windowOf(node: NodeReader, spatial: number, kernel: number[], inputSize: number[]): Window {
  const strides = node.ints("strides") ?? new Array<number>(spatial).fill(1);
  const dilations = node.ints("dilations") ?? new Array<number>(spatial).fill(1);
  let pads = node.ints("pads") ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = node.string("auto_pad", "NOTSET");
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    pads = new Array<number>(2 * spatial).fill(0);
    for (let i = 0; i < spatial; i++) {
      const out = Math.ceil(inputSize[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inputSize[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === "SAME_UPPER" ? small : total - small;
      pads[i + spatial] = total - pads[i];
    }
  }
  return { kernel, strides, dilations, pads };
}

function outputSize(w: Window, inputSize: number[], ceil: boolean): number[] {
  return inputSize.map((n, i) => {
    const span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    const q = (n + w.pads[i] + w.pads[i + inputSize.length] - span) / w.strides[i];
    return (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
  });
}

/** Spatial inputs as 2-D (a 1-D input is height 1). */
const as2d = (v: number[]): [number, number] => (v.length === 1 ? [1, v[0]] : [v[0], v[1]]);
const pad2d = (w: Window): [number, number] => (w.kernel.length === 1 ? [0, w.pads[0]] : [w.pads[0], w.pads[1]]);

/** W [filters, channels/group, ...kernel] -> Keras' [...kernel, channels/group, filters]. */
function kerasKernel(w: Float32Array, filters: number, perGroup: number, taps: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let f = 0; f < filters; f++)
    for (let c = 0; c < perGroup; c++)
      for (let t = 0; t < taps; t++) out[(t * perGroup + c) * filters + f] = w[(f * perGroup + c) * taps + t];
  return out;
}

/** Conv on the shared convolution kernel (channels_first around it), its weights mapped at load. */
function conv(node: NodeReader): OpKernel {
  const group = node.int("group", 1);
  const weight = node.requireConstant(1, "W");
  const bias = node.inputName(2) === "" ? null : node.requireConstant(2, "B");
  if (weight === undefined || bias === undefined || !(weight.data instanceof Float32Array))
    return () => {
      throw node.error("not runnable");
    };
  const [filters, perGroup, ...kernel] = weight.shape;
  const spatial = kernel.length;
  if (spatial < 1 || filters % group !== 0) throw node.error(`W has shape ${formatShape(weight.shape)}`);
  const shape: ConvShape = {
    kernel,
    strides: node.ints("strides") ?? kernel.map(() => 1),
    dilations: node.ints("dilations") ?? kernel.map(() => 1),
    groups: group,
    inChannels: perGroup * group,
    outChannels: filters,
  };
  const weights = kerasKernel(weight.data, filters, perGroup, elementCount(kernel));
  const biasData = bias === null ? null : Float32Array.from(bias.data);
  const convolution = channelsFirst(planConvolution(shape, weights, biasData, null));
  const plan = { backend: convolution.backend, why: [convolution.reason] };
  return bindable(([x]) => {
    if (x!.shape.length !== spatial + 2 || x!.shape[1] !== shape.inChannels || !(x!.data instanceof Float32Array))
      throw runtimeError(node.label, `input of shape ${formatShape(x!.shape)} for W ${formatShape(weight.shape)}`);
    const batch = x!.shape[0];
    const input = x!.shape.slice(2);
    const w = windowOf(node, spatial, kernel, input);
    const output = outputSize(w, input, false);
    const call: ConvCall = { batch, input, output, padsBegin: w.pads.slice(0, spatial) };
    const out = new Float32Array(batch * filters * elementCount(output));
    const data = x!.data;
    return {
      outputs: [{ type: "float", shape: [batch, filters, ...output], data: out }],
      run: () => convolution.run(data, call, out),
    };
  }, plan);
}

function pool(node: NodeReader, kind: "max" | "average"): OpKernel {
  const kernelShape = node.ints("kernel_shape") ?? [];
  const ceil = node.int("ceil_mode", 0) === 1;
  const countPad = node.int("count_include_pad", 0) === 1;
  if (node.node.outputs.length > 1 && node.node.outputs[1] !== "") node.unsupported("MaxPool's Indices output");
  return ([x]) => {
    const spatial = x!.shape.length - 2;
    if (spatial !== kernelShape.length || (spatial !== 1 && spatial !== 2))
      throw runtimeError(node.label, `input of shape ${formatShape(x!.shape)}`);
    const [batch, channels] = x!.shape;
    const inSize = x!.shape.slice(2);
    const w = windowOf(node, spatial, kernelShape, inSize);
    const outSize = outputSize(w, inSize, ceil);
    const [ih, iw] = as2d(inSize);
    const [oh, ow] = as2d(outSize);
    const [kh, kw] = as2d(kernelShape);
    const [sh, sw] = as2d(w.strides);
    const [dh, dw] = as2d(w.dilations);
    const [ph, pw] = pad2d(w);
    const out = new Float32Array(batch * channels * oh * ow);
    for (let p = 0; p < batch * channels; p++)
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let acc = kind === "max" ? -Infinity : 0;
          let count = 0;
          for (let i = 0; i < kh; i++) {
            const yy = y * sh - ph + i * dh;
            for (let j = 0; j < kw; j++) {
              const xx = xo * sw - pw + j * dw;
              const inside = yy >= 0 && yy < ih && xx >= 0 && xx < iw;
              if (inside || (countPad && yy < ih + ph && xx < iw + pw)) count++;
              if (!inside) continue;
              const v = x!.data[p * ih * iw + yy * iw + xx];
              acc = kind === "max" ? (v > acc ? v : acc) : acc + v;
            }
          }
          out[(p * oh + y) * ow + xo] = kind === "max" ? acc : acc / count;
        }
    return [{ type: "float", shape: [batch, channels, ...outSize], data: out }];
  };
}

const windowAttributes = ["auto_pad", "dilations", "kernel_shape", "pads", "strides"];

const op = pureOps("convolution");

export const convOps: OpDefinition[] = [
  op("Conv", 1, [...windowAttributes, "group"], conv),
  op("MaxPool", 8, [...windowAttributes, "ceil_mode", "storage_order"], (n) => pool(n, "max")),
  op("AveragePool", 7, [...windowAttributes, "ceil_mode", "count_include_pad"], (n) => pool(n, "average")),
  op("GlobalAveragePool", 1, [], () => globalAveragePool),
];

/** Mean over every spatial position: [batch, channels, ...] to [batch, channels, 1, ...]. */
function globalAveragePool([x]: readonly (Value | null)[]): Value[] {
  const [batch, channels] = x!.shape;
  const inner = elementCount(x!.shape.slice(2));
  const out = new Float32Array(batch * channels);
  for (let p = 0; p < out.length; p++) {
    let sum = 0;
    for (let i = 0; i < inner; i++) sum += x!.data[p * inner + i];
    out[p] = sum / inner;
  }
  return [{ type: "float", shape: [batch, channels, ...x!.shape.slice(2).map(() => 1)], data: out }];
}
