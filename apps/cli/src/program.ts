import { LowbitError } from '@lowbit/core';
import { Command, InvalidArgumentError } from 'commander';
import { formatInfo, runInfo } from './commands/info.js';

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

  return program;
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
