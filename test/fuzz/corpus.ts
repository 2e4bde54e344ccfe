/** The random fuzzer's corpus: every fixture in every format, .onnx files, .npy inputs, h5py layout files. */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, listFixtures } from "../helpers.js";

export type FileKind = "keras" | "h5" | "json" | "npy" | "hdf5" | "onnx";

export interface CorpusEntry {
  id: string;
  kind: FileKind;
  /** The model file (or the .npy file). */
  main: Uint8Array;
  mainName: string;
  /** The weights file, for model.json entries. */
  weights?: Uint8Array;
  inputs: { shape: number[]; data: number[] }[];
}

export function loadCorpus(): CorpusEntry[] {
  const corpus: CorpusEntry[] = [];
  for (const suite of ["seed", "real-world", "keras3", "keras2"]) {
    for (const fixture of listFixtures(suite)) {
      const inputs = fixture.inputs.map((t) => ({ shape: t.shape, data: t.data }));
      for (const format of fixture.formats) {
        const main = new Uint8Array(readFileSync(join(fixture.dir, format.model)));
        const kind: FileKind = format.model.endsWith(".keras")
          ? "keras"
          : format.model.endsWith(".json")
            ? "json"
            : "h5";
        const weights =
          format.weights === undefined ? undefined : new Uint8Array(readFileSync(join(fixture.dir, format.weights)));
        corpus.push({ id: `${fixture.id}/${format.model}`, kind, main, mainName: format.model, weights, inputs });
      }
    }
  }
  // ONNX models (torch and tf2onnx exports, single nodes), with the inputs their references use.
  const onnx = join(FIXTURES, "onnx");
  for (const name of readdirSync(onnx).sort()) {
    const io = JSON.parse(readFileSync(join(onnx, name, "io.json"), "utf8")) as Pick<CorpusEntry, "inputs">;
    const main = new Uint8Array(readFileSync(join(onnx, name, "model.onnx")));
    const inputs = io.inputs.map((t) => ({ shape: t.shape, data: t.data }));
    corpus.push({ id: `onnx/${name}/model.onnx`, kind: "onnx", main, mainName: "model.onnx", inputs });
  }
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".npy"))
        corpus.push({
          id: path.slice(FIXTURES.length),
          kind: "npy",
          main: new Uint8Array(readFileSync(path)),
          mainName: name,
          inputs: [],
        });
      // h5py files in layouts Keras does not write (chunked, compressed, compact, v2 headers): read whole.
      // They are few, so each is listed 10 times (about a tenth of all cases).
      else if (name.endsWith(".h5") && path.includes("/fixtures/hdf5/")) {
        const main = new Uint8Array(readFileSync(path));
        for (let i = 0; i < 10; i++)
          corpus.push({ id: path.slice(FIXTURES.length), kind: "hdf5", main, mainName: name, inputs: [] });
      }
    }
  };
  walk(FIXTURES.replace(/\/$/, ""));
  return corpus;
}
