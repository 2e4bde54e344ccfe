/**
 * End to end: the web demo (examples/web/) in Debian's Chromium, driven by playwright-core.
 * Loads the seed model and CSV the way a person would and checks that the numbers on the page
 * are Keras' own (examples/seed/io.json, test/fixtures/seed/meta.json). Saves a screenshot to
 * tmp/e2e/web-demo.png.
 *
 *   npm run test:e2e      (needs /usr/bin/chromium; .ci/run installs it)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { WEB_ROOT, serveDirectory, type WebServer } from "../../scripts/serve-web.js";
import { allSnippets, WORKSPACE_FILES } from "../docs/snippets.js";
import { ABS_TOLERANCE, REL_TOLERANCE } from "../helpers.js";

const root = new URL("../../", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = `${root}tmp/e2e/web-demo.png`;

const keras: number[] = JSON.parse(readFileSync(`${root}examples/seed/io.json`, "utf8")).outputs[0].data;
const kerasSummary: string = JSON.parse(readFileSync(`${root}test/fixtures/seed/meta.json`, "utf8")).summary;
const csvY = readFileSync(`${root}examples/seed/LSTM_sample.csv`, "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => Number(line.split(",")[3]));

let server: WebServer;
let browser: Browser;
let page: Page;
const pageProblems: string[] = [];
const foreignRequests: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  assert.ok(existsSync(`${WEB_ROOT}build/demo.js`), "examples/web/build/ is missing: run npm run build");
  server = await serveDirectory(WEB_ROOT);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-domain-reliability",
      "--no-first-run",
      "--no-default-browser-check",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  page.on("pageerror", (e) => pageProblems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageProblems.push(`console error: ${m.text()}`);
  });
  // The page must need nothing but its own server (the machine may be offline).
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url)) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]");
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const closeTo = (got: number, want: number): boolean =>
  Math.abs(got - want) <= ABS_TOLERANCE + REL_TOLERANCE * Math.abs(want);

/** The predictions table as text, one record per row keyed by column heading. */
async function predictionRows(): Promise<Record<string, string>[]> {
  await page.waitForSelector("#results-section[data-state=done]");
  return page.$$eval("#predictions", ([table]) => {
    const heads = Array.from((table as HTMLTableElement).tHead!.rows[0].cells).map((c) => c.textContent ?? "");
    return Array.from((table as HTMLTableElement).tBodies[0].rows).map((row) =>
      Object.fromEntries(Array.from(row.cells).map((c, i) => [heads[i], c.textContent ?? ""])),
    );
  });
}

function assertKerasPredictions(rows: Record<string, string>[]): void {
  assert.equal(rows.length, keras.length, "one row per look-back window");
  rows.forEach((row, i) => {
    const shown = Number(row["predicted (dense)"]);
    assert.ok(closeTo(shown, keras[i]), `window ${i}: the page shows ${shown}, Keras predicted ${keras[i]}`);
    assert.equal(Number(row["actual (Y)"]), csvY[i + 3], `window ${i}: actual value is Y at the window's last row`);
    assert.equal(row.rows, `${i + 1}–${i + 4}`);
  });
}

test("the seed model's summary table has Keras' rows and parameter counts", async () => {
  await page.click("#seed-model");
  await page.waitForSelector("#model-info:not([hidden])");
  const shown = await page.$$eval("#summary tbody tr", (rows) =>
    rows.map((r) => Array.from((r as HTMLTableRowElement).cells).map((c) => c.textContent)),
  );
  // Keras' own model.summary() rows: "│ lstm (LSTM) │ (None, 3) │ 84 │".
  const kerasRows = kerasSummary
    .split("\n")
    .filter((line) => line.startsWith("│"))
    .map((line) =>
      line
        .split("│")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  assert.deepEqual(shown, kerasRows);
  const trainable = /Trainable params: ([\d,]+)/.exec(kerasSummary)![1];
  assert.match((await page.textContent("#summary-totals")) ?? "", new RegExp(`trainable: ${trainable} `));
  assert.match((await page.textContent("#model-meta")) ?? "", /written by Keras 3\.16\.0/);
});

test("the seed CSV's predictions on the page equal Keras' (table and chart)", async () => {
  await page.click("#seed-csv");
  assertKerasPredictions(await predictionRows());
  const checked = await page.$$eval("#feature-columns input:checked", (boxes) =>
    boxes.map((b) => (b as HTMLInputElement).value),
  );
  assert.deepEqual(checked, ["X1", "X2", "X3"]);
  assert.equal(await page.inputValue("#look-back"), "4");
  // Chart.js drew both series on the canvas: count pixels of the two line colours.
  const painted = await page.evaluate(() => {
    const canvas = document.getElementById("chart") as HTMLCanvasElement;
    const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let red = 0;
    let blue = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i] > 180 && pixels[i + 1] < 80 && pixels[i + 2] < 80) red++;
      if (pixels[i] < 80 && pixels[i + 1] > 90 && pixels[i + 1] < 160 && pixels[i + 2] > 150) blue++;
    }
    return { red, blue };
  });
  assert.ok(
    painted.red > 200 && painted.blue > 200,
    `both lines are drawn (red ${painted.red} px, blue ${painted.blue} px)`,
  );
  mkdirSync(`${root}tmp/e2e`, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test("dropped files: the legacy .h5 seed model and the CSV chosen from disk give Keras' numbers too", async () => {
  await page.setInputFiles("#model-file", `${root}test/fixtures/seed/model.h5`);
  await page.waitForFunction(() => /legacy \.h5 file/.test(document.getElementById("model-meta")?.textContent ?? ""));
  await page.setInputFiles("#csv-file", `${root}examples/seed/LSTM_sample.csv`);
  await page.waitForFunction(() => document.querySelector("#run-info")?.textContent?.includes("from LSTM_sample.csv"));
  assertKerasPredictions(await predictionRows());
});

test("a file that is no model is reported on the page, naming the file", async () => {
  await page.setInputFiles("#model-file", `${root}examples/seed/LSTM_sample.csv`);
  await page.waitForSelector("#model-error:not([hidden])");
  assert.match((await page.textContent("#model-error")) ?? "", /LSTM_sample\.csv/);
  assert.equal(await page.isHidden("#results-section"), true, "no predictions without a model");
});

test("the docs' browser snippets run in Chromium (kerasless mapped to the bundle by an import map)", async () => {
  const snippets = allSnippets().filter((s) => s.mode === "browser");
  assert.ok(snippets.length > 0, "the docs have browser snippets");
  for (const snippet of snippets) {
    const tab = await browser.newPage();
    const logs: string[] = [];
    const problems: string[] = [];
    tab.on("console", (m) => (m.type() === "error" ? problems : logs).push(m.text()));
    tab.on("pageerror", (e) => problems.push(e.message));
    await tab.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (`${url.origin}/` !== server.url) {
        problems.push(`request outside the server: ${url}`);
        return route.abort();
      }
      const workspaceFile = url.pathname.startsWith("/models/")
        ? WORKSPACE_FILES[url.pathname.slice("/models/".length)]
        : undefined;
      if (workspaceFile !== undefined)
        return route.fulfill({
          body: readFileSync(`${root}${workspaceFile}`),
          contentType: "application/octet-stream",
        });
      if (url.pathname === "/snippet.html") {
        const html = [
          "<!doctype html><title>running</title>",
          `<script type="importmap">{"imports":{"kerasless":"/build/kerasless.min.js"}}</script>`,
          `<script>addEventListener("error", () => (document.title = "failed"));`,
          `addEventListener("unhandledrejection", (e) => {`,
          `  console.error(String(e.reason)); document.title = "failed";`,
          "});",
          "</script>",
          `<script type="module">\n${snippet.code}\ndocument.title = "done";\n</script>`,
        ].join("\n");
        return route.fulfill({ body: html, contentType: "text/html" });
      }
      return route.continue();
    });
    await tab.goto(`${server.url}snippet.html`);
    await tab.waitForFunction(() => document.title !== "running", undefined, { timeout: 30_000 });
    const title = await tab.title();
    await tab.close();
    assert.equal(title, "done", `${snippet.where}: ${problems.join("; ")}`);
    assert.deepEqual(problems, [], snippet.where);
    if (snippet.prints) assert.match(logs.join("\n"), snippet.prints, `${snippet.where}: console output`);
  }
});

test("the page made no request outside its own server and logged no errors", () => {
  assert.deepEqual(foreignRequests, []);
  assert.deepEqual(pageProblems, []);
});
