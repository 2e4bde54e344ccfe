/** JSON parsing for configs: errors name the file, and nesting depth is bounded. */
import { KeraslessError, describeThrown, type ErrorCode } from "../errors.js";

export const MAX_JSON_DEPTH = 512;

export function parseJson(text: string, what: string, file: string, code: ErrorCode = "E_CONFIG"): unknown {
  checkDepth(text, what, file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KeraslessError(code, `${what} is not valid JSON (${describeThrown(e)})`, { file });
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}

/** Rejects documents nested deeper than MAX_JSON_DEPTH before anything walks them recursively. */
function checkDepth(text: string, what: string, file: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new KeraslessError("E_LIMIT", `${what} is nested more than ${MAX_JSON_DEPTH} levels deep`, { file });
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
