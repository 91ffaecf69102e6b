import { lowbitVitestConfig } from '../../vitest.shared.ts';

export default lowbitVitestConfig('@lowbit/web', { testTimeout: 300_000 });
