/**
 * Ctrl-C handling for long commands: the first SIGINT asks the loop to stop after its current
 * step (and prints what will be kept), a second one quits at once with exit code 130.
 * `requested()` is what a loop polls, `signal` what a library call takes; `dispose()` removes the handler.
 */
export function onStopRequest(kept: string): { requested(): boolean; signal: AbortSignal; dispose(): void } {
  active++;
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write(`\nlowbit: stopping after the current step (Ctrl-C again to quit at once); ${kept}\n`);
  };
  process.on('SIGINT', handler);
  return {
    requested: () => controller.signal.aborted,
    signal: controller.signal,
    dispose: () => {
      active--;
      process.off('SIGINT', handler);
    },
  };
}

/** Long loops listening for Ctrl-C right now ({@link onStopRequest} handlers). */
let active = 0;

/**
 * Ctrl-C outside a long loop (loading, evaluating, writing): a line that says so and exit code 130
 * at once — there is no state to save yet. Inside one, {@link onStopRequest}'s handler decides.
 */
export function exitOnInterrupt(): void {
  process.on('SIGINT', () => {
    if (active > 0) return;
    process.stderr.write('\nlowbit: interrupted (Ctrl-C) before any state worth keeping; exiting\n');
    process.exit(130);
  });
}
