// Generator of broken inputs for the bad-input suite (bad-input.test.ts): each case is a mutation
// of a valid fixture (lowbit's resnet-fm checkpoint, a PyTorch-trained TF.js LayersModel, a
// lowbit ptq output, a ptq resume state) or a bad option, with the command that reads it and the
// error it must give.
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;
const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const RESNET_FM = join(repo, 'packages/models/checkpoints/resnet-fm');
export const FOREIGN_RESNET = join(repo, 'tools/foreign/models/foreign-resnet');

export interface BadInput {
  name: string;
  /** Writes the case's files under `dir` and returns the CLI arguments; `out` is the --out the run must not create. */
  make(dir: string, out: string): string[];
  /** The LowbitError code printed at the end of the line, or 'usage' for an option error. */
  code: string;
  message: RegExp;
}

/** A copy of a model folder with its model.json changed by `edit`; returns the model.json path. */
function mutated(from: string, dir: string, edit: (j: Json) => unknown): string {
  cpSync(from, dir, { recursive: true });
  const path = join(dir, 'model.json');
  const j = JSON.parse(readFileSync(path, 'utf8')) as Json;
  const replaced = edit(j);
  writeFileSync(path, JSON.stringify(replaced === undefined ? j : replaced));
  return path;
}

/** A copy of a model folder (one float32 weight group) with the values of weight `name` changed by `edit`. */
function withWeight(from: string, dir: string, name: string, edit: (v: Float32Array) => void): string {
  const path = mutated(from, dir, () => undefined);
  const group = (JSON.parse(readFileSync(path, 'utf8')) as { weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[] }> }> }).weightsManifest[0]!;
  let offset = 0;
  for (const w of group.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.name === name) {
      const bin = join(dir, group.paths[0]!);
      const bytes = readFileSync(bin);
      const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n));
      edit(v);
      Buffer.from(v.buffer).copy(bytes, offset);
      writeFileSync(bin, bytes);
      return path;
    }
    offset += 4 * n;
  }
  throw new Error(`no weight ${name} in ${from}`);
}

const nodes = (j: Json) => (j['network'] as { nodes: Json[] }).nodes;
const firstOp = (j: Json, op: string) => nodes(j).find((n) => n['op'] === op)!;
const weights = (j: Json) => (j['weightsManifest'] as Array<{ paths: string[]; weights: Json[] }>)[0]!;
const kerasModel = (j: Json) => ((j['modelTopology'] as Json)['model_config'] ?? j['modelTopology']) as Json;
const kerasLayers = (j: Json) => (kerasModel(j)['config'] as { layers: Json[] }).layers;
const kerasLayer = (j: Json, cls: string) => kerasLayers(j).find((l) => l['class_name'] === cls)!['config'] as Json;
const quant = (j: Json) => (j['metadata'] as { quantization: { layers: Record<string, { scale: number[]; bits: number }>; sites: Record<string, { scale: number; bits: number }> } }).quantization;
const exportTo = (model: string, out: string) => ['export', '--model', model, '--out', out];

/** The cases that need only the shipped fixtures; `ptqOut` is a finished `lowbit ptq` output folder (for quantized-model cases). */
export function badInputs(ptqOut: () => string): BadInput[] {
  const net = (name: string, edit: (j: Json) => unknown, code: string, message: RegExp): BadInput => ({
    name: `lowbit model.json: ${name}`,
    make: (dir, out) => exportTo(mutated(RESNET_FM, dir, edit), out),
    code,
    message,
  });
  const keras = (name: string, edit: (j: Json) => unknown, code: string, message: RegExp): BadInput => ({
    name: `TF.js LayersModel: ${name}`,
    make: (dir, out) => exportTo(mutated(FOREIGN_RESNET, dir, edit), out),
    code,
    message,
  });
  const quantized = (name: string, edit: (j: Json) => unknown, code: string, message: RegExp): BadInput => ({
    name: `ptq output: ${name}`,
    make: (dir, out) => exportTo(mutated(ptqOut(), dir, edit), out),
    code,
    message,
  });
  return [
    net('null', () => null, 'E_FORMAT', /model\.json: expected an object, got null/),
    net('a list', () => [1, 2, 3], 'E_FORMAT', /model\.json: expected an object, got \[1,2,3\]/),
    { name: 'lowbit model.json: not JSON', make: (dir, out) => exportTo(notJson(dir), out), code: 'E_FORMAT', message: /model\.json: not valid JSON/ },
    net('nodes[0] null', (j) => void (nodes(j)[0] = null as unknown as Json), 'E_FORMAT', /field 'network\.nodes\[0\]' must be an object, got null/),
    net('BatchNorm epsilon -1', (j) => void (firstOp(j, 'batchNorm')['epsilon'] = -1), 'E_FORMAT', /field 'network\.nodes\[\d+\]\.epsilon' \(node '[^']+'\) must be > 0, got -1/),
    net("padding 'SAME'", (j) => void (firstOp(j, 'conv2d')['padding'] = 'SAME'), 'E_FORMAT', /padding' \(node '[^']+'\) must be 'same', 'valid' or .*got "SAME"/),
    net("padding 'causal'", (j) => void (firstOp(j, 'conv2d')['padding'] = 'causal'), 'E_FORMAT', /got "causal"/),
    net('unknown op', (j) => void (firstOp(j, 'relu')['op'] = 'lstm'), 'E_FORMAT', /\.op' \(node '[^']+'\) must be one of .*got "lstm"/),
    net('filters 1.5', (j) => void (firstOp(j, 'conv2d')['filters'] = 1.5), 'E_FORMAT', /\.filters' \(node '[^']+'\) must be an integer, got 1\.5/),
    {
      name: 'lowbit model.json: declares 32×32 inputs, evaluated on 28×28 Fashion-MNIST (it would run: global pooling)',
      make: (dir) => ['eval', '--model', mutated(RESNET_FM, dir, (j) => void ((j['network'] as Json)['inputShape'] = [32, 32, 1])), '--data', 'bundled', '--test-limit', '100'],
      code: 'E_DATA',
      message: /holds 28×28×1 images, the model '[^']+' takes 32×32×1/,
    },
    {
      name: 'lowbit model.json: a BatchNorm moving variance negative',
      make: (dir, out) => exportTo(withWeight(RESNET_FM, dir, 'stem/bn/movingVariance', (v) => void (v[3] = -0.5)), out),
      code: 'E_WEIGHTS',
      message: /weight 'stem\/bn\/movingVariance' has a negative variance \(-0\.5\) at flat index 3/,
    },
    {
      name: 'TF.js LayersModel: a BatchNormalization moving_variance negative',
      make: (dir, out) => exportTo(withWeight(FOREIGN_RESNET, dir, 'stem_bn/moving_variance', (v) => void (v[5] = -2)), out),
      code: 'E_WEIGHTS',
      message: /weight for '[^']+' is a negative variance \(-2 at flat index 5\)/,
    },
    keras('a float kernel declared int32 in the manifest', (j) => void (weights(j).weights[0]!['dtype'] = 'int32'), 'E_WEIGHTS', /weight for '[^']+' is int32 in the weights manifest; a layer's weights must be float32/),
    {
      name: 'policy file: finalBnImages above its calibration set',
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'policy.json'), JSON.stringify({ format: 'lowbit-policy', policy: { 'stem/conv': { w: 4, a: 4 } }, calib: 'bundled', finalBnImages: 5000 }));
        return ['eval', '--policy', join(dir, 'policy.json'), '--data', 'bundled'];
      },
      code: 'E_ARG',
      message: /policy\.json: field 'finalBnImages' 5000 is larger than the 1024 images of the bundled calibration set/,
    },
    {
      name: 'policy file: oneShot a folder that is not a one-shot network',
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'policy.json'), JSON.stringify({ format: 'lowbit-policy', policy: { 'stem/conv': { w: 4, a: 4 } }, oneShot: join(dir, 'missing') }));
        return ['eval', '--policy', join(dir, 'policy.json'), '--data', 'bundled'];
      },
      code: 'E_MODEL',
      message: /policy\.json: field 'oneShot': '[^']+missing' is not a one-shot network \(no oneshot\.json\)/,
    },
    {
      name: 'policy file: weight bits that are not a candidate',
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'policy.json'), JSON.stringify({ format: 'lowbit-policy', policy: { 'stem/conv': { w: 7, a: 32 } } }));
        return ['eval', '--policy', join(dir, 'policy.json'), '--data', 'bundled'];
      },
      code: 'E_POLICY',
      message: /policy\.json: field 'policy' does not fit the one-shot network '[^']+resnet-fm-oneshot': layer 'stem\/conv': weight bits 7 are not a candidate \(8\)/,
    },
    {
      name: 'policy file: version 2',
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'policy.json'), JSON.stringify({ format: 'lowbit-policy', version: 2, policy: { 'stem/conv': { w: 4, a: 4 } } }));
        return ['eval', '--policy', join(dir, 'policy.json'), '--data', 'bundled'];
      },
      code: 'E_FORMAT',
      message: /policy\.json: field 'version' must be 1, got 2/,
    },
    {
      name: 'flags: eval --policy on an image folder',
      make: (dir) => {
        mkdirSync(join(dir, 'images', 'a'), { recursive: true });
        cpSync(join(repo, 'packages/data/bundled'), join(dir, 'images', 'a', 'x'), { recursive: true });
        writeFileSync(join(dir, 'policy.json'), JSON.stringify({ format: 'lowbit-policy', policy: { 'stem/conv': { w: 4, a: 4 } } }));
        return ['eval', '--policy', join(dir, 'policy.json'), '--data', join(dir, 'images')];
      },
      code: 'E_ARG',
      message: /--policy is evaluated on the Fashion-MNIST test set .*: --data must be 'bundled' or a Fashion-MNIST directory/,
    },
    {
      name: 'flags: eval --reference that does not exist',
      make: (dir) => {
        mkdirSync(join(dir, 'a'), { recursive: true });
        writeFileSync(join(dir, 'a', 'x.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
        return ['eval', '--model', 'resnet-fm', '--data', dir, '--reference', join(dir, 'missing.json')];
      },
      code: 'E_MODEL',
      message: /--reference '.*missing\.json' is neither a reference model/,
    },
    net('input shape negative', (j) => void ((j['network'] as Json)['inputShape'] = [28, -28, 1]), 'E_FORMAT', /field 'network\.inputShape\[1\]' must be > 0, got -28/),
    net('weight shape "abc"', (j) => void (weights(j).weights[0]!['shape'] = 'abc'), 'E_FORMAT', /weightsManifest\[0\]\.weights\[0\]\.shape' must be a list, got "abc"/),
    net('weight shape negative', (j) => void (weights(j).weights[0]!['shape'] = [3, 3, -1, 16]), 'E_FORMAT', /\.shape\[2\]' must be >= 0, got -1/),
    net('weight shape fractional', (j) => void (weights(j).weights[0]!['shape'] = [3, 3, 0.5, 16]), 'E_FORMAT', /\.shape\[2\]' must be an integer, got 0\.5/),
    net('weight dtype int8', (j) => void (weights(j).weights[0]!['dtype'] = 'int8'), 'E_FORMAT', /\.dtype' must be "float32", got "int8"/),
    net('weight path outside the folder', (j) => void (weights(j).paths[0] = '../../../../etc/passwd'), 'E_FORMAT', /paths\[0\]' must be a file name inside the model's folder, got "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"/),
    net('absolute weight path', (j) => void (weights(j).paths[0] = '/etc/passwd'), 'E_FORMAT', /an absolute path/),
    net('format version 2', (j) => void (j['formatVersion'] = 2), 'E_FORMAT', /field 'formatVersion' must be 1, got 2/),
    {
      name: 'lowbit model.json: truncated weights file',
      make: (dir, out) => {
        const path = mutated(RESNET_FM, dir, () => undefined);
        truncateSync(join(dir, 'model.weights.bin'), 1000);
        return exportTo(path, out);
      },
      code: 'E_WEIGHTS',
      message: /has 1000 bytes, the manifest needs \d+/,
    },
    {
      name: 'lowbit model.json: weights file missing',
      make: (dir, out) => {
        const path = mutated(RESNET_FM, dir, () => undefined);
        writeFileSync(path, readFileSync(path, 'utf8').replace('model.weights.bin', 'gone.bin'));
        return exportTo(path, out);
      },
      code: 'E_NOT_FOUND',
      message: /weight file 'gone\.bin' \(weightsManifest\[0\]\.paths\[0\]\) cannot be read: ENOENT/,
    },
    keras("Conv2D padding 'causal'", (j) => void (kerasLayer(j, 'Conv2D')['padding'] = 'causal'), 'E_UNSUPPORTED', /padding "causal" \(only 'same' or 'valid'\)/),
    keras("Conv2D padding 'SAME'", (j) => void (kerasLayer(j, 'Conv2D')['padding'] = 'SAME'), 'E_UNSUPPORTED', /padding "SAME" \(only 'same' or 'valid'\)/),
    keras('Conv2D filters changed before an Add (was blamed on the Add)', (j) => {
      const conv = kerasLayers(j).filter((l) => l['class_name'] === 'Conv2D')[2]!['config'] as Json;
      conv['filters'] = Number(conv['filters']) + 8;
    }, 'E_WEIGHTS', /layer '[^']+' declares filters \d+, its stored kernel has \d+ \(shape \[3, 3, \d+, \d+\]\): the config and the weights disagree/),
    keras('a layer name used twice', (j) => {
      const relus = kerasLayers(j).filter((l) => l['class_name'] === 'ReLU');
      const [first, second] = [relus[0]!, relus[1]!];
      const dup = (first['config'] as Json)['name'] as string;
      const old = (second['config'] as Json)['name'] as string;
      second['name'] = dup;
      (second['config'] as Json)['name'] = dup;
      // the layers that took the renamed one as input now name the duplicate
      for (const l of kerasLayers(j)) l['inbound_nodes'] = JSON.parse(JSON.stringify(l['inbound_nodes'] ?? []).replaceAll(`"${old}"`, `"${dup}"`));
    }, 'E_FORMAT', /layer name '[^']+' is used twice; layer names must be unique/),
    keras('a dynamic input size (null height and width)', (j) => {
      const input = kerasLayers(j).find((l) => l['class_name'] === 'InputLayer')!['config'] as Json;
      input['batch_input_shape'] = [null, null, null, 1];
    }, 'E_UNSUPPORTED', /input layer '[^']+' has a dynamic size \[null,null,null,1\] \(null beyond the batch axis\); lowbit needs a fixed input size/),
    keras('BatchNormalization epsilon -1', (j) => void (kerasLayer(j, 'BatchNormalization')['epsilon'] = -1), 'E_FORMAT', /epsilon' \(node '[^']+'\) must be > 0, got -1/),
    keras('layers not a list', (j) => void Object.assign(kerasModel(j), { config: { layers: 'abc' } }), 'E_FORMAT', /field 'modelTopology\.(model_config\.)?config\.layers' must be a list, got "abc"/),
    keras('a weight missing', (j) => void (j['weightsManifest'] as Array<{ weights: Json[] }>)[0]!.weights.shift(), 'E_WEIGHTS', /bytes|missing/),
    quantized('layer scale 0', (j) => void (Object.values(quant(j).layers)[1]!.scale[0] = 0), 'E_FORMAT', /metadata\.quantization\.layers\.[^ ]+\.scale\[0\]' must be > 0, got 0/),
    quantized('one scale too many', (j) => void Object.values(quant(j).layers)[1]!.scale.push(0.1), 'E_FORMAT', /zeroPoint' has \d+ entries, expected one per scale \(\d+\)|does not match the stored kernel: .*scale\(s\), the kernel .* channel\(s\)/),
    quantized('scales of another run', (j) => {
        const scale = Object.values(quant(j).layers)[1]!.scale;
        for (let i = 0; i < scale.length; i++) scale[i] = scale[i]! * 1.37;
      }, 'E_FORMAT', /does not match the stored kernel: .*is not an integer/),
    quantized('activation scale 0', (j) => void (Object.values(quant(j).sites)[0]!.scale = 0), 'E_FORMAT', /sites\.[^ ]+\.scale' must be > 0, got 0/),
    quantized('activation scale 1e300 (Infinity as float32)', (j) => void (Object.values(quant(j).sites)[0]!.scale = 1e300), 'E_FORMAT', /sites\.[^ ]+\.scale' must be <= 3\.4028234663852886e\+38, got 1e\+300/),
    quantized('layer bits 9', (j) => void (Object.values(quant(j).layers)[1]!.bits = 9), 'E_FORMAT', /metadata\.quantization\.layers\.[^ ]+\.bits' must be <= 8, got 9/),
    quantized('site bits 16', (j) => void (Object.values(quant(j).sites)[0]!.bits = 16), 'E_FORMAT', /metadata\.quantization\.sites\.[^ ]+\.bits' must be <= 8, got 16/),
    {
      name: 'flags: export --target lowbit-packed --per-channel float16',
      make: (dir, out) => ['export', '--model', mutated(ptqOut(), dir, () => undefined), '--target', 'lowbit-packed', '--per-channel', 'float16', '--out', out],
      code: 'E_ARG',
      message: /--per-channel is for --target tfjs; lowbit-packed stores the codes of every grid bit-packed/,
    },
    {
      name: 'flags: export --per-channel float32 --code-bias uint8',
      make: (dir, out) => ['export', '--model', mutated(ptqOut(), dir, () => undefined), '--per-channel', 'float32', '--code-bias', 'uint8', '--out', out],
      code: 'E_ARG',
      message: /--code-bias applies beside integer codes \(--per-channel uint8\); with --per-channel float32/,
    },
    {
      name: 'flags: export of a float model with --per-channel',
      make: (_dir, out) => ['export', '--model', 'resnet-fm', '--per-channel', 'float16', '--out', out],
      code: 'E_ARG',
      message: /--per-channel applies to kernels on per-channel grids; 'resnet-fm' is a float model/,
    },
    {
      name: 'ptq output: a bias float16 cannot hold (export to the stock format)',
      make: (dir, out) => exportTo(withWeight(ptqOut(), dir, 'head/fc/bias', (v) => void (v[0] = 1e6)), out),
      code: 'E_RANGE',
      message: /model\.json: weight '[^']*fc[^']*' holds 1000000 at index 0, which float16 cannot represent \(largest 65504\); store it as float32 \(--per-channel float32\) or the bias as uint8 \(--code-bias uint8\)/,
    },
    quantized('a site that is no node', (j) => void (quant(j).sites['nowhere'] = { scale: 0.1, bits: 4, signed: false } as never), 'E_FORMAT', /names 'nowhere', which is not a node/),
    {
      name: 'lowbit model.json: model.json nested 200,000 lists deep',
      make: (dir, out) => {
        const path = mutated(RESNET_FM, dir, () => undefined);
        writeFileSync(path, `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
        return exportTo(path, out);
      },
      code: 'E_FORMAT',
      message: /model\.json: expected an object, got a list of 1 \(nested too deeply to show\)/,
    },
    {
      name: 'lowbit model.json: weights file a link to /dev/zero',
      make: (dir, out) => {
        const path = mutated(RESNET_FM, dir, () => undefined);
        rmSync(join(dir, 'model.weights.bin'));
        symlinkSync('/dev/zero', join(dir, 'model.weights.bin'));
        return exportTo(path, out);
      },
      code: 'E_WEIGHTS',
      message: /weight file 'model\.weights\.bin' \(weightsManifest\[0\]\.paths\[0\]\) is not a regular file \(a device, pipe or socket\)/,
    },
    {
      name: 'TF.js LayersModel: a weight shard linked to a file outside the folder',
      make: (dir, out) => {
        const path = mutated(FOREIGN_RESNET, dir, () => undefined);
        const shard = (JSON.parse(readFileSync(path, 'utf8')) as { weightsManifest: Array<{ paths: string[] }> }).weightsManifest[0]!.paths[0]!;
        const outside = `${dir}-outside.bin`;
        cpSync(join(dir, shard), outside);
        rmSync(join(dir, shard));
        symlinkSync(outside, join(dir, shard));
        return exportTo(path, out);
      },
      code: 'E_WEIGHTS',
      message: /is a link to '.*-outside\.bin', outside the model's folder; weight files must be inside it/,
    },
    keras('no batch_input_shape on the input layer', (j) => {
      const input = kerasLayers(j).find((l) => l['class_name'] === 'InputLayer')!['config'] as Json;
      delete input['batch_input_shape'];
    }, 'E_FORMAT', /input layer '[^']+' has no batch_input_shape/),
    {
      name: 'flags: ptq --out inside the --calib folder',
      make: (dir) => {
        // a Fashion-MNIST directory made of the bundled images
        mkdirSync(dir, { recursive: true });
        const bundled = join(repo, 'packages/data/bundled/fashion-mnist');
        for (const k of ['images-idx3', 'labels-idx1']) {
          cpSync(join(bundled, `calib1024-${k}-ubyte.gz`), join(dir, `train-${k}-ubyte.gz`));
          cpSync(join(bundled, `t10k-${k}-ubyte.gz`), join(dir, `t10k-${k}-ubyte.gz`));
        }
        return ['ptq', '--method', 'rtn', '--calib', dir, '--out', join(dir, 'run')];
      },
      code: 'E_OUT',
      message: /--out .*\/run: is inside the input folder .*; the outputs would be mixed with its files\. Choose another --out, or pass --force/,
    },
    {
      name: 'flags: export --out holding a model.json lowbit did not write',
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'model.json'), '{"mine": true}');
        return ['export', '--model', 'resnet-fm', '--out', dir];
      },
      code: 'E_OUT',
      message: /holds a model\.json that lowbit did not write; the outputs would replace it\. Choose another --out, or pass --force/,
    },
    {
      name: "flags: ptq --out holding an unfinished run's state, without --resume",
      make: (dir) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'ptq-state.json'), '{}');
        return ['ptq', '--method', 'rtn', '--out', dir];
      },
      code: 'E_OUT',
      message: /holds the resume state of an unfinished ptq run \(ptq-state\.json\); continue it with --resume and the same settings, choose another --out, or pass --force to start over/,
    },
    ...(
      [
        ['train', ['train', '--data', 'bundled', '--epochs', '1']],
        ['mpq train', ['mpq', 'train', '--data', 'bundled']],
      ] as Array<[string, string[]]>
    ).map(
      ([command, args]): BadInput => ({
        name: `flags: ${command} --out holding an earlier run's checkpoints, without --resume`,
        make: (dir) => {
          mkdirSync(join(dir, 'checkpoints'), { recursive: true });
          writeFileSync(join(dir, 'checkpoints', 'latest.json'), '{}');
          return [...args, '--out', dir];
        },
        code: 'E_OUT',
        message: new RegExp(`holds the checkpoints of an earlier lowbit ${command} run \\(checkpoints/latest\\.json\\); continue it with --resume and the same settings, choose another --out, or pass --force to start over`),
      }),
    ),
    {
      name: 'flags: mpq search --bitops below what the network can reach',
      make: (_dir, out) => ['mpq', 'search', '--bitops', '0.0001', '--out', out],
      code: 'E_BUDGET',
      message: /a budget of 0\.0001 GBitOps per image cannot be met: with every searchable layer at its lowest bits the network costs 0\.0\d+ GBitOps per image \(at its highest 0\.\d+ GBitOps per image\)/,
    },
    {
      name: 'flags: train --limit beyond the training set',
      make: (_dir, out) => ['train', '--data', 'bundled', '--epochs', '1', '--limit', '5000', '--out', out],
      code: 'E_ARG',
      message: /--limit 5000 is more than the 1024 training images of [^;]+; use 0 \(the default\) for all of them/,
    },
    {
      name: 'flags: mpq train --k 0',
      make: (_dir, out) => ['mpq', 'train', '--data', 'bundled', '--k', '0', '--out', out],
      code: 'E_ARG',
      message: /--k must be an integer >= 1, got 0: with no random-bit forwards only the max-bit sub-network is trained/,
    },
    {
      name: 'ptq output given to ptq as the float model',
      make: (dir, out) => ['ptq', '--model', mutated(ptqOut(), dir, () => undefined), '--method', 'rtn', '--out', out],
      code: 'E_MODEL',
      message: /is already quantized by lowbit ptq \(rtn W4A4\); lowbit ptq starts from a float model: give the float model it came from, --model resnet-fm/,
    },
    {
      name: 'ptq output given to mpq train as the float model',
      make: (dir, out) => ['mpq', 'train', '--model', mutated(ptqOut(), dir, () => undefined), '--data', 'bundled', '--out', out],
      code: 'E_MODEL',
      message: /is already quantized by lowbit ptq .*lowbit mpq train starts from a float model/,
    },
    ...(
      [
        ['ptq --wbits x', ['ptq', '--wbits', 'x'], /lowbit ptq: error: option '--wbits <n>' argument 'x' is invalid\. --wbits must be a positive integer, got 'x' \(see 'lowbit ptq --help'\)/],
        ['ptq --bogus', ['ptq', '--bogus'], /lowbit ptq: error: unknown option '--bogus' \(see 'lowbit ptq --help'\)/],
        ['ptq --model (no value)', ['ptq', '--model'], /option '--model <name\|path>' argument missing/],
        ['unknown command', ['quantise'], /lowbit: error: unknown command 'quantise'/],
        ['train --momentum 1.5', ['train', '--momentum', '1.5'], /lowbit train: error: .*--momentum must be in \[0, 1\), e\.g\. 0\.9, got '1\.5'/],
        ['mpq train --ema 1', ['mpq', 'train', '--ema', '1'], /lowbit mpq train: error: .*--ema must be a decay in \(0, 1\), e\.g\. 0\.9997, got '1'/],
        ['mpq search --bitops -1', ['mpq', 'search', '--bitops', '-1'], /lowbit mpq search: error: .*--bitops must be a positive number, got '-1'/],
        ['export without --out', ['export', '--model', 'resnet-fm'], /required option '--out <dir>' not specified/],
      ] as Array<[string, string[], RegExp]>
    ).map(([name, args, message]): BadInput => ({ name: `option: ${name}`, make: () => args, code: 'usage', message })),
    ...(
      [
        ['rtn --batch 8 --targets per-batch', ['ptq', '--method', 'rtn', '--batch', '8', '--targets', 'per-batch'], /--method rtn runs no optimisation; --batch, --targets do not apply/],
        ['adaround --ar blocks', ['ptq', '--method', 'adaround', '--ar', 'blocks'], /--ar applies to network-wise reconstruction \(nwq, or --recon network\); --method adaround reconstructs layer by layer/],
        ['brecq --ar-weighting relative', ['ptq', '--method', 'brecq', '--ar-weighting', 'relative'], /--ar-weighting applies to network-wise reconstruction .*--method brecq reconstructs block by block/],
        ['--recon pixel', ['ptq', '--recon', 'pixel'], /--recon must be one of network, block, layer, got 'pixel'/],
        ['mpq train --bits 3,3', ['mpq', 'train', '--data', 'bundled', '--bits', '3,3'], /--bits lists 3 twice \('3,3'\); give each candidate bit-width once/],
        ['mpq train --bits 4', ['mpq', 'train', '--data', 'bundled', '--bits', '4'], /--bits needs at least two candidate bit-widths for mixed precision, got '4'/],
        ['mpq train --hold-out 1024 --data bundled', ['mpq', 'train', '--data', 'bundled', '--hold-out', '1024'], /--hold-out 1024 leaves none of the 1024 training images of .* to train on/],
        ['ptq --keep-8bit first,first', ['ptq', '--method', 'rtn', '--keep-8bit', 'first,first'], /--keep-8bit takes 'first', 'last', 'first,last' or 'none', got 'first,first'/],
        ['ptq --keep-8bit empty', ['ptq', '--method', 'rtn', '--keep-8bit', ''], /--keep-8bit takes 'first', 'last', 'first,last' or 'none', got ''/],
        ['ptq --heldout empty', ['ptq', '--method', 'rtn', '--heldout', ''], /--heldout is empty: give a folder of images/],
        ['ptq --memory-mb 1e9', ['ptq', '--method', 'rtn', '--memory-mb', '1e9'], /--memory-mb 1000000000 is more than one wasm heap holds \(4096 MB\)/],
        ['mpq train --lr-min above --lr', ['mpq', 'train', '--data', 'bundled', '--lr', '0.01', '--lr-min', '0.1'], /--lr-min 0\.1 must be below --lr 0\.01/],
        ['mpq train --warmup-epochs 2 --epochs 1', ['mpq', 'train', '--data', 'bundled', '--warmup-epochs', '2'], /--warmup-epochs 2 must be fewer than --epochs 1/],
        ['mpq search --noise-floor with kl', ['mpq', 'search', '--avg-bits', '3', '--noise-floor'], /--noise-floor needs --criterion error \(a top-1 error has a known standard error\), got --criterion kl/],
        ['mpq search --resample --bn-on-score', ['mpq', 'search', '--avg-bits', '3', '--resample', '--bn-on-score'], /--bn-on-score does not apply with --resample/],
        ['mpq search --compare W9A9', ['mpq', 'search', '--avg-bits', '3', '--compare', 'W3A3,W9A9'], /--compare W9A9: the one-shot network's candidate bits are 2, 3, 4, 5, 6/],
        ['mpq search --compare 3bit', ['mpq', 'search', '--avg-bits', '3', '--compare', '3bit'], /--compare must look like W2A4 \(weight and activation bits of a uniform policy\), got '3bit'/],
        ['mpq search --min-bits 7', ['mpq', 'search', '--avg-bits', '3', '--min-bits', '7'], /has candidate bits 2, 3, 4, 5, 6, none within the limits \(≥ 7 bits: --min-bits\/--max-bits\)/],
        ['ptq --heldout the --calib set', ['ptq', '--method', 'rtn', '--heldout', 'bundled'], /--heldout bundled is the --calib set: its images include the calibration ones/],
        ['mpq search --resample --score-images 900', ['mpq', 'search', '--avg-bits', '3', '--resample', '--score-images', '900'], /--resample draws --score-images 900 from the 512 images of bundled fashion-mnist\/calib1024 after the first 512 \(the validation images\); lower --score-images or --validate-images/],
        ['mpq train --freeze-abits --no-scheduler', ['mpq', 'train', '--data', 'bundled', '--freeze-abits', '--no-scheduler'], /--freeze-abits freezes with the bit-width scheduler; it does nothing with --no-scheduler/],
      ] as Array<[string, string[], RegExp]>
    ).map(([name, args, message]): BadInput => ({ name: `flags: ${name}`, make: (_dir, out) => [...args, '--out', out], code: 'E_ARG', message })),
    ...(
      [
        ['a truncated state file', '{"step": 1', /--resume: '.*ptq-state\.json' is not valid JSON .*; delete it to start over/],
        ['a null state file', 'null', /holds no reconstruction snapshot; delete it to start over/],
      ] as Array<[string, string, RegExp]>
    ).map(
      ([name, text, message]): BadInput => ({
        name: `ptq --resume with ${name}`,
        make: (dir) => {
          mkdirSync(dir);
          writeFileSync(join(dir, 'ptq-state.json'), text);
          return ['ptq', '--method', 'nwq', '--iters', '5', '--out', dir, '--resume'];
        },
        code: 'E_RESUME',
        message,
      }),
    ),
  ];
}

/** A copy of resnet-fm whose model.json is cut off mid-way (not JSON). */
export function notJson(dir: string): string {
  cpSync(RESNET_FM, dir, { recursive: true });
  const path = join(dir, 'model.json');
  writeFileSync(path, '{"format": "lowbit-network", ');
  return path;
}
