// Matrix products and convolutions split by output rows, for a team of threads sharing one memory
// (part of the module wasm/kernels.ts lists; src/kernels/conv/team.ts is the host side). A job
// record (enum ProductJob) describes one call: a convolution with groups 1 over up to three
// spatial axes, channels_last, its rows being (batch item, output position) pairs; a matrix
// product is the 1x1 convolution of its rows. Part k of PARTS owns a contiguous run of rows and
// computes them with the single-thread kernels: blocks of BLOCK_ROWS rows gathered (im2col) into
// the part's own workspace, then gemm() of the block against the whole kernel. A row's result does
// not depend on which part or block computes it (gemm sums each row on its own, in the same
// order), so any split gives the bits one thread gives.
import { gemm } from "./gemm";
import { field } from "./record";

/** The fields of a product job record, i32 each, in this order. */
export enum ProductJob {
  /** JOB_PRODUCT. Field 0, where a recurrent job (recurrent.ts Job) has its cell: runJob tells them apart by it. */
  KIND,
  /** x [rows' batch items, ...input, C], the kernel [taps·C, F], the bias [F] (0: none), y [rows, F]. */
  X, KERNEL, BIAS, Y,
  /** Part k's im2col rows start at WORK + k·WORK_BYTES. */
  WORK, WORK_BYTES,
  /** Output rows of the call (batch items × output positions) and the parts they are split into. */
  ROWS, PARTS,
  C, F,
  /** Three spatial axes (a lower rank has leading axes of size 1): sizes, kernel, strides, dilations, pads. */
  IN_D, IN_H, IN_W, OUT_D, OUT_H, OUT_W, K_D, K_H, K_W, S_D, S_H, S_W, D_D, D_H, D_W, P_D, P_H, P_W,
  /** 1: every output row reads its own input row as it is (1x1, stride 1, no padding): no gather. */
  POINTWISE,
  /** The record's length in i32 fields. */
  FIELDS,
}
export const JOB_PRODUCT: i32 = 2;

/**
 * Output rows a part gathers and multiplies at a time: the block stays in cache while the kernel
 * streams by. Each part's workspace holds this many im2col rows (the host reads it).
 */
const BLOCK_ROWS: i32 = 64;
export const PRODUCT_BLOCK_ROWS: i32 = BLOCK_ROWS;

/** The first row of part k of `parts` (a multiple of four, for gemm's four-row tiles, except the end). */
// @ts-ignore: decorator
@inline function partStart(rows: i32, parts: i32, k: i32): i32 {
  if (k >= parts) return rows;
  return min(rows, <i32>((<i64>rows * <i64>k / <i64>parts + 3) & ~3));
}

/** Computes parts from..to of the product job at `job` (see ProductJob); the caller meets the others after. */
export function runProducts(job: usize, from: i32, to: i32): void {
  const rows = field(job, ProductJob.ROWS);
  const parts = field(job, ProductJob.PARTS);
  const work = <usize>field(job, ProductJob.WORK);
  const workBytes = <usize>field(job, ProductJob.WORK_BYTES);
  for (let k = from; k < to; k++) {
    productRows(job, partStart(rows, parts, k), partStart(rows, parts, k + 1), work + <usize>k * workBytes);
  }
}

/** Rows lo..hi of the job, gathering into `work`. */
function productRows(job: usize, lo: i32, hi: i32, work: usize): void {
  if (hi <= lo) return;
  const x = <usize>field(job, ProductJob.X);
  const kernel = <usize>field(job, ProductJob.KERNEL);
  const bias = <usize>field(job, ProductJob.BIAS);
  const y = <usize>field(job, ProductJob.Y);
  const C = field(job, ProductJob.C);
  const F = field(job, ProductJob.F);
  const yRows = y + (<usize>lo * <usize>F << 2);
  if (field(job, ProductJob.POINTWISE)) {
    gemm(x + (<usize>lo * <usize>C << 2), C, kernel, F, yRows, F, hi - lo, C, F, bias, 0);
    return;
  }
  const width = field(job, ProductJob.K_D) * field(job, ProductJob.K_H) * field(job, ProductJob.K_W) * C;
  for (let start = lo; start < hi; start += BLOCK_ROWS) {
    const count = min(BLOCK_ROWS, hi - start);
    gatherRows(job, start, count, work);
    gemm(work, width, kernel, F, y + (<usize>start * <usize>F << 2), F, count, width, F, bias, 0);
  }
}

/**
 * Rows start..start+count of the im2col matrix into `dest`: row r holds, tap by tap (row-major over
 * the kernel's axes), the C input channels output row start + r reads, zeros where a tap falls in
 * the padding (src/kernels/conv/typescript.ts gatherBlock, the single-thread way, writes the same).
 */
function gatherRows(job: usize, start: i32, count: i32, dest: usize): void {
  const x = <usize>field(job, ProductJob.X);
  const C = field(job, ProductJob.C);
  const ID = field(job, ProductJob.IN_D), IH = field(job, ProductJob.IN_H), IW = field(job, ProductJob.IN_W);
  const OD = field(job, ProductJob.OUT_D), OH = field(job, ProductJob.OUT_H), OW = field(job, ProductJob.OUT_W);
  const KD = field(job, ProductJob.K_D), KH = field(job, ProductJob.K_H), KW = field(job, ProductJob.K_W);
  const SD = field(job, ProductJob.S_D), SH = field(job, ProductJob.S_H), SW = field(job, ProductJob.S_W);
  const DD = field(job, ProductJob.D_D), DH = field(job, ProductJob.D_H), DW = field(job, ProductJob.D_W);
  const PD = field(job, ProductJob.P_D), PH = field(job, ProductJob.P_H), PW = field(job, ProductJob.P_W);
  const outSize = OD * OH * OW;
  const channelBytes = <usize>C << 2;
  let to = dest;
  for (let row = start; row < start + count; row++) {
    const b = row / outSize;
    const pos = row - b * outSize;
    const ow = pos % OW;
    const oh = (pos / OW) % OH;
    const od = pos / (OW * OH);
    for (let kd = 0; kd < KD; kd++) {
      const id = od * SD + kd * DD - PD;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH + kh * DH - PH;
        const inside = id >= 0 && id < ID && ih >= 0 && ih < IH;
        const line = x + ((<usize>(b * ID + id) * <usize>IH + <usize>ih) * <usize>IW) * channelBytes;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW + kw * DW - PW;
          if (inside && iw >= 0 && iw < IW) copyChannels(to, line + <usize>iw * channelBytes, C);
          else memory.fill(to, 0, channelBytes);
          to += channelBytes;
        }
      }
    }
  }
}

/** C floats from `from` to `to`: one by one when few (a bulk copy's call costs more), else in bulk. */
// @ts-ignore: decorator
@inline function copyChannels(to: usize, from: usize, C: i32): void {
  if (C < 8) {
    for (let c = 0; c < C; c++) store<f32>(to + (<usize>c << 2), load<f32>(from + (<usize>c << 2)));
  } else memory.copy(to, from, <usize>C << 2);
}
