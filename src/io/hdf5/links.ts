/**
 * A group's members (HDF5 specification, sections III.B-C and IV.A.2.g/k/l): old-style symbol
 * tables (a B-tree of symbol table nodes, names in a local heap) and compact link messages.
 */
import { KeraslessError } from "../../errors.js";
import { btreeV1Leaves } from "./btree.js";
import { MSG_LINK, MSG_LINK_INFO, MSG_SYMBOL_TABLE, type Message, type ObjectHeader } from "./object-header.js";
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

export type Link =
  { kind: "hard"; address: number } | { kind: "soft"; target: string } | { kind: "unsupported"; why: string };

type AddLink = (name: string, link: Link, at: number) => void;

/**
 * The members of the group whose object header is `header`, by name, read once per file. Groups
 * whose only member list is one symbol table share it with every group naming the same B-tree
 * and heap, so N groups pointing at one table of N links cost N, not N^2.
 */
export function groupLinks(r: Hdf5Reader, header: ObjectHeader, path: string): ReadonlyMap<string, Link> {
  return r.once("links", header.address, () => {
    try {
      const listing = header.messages.filter(
        (m) => m.type === MSG_SYMBOL_TABLE || m.type === MSG_LINK || m.type === MSG_LINK_INFO,
      );
      if (listing.length === 1 && listing[0].type === MSG_SYMBOL_TABLE) return sharedSymbolTable(r, listing[0], path);
      const { links, add } = linkTable(r, path);
      for (const message of listing) {
        if (message.type === MSG_SYMBOL_TABLE) symbolTableLinks(r, message, add);
        else if (message.type === MSG_LINK) linkMessage(r, message, add);
        else linkInfo(r, message);
      }
      return links;
    } catch (e) {
      if (e instanceof KeraslessError)
        throw new KeraslessError(e.code, `group "${path}": ${e.problem}`, { file: r.file });
      throw e;
    }
  });
}

function linkTable(r: Hdf5Reader, path: string): { links: Map<string, Link>; add: AddLink } {
  const links = new Map<string, Link>();
  const add: AddLink = (name, link, at) => {
    // Paths are split at "/", and "" or "." would name the group itself.
    if (name === "" || name === "." || name.includes("/"))
      throw r.fail("E_HDF5", at, `group "${path}" has a member with the invalid name ${JSON.stringify(name)}`);
    if (links.has(name)) throw r.fail("E_HDF5", at, `group "${path}" has two members named "${name}"`);
    r.charge("entries", 1, at);
    links.set(name, link);
  };
  return { links, add };
}

function sharedSymbolTable(r: Hdf5Reader, message: Message, path: string): Map<string, Link> {
  if (message.size < 16) throw r.fail("E_HDF5", message.start, "symbol table message too short");
  const tree = r.address(message.start, "a B-tree address");
  const heap = r.address(message.start + 8, "a local heap address");
  return r.once(`symbol table with heap ${heap}`, tree, () => {
    const { links, add } = linkTable(r, path);
    symbolTableLinks(r, message, add);
    return links;
  });
}

function linkInfo(r: Hdf5Reader, message: Message): void {
  r.need(message.start, Math.max(message.size, 2), "a link info message");
  const flags = r.u8(message.start + 1);
  const heap = r.address(message.start + 2 + (flags & 1 ? 8 : 0), "a fractal heap address");
  if (heap !== UNDEFINED) {
    throw r.error(
      "E_UNSUPPORTED",
      `its links are in dense storage (a fractal heap, HDF5 1.8 "latest" format), which kerasless does not read`,
    );
  }
}

/** Old-style group: a version 1 B-tree of symbol table nodes, names in a local heap. */
function symbolTableLinks(r: Hdf5Reader, message: Message, add: AddLink): void {
  if (message.size < 16) throw r.fail("E_HDF5", message.start, "symbol table message too short");
  const tree = r.address(message.start, "a B-tree address");
  const heap = localHeap(r, r.address(message.start + 8, "a local heap address"));
  for (const { child: node } of btreeV1Leaves(r, tree, 0, "a group B-tree", 8)) {
    r.signature(node, "SNOD", "a symbol table node");
    const count = r.u16(node + 6);
    r.need(node + 8, count * 40, "the symbol table node's entries");
    r.charge("entries", count, node);
    for (let i = 0; i < count; i++) {
      const entry = node + 8 + i * 40;
      const name = heap.name(r.u64(entry, "a link name offset"), entry);
      const cacheType = r.u32(entry + 16);
      if (cacheType === 2) add(name, { kind: "soft", target: heap.name(r.u32(entry + 24), entry) }, entry);
      else add(name, { kind: "hard", address: r.requireAddress(entry + 8, "an object header address") }, entry);
    }
  }
}

interface LocalHeap {
  name(offset: number, at: number): string;
}

/** The local heap at `address`, read once per file; names decoded from it never add up to more than its size. */
function localHeap(r: Hdf5Reader, address: number): LocalHeap {
  if (address === UNDEFINED) throw r.fail("E_HDF5", 0, "a group has no local heap");
  return r.once("local heap", address, () => parseLocalHeap(r, address));
}

function parseLocalHeap(r: Hdf5Reader, address: number): LocalHeap {
  r.signature(address, "HEAP", "a local heap");
  const size = r.u64(address + 8, "the local heap size");
  const data = r.address(address + 24, "the local heap data address");
  r.need(data, size, "the local heap data");
  const segment = r.bytes.subarray(data, data + size);
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
  // Distinct names sit at distinct places in the heap, so all the names of the groups using it fit
  // in it; more means entries share (overlapping) names, which could otherwise multiply memory.
  let decoded = 0;
  return {
    name: (offset, at) => {
      if (offset >= size)
        throw r.fail("E_HDF5", at, `link name offset ${offset} is outside the local heap (${size} bytes)`);
      const end = nextNul(offset);
      if (end < 0) throw r.fail("E_HDF5", at, `link name at heap offset ${offset} is not terminated`);
      decoded += end - offset + 1;
      if (decoded > size)
        throw r.fail(
          "E_HDF5",
          at,
          `the link names add up to more bytes than their local heap holds (entries share names)`,
        );
      return new TextDecoder("utf-8").decode(segment.subarray(offset, end));
    },
  };
}

/** A link message (compact new-style groups). */
function linkMessage(r: Hdf5Reader, message: Message, add: AddLink): void {
  const end = message.start + message.size;
  let at = message.start;
  const take = (n: number): number => {
    if (at + n > end) throw r.fail("E_HDF5", message.start, "link message too short");
    const here = at;
    at += n;
    return here;
  };
  if (r.u8(take(1)) !== 1) throw r.fail("E_HDF5", message.start, `link message version ${r.u8(message.start)}`);
  const flags = r.u8(take(1));
  const type = flags & 0x08 ? r.u8(take(1)) : 0;
  if (flags & 0x04) take(8); // creation order
  const utf8 = flags & 0x10 ? r.u8(take(1)) === 1 : false;
  const lengthBytes = 1 << (flags & 3);
  const nameLength = r.uint(take(lengthBytes), lengthBytes, "a link name length");
  const name = r.text(take(nameLength), nameLength, utf8);
  if (type === 0)
    add(name, { kind: "hard", address: r.requireAddress(take(8), "a link's object address") }, message.start);
  else if (type === 1) {
    const length = r.u16(take(2));
    add(name, { kind: "soft", target: r.text(take(length), length, utf8) }, message.start);
  } else {
    const why = type === 64 ? "an external link (to another file)" : `a link of type ${type}`;
    add(name, { kind: "unsupported", why }, message.start);
  }
}
