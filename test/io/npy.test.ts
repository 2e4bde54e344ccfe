import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { KeraslessError } from "../../src/errors.js";
import { isNpy, parseNpy, writeNpy } from "../../src/io/npy.js";

/** A .npy file built by hand: any version, descr, header text and raw data bytes. */
function handMade(options: {
  version?: 1 | 2 | 3;
  header: string;
  data: Uint8Array;
  headerLength?: number;
}): Uint8Array {
  const version = options.version ?? 1;
  const header = new TextEncoder().encode(options.header);
  const lengthSize = version === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lengthSize + header.length + options.data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  const headerLength = options.headerLength ?? header.length;
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(header, 8 + lengthSize);
  out.set(options.data, 8 + lengthSize + header.length);
  return out;
}

const headerFor = (descr: string, shape: string, fortran = "False"): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

function float64Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}

function int64Bytes(values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return out;
}

function assertNpyError(bytes: Uint8Array, code: string, pattern: RegExp): void {
  assert.throws(
    () => parseNpy(bytes, "bad.npy"),
    (e: unknown) => {
      assert.ok(e instanceof KeraslessError, `expected a KeraslessError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.equal(e.file, "bad.npy");
      assert.match(e.problem, pattern);
      return true;
    },
  );
}

describe("writeNpy / parseNpy round trip", () => {
  test("float32 keeps shape and values bit for bit", () => {
    const data = Float32Array.from([0, -1.5, 0.1, 3.4e38, -0, Number.NaN, Infinity, 1e-45]);
    const back = parseNpy(writeNpy([2, 4], data), "x.npy");
    assert.equal(back.dtype, "float32");
    assert.deepEqual(back.shape, [2, 4]);
    assert.ok(back.data instanceof Float32Array);
    assert.deepEqual(new Uint8Array(back.data.buffer), new Uint8Array(data.buffer));
  });

  test("int32 keeps the full range", () => {
    const data = Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 42]);
    const back = parseNpy(writeNpy([3, 1, 2], data), "x.npy");
    assert.equal(back.dtype, "int32");
    assert.deepEqual(back.shape, [3, 1, 2]);
    assert.ok(back.data instanceof Int32Array);
    assert.deepEqual([...back.data], [...data]);
  });

  test("scalars, vectors and empty arrays", () => {
    assert.deepEqual(parseNpy(writeNpy([], Float32Array.of(7)), "x").shape, []);
    assert.deepEqual([...parseNpy(writeNpy([], Float32Array.of(7)), "x").data], [7]);
    assert.deepEqual(parseNpy(writeNpy([3], Int32Array.of(1, 2, 3)), "x").shape, [3]);
    const empty = parseNpy(writeNpy([0, 5], new Float32Array(0)), "x");
    assert.deepEqual(empty.shape, [0, 5]);
    assert.equal(empty.data.length, 0);
  });

  test("writes a version 1.0 header like NumPy's, data aligned to 64 bytes", () => {
    const bytes = writeNpy([7, 4, 3], new Float32Array(84));
    assert.ok(isNpy(bytes));
    assert.equal(bytes[6], 1);
    assert.equal(bytes[7], 0);
    const headerLength = bytes[8] | (bytes[9] << 8);
    assert.equal((10 + headerLength) % 64, 0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(7, 4, 3\), \} *\n$/);
    assert.match(
      new TextDecoder().decode(writeNpy([5], new Int32Array(5)).subarray(10, 80)),
      /'descr': '<i4'.*'shape': \(5,\)/,
    );
  });

  test("the seed fixture (written by NumPy) is read and rewritten byte for byte", () => {
    const original = new Uint8Array(readFileSync(new URL("../fixtures/seed/input_0.npy", import.meta.url)));
    const array = parseNpy(original, "input_0.npy");
    assert.deepEqual(array.shape, [7, 4, 3]);
    assert.deepEqual(writeNpy(array.shape, array.data), original);
  });

  test("refuses data that does not match the shape", () => {
    assert.throws(
      () => writeNpy([2, 2], new Float32Array(3)),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT_SHAPE",
    );
  });
});

describe("parseNpy dtypes and versions", () => {
  test("<f8 becomes float32", () => {
    const array = parseNpy(handMade({ header: headerFor("<f8", "(3,)"), data: float64Bytes([0.1, -2.5, 1e300]) }), "x");
    assert.equal(array.dtype, "float32");
    assert.ok(array.data instanceof Float32Array);
    assert.deepEqual([...array.data], [Math.fround(0.1), -2.5, Infinity]);
  });

  test("<i8 becomes int32", () => {
    const array = parseNpy(
      handMade({ header: headerFor("<i8", "(2, 2)"), data: int64Bytes([0n, -5n, 2147483647n, -2147483648n]) }),
      "x",
    );
    assert.equal(array.dtype, "int32");
    assert.ok(array.data instanceof Int32Array);
    assert.deepEqual(array.shape, [2, 2]);
    assert.deepEqual([...array.data], [0, -5, 2147483647, -2147483648]);
  });

  test("<i8 outside the int32 range is an error", () => {
    assertNpyError(
      handMade({ header: headerFor("<i8", "(2,)"), data: int64Bytes([1n, 2147483648n]) }),
      "E_INPUT_VALUE",
      /2147483648 at flat index 1 does not fit in int32/,
    );
  });

  test("<i4 and <f4 from hand-made headers, versions 2.0 and 3.0", () => {
    const ints = new Uint8Array(Int32Array.of(1, -2).buffer);
    assert.deepEqual(
      [...parseNpy(handMade({ version: 2, header: headerFor("<i4", "(2,)"), data: ints }), "x").data],
      [1, -2],
    );
    const floats = new Uint8Array(Float32Array.of(0.5).buffer);
    const v3 = parseNpy(
      handMade({
        version: 3,
        header: `{"descr": "<f4", "fortran_order": False, "shape": (1, 1), "note": "ünïcode"}`,
        data: floats,
      }),
      "x",
    );
    assert.deepEqual(v3.shape, [1, 1]);
    assert.deepEqual([...v3.data], [0.5]);
  });

  test("Fortran order, big-endian and other dtypes are unsupported", () => {
    const four = new Uint8Array(16);
    assertNpyError(
      handMade({ header: headerFor("<f4", "(2, 2)", "True"), data: four }),
      "E_UNSUPPORTED",
      /Fortran order/,
    );
    assertNpyError(handMade({ header: headerFor(">f4", "(4,)"), data: four }), "E_UNSUPPORTED", /'>f4'/);
    assertNpyError(handMade({ header: headerFor("<u2", "(8,)"), data: four }), "E_UNSUPPORTED", /'<u2'/);
    assertNpyError(
      handMade({ header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", data: four }),
      "E_FORMAT",
      /structured/,
    );
  });
});

describe("parseNpy refuses malformed files with E_FORMAT", () => {
  const good = writeNpy([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));

  test("not a .npy file at all", () => {
    assertNpyError(new TextEncoder().encode("shape,data\n1,2\n"), "E_FORMAT", /not a NumPy \.npy file/);
    assertNpyError(new Uint8Array(0), "E_FORMAT", /not a NumPy/);
  });

  test("truncated anywhere", () => {
    for (const length of [6, 7, 9, 40, good.length - 4, good.length - 1]) {
      assertNpyError(good.subarray(0, length), "E_FORMAT", /truncated|needs/);
    }
  });

  test("a header that claims more data than the file holds", () => {
    const lying = handMade({ header: headerFor("<f4", "(1000000, 1000000, 1000000)"), data: new Uint8Array(8) });
    assertNpyError(lying, "E_FORMAT", /needs more data than the 8 bytes the file holds/);
    const huge = handMade({
      header: headerFor("<f8", "(9007199254740991, 9007199254740991)"),
      data: new Uint8Array(8),
    });
    assertNpyError(huge, "E_FORMAT", /needs more data/);
  });

  test("a header length beyond the end of the file", () => {
    assertNpyError(
      handMade({ header: headerFor("<f4", "(1,)"), data: new Uint8Array(4), headerLength: 60000 }),
      "E_FORMAT",
      /header claims 60000 bytes/,
    );
    assertNpyError(
      handMade({ version: 2, header: headerFor("<f4", "(1,)"), data: new Uint8Array(4), headerLength: 0xffffffff }),
      "E_FORMAT",
      /header claims/,
    );
  });

  test("extra bytes after the data", () => {
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    assertNpyError(extra, "E_FORMAT", /needs 24 bytes of data, the file holds 28/);
  });

  test("unknown versions and broken headers", () => {
    const v9 = new Uint8Array(good);
    v9[6] = 9;
    assertNpyError(v9, "E_FORMAT", /version 9\.0/);
    const data = new Uint8Array(4);
    assertNpyError(handMade({ header: "{'descr': '<f4', 'shape': (1,)", data }), "E_FORMAT", /malformed \.npy header/);
    assertNpyError(
      handMade({ header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing", data }),
      "E_FORMAT",
      /malformed/,
    );
    assertNpyError(handMade({ header: "[1, 2]", data }), "E_FORMAT", /not a dict/);
    assertNpyError(handMade({ header: headerFor("<f4", "(-1,)"), data }), "E_FORMAT", /shape/);
    assertNpyError(handMade({ header: headerFor("<f4", "(1.5,)"), data }), "E_FORMAT", /malformed/);
    assertNpyError(
      handMade({ header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", data }),
      "E_FORMAT",
      /fortran_order/,
    );
    assertNpyError(
      handMade({ header: "{'descr': '<f4', 'fortran_order': False}", data }),
      "E_FORMAT",
      /'shape' is not a tuple/,
    );
    assertNpyError(handMade({ header: "(".repeat(50), data }), "E_FORMAT", /malformed/);
    assertNpyError(handMade({ version: 3, header: "{'descr': '<f4'", data }), "E_FORMAT", /malformed/);
  });
});

describe("parseNpy and hostile headers", () => {
  test("a '__proto__' key is an ordinary key: it cannot stand in for 'descr' or touch Object.prototype", () => {
    const data = new Uint8Array(4);
    const header =
      "{'__proto__': {'descr': '<f4', 'fortran_order': False, 'shape': (1,)}, 'fortran_order': False, 'shape': (1,)}";
    assertNpyError(handMade({ header, data }), "E_FORMAT", /'descr' is not a string/);
    const polluting =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '__proto__': {'polluted': True}, " +
      "'constructor': {'prototype': {'polluted': True}}}";
    assert.deepEqual([...parseNpy(handMade({ header: polluting, data }), "x").data], [0]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a header nested deeper than any NumPy writes is refused, not recursed into", () => {
    assertNpyError(
      handMade({
        header: `{'descr': '<f4', 'fortran_order': False, 'shape': ${"(".repeat(5000)}${")".repeat(5000)}}`,
        data: new Uint8Array(4),
      }),
      "E_FORMAT",
      /nesting too deep/,
    );
  });

  test("headers over 64 KiB and shapes of over 64 dimensions are refused, in time linear in the file", () => {
    const ones = (n: number): string => `(${Array.from({ length: n }, () => "1").join(", ")})`;
    const million = handMade({ version: 2, header: headerFor("<f4", ones(1_000_000)), data: new Uint8Array(4) });
    const start = performance.now();
    assertNpyError(
      million,
      "E_FORMAT",
      /the .npy header is 3000\d+ bytes long; kerasless reads headers of up to 65536/,
    );
    const many = handMade({ version: 2, header: headerFor("<f4", ones(20_000)), data: new Uint8Array(4) });
    assertNpyError(many, "E_FORMAT", /shape has 20000 dimensions \(NumPy allows 64\)/);
    assert.ok(performance.now() - start < 2000);
    const most = handMade({ header: headerFor("<f4", ones(64)), data: new Uint8Array(4) });
    assert.equal(parseNpy(most, "x").shape.length, 64);
  });
});
