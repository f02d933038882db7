/**
 * Writes the OpenAPI document of the routes `createApp` mounts, without a database or a server:
 * `node --import tsx api/openapi/write.ts [file]` (stdout without a file). `npm run lint:openapi`
 * lints what this writes, so CI checks the document clients are generated from.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../app.js';
import type { ApiDependencies } from '../dependencies.js';

// Routes are data: building them passes the dependencies around but never calls them.
const unused = (path: string): unknown =>
  new Proxy(() => undefined, {
    get: (_target, name) => (name === 'then' ? undefined : unused(`${path}.${String(name)}`)),
    apply: () => {
      throw new Error(`building the OpenAPI document called ${path}`);
    },
  });
const noDependencies = unused('deps') as ApiDependencies;
// A signing key is required to assemble the token routes; nothing is signed, so a throwaway one does.
const document = openApiDocument(noDependencies, {
  jwtKeys: [{ kid: 'openapi', secret: randomBytes(32).toString('hex') }],
});
const text = `${JSON.stringify(document, null, 2)}\n`;
const file = process.argv[2];
if (file) writeFileSync(file, text);
else process.stdout.write(text);
