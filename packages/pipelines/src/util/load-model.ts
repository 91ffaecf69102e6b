import { existsSync, readFileSync } from 'node:fs';
import { LowbitError, parseJsonText } from '@lowbit/core';
import { isReferenceModel, REFERENCE_MODELS } from '@lowbit/models';
import { loadReference } from '@lowbit/models/node';
import type { Network } from '@lowbit/nn';
import { loadNetwork, readNetworkJson } from '@lowbit/nn/node';
import { importModelArtifacts, importTfjsModel, packedHandler } from '@lowbit/tfjs-io';

/** What kind of model file a path holds, from its `format` field. */
export function modelFormat(path: string): 'lowbit-network' | 'layers-model' | 'graph-model' | 'lowbit-packed' | 'unknown' {
  try {
    const j = parseJsonText(readFileSync(path, 'utf8'), path) as { format?: string; modelTopology?: Record<string, unknown> };
    if (j.format === 'lowbit-network' || j.format === 'layers-model' || j.format === 'graph-model' || j.format === 'lowbit-packed') return j.format;
    if (j.modelTopology) return 'node' in j.modelTopology ? 'graph-model' : 'layers-model';
  } catch {
    // reported by the loader below with the file named
  }
  return 'unknown';
}

/**
 * The TF.js format a model traces back to: a TF.js model.json's own, or for a lowbit ptq output
 * the format of the model it quantized (its `sourceFormat` metadata); null for reference names
 * and lowbit's own networks.
 */
export function tfjsOrigin(arg: string): 'layers-model' | 'graph-model' | null {
  if (!existsSync(arg)) return null;
  const f = modelFormat(arg);
  if (f === 'layers-model' || f === 'graph-model') return f;
  if (f !== 'lowbit-network') return null;
  const s = readNetworkJson(arg).metadata?.['sourceFormat'];
  return s === 'layers-model' || s === 'graph-model' ? s : null;
}

/**
 * A reference model name (bundled checkpoint), a lowbit model.json, or a TF.js model.json
 * (LayersModel; imported into the IR).
 */
export function loadModelArg(arg: string, flag = '--model'): Network {
  if (isReferenceModel(arg)) return loadReference(arg);
  if (!existsSync(arg)) throw new LowbitError('E_MODEL', `${flag} '${arg}' is neither a reference model (${REFERENCE_MODELS.join(', ')}) nor an existing model.json file`);
  const f = modelFormat(arg);
  if (f === 'layers-model' || f === 'graph-model') return importTfjsModel(arg);
  if (f === 'lowbit-packed') throw new LowbitError('E_MODEL', `'${arg}' is a lowbit-packed export: it loads asynchronously (loadAnyModel)`);
  return loadNetwork(arg);
}

/** Like {@link loadModelArg}, and also reads lowbit-packed exports (their loader is asynchronous). `flag` names the option in errors. */
export async function loadAnyModel(arg: string, flag = '--model'): Promise<Network> {
  if (existsSync(arg) && modelFormat(arg) === 'lowbit-packed') return importModelArtifacts(await packedHandler(arg).load!(), arg);
  return loadModelArg(arg, flag);
}

/**
 * {@link loadModelArg} for commands that start from a float model (ptq, mpq train): a ptq output
 * is refused — its weights are already on their grids and its report says which float model it
 * came from — instead of being quantized again and reported as "fp32".
 */
export function loadFloatModelArg(arg: string, command: string): Network {
  if (!isReferenceModel(arg) && existsSync(arg) && modelFormat(arg) === 'lowbit-network') {
    const meta = readNetworkJson(arg).metadata;
    if (meta?.['quantization'] !== undefined) {
      const report = meta['report'] as { model?: unknown; method?: unknown; wBits?: unknown; aBits?: unknown } | undefined;
      const what = report ? ` (${String(report.method)} W${String(report.wBits)}A${String(report.aBits)})` : '';
      const from = typeof report?.model === 'string' ? `: give the float model it came from, --model ${report.model}` : '';
      throw new LowbitError('E_MODEL', `--model '${arg}' is already quantized by lowbit ptq${what}; ${command} starts from a float model${from}`);
    }
  }
  return loadModelArg(arg);
}
