/**
 * ReverseSequence: each batch row's first sequence_lens[b] time steps in reverse order, the rest
 * as they are. tf2onnx writes Keras Bidirectional layers whose recurrent layer became a Loop with
 * it (the backward direction runs on the reversed sequence, and its outputs are reversed back).
 */
import { elementCount } from "../values.js";
import { bindOffsets } from "./shape.js";
import { bindable, runtimeError, type OpDefinition } from "./types.js";

export const sequenceOps: OpDefinition[] = [
  {
    opType: "ReverseSequence",
    family: "shape",
    since: 10,
    attributes: ["batch_axis", "time_axis"],
    pure: true,
    prepare: (node) => {
      // ONNX allows (batch, time) axes (1, 0) and (0, 1) only.
      const timeFirst = node.int("time_axis", 0) === 0;
      if (node.int("batch_axis", 1) !== Number(timeFirst)) node.unsupported("batch_axis equal to time_axis");
      // The lengths are read when bound (in a Loop body, a node that reads changing lengths is called each time).
      return bindable(([x, lengths]) => {
        const [batch, time] = timeFirst ? [x!.shape[1], x!.shape[0]] : x!.shape;
        const inner = elementCount(x!.shape.slice(2));
        const offsets = new Int32Array(x!.data.length);
        for (let i = 0; i < offsets.length; i++) {
          const row = (i / inner) | 0;
          const [b, t] = timeFirst ? [row % batch, (row / batch) | 0] : [(row / time) | 0, row % time];
          const length = lengths!.data[b];
          if (!(length >= 0 && length <= time)) throw runtimeError(node.label, `sequence length ${length}`);
          offsets[i] = i + (t < length ? length - 1 - 2 * t : 0) * inner * (timeFirst ? batch : 1);
        }
        return bindOffsets(x!, x!.shape, offsets);
      });
    },
  },
];
