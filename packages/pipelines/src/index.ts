// Browser-safe entry: everything here runs wherever tfjs-core does. Files, worker threads and
// checkpoints are in '@lowbit/pipelines/node'.
export { quantize, settingsOf } from './quantize/quantize.js';
export type { QuantizeConfig, QuantizeMethod, QuantizeProgress, QuantizeReport, QuantizeResult } from './quantize/quantize.js';
export { QuantizedModel } from './quantize/quantized-model.js';
export type { ModelFile, SaveOptions, SaveResult, SaveTarget } from './quantize/quantized-model.js';
export { loadModel } from './quantize/model-source.js';
export type { LoadedModel, ModelSource, SavableModel, SourceFormat } from './quantize/model-source.js';
export { calibrationRows, readCalibration } from './quantize/calibration-data.js';
export type { CalibrationInput, CalibrationRows } from './quantize/calibration-data.js';
export { prepareRun, planOf } from './quantize/prepare.js';
export { type PtqSettings, validateSettings } from './quantize/settings.js';
export type { QuantizeReplicaInit, QuantizeReplicas } from './quantize/replica-types.js';
export { topOneAgreement } from './quantize/agreement.js';
export { evaluateNetwork } from './eval/evaluate.js';
export type { EvalResult } from './eval/evaluate.js';
export { type Mixing, type MethodOverrides, type MethodPlan, mixerFor, type OptionNames, planMethod, type Rounding, weightQuantizerFor } from './ptq/methods.js';
export { bitOpsReport, type SizeReport, sizeReport } from './ptq/report.js';
export { type QuantizationMeta, quantizedHooks } from './ptq/quantization-meta.js';
export { type AccuracyReport, accuracyFrom, type ExportReport, exportReport, formatExportReport, type LayerFacts, layerFacts, type LayerReport } from './export/report.js';
export { type CandidateConfig, calibrateOneShot, createOneShotNet, DEFAULT_CANDIDATES, FLOAT_BITS, type OneShotLayer, type OneShotNet, type OneShotSite } from './mpq/one-shot-net.js';
export { applyStep, MIN_STEP, type OneShotPlan, oneShotShardGrads, oneShotStep, type OneShotStepOptions, type OneShotStepResult, planStep, projectSteps, samplePolicy } from './mpq/one-shot-step.js';
export { type Criterion, disposeBatches, disposeTargets, evaluatePolicy, fixedBatches, policyError, preparePolicy, type ScoreTargets, scoreTargets } from './mpq/evaluate-policy.js';
export { type Budget, type MpqSearch, type MpqSearchOptions, oneShotKnobs, searchOneShot, settingFromPolicy, uniformOneShotPolicy } from './mpq/search.js';
export { crossEntropy, shardGrads, type StepResult, trainStep } from './train/step.js';
export { channelOrder, inputRange } from './util/input-options.js';
export { evaluate } from './eval/evaluate-model.js';
export type { EvaluateOptions, Evaluation, EvaluationData } from './eval/evaluate-model.js';
export { applyPolicy } from './mpq/apply.js';
