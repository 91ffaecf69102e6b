import { LowbitError } from '@lowbit/core';
import { type ChannelOrder, IMAGE_FITS, type ImageFit, type Preprocess } from '@lowbit/data';

/** `--input-range lo,hi`: bytes 0..255 map linearly to [lo, hi] (default 0,1). */
export function inputRange(arg: string, channels: number): Preprocess {
  const parts = arg.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || parts[1]! <= parts[0]!) {
    throw new LowbitError('E_ARG', `--input-range must be 'lo,hi' with lo < hi (e.g. 0,1 or -1,1 or 0,255), got '${arg}'`);
  }
  const [lo, hi] = parts as [number, number];
  if (lo === 0 && hi === 1) return { kind: 'unit' };
  // (b/255 − mean)/std = lo + (hi − lo)·b/255  ⇔  std = 1/(hi − lo), mean = −lo/(hi − lo)
  const std = 1 / (hi - lo);
  const mean = -lo / (hi - lo);
  return { kind: 'meanStd', mean: new Array(channels).fill(mean), std: new Array(channels).fill(std) };
}

/** `--channel-order rgb|bgr`: the order of the colour channels the model expects (image folders only). */
export function channelOrder(arg: string): ChannelOrder {
  if (arg !== 'rgb' && arg !== 'bgr') throw new LowbitError('E_ARG', `--channel-order must be rgb or bgr, got '${arg}'`);
  return arg;
}

/** `--fit stretch|crop`: how images meet the model's input size (image folders only). */
export function imageFit(arg: string): ImageFit {
  if (!IMAGE_FITS.includes(arg as ImageFit)) throw new LowbitError('E_ARG', `--fit must be stretch or crop, got '${arg}'`);
  return arg as ImageFit;
}

/** How image folders are read for a model: channel order and fit (defaults rgb, stretch). A bare order is accepted too. */
export type ImageReading = ChannelOrder | { channelOrder?: ChannelOrder; fit?: ImageFit };

export function imageReading(r: ImageReading | undefined): { channelOrder: ChannelOrder; fit: ImageFit } {
  if (r === undefined || typeof r === 'string') return { channelOrder: r ?? 'rgb', fit: 'stretch' };
  return { channelOrder: r.channelOrder ?? 'rgb', fit: r.fit ?? 'stretch' };
}
