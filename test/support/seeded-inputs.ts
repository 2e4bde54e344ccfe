/**
 * Seeded input tensors that the fixture generator makes with the same arithmetic
 * (tools/fixtures/real_world_fetched.py, seeded_uniform): an image batch is too large to commit
 * as JSON, so io.json records the seed and range, and the first values to check both sides agree.
 */
export interface SeededUniform {
  seed: number;
  low: number;
  high: number;
  /** token ids: floor of the value (still float32, as the model's input is) */
  integers?: boolean;
}

/**
 * `count` float32 values uniform in [low, high): mulberry32 from `seed`, low + (high - low) * u in
 * float64, rounded (or its floor for `integers`).
 */
export function seededUniform(count: number, { seed, low, high, integers = false }: SeededUniform): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const value = low + (high - low) * u;
    out[i] = integers ? Math.floor(value) : value;
  }
  return out;
}
