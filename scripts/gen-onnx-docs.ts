/**
 * Writes docs/supported-onnx-ops.md from the ONNX ops registry (src/onnx/ops/registry.ts) and the
 * docs-only summaries of what each op supports (onnx-op-summaries.ts).
 * `npm test` checks that it is current (test/onnx/docs.test.ts).
 */
import { writeFileSync } from "node:fs";
import { MAX_OPSET, MIN_OPSET, onnxOps } from "../src/onnx/ops/registry.js";
import { onnxOpSummaries } from "./onnx-op-summaries.js";

export function onnxOpsPage(): string {
  const families = ["recurrent", "math", "convolution", "elementwise", "shape", "control"];
  const ops = [...onnxOps].sort(
    (a, b) => families.indexOf(a.family) - families.indexOf(b.family) || a.opType.localeCompare(b.opType),
  );
  const unlisted = Object.keys(onnxOpSummaries).filter((opType) => !ops.some((op) => op.opType === opType));
  if (unlisted.length > 0) throw new Error(`scripts/onnx-op-summaries.ts lists ops not in the registry: ${unlisted}`);
  const rows = ops.map((op) => {
    const summary = onnxOpSummaries[op.opType];
    if (summary === undefined) throw new Error(`${op.opType} has no summary in scripts/onnx-op-summaries.ts`);
    return `| \`${op.opType}\` | ${op.family} | ${op.since} | ${summary} |`;
  });
  return [
    "# Supported ONNX operators",
    "",
    "Generated from the ops registry (`src/onnx/ops/registry.ts`) by `npm run docs:onnx`. Default",
    `domain only, opsets ${MIN_OPSET} to ${MAX_OPSET}, IR version 3 and later. Any other op, domain, opset or`,
    "attribute is reported at load, every one of them in one error. Nodes whose inputs are all",
    "constants (initializers, shape arithmetic on known shapes) are computed once at load.",
    "",
    "| op | family | from opset | what is supported |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL("../", import.meta.url).pathname;
  writeFileSync(`${root}docs/supported-onnx-ops.md`, onnxOpsPage());
  console.log("wrote docs/supported-onnx-ops.md");
}
