/** Dependencies point one way: the real tree passes, and a deliberate wrong import of each kind is caught. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports, repoFiles } from './architecture/imports.js';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('import direction', () => {
  it('the tree has no import that points the wrong way', () => {
    const files = repoFiles(ROOT);
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.path === 'runtime/workers/host.ts')).toBe(true);
    expect(checkImports(files)).toEqual([]);
  });

  it('catches the runtime importing a service or the supervisor', () => {
    const vs = checkImports([
      { path: 'runtime/workers/host.ts', text: "import { publishDeadLetter } from '../../supervisor/dead-letters.js';\n" },
      { path: 'runtime/jobs/node.ts', text: "import { ALL_SERVICES } from '../../app/services.js';\nimport type { X } from '../../actors/ves/service.js';\n" },
    ]);
    expect(vs.map((v) => [v.file, v.line, v.imports])).toEqual([
      ['runtime/workers/host.ts', 1, '../../supervisor/dead-letters.js'],
      ['runtime/jobs/node.ts', 1, '../../app/services.js'],
      ['runtime/jobs/node.ts', 2, '../../actors/ves/service.js'],
    ]);
    expect(vs[0]!.rule).toMatch(/runtime\/ is below supervisor\//);
  });

  it('catches a lower runtime module importing a higher one, and deep imports past a module entry', () => {
    const vs = checkImports([
      { path: 'runtime/nats/topology.ts', text: "import { JobStore } from '../jobs/store.js';\n" },
      { path: 'actors/ves/steps.ts', text: "import { WorkWorker } from '../../runtime/workers/host.js';\nimport { WorkWorker as W } from '../../runtime/workers/mod.js';\n" },
      { path: 'supervisor/x.ts', text: "const m = await import('../actors/ves/service.js');\n" },
      { path: 'encoders/x.ts', text: "export { a } from '../test/helpers/media.js';\n" },
    ]);
    expect(vs.map((v) => `${v.file}:${v.line}`)).toEqual(['runtime/nats/topology.ts:1', 'actors/ves/steps.ts:1', 'supervisor/x.ts:1', 'encoders/x.ts:1']);
    expect(vs[0]!.rule).toMatch(/runtime\/nats\/ is below runtime\/jobs\//);
    expect(vs[1]!.rule).toMatch(/through runtime\/workers\/mod\.ts only/);
  });

  it('lets tests and benchmarks import anything', () => {
    expect(checkImports([{ path: 'test/x.test.ts', text: "import { WorkWorker } from '../runtime/workers/host.js';\n" }, { path: 'bench/x.ts', text: "import '../app/node.js';\n" }])).toEqual([]);
  });
});
