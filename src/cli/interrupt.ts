/**
 * What an interrupted run (Ctrl-C, SIGINT; SIGTERM) must undo before the process ends: the
 * terminal state the progress bar changed, and output files that are only half written. A run
 * registers each undo step while the state exists; the signal handlers run them, then end the
 * process by the same signal, so the exit status stays 130 / 143 as the shell reports it.
 */
const undoSteps = new Set<() => void>();

/** Registers a synchronous undo step; the returned function unregisters it (when the state is gone). */
export function onInterrupt(undo: () => void): () => void {
  undoSteps.add(undo);
  return () => {
    undoSteps.delete(undo);
  };
}

/** Runs every registered undo step, newest first; one that fails does not stop the others. */
export function undoAll(): void {
  const steps = Array.from(undoSteps).reverse();
  undoSteps.clear();
  for (const step of steps) {
    try {
      step();
    } catch {
      // The process is ending: what could be undone has been.
    }
  }
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** For the process entry only (bin/kerasless.js): undo, then die by the signal that arrived. */
export function handleSignals(): void {
  for (const signal of SIGNALS) {
    process.once(signal, () => {
      undoAll();
      for (const other of SIGNALS) process.removeAllListeners(other);
      process.kill(process.pid, signal);
    });
  }
}
