/** Without the ONNX front end registered (a browser bundle of the core), a .onnx file gets a clear error. */
import { test } from "node:test";
import { loadModelFromBytes } from "../../src/load.js";
import { rejects } from "../helpers.js";
import { reluModel } from "./write.js";

test("an .onnx file without the front end asks for kerasless/onnx", () => {
  rejects(
    () => loadModelFromBytes({ name: "m.onnx", bytes: reluModel() }),
    "E_UNSUPPORTED",
    /^m\.onnx: this looks like an ONNX model, and this build leaves ONNX out: import "kerasless\/onnx"/,
  );
});
