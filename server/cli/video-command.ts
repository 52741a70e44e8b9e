/**
 * `stylize video <input> --style <img> -o out.mp4`: the same durable job machinery as the
 * server (chunks in parallel worker processes, audio kept), run once with a progress bar.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, DEFAULTS, LIMITS, MODEL_NAMES, MOTION_MODES, OPTIMIZER_NAMES, PAINTER_MODES, parseVideoJobOptions, readEnv, schemaDefaults, type EnvSettings, videoJobOptionsSchema, type ParsedVideoJobOptions } from '../config.js';
import { decodeImage } from '../codec/image-codec.js';
import type { RgbImage } from '../engine/image.js';
import { BadInputError } from '../errors.js';
import { createLogger } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR } from '../paths.js';
import { DEFAULT_VIDEO_LIMITS, probeVideo } from '../video/ffmpeg.js';
import { progressOf, type JobQueue } from '../jobs/job-queue.js';
import type { Job } from '../jobs/job-store.js';
import { createLocalJobQueue } from '../jobs/local/local-job-queue.js';
import { addFlags, readFlags, type FlagSpec } from './flag-table.js';
import { checkOutputLocation } from './output-file.js';
import { numberOption } from './parse.js';
import { createProgress } from './progress.js';
import { STYLE_ARG_HELP, cliStyleLibrary, resolveStyle } from './style-arg.js';

/** The job's own options (the same fields as POST /api/jobs), one row each; defaults from config.ts. */
export const VIDEO_JOB_FLAGS: readonly FlagSpec<keyof ParsedVideoJobOptions>[] = [
  { key: 'size', flag: '--size <px>', help: 'short side the frames are stylized at', kind: 'number' },
  { key: 'stepsPerFrame', flag: '--steps-per-frame <n>', help: 'Adam steps per frame', kind: 'number' },
  { key: 'firstFrameSteps', flag: '--first-frame-steps <n>', help: 'steps on the first frame and after scene cuts', kind: 'number' },
  { key: 'styleStrength', flag: '--style-strength <0-1>', help: 'how much of the style: 0 keeps the video, 1 paints it over (log scale)', kind: 'number' },
  { key: 'optimizer', flag: '--optimizer <recipe>', help: "how frames are painted; adam-pixels: the seed's recipe (Adam on raw pixels from the photo, α 10, β 40)", choices: OPTIMIZER_NAMES },
  { key: 'contentWeight', flag: '--content-weight <alpha>', help: 'α (overrides --style-strength)', kind: 'number' },
  { key: 'styleWeight', flag: '--style-weight <beta>', help: 'β (overrides --style-strength)', kind: 'number' },
  { key: 'preserveColors', flag: '--preserve-colors', help: "keep the video's colours", kind: 'switch' },
  {
    key: 'motion',
    flag: '--motion <mode>',
    help: 'how warm starts follow the video: along the optical flow (flow), by the content change only (residual, cheaper), or not (none)',
    choices: MOTION_MODES,
  },
  {
    key: 'painter',
    flag: '--painter <mode>',
    help: "learned: a small feed-forward painter learnt for the style on the video's own frames (kept in the data directory for the next video with that style) paints each frame, then --steps-per-frame steps refine it; off: the optimiser alone",
    choices: PAINTER_MODES,
  },
  { key: 'temporalWeight', flag: '--temporal-weight <w>', help: 'temporal loss weight', kind: 'number', notes: ['Ruder et al.', '0 = off'] },
];

interface VideoFlags {
  style: string;
  output: string;
  model: string;
  weights?: string;
  backend?: string;
  workers?: number;
}

export function videoCommand(): Command {
  const command = new Command('video')
    .description('stylize a video file: every frame, warm-started from the last, audio kept (H.264 MP4 out)')
    .argument('<input>', 'video file (MP4/MOV, WebM/MKV, AVI, MPEG-TS, Ogg)')
    .requiredOption('-s, --style <style>', STYLE_ARG_HELP)
    .option('-o, --output <file>', 'output MP4', 'stylized.mp4');
  return addFlags(command, VIDEO_JOB_FLAGS, schemaDefaults(videoJobOptionsSchema))
    .addOption(new Option('--model <name>', 'feature network').choices([...MODEL_NAMES]).default(DEFAULTS.model))
    .option('--weights <dir|h5>', 'VGG19 weights')
    .addOption(new Option('--backend <name>', 'force a tfjs backend').choices([...BACKEND_NAMES]))
    .option('--workers <n>', 'parallel worker processes (default: one per core)', numberOption)
    .action((input: string, flags: VideoFlags & Record<string, unknown>) => runVideo(input, flags));
}

/** Everything that can be refused is refused before any copy, worker or painting. */
async function runVideo(input: string, flags: VideoFlags & Record<string, unknown>): Promise<void> {
  const env = readEnv();
  const options = parseVideoJobOptions(readFlags(flags, VIDEO_JOB_FLAGS));
  const workers = flags.workers ?? os.availableParallelism();
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new BadInputError('--workers must be 1–64');
  const output = flags.output;
  if (path.extname(output).toLowerCase() !== '.mp4') throw new BadInputError(`cannot write ${output}: stylize video writes MP4; end the name in .mp4`);
  await checkOutputLocation(output);
  // Probed here too (the runner probes its copy) so that messages name the user's file.
  await probeVideo(input, DEFAULT_VIDEO_LIMITS, input);
  const style = await jobStyle(flags.style);
  await paintVideo({ input, output, style, options, env, workers, flags });
}

/**
 * The style as POST /api/jobs takes it: a file decoded here; a style id with the library's own
 * bytes, so the job's learned painter is the one the server keeps for that style.
 */
async function jobStyle(value: string): Promise<VideoRun['style']> {
  const library = cliStyleLibrary();
  const style = await resolveStyle(value, library);
  if ('file' in style) {
    const image = await decodeImage(style.file, { longSide: 1024, minShortSide: LIMITS.minSize, label: `style image ${style.file}` });
    return { image, name: path.basename(style.file) };
  }
  const [image, { bytes }] = await Promise.all([library.decoded(style.id, 1024, LIMITS.minSize), library.image(style.id)]);
  return { image, name: style.id, bytes };
}

interface VideoRun {
  input: string;
  output: string;
  style: { image: RgbImage; name: string; bytes?: Uint8Array };
  options: ParsedVideoJobOptions;
  env: EnvSettings;
  workers: number;
  flags: VideoFlags;
}

/**
 * The job, in a temporary data folder of its own. Ctrl-C (or a kill) ends the wait, so the
 * finally block stops the workers and removes the folder, which holds a copy of the input.
 */
async function paintVideo(run: VideoRun): Promise<void> {
  const { env } = run;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-video-'));
  let runner: JobQueue | undefined;
  let interrupt: (signal: NodeJS.Signals) => void = () => undefined;
  const interrupted = new Promise<never>((_, reject) => {
    interrupt = (signal) => reject(new Error(`interrupted (${signal})`));
  });
  interrupted.catch(() => undefined);
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    const staged = path.join(dataDir, 'upload');
    await copyFile(run.input, staged).catch(() => {
      throw new BadInputError(`cannot read ${run.input}`);
    });
    runner = createLocalJobQueue({
      dataDir,
      workers: run.workers,
      limits: DEFAULT_VIDEO_LIMITS,
      model: run.flags.model as never,
      weights: run.flags.weights,
      modelsDir: env.modelsDir ?? DEFAULT_MODELS_DIR,
      seed: DEFAULTS.seed,
      backend: (run.flags.backend as never) ?? env.backend,
      log: createLogger('warn'),
      // Learned painters outlive this run's temporary folder: the next video in the style starts with one.
      paintersDir: path.join(env.dataDir ?? DEFAULT_DATA_DIR, 'painters'),
    });
    const { style } = run;
    const job = await runner.submit({
      inputPath: staged,
      inputName: path.basename(run.input),
      style: async () => style.image,
      ...(style.bytes ? { styleBytes: async () => style.bytes! } : {}),
      styleName: style.name,
      options: run.options,
    });
    await finishJob(runner, job, run, interrupted);
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    await runner?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Follows the job to its end with a progress bar, then copies the MP4 out and prints the summary. */
async function finishJob(runner: JobQueue, job: Job, run: VideoRun, interrupted: Promise<never>): Promise<void> {
  const info = job.info!;
  process.stderr.write(
    `${path.basename(run.input)}: ${info.width}×${info.height}, ${info.frames} frames at ${info.fps.toFixed(2)} fps, ` +
      `${info.audio ? `audio ${info.audio.codec}` : 'no audio'}; ${job.chunks!.length} chunks on ${run.workers} worker(s)\n`,
  );
  const started = performance.now();
  const final = await Promise.race([interrupted, followJob(runner, job, started)]);
  if (final.status !== 'done') throw new Error(`video job ${final.status}: ${final.error ?? ''}`);
  const painted = await runner.output(job.id);
  if (!painted || !('path' in painted)) throw new Error('the painted video is missing');
  await copyFile(painted.path, run.output);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`done: ${run.output} (${seconds.toFixed(1)} s)\n`);
  process.stdout.write(
    `${JSON.stringify({ output: run.output, frames: final.framesTotal, seconds: Math.round(seconds * 10) / 10, fps: Math.round((final.framesTotal / seconds) * 10) / 10, progress: progressOf(final) })}\n`,
  );
}

/** What the job is doing before it paints frames, in words; undefined once it does. */
function stageWords(job: Job): string | undefined {
  if (job.status === 'queued') return 'waiting for a worker';
  if (job.stage === 'learning-painter' && job.learning) return `teaching the painter: step ${job.learning.step}/${job.learning.steps}`;
  if (job.stage === 'starting') return 'starting the workers';
  if (job.stage === 'decoding') return 'reading the video';
  if (job.stage === 'painting-first-frame') return 'painting the first frame';
  return undefined;
}

/**
 * The progress bar until the job ends. The runner reports every frame painted while still
 * 'running', then puts the MP4 together: that last step gets its own line instead of a frozen
 * progress line.
 */
async function followJob(runner: JobQueue, job: Job, started: number): Promise<Job> {
  const progress = createProgress('frames', job.framesTotal);
  let assembling = false;
  let last: Job = job;
  try {
    for await (const update of runner.watch(job.id)) {
      last = update;
      if (!assembling) {
        // Before the first frame (workers starting, decoding, a painter taught, a cold first frame)
        // say what is going on instead of "0.0 fps"; the ETA is the job's, from its chunks' timings.
        const stage = stageWords(update);
        const doing = stage ?? `${(update.framesDone / ((performance.now() - started) / 1000)).toFixed(1)} fps`;
        // A new stage prints a line even off a terminal (its key, not its words: those count steps).
        progress.update(update.framesDone, doing, { etaS: update.etaS, stage: stage ? (update.stage ?? update.status) : undefined });
      }
      if (!assembling && update.status === 'running' && (update.stage === 'assembling' || update.framesDone >= update.framesTotal)) {
        assembling = true;
        progress.stop();
        process.stderr.write(`assembling MP4 ${job.info?.audio ? 'with audio' : '(no audio)'}…\n`);
      }
    }
  } finally {
    progress.stop();
  }
  return last;
}
