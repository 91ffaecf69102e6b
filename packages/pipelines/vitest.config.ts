import { lowbitVitestConfig } from '../../vitest.shared.ts';

export default lowbitVitestConfig('@lowbit/pipelines', { testTimeout: 180_000 });
