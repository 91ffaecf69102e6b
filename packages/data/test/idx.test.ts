import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LowbitError } from '@lowbit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, loadFashionMnist, parseIdx, readIdxPair } from '../src/index.node.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const arr = { shape: [3, 2, 4], data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256) };

describe('IDX reader', () => {
  it('round-trips raw and gzipped files', () => {
    for (const gz of [false, true]) {
      const back = parseIdx(encodeIdx(arr, gz), 'x.idx');
      expect(back.shape).toEqual([3, 2, 4]);
      expect(Array.from(back.data)).toEqual(Array.from(arr.data));
    }
  });

  it('rejects corrupt files with the file named and what was wrong', () => {
    const raw = encodeIdx(arr, false);
    const bad = (mut: (b: Uint8Array) => Uint8Array) => () => parseIdx(mut(raw.slice()), 'f.idx');
    expect(bad((b) => b.subarray(0, b.length - 1))).toThrow(/f\.idx: truncated payload: shape \[3, 2, 4\] needs 24 bytes after the header, the file has 23/);
    expect(bad((b) => new Uint8Array([...b, 0]))).toThrow(/oversized payload/);
    expect(
      bad((b) => {
        b[1] = 7;
        return b;
      }),
    ).toThrow(/bad IDX magic: first two bytes must be 0x00 0x00, got 0x00 0x07/);
    expect(
      bad((b) => {
        b[2] = 0x0d;
        return b;
      }),
    ).toThrow(/element type 0x0d is not supported/);
    expect(bad((b) => b.subarray(0, 6))).toThrow(/truncated header/);
    expect(bad(() => new Uint8Array([0, 0]))).toThrow(/too short/);
    expect(
      bad((b) => {
        b[7] = 0;
        return b;
      }),
    ).toThrow(/dimension 0 is 0/);
    const gz = gzipSync(raw);
    expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'g.gz')).toThrow(/g\.gz: corrupt gzip data/);
    expect(() => parseIdx(raw.subarray(0, 3), 'f.idx')).toThrow(LowbitError);
  });

  it('checks that labels and images agree', () => {
    const img = join(dir, 'img.gz');
    const lab = join(dir, 'lab.gz');
    writeFileSync(img, encodeIdx({ shape: [2, 2, 2], data: new Uint8Array(8) }));
    writeFileSync(lab, encodeIdx({ shape: [3], data: new Uint8Array(3) }));
    expect(() => readIdxPair(img, lab, 't')).toThrow(/3 labels for 2 images/);
    writeFileSync(lab, encodeIdx({ shape: [2], data: Uint8Array.from([1, 12]) }));
    expect(() => readIdxPair(img, lab, 't')).toThrow(/label 12 at index 1 is outside 0\.\.9/);
  });

  it('a missing data directory says how to get the data', () => {
    expect(() => loadFashionMnist('train', join(dir, 'nope'))).toThrow(/apt-get install dataset-fashion-mnist/);
    expect(() => loadFashionMnist('train', dir)).toThrow(/train-images-idx3-ubyte\.gz.*not found/);
  });
});
