/**
 * Version 1 B-trees (HDF5 specification, section III.A.1): the index of old-style groups
 * (type 0) and of a chunked dataset's chunks (type 1).
 */
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

export interface BTreeLeaf {
  /** The address a leaf entry points to (a symbol table node or a chunk). */
  readonly child: number;
  /** File offset of the key that precedes it. */
  readonly key: number;
}

/**
 * The leaf entries of the version 1 B-tree of `type` rooted at `root`, left to right. Every node
 * is visited once: a tree whose nodes share or revisit children is an error, not an exponential walk.
 */
export function btreeV1Leaves(r: Hdf5Reader, root: number, type: number, what: string, keySize: number): BTreeLeaf[] {
  if (root === UNDEFINED) return [];
  // Trees are shared by address (many groups or datasets may name one); trees that share nodes
  // are walked once each, every entry charged to the file's budget.
  return r.once(`B-tree ${type}/${keySize}`, root, () => walk(r, root, type, what, keySize));
}

function walk(r: Hdf5Reader, root: number, type: number, what: string, keySize: number): BTreeLeaf[] {
  const leaves: BTreeLeaf[] = [];
  const seen = new Set<number>();
  const stack: [number, number | null][] = [[root, null]];
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (seen.has(node)) throw r.fail("E_HDF5", node, `${what} visits this node twice (a cycle or shared subtree)`);
    seen.add(node);
    r.signature(node, "TREE", `${what} node`);
    if (r.u8(node + 4) !== type)
      throw r.fail("E_HDF5", node + 4, `${what} node has type ${r.u8(node + 4)}, expected ${type}`);
    const nodeLevel = r.u8(node + 5);
    if (level !== null && nodeLevel !== level)
      throw r.fail("E_HDF5", node + 5, `${what} node is at level ${nodeLevel}, expected ${level}`);
    const entries = r.u16(node + 6);
    const first = node + 24;
    r.need(first, entries * (keySize + 8) + keySize, `${what} node's ${entries} entries`);
    r.charge("entries", entries + 1, node);
    const children: number[] = [];
    for (let i = 0; i < entries; i++) {
      const key = first + i * (keySize + 8);
      const child = r.requireAddress(key + keySize, `${what} child address`);
      if (nodeLevel === 0) leaves.push({ child, key });
      else children.push(child);
    }
    // Depth first, left to right (children pushed in reverse).
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], nodeLevel - 1]);
  }
  if (seen.size + leaves.length > r.bytes.length) throw r.fail("E_HDF5", root, `${what} is larger than the file`);
  return leaves;
}
