/**
 * The WebAssembly SIMD kernels (wasm/kernels.ts, compiled into wasm-binary.ts, and with relaxed
 * SIMD's fused multiply-add into wasm-relaxed-binary.ts): whether this runtime has them, which
 * kernel path models loaded now use, and the thread team (if any). What each layer runs on is
 * decided from these by the plan (plan.ts).
 */
import { KeraslessError } from "../errors.js";
import type { Activation } from "./activations.js";
import type { ConvCall, ConvShape } from "./conv/geometry.js";
import { WASM_KERNELS_BASE64 } from "./wasm-binary.js";

export type KernelPath = "wasm" | "js";

/** The WebAssembly instruction sets the kernels are built for: relaxed SIMD (FMA) or SIMD128. */
export type WasmFeatures = "relaxed-simd" | "simd128";

/** undefined: not tried yet; null: not available (yet). */
let compiled: { module: WebAssembly.Module; features: WasmFeatures } | null | undefined;
let preferred: KernelPath | "auto" = "auto";
let relaxedAllowed = true;
/**
 * The relaxed-SIMD build (wasm-relaxed-binary.ts), when an entry provides it: the Node entry does
 * (src/node/kernel-threads.ts); the browser bundle leaves it out to stay within its size budget.
 */
let relaxedBase64: string | null = null;

/** @internal Makes the relaxed-SIMD build available to models loaded from now on. */
export function provideRelaxedBuild(base64: string): void {
  relaxedBase64 = base64;
  compiled = undefined;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The build this runtime runs best: relaxed SIMD where it validates, else SIMD128, else none. */
function supportedBuild(): { bytes: Uint8Array<ArrayBuffer>; features: WasmFeatures } | null {
  if (relaxedAllowed && relaxedBase64 !== null) {
    const relaxed = decodeBase64(relaxedBase64);
    if (WebAssembly.validate(relaxed)) return { bytes: relaxed, features: "relaxed-simd" };
  }
  // Runtimes without SIMD reject the module: they keep the TypeScript kernels.
  const simd = decodeBase64(WASM_KERNELS_BASE64);
  return WebAssembly.validate(simd) ? { bytes: simd, features: "simd128" } : null;
}

/** The module the application gave (useKernelModule): used instead of compiling the embedded bytes. */
let given: { module: WebAssembly.Module; features: WasmFeatures } | null = null;

/**
 * Runs the WebAssembly kernels of models loaded from now on from a module the runtime compiled,
 * for runtimes that refuse to compile WebAssembly from bytes at run time but take a `.wasm` module
 * import: Cloudflare Workers ("Wasm code generation disallowed by embedder"). The package ships
 * the modules as `kerasless/wasm/kernels-simd128.wasm` and `kerasless/wasm/kernels-relaxed-simd.wasm`
 * (`features` says which one it is); `kerasless/workers`, which Wrangler picks for `kerasless`,
 * imports the SIMD128 one and calls this.
 */
export function useKernelModule(module: WebAssembly.Module, features: WasmFeatures = "simd128"): void {
  const exported = typeof WebAssembly === "object" && module instanceof WebAssembly.Module ? module : null;
  const names = exported === null ? [] : WebAssembly.Module.exports(exported).map((e) => `${e.kind} ${e.name}`);
  if (!["memory memory", "function gemm", "function runJob"].every((name) => names.includes(name)))
    throw new KeraslessError("E_UNSUPPORTED", "useKernelModule() needs kerasless' kernel module (kernels-*.wasm)");
  if (features !== "simd128" && features !== "relaxed-simd")
    throw new KeraslessError("E_UNSUPPORTED", `unknown WebAssembly features "${String(features)}"`);
  given = { module, features };
}

function compiledKernels(): { module: WebAssembly.Module; features: WasmFeatures } | null {
  if (given !== null) return given;
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return null;
  const build = supportedBuild();
  if (build === null) return null;
  const { bytes, features } = build;
  try {
    compiled = { module: new WebAssembly.Module(bytes), features };
  } catch {
    // Browsers may refuse to compile synchronously on their main thread: compile in the
    // background, and models loaded after it finishes use it.
    WebAssembly.compile(bytes).then(
      (module) => (compiled = { module, features }),
      () => undefined,
    );
  }
  return compiled;
}

/** The compiled kernel module, or null where the runtime cannot run it (yet). */
export function kernelModule(): WebAssembly.Module | null {
  return compiledKernels()?.module ?? null;
}

/** The instruction set of the WebAssembly kernels (detected once, at first use), or null without them. */
export function wasmFeatures(): WasmFeatures | null {
  return compiledKernels()?.features ?? null;
}

/**
 * @internal "simd128" keeps models loaded from now on on the SIMD128 build even where relaxed
 * SIMD runs ("auto": the best build). For tests and benchmarks that compare the two.
 */
export function setWasmFeatures(features: "simd128" | "auto"): void {
  relaxedAllowed = features === "auto";
  compiled = undefined;
}

/**
 * Selects the kernels for models loaded from now on: "wasm" (WebAssembly SIMD), "js" (plain
 * TypeScript) or "auto" (the default: WebAssembly SIMD where the runtime has it). Both give
 * Keras' results within the same tolerance; "js" is the reference path.
 */
export function setKernelPath(path: KernelPath | "auto"): void {
  if (path !== "wasm" && path !== "js" && path !== "auto")
    throw new KeraslessError("E_UNSUPPORTED", `unknown kernel path "${String(path)}" (wasm, js or auto)`);
  if (path === "wasm" && kernelModule() === null)
    throw new KeraslessError("E_UNSUPPORTED", "this runtime cannot run the WebAssembly SIMD kernels");
  preferred = path;
}

/** The kernels a model loaded now would use. */
export function kernelPath(): KernelPath {
  return preferred !== "js" && kernelModule() !== null ? "wasm" : "js";
}

/**
 * Threads that run recurrent sequences, convolutions and matrix products together with the calling
 * thread, on WebAssembly memories they share (wasm/kernels.ts built with threads; team-memory.ts).
 * The Node entry provides one (setKernelThreads); the core only uses it. The calling thread blocks
 * until its helpers are done, so predict() stays synchronous.
 */
export interface KernelTeam {
  /** Threads including the calling one. */
  readonly size: number;
  /** wasm/kernels.ts compiled with threads: its memory is imported ("env", "memory") and shared. */
  readonly module: WebAssembly.Module;
  /** Hands a shared memory (and an instance of `module` on it) to the helpers; returns its id. */
  attach(memory: WebAssembly.Memory): number;
  /** How many helpers have their instance for `id` (the team is used once all have). */
  ready(id: number): number;
  /**
   * Starts helpers 1..threads-1 on the job record at address `job` of memory `id` (wasm/recurrent.ts
   * runJob: helper i runs block or part i), meeting at the barrier `counter`. Allocates nothing (it
   * runs every step).
   */
  dispatch(id: number, job: number, threads: number, counter: number): void;
  /** The memory is no longer used. */
  detach(id: number): void;
  /**
   * A convolution with one group (without spatial axes: a matrix product) whose output rows the
   * team splits (conv/team.ts; the Node entry brings it, so browser bundles leave it out).
   */
  product(shape: ConvShape, kernel: Float32Array, bias: Float32Array | null, epilogue: Activation | null): TeamProduct;
}

/** A product of KernelTeam.product(): allocates nothing per call once it has run on as large a call. */
export interface TeamProduct {
  readonly shape: ConvShape;
  /** The convolution of one call (channels_last). */
  run(x: Float32Array, call: ConvCall, y: Float32Array): void;
  /** c[cOffset + m·F ..] = epilogue(bias + a[aOffset + m·C ..] · kernel) for m < rows. */
  runRows(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void;
  /** The kernel and bias (if any), read back. */
  held(): Float32Array[];
}

let team: KernelTeam | null = null;

/** The team models loaded now would use, or null. */
export function kernelTeam(): KernelTeam | null {
  return kernelPath() === "wasm" ? team : null;
}

/** @internal The team that cells created from now on use (null: none). */
export function setKernelTeam(next: KernelTeam | null): void {
  team = next;
}

/** Threads the kernels of models loaded now would use (1 without a team). */
export function kernelThreads(): number {
  return team !== null && kernelPath() === "wasm" ? team.size : 1;
}
