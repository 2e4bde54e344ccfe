/** `kerasless stream`: feeds the model one time step at a time (needs Model.stream()). */
import type { StreamArgs } from "./args.js";
import type { CliIO } from "./predict.js";

export async function stream(_args: StreamArgs, _io: CliIO): Promise<number> {
  throw new Error("kerasless stream: not implemented yet");
}
