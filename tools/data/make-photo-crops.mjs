#!/usr/bin/env node
// Builds folders of natural-image crops for testing quantization of real 224x224 ImageNet-style
// models (MobileNetV2), offline and reproducibly, from photographs shipped in Debian packages.
//
// Command: node tools/data/make-photo-crops.mjs --out DIR [--calib 256] [--heldout 300] [--size 224] [--seed 1]
// Writes DIR/calib/NNNN.jpg, DIR/heldout/NNNN.jpg (size x size RGB, jpeg-js quality 92) and
// DIR/manifest.json (each crop's source file, crop box, flip, split; photos used; files skipped).
// Output is built in DIR.tmp-PID and renamed at the end; an existing DIR is replaced only if it
// holds a manifest written by this tool. Exits 2 on bad arguments or < 10 usable photos.
//
// Sources (PNG/JPEG only): /usr/lib/python3/dist-packages/skimage/data/ (python3-skimage, top level)
// and /usr/share/doc/opencv-doc/examples/ (opencv-doc, recursive). Files are taken in sorted path
// order. A file is skipped, first rule that applies:
//   deny      path matches DENY below (synthetic renders/diagrams/masks, drawings and a painting,
//             synthetic blur, scientific imaging, logos; found by looking at every candidate)
//   decode    pngjs / jpeg-js cannot decode it (skimage's truncated.jpg)
//   tiny      short side < 256 px
//   gray      1-channel, or fewer than 1% of pixels have max-min channel spread > 8 (JPEG noise)
//   colours   fewer than 2000 distinct colours after quantizing to 6 bits per channel (flat art)
//   duplicate near-duplicate of another usable photo in the same folder: the "secondary" view of a
//             stereo / optical-flow / viewpoint / edit pair, named by replacing right->left,
//             a trailing R->L or B->A, a lone trailing digit 2-9 ->1, _modified->_original
//             (aloeR, right, motorcycle_right, leuvenB, graf3, aero3, rubberwhale2, ela_modified);
//             the primary (left / L / A / 1 / original) is kept.
// Split BY PHOTO: a seeded shuffle of the usable photos; the first round(n/3) are held out, the
// rest calibrate, so held-out crops come from photos never seen in calibration. Crop i of a split
// comes from photo i mod n of that split (round-robin): a seeded random square of side 30-100% of
// the short side at a random position, flipped horizontally with p = 0.5, box-averaged by an
// integer factor k = floor(side/size) when side/size > 2 (side trimmed to a multiple of k; the
// manifest records the trimmed box), then bilinear-resized (half-pixel centres) to size x size.
// PRNG: mulberry32, three independent streams (split, calib, heldout) derived from --seed, so
// changing --heldout does not change the calib crops.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';

const require = createRequire(new URL('../../packages/data/package.json', import.meta.url));
const { PNG } = require('pngjs');
const jpeg = require('jpeg-js');

const TOOL = 'lowbit/tools/data/make-photo-crops.mjs';
const SOURCES = [
  { dir: '/usr/lib/python3/dist-packages/skimage/data', recursive: false },
  { dir: '/usr/share/doc/opencv-doc/examples', recursive: true },
];
const DENY = [
  /chessboard|checker|block\.png|palette|foo3x5x4|phantom|shape_sample|peilin|polygon/, // synthetic patterns and shapes
  /text\.png|bw_text|page\.png|digits|notes|sudoku|imageText|scenetext_(char|word)\d/, // text renders, glyph tiles
  /mask|trimap|matte|GT\.png|_result|gradient|cards\.png|detect_blob|ellipses/, // masks, ground truth, diagrams
  /skimage\/data\/color\.png|\/pic\d\.png|fuzzy\/input\.png|\/ml\.png|stanford\.png/, // colour wheel, noise boxes, drawing, 3D render, map screenshot
  /starry_night|_motion|_defocus|logo/i, // painting, synthetic blur, logos
  /hubble|retina|ihc\.png/, // telescope, fundus camera, micrograph: not everyday scenes
];
const PRIMARY = [[/right/, 'left'], [/R$/, 'L'], [/B$/, 'A'], [/(?<!\d)[2-9]$/, '1'], [/_modified$/, '_original']];

function fail(msg) {
  console.error(`make-photo-crops: ${msg}`);
  console.error('usage: node tools/data/make-photo-crops.mjs --out DIR [--calib 256] [--heldout 300] [--size 224] [--seed 1]');
  process.exit(2);
}

// ---- arguments -------------------------------------------------------------------------------
const opts = { out: undefined, calib: '256', heldout: '300', size: '224', seed: '1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i]?.startsWith('--') ? argv[i].slice(2) : undefined;
  if (!key || !(key in opts)) fail(`unknown argument '${argv[i]}'`);
  if (argv[i + 1] === undefined || argv[i + 1].startsWith('--')) fail(`missing value for --${key}`);
  opts[key] = argv[i + 1];
}
if (!opts.out) fail('--out DIR is required');
const int = (key, lo, hi) => {
  const v = Number(opts[key]);
  if (!/^\d+$/.test(opts[key]) || v < lo || v > hi) fail(`--${key} must be an integer in [${lo}, ${hi}], got '${opts[key]}'`);
  return v;
};
const counts = { calib: int('calib', 0, 99999), heldout: int('heldout', 0, 99999) };
const size = int('size', 8, 1024);
const seed = int('seed', 0, 2 ** 32 - 1);
const out = resolve(opts.out);
if (existsSync(out) && readdirSync(out).length > 0 && !(existsSync(join(out, 'manifest.json')) && readFileSync(join(out, 'manifest.json'), 'utf8').includes(TOOL)))
  fail(`${out} exists and was not written by this tool; refusing to replace it`);
const t0 = performance.now();

// ---- seeded PRNG (mulberry32) ------------------------------------------------------------------
function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const stream = (k) => mulberry32((seed + Math.imul(0x9e3779b9, k + 1)) | 0);

// ---- find, decode and filter photos -------------------------------------------------------------
const list = (dir, rec) =>
  !existsSync(dir) ? [] : readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? (rec ? list(p, rec) : []) : [p];
  });
const files = SOURCES.flatMap((s) => list(s.dir, s.recursive)).filter((p) => /\.(png|jpe?g)$/i.test(p)).sort();
const skipped = [];
const usable = [];
for (const file of files) {
  if (DENY.some((re) => re.test(file))) { skipped.push({ file, reason: 'deny' }); continue; }
  let img;
  try {
    const bytes = readFileSync(file);
    img = bytes[0] === 0x89 ? PNG.sync.read(bytes) : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
  } catch { skipped.push({ file, reason: 'decode' }); continue; }
  const { width: w, height: h, data } = img;
  if (Math.min(w, h) < 256) { skipped.push({ file, reason: 'tiny' }); continue; }
  let chroma = 0;
  const colours = new Set();
  for (let i = 0; i < w * h; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 8) chroma++;
    colours.add(((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2));
  }
  if (chroma < 0.01 * w * h) { skipped.push({ file, reason: 'gray' }); continue; }
  if (colours.size < 2000) { skipped.push({ file, reason: 'colours' }); continue; }
  usable.push({ file, width: w, height: h, data });
}
const have = new Set(usable.map((p) => p.file));
const primaryOf = (file) => {
  const ext = extname(file), stem = basename(file, ext);
  for (const [re, rep] of PRIMARY) if (re.test(stem)) return join(dirname(file), stem.replace(re, rep) + ext);
};
const photos = usable.filter((p) => {
  const dup = have.has(primaryOf(p.file));
  if (dup) skipped.push({ file: p.file, reason: 'duplicate', of: primaryOf(p.file) });
  return !dup;
});
if (photos.length < 10) fail(`only ${photos.length} usable photos found in ${SOURCES.map((s) => s.dir).join(', ')} (need >= 10; are python3-skimage and opencv-doc installed?)`);

// ---- split by photo ------------------------------------------------------------------------------
const order = photos.map((_, i) => i);
const rs = stream(0);
for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rs() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
const nHeld = Math.round(photos.length / 3);
const split = { heldout: order.slice(0, nHeld).sort((a, b) => a - b), calib: order.slice(nHeld).sort((a, b) => a - b) };

// ---- crop, resize, encode -------------------------------------------------------------------------
/** Square crop (x, y, side) of `p`, box-averaged by k, bilinear to size x size, optionally mirrored; RGBA out. */
function render(p, x0, y0, side, k, flip) {
  const n = side / k;
  const box = new Float32Array(n * n * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const s = 4 * ((y0 + y) * p.width + x0 + x), d = 3 * (Math.floor(y / k) * n + Math.floor(x / k));
      for (let c = 0; c < 3; c++) box[d + c] += p.data[s + c] / (k * k);
    }
  const rgba = Buffer.alloc(size * size * 4, 255);
  const sc = n / size;
  const at = (v) => Math.min(n - 1, Math.max(0, (v + 0.5) * sc - 0.5));
  for (let y = 0; y < size; y++) {
    const fy = at(y), ya = Math.floor(fy), yb = Math.min(n - 1, ya + 1), dy = fy - ya;
    for (let x = 0; x < size; x++) {
      const fx = at(flip ? size - 1 - x : x), xa = Math.floor(fx), xb = Math.min(n - 1, xa + 1), dx = fx - xa;
      for (let c = 0; c < 3; c++) {
        const q = (yy, xx) => box[3 * (yy * n + xx) + c];
        const v = (1 - dy) * ((1 - dx) * q(ya, xa) + dx * q(ya, xb)) + dy * ((1 - dx) * q(yb, xa) + dx * q(yb, xb));
        rgba[4 * (y * size + x) + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return rgba;
}

const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
const crops = [];
for (const [k, name] of ['calib', 'heldout'].entries()) {
  mkdirSync(join(tmp, name), { recursive: true });
  const rng = stream(k + 1), idx = split[name], digits = Math.max(4, String(counts[name] - 1).length);
  for (let i = 0; i < counts[name]; i++) {
    const p = photos[idx[i % idx.length]], short = Math.min(p.width, p.height);
    let side = Math.round(short * (0.3 + 0.7 * rng()));
    const f = side / size > 2 ? Math.floor(side / size) : 1;
    side -= side % f; // trim to a multiple of the box factor
    const x = Math.floor(rng() * (p.width - side + 1)), y = Math.floor(rng() * (p.height - side + 1)), flip = rng() < 0.5;
    const file = `${name}/${String(i).padStart(digits, '0')}.jpg`;
    writeFileSync(join(tmp, file), jpeg.encode({ data: render(p, x, y, side, f, flip), width: size, height: size }, 92).data);
    crops.push({ file, split: name, source: p.file, box: { x, y, width: side, height: side }, flip, boxFilter: f });
  }
}
const manifest = {
  tool: TOOL,
  command: `node tools/data/make-photo-crops.mjs --out DIR --calib ${counts.calib} --heldout ${counts.heldout} --size ${size} --seed ${seed}`,
  size, seed, sources: SOURCES.map((s) => s.dir),
  photos: photos.map((p, i) => ({ file: p.file, width: p.width, height: p.height, split: split.heldout.includes(i) ? 'heldout' : 'calib' })),
  skipped, crops,
};
writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);

// ---- summary --------------------------------------------------------------------------------------
const why = {};
for (const s of skipped) why[s.reason] = (why[s.reason] ?? 0) + 1;
const short = (f) => f.replace(/^.*\/(skimage\/data|examples)\//, '');
console.log(`photos: ${files.length} found, ${photos.length} used, ${skipped.length} skipped (${Object.entries(why).map(([r, n]) => `${r} ${n}`).join(', ')})`);
for (const name of ['calib', 'heldout'])
  console.log(`${name}: ${counts[name]} crops from ${split[name].length} photos: ${split[name].map((i) => short(photos[i].file)).join(' ')}`);
console.log(`wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
