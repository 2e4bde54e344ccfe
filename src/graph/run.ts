/** Running a wired graph on tensors, with the masks Keras attaches to them. */
import type { CallArguments, Layer, Mask, Masks } from "../layers/layer.js";
import type { Tensor } from "../tensor.js";
import type { Call } from "./call.js";

/** What running needs of a wired graph, worked out once by Graph.build(). */
export interface Wiring {
  readonly calls: readonly Call[];
  readonly outputs: readonly (readonly [number, number])[];
  /** Per call: its index among the graph's inputs, or -1. */
  readonly inputIndex: readonly number[];
  /** Per call: the last call that reads its outputs (calls.length for model outputs), so they can be dropped early. */
  readonly lastUse: readonly number[];
  /** Some call detaches its inputs' masks as it runs (see runGraph). */
  readonly detaching: boolean;
  /**
   * Per call: a list of nulls as long as its outputs, and one as long as its inputs, shared by
   * every run (and by calls of the same arity): the masks of a call where no mask is attached,
   * which is most calls of most models, so that a run allocates no mask lists for them.
   */
  readonly noMasks: readonly Masks[];
  readonly noInputMasks: readonly Masks[];
}

/** Runs the graph on inputs ordered like its input layers (already validated by the caller). */
export function runGraph(
  wiring: Wiring,
  inputs: Tensor[],
  inputMasks?: Masks,
): { outputs: Tensor[]; masks: (Mask | null)[] } {
  const { calls, outputs, lastUse, detaching, inputIndex, noMasks, noInputMasks } = wiring;
  // Plain loops: for small models this bookkeeping costs as much as the arithmetic.
  const count = calls.length;
  const values: (Tensor[] | null)[] = new Array(count).fill(null);
  // Masks travel beside the values, as Keras attaches them to tensors.
  const masks: (Masks | null)[] = new Array(count).fill(null);
  // When a layer detaches its inputs' masks as it runs (Keras 3 MultiHeadAttention), the masks
  // still attached at run time (`attached`) part from those Keras traced when it built the
  // model (`masks`). A call sees the attached ones unless Keras recorded its traced mask.
  const attached: (Masks | null)[] | null = detaching ? new Array(count).fill(null) : null;
  for (let i = 0; i < count; i++) {
    const call = calls[i];
    const layer = call.layer;
    const refs = call.inputs;
    const input = inputIndex[i];
    if (input >= 0) {
      values[i] = [inputs[input]];
      const mask = inputMasks?.[input] ?? null;
      masks[i] = mask === null ? noMasks[i] : [mask];
      if (attached !== null) attached[i] = masks[i];
    } else {
      const args = gather(refs, values);
      const argMasks = gatherMasks(refs, masks, noInputMasks[i]);
      const seen = attached === null || call.tracedMask ? argMasks : gatherMasks(refs, attached, noInputMasks[i]);
      const out =
        layer.inPlace && inPlaceInput(wiring, values, i, inputs) && layer.callInto(args, seen, args)
          ? args
          : layer.call(args, seen, call.arguments);
      values[i] = out;
      masks[i] = outputMasks(layer, args, argMasks, out, call.arguments, noMasks[i]);
      if (attached !== null) {
        attached[i] = seen === argMasks ? masks[i] : outputMasks(layer, args, seen, out, call.arguments, noMasks[i]);
        for (const k of layer.detachesInputMasks(call.arguments)) {
          const producer = refs[k][0];
          const tensor = refs[k][1];
          attached[producer] = attached[producer]!.map((m, j) => (j === tensor ? null : m));
        }
      }
    }
    for (let k = 0; k < refs.length; k++) {
      const producer = refs[k][0];
      if (lastUse[producer] === i) {
        values[producer] = null;
        masks[producer] = null;
        if (attached !== null) attached[producer] = null;
      }
    }
  }
  return { outputs: gather(outputs, values), masks: gather(outputs, masks) };
}

/** The value each [call, output] reference names, from per-call lists that are still live. */
function gather<T>(refs: readonly (readonly [number, number])[], from: readonly (readonly T[] | null)[]): T[] {
  const list: T[] = new Array(refs.length);
  for (let k = 0; k < refs.length; k++) list[k] = from[refs[k][0]]![refs[k][1]];
  return list;
}

/** gather() for masks: `none` (shared, not copied) when every referenced mask is null. */
function gatherMasks(
  refs: readonly (readonly [number, number])[],
  from: readonly (Masks | null)[],
  none: Masks,
): Masks {
  for (let k = 0; k < refs.length; k++) if (from[refs[k][0]]![refs[k][1]] !== null) return gather(refs, from);
  return none;
}

/**
 * Whether call i may overwrite its one input: a float32 tensor that a `freshOutputs` layer made,
 * that no later call reads, that is not a model input, and whose array no other live value shares
 * (a layer that passes its input through, such as Dropout, returns the same array).
 */
function inPlaceInput(
  wiring: Wiring,
  values: readonly (Tensor[] | null)[],
  i: number,
  inputs: readonly Tensor[],
): boolean {
  const refs = wiring.calls[i].inputs;
  if (refs.length !== 1) return false;
  const producer = refs[0][0];
  const tensor = refs[0][1];
  if (wiring.lastUse[producer] !== i || wiring.inputIndex[producer] >= 0) return false;
  if (!wiring.calls[producer].layer.freshOutputs) return false;
  const data = values[producer]![tensor].data;
  if (!(data instanceof Float32Array)) return false;
  for (let k = 0; k < inputs.length; k++) if (inputs[k].data === data) return false;
  // Only calls from the producer on can share its array: it was made fresh, or taken in place from
  // a value released then (calls after i have not run). Scanning from 0 made chains quadratic.
  for (let k = producer; k < i; k++) {
    const live = values[k];
    if (live === null) continue;
    for (let t = 0; t < live.length; t++) if ((k !== producer || t !== tensor) && live[t].data === data) return false;
  }
  return true;
}

/**
 * The masks a call's outputs carry: Keras asks compute_mask only of layers that support masking.
 * `none`: the call's shared list of nulls, returned when there is nothing to ask.
 */
export function outputMasks(
  layer: Layer,
  inputs: Tensor[],
  inputMasks: Masks,
  outputs: Tensor[],
  args: CallArguments,
  none: Masks,
): Masks {
  if (layer.supportsMasking) {
    let masked = layer.createsMask;
    for (let k = 0; k < inputMasks.length && !masked; k++) masked = inputMasks[k] !== null;
    if (masked) return layer.computeMask(inputs, inputMasks, outputs, args);
  }
  return none;
}
