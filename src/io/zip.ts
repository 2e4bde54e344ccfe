/** Reads the members of a zip archive (a Keras 3 `.keras` file) with fflate. */
import { unzipSync } from "fflate";
import { KeraslessError, rethrowAs } from "../errors.js";

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export interface ZipLimits {
  /** Most bytes all wanted members may decompress to. */
  maxUncompressedBytes: number;
}

/** Default cap on decompressed bytes: generous for real models, small against zip bombs. */
export function defaultZipLimits(compressedSize: number): ZipLimits {
  return { maxUncompressedBytes: Math.max(256 * 1024 * 1024, compressedSize * 20) };
}

/** Extracts the members whose names `want` accepts, checking declared sizes before inflating. */
export function readZip(bytes: Uint8Array, file: string, want: (name: string) => boolean, limits = defaultZipLimits(bytes.length)): Map<string, Uint8Array> {
  let declared = 0;
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter: (info) => {
        if (!want(info.name)) return false;
        declared += info.originalSize;
        if (declared > limits.maxUncompressedBytes) {
          throw new KeraslessError("E_LIMIT", `zip members decompress to more than ${limits.maxUncompressedBytes} bytes`, { file });
        }
        return true;
      },
    });
  } catch (e) {
    rethrowAs("E_ZIP", "cannot read the zip archive", e, file);
  }
  return new Map(Object.entries(members));
}
