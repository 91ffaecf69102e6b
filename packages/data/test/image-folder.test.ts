import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage, imageDimensions, readImageFolder } from '../src/index.node.js';

const root = mkdtempSync(join(tmpdir(), 'lowbit-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function png(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      p.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  return PNG.sync.write(p);
}

function jpg(w: number, h: number, v: number): Buffer {
  const data = Buffer.alloc(w * h * 4, v);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return jpeg.encode({ data, width: w, height: h }, 95).data;
}

describe('image-folder reader', () => {
  it('reads PNG and JPEG, resizes, converts to grayscale, labels from sub-folders', () => {
    const d = join(root, 'cls');
    mkdirSync(join(d, 'cat'), { recursive: true });
    mkdirSync(join(d, 'dog'), { recursive: true });
    writeFileSync(join(d, 'cat', 'a.png'), png(8, 8, () => [255, 0, 0]));
    writeFileSync(join(d, 'dog', 'b.jpg'), jpg(16, 12, 200));
    writeFileSync(join(d, 'dog', 'notes.txt'), 'ignored');
    const s = readImageFolder(d, { size: [4, 4], channels: 1 });
    expect(s.size).toBe(2);
    expect(s.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(s.labels)).toEqual([0, 1]);
    expect(s.imageShape).toEqual([4, 4, 1]);
    expect(s.images[0]).toBe(Math.round(0.299 * 255));
    expect(Math.abs(s.images[16]! - 200)).toBeLessThanOrEqual(2);
  });

  it('keeps RGB and interpolates bilinearly', () => {
    const d = join(root, 'rgb');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'g.png'), png(2, 1, (x) => (x === 0 ? [0, 0, 0] : [200, 100, 50])));
    const s = readImageFolder(d, { size: [1, 4], channels: 3 });
    // half-pixel centres: x = 0.25, 0.75 → clamped; 1.25 → 0.75·p0 + ... ; endpoints equal the pixels
    expect(Array.from(s.images.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(s.images.subarray(9, 12))).toEqual([200, 100, 50]);
    expect(s.images[3]).toBe(50);
    expect(s.classNames).toEqual(['unlabelled']);
  });

  it("channelOrder 'bgr' swaps red and blue of colour images, and leaves grayscale alone", () => {
    const d = join(root, 'bgr');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'c.png'), png(6, 4, () => [250, 120, 10]));
    const rgb = readImageFolder(d, { size: [2, 3], channels: 3 });
    const bgr = readImageFolder(d, { size: [2, 3], channels: 3, channelOrder: 'bgr' });
    expect(bgr.imageShape).toEqual([2, 3, 3]);
    expect(Array.from(rgb.images.subarray(0, 3))).toEqual([250, 120, 10]);
    for (let i = 0; i < 6; i++) expect(Array.from(bgr.images.subarray(3 * i, 3 * i + 3))).toEqual([10, 120, 250]);
    const gray = (order: 'rgb' | 'bgr') => Array.from(readImageFolder(d, { size: [2, 3], channels: 1, channelOrder: order }).images);
    expect(gray('bgr')).toEqual(gray('rgb'));
    expect(() => readImageFolder(d, { size: [2, 3], channels: 3, channelOrder: 'brg' as 'bgr' })).toThrow(/channel order must be 'rgb' or 'bgr', got 'brg'/);
  });

  it("fit 'crop' resizes the centred region of the output's aspect ratio; 'stretch' (default) the whole image", () => {
    const d = join(root, 'fit');
    mkdirSync(d, { recursive: true });
    // 4 wide, 2 high: columns 10, 20, 30, 40 (gray)
    writeFileSync(join(d, 'a.png'), png(4, 2, (x) => [10 * (x + 1), 10 * (x + 1), 10 * (x + 1)]));
    const crop = readImageFolder(d, { size: [2, 2], channels: 1, fit: 'crop' });
    expect(Array.from(crop.images)).toEqual([20, 30, 20, 30]);
    const stretch = readImageFolder(d, { size: [2, 2], channels: 1 });
    expect(Array.from(stretch.images)).toEqual([15, 35, 15, 35]);
    // a tall image: the centred rows
    writeFileSync(join(d, 'a.png'), png(1, 4, (_x, y) => [10 * (y + 1), 10 * (y + 1), 10 * (y + 1)]));
    expect(Array.from(readImageFolder(d, { size: [2, 1], channels: 1, fit: 'crop' }).images)).toEqual([20, 30]);
    expect(Array.from(readImageFolder(d, { size: [1, 1], channels: 1, fit: 'crop' }).images)).toEqual([25]);
    expect(() => readImageFolder(d, { size: [2, 2], channels: 1, fit: 'zoom' as never })).toThrow(/image fit must be 'stretch' or 'crop', got 'zoom'/);
  });

  it('names the bad file, and rejects empty or missing folders', () => {
    const d = join(root, 'bad');
    mkdirSync(d, { recursive: true });
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/has no \.png, \.jpg or \.jpeg files/);
    writeFileSync(join(d, 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6]));
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/broken\.png: cannot decode image/);
    const good = png(8, 8, () => [1, 2, 3]);
    writeFileSync(join(d, 'broken.png'), good.subarray(0, 60));
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/broken\.png: cannot decode image \(the file is truncated\)/);
    writeFileSync(join(d, 'broken.png'), 'not an image at all');
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/broken\.png: not a PNG or JPEG file/);
    expect(() => readImageFolder(join(root, 'missing'), { size: [4, 4], channels: 1 })).toThrow(/does not exist/);
  });

  it('reads the declared size from PNG and JPEG headers, and refuses a decompression bomb before decoding it', () => {
    const p = png(7, 5, () => [1, 2, 3]);
    const j = jpg(9, 6, 100);
    expect(imageDimensions(p)).toEqual({ width: 7, height: 5 });
    expect(imageDimensions(j)).toEqual({ width: 9, height: 6 });
    expect(imageDimensions(Buffer.from('plain text'))).toBeNull();
    // a 1 KB file claiming 60000×60000 (14 GB of RGBA): refused from its header, named
    const bombPng = Buffer.from(p);
    bombPng.writeUInt32BE(60000, 16);
    bombPng.writeUInt32BE(60000, 20);
    expect(() => decodeImage(bombPng, 'bomb.png')).toThrow(/^bomb\.png: the header declares 60000×60000 pixels \(3600 megapixels\), more than the 100 megapixels/);
    const bombJpg = Buffer.from(j);
    const sof = bombJpg.indexOf(Buffer.from([0xff, 0xc0]));
    bombJpg.writeUInt16BE(65000, sof + 5);
    bombJpg.writeUInt16BE(65000, sof + 7);
    expect(() => decodeImage(bombJpg, 'bomb.jpg')).toThrow(/^bomb\.jpg: the header declares 65000×65000 pixels/);
    const d = join(root, 'bomb', 'a');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'x.png'), bombPng);
    expect(() => readImageFolder(join(root, 'bomb'), { size: [4, 4], channels: 1 })).toThrow(/x\.png: the header declares 60000×60000/);
  });

  it('skips hidden files, names a broken link or a pipe instead of failing or hanging, and an empty sub-folder does not make flat images labelled', () => {
    const d = join(root, 'odd');
    mkdirSync(join(d, 'empty'), { recursive: true });
    writeFileSync(join(d, 'a.png'), png(4, 4, () => [9, 9, 9]));
    writeFileSync(join(d, '._a.png'), 'macOS resource fork');
    const flat = readImageFolder(d, { size: [4, 4], channels: 1 });
    expect(flat.files.map((f) => f.slice(d.length + 1))).toEqual(['a.png']);
    expect(flat.classNames).toEqual(['unlabelled']);
    symlinkSync(join(d, 'missing.png'), join(d, 'b.png'));
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/b\.png: cannot be read \(a link to a missing file\)/);
    rmSync(join(d, 'b.png'));
    execFileSync('mkfifo', [join(d, 'c.png')]);
    expect(() => readImageFolder(d, { size: [4, 4], channels: 1 })).toThrow(/c\.png: is not a regular file \(a pipe, socket or device\)/);
  });
});
