/**
 * The import-direction rule, checked over the real import graph:
 *
 *   schemas ← runtime ← encoders ← supervisor ← actors ← app ← cli
 *
 * and inside runtime/: core ← media ← nats ← workers ← jobs. A file may import
 * from its own layer or one below, never above; code outside a runtime
 * module enters it only through its entry, `runtime/<module>/mod.ts`.
 * Tests and benchmarks may import anything. `npm run check:imports` prints
 * the violations and exits 1 if there are any.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const LAYERS = ['schemas', 'runtime', 'encoders', 'supervisor', 'actors', 'app', 'cli'] as const;
export const RUNTIME_MODULES = ['core', 'media', 'nats', 'workers', 'jobs'] as const;
const FREE = ['test', 'bench', '.scratch'];

export interface SourceFile {
  /** Repository-relative path with forward slashes, e.g. `runtime/nats/topology.ts`. */
  path: string;
  text: string;
}

export interface Violation {
  file: string;
  line: number;
  imports: string;
  rule: string;
}

function rank<T extends readonly string[]>(list: T, name: string | undefined): number {
  return name === undefined ? -1 : (list as readonly string[]).indexOf(name);
}

/** Relative import specifiers of a file (imports, re-exports and dynamic imports of string literals), with their lines. */
export function importsOf(f: SourceFile): { spec: string; line: number }[] {
  const sf = ts.createSourceFile(f.path, f.text, ts.ScriptTarget.Latest, true);
  const out: { spec: string; line: number }[] = [];
  const visit = (n: ts.Node): void => {
    let lit: ts.Expression | undefined;
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier) lit = n.moduleSpecifier;
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) lit = n.arguments[0];
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) lit = n.argument.literal;
    if (lit && ts.isStringLiteral(lit) && lit.text.startsWith('.')) out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Every violation of the rule in these files. */
export function checkImports(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const f of files) {
    const [top, sub] = f.path.split('/');
    if (FREE.includes(top!)) continue;
    const from = rank(LAYERS, top);
    for (const { spec, line } of importsOf(f)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec)).replace(/\.js$/, '.ts');
      const [ttop, tsub, tfile] = target.split('/');
      const to = rank(LAYERS, ttop);
      const v = (rule: string) => out.push({ file: f.path, line, imports: spec, rule });
      if (FREE.includes(ttop!)) {
        v(`production code imports ${ttop}/`);
        continue;
      }
      if (to < 0) continue; // a file at the top (package.json) or outside the layers
      if (from < 0) continue;
      if (to > from) {
        v(`${top}/ is below ${ttop}/ and must not import it (layers: ${LAYERS.join(' ← ')})`);
        continue;
      }
      if (ttop !== 'runtime') continue;
      const tm = rank(RUNTIME_MODULES, tsub);
      if (top === 'runtime') {
        const fm = rank(RUNTIME_MODULES, sub);
        if (tm > fm) v(`runtime/${sub}/ is below runtime/${tsub}/ and must not import it (runtime: ${RUNTIME_MODULES.join(' ← ')})`);
        else if (tsub !== sub && tfile !== 'mod.ts') v(`runtime/${tsub}/ is entered through runtime/${tsub}/mod.ts only`);
      } else if (tfile !== 'mod.ts') {
        v(`runtime/${tsub}/ is entered through runtime/${tsub}/mod.ts only`);
      }
    }
  }
  return out;
}

/** The repository's TypeScript files (not node_modules, not dot-folders). */
export function repoFiles(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push({ path: path.relative(root, p).split(path.sep).join('/'), text: fs.readFileSync(p, 'utf8') });
    }
  };
  walk(root);
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const vs = checkImports(repoFiles(root));
  for (const v of vs) console.log(`${v.file}:${v.line}: imports '${v.imports}': ${v.rule}`);
  console.log(vs.length ? `${vs.length} import(s) point the wrong way` : 'imports point one way');
  process.exit(vs.length ? 1 : 0);
}
