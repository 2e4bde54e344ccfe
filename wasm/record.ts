// The records a host writes into WebAssembly memory to describe a call: a recurrent job
// (recurrent.ts Job), a product job (products.ts ProductJob), a depthwise convolution's geometry
// (depthwise.ts DepthwiseGeometry). Each is a run of i32 fields numbered by an exported enum, whose
// names the host reads from the module's exports (src/kernels/wasm-exports.ts recordFields); the
// kernels read a field where they use it, with field().

/** Field `index` of the record at address `record`. */
// @ts-ignore: decorator
@inline export function field(record: usize, index: i32): i32 {
  return load<i32>(record + (<usize>index << 2));
}
