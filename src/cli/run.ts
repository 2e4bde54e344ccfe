/** Runs the command line with this process' arguments (what bin/kerasless.js does with dist/). */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
