/**
 * The measurements behind docs/decisions.md's "own protobuf reader for .onnx": bundle size,
 * decoding speed and behaviour on hostile files, kerasless' reader vs protobufjs (the maintained
 * library; here as onnxruntime-web's dependency, reflection over a descriptor of the same
 * onnx.proto subset kerasless decodes).
 *
 *   node --import tsx bench/onnx-protobuf.ts
 */
import { gzipSync } from "node:zlib";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import protobuf from "protobufjs/light.js";
import { ProtoReader } from "../src/io/protobuf.js";
import { decodeModel } from "../src/onnx/proto.js";
import { describeThrown } from "../src/errors.js";

const root = fileURLToPath(new URL("../", import.meta.url));

const F = (id: number, type: string, rule?: "repeated"): protobuf.IField & { rule?: string } => ({ id, type, rule });
const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: { irVersion: F(1, "int64"), graph: F(7, "GraphProto"), opsetImport: F(8, "Opset", "repeated") },
        },
        Opset: { fields: { domain: F(1, "string"), version: F(2, "int64") } },
        GraphProto: {
          fields: {
            node: F(1, "NodeProto", "repeated"),
            name: F(2, "string"),
            initializer: F(5, "TensorProto", "repeated"),
            input: F(11, "ValueInfo", "repeated"),
            output: F(12, "ValueInfo", "repeated"),
          },
        },
        NodeProto: {
          fields: {
            input: F(1, "string", "repeated"),
            output: F(2, "string", "repeated"),
            name: F(3, "string"),
            opType: F(4, "string"),
            attribute: F(5, "Attribute", "repeated"),
            domain: F(7, "string"),
          },
        },
        Attribute: {
          fields: {
            name: F(1, "string"),
            f: F(2, "float"),
            i: F(3, "int64"),
            s: F(4, "bytes"),
            t: F(5, "TensorProto"),
            g: F(6, "GraphProto"),
            floats: F(7, "float", "repeated"),
            ints: F(8, "int64", "repeated"),
            type: F(20, "int32"),
          },
        },
        TensorProto: {
          fields: {
            dims: F(1, "int64", "repeated"),
            dataType: F(2, "int32"),
            floatData: F(4, "float", "repeated"),
            int64Data: F(7, "int64", "repeated"),
            name: F(8, "string"),
            rawData: F(9, "bytes"),
          },
        },
        ValueInfo: { fields: { name: F(1, "string") } },
      },
    },
  },
};

async function gzipSize(entry: string): Promise<number> {
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: root, loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    minify: true,
    write: false,
    legalComments: "none",
  });
  return gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, runs: number): { median: number; min: number; max: number } {
  for (let i = 0; i < 20; i++) fn(); // both decoders JIT-compiled before timing
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

// --- hostile inputs --------------------------------------------------------------------------
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (id: number, body: number[]): number[] => [...varint(id * 8 + 2), ...varint(body.length), ...body];

/** graph -> node -> attribute -> graph -> ... `depth` levels down (a nested message bomb). */
function nestingBomb(depth: number): Uint8Array {
  let body: number[] = [];
  for (let i = 0; i < depth; i++) body = field(1, field(5, field(6, body)));
  return Uint8Array.from([0x08, 0x08, ...field(7, body)]);
}

const hostile: Record<string, Uint8Array> = {
  "length past the end": Uint8Array.from([0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0x7f, 0x0a]),
  "11-byte varint": Uint8Array.from([0x08, ...new Array<number>(10).fill(0xff), 0x01]),
  "truncated varint": Uint8Array.from([0x08, 0x88]),
  "packed dims claiming 2^31 bytes": Uint8Array.from([
    0x08,
    0x08,
    ...field(7, field(5, [0x0a, 0xff, 0xff, 0xff, 0xff, 0x07])),
  ]),
  "nesting 3000 levels": nestingBomb(3000),
};

async function main(): Promise<void> {
  const own = await gzipSize(
    `import { ProtoReader } from "./src/io/protobuf.ts"; import { decodeModel } from "./src/onnx/proto.ts";
     export const decode = (b) => decodeModel(ProtoReader.of(b, "x"));`,
  );
  const library = await gzipSize(
    `import protobuf from "protobufjs/light.js"; const d = ${JSON.stringify(descriptor)};
     const M = protobuf.Root.fromJSON(d).lookupType("onnx.ModelProto"); export const decode = (b) => M.decode(b);`,
  );
  console.log(`bundle (min+gzip): own reader + onnx decoding ${own} B; protobufjs/light + descriptor ${library} B`);

  const Model = protobuf.Root.fromJSON(descriptor).lookupType("onnx.ModelProto");
  const files = [
    ...readdirSync(`${root}test/fixtures/onnx`).map((d) => `${root}test/fixtures/onnx/${d}/model.onnx`),
    ...["lstm128", "gru64x2"].map((m) => `${root}bench/models/${m}.onnx`),
  ];
  const all = files.map((f) => readFileSync(f));
  const ownTime = time(() => all.forEach((b) => decodeModel(ProtoReader.of(b, "x"))), 50);
  const libTime = time(() => all.forEach((b) => Model.decode(b)), 50);
  const total = all.reduce((n, b) => n + b.length, 0);
  console.log(`decode ${all.length} files (${total} B), ms per pass, median [min-max] of 50:`);
  console.log(`  own        ${ownTime.median.toFixed(2)} [${ownTime.min.toFixed(2)}-${ownTime.max.toFixed(2)}]`);
  console.log(`  protobufjs ${libTime.median.toFixed(2)} [${libTime.min.toFixed(2)}-${libTime.max.toFixed(2)}]`);

  console.log("hostile files:");
  for (const [name, bytes] of Object.entries(hostile)) {
    const outcome = (fn: () => unknown): string => {
      try {
        fn();
        return "decoded without error";
      } catch (e) {
        return `${(e as Error).constructor.name}: ${describeThrown(e).slice(0, 90)}`;
      }
    };
    console.log(`  ${name}`);
    console.log(`    own:        ${outcome(() => decodeModel(ProtoReader.of(bytes, "x")))}`);
    console.log(`    protobufjs: ${outcome(() => Model.decode(bytes))}`);
  }
}

await main();
