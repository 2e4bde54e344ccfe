/**
 * How the WebAssembly recurrent kernels lay weights out. The recurrent kernel is stored in panels
 * (wasm/gemm.ts gemmPacked); a sequence split between threads has its gate columns reordered
 * into blocks of units, one per thread (wasm/recurrent.ts). Each layout comes with its inverse,
 * which reads the weights back (getWeights).
 */

/**
 * Moves runs of columns between a split [rows, width] matrix and its packed form (toPacked false
 * undoes it): each part's [rows, width/parts] block in panels of `panel` columns, each panel
 * [rows, its width] row-major (gemmPacked's layout), part after part.
 */
function movePanels(
  matrix: Float32Array,
  rows: number,
  width: number,
  parts: number,
  panel: number,
  toPacked: boolean,
): Float32Array {
  const blockWidth = width / parts;
  const out = new Float32Array(matrix.length);
  let packed = 0;
  for (let k = 0; k < parts; k++) {
    for (let n = 0; n < blockWidth; n += panel) {
      const w = Math.min(panel, blockWidth - n);
      for (let r = 0; r < rows; r++) {
        const split = r * width + k * blockWidth + n;
        const [from, to] = toPacked ? [split, packed] : [packed, split];
        out.set(matrix.subarray(from, from + w), to);
        packed += w;
      }
    }
  }
  return out;
}

/**
 * Moves runs of uk = units/parts columns between Keras' order (gate blocks side by side) and the
 * split order (block k holding units k*uk.. of every gate): `toSplit` false undoes it.
 */
function permuteUnits(
  matrix: Float32Array,
  rows: number,
  gates: number,
  units: number,
  parts: number,
  toSplit: boolean,
): Float32Array {
  const uk = units / parts;
  const width = gates * units;
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) {
    let split = r * width;
    for (let k = 0; k < parts; k++) {
      for (let g = 0; g < gates; g++) {
        const keras = r * width + g * units + k * uk;
        const [from, to] = toSplit ? [keras, split] : [split, keras];
        out.set(matrix.subarray(from, from + uk), to);
        split += uk;
      }
    }
  }
  return out;
}

/**
 * The columns of a [rows, gates*units] matrix (gate blocks side by side) reordered into `parts`
 * blocks, block k holding units k*uk.. of every gate: wasm/recurrent.ts' layout. parts 1: a copy.
 */
export function splitUnits(
  matrix: Float32Array,
  rows: number,
  gates: number,
  units: number,
  parts: number,
): Float32Array {
  return permuteUnits(matrix, rows, gates, units, parts, true);
}

/** Each part's [rows, gates*uk] block of a split matrix, packed in panels, one after another. */
export function packParts(
  split: Float32Array,
  rows: number,
  width: number,
  parts: number,
  panel: number,
): Float32Array {
  return movePanels(split, rows, width, parts, panel, true);
}

/** splitUnits() undone. */
export function joinUnits(
  split: Float32Array,
  rows: number,
  gates: number,
  units: number,
  parts: number,
): Float32Array {
  return permuteUnits(split, rows, gates, units, parts, false);
}

/** packParts() undone: the split [rows, width] matrix. */
export function unpackParts(
  packed: Float32Array,
  rows: number,
  width: number,
  parts: number,
  panel: number,
): Float32Array {
  return movePanels(packed, rows, width, parts, panel, false);
}
