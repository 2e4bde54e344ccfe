/**
 * A tiny HDF5 writer for tests: superblock v0, version 1 object headers, old-style groups
 * (B-tree + symbol table nodes + local heap), contiguous float32 datasets and attributes. Every
 * structure is written where the test says, so that tests can build exactly the hostile shapes
 * they need (shared B-tree children, link cycles, lying sizes) next to valid ones.
 */

export const UNDEFINED = -1;

export class H5Builder {
  private data: number[] = [];

  constructor() {
    this.data.length = 96; // the superblock, written by finish()
    this.data.fill(0);
  }

  get size(): number {
    return this.data.length;
  }

  /** Reserves `n` bytes (8-aligned) and returns their address. */
  alloc(n: number): number {
    while (this.data.length % 8 !== 0) this.data.push(0);
    const at = this.data.length;
    for (let i = 0; i < n; i++) this.data.push(0);
    return at;
  }

  /** A copy of `n` bytes written at `at`. */
  bytes(at: number, n: number): number[] {
    return this.data.slice(at, at + n);
  }

  /** The little-endian 32-bit value written at `at`. */
  u32At(at: number): number {
    return (this.data[at] | (this.data[at + 1] << 8) | (this.data[at + 2] << 16) | (this.data[at + 3] << 24)) >>> 0;
  }

  set(at: number, bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.data[at + i] = bytes[i];
  }

  u8(at: number, v: number): void {
    this.data[at] = v & 0xff;
  }

  u16(at: number, v: number): void {
    this.set(at, [v & 0xff, (v >> 8) & 0xff]);
  }

  u32(at: number, v: number): void {
    this.set(at, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
  }

  u64(at: number, v: number): void {
    if (v === UNDEFINED) {
      this.set(at, [255, 255, 255, 255, 255, 255, 255, 255]);
      return;
    }
    this.u32(at, v % 2 ** 32);
    this.u32(at + 4, Math.floor(v / 2 ** 32));
  }

  ascii(at: number, text: string): void {
    this.set(
      at,
      [...text].map((c) => c.charCodeAt(0)),
    );
  }

  /** A local heap holding `names` (NUL-terminated, 8-aligned); returns its address and each name's offset. */
  localHeap(names: string[]): { address: number; offsets: number[] } {
    const offsets: number[] = [];
    const segment: number[] = [0, 0, 0, 0, 0, 0, 0, 0]; // offset 0: the empty name
    for (const name of names) {
      offsets.push(segment.length);
      segment.push(...new TextEncoder().encode(name), 0);
      while (segment.length % 8 !== 0) segment.push(0);
    }
    const address = this.alloc(32);
    const dataAt = this.alloc(segment.length);
    this.ascii(address, "HEAP");
    this.u64(address + 8, segment.length);
    this.u64(address + 16, UNDEFINED);
    this.u64(address + 24, dataAt);
    this.set(dataAt, segment);
    return { address, offsets };
  }

  /**
   * A symbol table node; each entry is [name offset, object header address] or a soft link
   * [name offset, "soft", value offset].
   */
  symbolNode(entries: ([number, number] | [number, "soft", number])[]): number {
    const at = this.alloc(8 + 40 * entries.length);
    this.ascii(at, "SNOD");
    this.u8(at + 4, 1);
    this.u16(at + 6, entries.length);
    entries.forEach((entry, i) => {
      const e = at + 8 + 40 * i;
      this.u64(e, entry[0]);
      if (entry[1] === "soft") {
        this.u64(e + 8, UNDEFINED);
        this.u32(e + 16, 2);
        this.u32(e + 24, entry[2]);
      } else this.u64(e + 8, entry[1]);
    });
    return at;
  }

  /** A version 1 B-tree node of `type` at `level` with these children (keys are zero). */
  btreeNode(type: number, level: number, children: number[], keySize = 8): number {
    const at = this.alloc(24 + children.length * (keySize + 8) + keySize);
    this.ascii(at, "TREE");
    this.u8(at + 4, type);
    this.u8(at + 5, level);
    this.u16(at + 6, children.length);
    this.u64(at + 8, UNDEFINED);
    this.u64(at + 16, UNDEFINED);
    children.forEach((child, i) => this.u64(at + 24 + i * (keySize + 8) + keySize, child));
    return at;
  }

  /** A version 1 object header with these messages ([type, data]); returns its address. */
  objectHeader(messages: [number, number[]][]): number {
    const padded = messages.map(
      ([type, body]) => [type, [...body, ...new Array((8 - (body.length % 8)) % 8).fill(0)]] as const,
    );
    const size = padded.reduce((n, [, body]) => n + 8 + body.length, 0);
    const at = this.alloc(16 + size);
    this.u8(at, 1);
    this.u16(at + 2, messages.length);
    this.u32(at + 4, 1);
    this.u32(at + 8, size);
    let p = at + 16;
    for (const [type, body] of padded) {
      this.u16(p, type);
      this.u16(p + 2, body.length);
      this.set(p + 8, body);
      p += 8 + body.length;
    }
    return at;
  }

  /** A group whose members are [name, object header address] (or [name, "soft", target]); returns its object header. */
  group(members: ([string, number] | [string, "soft", string])[], attributes: number[][] = []): number {
    const names = members.flatMap((m) => (m[1] === "soft" ? [m[0], m[2] as string] : [m[0]]));
    const heap = this.localHeap(names);
    let k = 0;
    const entries = members.map((m): [number, number] | [number, "soft", number] => {
      const nameOffset = heap.offsets[k++];
      return m[1] === "soft" ? [nameOffset, "soft", heap.offsets[k++]] : [nameOffset, m[1] as number];
    });
    const node = this.symbolNode(entries);
    const tree = this.btreeNode(0, 0, [node]);
    return this.objectHeader([
      [0x11, [...le64(tree), ...le64(heap.address)]],
      ...attributes.map((a): [number, number[]] => [0x0c, a]),
    ]);
  }

  /** A contiguous little-endian float32 dataset; `storedShape` lets the dataspace claim another shape. */
  dataset(values: number[], shape: number[], attributes: number[][] = []): number {
    const dataAt = this.alloc(4 * values.length);
    const view = new DataView(new ArrayBuffer(4 * values.length));
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    this.set(dataAt, new Uint8Array(view.buffer));
    return this.objectHeader([
      [0x01, dataspace(shape)],
      [0x03, FLOAT32],
      [0x08, [3, 1, ...le64(dataAt), ...le64(4 * values.length)]],
      ...attributes.map((a): [number, number[]] => [0x0c, a]),
    ]);
  }

  /**
   * A chunked float32 dataset. `chunks` maps each chunk's offset to its stored bytes (already
   * filtered); `filters` lists filter ids for the pipeline message (1 deflate, 2 shuffle).
   */
  chunkedDataset(
    shape: number[],
    chunk: number[],
    chunks: [offset: number[], stored: Uint8Array][],
    filters: number[] = [],
  ): number {
    const keySize = 8 + 8 * (shape.length + 1);
    const addresses = chunks.map(([, stored]) => {
      const at = this.alloc(stored.length);
      this.set(at, stored);
      return at;
    });
    const node = this.btreeNode(1, 0, addresses, keySize);
    chunks.forEach(([offset, stored], i) => {
      const key = node + 24 + i * (keySize + 8);
      this.u32(key, stored.length);
      this.u32(key + 4, 0);
      offset.forEach((o, d) => this.u64(key + 8 + 8 * d, o));
    });
    const pipeline = [
      1,
      filters.length,
      0,
      0,
      0,
      0,
      0,
      0,
      ...filters.flatMap((id) => [...le16(id), 0, 0, 0, 0, ...le16(1), ...le32(id === 1 ? 6 : 4), 0, 0, 0, 0]),
    ];
    return this.objectHeader([
      [0x01, dataspace(shape)],
      [0x03, FLOAT32],
      [0x08, [3, 2, shape.length + 1, ...le64(node), ...chunk.flatMap(le32), ...le32(4)]],
      ...(filters.length > 0 ? [[0x0b, pipeline] as [number, number[]]] : []),
    ]);
  }

  /** A global heap collection with these objects (index i+1); returns its address. */
  globalHeap(objects: Uint8Array[]): number {
    const body: number[] = [];
    objects.forEach((object, i) => {
      body.push(...le16(i + 1), 0, 0, 0, 0, 0, 0, ...le64(object.length));
      for (const byte of object) body.push(byte); // objects may be larger than a call's arguments

      while (body.length % 8 !== 0) body.push(0);
    });
    body.push(...new Array(16).fill(0)); // free space object (index 0)
    const at = this.alloc(16 + body.length);
    this.ascii(at, "GCOL");
    this.u8(at + 4, 1);
    this.u64(at + 8, 16 + body.length);
    this.set(at + 16, body);
    return at;
  }

  /** Writes the superblock (root group at `root`) and returns the file. */
  finish(root: number): Uint8Array {
    while (this.data.length % 8 !== 0) this.data.push(0);
    this.set(0, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    this.u8(13, 8);
    this.u8(14, 8);
    this.u16(16, 4);
    this.u16(18, 16);
    this.u64(24, 0);
    this.u64(32, UNDEFINED);
    this.u64(40, this.data.length);
    this.u64(48, UNDEFINED);
    this.u64(56, 0);
    this.u64(64, root);
    return Uint8Array.from(this.data);
  }
}

export function le16(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff];
}

export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function le64(v: number): number[] {
  if (v === UNDEFINED) return new Array(8).fill(255);
  return [...le32(v % 2 ** 32), ...le32(Math.floor(v / 2 ** 32))];
}

/** A version 1 dataspace message; rank 0 is a scalar. */
export function dataspace(shape: number[]): number[] {
  return [1, shape.length, 0, 0, 0, 0, 0, 0, ...shape.flatMap(le64)];
}

/** IEEE little-endian float32, as h5py writes it. */
export const FLOAT32 = [0x11, 0x20, 0x3f, 0x00, ...le32(4), 0, 0, 32, 0, 23, 8, 0, 23, ...le32(127)];

/** A fixed-length, NUL-padded ASCII string type of `size` bytes. */
export function fixedString(size: number): number[] {
  return [0x13, 0x01, 0, 0, ...le32(size)];
}

/** A variable-length UTF-8 string type (its base type, a 1-byte string, follows). */
export const VLEN_STRING = [0x19, 0x01, 0x01, 0x00, ...le32(16), 0x13, 0x00, 0x00, 0x00, ...le32(1)];

/** A version 1 attribute message. */
export function attribute(name: string, type: number[], shape: number[], data: number[]): number[] {
  const pad = (bytes: number[]): number[] => [...bytes, ...new Array((8 - (bytes.length % 8)) % 8).fill(0)];
  const nameBytes = [...new TextEncoder().encode(name), 0];
  const space = dataspace(shape);
  return [
    1,
    0,
    ...le16(nameBytes.length),
    ...le16(type.length),
    ...le16(space.length),
    ...pad(nameBytes),
    ...pad(type),
    ...pad(space),
    ...data,
  ];
}

/** Attribute data for variable-length strings: (length, heap address, object index) per element. */
export function vlenRefs(refs: [length: number, heap: number, index: number][]): number[] {
  return refs.flatMap(([length, heap, index]) => [...le32(length), ...le64(heap), ...le32(index)]);
}
