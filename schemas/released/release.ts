// Records today's event and topic schemas as the released set (run at release time:
// `npm run schemas:release`). Refuses when today's schemas break the previous release: that needs
// a version bump with an upcaster first (schemas/released/compatibility.ts says what).
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  currentTopicSchemas,
  currentVersions,
  EVENTS_FILE,
  fromTopicSchemas,
  incompatibilities,
  RELEASED_DIR,
  readReleased,
  released,
  TOPICS_DIR,
} from './compatibility.js';

const topicSchemas = currentTopicSchemas();
const current = fromTopicSchemas(topicSchemas);
const previous = await readReleased();
const problems = incompatibilities(previous, current, currentVersions());
if (problems.length > 0) {
  process.stderr.write(`not released: today's schemas break the released ones:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
const history = JSON.parse(await readFile(EVENTS_FILE, 'utf8'));
await mkdir(TOPICS_DIR, { recursive: true });
const written = [fileURLToPath(EVENTS_FILE)];
await writeFile(EVENTS_FILE, `${JSON.stringify(released(history, current), null, 2)}\n`);
for (const [topic, schema] of Object.entries(topicSchemas)) {
  const file = new URL(`${topic}.schema.json`, TOPICS_DIR);
  await writeFile(file, `${JSON.stringify(schema, null, 2)}\n`);
  written.push(fileURLToPath(file));
}
execFileSync('npx', ['biome', 'format', '--write', ...written], { cwd: fileURLToPath(RELEASED_DIR), stdio: 'inherit' });
process.stdout.write(`released ${written.length} schema files under ${fileURLToPath(RELEASED_DIR)}\n`);
