/**
 * What every WebAssembly kernel instance does with its memory: weights copied in once, one after
 * another, and workspaces laid out after them, growing the memory as needed. Addresses are bytes,
 * 16-byte aligned for the SIMD loads; address 0 means "none" to the kernels.
 */

export const align = (bytes: number): number => (bytes + 15) & ~15;

/** Grows `memory` until it holds `bytes` bytes. */
export function reserve(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}

/**
 * Copies arrays into `memory` one after another from address `start`: place() returns each one's
 * address (0 for null); `end` is where the next would go (the workspace's start).
 */
export class MemoryPlacer {
  constructor(
    private readonly memory: WebAssembly.Memory,
    public end: number,
  ) {}

  place(values: Float32Array | null): number {
    if (values === null) return 0;
    const ptr = this.end;
    this.end = align(ptr + values.length * 4);
    reserve(this.memory, this.end);
    new Float32Array(this.memory.buffer, ptr, values.length).set(values);
    return ptr;
  }
}
