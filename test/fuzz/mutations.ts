/**
 * The random fuzzer's mutations: truncation, bit flips, interesting bytes, chunk duplication,
 * deletion and overwrite, splicing, same-length text edits, and the format-aware edits of
 * fields.ts, json-edits.ts and protobuf.ts.
 */
import { unzipSync, zipSync } from "fflate";
import type { CorpusEntry, FileKind } from "./corpus.js";
import { deleteChunk, duplicateChunk, flipBits, interestingBytes, overwriteChunk, truncate, u8 } from "./bytes.js";
import { corruptField, hdf5Fields, npyFields, zipFields } from "./fields.js";
import { mutateJsonText, mutateKerasConfig } from "./json-edits.js";
import { corruptVarint } from "./protobuf.js";
import type { Rng } from "./rng.js";

/** Same-length text edits: digits and letters swapped in place (reaches configs inside HDF5 attributes). */
function textEdit(rng: Rng, bytes: Uint8Array): [Uint8Array, string] {
  const out = u8(bytes);
  const digits: number[] = [];
  for (let i = 0; i < bytes.length && digits.length < 20000; i++)
    if (bytes[i] >= 0x30 && bytes[i] <= 0x39 && bytes[i - 1] !== 0x2e) digits.push(i);
  if (digits.length === 0) return [flipBits(rng, bytes), "bit flips (no text)"];
  const at = rng.pick(digits);
  const replacement = rng.pick([0x30, 0x39, 0x2d, 0x20, 0x22, 0x7b, 0x5b]);
  out[at] = replacement;
  return [out, `text byte ${at}: '${String.fromCharCode(bytes[at])}' -> '${String.fromCharCode(replacement)}'`];
}

function spliceWith(rng: Rng, bytes: Uint8Array, corpus: CorpusEntry[]): [Uint8Array, string] {
  const other = rng.pick(corpus);
  const donor = rng.chance(0.5) || other.weights === undefined ? other.main : other.weights;
  const cut = rng.int(bytes.length + 1);
  const from = rng.int(donor.length + 1);
  const out = new Uint8Array(cut + donor.length - from);
  out.set(bytes.subarray(0, cut));
  out.set(donor.subarray(from), cut);
  return [out, `splice: first ${cut} bytes + ${other.id} from byte ${from}`];
}

export function applyOne(
  rng: Rng,
  bytes: Uint8Array,
  kind: FileKind | "weights",
  corpus: CorpusEntry[],
): [Uint8Array, string] {
  const isH5 = kind === "h5" || kind === "weights" || kind === "hdf5";
  const roll = rng.int(12);
  switch (roll) {
    case 0:
      return [truncate(rng, bytes), "truncate"];
    case 1:
      return [flipBits(rng, bytes), "bit flips"];
    case 2:
      return [interestingBytes(rng, bytes), "interesting bytes"];
    case 3:
      return [duplicateChunk(rng, bytes), "duplicate chunk"];
    case 4:
      return [deleteChunk(rng, bytes), "delete chunk"];
    case 5:
      return [overwriteChunk(rng, bytes), "overwrite chunk"];
    case 6:
      return spliceWith(rng, bytes, corpus);
    case 7:
      return textEdit(rng, bytes);
    default: {
      // Structure-aware edits, for the file's format.
      if (kind === "json") {
        const [text, what] = mutateJsonText(rng, new TextDecoder().decode(bytes));
        return [new TextEncoder().encode(text), what];
      }
      if (kind === "keras") {
        if (rng.chance(0.5)) return mutateKerasConfig(rng, bytes);
        // Corrupt the zip headers, or the HDF5 file inside it (kept stored, so the zip stays valid).
        if (rng.chance(0.5)) return corruptField(rng, bytes, zipFields(bytes));
        try {
          const members: Record<string, Uint8Array> = unzipSync(bytes);
          const inner = members["model.weights.h5"];
          if (inner !== undefined) {
            const [mutated, what] = corruptField(rng, inner, hdf5Fields(inner));
            members["model.weights.h5"] = mutated;
            return [zipSync(members, { level: 0 }), `model.weights.h5: ${what}`];
          }
        } catch {
          // fall through
        }
        return corruptField(rng, bytes, zipFields(bytes));
      }
      if (isH5) return corruptField(rng, bytes, hdf5Fields(bytes));
      if (kind === "onnx") return corruptVarint(rng, bytes);
      if (rng.chance(0.5)) return corruptField(rng, bytes, npyFields(bytes));
      return textEdit(rng, bytes);
    }
  }
}
