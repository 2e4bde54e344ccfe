/**
 * A progress bar on stderr for long jobs (our own; docs/decisions.md says why). It appears only
 * when stderr is a terminal and the job is still running after `delayMs` (1 s by default), and it
 * is cleared when the job ends, so short runs and redirected stderr see nothing. It draws one line,
 * cut to the terminal's width (line wrapping is never switched off), hides the cursor while it is
 * shown, and gives the cursor back on stop() and on Ctrl-C (src/cli/interrupt.ts).
 */
import { onInterrupt } from "./interrupt.js";
import type { Output } from "./outputs.js";

export const PROGRESS_DELAY_MS = 1000;
/** At most this many redraws a second. */
const REDRAW_MS = 200;
const BAR_WIDTH = 30;
const MIB = 1024 * 1024;

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
/** Back to the start of the line and clear it. */
const CLEAR_LINE = "\r\x1b[2K";

export interface ProgressOptions {
  /** What runs, e.g. "predict". */
  label: string;
  /** The total amount of input in bytes, if known (stdin: unknown). */
  totalBytes: number | undefined;
  delayMs?: number;
}

/** Seconds as `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class Progress {
  private readonly started = Date.now();
  private drawnAt = -Infinity;
  private bytes = 0;
  private samples = 0;
  /** Unregisters the cursor's restoration on Ctrl-C; set while the bar is on screen. */
  private forgetInterrupt: (() => void) | undefined;
  /** Whether the bar has appeared at some point (for tests). */
  shown = false;

  private constructor(
    private readonly stream: Output,
    private readonly options: ProgressOptions,
  ) {}

  static async create(stream: Output, options: ProgressOptions): Promise<Progress> {
    return new Progress(stream, options);
  }

  /** Records how far the job is; cheap enough to call for every chunk of input. */
  update(bytes: number, samples: number): void {
    this.bytes = bytes;
    this.samples = samples;
    if (this.stream.isTTY !== true) return;
    const now = Date.now();
    if (now - this.started < (this.options.delayMs ?? PROGRESS_DELAY_MS) || now - this.drawnAt < REDRAW_MS) return;
    if (this.forgetInterrupt === undefined) {
      this.stream.write(HIDE_CURSOR);
      this.forgetInterrupt = onInterrupt(() => {
        this.forgetInterrupt = undefined;
        this.stream.write(CLEAR_LINE + SHOW_CURSOR);
      });
      this.shown = true;
    }
    this.drawnAt = now;
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    this.stream.write(CLEAR_LINE + this.line(now).slice(0, width));
  }

  /** The bar's text, e.g. `kerasless predict [#####-----] 50% | 5.0/10.0 MiB | 812 predictions | ETA 4s`. */
  line(now = Date.now()): string {
    const { label, totalBytes } = this.options;
    const mib = (this.bytes / MIB).toFixed(1);
    const elapsed = (now - this.started) / 1000;
    if (totalBytes === undefined || totalBytes <= 0)
      return `kerasless ${label} | ${mib} MiB read | ${this.samples} predictions | ${formatDuration(elapsed)}`;
    const fraction = Math.min(1, this.bytes / totalBytes);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
    const eta = fraction > 0 ? formatDuration((elapsed * (1 - fraction)) / fraction) : "?";
    const total = (totalBytes / MIB).toFixed(1);
    const percent = Math.floor(fraction * 100);
    return `kerasless ${label} [${bar}] ${percent}% | ${mib}/${total} MiB | ${this.samples} predictions | ETA ${eta}`;
  }

  /** Clears the bar (if it was shown) and gives the cursor back. Call it also after errors. */
  stop(): void {
    if (this.forgetInterrupt === undefined) return;
    this.forgetInterrupt();
    this.forgetInterrupt = undefined;
    this.stream.write(CLEAR_LINE + SHOW_CURSOR);
  }
}
