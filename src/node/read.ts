/** How the Node entry reads a string source: a file path, or an http(s) URL (fetched). */
import { readFile } from "node:fs/promises";
import { fetchBytes } from "../api.js";

export const readPathOrUrl = async (source: string): Promise<Uint8Array> =>
  /^https?:\/\//.test(source) ? fetchBytes(source) : new Uint8Array(await readFile(source));
