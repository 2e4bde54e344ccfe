// A `.wasm` import, as Wrangler (and workerd) resolve it: the module, compiled when the Worker loads.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
