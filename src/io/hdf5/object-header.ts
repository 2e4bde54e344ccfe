/**
 * Object headers (HDF5 specification, section IV.A): version 1 and 2 headers, their messages
 * and continuation blocks. A continuation that points back at a block already read is an error.
 */
import { KeraslessError } from "../../errors.js";
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

export interface Message {
  readonly type: number;
  readonly flags: number;
  /** File offset of the message data. */
  readonly start: number;
  readonly size: number;
}

export interface ObjectHeader {
  readonly address: number;
  readonly messages: readonly Message[];
}

export const MSG_DATASPACE = 0x01;
export const MSG_LINK_INFO = 0x02;
export const MSG_DATATYPE = 0x03;
export const MSG_LINK = 0x06;
export const MSG_LAYOUT = 0x08;
export const MSG_FILTERS = 0x0b;
export const MSG_ATTRIBUTE = 0x0c;
const MSG_CONTINUATION = 0x10;
export const MSG_SYMBOL_TABLE = 0x11;
export const MSG_ATTRIBUTE_INFO = 0x15;

/**
 * The object header at `address`, parsed once per file; `path` names the object in errors. Headers
 * may overlap (one nested in another's message): every message parsed is charged to the file's budget.
 */
export function objectHeader(r: Hdf5Reader, address: number, path: string): ObjectHeader {
  return r.once("object header", address, () => {
    try {
      return r.u8(address) === 1 ? parseV1Header(r, address) : parseV2Header(r, address);
    } catch (e) {
      if (e instanceof KeraslessError)
        throw new KeraslessError(e.code, `object "${path}": ${e.problem}`, { file: r.file });
      throw e;
    }
  });
}

/** The object's first message of `type`; a missing or shared (stored elsewhere) message is an error. */
export function requireMessage(r: Hdf5Reader, header: ObjectHeader, type: number, path: string): Message {
  const message = header.messages.find((m) => m.type === type);
  if (message === undefined) throw r.error("E_HDF5", `object "${path}" has no message of type ${type}`);
  if (message.flags & 0x02)
    throw r.error("E_UNSUPPORTED", `object "${path}" uses a shared header message (type ${type})`);
  return message;
}

function parseV1Header(r: Hdf5Reader, address: number): ObjectHeader {
  r.need(address, 16, "a version 1 object header");
  const count = r.u16(address + 2);
  const blocks: [number, number][] = [[address + 16, r.u32(address + 8)]];
  const messages: Message[] = [];
  const seen = new Set<number>([address + 16]);
  let total = 0;
  for (let b = 0; b < blocks.length && messages.length < count; b++) {
    const [start, length] = blocks[b];
    total += length;
    if (total > r.bytes.length)
      throw r.fail("E_HDF5", address, "the object header's blocks add up to more bytes than the file has");
    r.need(start, length, "an object header block");
    let at = start;
    while (at + 8 <= start + length && messages.length < count) {
      const type = r.u16(at);
      const size = r.u16(at + 2);
      if (at + 8 + size > start + length)
        throw r.fail("E_HDF5", at, `header message (type ${type}, ${size} bytes) runs past the end of its block`);
      const message = { type, flags: r.u8(at + 4), start: at + 8, size };
      r.charge("messages", 1, at);
      messages.push(message);
      if (type === MSG_CONTINUATION) continuation(r, message, blocks, seen, 0);
      at += 8 + size;
    }
  }
  return { address, messages };
}

function parseV2Header(r: Hdf5Reader, address: number): ObjectHeader {
  r.signature(address, "OHDR", "an object header");
  if (r.u8(address + 4) !== 2) throw r.fail("E_HDF5", address + 4, `object header version ${r.u8(address + 4)}`);
  const flags = r.u8(address + 5);
  let at = address + 6;
  if (flags & 0x20) at += 16; // access, modification, change and birth times
  if (flags & 0x10) at += 4; // attribute storage phase change values
  const sizeBytes = 1 << (flags & 3);
  const chunkSize = r.uint(at, sizeBytes, "the object header size");
  at += sizeBytes;
  const creationOrder = flags & 0x04 ? 2 : 0;
  const blocks: [number, number][] = [[at, chunkSize]];
  const seen = new Set<number>([at]);
  const messages: Message[] = [];
  let total = 0;
  for (let b = 0; b < blocks.length; b++) {
    const [start, length] = blocks[b];
    total += length;
    if (total > r.bytes.length)
      throw r.fail("E_HDF5", address, "the object header's blocks add up to more bytes than the file has");
    r.need(start, length + 4, "an object header block and its checksum");
    let p = start;
    // A gap smaller than a message header may end a block.
    while (p + 4 + creationOrder <= start + length) {
      const type = r.u8(p);
      const size = r.u16(p + 1);
      const dataStart = p + 4 + creationOrder;
      if (dataStart + size > start + length)
        throw r.fail("E_HDF5", p, `header message (type ${type}, ${size} bytes) runs past the end of its block`);
      const message = { type, flags: r.u8(p + 3), start: dataStart, size };
      r.charge("messages", 1, p);
      messages.push(message);
      if (type === MSG_CONTINUATION) continuation(r, message, blocks, seen, 4);
      p = dataStart + size;
    }
  }
  return { address, messages };
}

/** Queues the block a continuation message points to (v2 blocks start with "OCHK" and end with a checksum). */
function continuation(
  r: Hdf5Reader,
  message: Message,
  blocks: [number, number][],
  seen: Set<number>,
  signature: number,
): void {
  if (message.size < 16) throw r.fail("E_HDF5", message.start, "continuation message too short");
  const at = r.address(message.start, "a continuation address");
  const length = r.u64(message.start + 8, "a continuation length");
  if (at === UNDEFINED) throw r.fail("E_HDF5", message.start, "continuation to an undefined address");
  if (signature > 0) {
    if (length < 8) throw r.fail("E_HDF5", message.start, "continuation block too short");
    r.signature(at, "OCHK", "an object header continuation block");
  }
  const start = at + signature;
  if (seen.has(start)) throw r.fail("E_HDF5", message.start, `object header continuation loops back to byte ${at}`);
  seen.add(start);
  blocks.push([start, length - 2 * signature]);
}
