/** Runs the command line with this process' arguments: what bin/kerasless.js does with dist/. */
import { runProcess } from "./main.js";

await runProcess();
