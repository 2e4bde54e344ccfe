/**
 * How Keras' RNN layer drives a cell over a sequence (keras.layers.RNN on CPU), readable, for
 * every sample in turn:
 * - the steps run from the first to the last, or from the last to the first with go_backwards
 *   (the returned sequence then stays in processing order);
 * - a masked step (mask 0) leaves the states as they were and outputs the previous output (zeros
 *   before the first kept step), or zeros with zero_output_for_mask;
 * - the output is every step's h (return_sequences) or the last step's output.
 */
import type { SequenceOptions } from "./driver.js";
import type { ReferenceCell } from "./reference.js";

export function referenceSequence(
  cell: ReferenceCell,
  x: Float32Array,
  batch: number,
  time: number,
  features: number,
  initialStates: Float32Array[] | null,
  mask: Uint8Array | null,
  options: SequenceOptions,
): { output: number[]; states: number[][] } {
  const u = cell.units;
  const output: number[] = [];
  const finalStates: number[][] = Array.from({ length: cell.stateCount }, () => []);
  for (let b = 0; b < batch; b++) {
    let states = Array.from({ length: cell.stateCount }, (_, k) =>
      Array.from({ length: u }, (_, j) => (initialStates === null ? 0 : initialStates[k][b * u + j])),
    );
    let previous = new Array<number>(u).fill(0);
    const sequence: number[][] = [];
    for (let s = 0; s < time; s++) {
      const t = options.goBackwards ? time - 1 - s : s;
      if (mask !== null && mask[b * time + t] === 0) {
        if (options.zeroOutputForMask) previous = new Array<number>(u).fill(0);
        sequence.push(previous);
        continue;
      }
      const xt = Array.from(x.subarray((b * time + t) * features, (b * time + t + 1) * features));
      states = cell.step(xt, states);
      previous = states[0];
      sequence.push(previous);
    }
    const append = (to: number[], values: readonly number[]): void => {
      for (const v of values) to.push(v);
    };
    if (options.returnSequences) for (const row of sequence) append(output, row);
    else append(output, mask === null ? states[0] : previous);
    states.forEach((state, k) => append(finalStates[k], state));
  }
  return { output, states: finalStates };
}
