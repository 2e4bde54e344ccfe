/**
 * A progress bar on stderr for long jobs (cli-progress, see docs/decisions.md). It appears only
 * when stderr is a terminal and the job is still running after `delayMs` (1 s by default), and
 * it is cleared when the job ends, so short runs and redirected stderr see nothing.
 */
import type CliProgress from "cli-progress";
import type { Output } from "./outputs.js";

type CliProgressModule = typeof CliProgress;

export const PROGRESS_DELAY_MS = 1000;

export interface ProgressOptions {
  /** What runs, e.g. "predict". */
  label: string;
  /** The total amount of input in bytes, if known (stdin: unknown). */
  totalBytes: number | undefined;
  delayMs?: number;
}

const MB = 1024 * 1024;

export class Progress {
  private readonly stream: Output;
  private readonly options: ProgressOptions;
  private readonly started = Date.now();
  private bar: CliProgress.SingleBar | undefined;
  /** cli-progress, loaded only for a terminal stderr (it takes 30-50 ms to load). */
  private readonly library: CliProgressModule | undefined;
  private bytes = 0;
  private samples = 0;
  /** Whether the bar has appeared at some point (for tests). */
  shown = false;

  private constructor(stream: Output, options: ProgressOptions, library: CliProgressModule | undefined) {
    this.stream = stream;
    this.options = options;
    this.library = library;
  }

  static async create(stream: Output, options: ProgressOptions): Promise<Progress> {
    const library = stream.isTTY === true ? (await import("cli-progress")).default : undefined;
    return new Progress(stream, options, library);
  }

  /** Records how far the job is; cheap enough to call for every chunk of input. */
  update(bytes: number, samples: number): void {
    this.bytes = bytes;
    this.samples = samples;
    if (this.library === undefined) return;
    if (this.bar === undefined) {
      if (Date.now() - this.started < (this.options.delayMs ?? PROGRESS_DELAY_MS)) return;
      this.bar = this.createBar(this.library);
      this.shown = true;
    }
    const total = this.options.totalBytes;
    this.bar.update(total === undefined ? 0 : Math.min(bytes, total), this.payload());
  }

  private payload(): Record<string, string> {
    return { mb: (this.bytes / MB).toFixed(1), samples: String(this.samples) };
  }

  private createBar(cliProgress: CliProgressModule): CliProgress.SingleBar {
    const total = this.options.totalBytes;
    const known = total !== undefined && total > 0;
    const format = known
      ? `kerasless ${this.options.label} [{bar}] {percentage}% | {mb}/${(total / MB).toFixed(1)} MB | {samples} predictions | ETA {eta_formatted}`
      : `kerasless ${this.options.label} | {mb} MB read | {samples} predictions | {duration_formatted}`;
    const bar = new cliProgress.SingleBar(
      {
        // cli-progress types its stream as a NodeJS.WritableStream; it only calls write(), and
        // reads isTTY/columns (readline's cursor helpers also only write escape sequences).
        stream: this.stream as unknown as NodeJS.WritableStream,
        format,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(known ? total : 1, 0, this.payload());
    return bar;
  }

  /** Ends the bar (if it was shown). Always call it, also after errors: the bar owns a timer. */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
