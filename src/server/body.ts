/** Reading a request body: bounded in size (413) and in time (408), parsed as JSON (400). */
import type { IncomingMessage } from "node:http";
import { HttpError, badRequest } from "./http-error.js";

/** The whole body as bytes; `limit` applies to the declared length before anything is read. */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit)
    return Promise.reject(new HttpError(413, `the request body is ${declared} bytes; the limit is ${limit}`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(
      () => finish(new HttpError(408, `the request body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (error === undefined) resolve(Buffer.concat(chunks, size));
      else {
        // The rest of the body is not read: the connection closes after the error response.
        req.pause();
        reject(error);
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new HttpError(413, `the request body is over the limit of ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (e: Error): void => finish(new HttpError(400, `the request body could not be read: ${e.message}`));
    const onAborted = (): void => finish(new HttpError(499, "the client closed the connection"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw badRequest("the request body is empty; a JSON object was expected");
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (e) {
    throw badRequest(`the request body is not JSON: ${(e as Error).message}`);
  }
}

/**
 * A v2 body: JSON, or (Triton's binary tensor extension) JSON of Inference-Header-Content-Length
 * bytes followed by the tensors' raw bytes.
 */
export function splitBinaryBody(
  bytes: Buffer,
  headerLength: string | string[] | undefined,
): { json: unknown; binary: Uint8Array } {
  if (headerLength === undefined) return { json: parseJson(bytes), binary: new Uint8Array(0) };
  const n = Number(headerLength);
  if (!Number.isInteger(n) || n < 0 || n > bytes.length)
    throw badRequest(
      `Inference-Header-Content-Length ${String(headerLength)} does not fit a body of ${bytes.length} bytes`,
    );
  return { json: parseJson(bytes.subarray(0, n)), binary: bytes.subarray(n) };
}
