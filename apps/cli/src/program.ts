import { LowbitError } from '@lowbit/core';
import { writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { formatInfo, runInfo } from './commands/info.js';
import { runTrain, TRAIN_DEFAULTS } from './commands/train.js';
import { runEval } from './commands/eval.js';
import { runPtq } from './commands/ptq.js';
import { runExport } from './commands/export.js';
import { runMpqSearch, runMpqTrain } from './commands/mpq.js';
import { defaultThreads } from '@lowbit/pipelines/node';

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** An on/off flag value as a boolean. */
export function onOff(name: string) {
  return (v: string): boolean => {
    if (v === 'on') return true;
    if (v === 'off') return false;
    throw new InvalidArgumentError(`${name} must be on or off, got '${v}'`);
  };
}

export function buildProgram(): Command {
  const program = new Command('lowbit')
    .description('Low-bit quantization of neural networks for TF.js: NWQ post-training quantization and retraining-free mixed precision.')
    .version('0.1.0')
    .hook('preAction', (_program, command) => warnThreads(command.opts()['threads']));

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
    .option('--momentum <x>', 'SGD momentum, in [0, 1)', momentum, 0.9)
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
    .option('--force', "start over in an --out holding an earlier run's checkpoints (they are replaced)", false)
    .option('--threads <n>', `split every batch over N threads (data parallelism, batch norm synchronised; same result as 1 thread up to float rounding; default: the cores, ${defaultThreads()} here)`, positiveInt('--threads'), defaultThreads())
    .action(async (o) => runTrain(o));

  program
    .command('eval')
    .description('accuracy of a model on the Fashion-MNIST test set or a labelled image folder, or its agreement with a reference model on any images')
    .option('--model <name|path>', 'reference model name (bundled checkpoint), a lowbit ptq output, or a TF.js / lowbit-packed model.json', 'resnet-fm')
    .option('--data <src>', `'bundled' (the bundled test set), a Fashion-MNIST directory, or a folder of images: class sub-folders give accuracy, a flat folder agreement with --reference`, 'bundled')
    .option('--reference <model>', 'with an image folder: top-1/top-5 agreement and KL against this model (default for a ptq output: the float model it came from)')
    .option('--input-range <lo,hi>', 'image folders: pixel values the model expects (bytes 0..255 map linearly to [lo, hi])', '0,1')
    .option('--channel-order <order>', 'image folders, 3-channel models: rgb | bgr', 'rgb')
    .option('--fit <how>', 'image folders: stretch (the whole image resized) | crop (the centred region of the input aspect ratio)', 'stretch')
    .option('--batch <n>', 'images per pass (default: as many as fit, from the model)', positiveInt('--batch'))
    .option('--test-limit <n>', 'evaluate on the first N test images only (0 = all)', nonNegativeInt('--test-limit'), 0)
    .option('--policy <file>', 'a policy.json from lowbit mpq search: evaluate the one-shot network under that policy (BN re-estimated on the calibration set)')
    .option('--json', 'print one JSON object (accuracy as a fraction 0–1)', false)
    .action(async (o) => runEval(o));

  program
    .command('ptq')
    .description('post-training quantization with calibration images (NWQ by default; rtn, adaround, brecq, qdrop as baselines); prints fp32 vs quantized accuracy, size, BitOps; writes the quantized model and a report')
    .option('--model <name|path>', 'reference model name (bundled checkpoint) or a lowbit model.json', 'resnet-fm')
    .option('--method <name>', 'nwq | qdrop | brecq | adaround | rtn', 'nwq')
    .option('--wbits <n>', 'weight bits (2–8)', positiveInt('--wbits'), 4)
    .option('--abits <n>', 'activation bits (2–8)', positiveInt('--abits'), 4)
    .option('--iters <n>', 'optimisation steps (in total for nwq; per block/layer for the others); default: the method preset', positiveInt('--iters'))
    .option('--batch <n>', 'reconstruction batch size (default 32)', positiveInt('--batch'))
    .option('--calib <src>', `'bundled' (1,024 training images), an IDX images file, a Fashion-MNIST directory, or a folder of PNG/JPEG images`, 'bundled')
    .option('--calib-size <n>', 'number of calibration images (default: all of --calib, at most 1024)', positiveInt('--calib-size'))
    .option('--heldout <src>', 'images held back from calibration, for agreement with the float model (default: up to 512 of --calib after the calibration ones)')
    .option('--keep-8bit <layers>', "layers kept at 8 bits: 'first,last', 'first', 'last' or 'none'", 'first,last')
    .option('--granularity <g>', 'weight grid: channel | tensor', 'channel')
    .option('--weight-grid <g>', 'weight grid: auto (asymmetric below 8 bits, symmetric at 8) | symmetric (signed, zero point 0) | asymmetric (a zero point per channel, MSE over both ends, as QDrop/BRECQ)', 'auto')
    .option('--estimator <name>', 'range estimator for initial steps: mse | minmax | percentile', 'mse')
    .option('--bias-correction <on|off>', 'after the method, each quantized layer\'s bias absorbs the shift of its channel means against the float model on calibration images (default on)', onOff('--bias-correction'))
    .option('--rounding <r>', 'ablation: override the rounding (asoftmax | adaround | nearest)')
    .option('--mixing <m>', 'ablation: override the activation mixing (amixup | qdrop | none)')
    .option('--ar <points>', 'ablation: AR points for network-wise reconstruction (blocks | layers | none)')
    .option('--ar-weighting <w>', 'ablation: AR terms as squared errors (sum) or relative to each target\'s norm (relative)')
    .option('--recon <g>', 'ablation: reconstruction granularity (network | block | layer)')
    .option('--lr-weights <x>', 'Adam learning rate of the rounding variables (default 1e-3)', positiveNumber('--lr-weights'))
    .option('--lr-act <x>', 'Adam learning rate of the activation steps (default 4e-5)', nonNegativeNumber('--lr-act'))
    .option('--targets <mode>', "float targets: 'cache' (precomputed, default) or 'per-batch' (least memory)")
    .option('--memory-mb <MB>', 'working-set budget of one batched pass (every pass is split into micro-batches sized from the model to fit; the wasm heap holds at most 4096)', positiveNumber('--memory-mb'), 1024)
    .option('--cache-mb <MB>', 'float-target cache budget in JS memory, shared by the threads (default: 40% of free memory, 256-8192; over it float16, then per batch)', nonNegativeNumber('--cache-mb'))
    .option('--seed <n>', 'random seed (batches, mixing masks)', nonNegativeInt('--seed'), 0)
    .option('--test <src>', "'bundled' test set, a Fashion-MNIST directory, or a folder of labelled images (one sub-folder per class)", 'bundled')
    .option('--test-limit <n>', 'evaluate on the first N test images only (0 = all)', nonNegativeInt('--test-limit'), 0)
    .option('--input-range <lo,hi>', 'pixel values the model expects: bytes 0..255 map linearly to [lo, hi]', '0,1')
    .option('--channel-order <order>', 'colour channel order the model expects, for --calib/--test image folders and 3-channel models: rgb | bgr', 'rgb')
    .option('--fit <how>', 'image folders: stretch (the whole image resized) | crop (the centred region of the input aspect ratio)', 'stretch')
    .option('--out <dir>', 'output directory (default runs/ptq/<model>-<method>-w<b>a<b>); checked before the run')
    .option('--force', 'allow --out to be the folder of an input (model or images; files may be replaced) or to hold an unfinished run\'s resume state (started over)', false)
    .option('--checkpoint-every <n>', 'save the reconstruction state every N steps', positiveInt('--checkpoint-every'), 100)
    .option('--resume', 'continue a stopped run from the state in --out', false)
    .option('--threads <n>', `split every reconstruction batch over N threads (data parallelism; same result as 1 thread up to float rounding; default: the cores, ${defaultThreads()} here)`, positiveInt('--threads'), defaultThreads())
    .option('--json', 'print the report as one JSON object (accuracies as fractions 0–1)', false)
    .action(async (o) => runPtq(o));

  program
    .command('export')
    .description('write a model (a lowbit ptq output, a lowbit or TF.js model, or a reference name) as a TF.js LayersModel or GraphModel that stock @tensorflow/tfjs loads')
    .option('--model <name|path>', 'quantized model.json from lowbit ptq, a lowbit model.json, a TF.js model.json (layers or graph model), or a reference model name; with --policy: the one-shot network (default: the one the policy names)')
    .option('--policy <policy.json>', 'export the one-shot network under a policy of lowbit mpq search (BN re-estimated as the search did)')
    .option('--target <t>', 'tfjs (stock LayersModel or GraphModel; per-tensor kernels as uint8) | lowbit-packed (2–8-bit codes bit-packed, any granularity; loaded by packedHandler)', 'tfjs')
    .option(
      '--format <f>',
      "with --target tfjs: layers (tf.loadLayersModel) | graph (tf.loadGraphModel); default: the source's format (a TF.js graph model, or a ptq output of one, gives graph; lowbit models and reference names give layers)",
    )
    .option('--per-channel <dtype>', 'how kernels on per-channel grids are stored in the stock format: uint8 (integer codes, 1 byte a weight; the scales (float16) and bias applied in a following layer) | float32 (dequantized, exact) | float16 (default: uint8)')
    .option('--code-bias <dtype>', 'with --per-channel uint8: the bias beside the codes in float16 | uint8 (256 levels from its smallest to its largest value, as the TF.js converter stores biases: 1 byte a channel, less close) (default: float16)')
    .requiredOption('--out <dir>', 'output directory (checked before the work)')
    .option('--force', 'allow --out to be the folder of the input model (its files may be replaced)', false)
    .option('--json', 'print a JSON report', false)
    .action(async (o) => runExport(o));

  const mpq = program.command('mpq').description('retraining-free mixed precision: one-shot weight-coupled training, then inference-only policy search');
  mpq
    .command('train')
    .description('one-shot training of all bit-widths {2..6} in shared weights from a float model (LSQ steps per bit, switchable BN, bit-width scheduler, IDM); resumable')
    .option('--model <name|path>', 'float model: reference name (bundled checkpoint) or a lowbit model.json', 'resnet-fm')
    .option('--data <dir>', `Fashion-MNIST directory, or 'bundled' (1,024 images; smoke runs)`, '/usr/share/datasets/fashion-mnist')
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 1)
    .option('--steps-per-epoch <n>', 'optimiser steps per epoch (0 = the whole training set)', nonNegativeInt('--steps-per-epoch'), 0)
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 64)
    .option('--lr <x>', 'peak learning rate (cosine decay to --lr-min)', positiveNumber('--lr'), 0.01)
    .option('--lr-min <x>', 'learning rate at the end of the cosine decay', nonNegativeNumber('--lr-min'), 0)
    .option('--warmup-epochs <x>', 'linear learning-rate warm-up over this many epochs (the reference: 5 of 150)', nonNegativeNumber('--warmup-epochs'), 0)
    .option('--momentum <x>', 'Nesterov momentum', nonNegativeNumber('--momentum'), 0.9)
    .option('--weight-decay <x>', 'L2 weight decay on float kernels', nonNegativeNumber('--weight-decay'), 5e-5)
    .option('--step-lr <x>', 'train the quantizer steps with their own Adam at this learning rate (the reference: 1e-5) instead of in the SGD', positiveNumber('--step-lr'))
    .option('--clip <x>', 'clip every gradient element to ±x (the reference: 1)', positiveNumber('--clip'))
    .option('--ema <decay>', 'keep an exponential moving average of the weights, steps and BN with this decay and return it (the reference: 0.9997; needs many thousand steps)', emaDecay)
    .option('--k <n>', 'random-bit forwards per step besides the max-bit one (>= 1)', nonNegativeInt('--k'), 3)
    .option('--idm-weight <x>', 'information-distortion-mitigation weight (0 = off)', nonNegativeNumber('--idm-weight'), 0.01)
    .option('--no-scheduler', 'no bit-width scheduler (ablation)')
    .option('--scheduler-period <steps>', 'steps between scheduler updates', positiveInt('--scheduler-period'), 100)
    .option('--freeze-abits', "a layer the scheduler freezes also loses its input's lowest activation bits for the period (the reference's ResNet setting)", false)
    .option('--bits <list>', 'candidate bit-widths', '2,3,4,5,6')
    .option('--seed <n>', 'random seed', nonNegativeInt('--seed'), 1)
    .option('--crop-padding <px>', 'random-crop padding (0 = off)', nonNegativeInt('--crop-padding'), 2)
    .option('--no-flip', 'no random horizontal flips')
    .option('--checkpoint-every <n>', 'also checkpoint every N steps within an epoch (0 = per epoch only)', nonNegativeInt('--checkpoint-every'), 200)
    .option('--hold-out <n>', 'leave the first N training images out of training; with 1024 (the bundled calibration set) a search scores policies on images this training never saw', nonNegativeInt('--hold-out'), 0)
    .option('--test-limit <n>', 'evaluate on the first N test images (0 = all)', nonNegativeInt('--test-limit'), 0)
    .option('--out <dir>', 'output directory (default runs/mpq/<model>)')
    .option('--resume', 'continue from the latest checkpoint in --out', false)
    .option('--force', "start over in an --out holding an earlier run's checkpoints (they are replaced)", false)
    .option('--threads <n>', `split every batch over N threads (data parallelism, batch norm synchronised; same result as 1 thread up to float rounding; default: the cores, ${defaultThreads()} here)`, positiveInt('--threads'), defaultThreads())
    .option('--json', 'print the final report as one JSON object', false)
    .action(async (o) => runMpqTrain(o));
  mpq
    .command('search')
    .description('greedy per-layer bit search on a one-shot network under a BitOps, size or average-bits budget (inference only); prints the policy, writes policy.json and a Pareto plot')
    .option('--model <name|dir>', 'one-shot network: a reference name (its bundled one-shot checkpoint) or a directory from lowbit mpq train', 'resnet-fm')
    .option('--bitops <G>', 'budget in giga BitOps per image', positiveNumber('--bitops'))
    .option('--size <KB>', 'budget: weight storage in KB', positiveNumber('--size'))
    .option('--avg-bits <b>', 'budget: the BitOps of the uniform policy at b bits (first/last at 8)', positiveInt('--avg-bits'))
    .option('--uniform <WbAb>', 'budget: the BitOps of the uniform policy WbAb, e.g. W2A4 (first/last at 8)')
    .option('--calib <src>', "calibration images: 'bundled' (1,024 labelled training images) or a Fashion-MNIST directory (its labelled training images)", 'bundled')
    .option('--calib-size <n>', 'number of calibration images (the first ones of --calib)', positiveInt('--calib-size'), 1024)
    .option('--bn-images <n>', 'calibration images for the BN re-estimation of every scored policy (final evaluations use the whole calibration set)', positiveInt('--bn-images'), 128)
    .option('--score-images <n>', 'held-out calibration images the search scores policies on', positiveInt('--score-images'), 256)
    .option('--criterion <c>', "what a policy's error compares with: 'kl' (the max-bits predictions, label-free), 'ce' (cross-entropy with the labels) or 'error' (top-1 error with the labels, the reference's)", 'kl')
    .option('--resample', "score every step on a fresh batch of --score-images images drawn (seeded) from all of --calib's labelled images, BN re-estimated on it (the reference's protocol; --bn-images and --bn-on-score then do not apply)", false)
    .option('--seed <n>', 'seed of the resampled batches', nonNegativeInt('--seed'), 0)
    .option('--max-bits <b>', 'searchable layers start at (at most) b bits (the reference: 5)', positiveInt('--max-bits'))
    .option('--min-bits <b>', 'searchable layers never go below b bits (the reference: 3 at budgets of 5 GBitOps and more)', positiveInt('--min-bits'))
    .option('--noise-floor', "error differences below one standard error of the top-1 error on the score images count as none (needs --criterion error): near-ties go to the larger saving, and the uniform policy replaces the end point only when better by more", false)
    .option('--validate-images <n>', 'calibration images outside the BN and score sets on which the end point is compared with every uniform policy within the budget (0 = on the score set)', nonNegativeInt('--validate-images'), 512)
    .option('--bn-on-score', 're-estimate BN on the score images themselves (the paper\'s protocol) instead of on --bn-images separate ones', false)
    .option('--phases <p>', 'weights-then-activations | joint', 'weights-then-activations')
    .option('--raise', 'also try raising moves, as the paper does (≈4× the evaluations for the same result on the reference models)', false)
    .option('--scoring <s>', "move ranking: 'efficiency' (error increase per BitOp saved) or 'paper' (1.5·err/err_max − (1 − cost/cost_max), which in practice picks the lowest-error move)", 'efficiency')
    .option('--no-fill', 'stop when the budget first holds (default: spend what is left on raises that lower the error)')
    .option('--test <src>', "'bundled' test set or a Fashion-MNIST directory", 'bundled')
    .option('--test-limit <n>', 'evaluate on the first N test images (0 = all)', nonNegativeInt('--test-limit'), 0)
    .option('--compare <list>', 'uniform policies to compare the searched one with on the test set, paired (McNemar), e.g. W2A3,W3A2 (default: the uniform policy of the budget, if any)')
    .option('--no-plot', 'skip the Pareto plot')
    .option('--plot-test-limit <n>', 'test images per point of the Pareto plot (0 = all)', nonNegativeInt('--plot-test-limit'), 2000)
    .option('--out <dir>', 'output directory (default runs/mpq-search/<model>-<budget>)')
    .option('--json', 'print the result as one JSON object (accuracies as fractions 0–1)', false)
    .action(async (o) => runMpqSearch(o));

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

function momentum(v: string): number {
  const n = Number(v);
  // at 1 or above the velocity never decays: the updates grow without bound
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`--momentum must be in [0, 1), e.g. 0.9, got '${v}'`);
  return n;
}

function emaDecay(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) throw new InvalidArgumentError(`--ema must be a decay in (0, 1), e.g. 0.9997, got '${v}'`);
  return n;
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got '${v}'`);
    return n;
  };
}

/** A warning (stderr) when --threads asks for more threads than the machine has cores: legal, and slower than one per core. */
function warnThreads(threads: unknown): void {
  const cores = availableParallelism();
  if (typeof threads === 'number' && threads > cores) {
    console.error(`lowbit: warning: --threads ${threads} is more than the ${cores} core${cores === 1 ? '' : 's'} here; the threads share them and the run is slower than with --threads ${cores}`);
  }
}

/** Every command of `program`, itself first. */
function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

/** `lowbit ptq` for the ptq command: the name a user typed. */
function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

/**
 * Option and usage errors as one line with a `--help` hint and exit code 2, instead of
 * commander's exit 1 and a usage dump: every command throws instead of exiting, and writes its
 * parse errors through this format.
 */
function oneLineErrors(program: Command): void {
  for (const c of allCommands(program)) {
    c.exitOverride();
    c.configureOutput({
      outputError: (str, write) => {
        const message = str
          .trim()
          .replace(/^error:\s*/, '')
          .replace(/\s*\n\s*/g, ' ');
        write(`${commandPath(c)}: error: ${message} (see '${commandPath(c)} --help')\n`);
      },
    });
  }
}

/** Where the trace of an internal error goes: a file in the temp directory, so that the terminal gets one line. */
function saveTrace(e: unknown, argv: string[]): string | null {
  try {
    const file = join(tmpdir(), `lowbit-error-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const trace = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    writeFileSync(file, `lowbit ${argv.slice(2).join(' ')}\nnode ${process.version} ${process.platform}-${process.arch}\n\n${trace}\n`);
    return file;
  } catch {
    return null;
  }
}

/**
 * Runs the CLI with one error path: bad input (a {@link LowbitError}, or an option commander
 * rejects) is one line on stderr and exit code 2; anything else is an internal error: one line
 * that says so, the trace in a file, exit code 1. Help and --version exit 0. (`program`: the
 * commands to run, lowbit's own by default.)
 */
export async function main(argv: string[], program: Command = buildProgram()): Promise<void> {
  oneLineErrors(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander when it is told not to exit; their exit code is theirs
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? e.exitCode : 2;
      return;
    }
    if (e instanceof LowbitError) {
      console.error(`lowbit: error: ${e.message.replace(/\s*\n\s*/g, ' ')} [${e.code}]`);
      process.exitCode = 2;
      return;
    }
    const file = saveTrace(e, argv);
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    console.error(`lowbit: internal error: ${message} — this is a bug in lowbit; ${file ? `the trace is in ${file}` : 'no trace could be written'}. Please report it with that file.`);
    process.exitCode = 1;
  }
}
