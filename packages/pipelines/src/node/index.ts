// Node entry: the browser-safe API plus files (model paths, image folders, checkpoints), worker
// threads (data parallelism) and the training loops.
export * from '../index.js';
// the Node mpq namespace (train, load, save) shadows the browser-safe one
export { mpq } from '../mpq/namespace-node.js';
export { DEFAULT_CALIBRATION_IMAGES, loadCalibration, loadCalibrationSplit } from '../util/calibration.js';
export { isFashionMnistDir } from '../util/fashion-mnist-dir.js';
export { mpqCalibration, mpqLabelledSet, oneShotPath, POLICY_FORMAT, type PolicyFile, readPolicyFile } from '../mpq/policy-file.js';
export { loadAnyModel, loadFloatModelArg, loadModelArg, modelFormat, tfjsOrigin } from '../util/load-model.js';
export { checkQuantizationFits, checkQuantizationMeta, quantizationMetaSchema } from '../ptq/quantization-meta.js';
export { fashionMnistTest, loadTestSet, loadTrainData } from '../util/test-data.js';
export { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
export { defaultThreads } from '../util/threads.js';
export { readQuantization, saveQuantized } from '../ptq/quantized-checkpoint.js';
export { readPtqState, writePtqState } from '../ptq/resume-state.js';
export { keepList } from '../util/keep-list.js';
export { startQuantizeReplicas } from '../quantize/replicas.js';
export { isOneShotDir, loadOneShot, ONE_SHOT_FORMAT, type OneShotFile, saveOneShot } from '../mpq/one-shot-io.js';
export { layerTurbulence, type MpqCallbacks, type MpqState, type MpqStepInfo, type MpqTrainConfig, type MpqTrainResult, checkHoldOut, trainingImages, trainOneShot, weightCandidates } from '../mpq/train-loop.js';
export { type OneShotReplicaInit, type OneShotReplicas, type OneShotShardMessage, oneShotStepParallel, startOneShotReplicas } from '../mpq/data-parallel.js';
export { type EpochInfo, type StepInfo, type TrainCallbacks, type TrainConfig, type TrainResult, trainClassifier } from '../train/train-loop.js';
export { hasCheckpoint, loadCheckpoint, saveCheckpoint, type TrainState } from '../train/checkpoint.js';
export { postShards, serveShards, type ShardMessage, shardRange, startTrainReplicas, type TrainReplicaInit, type TrainReplicas, trainStepParallel } from '../train/data-parallel.js';
export { type Evaluable, imageFolderData, loadEvaluable } from '../eval/evaluable.js';
export { evaluatePolicyFile, policyFileModel } from '../mpq/policy-model.js';
