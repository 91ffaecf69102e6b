/**
 * Ctrl-C handling for long commands: the first SIGINT asks the loop to stop after its current
 * step (and prints what will be kept), a second one quits at once with exit code 130.
 * `requested()` is what the loop polls; `dispose()` removes the handler.
 */
export function onStopRequest(kept: string): { requested(): boolean; dispose(): void } {
  let stop = false;
  const handler = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(`\nlowbit: stopping after the current step (Ctrl-C again to quit at once); ${kept}\n`);
  };
  process.on('SIGINT', handler);
  return { requested: () => stop, dispose: () => process.off('SIGINT', handler) };
}
