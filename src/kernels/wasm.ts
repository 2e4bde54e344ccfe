/**
 * The WebAssembly SIMD kernels: whether this runtime has them, which kernel path models loaded now
 * use, and the thread team (if any). What each layer runs on is decided from these by the plan
 * (plan.ts). The kernels come in two modules (kernel families, scripts/build-wasm.ts): the core
 * (wasm/kernels.ts: matrix product and recurrent sequences, embedded here) and the convolution
 * family (wasm/conv-kernels.ts, embedded by src/kernels/conv/ alone, so that bundles without
 * convolutions leave it out). Each is embedded as base64 of its zlib-compressed bytes, built with
 * SIMD128 and with relaxed SIMD's fused multiply-add.
 */
import { unzlibSync } from "fflate";
import { KeraslessError } from "../errors.js";
import { WASM_KERNELS_BASE64 } from "./wasm-binary.js";

export type KernelPath = "wasm" | "js";

/** The WebAssembly instruction sets the kernels are built for: relaxed SIMD (FMA) or SIMD128. */
export type WasmFeatures = "relaxed-simd" | "simd128";

/**
 * A module of kernels, with its SIMD128 build (base64 of the zlib-compressed module), which every
 * runtime with SIMD runs.
 */
export interface KernelFamily {
  readonly name: "core" | "conv";
  readonly simd128: string;
}

/** The core kernels: the matrix product and the recurrent sequences (Dense, recurrent layers, ConvLSTM, im2col). */
export const CORE_KERNELS: KernelFamily = { name: "core", simd128: WASM_KERNELS_BASE64 };

/** Exports that only each family's module has: how useKernelModule tells the modules apart. */
const MARKS: Record<KernelFamily["name"], readonly string[]> = { core: ["gemm", "runJob"], conv: ["depthwise"] };

type Compiled = { module: WebAssembly.Module; features: WasmFeatures };

/** Per family: undefined: not tried yet; null: not available (yet). */
const compiled = new Map<KernelFamily["name"], Compiled | null>();
/** The modules the application gave (useKernelModule): used instead of compiling the embedded bytes. */
const given = new Map<KernelFamily["name"], Compiled>();
let preferred: KernelPath | "auto" = "auto";
let relaxedAllowed = true;
/**
 * The relaxed-SIMD builds, when an entry provides them: the Node entry does
 * (src/node/kernel-threads.ts); the browser bundles leave them out to stay within their size budgets.
 */
const relaxedBuilds = new Map<KernelFamily["name"], string>();

/** @internal Makes a family's relaxed-SIMD build available to models loaded from now on. */
export function provideRelaxedBuild(base64: string, family: KernelFamily["name"] = "core"): void {
  relaxedBuilds.set(family, base64);
  compiled.delete(family);
}

/** A module's bytes from its embedded text (base64 of the zlib-compressed module, scripts/build-wasm.ts). */
export function kernelBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Uint8Array(unzlibSync(bytes));
}

/** The build of `family` this runtime runs best: relaxed SIMD where it validates, else SIMD128, else none. */
function supportedBuild(family: KernelFamily): { bytes: Uint8Array<ArrayBuffer>; features: WasmFeatures } | null {
  const relaxedText = relaxedBuilds.get(family.name);
  if (relaxedAllowed && relaxedText !== undefined) {
    const relaxed = kernelBytes(relaxedText);
    if (WebAssembly.validate(relaxed)) return { bytes: relaxed, features: "relaxed-simd" };
  }
  // Runtimes without SIMD reject the module: they keep the TypeScript kernels.
  const simd = kernelBytes(family.simd128);
  return WebAssembly.validate(simd) ? { bytes: simd, features: "simd128" } : null;
}

/**
 * Runs the WebAssembly kernels of models loaded from now on from modules the runtime compiled,
 * for runtimes that refuse to compile WebAssembly from bytes at run time but take a `.wasm` module
 * import: Cloudflare Workers ("Wasm code generation disallowed by embedder"). The package ships
 * each kernel family's module in both builds, `kerasless/wasm/kernels-simd128.wasm` (the core) and
 * `kerasless/wasm/conv-kernels-simd128.wasm` (convolutions), and their `-relaxed-simd` forms
 * (`features` says which build it is); call this once for each module. `kerasless/workers`, which
 * Wrangler picks for `kerasless`, imports both SIMD128 modules and calls this. A family without a
 * given module runs in TypeScript.
 */
export function useKernelModule(module: WebAssembly.Module, features: WasmFeatures = "simd128"): void {
  const exported = typeof WebAssembly === "object" && module instanceof WebAssembly.Module ? module : null;
  const names = exported === null ? [] : WebAssembly.Module.exports(exported).map((e) => e.name);
  const family = (["core", "conv"] as const).find((name) =>
    ["memory", ...MARKS[name]].every((mark) => names.includes(mark)),
  );
  if (family === undefined)
    throw new KeraslessError(
      "E_UNSUPPORTED",
      "useKernelModule() needs one of kerasless' kernel modules (*kernels-*.wasm)",
    );
  if (features !== "simd128" && features !== "relaxed-simd")
    throw new KeraslessError("E_UNSUPPORTED", `unknown WebAssembly features "${String(features)}"`);
  given.set(family, { module, features });
}

function compiledKernels(family: KernelFamily): Compiled | null {
  const module = given.get(family.name) ?? compiled.get(family.name);
  if (module !== undefined) return module;
  compiled.set(family.name, null);
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return null;
  const build = supportedBuild(family);
  if (build === null) return null;
  const { bytes, features } = build;
  try {
    compiled.set(family.name, { module: new WebAssembly.Module(bytes), features });
  } catch {
    // Browsers may refuse to compile synchronously on their main thread: compile in the
    // background, and models loaded after it finishes use it.
    WebAssembly.compile(bytes).then(
      (module) => compiled.set(family.name, { module, features }),
      () => undefined,
    );
  }
  return compiled.get(family.name) ?? null;
}

/** The compiled module of a kernel family (the core by default), or null where the runtime cannot run it (yet). */
export function kernelModule(family: KernelFamily = CORE_KERNELS): WebAssembly.Module | null {
  return compiledKernels(family)?.module ?? null;
}

/** The instruction set of the WebAssembly kernels (detected once, at first use), or null without them. */
export function wasmFeatures(): WasmFeatures | null {
  return compiledKernels(CORE_KERNELS)?.features ?? null;
}

/**
 * @internal "simd128" keeps models loaded from now on on the SIMD128 build even where relaxed
 * SIMD runs ("auto": the best build). For tests and benchmarks that compare the two.
 */
export function setWasmFeatures(features: "simd128" | "auto"): void {
  relaxedAllowed = features === "auto";
  compiled.clear();
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
 * Threads that run recurrent sequences together with the calling thread, on WebAssembly memories
 * they share (wasm/kernels.ts built with threads). The Node entry provides one (setKernelThreads); the core only
 * uses it. The calling thread blocks until its helpers are done, so predict() stays synchronous.
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
   * runJob: helper i runs block i), meeting at the barrier `counter`. Allocates nothing (it runs
   * every step).
   */
  dispatch(id: number, job: number, threads: number, counter: number): void;
  /** The memory is no longer used. */
  detach(id: number): void;
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

/** Threads the recurrent kernels of models loaded now would use (1 without a team). */
export function kernelThreads(): number {
  return team !== null && kernelPath() === "wasm" ? team.size : 1;
}
