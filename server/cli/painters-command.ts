/**
 * `stylize painters` — the learned painters kept in the data directory (one per style and
 * settings, issue 12): list them, clear them (they are learnt again when next needed), or train
 * one for a style now, so that the next live stream in that style paints with it from its first frame.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, MODEL_NAMES, readEnv } from '../config.js';
import { createPainterCache, type PainterCache, type PainterListing } from '../painter/painter-cache.js';
import { DEFAULT_DATA_DIR, SHIPPED_PAINTERS_DIR } from '../paths.js';
import { numberOption } from './parse.js';
import { trainPainterForStyle, type TrainFlags } from './painters-train.js';
import { STYLE_ARG_HELP } from './style-arg.js';
import { asDefaultSubcommand } from './subcommands.js';

function cache(): PainterCache {
  return createPainterCache(path.join(readEnv().dataDir ?? DEFAULT_DATA_DIR, 'painters'));
}

export function paintersCommand(): Command {
  const painters = new Command('painters').description('list, clear or train the learned painters (live streams and video jobs with painter learned)');
  const list = painters
    .command('list', { isDefault: true })
    .description('show the kept painters (and those shipped for the built-in paintings): style, training steps, frames seen, last loss, size')
    .action(async () => {
      const c = cache();
      const all = await c.list();
      const write = (p: PainterListing): void => {
        const what = p.meta
          ? `${p.meta.style}, α ${p.meta.contentWeight} β ${p.meta.styleWeight}: ${p.meta.steps} training steps, ${p.meta.framesSeen} frames seen${p.meta.loss !== undefined ? `, loss ${p.meta.loss.toExponential(2)}` : ''}`
          : `unusable (${p.problem}); it is replaced the next time its style is painted`;
        process.stdout.write(`${p.key}  ${(p.bytes / 1024).toFixed(0)} KB  ${p.modified.toISOString()}  ${what}\n`);
      };
      for (const p of all) write(p);
      process.stdout.write(all.length === 0 ? `no learned painters in ${c.dir}\n` : `${all.length} painter(s) in ${c.dir}\n`);
      // Read-only: used when the data directory has none for a key (a stream that trains one keeps its copy above).
      const shipped = await createPainterCache(SHIPPED_PAINTERS_DIR).list();
      for (const p of shipped) write(p);
      if (shipped.length > 0) process.stdout.write(`${shipped.length} shipped painter(s) in ${SHIPPED_PAINTERS_DIR} (read-only)\n`);
    });
  asDefaultSubcommand(list, painters);
  painters
    .command('clear')
    .description('delete every kept painter (each is learnt again the next time its style is painted)')
    .action(async () => {
      const c = cache();
      const n = await c.clear();
      process.stdout.write(`${n} painter(s) deleted from ${c.dir}\n`);
    });
  painters
    .command('train')
    .description('teach a live painter a style now, on frames of short clips (those shipped in models/painter-training by default): the next live stream in that style, with the same weights, paints with it from its first frame')
    .requiredOption('--style <style>', `${STYLE_ARG_HELP} (a file is kept with the uploaded styles, as the page's upload of it would be)`)
    .addOption(new Option('--kind <kind>', "which painter: 'gram' (the learned mode's, taught the optimiser's objective) or 'stroke' (the keyframes mode's, taught to copy keyframes the optimiser paints)").choices(['gram', 'stroke']).default('gram'))
    .option('--keyframes <n>', 'stroke: keyframes the optimiser paints, spread over the frames', numberOption)
    .option('--keyframe-steps <n>', 'stroke: optimiser steps for each keyframe', numberOption)
    .option('--steps <n>', 'training steps (a kept painter goes on from where it was)', numberOption, 150)
    .option('--up-to <n>', 'train only until the painter has this many steps in all (none if it has them)', numberOption)
    .option('--fresh', 'start from a fresh painter, not the kept one or the one shipped for a built-in painting')
    .option('--clip <files>', 'comma-separated video files to learn from (default: the frames in models/painter-training, from a cockatoo clip and Big Buck Bunny)')
    .option('--size <px>', 'short side of the live stream it is for', numberOption)
    .option('--styles-dir <dir>', 'extra style images, as for serve')
    .option('--model <name>', `feature network: ${MODEL_NAMES.join(', ')}`)
    .option('--backend <name>', `tfjs backend: ${BACKEND_NAMES.join(', ')}`)
    .action(async (flags: TrainFlags) => {
      await trainPainterForStyle(flags);
    });
  return painters;
}
