import { lowbitVitestConfig } from '../../vitest.shared.ts';

export default lowbitVitestConfig('@lowbit/bitwidth-scheduler');
