/**
 * The arguments of one op-layer call (a tf.keras TFOpLambda / SlicingOpLambda, or a Keras 3
 * operation node), in one form for both config formats: constants as written, Keras tensors as
 * indexes into the call's inputs, slices and ellipses as objects.
 */
export class TensorArg {
  constructor(readonly index: number) {}
}

/** A slice bound: an integer, None, or (tf.keras) a scalar Keras tensor read at run time. */
export type SliceBound = number | null | TensorArg;

/** Python's `slice(start, stop, step)`. */
export class SliceArg {
  constructor(
    readonly start: SliceBound,
    readonly stop: SliceBound,
    readonly step: SliceBound,
  ) {}
}

/** Python's `...`. */
export const ELLIPSIS: unique symbol = Symbol("...");

export type OpValue =
  | number
  | string
  | boolean
  | null
  | TensorArg
  | SliceArg
  | typeof ELLIPSIS
  | readonly OpValue[]
  | { readonly [key: string]: OpValue };

/** One call of an op: `op(*args, **kwargs)`; for Keras 3, the op's config is in `kwargs` too. */
export interface OpCall {
  /** "tf" (tf.keras: the TensorFlow function's name) or "keras" (Keras 3: the op class). */
  readonly format: "tf" | "keras";
  readonly args: readonly OpValue[];
  readonly kwargs: Readonly<Record<string, OpValue>>;
}
