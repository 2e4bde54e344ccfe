/** Where the CLI's outputs go: a file (removed again on an error or Ctrl-C) or a stream such as stdout. */
import { closeSync, rmSync } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { KeraslessError, describeThrown } from "../errors.js";
import { onInterrupt } from "./interrupt.js";

/** Where text goes: stdout, or anything with a write() method. */
export interface Output {
  write(text: string): unknown;
  /** Present on streams: lets the writer wait when the stream's buffer is full. */
  once?(event: "drain", listener: () => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A byte sink written in order; `writeAt` is only available for files. */
export interface Target {
  write(chunk: string | Uint8Array): Promise<void>;
  writeAt?(bytes: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
  /** Closes and deletes what was written (a file this run created). */
  discard(): Promise<void>;
}

export async function fileTarget(file: string): Promise<Target> {
  const fail = (e: unknown): never => {
    throw new KeraslessError("E_IO", `cannot write the file (${describeThrown(e)})`, { file, cause: e });
  };
  let handle: FileHandle;
  try {
    handle = await open(file, "w");
  } catch (e) {
    return fail(e);
  }
  // Ctrl-C or SIGTERM before the end: the half-written file goes, as after an error.
  const forget = onInterrupt(() => {
    closeSync(handle.fd);
    rmSync(file, { force: true });
  });
  let position = 0;
  return {
    async write(chunk) {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      try {
        let done = 0;
        while (done < bytes.length)
          done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
      } catch (e) {
        fail(e);
      }
      position += bytes.length;
    },
    async writeAt(bytes, at) {
      try {
        await handle.write(bytes, 0, bytes.length, at);
      } catch (e) {
        fail(e);
      }
    },
    async close() {
      forget();
      await handle.close();
    },
    async discard() {
      forget();
      await handle.close().catch(() => undefined);
      await rm(file, { force: true });
    },
  };
}

export function streamTarget(out: Output): Target {
  const decoder = new TextDecoder();
  return {
    async write(chunk) {
      const ok = out.write(typeof chunk === "string" ? chunk : decoder.decode(chunk));
      if (ok === false && typeof out.once === "function")
        await new Promise<void>((resolve) => out.once?.("drain", resolve));
    },
    async close() {},
    async discard() {},
  };
}

/** Text is collected up to this many characters before it is written. */
export const FLUSH_AT = 1 << 20;

export class TextBuffer {
  private parts: string[] = [];
  private length = 0;
  constructor(private readonly target: Target) {}

  add(text: string): void {
    this.parts.push(text);
    this.length += text.length;
  }

  get full(): boolean {
    return this.length >= FLUSH_AT;
  }

  async flush(): Promise<void> {
    if (this.length === 0) return;
    await this.target.write(this.take());
  }

  /** Empties the buffer and returns its text. */
  take(): string {
    const text = this.parts.join("");
    this.parts = [];
    this.length = 0;
    return text;
  }
}
