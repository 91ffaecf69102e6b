import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareOutputDir, removeIfUnused, samePath } from '../src/node/index.js';

const root = mkdtempSync(join(tmpdir(), 'lowbit-outdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('prepareOutputDir', () => {
  it('creates a missing directory (and its parents), writable, leaving no probe file; removeIfUnused takes an unused one away', () => {
    const d = prepareOutputDir(join(root, 'a', 'b'));
    expect(d.created).toBe(true);
    expect(readdirSync(d.path)).toEqual([]);
    removeIfUnused(d);
    expect(existsSync(d.path)).toBe(false);
    mkdirSync(join(root, 'kept'));
    const k = prepareOutputDir(join(root, 'kept'));
    expect(k.created).toBe(false);
    removeIfUnused(k);
    expect(existsSync(k.path)).toBe(true);
  });

  it.each([
    ['', /--out is empty/],
    ['   ', /--out is empty/],
    ['/proc/lowbit-x', /is under \/proc, a system pseudo file system/],
    ['/sys/lowbit-x', /is under \/sys/],
    ['/dev/null', /is under \/dev/],
  ])('refuses %j', (dir, message) => {
    expect(() => prepareOutputDir(dir)).toThrow(message);
  });

  it('refuses an existing file, a directory inside a file, and the folder of an input unless forced', () => {
    const f = join(root, 'file.txt');
    writeFileSync(f, 'keep me');
    expect(() => prepareOutputDir(f)).toThrow(/file\.txt: is an existing file, not a directory/);
    expect(() => prepareOutputDir(join(f, 'sub'))).toThrow(/cannot create it \(ENOTDIR\)/);
    expect(() => prepareOutputDir(join(root, 'x', 'model.json'))).toThrow(/x\/model\.json: names a \.json file; --out is a directory/);
    expect(existsSync(join(root, 'x'))).toBe(false);
    const model = join(root, 'model', 'model.json');
    mkdirSync(join(root, 'model'));
    writeFileSync(model, '{}');
    expect(() => prepareOutputDir(join(root, 'model'), { inputs: [model], label: '--out' })).toThrow(/is the folder of the input .*model\.json; writing there would replace its files.*--force/);
    expect(() => prepareOutputDir(join(root, 'model', '.'), { inputs: [model] })).toThrow(/folder of the input/);
    expect(prepareOutputDir(join(root, 'model'), { inputs: [model], force: true }).created).toBe(false);
  });

  it('refuses when the file system has not the room the outputs need', () => {
    expect(() => prepareOutputDir(join(root, 'big'), { expectedBytes: 2 ** 60 })).toThrow(/the outputs need about \d+\.\d MB, the file system has \d+\.\d MB free/);
    expect(existsSync(join(root, 'big'))).toBe(false);
    expect(prepareOutputDir(join(root, 'small'), { expectedBytes: 1024 }).path).toBe(join(root, 'small'));
  });
});

describe('prepareOutputDir: what is already there', () => {
  it("refuses a broken link, and a model.json lowbit did not write (unless --force); its own outputs may be replaced", () => {
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    expect(() => prepareOutputDir(join(root, 'dangling'))).toThrow(/--out .*dangling: is a link to '.*nowhere', which does not exist \(a broken link\)/);
    const mine = join(root, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'model.json'), '{"x": 1}');
    expect(() => prepareOutputDir(mine)).toThrow(/holds a model\.json that lowbit did not write; the outputs would replace it\. Choose another --out, or pass --force/);
    expect(prepareOutputDir(mine, { force: true }).created).toBe(false);
    writeFileSync(join(mine, 'model.json'), JSON.stringify({ format: 'layers-model', generatedBy: 'lowbit' }));
    expect(prepareOutputDir(mine).created).toBe(false);
    writeFileSync(join(mine, 'model.json'), JSON.stringify({ format: 'lowbit-network', generatedBy: '@lowbit/nn' }));
    expect(prepareOutputDir(mine).created).toBe(false);
  });
});

describe('samePath', () => {
  it('is true for the same folder however named (relative parts, links) and for equal names, false otherwise', () => {
    const a = join(root, 'same-a');
    mkdirSync(a);
    mkdirSync(join(root, 'same-b'));
    symlinkSync(a, join(root, 'same-link'));
    expect(samePath(a, join(root, 'same-b', '..', 'same-a'))).toBe(true);
    expect(samePath(a, join(root, 'same-link'))).toBe(true);
    expect(samePath('bundled', 'bundled')).toBe(true);
    expect(samePath(a, join(root, 'same-b'))).toBe(false);
    expect(samePath('bundled', a)).toBe(false);
  });
});
