#!/usr/bin/env node
// Serves the built page (apps/web/dist) on 127.0.0.1, cross-origin isolated (COOP/COEP headers, so
// that the page has SharedArrayBuffer). Usage: node apps/web/scripts/serve.mjs [--port 5178] [--dir DIST]
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml' };

/** Starts the static server for `dir` on 127.0.0.1:`port` (0: any free port); resolves with its URL and a close(). */
export function startServer(dir, port = 5178) {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root} has no index.html: build the page first (pnpm --filter @lowbit/web build)`);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    let file = normalize(join(root, path));
    if (file.startsWith(root) && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(path === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-cache' });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((done) => server.close(() => done())) }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5178' }, dir: { type: 'string', default: fileURLToPath(new URL('../dist', import.meta.url)) } } });
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
    console.error(`--port must be an integer 0..65535, got '${values.port}'`);
    process.exit(2);
  }
  try {
    const s = await startServer(values.dir, port);
    console.log(`lowbit page: ${s.url}  (127.0.0.1 only; Ctrl-C to stop)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE' ? `port ${port} is in use: pass --port N` : e.message);
    process.exit(2);
  }
}
