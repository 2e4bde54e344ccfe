/**
 * Attributes (HDF5 specification, section IV.A.2.m) and the global heap that holds their
 * variable-length strings (section III.E).
 */
import { MSG_ATTRIBUTE, MSG_ATTRIBUTE_INFO, type Message, type ObjectHeader } from "./object-header.js";
import { datatype, dataspace, elementCount, readNumbers } from "./datatypes.js";
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

export interface Attribute {
  readonly message: Message;
  readonly datatypeStart: number;
  readonly datatypeSize: number;
  readonly dataspaceStart: number;
  readonly dataspaceSize: number;
  readonly dataStart: number;
}

/** The attributes of an object by name (the first of two with one name wins), parsed once per file. */
export function attributes(r: Hdf5Reader, header: ObjectHeader, path: string): Map<string, Attribute> {
  return r.once("attribute table", header.address, () => {
    const table = new Map<string, Attribute>();
    for (const message of header.messages) {
      if (message.type === MSG_ATTRIBUTE_INFO) {
        r.need(message.start, 2, "an attribute info message");
        const heap = r.address(message.start + 2 + (r.u8(message.start + 1) & 1 ? 2 : 0), "a fractal heap address");
        if (heap !== UNDEFINED) {
          throw r.error(
            "E_UNSUPPORTED",
            `object "${path}" keeps its attributes in dense storage (a fractal heap), which kerasless does not read`,
          );
        }
      }
      if (message.type !== MSG_ATTRIBUTE) continue;
      const attribute = attributeHeader(r, message, path);
      if (!table.has(attribute.name)) table.set(attribute.name, attribute);
    }
    return table;
  });
}

function attributeHeader(r: Hdf5Reader, message: Message, path: string): Attribute & { name: string } {
  const { start, size } = message;
  const end = start + size;
  const version = r.u8(start);
  if (version < 1 || version > 3)
    throw r.fail("E_HDF5", start, `object "${path}": attribute message version ${version}`);
  if (version >= 2 && (r.u8(start + 1) & 0x03) !== 0)
    throw r.error("E_UNSUPPORTED", `object "${path}" has an attribute with a shared datatype or dataspace`);
  const nameSize = r.u16(start + 2);
  const datatypeSize = r.u16(start + 4);
  const dataspaceSize = r.u16(start + 6);
  const pad = version === 1 ? (n: number) => Math.ceil(n / 8) * 8 : (n: number) => n;
  const nameStart = start + (version === 3 ? 9 : 8);
  const datatypeStart = nameStart + pad(nameSize);
  const dataspaceStart = datatypeStart + pad(datatypeSize);
  const dataStart = dataspaceStart + pad(dataspaceSize);
  if (dataStart > end)
    throw r.fail(
      "E_HDF5",
      start,
      `object "${path}": attribute message parts (${nameSize}+${datatypeSize}+${dataspaceSize} ` +
        `bytes) overrun the message (${size} bytes)`,
    );
  const utf8 = version === 3 && r.u8(start + 8) === 1;
  const name = trimTrailing(r.text(nameStart, nameSize, utf8), "\0");
  return { name, message, datatypeStart, datatypeSize, dataspaceStart, dataspaceSize, dataStart };
}

/**
 * An attribute's value: strings stripped of their padding, a scalar unwrapped, null for a null
 * dataspace. Decoded once per file (lists are frozen, as every caller shares them); the bytes
 * decoded are charged to the file's budget, so attributes sharing one heap string cannot
 * multiply memory.
 */
export function attributeValue(r: Hdf5Reader, attribute: Attribute, name: string, path: string): unknown {
  return r.once("attribute value", attribute.message.start, () => {
    const value = decodeAttribute(r, attribute, name, path);
    return Array.isArray(value) ? Object.freeze(value) : value;
  });
}

function decodeAttribute(r: Hdf5Reader, attribute: Attribute, name: string, path: string): unknown {
  const where = `attribute "${name}" of "${path}"`;
  const end = attribute.message.start + attribute.message.size;
  const type = datatype(r, attribute.datatypeStart, attribute.datatypeSize);
  const shape = dataspace(r, { start: attribute.dataspaceStart, size: attribute.dataspaceSize }, where);
  if (shape === undefined) return null;
  const count = elementCount(shape, () =>
    r.fail("E_HDF5", attribute.dataspaceStart, `${where}: its shape is too large`),
  );
  const at = attribute.dataStart;
  let values: unknown[];
  switch (type.kind) {
    case "number": {
      if (count * type.size > end - at)
        throw r.fail(
          "E_HDF5",
          at,
          `${where}: ${count} values of ${type.size} bytes do not fit in the ${end - at} bytes of the message`,
        );
      r.charge("attributeBytes", count * type.size, at);
      values = Array.from(readNumbers(r, at, count, type));
      break;
    }
    case "string": {
      // HDF5 has no 0-byte strings; with them any count would pass the check below.
      if (type.size === 0) throw r.fail("E_HDF5", attribute.datatypeStart, `${where}: fixed-length strings of 0 bytes`);
      if (count * type.size > end - at)
        throw r.fail(
          "E_HDF5",
          at,
          `${where}: ${count} strings of ${type.size} bytes do not fit in the ${end - at} bytes of the message`,
        );
      values = [];
      for (let i = 0; i < count; i++)
        values.push(unpad(r.text(at + i * type.size, type.size, type.utf8), type.padding));
      break;
    }
    case "vlen-string": {
      if (count * 16 > end - at)
        throw r.fail(
          "E_HDF5",
          at,
          `${where}: ${count} string references do not fit in the ${end - at} bytes of the message`,
        );
      r.charge("attributeBytes", count * 16, at);
      values = [];
      let total = 0;
      for (let i = 0; i < count; i++) {
        const [start, length] = vlenData(r, at + i * 16, where);
        // Distinct strings live in distinct heap objects, so together they fit in the file.
        total += length;
        if (total > r.bytes.length)
          throw r.fail("E_LIMIT", at, `${where}: its strings add up to more bytes than the file has`);
        r.charge("attributeBytes", length, at);
        values.push(unpad(r.text(start, length, type.utf8), type.padding));
      }
      break;
    }
    default:
      throw r.error("E_UNSUPPORTED", `${where} has ${type.description}, which kerasless does not read`);
  }
  return shape.length === 0 ? values[0] : values;
}

/** [start, length] of the bytes a variable-length element (length, heap address, index) refers to. */
function vlenData(r: Hdf5Reader, at: number, where: string): [number, number] {
  const length = r.u32(at);
  const heap = r.address(at + 4, "a global heap address");
  const index = r.u32(at + 12);
  if (heap === UNDEFINED || (length === 0 && index === 0)) return [at, 0];
  const object = globalHeap(r, heap).get(index);
  if (object === undefined)
    throw r.fail("E_HDF5", at, `${where}: global heap object ${index} at byte ${heap} does not exist`);
  if (length > object[1])
    throw r.fail("E_HDF5", at, `${where}: a ${length}-byte string in a ${object[1]}-byte heap object`);
  return [object[0], length];
}

/** The objects of the global heap collection at `address` ([start, size] by index), parsed once per file. */
function globalHeap(r: Hdf5Reader, address: number): Map<number, [number, number]> {
  return r.once("global heap", address, () => {
    r.signature(address, "GCOL", "a global heap collection");
    const size = r.u64(address + 8, "the global heap size");
    if (size < 16) throw r.fail("E_HDF5", address, `global heap collection of ${size} bytes`);
    r.need(address, size, "the global heap collection");
    const objects = new Map<number, [number, number]>();
    const end = address + size;
    for (let at = address + 16; at + 16 <= end;) {
      const index = r.u16(at);
      if (index === 0) break; // free space runs to the end
      const objectSize = r.u64(at + 8, "a global heap object size");
      if (at + 16 + objectSize > end)
        throw r.fail("E_HDF5", at, `global heap object ${index} (${objectSize} bytes) runs past its collection`);
      r.charge("entries", 1, at);
      objects.set(index, [at + 16, objectSize]);
      at += 16 + Math.ceil(objectSize / 8) * 8;
    }
    return objects;
  });
}

/** Fixed-length strings: 0 NUL-terminated, 1 NUL-padded, 2 space-padded. */
function unpad(text: string, padding: number): string {
  if (padding === 0) {
    const end = text.indexOf("\0");
    return end < 0 ? text : text.slice(0, end);
  }
  return trimTrailing(text, padding === 2 ? " " : "\0");
}

/** `text` without the run of `pad` characters at its end (a linear scan: a regex could backtrack). */
function trimTrailing(text: string, pad: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === pad) end--;
  return end === text.length ? text : text.slice(0, end);
}
