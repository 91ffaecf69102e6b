import { initBackend, LowbitError } from '@lowbit/core';
import { prepareOutputDir } from '@lowbit/core/node';
import { refuseEarlierRun } from '../util/earlier-run.js';
import { DEFAULT_FASHION_MNIST_DIR } from '@lowbit/data';
import { isReferenceModel, REFERENCE_MODELS } from '@lowbit/models';
import { countParams } from '@lowbit/nn';
import { Progress } from '../util/progress.js';
import { onStopRequest } from '../util/stop-request.js';
import { loadTrainData, type TrainConfig, trainClassifier } from '@lowbit/pipelines/node';

export interface TrainCommandOptions {
  model: string;
  data: string;
  epochs: number;
  batch: number;
  lr: number;
  optimizer: string;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  warmup: number;
  seed: number;
  cropPadding: number;
  flip: boolean;
  out: string;
  resume: boolean;
  /** Start over in an --out holding an earlier run's checkpoints. */
  force?: boolean;
  limit: number;
  eval: boolean;
  threads: number;
}

export async function runTrain(o: TrainCommandOptions): Promise<void> {
  if (!isReferenceModel(o.model)) throw new LowbitError('E_ARG', `--model must be one of ${REFERENCE_MODELS.join(', ')}, got '${o.model}'`);
  if (o.optimizer !== 'sgd' && o.optimizer !== 'adam') throw new LowbitError('E_ARG', `--optimizer must be sgd or adam, got '${o.optimizer}'`);
  const be = await initBackend();
  const { train, test } = loadTrainData(o.data, o.limit, '--limit');
  const config: TrainConfig = {
    model: o.model,
    epochs: o.epochs,
    batchSize: o.batch,
    lr: o.lr,
    optimizer: o.optimizer,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
    warmupEpochs: o.warmup,
    seed: o.seed,
    cropPadding: o.cropPadding,
    flip: o.flip,
    data: o.data,
    trainLimit: o.limit,
  };
  // checked (and made) before the training: checkpoints and the model
  refuseEarlierRun(o.out, 'lowbit train', o);
  prepareOutputDir(o.out, { expectedBytes: 2 ** 24 });
  const stop = onStopRequest('the last complete checkpoint is kept');
  const progress = new Progress();
  try {
    const result = await trainClassifier({
      config,
      train,
      test: o.eval ? test : null,
      outDir: o.out,
      resume: o.resume,
      threads: Math.min(o.threads, o.batch),
      callbacks: {
        onStart: (s) => {
          progress.log(
            `training ${o.model} (${countParams(s.params).toLocaleString('en-US')} params) on ${train.name} (${train.size} images), ` +
              `${s.epochs} epochs × ${s.stepsPerEpoch} steps, batch ${o.batch}, backend ${be.backend}${Math.min(o.threads, o.batch) > 1 ? `, ${Math.min(o.threads, o.batch)} threads` : ''}${s.resumedFrom ? `, resumed after epoch ${s.resumedFrom}` : ''}`,
          );
        },
        onStep: (s) => {
          progress.update(`epoch ${s.epoch}/${o.epochs}`, s.stepInEpoch, s.stepsPerEpoch, {
            loss: s.loss.toFixed(4),
            acc: `${(100 * s.accuracy).toFixed(2)}%`,
            'img/s': s.imagesPerSecond.toFixed(0),
            lr: s.lr.toExponential(2),
          });
        },
        onEpoch: (e) => {
          progress.done();
          progress.log(
            `epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(4)} acc ${(100 * e.trainAccuracy).toFixed(2)}%` +
              (e.testAccuracy !== null ? `, test loss ${e.testLoss!.toFixed(4)} acc ${(100 * e.testAccuracy).toFixed(2)}%` : '') +
              `, ${e.seconds.toFixed(0)} s, checkpoint ${e.checkpoint}`,
          );
        },
        shouldStop: stop.requested,
      },
    });
    progress.done();
    if (result.stopped) {
      progress.log(
        result.completedEpochs > 0
          ? `stopped after ${result.completedEpochs} complete epoch(s); resume from the last with the same command plus --resume`
          : 'stopped before the first epoch ended; there is no checkpoint yet (one is saved per epoch): start again without --resume',
      );
      process.exitCode = stop.exitCode();
    } else {
      progress.log(`done: ${result.modelPath}`);
    }
  } finally {
    stop.dispose();
  }
}

export const TRAIN_DEFAULTS = { data: DEFAULT_FASHION_MNIST_DIR };
