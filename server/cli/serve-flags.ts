/**
 * `stylize serve`'s flags, one row each: the server option it sets, how it is read, its help.
 * Defaults are not written here: the help prints them from config.ts's schema (plus the folder
 * defaults of paths.ts), and `readServeFlags` turns parsed flags into options from the same rows.
 */
import { BACKEND_NAMES, ENGINE_MODES, LOG_LEVELS, MODEL_NAMES, LIVE_PAINTER_MODES, schemaDefaults, serverOptionsSchema, type ServerOptions } from '../config.js';
import { DEFAULT_DATA_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { readFlags, type FlagSpec } from './flag-table.js';

type ServerKey = keyof ServerOptions;

export const SERVE_FLAGS: readonly FlagSpec<ServerKey>[] = [
  { key: 'port', flag: '--port <n>', help: 'port', kind: 'number', notes: ['env PORT'] },
  { key: 'host', flag: '--host <addr>', help: 'address to listen on: 0.0.0.0 (every interface) shares the page on your network', notes: ['env STYLIZE_HOST'] },
  { key: 'stylesDir', flag: '--styles-dir <dir>', help: 'extra style images' },
  { key: 'dataDir', flag: '--data-dir <dir>', help: 'uploaded styles and jobs' },
  { key: 'model', flag: '--model <name>', help: 'feature network', choices: MODEL_NAMES },
  { key: 'weights', flag: '--weights <dir|h5>', help: 'VGG19 weights (see `stylize models`)' },
  { key: 'backend', flag: '--backend <name>', help: 'force a tfjs backend', choices: BACKEND_NAMES },
  { key: 'liveSize', flag: '--size <px>', help: 'short side of live frames', kind: 'number' },
  { key: 'liveSteps', flag: '--steps <n>', help: 'optimisation steps per frame', kind: 'number' },
  { key: 'targetFps', flag: '--target-fps <fps>', help: 'deadline mode: choose steps and size to keep this frame rate', kind: 'number', notes: ['0 = off'] },
  { key: 'livePainter', flag: '--painter <mode>', help: `live streams' painter: ${LIVE_PAINTER_MODES.join(', ')} (keyframes: the style's stroke painter, taught by the optimiser's keyframes; learned: learnt on the stream's frames; off: the optimiser alone)` },
  { key: 'uploadPainterSteps', flag: '--upload-painter-steps <n>', help: "an uploaded style's live painter learns in the background to this many steps at once", kind: 'number', notes: ['0 = off'] },
  { key: 'minWorkingSize', flag: '--min-working-size <px>', help: 'deadline mode paints no smaller than this short side; fewer fps instead', kind: 'number' },
  { key: 'maxFrameBytes', flag: '--max-frame-bytes <n>', help: 'largest WebSocket message', kind: 'number' },
  { key: 'workers', flag: '--workers <n>', help: 'video job worker processes', kind: 'number', shownDefault: (n) => (n === 0 ? 'one per core' : String(n)) },
  { key: 'maxVideoBytes', flag: '--max-video-bytes <n>', help: 'largest video upload', kind: 'number' },
  { key: 'maxVideoSeconds', flag: '--max-video-seconds <s>', help: 'longest video accepted', kind: 'number' },
  { key: 'allowedOrigins', flag: '--allowed-origins <list>', help: "comma-separated browser origins allowed besides the page's own", kind: 'list', shownDefault: false },
  { key: 'maxConnectionsPerIp', flag: '--max-connections-per-ip <n>', help: 'WebSocket connections per address', kind: 'number' },
  { key: 'maxPublishFps', flag: '--max-publish-fps <n>', help: 'frames a publisher may send per second', kind: 'number' },
  { key: 'viewerStallMs', flag: '--viewer-stall-ms <ms>', help: 'drop a viewer that could take no frame for this long', kind: 'number' },
  // Server-side budgets: what any one client may make the server do.
  { key: 'maxLiveSize', flag: '--max-live-size <px>', help: 'largest live size a publisher may ask for; more is clamped', kind: 'number' },
  { key: 'maxLiveSteps', flag: '--max-live-steps <n>', help: 'most steps per live frame a publisher may ask for', kind: 'number' },
  { key: 'maxFrameMs', flag: '--max-frame-ms <ms>', help: 'hard limit for one live frame; its painter is replaced', kind: 'number' },
  { key: 'freeFrameMs', flag: '--free-frame-ms <ms>', help: 'without a target fps, a live frame is planned to take at most this long', kind: 'number' },
  { key: 'maxLiveStreams', flag: '--max-live-streams <n>', help: 'live streams painted at once; more get 503', kind: 'number' },
  { key: 'maxWorkPixels', flag: '--max-work-pixels <n>', help: 'most pixels a live frame is painted at; larger streams are scaled up', kind: 'number' },
  { key: 'maxImagePixels', flag: '--max-image-pixels <n>', help: 'largest image decoded: frames, styles', kind: 'number' },
  { key: 'maxRooms', flag: '--max-rooms <n>', help: 'rooms at once', kind: 'number' },
  { key: 'roomIdleMs', flag: '--room-idle <duration>', help: 'forget a room nobody used for this long', kind: 'milliseconds' },
  { key: 'roomsPerMinute', flag: '--rooms-per-minute <n>', help: 'rooms one client may create a minute', kind: 'number' },
  { key: 'jobRetentionS', flag: '--job-retention <duration>', help: 'delete ended video jobs and their files after this long', kind: 'seconds' },
  { key: 'maxEventStreamsPerClient', flag: '--max-event-streams-per-client <n>', help: 'job progress event streams one client may hold open; more get 429', kind: 'number' },
  { key: 'maxEventStreams', flag: '--max-event-streams <n>', help: 'job progress event streams open in all; more get 503', kind: 'number' },
  { key: 'styleUploadsPerMinute', flag: '--style-uploads-per-minute <n>', help: 'style images one client may upload a minute', kind: 'number' },
  { key: 'maxStylesPerClient', flag: '--max-styles-per-client <n>', help: 'uploaded styles one client may keep', kind: 'number' },
  { key: 'maxUploadedStyles', flag: '--max-uploaded-styles <n>', help: 'uploaded styles kept in all; the least recently used goes for a new one', kind: 'number' },
  { key: 'styleRetentionS', flag: '--style-retention <duration>', help: 'delete an uploaded style nobody painted with for this long', kind: 'seconds' },
  { key: 'maxJobCost', flag: '--max-job-cost <n>', help: 'largest video job in megapixel-steps: frames × working megapixels × steps', kind: 'number' },
  { key: 'maxJobsPerClient', flag: '--max-jobs-per-client <n>', help: 'video jobs one client may have waiting or running', kind: 'number' },
  { key: 'maxQueuedJobs', flag: '--max-queued-jobs <n>', help: 'video jobs waiting or running in all; more get 503', kind: 'number' },
  { key: 'minFreeBytes', flag: '--min-free-disk <size>', help: 'refuse uploads that would leave less free on the data disk', kind: 'bytes' },
  { key: 'trustProxy', flag: '--trust-proxy <value>', help: 'behind a reverse proxy: true, a hop count, or its addresses/subnets', notes: ['Express "trust proxy"'] },
  { key: 'allowedHosts', flag: '--allowed-hosts <list>', help: 'comma-separated Host names the server answers to', kind: 'list', notes: ['a DNS-rebinding guard'], shownDefault: (hosts) => ((hosts as string[]).length > 0 ? (hosts as string[]).join(',') : 'any') },
  { key: 'redisUrl', flag: '--redis-url <url>', help: 'be a gateway of a worker farm: jobs and rooms in this Redis', notes: ['env REDIS_URL', 'see docs/deploy.md'] },
  { key: 'advertiseUrl', flag: '--advertise-url <url>', help: 'how farm workers reach this gateway', notes: ['env STYLIZE_ADVERTISE_URL'], shownDefault: 'http://<host name>:<port>' },
  { key: 'engine', flag: '--engine <engine>', help: 'passthrough returns frames unpainted (fan-out load tests)', choices: ENGINE_MODES, hidden: true },
  { key: 'logLevel', flag: '--log-level <level>', help: 'pino log level', choices: LOG_LEVELS },
];

/** Server options deliberately without a flag, and where they are set instead. */
export const SERVE_OPTIONS_WITHOUT_FLAG: Partial<Record<ServerKey, string>> = {
  modelsDir: 'env STYLIZE_MODELS_DIR',
  wasmThreads: 'env STYLIZE_WASM_THREADS',
  seed: 'the engine default (random filters are the same for every stream)',
  maxUploadBytes: 'the style upload limit: options only (tests)',
  farmSecret: 'env STYLIZE_FARM_SECRET (a secret: never a flag, which ps would show)',
};

/** What each serve flag shows as its default: the schema's, and the folders paths.ts picks. */
export function serveDefaults(): Record<string, unknown> {
  return { ...schemaDefaults(serverOptionsSchema), stylesDir: DEFAULT_STYLES_DIR, dataDir: DEFAULT_DATA_DIR };
}

/** Parsed `stylize serve` flags → the server options they set (unset flags stay undefined). */
export function readServeFlags(flags: Record<string, unknown>): Partial<Record<ServerKey, unknown>> {
  return readFlags(flags, SERVE_FLAGS);
}
