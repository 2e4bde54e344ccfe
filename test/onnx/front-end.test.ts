/** Without the ONNX front end registered (a browser bundle of the core), a .onnx file gets a clear error. */
import { test } from "node:test";
import { loadModelFromBytes } from "../../src/load.js";
import { rejects } from "../helpers.js";
import { reluModel } from "./write.js";

test("an .onnx file without the front end asks for kerasless/onnx", () => {
  rejects(
    () => loadModelFromBytes({ name: "m.onnx", bytes: reluModel() }),
    "E_UNSUPPORTED",
    /^m\.onnx: an ONNX model: import "kerasless\/onnx" to load it/,
  );
});
