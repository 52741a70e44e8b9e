/**
 * `stylize painters` — the learned painters kept in the data directory (one per style and
 * settings, issue 12): list them, or clear them (they are learnt again when next needed).
 */
import path from 'node:path';
import { Command } from 'commander';
import { readEnv } from '../config.js';
import { createPainterCache, type PainterCache } from '../engine/painter-net/painter-cache.js';
import { DEFAULT_DATA_DIR } from '../paths.js';

function cache(): PainterCache {
  return createPainterCache(path.join(readEnv().dataDir ?? DEFAULT_DATA_DIR, 'painters'));
}

export function paintersCommand(): Command {
  const painters = new Command('painters').description('list or clear the learned painters (video jobs with --painter learned)');
  painters
    .command('list', { isDefault: true })
    .description('show the kept painters: style, training steps, frames seen, last loss, size')
    .action(async () => {
      const c = cache();
      const all = await c.list();
      if (all.length === 0) {
        process.stdout.write(`no learned painters in ${c.dir}\n`);
        return;
      }
      for (const p of all) {
        const what = p.meta
          ? `${p.meta.style}, α ${p.meta.contentWeight} β ${p.meta.styleWeight}: ${p.meta.steps} training steps, ${p.meta.framesSeen} frames seen${p.meta.loss !== undefined ? `, loss ${p.meta.loss.toExponential(2)}` : ''}`
          : `unusable (${p.problem}); it is replaced the next time its style is painted`;
        process.stdout.write(`${p.key}  ${(p.bytes / 1024).toFixed(0)} KB  ${p.modified.toISOString()}  ${what}\n`);
      }
      process.stdout.write(`${all.length} painter(s) in ${c.dir}\n`);
    });
  painters
    .command('clear')
    .description('delete every kept painter (each is learnt again the next time its style is painted)')
    .action(async () => {
      const c = cache();
      const n = await c.clear();
      process.stdout.write(`${n} painter(s) deleted from ${c.dir}\n`);
    });
  return painters;
}
