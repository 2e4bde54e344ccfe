/**
 * A bounds-checked reader for the part of HDF5 that Keras and h5py write: superblock v0-v3,
 * object headers v1/v2 with continuations, old-style groups (symbol tables) and compact link
 * messages, soft links, numeric and string datatypes, contiguous/compact/chunked storage with the
 * deflate, shuffle and fletcher32 filters. Every address, size and count a file states is checked
 * against the bytes present before anything is read or allocated; structures that can point back
 * at themselves (B-trees, object header continuations, links) are followed at most once.
 * Decisions and measurements: docs/decisions.md ("HDF5 reader").
 */
import { Unzlib } from "fflate";
import { KeraslessError, describeThrown, type ErrorCode } from "../errors.js";

export interface H5Dataset {
  readonly path: string;
  readonly shape: number[];
  /** The values converted to float32, row-major. */
  readFloat32(): Float32Array;
}

export interface Hdf5Limits {
  /** Most bytes the chunks of one dataset may inflate to. */
  maxDecompressedBytes: number;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Opens an HDF5 file held in memory; `file` names it in errors. */
export function openHdf5(bytes: Uint8Array, file: string, limits?: Hdf5Limits): H5Group {
  if (!isHdf5(bytes)) throw new KeraslessError("E_HDF5", "not an HDF5 file (bad signature)", { file });
  const h5 = new Hdf5File(
    bytes,
    file,
    limits ?? { maxDecompressedBytes: Math.max(16 * 1024 * 1024, 20 * bytes.length) },
  );
  return new H5Group(h5, h5.rootAddress, "/", []);
}

/** A group: its members (by name) and attributes. Paths may have several parts ("a/b/c"). */
export class H5Group {
  readonly path: string;
  private readonly h5: Hdf5File;
  private readonly address: number;
  /** Object header addresses from the root down to this group's parent (link cycle detection). */
  private readonly ancestors: readonly number[];
  private memberList: Map<string, Link> | undefined;
  private readonly children = new Map<string, H5Group | DatasetNode>();

  /** @internal */
  constructor(h5: Hdf5File, address: number, path: string, ancestors: readonly number[]) {
    this.h5 = h5;
    this.address = address;
    this.path = path;
    this.ancestors = ancestors;
  }

  keys(): string[] {
    return [...this.members().keys()];
  }

  has(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  isGroup(path: string): boolean {
    return this.resolve(path) instanceof H5Group;
  }

  group(path: string): H5Group {
    const child = this.resolveOrFail(path);
    if (!(child instanceof H5Group)) throw this.error(`"${joinPath(this.path, path)}" is a dataset, expected a group`);
    return child;
  }

  dataset(path: string): H5Dataset {
    const child = this.resolveOrFail(path);
    if (child instanceof H5Group) throw this.error(`"${joinPath(this.path, path)}" is a group, expected a dataset`);
    return child;
  }

  /** The names of this group's attributes. */
  attributeNames(): string[] {
    return [...this.h5.attributes(this.h5.objectHeader(this.address, this.path), this.path).keys()];
  }

  /** An attribute's value (strings stripped of their padding, scalars unwrapped); undefined if absent. */
  attr(name: string): unknown {
    const header = this.h5.objectHeader(this.address, this.path);
    const attribute = this.h5.attributes(header, this.path).get(name);
    return attribute === undefined ? undefined : this.h5.attributeValue(attribute, name, this.path);
  }

  /** A string-list attribute, joining the `name0`, `name1`, ... chunks Keras writes for long lists. */
  stringListAttr(name: string): string[] | undefined {
    const whole = this.attr(name);
    if (whole !== undefined) return this.toStringList(whole, name);
    const parts: string[] = [];
    for (let i = 0; ; i++) {
      const part = this.attr(`${name}${i}`);
      if (part === undefined) break;
      parts.push(...this.toStringList(part, `${name}${i}`));
    }
    return parts.length > 0 ? parts : undefined;
  }

  error(problem: string, code: ErrorCode = "E_HDF5"): KeraslessError {
    return new KeraslessError(code, problem, { file: this.h5.file });
  }

  private toStringList(value: unknown, name: string): string[] {
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === "string"))
      throw this.error(`attribute "${name}" of "${this.path}" is not a list of strings`);
    return list as string[];
  }

  private members(): Map<string, Link> {
    this.memberList ??= this.h5.links(this.h5.objectHeader(this.address, this.path), this.path);
    return this.memberList;
  }

  private resolveOrFail(path: string): H5Group | DatasetNode {
    const child = this.resolve(path);
    if (child === undefined) throw this.error(`"${joinPath(this.path, path)}" is not in the file`);
    return child;
  }

  /** Walks `path` one member at a time, through cached children. */
  private resolve(path: string, hops = 0): H5Group | DatasetNode | undefined {
    let node: H5Group | DatasetNode | undefined = path.startsWith("/") ? this.root() : this;
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (!(node instanceof H5Group)) return undefined;
      node = node.child(part, hops);
    }
    return node;
  }

  private root(): H5Group {
    return this.ancestors.length === 0 ? this : new H5Group(this.h5, this.h5.rootAddress, "/", []);
  }

  private child(name: string, hops: number): H5Group | DatasetNode | undefined {
    const cached = this.children.get(name);
    if (cached !== undefined) return cached;
    const link = this.members().get(name);
    if (link === undefined) return undefined;
    const path = joinPath(this.path, name);
    let child: H5Group | DatasetNode | undefined;
    if (link.kind === "soft") {
      // A soft link names a path, absolute or relative to this group; links to links are followed a few times.
      if (hops >= MAX_SOFT_LINK_HOPS)
        throw this.error(
          `soft link "${path}" -> "${link.target}": more than ${MAX_SOFT_LINK_HOPS} soft links in a row (a link cycle?)`,
        );
      child = this.resolve(link.target, hops + 1);
      if (child === undefined)
        throw this.error(`soft link "${path}" points to "${link.target}", which is not in the file`);
      if (child instanceof H5Group && (child.address === this.address || this.ancestors.includes(child.address))) {
        throw this.error(`link cycle: soft link "${path}" -> "${link.target}" points back to its own ancestor group`);
      }
    } else if (link.kind === "unsupported") {
      throw this.error(`"${path}" is ${link.why}, which kerasless does not read`, "E_UNSUPPORTED");
    } else {
      const lineage = [...this.ancestors, this.address];
      const loop = lineage.indexOf(link.address);
      if (loop >= 0)
        throw this.error(
          `link cycle: "${path}" points back to its own ancestor group (object header at byte ${link.address})`,
        );
      const header = this.h5.objectHeader(link.address, path);
      child = header.messages.some((m) => m.type === MSG_DATASPACE)
        ? new DatasetNode(this.h5, header, path)
        : new H5Group(this.h5, link.address, path, lineage);
    }
    this.children.set(name, child);
    return child;
  }
}

const MAX_SOFT_LINK_HOPS = 16;

class DatasetNode implements H5Dataset {
  readonly path: string;
  readonly shape: number[];
  private readonly h5: Hdf5File;
  private readonly header: ObjectHeader;

  constructor(h5: Hdf5File, header: ObjectHeader, path: string) {
    this.h5 = h5;
    this.header = header;
    this.path = path;
    const space = h5.dataspace(h5.requireMessage(header, MSG_DATASPACE, path), path);
    this.shape = space ?? [];
  }

  readFloat32(): Float32Array {
    return this.h5.readDataset(this.header, this.shape, this.path);
  }
}

// ---------------------------------------------------------------------------------------------
// File structure

type Link = { kind: "hard"; address: number } | { kind: "soft"; target: string } | { kind: "unsupported"; why: string };

interface Message {
  readonly type: number;
  readonly flags: number;
  /** File offset of the message data. */
  readonly start: number;
  readonly size: number;
}

interface ObjectHeader {
  readonly address: number;
  readonly messages: readonly Message[];
}

type Datatype =
  | { kind: "number"; format: "int" | "uint" | "float"; size: 1 | 2 | 4 | 8; bigEndian: boolean }
  | { kind: "string"; size: number; padding: number; utf8: boolean }
  | { kind: "vlen-string"; padding: number; utf8: boolean }
  | { kind: "unsupported"; description: string };

interface Attribute {
  readonly message: Message;
  readonly datatypeStart: number;
  readonly datatypeSize: number;
  readonly dataspaceStart: number;
  readonly dataspaceSize: number;
  readonly dataStart: number;
}

const MSG_DATASPACE = 0x01;
const MSG_LINK_INFO = 0x02;
const MSG_DATATYPE = 0x03;
const MSG_LINK = 0x06;
const MSG_LAYOUT = 0x08;
const MSG_FILTERS = 0x0b;
const MSG_ATTRIBUTE = 0x0c;
const MSG_CONTINUATION = 0x10;
const MSG_SYMBOL_TABLE = 0x11;
const MSG_ATTRIBUTE_INFO = 0x15;

const FILTER_DEFLATE = 1;
const FILTER_SHUFFLE = 2;
const FILTER_FLETCHER32 = 3;

/** An undefined address (all bits set), as HDF5 writes for "nothing here". */
const UNDEFINED = -1;

class Hdf5File {
  readonly file: string;
  readonly rootAddress: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly limits: Hdf5Limits;
  /** Added to every address (non-zero only with a user block). */
  private readonly base: number;
  private readonly headers = new Map<number, ObjectHeader>();
  private readonly attributeTables = new Map<number, Map<string, Attribute>>();
  private readonly globalHeaps = new Map<number, Map<number, [start: number, size: number]>>();

  constructor(bytes: Uint8Array, file: string, limits: Hdf5Limits) {
    this.bytes = bytes;
    this.file = file;
    this.limits = limits;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.need(0, 16, "the superblock");
    const version = this.u8(8);
    let offsetSize: number;
    let lengthSize: number;
    let fields: number;
    if (version === 0 || version === 1) {
      offsetSize = this.u8(13);
      lengthSize = this.u8(14);
      fields = version === 0 ? 24 : 28;
    } else if (version === 2 || version === 3) {
      offsetSize = this.u8(9);
      lengthSize = this.u8(10);
      fields = 12;
    } else {
      throw this.fail("E_UNSUPPORTED", 8, `superblock version ${version} (kerasless reads versions 0 to 3)`);
    }
    if (offsetSize !== 8 || lengthSize !== 8) {
      throw this.fail(
        "E_UNSUPPORTED",
        13,
        `${offsetSize}-byte addresses and ${lengthSize}-byte lengths (kerasless reads files with 8-byte ones, as h5py writes)`,
      );
    }
    this.base = 0;
    const base = this.address(fields, "the base address");
    const endOfFile = this.address(version <= 1 ? fields + 16 : fields + 16, "the end-of-file address");
    if (base === UNDEFINED || endOfFile === UNDEFINED)
      throw this.fail("E_HDF5", fields, "the superblock has no base or end-of-file address");
    this.base = base;
    // jsfive-era lesson: a truncated file parses into a partial tree unless its length is checked.
    if (base + endOfFile > bytes.length) {
      throw new KeraslessError(
        "E_HDF5",
        `the file is truncated: its header says ${base + endOfFile} bytes, it has ${bytes.length}`,
        { file },
      );
    }
    // v0/v1: the root group's symbol table entry follows the four addresses; its second field is the object header.
    const root =
      version <= 1
        ? this.address(fields + 32 + 8, "the root group address")
        : this.address(fields + 24, "the root group address");
    if (root === UNDEFINED) throw this.fail("E_HDF5", fields, "the superblock has no root group");
    this.rootAddress = root;
  }

  // -- bounds-checked reads -------------------------------------------------------------------

  fail(code: ErrorCode, at: number, problem: string): KeraslessError {
    return new KeraslessError(code, `HDF5 structure at byte ${at}: ${problem}`, { file: this.file });
  }

  /** Throws unless `length` bytes at `at` are in the file. */
  need(at: number, length: number, what: string): void {
    if (!(at >= 0 && length >= 0 && at + length <= this.bytes.length)) {
      throw new KeraslessError(
        "E_HDF5",
        `${what} (${length} bytes at byte ${at}) lies outside the file (${this.bytes.length} bytes)`,
        { file: this.file },
      );
    }
  }

  u8(at: number): number {
    this.need(at, 1, "a field");
    return this.bytes[at];
  }

  u16(at: number): number {
    this.need(at, 2, "a field");
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    this.need(at, 4, "a field");
    return this.view.getUint32(at, true);
  }

  /** An 8-byte length or count; values beyond 2^53 are never sizes of anything in memory. */
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const low = this.view.getUint32(at, true);
    const high = this.view.getUint32(at + 4, true);
    if (high >= 0x200000) throw this.fail("E_HDF5", at, `${what} (${high} * 2^32 + ${low}) is larger than any file`);
    return high * 2 ** 32 + low;
  }

  /** An 8-byte address made absolute, or UNDEFINED. */
  address(at: number, what: string): number {
    this.need(at, 8, what);
    if (this.view.getUint32(at, true) === 0xffffffff && this.view.getUint32(at + 4, true) === 0xffffffff)
      return UNDEFINED;
    return this.base + this.u64(at, what);
  }

  signature(at: number, expected: string, what: string): void {
    this.need(at, 4, what);
    for (let i = 0; i < 4; i++) {
      if (this.bytes[at + i] !== expected.charCodeAt(i))
        throw this.fail("E_HDF5", at, `expected ${what} (signature "${expected}")`);
    }
  }

  text(start: number, length: number, utf8: boolean): string {
    this.need(start, length, "a string");
    return new TextDecoder(utf8 ? "utf-8" : "latin1").decode(this.bytes.subarray(start, start + length));
  }

  // -- object headers -------------------------------------------------------------------------

  objectHeader(address: number, path: string): ObjectHeader {
    let header = this.headers.get(address);
    if (header === undefined) {
      try {
        header = this.u8(address) === 1 ? this.parseV1Header(address) : this.parseV2Header(address);
      } catch (e) {
        if (e instanceof KeraslessError)
          throw new KeraslessError(e.code, `object "${path}": ${e.problem}`, { file: this.file });
        throw e;
      }
      this.headers.set(address, header);
    }
    return header;
  }

  private parseV1Header(address: number): ObjectHeader {
    this.need(address, 16, "a version 1 object header");
    const count = this.u16(address + 2);
    const blocks: [number, number][] = [[address + 16, this.u32(address + 8)]];
    const messages: Message[] = [];
    const seen = new Set<number>([address + 16]);
    let total = 0;
    for (let b = 0; b < blocks.length && messages.length < count; b++) {
      const [start, length] = blocks[b];
      total += length;
      if (total > this.bytes.length)
        throw this.fail("E_HDF5", address, "the object header's blocks add up to more bytes than the file has");
      this.need(start, length, "an object header block");
      let at = start;
      while (at + 8 <= start + length && messages.length < count) {
        const type = this.u16(at);
        const size = this.u16(at + 2);
        if (at + 8 + size > start + length)
          throw this.fail("E_HDF5", at, `header message (type ${type}, ${size} bytes) runs past the end of its block`);
        const message = { type, flags: this.u8(at + 4), start: at + 8, size };
        messages.push(message);
        if (type === MSG_CONTINUATION) this.continuation(message, blocks, seen, 0);
        at += 8 + size;
      }
    }
    return { address, messages };
  }

  private parseV2Header(address: number): ObjectHeader {
    this.signature(address, "OHDR", "an object header");
    if (this.u8(address + 4) !== 2)
      throw this.fail("E_HDF5", address + 4, `object header version ${this.u8(address + 4)}`);
    const flags = this.u8(address + 5);
    let at = address + 6;
    if (flags & 0x20) at += 16; // access, modification, change and birth times
    if (flags & 0x10) at += 4; // attribute storage phase change values
    const sizeBytes = 1 << (flags & 3);
    const chunkSize =
      sizeBytes === 8
        ? this.u64(at, "the object header size")
        : sizeBytes === 4
          ? this.u32(at)
          : sizeBytes === 2
            ? this.u16(at)
            : this.u8(at);
    at += sizeBytes;
    const creationOrder = flags & 0x04 ? 2 : 0;
    const blocks: [number, number][] = [[at, chunkSize]];
    const seen = new Set<number>([at]);
    const messages: Message[] = [];
    let total = 0;
    for (let b = 0; b < blocks.length; b++) {
      const [start, length] = blocks[b];
      total += length;
      if (total > this.bytes.length)
        throw this.fail("E_HDF5", address, "the object header's blocks add up to more bytes than the file has");
      this.need(start, length + 4, "an object header block and its checksum");
      let p = start;
      // A gap smaller than a message header may end a block.
      while (p + 4 + creationOrder <= start + length) {
        const type = this.u8(p);
        const size = this.u16(p + 1);
        const dataStart = p + 4 + creationOrder;
        if (dataStart + size > start + length)
          throw this.fail("E_HDF5", p, `header message (type ${type}, ${size} bytes) runs past the end of its block`);
        const message = { type, flags: this.u8(p + 3), start: dataStart, size };
        messages.push(message);
        if (type === MSG_CONTINUATION) this.continuation(message, blocks, seen, 4);
        p = dataStart + size;
      }
    }
    return { address, messages };
  }

  /** Queues the block a continuation message points to (v2 blocks start with "OCHK" and end with a checksum). */
  private continuation(message: Message, blocks: [number, number][], seen: Set<number>, signature: number): void {
    if (message.size < 16) throw this.fail("E_HDF5", message.start, "continuation message too short");
    const at = this.address(message.start, "a continuation address");
    const length = this.u64(message.start + 8, "a continuation length");
    if (at === UNDEFINED) throw this.fail("E_HDF5", message.start, "continuation to an undefined address");
    if (signature > 0) {
      if (length < 8) throw this.fail("E_HDF5", message.start, "continuation block too short");
      this.signature(at, "OCHK", "an object header continuation block");
    }
    const start = at + signature;
    if (seen.has(start))
      throw this.fail("E_HDF5", message.start, `object header continuation loops back to byte ${at}`);
    seen.add(start);
    blocks.push([start, length - 2 * signature]);
  }

  requireMessage(header: ObjectHeader, type: number, path: string): Message {
    const message = header.messages.find((m) => m.type === type);
    if (message === undefined)
      throw new KeraslessError("E_HDF5", `object "${path}" has no message of type ${type}`, { file: this.file });
    if (message.flags & 0x02)
      throw new KeraslessError("E_UNSUPPORTED", `object "${path}" uses a shared header message (type ${type})`, {
        file: this.file,
      });
    return message;
  }

  // -- groups ---------------------------------------------------------------------------------

  links(header: ObjectHeader, path: string): Map<string, Link> {
    const links = new Map<string, Link>();
    const add = (name: string, link: Link, at: number): void => {
      // Paths are split at "/", and "" or "." would name the group itself.
      if (name === "" || name === "." || name.includes("/"))
        throw this.fail("E_HDF5", at, `group "${path}" has a member with the invalid name ${JSON.stringify(name)}`);
      if (links.has(name)) throw this.fail("E_HDF5", at, `group "${path}" has two members named "${name}"`);
      links.set(name, link);
    };
    try {
      for (const message of header.messages) {
        if (message.type === MSG_SYMBOL_TABLE) this.symbolTableLinks(message, add);
        else if (message.type === MSG_LINK) this.linkMessage(message, add);
        else if (message.type === MSG_LINK_INFO) this.linkInfo(message);
      }
    } catch (e) {
      if (e instanceof KeraslessError)
        throw new KeraslessError(e.code, `group "${path}": ${e.problem}`, { file: this.file });
      throw e;
    }
    return links;
  }

  private linkInfo(message: Message): void {
    this.need(message.start, Math.max(message.size, 2), "a link info message");
    const flags = this.u8(message.start + 1);
    const heap = this.address(message.start + 2 + (flags & 1 ? 8 : 0), "a fractal heap address");
    if (heap !== UNDEFINED) {
      throw new KeraslessError(
        "E_UNSUPPORTED",
        `its links are in dense storage (a fractal heap, HDF5 1.8 "latest" format), which kerasless does not read`,
        { file: this.file },
      );
    }
  }

  /** Old-style group: a version 1 B-tree of symbol table nodes, names in a local heap. */
  private symbolTableLinks(message: Message, add: (name: string, link: Link, at: number) => void): void {
    if (message.size < 16) throw this.fail("E_HDF5", message.start, "symbol table message too short");
    const tree = this.address(message.start, "a B-tree address");
    const heap = this.localHeap(this.address(message.start + 8, "a local heap address"));
    for (const node of this.btreeV1(tree, 0, "a group B-tree")) {
      this.signature(node, "SNOD", "a symbol table node");
      const count = this.u16(node + 6);
      this.need(node + 8, count * 40, "the symbol table node's entries");
      for (let i = 0; i < count; i++) {
        const entry = node + 8 + i * 40;
        const name = heap.name(this.u64(entry, "a link name offset"), entry);
        const cacheType = this.u32(entry + 16);
        if (cacheType === 2) add(name, { kind: "soft", target: heap.name(this.u32(entry + 24), entry) }, entry);
        else add(name, { kind: "hard", address: this.requireAddress(entry + 8, "an object header address") }, entry);
      }
    }
  }

  private requireAddress(at: number, what: string): number {
    const address = this.address(at, what);
    if (address === UNDEFINED) throw this.fail("E_HDF5", at, `${what} is undefined`);
    this.need(address, 1, what);
    return address;
  }

  private localHeap(address: number): { name(offset: number, at: number): string } {
    if (address === UNDEFINED) throw this.fail("E_HDF5", 0, "a group has no local heap");
    this.signature(address, "HEAP", "a local heap");
    const size = this.u64(address + 8, "the local heap size");
    const data = this.address(address + 24, "the local heap data address");
    this.need(data, size, "the local heap data");
    const segment = this.bytes.subarray(data, data + size);
    // Names are NUL-terminated; finding each end from a table of NUL positions keeps many
    // names in one long unterminated run from costing time quadratic in the heap size.
    let nuls: Int32Array | undefined;
    const nextNul = (from: number): number => {
      if (nuls === undefined) {
        const positions: number[] = [];
        for (let i = 0; i < segment.length; i++) if (segment[i] === 0) positions.push(i);
        nuls = Int32Array.from(positions);
      }
      let lo = 0;
      let hi = nuls.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (nuls[mid] < from) lo = mid + 1;
        else hi = mid;
      }
      return lo < nuls.length ? nuls[lo] : -1;
    };
    // Distinct names sit at distinct places in the heap, so all of a group's names fit in it;
    // more means entries share (overlapping) names, which could otherwise multiply memory.
    let decoded = 0;
    return {
      name: (offset, at) => {
        if (offset >= size)
          throw this.fail("E_HDF5", at, `link name offset ${offset} is outside the local heap (${size} bytes)`);
        const end = nextNul(offset);
        if (end < 0) throw this.fail("E_HDF5", at, `link name at heap offset ${offset} is not terminated`);
        decoded += end - offset + 1;
        if (decoded > size)
          throw this.fail(
            "E_HDF5",
            at,
            `the group's link names add up to more bytes than its local heap holds (entries share names)`,
          );
        return new TextDecoder("utf-8").decode(segment.subarray(offset, end));
      },
    };
  }

  /**
   * The leaf children of a version 1 B-tree of `type` (0: group nodes, 1: raw data chunks), each
   * with its key bytes' offset. Every node is visited once: a tree whose nodes share or revisit
   * children is an error, not an exponential walk.
   */
  private btreeV1(root: number, type: number, what: string, keySize = 8): number[] {
    return this.btreeV1Entries(root, type, what, keySize).map((e) => e.child);
  }

  btreeV1Entries(root: number, type: number, what: string, keySize: number): { child: number; key: number }[] {
    const leaves: { child: number; key: number }[] = [];
    if (root === UNDEFINED) return leaves;
    const seen = new Set<number>();
    const stack: [number, number | null][] = [[root, null]];
    while (stack.length > 0) {
      const [node, level] = stack.pop()!;
      if (seen.has(node)) throw this.fail("E_HDF5", node, `${what} visits this node twice (a cycle or shared subtree)`);
      seen.add(node);
      this.signature(node, "TREE", `${what} node`);
      if (this.u8(node + 4) !== type)
        throw this.fail("E_HDF5", node + 4, `${what} node has type ${this.u8(node + 4)}, expected ${type}`);
      const nodeLevel = this.u8(node + 5);
      if (level !== null && nodeLevel !== level)
        throw this.fail("E_HDF5", node + 5, `${what} node is at level ${nodeLevel}, expected ${level}`);
      const entries = this.u16(node + 6);
      const first = node + 24;
      this.need(first, entries * (keySize + 8) + keySize, `${what} node's ${entries} entries`);
      const children: number[] = [];
      for (let i = 0; i < entries; i++) {
        const key = first + i * (keySize + 8);
        const child = this.requireAddress(key + keySize, `${what} child address`);
        if (nodeLevel === 0) leaves.push({ child, key });
        else children.push(child);
      }
      // Depth first, left to right (children pushed in reverse).
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], nodeLevel - 1]);
    }
    if (seen.size + leaves.length > this.bytes.length)
      throw this.fail("E_HDF5", root, `${what} is larger than the file`);
    return leaves;
  }

  /** A link message (compact new-style groups). */
  private linkMessage(message: Message, add: (name: string, link: Link, at: number) => void): void {
    const end = message.start + message.size;
    let at = message.start;
    const take = (n: number): number => {
      if (at + n > end) throw this.fail("E_HDF5", message.start, "link message too short");
      const here = at;
      at += n;
      return here;
    };
    if (this.u8(take(1)) !== 1)
      throw this.fail("E_HDF5", message.start, `link message version ${this.u8(message.start)}`);
    const flags = this.u8(take(1));
    const type = flags & 0x08 ? this.u8(take(1)) : 0;
    if (flags & 0x04) take(8); // creation order
    const utf8 = flags & 0x10 ? this.u8(take(1)) === 1 : false;
    const lengthBytes = 1 << (flags & 3);
    const lengthAt = take(lengthBytes);
    const nameLength =
      lengthBytes === 1
        ? this.u8(lengthAt)
        : lengthBytes === 2
          ? this.u16(lengthAt)
          : lengthBytes === 4
            ? this.u32(lengthAt)
            : this.u64(lengthAt, "a link name length");
    const name = this.text(take(nameLength), nameLength, utf8);
    if (type === 0)
      add(name, { kind: "hard", address: this.requireAddress(take(8), "a link's object address") }, message.start);
    else if (type === 1) {
      const length = this.u16(take(2));
      add(name, { kind: "soft", target: this.text(take(length), length, utf8) }, message.start);
    } else
      add(
        name,
        { kind: "unsupported", why: type === 64 ? "an external link (to another file)" : `a link of type ${type}` },
        message.start,
      );
  }

  // -- datatypes and dataspaces ---------------------------------------------------------------

  datatype(start: number, size: number): Datatype {
    // Enumeration (h5py's booleans): read as its base integer type, which follows; a file could
    // nest enums thousands deep, so they are unwrapped in a loop, a few levels at most.
    for (let depth = 0; this.u8(start) % 16 === 8; depth++) {
      if (depth === 4) return { kind: "unsupported", description: "an enumeration of enumerations" };
      start += 8;
      size -= 8;
    }
    this.need(start, Math.max(size, 8), "a datatype message");
    const classAndVersion = this.u8(start);
    const typeClass = classAndVersion & 0x0f;
    const bits0 = this.u8(start + 1);
    const elementSize = this.u32(start + 4);
    const sized = (n: number): n is 1 | 2 | 4 | 8 => n === 1 || n === 2 || n === 4 || n === 8;
    switch (typeClass) {
      case 0: {
        // Fixed point: byte order, sign; bit offset and precision must describe a whole number type.
        if (!sized(elementSize) || this.u16(start + 8) !== 0 || this.u16(start + 10) !== 8 * elementSize) {
          return { kind: "unsupported", description: `a ${elementSize}-byte integer with unusual bit layout` };
        }
        return {
          kind: "number",
          format: bits0 & 0x08 ? "int" : "uint",
          size: elementSize,
          bigEndian: (bits0 & 1) === 1,
        };
      }
      case 1: {
        // Floating point: IEEE half, single or double (checked through the exponent and mantissa sizes).
        const ieee: Record<number, [number, number]> = { 2: [5, 10], 4: [8, 23], 8: [11, 52] };
        const expected = ieee[elementSize];
        if (
          expected === undefined ||
          (bits0 & 0x40) !== 0 ||
          this.u8(start + 13) !== expected[0] ||
          this.u8(start + 15) !== expected[1]
        ) {
          return { kind: "unsupported", description: `a ${elementSize}-byte non-IEEE float` };
        }
        return { kind: "number", format: "float", size: elementSize as 2 | 4 | 8, bigEndian: (bits0 & 1) === 1 };
      }
      case 3:
        return { kind: "string", size: elementSize, padding: bits0 & 0x0f, utf8: bits0 >> 4 === 1 };
      case 9:
        if ((bits0 & 0x0f) === 1)
          return { kind: "vlen-string", padding: (bits0 >> 4) & 0x0f, utf8: (this.u8(start + 2) & 0x0f) === 1 };
        return { kind: "unsupported", description: "a variable-length sequence" };
      default: {
        const names = [
          "integer",
          "float",
          "time",
          "string",
          "bitfield",
          "opaque",
          "compound",
          "reference",
          "enum",
          "variable-length",
          "array",
        ];
        return { kind: "unsupported", description: `a ${names[typeClass] ?? `class ${typeClass}`} datatype` };
      }
    }
  }

  /** The dimensions of a dataspace message; undefined for a null dataspace (no data at all). */
  dataspace(message: Message | { start: number; size: number }, what: string): number[] | undefined {
    const { start } = message;
    const version = this.u8(start);
    if (version !== 1 && version !== 2) throw this.fail("E_HDF5", start, `${what}: dataspace version ${version}`);
    const rank = this.u8(start + 1);
    if (rank > 32) throw this.fail("E_HDF5", start + 1, `${what}: a dataspace of rank ${rank} (HDF5 allows 32)`);
    if (version === 2 && this.u8(start + 3) === 2) return undefined;
    const dims = version === 1 ? start + 8 : start + 4;
    if (dims + 8 * rank > start + message.size)
      throw this.fail("E_HDF5", start, `${what}: dataspace message too short for rank ${rank}`);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(this.u64(dims + 8 * i, "a dimension size"));
    return shape;
  }

  // -- attributes -----------------------------------------------------------------------------

  attributes(header: ObjectHeader, path: string): Map<string, Attribute> {
    let table = this.attributeTables.get(header.address);
    if (table !== undefined) return table;
    table = new Map();
    for (const message of header.messages) {
      if (message.type === MSG_ATTRIBUTE_INFO) {
        this.need(message.start, 2, "an attribute info message");
        const heap = this.address(
          message.start + 2 + (this.u8(message.start + 1) & 1 ? 2 : 0),
          "a fractal heap address",
        );
        if (heap !== UNDEFINED) {
          throw new KeraslessError(
            "E_UNSUPPORTED",
            `object "${path}" keeps its attributes in dense storage (a fractal heap), which kerasless does not read`,
            { file: this.file },
          );
        }
      }
      if (message.type !== MSG_ATTRIBUTE) continue;
      const attribute = this.attributeHeader(message, path);
      if (!table.has(attribute.name)) table.set(attribute.name, attribute);
    }
    this.attributeTables.set(header.address, table);
    return table;
  }

  private attributeHeader(message: Message, path: string): Attribute & { name: string } {
    const { start, size } = message;
    const end = start + size;
    const version = this.u8(start);
    if (version < 1 || version > 3)
      throw this.fail("E_HDF5", start, `object "${path}": attribute message version ${version}`);
    if (version >= 2 && (this.u8(start + 1) & 0x03) !== 0) {
      throw new KeraslessError(
        "E_UNSUPPORTED",
        `object "${path}" has an attribute with a shared datatype or dataspace`,
        { file: this.file },
      );
    }
    const nameSize = this.u16(start + 2);
    const datatypeSize = this.u16(start + 4);
    const dataspaceSize = this.u16(start + 6);
    const pad = version === 1 ? (n: number) => Math.ceil(n / 8) * 8 : (n: number) => n;
    const nameStart = start + (version === 3 ? 9 : 8);
    const datatypeStart = nameStart + pad(nameSize);
    const dataspaceStart = datatypeStart + pad(datatypeSize);
    const dataStart = dataspaceStart + pad(dataspaceSize);
    if (dataStart > end)
      throw this.fail(
        "E_HDF5",
        start,
        `object "${path}": attribute message parts (${nameSize}+${datatypeSize}+${dataspaceSize} bytes) overrun the message (${size} bytes)`,
      );
    const utf8 = version === 3 && this.u8(start + 8) === 1;
    const name = this.text(nameStart, nameSize, utf8).replace(/\0+$/, "");
    return { name, message, datatypeStart, datatypeSize, dataspaceStart, dataspaceSize, dataStart };
  }

  attributeValue(attribute: Attribute, name: string, path: string): unknown {
    const where = `attribute "${name}" of "${path}"`;
    const end = attribute.message.start + attribute.message.size;
    const type = this.datatype(attribute.datatypeStart, attribute.datatypeSize);
    const shape = this.dataspace({ start: attribute.dataspaceStart, size: attribute.dataspaceSize }, where);
    if (shape === undefined) return null;
    const count = elementCount(shape, () =>
      this.fail("E_HDF5", attribute.dataspaceStart, `${where}: its shape is too large`),
    );
    const at = attribute.dataStart;
    let values: unknown[];
    switch (type.kind) {
      case "number": {
        if (count * type.size > end - at)
          throw this.fail(
            "E_HDF5",
            at,
            `${where}: ${count} values of ${type.size} bytes do not fit in the ${end - at} bytes of the message`,
          );
        values = Array.from(this.decodeNumbers(at, count, type));
        break;
      }
      case "string": {
        if (count * type.size > end - at)
          throw this.fail(
            "E_HDF5",
            at,
            `${where}: ${count} strings of ${type.size} bytes do not fit in the ${end - at} bytes of the message`,
          );
        values = [];
        for (let i = 0; i < count; i++)
          values.push(unpad(this.text(at + i * type.size, type.size, type.utf8), type.padding));
        break;
      }
      case "vlen-string": {
        if (count * 16 > end - at)
          throw this.fail(
            "E_HDF5",
            at,
            `${where}: ${count} string references do not fit in the ${end - at} bytes of the message`,
          );
        values = [];
        let total = 0;
        for (let i = 0; i < count; i++) {
          const [start, length] = this.vlenData(at + i * 16, where);
          // Distinct strings live in distinct heap objects, so together they fit in the file.
          total += length;
          if (total > this.bytes.length)
            throw this.fail("E_LIMIT", at, `${where}: its strings add up to more bytes than the file has`);
          values.push(unpad(this.text(start, length, type.utf8), type.padding));
        }
        break;
      }
      default:
        throw new KeraslessError("E_UNSUPPORTED", `${where} has ${type.description}, which kerasless does not read`, {
          file: this.file,
        });
    }
    return shape.length === 0 ? values[0] : values;
  }

  /** [start, length] of the bytes a variable-length element (length, heap address, index) refers to. */
  private vlenData(at: number, where: string): [number, number] {
    const length = this.u32(at);
    const heap = this.address(at + 4, "a global heap address");
    const index = this.u32(at + 12);
    if (heap === UNDEFINED || (length === 0 && index === 0)) return [at, 0];
    const object = this.globalHeap(heap).get(index);
    if (object === undefined)
      throw this.fail("E_HDF5", at, `${where}: global heap object ${index} at byte ${heap} does not exist`);
    if (length > object[1])
      throw this.fail("E_HDF5", at, `${where}: a ${length}-byte string in a ${object[1]}-byte heap object`);
    return [object[0], length];
  }

  private globalHeap(address: number): Map<number, [number, number]> {
    let objects = this.globalHeaps.get(address);
    if (objects !== undefined) return objects;
    this.signature(address, "GCOL", "a global heap collection");
    const size = this.u64(address + 8, "the global heap size");
    if (size < 16) throw this.fail("E_HDF5", address, `global heap collection of ${size} bytes`);
    this.need(address, size, "the global heap collection");
    objects = new Map();
    const end = address + size;
    for (let at = address + 16; at + 16 <= end;) {
      const index = this.u16(at);
      if (index === 0) break; // free space runs to the end
      const objectSize = this.u64(at + 8, "a global heap object size");
      if (at + 16 + objectSize > end)
        throw this.fail("E_HDF5", at, `global heap object ${index} (${objectSize} bytes) runs past its collection`);
      objects.set(index, [at + 16, objectSize]);
      at += 16 + Math.ceil(objectSize / 8) * 8;
    }
    this.globalHeaps.set(address, objects);
    return objects;
  }

  // -- dataset values -------------------------------------------------------------------------

  readDataset(header: ObjectHeader, shape: number[], path: string): Float32Array {
    const where = `dataset "${path}"`;
    const datatype = this.requireMessage(header, MSG_DATATYPE, path);
    const type = this.datatype(datatype.start, datatype.size);
    if (type.kind !== "number") {
      throw new KeraslessError(
        "E_HDF5",
        `${where} holds ${type.kind === "unsupported" ? type.description : "strings"}, expected numbers`,
        { file: this.file },
      );
    }
    const count = elementCount(shape, () =>
      this.fail("E_LIMIT", header.address, `${where}: shape [${shape.join(", ")}] is too large`),
    );
    const needed = count * type.size;
    const layout = this.requireMessage(header, MSG_LAYOUT, path);
    const version = this.u8(layout.start);
    let layoutClass: number;
    let at: number;
    if (version === 1 || version === 2) {
      layoutClass = this.u8(layout.start + 2);
      at = layout.start + 8;
    } else if (version === 3 || version === 4) {
      layoutClass = this.u8(layout.start + 1);
      at = layout.start + 2;
      if (version === 4 && layoutClass === 2)
        throw new KeraslessError(
          "E_UNSUPPORTED",
          `${where} uses a version 4 chunk index (HDF5 1.10 "latest" format), which kerasless does not read`,
          { file: this.file },
        );
    } else {
      throw this.fail("E_HDF5", layout.start, `${where}: data layout version ${version}`);
    }
    const filters = this.filters(header, path);
    if (layoutClass === 2) return this.readChunked(layout, version, at, shape, type, filters, where);
    if (filters.length > 0) throw this.fail("E_HDF5", layout.start, `${where}: filters on data that is not chunked`);
    let dataStart: number;
    let available: number;
    if (layoutClass === 1) {
      dataStart = this.address(at, "a data address");
      if (dataStart === UNDEFINED) {
        // h5py allocates no storage for empty datasets; a non-empty one without data holds only fill values.
        if (count === 0) return new Float32Array(0);
        throw this.fail("E_HDF5", at, `${where} has no data written`);
      }
      available = version >= 3 ? this.u64(at + 8, "a data size") : needed;
    } else if (layoutClass === 0) {
      if (version >= 3) {
        available = this.u16(at);
        dataStart = at + 2;
      } else {
        const dims = this.u8(layout.start + 1);
        available = this.u32(at + 4 * dims);
        dataStart = at + 4 * dims + 4;
      }
      if (dataStart + available > layout.start + layout.size)
        throw this.fail("E_HDF5", at, `${where}: compact data overruns its message`);
    } else {
      throw this.fail("E_HDF5", layout.start, `${where}: unknown layout class ${layoutClass}`);
    }
    if (available < needed)
      throw this.fail(
        "E_HDF5",
        at,
        `${where}: shape [${shape.join(", ")}] needs ${needed} bytes, its storage has ${available}`,
      );
    this.need(dataStart, needed, `the data of ${where}`);
    return this.decodeNumbers(dataStart, count, type);
  }

  private filters(header: ObjectHeader, path: string): { id: number; at: number }[] {
    const message = header.messages.find((m) => m.type === MSG_FILTERS);
    if (message === undefined) return [];
    const { start } = message;
    const version = this.u8(start);
    const count = this.u8(start + 1);
    const list: { id: number; at: number }[] = [];
    let at = version === 1 ? start + 8 : start + 2;
    for (let i = 0; i < count; i++) {
      const id = this.u16(at);
      if (id !== FILTER_DEFLATE && id !== FILTER_SHUFFLE && id !== FILTER_FLETCHER32) {
        throw new KeraslessError(
          "E_UNSUPPORTED",
          `dataset "${path}" uses HDF5 filter ${id} (kerasless reads deflate, shuffle and fletcher32)`,
          { file: this.file },
        );
      }
      list.push({ id, at });
      if (version === 1) {
        const nameLength = this.u16(at + 2);
        const values = this.u16(at + 6);
        at += 8 + Math.ceil(nameLength / 8) * 8 + 4 * values + (values % 2) * 4;
      } else {
        const nameLength = id >= 256 ? this.u16(at + 2) : 0;
        const values = this.u16(at + (id >= 256 ? 6 : 4));
        at += (id >= 256 ? 8 : 6) + nameLength + 4 * values;
      }
      if (at > start + message.size)
        throw this.fail("E_HDF5", start, `dataset "${path}": filter pipeline message too short`);
    }
    return list;
  }

  private readChunked(
    layout: Message,
    version: number,
    at: number,
    shape: number[],
    type: Extract<Datatype, { kind: "number" }>,
    filters: { id: number }[],
    where: string,
  ): Float32Array {
    let dims: number;
    let tree: number;
    let chunkAt: number;
    if (version >= 3) {
      dims = this.u8(at);
      tree = this.address(at + 1, "a chunk B-tree address");
      chunkAt = at + 9;
    } else {
      dims = this.u8(layout.start + 1);
      tree = this.address(at, "a chunk B-tree address");
      chunkAt = at + 8;
    }
    if (dims !== shape.length + 1)
      throw this.fail("E_HDF5", at, `${where}: chunks of rank ${dims - 1} for data of rank ${shape.length}`);
    if (chunkAt + 4 * dims > layout.start + layout.size)
      throw this.fail("E_HDF5", at, `${where}: layout message too short`);
    const chunk: number[] = [];
    for (let i = 0; i < shape.length; i++) chunk.push(this.u32(chunkAt + 4 * i));
    if (this.u32(chunkAt + 4 * shape.length) !== type.size)
      throw this.fail("E_HDF5", chunkAt, `${where}: chunk element size disagrees with the datatype`);
    if (chunk.some((d) => d === 0)) throw this.fail("E_HDF5", chunkAt, `${where}: a chunk dimension is 0`);
    const count = elementCount(shape, () => this.fail("E_LIMIT", at, `${where}: shape too large`));
    const chunkCount = elementCount(chunk, () => this.fail("E_LIMIT", chunkAt, `${where}: chunk shape too large`));
    const chunkBytes = chunkCount * type.size;
    const cap = this.limits.maxDecompressedBytes;
    if (count * 4 > cap || chunkBytes > cap) {
      throw this.fail(
        "E_LIMIT",
        at,
        `${where}: ${count} values in chunks of ${chunkBytes} bytes exceed the ${cap}-byte decompression limit (maxDecompressedBytes)`,
      );
    }
    const out = new Float32Array(count);
    if (count === 0) return out;
    const keySize = 8 + 8 * dims;
    const seenOffsets = new Set<string>();
    let inflated = 0;
    for (const { child, key } of this.btreeV1Entries(tree, 1, `the chunk B-tree of ${where}`, keySize)) {
      const storedSize = this.u32(key);
      const mask = this.u32(key + 4);
      const offset: number[] = [];
      for (let i = 0; i < shape.length; i++) {
        const o = this.u64(key + 8 + 8 * i, "a chunk offset");
        if (o % chunk[i] !== 0 || o >= shape[i])
          throw this.fail(
            "E_HDF5",
            key,
            `${where}: chunk offset [${offset.concat(o).join(", ")}] is outside the data or not on a chunk boundary`,
          );
        offset.push(o);
      }
      const id = offset.join(",");
      if (seenOffsets.has(id)) throw this.fail("E_HDF5", key, `${where}: two chunks at offset [${id}]`);
      seenOffsets.add(id);
      this.need(child, storedSize, `a chunk of ${where}`);
      let data = this.bytes.subarray(child, child + storedSize);
      for (let f = filters.length - 1; f >= 0; f--) {
        if (mask & (1 << f)) continue;
        data = this.applyFilter(filters[f].id, data, chunkBytes, type.size, child, where);
      }
      if (data.length !== chunkBytes)
        throw this.fail("E_HDF5", child, `${where}: chunk holds ${data.length} bytes, expected ${chunkBytes}`);
      inflated += chunkBytes;
      if (inflated > cap)
        throw this.fail(
          "E_LIMIT",
          child,
          `${where}: its chunks inflate to more than ${cap} bytes (maxDecompressedBytes)`,
        );
      this.copyChunk(data, chunk, offset, shape, type, out);
    }
    return out;
  }

  private applyFilter(
    id: number,
    data: Uint8Array,
    chunkBytes: number,
    itemSize: number,
    at: number,
    where: string,
  ): Uint8Array {
    if (id === FILTER_DEFLATE) {
      const out = new Uint8Array(chunkBytes);
      let written = 0;
      const inflater = new Unzlib((piece) => {
        if (written + piece.length > chunkBytes)
          throw this.fail(
            "E_LIMIT",
            at,
            `${where}: a chunk inflates to more than the ${chunkBytes} bytes a chunk holds`,
          );
        out.set(piece, written);
        written += piece.length;
      });
      try {
        // As in the zip reader: feed only what can expand to the bytes still expected.
        for (let p = 0; p < data.length;) {
          const step = Math.min(65536, Math.max(512, Math.floor((chunkBytes - written) / 1032)));
          inflater.push(data.subarray(p, Math.min(p + step, data.length)), p + step >= data.length);
          p += step;
        }
      } catch (e) {
        if (e instanceof KeraslessError) throw e;
        throw this.fail("E_HDF5", at, `${where}: corrupt deflate data in a chunk (${describeThrown(e)})`);
      }
      return out.subarray(0, written);
    }
    if (id === FILTER_SHUFFLE) {
      const out = new Uint8Array(data.length);
      const n = Math.floor(data.length / itemSize);
      for (let b = 0; b < itemSize; b++) for (let i = 0; i < n; i++) out[i * itemSize + b] = data[b * n + i];
      out.set(data.subarray(n * itemSize), n * itemSize);
      return out;
    }
    // fletcher32: sums of big-endian 16-bit words, folded one's-complement style every 360
    // words; stored little-endian after the data. HDF5 also accepts the checksum with the bytes
    // of each half swapped (written by old versions).
    if (data.length < 4) throw this.fail("E_HDF5", at, `${where}: chunk too short for its checksum`);
    const body = data.length - 4;
    let sum1 = 0;
    let sum2 = 0;
    let i = 0;
    for (let words = Math.floor(body / 2); words > 0;) {
      const block = Math.min(words, 360);
      words -= block;
      for (let k = 0; k < block; k++, i += 2) {
        sum1 += (data[i] << 8) | data[i + 1];
        sum2 += sum1;
      }
      sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
      sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
    }
    if (body % 2 === 1) {
      sum1 += data[body - 1] << 8;
      sum2 += sum1;
      sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
      sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
    const checksum = ((sum2 << 16) | sum1) >>> 0;
    const swapped = (((checksum & 0x00ff00ff) << 8) | ((checksum >>> 8) & 0x00ff00ff)) >>> 0;
    const stored = (data[body] | (data[body + 1] << 8) | (data[body + 2] << 16) | (data[body + 3] << 24)) >>> 0;
    if (stored !== checksum && stored !== swapped)
      throw this.fail("E_HDF5", at, `${where}: a chunk fails its fletcher32 checksum`);
    return data.subarray(0, body);
  }

  /** Copies the part of a chunk that lies inside the data into `out` (row-major). */
  private copyChunk(
    data: Uint8Array,
    chunk: number[],
    offset: number[],
    shape: number[],
    type: Extract<Datatype, { kind: "number" }>,
    out: Float32Array,
  ): void {
    const rank = shape.length;
    const values = decodeNumbers(
      new DataView(data.buffer, data.byteOffset, data.byteLength),
      0,
      data.length / type.size,
      type,
    );
    if (rank === 0) {
      out[0] = values[0];
      return;
    }
    const rowLength = Math.min(chunk[rank - 1], shape[rank - 1] - offset[rank - 1]);
    const index = new Array<number>(rank - 1).fill(0);
    for (;;) {
      let inside = true;
      let source = 0;
      let target = 0;
      for (let d = 0; d < rank - 1; d++) {
        if (offset[d] + index[d] >= shape[d]) inside = false;
        source = source * chunk[d] + index[d];
        target = target * shape[d] + offset[d] + index[d];
      }
      if (inside) {
        source *= chunk[rank - 1];
        target = target * shape[rank - 1] + offset[rank - 1];
        for (let i = 0; i < rowLength; i++) out[target + i] = values[source + i];
      }
      let d = rank - 2;
      while (d >= 0 && ++index[d] === chunk[d]) index[d--] = 0;
      if (d < 0) break;
    }
  }

  private decodeNumbers(at: number, count: number, type: Extract<Datatype, { kind: "number" }>): Float32Array {
    this.need(at, count * type.size, "data");
    if (type.format === "float" && type.size === 4 && !type.bigEndian) {
      // Copy once into an aligned buffer and view it: the common case for Keras weights.
      return new Float32Array(this.bytes.slice(at, at + 4 * count).buffer);
    }
    return decodeNumbers(this.view, at, count, type);
  }
}

function decodeNumbers(
  view: DataView,
  at: number,
  count: number,
  type: Extract<Datatype, { kind: "number" }>,
): Float32Array {
  const out = new Float32Array(count);
  const little = !type.bigEndian;
  const { format, size } = type;
  for (let i = 0, p = at; i < count; i++, p += size) {
    let v: number;
    if (format === "float")
      v =
        size === 4
          ? view.getFloat32(p, little)
          : size === 8
            ? view.getFloat64(p, little)
            : float16(view.getUint16(p, little));
    else if (size === 1) v = format === "int" ? view.getInt8(p) : view.getUint8(p);
    else if (size === 2) v = format === "int" ? view.getInt16(p, little) : view.getUint16(p, little);
    else if (size === 4) v = format === "int" ? view.getInt32(p, little) : view.getUint32(p, little);
    else v = Number(format === "int" ? view.getBigInt64(p, little) : view.getBigUint64(p, little));
    out[i] = v;
  }
  return out;
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Product of the dimensions, failing (rather than losing precision) beyond 2^32 elements. */
function elementCount(shape: readonly number[], tooLarge: () => KeraslessError): number {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > 2 ** 32) throw tooLarge();
  }
  return count;
}

/** Fixed-length strings: 0 NUL-terminated, 1 NUL-padded, 2 space-padded. */
function unpad(text: string, padding: number): string {
  if (padding === 0) {
    const end = text.indexOf("\0");
    return end < 0 ? text : text.slice(0, end);
  }
  return padding === 2 ? text.replace(/ +$/, "") : text.replace(/\0+$/, "");
}

function joinPath(parent: string, name: string): string {
  return parent.endsWith("/") ? parent + name : `${parent}/${name}`;
}
