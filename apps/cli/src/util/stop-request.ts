/**
 * Ctrl-C handling for long commands. Outside the loops below there is no handler at all, so Ctrl-C
 * ends the process at once (the operating system's default, exit status 130 in a shell), also in
 * the middle of synchronous work — a JavaScript handler would only run when that work ends.
 * Outputs are written to temp files and renamed, so nothing half-written is left under its name.
 */

/**
 * A loop with state worth saving: while it `listen`s, the first SIGINT asks it to stop after its
 * current step (and prints what will be kept), a second one quits at once with exit code 130.
 * `mute()` hands Ctrl-C back to the default (stop at once) for parts with nothing to save, e.g.
 * synchronous phases of a run that would not see the request until they end.
 * It listens from the start unless `listening: false`.
 * `requested()` is what a loop polls, `signal` what a library call takes; `dispose()` removes the handler.
 */
export function onStopRequest(kept: string, o: { listening?: boolean } = {}): { requested(): boolean; signal: AbortSignal; listen(): void; mute(): void; dispose(): void } {
  const controller = new AbortController();
  let listening = false;
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write(`\nlowbit: stopping after the current step (Ctrl-C again to quit at once); ${kept}\n`);
  };
  const listen = () => {
    if (!listening) process.on('SIGINT', handler);
    listening = true;
  };
  const mute = () => {
    if (listening) process.off('SIGINT', handler);
    listening = false;
  };
  if (o.listening ?? true) listen();
  return { requested: () => controller.signal.aborted, signal: controller.signal, listen, mute, dispose: mute };
}

/**
 * Work with nothing to save that lets the event loop run (e.g. a search between evaluations):
 * Ctrl-C prints a line that says so and exits with code 130. Returns the function that removes the handler.
 */
export function exitOnInterrupt(what: string): () => void {
  const handler = () => {
    process.stderr.write(`\nlowbit: interrupted (Ctrl-C) during ${what}; nothing was written\n`);
    process.exit(130);
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}
