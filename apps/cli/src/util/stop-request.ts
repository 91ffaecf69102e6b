/**
 * Ctrl-C handling for long commands. Outside the loops below there is no handler at all, so Ctrl-C
 * ends the process at once (the operating system's default, exit status 130 in a shell), also in
 * the middle of synchronous work — a JavaScript handler would only run when that work ends.
 * Outputs are written to temp files and renamed, so nothing half-written is left under its name.
 */

/** The signals a long command answers: Ctrl-C, and `kill`'s default (job schedulers, containers). */
const SIGNALS = [
  { name: 'SIGINT', code: 130, how: 'Ctrl-C' },
  { name: 'SIGTERM', code: 143, how: 'SIGTERM' },
] as const;

/**
 * A loop with state worth saving: while it `listen`s, the first SIGINT or SIGTERM asks it to stop
 * after its current step (and prints what will be kept), a second one quits at once with exit code
 * 130 (SIGINT) or 143 (SIGTERM).
 * `mute()` hands Ctrl-C back to the default (stop at once) for parts with nothing to save, e.g.
 * synchronous phases of a run that would not see the request until they end.
 * It listens from the start unless `listening: false`.
 * `requested()` is what a loop polls, `signal` what a library call takes, `exitCode()` the status to
 * end with once stopped (130 or 143, by the signal that asked); `dispose()` removes the handlers.
 */
export function onStopRequest(
  kept: string,
  o: { listening?: boolean } = {},
): { requested(): boolean; signal: AbortSignal; exitCode(): number; listen(): void; mute(): void; dispose(): void } {
  const controller = new AbortController();
  let listening = false;
  let exitCode = 130;
  const handlers = SIGNALS.map(({ name, code, how }) => ({
    name,
    handler: () => {
      if (controller.signal.aborted) process.exit(code);
      exitCode = code;
      controller.abort();
      process.stderr.write(`\nlowbit: stopping after the current step (${how} again to quit at once); ${kept}\n`);
    },
  }));
  const listen = () => {
    if (!listening) for (const { name, handler } of handlers) process.on(name, handler);
    listening = true;
  };
  const mute = () => {
    if (listening) for (const { name, handler } of handlers) process.off(name, handler);
    listening = false;
  };
  if (o.listening ?? true) listen();
  return { requested: () => controller.signal.aborted, signal: controller.signal, exitCode: () => exitCode, listen, mute, dispose: mute };
}

/**
 * Work with nothing to save that lets the event loop run (e.g. a search between evaluations):
 * Ctrl-C (or SIGTERM) prints a line that says so and exits with code 130 (143). Returns the function that removes the handler.
 */
export function exitOnInterrupt(what: string): () => void {
  const handlers = SIGNALS.map(({ name, code, how }) => ({
    name,
    handler: () => {
      process.stderr.write(`\nlowbit: interrupted (${how}) during ${what}; nothing was written\n`);
      process.exit(code);
    },
  }));
  for (const { name, handler } of handlers) process.on(name, handler);
  return () => {
    for (const { name, handler } of handlers) process.off(name, handler);
  };
}
