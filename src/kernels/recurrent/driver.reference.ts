/**
 * How Keras' RNN layer drives a cell over a sequence (keras.layers.RNN on CPU), readable, for
 * every sample in turn:
 * - the steps run from the first to the last, or from the last to the first with go_backwards
 *   (the returned sequence then stays in processing order);
 * - a masked step (mask 0) leaves the states as they were and outputs the previous output (zeros
 *   before the first kept step), or zeros with zero_output_for_mask;
 * - the output is every step's h (return_sequences) or the last step's output.
 * With masks per spatial position (a convolutional cell's, [batch, time, positions], each state
 * value's position in `maskPositions`), these rules hold value by value.
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
  maskPositions: Int32Array | null = null,
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
      const positions = mask === null || maskPositions === null ? 1 : mask.length / (batch * time);
      const kept = (j: number): boolean =>
        mask === null || mask[(b * time + t) * positions + (maskPositions === null ? 0 : maskPositions[j])] !== 0;
      const xt = Array.from(x.subarray((b * time + t) * features, (b * time + t + 1) * features));
      const next = cell.step(xt, states);
      states = states.map((state, k) => state.map((old, j) => (kept(j) ? next[k][j] : old)));
      previous = previous.map((old, j) => (kept(j) ? states[0][j] : options.zeroOutputForMask ? 0 : old));
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
