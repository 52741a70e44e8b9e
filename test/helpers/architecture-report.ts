/**
 * `npm run check:architecture`: the architecture test's findings as a report — the longest
 * functions in server/, tfjs imports outside the engine, the engine's imports from outside it,
 * import cycles — and lines per folder. Exits 1 when a rule of test/unit/architecture.test.ts breaks.
 */
import { findCycles, isTfjs, readModules } from './code-graph.js';
import { ROOT } from './paths.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const LIMIT = 150;
const modules = readModules(ROOT, ['server']);
const all = [...modules.values()];
const functions = all.flatMap((m) => m.functions.map((f) => ({ where: `${m.file}:${f.line}`, ...f }))).sort((a, b) => b.lines - a.lines);
const tfjsOutside = all.flatMap((m) => (m.file.startsWith('server/engine/') ? [] : m.imports.filter((e) => isTfjs(e.specifier)).map((e) => `${m.file}:${e.line}`)));
const engineLeaks = all.flatMap((m) => (m.file.startsWith('server/engine/') ? m.imports.filter((e) => e.target && !e.target.startsWith('server/engine/')).map((e) => `${m.file}:${e.line} → ${e.target}`) : []));
const cycles = findCycles(modules);

const folders = new Map<string, { files: number; lines: number }>();
for (const m of all) {
  const folder = path.posix.dirname(m.file);
  const entry = folders.get(folder) ?? { files: 0, lines: 0 };
  entry.files += 1;
  entry.lines += readFileSync(path.join(ROOT, m.file), 'utf8').split('\n').length;
  folders.set(folder, entry);
}

console.log('lines per folder (files):');
for (const [folder, { files, lines }] of [...folders].sort()) console.log(`  ${folder.padEnd(34)} ${String(lines).padStart(6)} (${files})`);
console.log(`\nfunctions over 80 lines (limit ${LIMIT}):`);
for (const f of functions.filter((f) => f.lines > 80)) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.where}`);
console.log(`\ntfjs imported outside server/engine/: ${tfjsOutside.length ? tfjsOutside.join(', ') : 'none'}`);
console.log(`engine imports from outside server/engine/: ${engineLeaks.length ? '\n  ' + engineLeaks.join('\n  ') : 'none'}`);
console.log(`import cycles: ${cycles.length ? cycles.map((c) => c.join(' → ')).join('; ') : 'none'}`);
const broken = functions.some((f) => f.lines > LIMIT) || tfjsOutside.length > 0 || engineLeaks.length > 0 || cycles.length > 0;
process.exitCode = broken ? 1 : 0;
