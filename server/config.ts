/**
 * The one defaults table and the one validator. The CLI, environment variables and (later) the
 * HTTP API all feed partial option objects through `parseStylizeOptions`, so a default or a
 * limit is written exactly once. This is also the only module that reads `process.env`.
 */
import { z } from 'zod';
import { BACKEND_NAMES, ENGINE_DEFAULTS, MODEL_NAMES, MOTION_MODES, OPTIMIZER_NAMES, type BackendName, type ModelChoice, type MotionMode, type OptimizerName } from './engine/engine-options.js';
import { costWeightsForStrength } from './engine/style-strength.js';
import { ConfigError } from './errors.js';

export { BACKEND_NAMES, MODEL_NAMES, MOTION_MODES, OPTIMIZER_NAMES, type BackendName, type ModelChoice, type MotionMode, type OptimizerName };

/**
 * α and β for a painting, one rule everywhere (CLI, jobs API, live streams, painters):
 * weights given explicitly win (the one not given is the seed's); the seed's recipe
 * (`optimizer: 'adam-pixels'`) keeps the seed's α = 10, β = 40; otherwise the style strength's.
 */
export function resolveCostWeights(o: { optimizer: OptimizerName; styleStrength: number; contentWeight?: number | undefined; styleWeight?: number | undefined }): { contentWeight: number; styleWeight: number } {
  if (o.contentWeight !== undefined || o.styleWeight !== undefined) {
    return { contentWeight: o.contentWeight ?? ENGINE_DEFAULTS.contentWeight, styleWeight: o.styleWeight ?? ENGINE_DEFAULTS.styleWeight };
  }
  if (o.optimizer === 'adam-pixels') return { contentWeight: ENGINE_DEFAULTS.contentWeight, styleWeight: ENGINE_DEFAULTS.styleWeight };
  return costWeightsForStrength(o.styleStrength);
}

/**
 * How much of the style's colours a cold start takes (StylizerSettings.startColours): the style
 * strength when the weights come from it (strength 0 keeps the photo from the first step), all of
 * them when α or β are given.
 */
export function resolveStartColours(o: { styleStrength: number; contentWeight?: number | undefined; styleWeight?: number | undefined }): number {
  return o.contentWeight !== undefined || o.styleWeight !== undefined ? 1 : o.styleStrength;
}

/** `stylize image` and the engine: the engine's own defaults (engine-options.ts) plus the CLI's. */
export const DEFAULTS = {
  ...ENGINE_DEFAULTS,
  size: 256,
  steps: 200,
  init: 'content' as string,
  model: 'auto' as ModelChoice,
} as const;

/** α and β of a painting made with the defaults (a stream, a job, a painter for them). */
export const DEFAULT_COST_WEIGHTS = costWeightsForStrength(DEFAULTS.styleStrength);

/** Live streams and the server (the same table feeds `stylize serve` flags, env and the protocol). */
export const SERVER_DEFAULTS = {
  port: 8080,
  /**
   * Loopback only: a quick start must not put the camera page, uploads and jobs on the local
   * network. `--host 0.0.0.0` (or STYLIZE_HOST) shares it there; the Dockerfile and compose.yaml
   * say so, since a container's loopback is reachable from nowhere.
   */
  host: '127.0.0.1',
  /** Size of a live stream: the short side, in pixels (256×144 for 16:9). */
  liveSize: 144,
  /** Adam steps per live frame; in deadline mode, at most this many. */
  liveSteps: 4,
  /**
   * Deadline mode by default: steps and working size are chosen to keep this rate (0 = off: every
   * frame gets liveSteps steps at liveSize, however long that takes).
   */
  targetFps: 10,
  /**
   * The floor of the working size (short side, px): deadline mode paints no smaller (fewer fps
   * instead). Below it, on the shipped VGG19, the painting is a blurred photo with blobs (bench
   * upsample: at 54 px short side the style the judge finds is 55–73 % of a full-size painting's,
   * at 96 px 90–94 %).
   */
  minWorkingSize: 96,
  /**
   * Live streams' learned painter (issue 12; live/stream-process/live-painter.ts): 'learned' teaches a
   * feed-forward painter the style on the stream's own frames and lets it paint at the full
   * working size once it beats the optimiser's frames by their own objective; 'off': the optimiser alone.
   */
  livePainter: 'keyframes' as LivePainterMode,
  /**
   * An uploaded style's live painter learns in the background right after the upload, to this
   * many training steps (painter/painter-training.ts, at the lowest CPU priority): with the
   * keyframes painter (the default) after the optimiser has painted its keyframes, 600 supervised
   * steps (`npm run bench -- stroke-learning`); with the learned one, steps of the Gram objective.
   * A stream in it then paints at full size from its first frame. 0: off.
   */
  uploadPainterSteps: 600,
  maxFrameBytes: 1024 * 1024,
  maxUploadBytes: 10 * 1024 * 1024,
  maxVideoBytes: 500 * 1024 * 1024,
  maxVideoSeconds: 600,
  /** 0 = one per core. */
  workers: 0,
  /** Browser origins allowed to open the WebSocket besides the page's own. */
  allowedOrigins: [] as string[],
  maxConnectionsPerIp: 32,
  /** Frames a publisher may send per second; more are dropped (and counted). */
  maxPublishFps: 60,
  /** A viewer that could not be sent a single frame for this long is disconnected. */
  viewerStallMs: 10_000,
  logLevel: 'info' as LogLevel,
  // ---- server-side budgets: what any one client may make the server do --------------------
  /** Largest live stream size (short side) a publisher may ask for; larger asks are clamped. */
  maxLiveSize: 360,
  /** Most Adam steps per live frame a publisher may ask for; more are clamped. */
  maxLiveSteps: 10,
  /**
   * Hard limit for one live frame: a painter that has not answered by then is killed and the
   * stream goes on with a cheaper plan. Frames are planned to fit far smaller budgets (see
   * paint-turns.ts); this only catches a painter that is stuck. Not lower: on an overloaded
   * machine an honest frame can take seconds, and killing it only throws the work away.
   */
  maxFrameMs: 10_000,
  /** Without a target frame rate, a live frame is planned to take at most this long. */
  freeFrameMs: 2000,
  /** Live streams painted at once (each has its own stream process); more are refused (BUSY). */
  maxLiveStreams: 4,
  /**
   * The most pixels a live frame is painted at (256×144); a larger stream is painted at this and
   * scaled up. The optimiser's memory grows with the pixels (about 7 kB a pixel for the VGG net,
   * 10 kB for random-multiscale, on wasm), so this bounds what one stream can make a painter take.
   */
  maxWorkPixels: 256 * 144,
  /** The one pixel limit for every image decode (live frames, styles, job style images). */
  maxImagePixels: 25_000_000,
  /** Rooms that may exist at once. */
  maxRooms: 1000,
  /** A room nobody has published to or watched for this long is forgotten (its tokens too). */
  roomIdleMs: 10 * 60_000,
  /** Rooms one client (address) may create per minute. */
  roomsPerMinute: 20,
  /** Finished, failed and canceled jobs are deleted (files and all) this long after they end. */
  jobRetentionS: 24 * 3600,
  /** Job progress event streams (SSE) one client may hold open; more get 429. */
  maxEventStreamsPerClient: 16,
  /** Job progress event streams open in all; more get 503. */
  maxEventStreams: 1000,
  /** Style images one client (address) may upload per minute. */
  styleUploadsPerMinute: 10,
  /** Uploaded styles one client may keep. */
  maxStylesPerClient: 20,
  /** Uploaded styles kept in all: at the cap the least recently painted-with one is deleted for a new one. */
  maxUploadedStyles: 200,
  /** An uploaded style nobody painted with for this long is deleted. */
  styleRetentionS: 30 * 24 * 3600,
  /** Largest job: frames × working megapixels × steps per frame. */
  maxJobCost: 1500,
  /** Jobs one client may have queued or running at once. */
  maxJobsPerClient: 3,
  /** Jobs queued or running on the server at once; more are refused with 503. */
  maxQueuedJobs: 20,
  /** Uploads are refused (507) when the data directory's disk would have less than this left. */
  minFreeBytes: 256 * 1024 * 1024,
  /** Express's "trust proxy": false, true, a hop count, or addresses/subnets (comma-separated). */
  trustProxy: 'false',
  /** When set, only these Host names (with or without port) are served: a DNS-rebinding guard. */
  allowedHosts: [] as string[],
} as const;

/** The worker farm (REDIS_URL): `stylize worker` processes and what the gateway tells them. */
export const FARM_DEFAULTS = {
  /** Chunks one `stylize worker` paints at once (each in its own process). */
  concurrency: 1,
  /**
   * BullMQ's lock on a chunk being painted: renewed every half of it while the worker lives; a
   * killed worker's chunk goes to another worker after about this long plus the stalled check.
   */
  lockDurationMs: 30_000,
  /** How often workers look for chunks whose worker died. */
  stalledIntervalMs: 15_000,
  /** How long a worker keeps trying to reach the gateway (restarting, say) before a transfer fails. */
  transferPatienceMs: 120_000,
} as const;

/** 'passthrough' returns each frame as it came (no painting): load tests of the fan-out only. */
export const ENGINE_MODES = ['stylize', 'passthrough'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Video jobs (CLI flags, HTTP fields and the page share these). */
export const VIDEO_DEFAULTS = {
  size: 144,
  stepsPerFrame: 2,
  firstFrameSteps: 20,
  /**
   * 'learned': a feed-forward painter learnt for the style on the job's own frames (kept for the
   * next job) paints each frame, then stepsPerFrame optimiser steps refine it; 'off': the
   * optimiser alone, warm-started along the motion (issue 12; README "Learned painter").
   */
  painter: 'off' as PainterMode,
} as const;

/**
 * A video job's painter: 'keyframes', the style's stroke painter (kept or shipped; else taught on
 * keyframes the optimiser paints of each chunk), then the motion blend, no optimiser step;
 * 'learned', the Gram-trained painter (issue 12); 'off', the optimiser alone.
 */
export const PAINTER_MODES = ['keyframes', 'learned', 'off'] as const;
export type PainterMode = (typeof PAINTER_MODES)[number];

/**
 * A live stream's painter: 'keyframes' (the default, issue 22) paints with the style's stroke
 * painter, taught to copy keyframes the optimiser painted (shipped for the built-in paintings,
 * learnt in the background for uploads), and with the optimiser until it has one; 'learned' the
 * Gram-trained painter learnt on the stream's own frames (issue 12); 'off' the optimiser alone.
 */
export const LIVE_PAINTER_MODES = ['keyframes', 'learned', 'off'] as const;
export type LivePainterMode = (typeof LIVE_PAINTER_MODES)[number];

/**
 * Hard limits: what any flag, variable, protocol message or form field may name (the budgets
 * in SERVER_DEFAULTS clamp further). A working size beyond these would take minutes per step on a CPU.
 */
export const LIMITS = {
  // random-multiscale downsamples by 8 then pads a 7×7 filter by 3: 32 px is the least it can take.
  minSize: 32,
  maxSize: 2048,
  maxSteps: 100_000,
  maxStyles: 8,
  /** A live stream's short side (a publisher's size, --size, --min-working-size). */
  maxStreamSize: 1024,
  /** A video job's short side, and the ceiling of --max-live-size. */
  maxVideoSize: 1080,
  /** Optimiser steps per frame, live or in a video job. */
  maxFrameSteps: 50,
  /** A video job's steps on its first frame and after scene cuts. */
  maxFirstFrameSteps: 500,
  /** A live stream's target frame rate. */
  maxTargetFps: 60,
  /** The content and style weights (α, β), live or in a video job. */
  maxWeight: 1e6,
  /** Ruder et al.'s temporal loss weight, live or in a video job. */
  maxTemporalWeight: 1e9,
  /**
   * The longest side of a video or a live frame may be at most this many times its shortest (a
   * 21:9 film is 2.4, a 32:9 panorama 3.6). Both are painted at a short side they are given, so
   * a 10 000×16 picture would ask for 90 000 px working frames (and a style that long): refused
   * from the header, before any work, naming this limit.
   */
  maxAspectRatio: 4,
} as const;

/**
 * The defaults a schema fills in, by field (fields without one are left out): what the CLI's
 * help and the page show, read from the schema itself so that they cannot drift from it.
 */
export function schemaDefaults(schema: z.ZodObject): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema.shape).flatMap(([key, field]) => (field instanceof z.ZodDefault ? [[key, field.def.defaultValue]] : [])),
  );
}

const finite = z.number().finite();
/** Random filters and noise: a non-negative 31-bit integer, wherever a seed is given. */
const seedField = z.number().int().min(0).max(2 ** 31 - 1).default(DEFAULTS.seed);

/** 0 (the photo) … 1 (all style), a log scale of α: engine/style-strength.ts. */
const styleStrengthField = z.coerce.number().finite().min(0).max(1).default(DEFAULTS.styleStrength);
const optimizerField = z.enum(OPTIMIZER_NAMES).default(DEFAULTS.optimizer);

export const stylizeOptionsSchema = z.object({
  size: z.number().int().min(LIMITS.minSize).max(LIMITS.maxSize).default(DEFAULTS.size),
  steps: z.number().int().min(0).max(LIMITS.maxSteps).default(DEFAULTS.steps),
  lr: finite.positive().max(10).default(DEFAULTS.lr),
  optimizer: optimizerField,
  styleStrength: styleStrengthField,
  /** Expert overrides of the style strength (resolveCostWeights). */
  contentWeight: finite.min(0).optional(),
  styleWeight: finite.min(0).optional(),
  tvWeight: finite.min(0).default(DEFAULTS.tvWeight),
  seed: seedField,
  init: z.string().min(1).default(DEFAULTS.init),
  preserveColors: z.boolean().default(DEFAULTS.preserveColors),
  model: z.enum(MODEL_NAMES).default(DEFAULTS.model),
  backend: z.enum(BACKEND_NAMES).optional(),
  weights: z.string().min(1).optional(),
  styleWeights: z.array(finite.min(0)).max(LIMITS.maxStyles).optional(),
});
/** The options with α, β and the start's colours resolved (resolveCostWeights, resolveStartColours). */
export type StylizeOptions = z.infer<typeof stylizeOptionsSchema> & { contentWeight: number; styleWeight: number; startColours: number };

/** Validates a partial option object; the error names every bad field and why. */
export function parseStylizeOptions(input: Record<string, unknown>): StylizeOptions {
  const result = stylizeOptionsSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  return { ...result.data, ...resolveCostWeights(result.data), startColours: resolveStartColours(result.data) };
}

/**
 * "field: problem; …" for a zod error, wherever the input came from: `name` turns an issue's
 * path into what the user wrote (a flag, a variable, a field), `whole` names the input itself.
 */
export function describeIssues(error: z.ZodError, whole: string, name: (path: string) => string = (p) => p): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? name(issue.path.join('.')) : whole}: ${issue.message}`).join('; ');
}

/** Issues named as the CLI flags that set them. */
export function formatIssues(error: z.ZodError): string {
  return describeIssues(error, 'options', (p) => `--${kebab(p)}`);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const redisUrlSchema = z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL');
/** STYLIZE_FARM_SECRET: the same on every gateway and worker (a Bearer token: no spaces). */
const farmSecretSchema = z.string().regex(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 printable characters without spaces');

export const serverOptionsSchema = z.object({
  port: z.number().int().min(0).max(65535).default(SERVER_DEFAULTS.port),
  host: z.string().min(1).default(SERVER_DEFAULTS.host),
  stylesDir: z.string().min(1),
  dataDir: z.string().min(1),
  modelsDir: z.string().min(1),
  model: z.enum(MODEL_NAMES).default(DEFAULTS.model),
  weights: z.string().min(1).optional(),
  backend: z.enum(BACKEND_NAMES).optional(),
  wasmThreads: z.number().int().min(1).max(64).optional(),
  seed: seedField,
  liveSize: z.number().int().min(LIMITS.minSize).max(LIMITS.maxStreamSize).default(SERVER_DEFAULTS.liveSize),
  liveSteps: z.number().int().min(0).max(LIMITS.maxFrameSteps).default(SERVER_DEFAULTS.liveSteps),
  targetFps: z.number().min(0).max(LIMITS.maxTargetFps).default(SERVER_DEFAULTS.targetFps),
  minWorkingSize: z.number().int().min(LIMITS.minSize).max(LIMITS.maxStreamSize).default(SERVER_DEFAULTS.minWorkingSize),
  livePainter: z.enum(LIVE_PAINTER_MODES).default(SERVER_DEFAULTS.livePainter),
  uploadPainterSteps: z.number().int().min(0).max(100_000).default(SERVER_DEFAULTS.uploadPainterSteps),
  maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(SERVER_DEFAULTS.maxFrameBytes),
  maxUploadBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(SERVER_DEFAULTS.maxUploadBytes),
  maxVideoBytes: z.number().int().min(1024).max(16 * 1024 ** 3).default(SERVER_DEFAULTS.maxVideoBytes),
  maxVideoSeconds: z.number().min(1).max(24 * 3600).default(SERVER_DEFAULTS.maxVideoSeconds),
  workers: z.number().int().min(0).max(64).default(SERVER_DEFAULTS.workers),
  allowedOrigins: z.array(z.string().url()).default(SERVER_DEFAULTS.allowedOrigins),
  maxConnectionsPerIp: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.maxConnectionsPerIp),
  maxPublishFps: z.number().min(1).max(1000).default(SERVER_DEFAULTS.maxPublishFps),
  viewerStallMs: z.number().int().min(100).max(600_000).default(SERVER_DEFAULTS.viewerStallMs),
  engine: z.enum(ENGINE_MODES).default('stylize'),
  logLevel: z.enum(LOG_LEVELS).default(SERVER_DEFAULTS.logLevel),
  maxLiveSize: z.number().int().min(LIMITS.minSize).max(LIMITS.maxVideoSize).default(SERVER_DEFAULTS.maxLiveSize),
  maxLiveSteps: z.number().int().min(1).max(LIMITS.maxFrameSteps).default(SERVER_DEFAULTS.maxLiveSteps),
  maxFrameMs: z.number().int().min(200).max(600_000).default(SERVER_DEFAULTS.maxFrameMs),
  freeFrameMs: z.number().int().min(50).max(600_000).default(SERVER_DEFAULTS.freeFrameMs),
  maxLiveStreams: z.number().int().min(1).max(1000).default(SERVER_DEFAULTS.maxLiveStreams),
  maxWorkPixels: z.number().int().min(32 * 32).max(4096 * 4096).default(SERVER_DEFAULTS.maxWorkPixels),
  maxImagePixels: z.number().int().min(64 * 64).max(268_402_689).default(SERVER_DEFAULTS.maxImagePixels),
  maxRooms: z.number().int().min(1).max(1_000_000).default(SERVER_DEFAULTS.maxRooms),
  roomIdleMs: z.number().int().min(1000).max(7 * 24 * 3600_000).default(SERVER_DEFAULTS.roomIdleMs),
  roomsPerMinute: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.roomsPerMinute),
  jobRetentionS: z.number().min(1).max(365 * 24 * 3600).default(SERVER_DEFAULTS.jobRetentionS),
  maxEventStreamsPerClient: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.maxEventStreamsPerClient),
  maxEventStreams: z.number().int().min(1).max(1_000_000).default(SERVER_DEFAULTS.maxEventStreams),
  styleUploadsPerMinute: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.styleUploadsPerMinute),
  maxStylesPerClient: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.maxStylesPerClient),
  maxUploadedStyles: z.number().int().min(1).max(1_000_000).default(SERVER_DEFAULTS.maxUploadedStyles),
  styleRetentionS: z.number().min(60).max(10 * 365 * 24 * 3600).default(SERVER_DEFAULTS.styleRetentionS),
  maxJobCost: z.number().positive().max(1e9).default(SERVER_DEFAULTS.maxJobCost),
  maxJobsPerClient: z.number().int().min(1).max(10_000).default(SERVER_DEFAULTS.maxJobsPerClient),
  maxQueuedJobs: z.number().int().min(1).max(100_000).default(SERVER_DEFAULTS.maxQueuedJobs),
  minFreeBytes: z.number().int().min(0).max(2 ** 50).default(SERVER_DEFAULTS.minFreeBytes),
  trustProxy: z.string().min(1).default(SERVER_DEFAULTS.trustProxy),
  allowedHosts: z.array(z.string().min(1)).default(SERVER_DEFAULTS.allowedHosts),
  /** With it this server is a gateway of a worker farm (jobs and rooms in Redis). */
  redisUrl: redisUrlSchema.optional(),
  /** How farm workers reach this gateway (default http://<host name>:<port>). */
  advertiseUrl: z.string().url().optional(),
  /** The farm's secret for the blob endpoints (env STYLIZE_FARM_SECRET; else one kept in Redis). */
  farmSecret: farmSecretSchema.optional(),
}).refine((o) => o.liveSize <= o.maxLiveSize, { path: ['size'], message: 'must be at most --max-live-size' })
  .refine((o) => o.liveSteps <= o.maxLiveSteps, { path: ['steps'], message: 'must be at most --max-live-steps' });
export type ServerOptions = z.infer<typeof serverOptionsSchema>;

export const videoJobOptionsSchema = z.object({
  size: z.coerce.number().int().min(LIMITS.minSize).max(LIMITS.maxVideoSize).default(VIDEO_DEFAULTS.size),
  stepsPerFrame: z.coerce.number().int().min(0).max(LIMITS.maxFrameSteps).default(VIDEO_DEFAULTS.stepsPerFrame),
  firstFrameSteps: z.coerce.number().int().min(0).max(LIMITS.maxFirstFrameSteps).default(VIDEO_DEFAULTS.firstFrameSteps),
  optimizer: optimizerField,
  styleStrength: styleStrengthField,
  /** Expert overrides of the style strength (resolveCostWeights). */
  contentWeight: z.coerce.number().finite().min(0).max(LIMITS.maxWeight).optional(),
  styleWeight: z.coerce.number().finite().min(0).max(LIMITS.maxWeight).optional(),
  preserveColors: z.preprocess((v) => (v === 'true' || v === 'on' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean()).default(DEFAULTS.preserveColors),
  motion: z.enum(MOTION_MODES).default(DEFAULTS.motion),
  temporalWeight: z.coerce.number().finite().min(0).max(LIMITS.maxTemporalWeight).default(DEFAULTS.temporalWeight),
  painter: z.enum(PAINTER_MODES).default(VIDEO_DEFAULTS.painter),
});

/** A video job's options as they come out of the validator (jobs/job-store.ts keeps the stored shape). */
export type ParsedVideoJobOptions = z.infer<typeof videoJobOptionsSchema> & { contentWeight: number; styleWeight: number; startColours: number };

/** From CLI flags or HTTP form fields (strings are coerced); unknown fields are ignored. */
export function parseVideoJobOptions(input: Record<string, unknown>): ParsedVideoJobOptions {
  const picked = Object.fromEntries(Object.keys(videoJobOptionsSchema.shape).filter((k) => input[k] !== undefined && input[k] !== '').map((k) => [k, input[k]]));
  const result = videoJobOptionsSchema.safeParse(picked);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  // The painter learns and paints colours; colour preservation optimises luminance only.
  if (result.data.painter !== 'off' && result.data.preserveColors) throw new ConfigError(`painter "${result.data.painter}" cannot be combined with preserveColors yet: choose one`);
  // The stroke painter copies keyframes painted with the default strength and recipe, nothing else.
  const defaultPainting = result.data.optimizer === DEFAULTS.optimizer && result.data.styleStrength === DEFAULTS.styleStrength && result.data.contentWeight === undefined && result.data.styleWeight === undefined;
  if (result.data.painter === 'keyframes' && !defaultPainting) {
    throw new ConfigError(`painter "keyframes" paints with the default style strength (${DEFAULTS.styleStrength}) and optimizer (${DEFAULTS.optimizer}) only: use painter "off" for other settings`);
  }
  return { ...result.data, ...resolveCostWeights(result.data), startColours: resolveStartColours(result.data) };
}

/** The fields that are set: an unset flag or variable must not hide the one below it. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Flags win over environment variables, which win over the defaults table. */
export function parseServerOptions(flags: Record<string, unknown>, env: EnvSettings, paths: { stylesDir: string; dataDir: string; modelsDir: string }): ServerOptions {
  const merged = {
    ...paths,
    ...defined({
      port: env.port,
      host: env.host,
      backend: env.backend,
      wasmThreads: env.wasmThreads,
      modelsDir: env.modelsDir,
      stylesDir: env.stylesDir,
      dataDir: env.dataDir,
      targetFps: env.targetFps,
      logLevel: env.logLevel,
      redisUrl: env.redisUrl,
      advertiseUrl: env.advertiseUrl,
      farmSecret: env.farmSecret,
    }),
    ...defined(flags),
  };
  const result = serverOptionsSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  return result.data;
}

export const workerOptionsSchema = z.object({
  redisUrl: redisUrlSchema,
  dataDir: z.string().min(1),
  modelsDir: z.string().min(1),
  model: z.enum(MODEL_NAMES).default(DEFAULTS.model),
  weights: z.string().min(1).optional(),
  backend: z.enum(BACKEND_NAMES).optional(),
  seed: seedField,
  concurrency: z.number().int().min(1).max(64).default(FARM_DEFAULTS.concurrency),
  /** wasm threads per chunk process (default: the cores shared out among them). */
  threads: z.number().int().min(1).max(64).optional(),
  lockDurationMs: z.number().int().min(1000).max(3600_000).default(FARM_DEFAULTS.lockDurationMs),
  stalledIntervalMs: z.number().int().min(500).max(3600_000).default(FARM_DEFAULTS.stalledIntervalMs),
  transferPatienceMs: z.number().int().min(1000).max(24 * 3600_000).default(FARM_DEFAULTS.transferPatienceMs),
  logLevel: z.enum(LOG_LEVELS).default(SERVER_DEFAULTS.logLevel),
  /** The farm's secret (env STYLIZE_FARM_SECRET; else the one the gateways keep in Redis). */
  farmSecret: farmSecretSchema.optional(),
});
export type WorkerOptions = z.infer<typeof workerOptionsSchema>;

/** `stylize worker`: flags win over the environment (REDIS_URL is required one way or the other). */
export function parseWorkerOptions(flags: Record<string, unknown>, env: EnvSettings, paths: { dataDir: string; modelsDir: string }): WorkerOptions {
  const merged = {
    ...paths,
    ...defined({ redisUrl: env.redisUrl, backend: env.backend, modelsDir: env.modelsDir, dataDir: env.dataDir, logLevel: env.logLevel, threads: env.wasmThreads, farmSecret: env.farmSecret }),
    ...defined(flags),
  };
  const result = workerOptionsSchema.safeParse(merged);
  if (!result.success) {
    if (result.error.issues.some((i) => i.path[0] === 'redisUrl') && (merged as { redisUrl?: unknown }).redisUrl === undefined) {
      throw new ConfigError('stylize worker needs the farm\'s Redis: set REDIS_URL (or --redis-url), e.g. redis://localhost:6379');
    }
    throw new ConfigError(formatIssues(result.error));
  }
  return result.data;
}

/** Environment settings, read once. `STYLIZE_BACKEND` forces a backend like `--backend`. */
export interface EnvSettings {
  backend: BackendName | undefined;
  wasmThreads: number | undefined;
  modelsDir: string | undefined;
  vgg19Url: string | undefined;
  port: number | undefined;
  /** STYLIZE_HOST: the address `stylize serve` listens on, like --host. */
  host: string | undefined;
  stylesDir: string | undefined;
  dataDir: string | undefined;
  targetFps: number | undefined;
  logLevel: LogLevel | undefined;
  /** STYLIZE_DEBUG: stack traces with CLI errors. */
  debug: boolean;
  ffmpegPath: string | undefined;
  ffprobePath: string | undefined;
  /** PATH, where executables such as ffmpeg are looked for. */
  searchPath: string;
  /** REDIS_URL: run as part of a worker farm. */
  redisUrl: string | undefined;
  /** STYLIZE_ADVERTISE_URL: how farm workers reach this gateway. */
  advertiseUrl: string | undefined;
  /** STYLIZE_FARM_SECRET: the farm's secret, set by the operator. */
  farmSecret: string | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvSettings {
  const schema = z.object({
    STYLIZE_BACKEND: z.enum(BACKEND_NAMES).optional(),
    STYLIZE_WASM_THREADS: z.coerce.number().int().min(1).max(64).optional(),
    STYLIZE_MODELS_DIR: z.string().min(1).optional(),
    STYLIZE_VGG19_URL: z.string().url().optional(),
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    // Not HOST: shells such as zsh set that to the machine's name.
    STYLIZE_HOST: z.string().min(1).optional(),
    STYLIZE_STYLES_DIR: z.string().min(1).optional(),
    STYLIZE_DATA_DIR: z.string().min(1).optional(),
    STYLIZE_TARGET_FPS: z.coerce.number().min(0).max(LIMITS.maxTargetFps).optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
    REDIS_URL: redisUrlSchema.optional(),
    STYLIZE_ADVERTISE_URL: z.string().url().optional(),
    STYLIZE_FARM_SECRET: farmSecretSchema.optional(),
  });
  // An empty variable counts as unset (`FOO= stylize …`).
  const result = schema.safeParse(Object.fromEntries(Object.keys(schema.shape).map((name) => [name, env[name] || undefined])));
  if (!result.success) {
    throw new ConfigError(describeIssues(result.error, 'environment'));
  }
  return {
    backend: result.data.STYLIZE_BACKEND,
    wasmThreads: result.data.STYLIZE_WASM_THREADS,
    modelsDir: result.data.STYLIZE_MODELS_DIR,
    vgg19Url: result.data.STYLIZE_VGG19_URL,
    port: result.data.PORT,
    host: result.data.STYLIZE_HOST,
    stylesDir: result.data.STYLIZE_STYLES_DIR,
    dataDir: result.data.STYLIZE_DATA_DIR,
    targetFps: result.data.STYLIZE_TARGET_FPS,
    logLevel: result.data.LOG_LEVEL,
    debug: Boolean(env.STYLIZE_DEBUG),
    ffmpegPath: env.FFMPEG_PATH || undefined,
    ffprobePath: env.FFPROBE_PATH || undefined,
    searchPath: env.PATH ?? '',
    redisUrl: result.data.REDIS_URL,
    advertiseUrl: result.data.STYLIZE_ADVERTISE_URL,
    farmSecret: result.data.STYLIZE_FARM_SECRET,
  };
}
