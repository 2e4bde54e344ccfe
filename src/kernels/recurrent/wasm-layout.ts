/**
 * How the WebAssembly recurrent kernels lay weights out. The recurrent kernel is stored in panels
 * (wasm/kernels.ts gemmPacked); a sequence split between threads has its gate columns reordered
 * into blocks of units, one per thread (wasm/threads.ts). Each layout comes with its inverse,
 * which reads the weights back (getWeights).
 */

/** [rows, cols] row-major → panels of `panel` columns, each [rows, width] row-major (gemmPacked's layout). */
function packPanels(matrix: Float32Array, rows: number, cols: number, panel: number): Float32Array {
  const packed = new Float32Array(rows * cols);
  let at = 0;
  for (let n = 0; n < cols; n += panel) {
    const width = Math.min(panel, cols - n);
    for (let k = 0; k < rows; k++) {
      for (let j = 0; j < width; j++) packed[at++] = matrix[k * cols + n + j];
    }
  }
  return packed;
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
 * blocks, block k holding units k*uk.. of every gate: wasm/threads.ts' layout. parts 1: a copy.
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
  const blockWidth = width / parts;
  const out = new Float32Array(split.length);
  for (let k = 0; k < parts; k++) {
    const block = new Float32Array(rows * blockWidth);
    for (let r = 0; r < rows; r++)
      block.set(split.subarray(r * width + k * blockWidth, r * width + (k + 1) * blockWidth), r * blockWidth);
    out.set(packPanels(block, rows, blockWidth, panel), k * rows * blockWidth);
  }
  return out;
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
  const blockWidth = width / parts;
  const out = new Float32Array(packed.length);
  for (let k = 0; k < parts; k++) {
    let at = k * rows * blockWidth;
    for (let n = 0; n < blockWidth; n += panel) {
      const w = Math.min(panel, blockWidth - n);
      for (let r = 0; r < rows; r++) {
        out.set(packed.subarray(at, at + w), r * width + k * blockWidth + n);
        at += w;
      }
    }
  }
  return out;
}
