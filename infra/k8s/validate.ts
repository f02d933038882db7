import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/** `kubectl kustomize` of a folder under infra/k8s (kubectl ships kustomize; no cluster is contacted). */
export async function renderKustomization(folder: string): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', `${HERE}${folder}`], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize output is not YAML: ${doc.errors[0]!.message}`);
    return doc.toJSON() as Manifest;
  });
}

/** `apps/v1` → `apps/v1`, `v1` (the core group) → `v1`: the module path of kubernetes-models. */
function modelPath({ apiVersion, kind }: Pick<Manifest, 'apiVersion' | 'kind'>): string {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) throw new Error(`bad apiVersion '${apiVersion}'`);
  if (!/^[A-Z][A-Za-z]+$/.test(kind)) throw new Error(`bad kind '${kind}'`);
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface Model {
  validate(): void;
}

/**
 * Checks one object against the Kubernetes OpenAPI schema of its apiVersion and kind (the schemas
 * kubernetes-models compiles from the Kubernetes API, offline): types, required fields, enums,
 * formats. Returns the problems, empty when valid; an apiVersion/kind the schemas do not know is one.
 */
export async function schemaProblems(manifest: Manifest): Promise<string[]> {
  const where = `${manifest.kind ?? '?'}/${manifest.metadata?.name ?? '?'}`;
  let Kind: new (data: unknown) => Model;
  try {
    const path = modelPath(manifest);
    Kind = ((await import(path)) as Record<string, new (data: unknown) => Model>)[manifest.kind]!;
    if (typeof Kind !== 'function') throw new Error(`${path} has no ${manifest.kind}`);
  } catch (error) {
    return [`${where}: unknown apiVersion/kind ${manifest.apiVersion} ${manifest.kind} (${(error as Error).message})`];
  }
  try {
    new Kind(manifest).validate();
    return [];
  } catch (error) {
    return [`${where}: ${(error as Error).message}`];
  }
}

/**
 * Unknown fields (a misspelt `periodSecond`, a field at the wrong level), which the schemas above
 * let through like `kubeconform` without `-strict`: every object is type-checked as an object
 * literal against the TypeScript interface of its kind (kubernetes-models generates both from the
 * same OpenAPI), and TypeScript refuses properties the interface does not have. One `tsc` run for
 * all; returns the problems, naming each object.
 */
export async function unknownFieldProblems(manifests: readonly Manifest[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'chitti-k8s-'));
  try {
    const imports = new Set<string>();
    const lines = manifests.map((manifest, i) => {
      const path = modelPath(manifest);
      imports.add(`import type { I${manifest.kind} } from '${path}';`);
      return `export const m${i}: I${manifest.kind} = ${JSON.stringify(manifest)};`;
    });
    const header = [...imports];
    await writeFile(join(dir, 'manifests.ts'), [...header, ...lines, ''].join('\n'));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          skipLibCheck: true,
          types: [],
          paths: { 'kubernetes-models/*': [join(REPO, 'node_modules/kubernetes-models/*')] },
        },
        files: ['manifests.ts'],
      }),
    );
    try {
      await run(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], {
        maxBuffer: 16 * 1024 * 1024,
      });
      return [];
    } catch (error) {
      const output = String((error as { stdout?: string }).stdout ?? '') || String(error);
      const problems = [...output.matchAll(/manifests\.ts\((\d+),\d+\): error (TS\d+: .*)/g)].map((match) => {
        const manifest = manifests[Number(match[1]) - 1 - header.length];
        return `${manifest ? `${manifest.kind}/${manifest.metadata?.name}` : 'manifests'}: ${match[2]}`;
      });
      return problems.length > 0 ? problems : [`tsc failed: ${output.slice(0, 2000)}`];
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `node --import tsx infra/k8s/validate.ts [folder...]`: renders and validates, exit 1 on a problem. */
async function main(folders: string[]): Promise<number> {
  let failed = false;
  for (const folder of folders.length > 0 ? folders : ['base', 'overlays/production']) {
    const manifests = await renderKustomization(folder);
    const problems = [
      ...(await Promise.all(manifests.map(schemaProblems))).flat(),
      ...(await unknownFieldProblems(manifests)),
    ];
    for (const problem of problems) process.stderr.write(`${folder}: ${problem}\n`);
    failed ||= problems.length > 0;
    process.stdout.write(`${folder}: ${manifests.length} objects, ${problems.length} problems\n`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
