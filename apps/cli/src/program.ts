import { LowbitError } from '@lowbit/core';
import { Command, InvalidArgumentError } from 'commander';
import { formatInfo, runInfo } from './commands/info.js';
import { runTrain, TRAIN_DEFAULTS } from './commands/train.js';
import { runEval } from './commands/eval.js';
import { runPtq } from './commands/ptq.js';

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('lowbit')
    .description('Low-bit quantization of neural networks for TF.js: NWQ post-training quantization and retraining-free mixed precision.')
    .version('0.1.0')
    .showHelpAfterError();

  program
    .command('info')
    .description('build a reference network, time forward / backward / SGD steps on wasm, print its size and costs')
    .option('--model <name>', 'reference architecture (resnet-fm | mbv2-fm)', 'resnet-fm')
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 64)
    .option('--repeats <n>', 'timed repetitions (median reported)', positiveInt('--repeats'), 5)
    .option('--json', 'print one JSON object instead of a table', false)
    .action(async (o) => {
      const r = await runInfo(o);
      console.log(o.json ? JSON.stringify(r) : formatInfo(r));
    });

  program
    .command('train')
    .description('train a reference architecture on Fashion-MNIST (checkpoint every epoch, exact --resume)')
    .option('--model <name>', 'resnet-fm | mbv2-fm', 'resnet-fm')
    .option('--data <dir>', `directory with the Fashion-MNIST IDX files, or 'bundled' for the bundled 1,024-image set`, TRAIN_DEFAULTS.data)
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 22)
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 128)
    .option('--lr <x>', 'peak learning rate', positiveNumber('--lr'), 0.1)
    .option('--optimizer <name>', 'sgd (Nesterov momentum) | adam', 'sgd')
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber('--momentum'), 0.9)
    .option('--no-nesterov', 'plain momentum instead of Nesterov')
    .option('--weight-decay <x>', 'L2 weight decay on kernels', nonNegativeNumber('--weight-decay'), 5e-4)
    .option('--warmup <epochs>', 'linear warm-up epochs before cosine decay', nonNegativeNumber('--warmup'), 1)
    .option('--seed <n>', 'random seed (weights, shuffling, augmentation)', nonNegativeInt('--seed'), 1)
    .option('--crop-padding <px>', 'random-crop padding (0 = off)', nonNegativeInt('--crop-padding'), 2)
    .option('--no-flip', 'no random horizontal flips')
    .option('--limit <n>', 'train on the first N images only (0 = all)', nonNegativeInt('--limit'), 0)
    .option('--no-eval', 'skip the test-set evaluation after each epoch')
    .option('--out <dir>', 'output directory (model.json, checkpoints/)', 'runs/train')
    .option('--resume', 'continue from the latest checkpoint in --out', false)
    .action(async (o) => runTrain(o));

  program
    .command('eval')
    .description('top-1 accuracy, loss, confusion matrix and throughput of a model on the Fashion-MNIST test set')
    .option('--model <name|path>', 'reference model name (bundled checkpoint) or a lowbit model.json', 'resnet-fm')
    .option('--data <dir>', `'bundled' (the bundled test set) or a directory with the Fashion-MNIST IDX files`, 'bundled')
    .option('--batch <n>', 'evaluation batch size', positiveInt('--batch'), 250)
    .option('--json', 'print one JSON object (accuracy as a fraction 0–1)', false)
    .action(async (o) => runEval(o));

  program
    .command('ptq')
    .description('post-training quantization of a model with calibration images; prints fp32 vs quantized accuracy, size and BitOps')
    .option('--model <name|path>', 'reference model name (bundled checkpoint) or a lowbit model.json', 'resnet-fm')
    .option('--method <name>', 'rtn (round-to-nearest with range estimation)', 'rtn')
    .option('--wbits <n>', 'weight bits (2–8)', positiveInt('--wbits'), 4)
    .option('--abits <n>', 'activation bits (2–8)', positiveInt('--abits'), 4)
    .option('--calib <src>', `'bundled' (1,024 training images), an IDX images file, a Fashion-MNIST directory, or a folder of PNG/JPEG images`, 'bundled')
    .option('--calib-size <n>', 'number of calibration images', positiveInt('--calib-size'), 1024)
    .option('--keep-8bit <layers>', "layers kept at 8 bits: 'first,last', 'first', 'last' or 'none'", 'first,last')
    .option('--granularity <g>', 'weight grid: channel | tensor', 'channel')
    .option('--estimator <name>', 'range estimator: mse | minmax | percentile', 'mse')
    .option('--test <src>', "'bundled' test set or a Fashion-MNIST directory", 'bundled')
    .option('--out <dir>', 'write report.json here')
    .option('--json', 'print the report as one JSON object (accuracies as fractions 0–1)', false)
    .action(async (o) => runPtq(o));

  return program;
}

export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got '${v}'`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got '${v}'`);
    return n;
  };
}

/** Runs the CLI; bad input becomes a one-line error and exit code 2. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof LowbitError) {
      console.error(`lowbit: error: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
