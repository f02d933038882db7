#!/usr/bin/env node
// Launcher: registers tsx (resolved from this package, whatever the cwd) and runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
