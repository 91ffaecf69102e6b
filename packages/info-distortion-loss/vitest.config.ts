import { lowbitVitestConfig } from '../../vitest.shared.ts';

export default lowbitVitestConfig('@lowbit/info-distortion-loss');
