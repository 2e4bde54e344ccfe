/** Without the ONNX front end registered (a browser bundle of the core), a .onnx file is not recognised. */
import { test } from "node:test";
import { loadModelFromBytes } from "../../src/load.js";
import { rejects } from "../helpers.js";
import { reluModel } from "./write.js";

test("an .onnx file without the front end is an unknown format", () => {
  rejects(
    () => loadModelFromBytes({ name: "m.onnx", bytes: reluModel() }),
    "E_FORMAT",
    /^m\.onnx: not a Keras model file/,
  );
});
