/**
 * How much work Loop nodes may do in one call of a model, all of them together (nested ones
 * included): a trip count in a file is a claim, and a loop of 2^60 iterations would never end.
 * Work is counted in body node runs (an empty body's iteration counts 1; binding a body counts
 * BIND_COST per node). The model's graph starts a fresh budget on every call.
 */
import { KeraslessError } from "../errors.js";

export const MAX_LOOP_WORK = 2 ** 24;
/** What binding a body node costs, in node runs (it allocates the node's buffers). */
export const BIND_COST = 16;

let left = MAX_LOOP_WORK;

export function startLoopBudget(): void {
  left = MAX_LOOP_WORK;
}

/** Takes `work` node runs from the call's budget for the Loop `label`; E_LIMIT when it is spent. */
export function spend(work: number, label: string): void {
  if ((left -= work) < 0) throw new KeraslessError("E_LIMIT", `${label}: over ${MAX_LOOP_WORK} loop node runs`);
}
