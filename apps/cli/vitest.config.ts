import { lowbitVitestConfig } from '../../vitest.shared.ts';

// the CLI tests spawn \`lowbit\` processes and wait on them: two files run at once
export default lowbitVitestConfig('@lowbit/cli', { fileParallelism: true });
