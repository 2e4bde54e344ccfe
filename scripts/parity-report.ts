/** Prints the largest error against Keras over every fixture and format (for docs and notes). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../src/load.js";
import { listFixtures } from "../test/helpers.js";

let worst = 0;
let files = 0;
let values = 0;
// Fraction of the allowed error (1e-5 + 1e-4|expected|) used by the worst value, and where.
let worstShare = { share: 0, where: "" };
for (const suite of ["seed", "real-world", "keras3", "keras2"]) {
  let suiteWorst = 0;
  for (const fixture of listFixtures(suite)) {
    for (const format of fixture.formats) {
      const read = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(fixture.dir, name))) });
      const model = loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
      const outputs = model.predict(fixture.inputs.map((t) => ({ shape: t.shape, data: t.data })));
      files++;
      fixture.outputs.forEach((expected, k) =>
        expected.data.forEach((v, i) => {
          values++;
          const error = Math.abs(outputs[k].data[i] - v);
          suiteWorst = Math.max(suiteWorst, error);
          const share = error / (1e-5 + 1e-4 * Math.abs(v));
          if (share > worstShare.share)
            worstShare = {
              share,
              where:
                `${fixture.id} ${format.model} output ${k} value ${i} ` +
                `(expected ${v}, error ${error.toExponential(2)})`,
            };
        }),
      );
    }
  }
  console.log(`${suite.padEnd(11)} max |kerasless - Keras| = ${suiteWorst.toExponential(2)}`);
  worst = Math.max(worst, suiteWorst);
}
console.log(`all: ${files} model files, ${values} output values, max abs error ${worst.toExponential(2)}`);
console.log(`largest share of the tolerance used: ${(worstShare.share * 100).toFixed(2)}% at ${worstShare.where}`);
