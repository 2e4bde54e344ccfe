/** JSON-aware edits of model configs: numbers, types, class names, deep nesting, `__proto__` keys. */
import { unzipSync, zipSync } from "fflate";
import { flipBits } from "./bytes.js";
import type { Rng } from "./rng.js";

const CLASS_NAMES = [
  "Dense",
  "LSTM",
  "GRU",
  "SimpleRNN",
  "Bidirectional",
  "TimeDistributed",
  "Lambda",
  "Embedding",
  "Reshape",
  "Concatenate",
  "Sequential",
  "Functional",
  "InputLayer",
  "Conv1D",
  "Masking",
  "__proto__",
  "constructor",
  "NoSuchLayer",
];
const HOSTILE_KEYS = ["__proto__", "constructor", "prototype"];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function jsonPaths(
  value: Json,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(path);
  if (out.length > 5000) return out;
  if (Array.isArray(value)) value.forEach((v, i) => jsonPaths(v, [...path, i], out));
  else if (value !== null && typeof value === "object")
    for (const k of Object.keys(value)) jsonPaths(value[k], [...path, k], out);
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p];
  return v;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function nest(depth: number, inner: Json): string {
  return "[".repeat(depth) + JSON.stringify(inner) + "]".repeat(depth);
}

export function mutateJsonText(rng: Rng, text: string): [string, string] {
  try {
    return editJson(rng, JSON.parse(text) as Json, text);
  } catch {
    // Not JSON, or nested too deeply for these recursive helpers (an earlier edit nested it).
    return [text, "json edit skipped"];
  }
}

function editJson(rng: Rng, json: Json, text: string): [string, string] {
  const paths = jsonPaths(json);
  const path = rng.pick(paths);
  const current = getAt(json, path);
  const where = path.join(".");
  switch (rng.int(9)) {
    case 0: {
      const value = rng.pick([-1, 0, 1, 2 ** 31, 2 ** 53, 1e300, 1.5, -(2 ** 31), 1e9, 65536]);
      return [JSON.stringify(setAt(json, path, value)), `json ${where} = ${value}`];
    }
    case 1: {
      const value = rng.pick<Json>([null, true, "x", [], {}, [null], { class_name: "Dense", config: {} }, [1, 2, 3]]);
      return [JSON.stringify(setAt(json, path, value)), `json ${where} = ${JSON.stringify(value)}`];
    }
    case 2:
      if (path.length === 0) return [text, "json delete skipped"];
      return [JSON.stringify(setAt(json, path, undefined)), `json delete ${where}`];
    case 3: {
      const classPaths = paths.filter((p) => p[p.length - 1] === "class_name");
      if (classPaths.length === 0) return [text, "json class edit skipped"];
      const target = rng.pick(classPaths);
      const name = rng.pick(CLASS_NAMES);
      return [JSON.stringify(setAt(json, target, name)), `json ${target.join(".")} = "${name}"`];
    }
    case 4: {
      const objects = paths.filter((p) => {
        const v = getAt(json, p);
        return v !== null && typeof v === "object" && !Array.isArray(v);
      });
      const target = rng.pick(objects.length > 0 ? objects : [[]]);
      const key = rng.pick(HOSTILE_KEYS);
      const text2 = JSON.stringify(json);
      const serialized = JSON.stringify(getAt(json, target));
      if (serialized === undefined || !serialized.startsWith("{")) return [text, "json key skipped"];
      const rest = `${serialized.length > 2 ? "," : ""}${serialized.slice(1)}`;
      const injected = `{"${key}": {"polluted": true, "class_name": "Dense", "units": 3}${rest}`;
      return [text2.replace(serialized, injected), `json ${target.join(".")} gets key "${key}"`];
    }
    case 5: {
      const depth = rng.pick([100, 600, 5000, 20000]);
      const serialized = JSON.stringify(current);
      const whole = JSON.stringify(json);
      if (serialized === undefined || path.length === 0) return [nest(depth, json), `json nested ${depth} deep`];
      return [whole.replace(serialized, nest(depth, current)), `json ${where} nested ${depth} deep`];
    }
    case 6: {
      if (!Array.isArray(current) || current.length === 0)
        return [JSON.stringify(setAt(json, path, [current, current])), `json ${where} doubled`];
      current.push(...current.slice(0, 1 + rng.int(current.length)));
      return [JSON.stringify(json), `json ${where} items duplicated`];
    }
    case 7: {
      // Give two layers the same name, or point a reference at another layer.
      const names = paths.filter((p) => p[p.length - 1] === "name" && typeof getAt(json, p) === "string");
      if (names.length < 2) return [text, "json rename skipped"];
      const a = rng.pick(names);
      const b = rng.pick(names);
      return [JSON.stringify(setAt(json, a, getAt(json, b))), `json ${a.join(".")} = ${b.join(".")}`];
    }
    default: {
      const value = rng.pick<Json>([[null, null, null], [0, 0, 0], [1e6, 1e6], [-1, 3], [], [null]]);
      const shapes = paths.filter((p) => /shape$/.test(String(p[p.length - 1])));
      const target = shapes.length > 0 ? rng.pick(shapes) : path;
      return [JSON.stringify(setAt(json, target, value)), `json ${target.join(".")} = ${JSON.stringify(value)}`];
    }
  }
}

export function mutateKerasConfig(rng: Rng, bytes: Uint8Array): [Uint8Array, string] {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch {
    return [flipBits(rng, bytes), "bit flips (zip unreadable)"];
  }
  const name = rng.chance(0.85) ? "config.json" : "metadata.json";
  const text = new TextDecoder().decode(members[name] ?? new Uint8Array(0));
  const [edited, what] = mutateJsonText(rng, text);
  members[name] = new TextEncoder().encode(edited);
  return [zipSync(members, { level: 0 }), `${name}: ${what}`];
}
