import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const run = promisify(execFile);
/** The folders `npm run check:layers` checks (with main.ts and node.ts). */
const FOLDERS = ['contract', 'core', 'domain', 'server', 'gateway', 'workers', 'client'];

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs the layer check on a tree (the same command `npm run lint` runs), returning what it finds. */
async function cruise(cwd: string, paths: string[]): Promise<Violation[]> {
  const { stdout } = await run(DEPCRUISE, ['--config', CONFIG, '--output-type', 'json', ...paths], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('the layer boundary', () => {
  const scratch: string[] = [];
  afterAll(async () => {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('holds for the tree as it is', async () => {
    const found = await cruise(ROOT, ['main.ts', 'node.ts', ...FOLDERS]);
    expect(found).toEqual([]);
  });

  it('fails on each kind of violation', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'unimal-layers-'));
    scratch.push(dir);
    const files: Record<string, string> = {
      'tsconfig.json': '{}',
      'contract/index.ts': "import '../core/config.ts';\nexport {};\n",
      'core/config.ts': "import '../domain/board/post-reads.ts';\nexport {};\n",
      'domain/users/queries.ts': 'export {};\n',
      'domain/users/index.ts': "export * from './queries.ts';\n",
      // Through the index is fine; straight to the queries is not.
      'domain/board/post-reads.ts':
        "import '../users/index.ts';\nimport '../users/queries.ts';\nimport '../../server/api.ts';\nexport {};\n",
      'server/api.ts': "import '../gateway/index.ts';\nexport {};\n",
      'gateway/index.ts': 'export {};\n',
      'workers/a.ts': "import './b.ts';\nexport {};\n",
      'workers/b.ts': "import './a.ts';\nexport {};\n",
      'client/app.ts': "import '../core/config.ts';\nexport {};\n",
    };
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    const found = await cruise(dir, FOLDERS);
    const seen = found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(seen).toEqual(
      [
        'client-sees-only-the-contract: client/app.ts → core/config.ts',
        'contract-imports-nothing: contract/index.ts → core/config.ts',
        'core-stays-down: core/config.ts → domain/board/post-reads.ts',
        'domain-below-roles: domain/board/post-reads.ts → server/api.ts',
        'domains-through-index: domain/board/post-reads.ts → domain/users/queries.ts',
        'no-circular: workers/a.ts → workers/b.ts',
        'roles-are-peers: server/api.ts → gateway/index.ts',
      ].sort(),
    );
  });
});
