import { LowbitError } from '@lowbit/core';

/** A setting a resume must repeat, and how a user sets it (a CLI flag, or the config field's name). */
export type ResumeSetting<C> = readonly [keyof C & string, string];

const settingText = (v: unknown): string => (v === false || v === undefined ? 'off' : v === true ? 'on' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * Refuses a resume whose settings differ from the checkpoint's: the run continues with the
 * checkpoint's settings, so a value given differently would otherwise be ignored without a word.
 * Absent and `false` both read as off (options newer than the checkpoint).
 */
export function checkResumeSettings<C extends object>(saved: C, now: C, settings: ReadonlyArray<ResumeSetting<C>>, where: string): void {
  for (const [key, name] of settings) {
    const was = settingText(saved[key]);
    const is = settingText(now[key]);
    if (was !== is) throw new LowbitError('E_RESUME', `${name} is ${is} here but ${was} in the checkpoint (${where}); resume with the same settings`);
  }
}
