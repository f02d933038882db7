// Checks the import rules in .dependency-cruiser.cjs (the layer table of docs/DESIGN.md, cycles
// included) through dependency-cruiser's API: its CLI refuses Node 20, which this project runs on.
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const require = createRequire(import.meta.url);
const config = require('../.dependency-cruiser.cjs');
const globs = ['schemas', 'domain', 'commands', 'projections', 'inference', 'api', 'infra', 'cli'].map(
  (folder) => `${folder}/**/*.{ts,mjs}`,
);
const { options, ...ruleSet } = config;
const result = await cruise(
  globs,
  { ...options, ruleSet, validate: true, outputType: 'err' },
  { extensions: ['.ts', '.mjs', '.js', '.json'] },
  { tsConfig: extractTSConfig(options.tsConfig.fileName) },
);
process.stdout.write(typeof result.output === 'string' ? result.output : JSON.stringify(result.output));
process.exitCode = result.exitCode === 0 ? 0 : 1;
