/**
 * Lets pending events (signals, timers, messages) run: a macrotask, so that it works in Node and
 * in browsers. Long synchronous loops await it between steps, so that a Ctrl-C handler, an
 * AbortSignal or a page's UI can act.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
