/**
 * Named errors with a stable `code`. Every error the product reports to a person or a client
 * is one of these (the engine's own, from engine/engine-errors.ts, included); `exitCodeFor` (CLI),
 * `httpStatusFor` and `wsCloseFor` live here too, so the code → status table exists exactly once.
 */
import { EngineError, EngineErrorCode } from './engine/engine-errors.js';

// The engine's own errors (it imports nothing of the server): one set of classes, used here too.
export {
  BackendUnavailableError,
  BadInputError,
  ChecksumError,
  DisposedError,
  DownloadError,
  FileNotFoundError,
  WeightsError,
  WeightsMissingError,
} from './engine/engine-errors.js';

export const ErrorCode = {
  ...EngineErrorCode,
  NOT_AN_IMAGE: 'NOT_AN_IMAGE',
  BAD_CONFIG: 'BAD_CONFIG',
  UNKNOWN_STYLE: 'UNKNOWN_STYLE',
  BAD_FRAME: 'BAD_FRAME',
  BAD_MESSAGE: 'BAD_MESSAGE',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  TOO_LARGE: 'TOO_LARGE',
  NOT_FOUND: 'NOT_FOUND',
  FLOOD: 'FLOOD',
  ROOM_TAKEN: 'ROOM_TAKEN',
  NOT_READY: 'NOT_READY',
  TOO_SLOW: 'TOO_SLOW',
  /** At capacity (live streams, queued jobs, image decodes): try again later. */
  BUSY: 'BUSY',
  /** One client asked too often (rooms a minute, jobs at once). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The data directory's disk is (nearly) full. */
  NO_SPACE: 'NO_SPACE',
  /** A browser origin or Host header that is not allowed. */
  FORBIDDEN: 'FORBIDDEN',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A live frame overran the server's hard time limit and was given up. */
  FRAME_ABANDONED: 'FRAME_ABANDONED',
  /** One live frame could not be painted (its painter stopped); the stream goes on. */
  FRAME_FAILED: 'FRAME_FAILED',
  PORT_IN_USE: 'PORT_IN_USE',
  /** The farm's Redis does not answer (down, restarting, unreachable): try again shortly. */
  REDIS_UNAVAILABLE: 'REDIS_UNAVAILABLE',
  /** The farm's Redis is at its maxmemory (noeviction): nothing new fits until room is made. */
  REDIS_FULL: 'REDIS_FULL',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StylizeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /**
   * The engine's errors carry stable codes too but cannot extend this class (the engine is sealed:
   * engine-errors.ts): `error instanceof StylizeError` takes them in, so every place that maps a
   * code to a status or a message sees them as before. Subclasses test as usual.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === StylizeError && value instanceof EngineError) return true;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

export class NotAnImageError extends StylizeError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(ErrorCode.NOT_AN_IMAGE, `${what} is not an image that can be read (JPEG, PNG, WebP, GIF, TIFF, AVIF)`, options);
  }
}

export class ConfigError extends StylizeError {
  constructor(message: string) {
    super(ErrorCode.BAD_CONFIG, message);
  }
}

/** The server is at one of its capacity limits; `retryAfterS` is a hint for Retry-After. */
export class BusyError extends StylizeError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS = 30) {
    super(ErrorCode.BUSY, message);
    this.retryAfterS = retryAfterS;
  }
}

/** One client over its own quota or rate; `retryAfterS` is a hint for Retry-After. */
export class RateLimitedError extends StylizeError {
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS = 60) {
    super(ErrorCode.RATE_LIMITED, message);
    this.retryAfterS = retryAfterS;
  }
}

export class NoSpaceError extends StylizeError {
  constructor(message = 'the server\'s disk is full; try again later', options?: { cause?: unknown }) {
    super(ErrorCode.NO_SPACE, message, options);
  }
}

export class ForbiddenError extends StylizeError {
  constructor(message: string) {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/**
 * The farm's Redis cannot take this request now: away (REDIS_UNAVAILABLE) or at its memory
 * limit (REDIS_FULL). 503 with Retry-After, WebSocket 1013: nothing the client did wrong.
 */
export class RedisUnavailableError extends StylizeError {
  readonly retryAfterS: number;
  constructor(full: boolean, options?: { cause?: unknown; retryAfterS?: number }) {
    super(
      full ? ErrorCode.REDIS_FULL : ErrorCode.REDIS_UNAVAILABLE,
      full ? "the farm's Redis is full (its maxmemory); try again later" : "the farm's Redis is not reachable right now; try again shortly",
      options,
    );
    this.retryAfterS = options?.retryAfterS ?? (full ? 30 : 5);
  }
}

/** A Node.js file-system error that means "disk full" (or quota exceeded). */
export function isNoSpace(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** `stylize serve` could not listen: another process holds the port. */
export class PortInUseError extends StylizeError {
  constructor(port: number, options?: { cause?: unknown }) {
    super(ErrorCode.PORT_IN_USE, `port ${port} is already in use; pick another with --port or PORT`, options);
  }
}

/**
 * Process exit status for the CLI: 2 when the command line or its environment must change
 * (a bad file or value, a port already taken: running the same command again cannot help),
 * 1 for everything else.
 */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof StylizeError)) return 1;
  switch (error.code) {
    case ErrorCode.BAD_INPUT:
    case ErrorCode.NOT_AN_IMAGE:
    case ErrorCode.FILE_NOT_FOUND:
    case ErrorCode.BAD_CONFIG:
    case ErrorCode.PORT_IN_USE:
    case ErrorCode.UNKNOWN_STYLE:
      return 2;
    default:
      return 1;
  }
}

/** HTTP status for an error the API reports (the one table; see http/app.ts). */
export function httpStatusFor(error: unknown): number {
  if (!(error instanceof StylizeError)) return 500;
  switch (error.code) {
    case ErrorCode.BAD_INPUT:
    case ErrorCode.NOT_AN_IMAGE:
    case ErrorCode.BAD_CONFIG:
    case ErrorCode.BAD_MESSAGE:
      return 400;
    case ErrorCode.UNKNOWN_STYLE:
    case ErrorCode.NOT_FOUND:
    case ErrorCode.FILE_NOT_FOUND:
      return 404;
    case ErrorCode.TOO_LARGE:
      return 413;
    case ErrorCode.ROOM_TAKEN:
    case ErrorCode.NOT_READY:
      return 409;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.BUSY:
    case ErrorCode.REDIS_UNAVAILABLE:
    case ErrorCode.REDIS_FULL:
      return 503;
    case ErrorCode.NO_SPACE:
      return 507;
    default:
      return 500;
  }
}

/** WebSocket close codes (RFC 6455) the server uses. */
export const WsClose = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;

/**
 * Client mistakes that keep the connection open (answered with {"type":"error"}) versus abuse
 * that closes it, and with which code.
 */
export function wsCloseFor(code: string): number | undefined {
  switch (code) {
    case ErrorCode.BAD_FRAME:
    case ErrorCode.BAD_MESSAGE:
    case ErrorCode.UNKNOWN_TYPE:
    case ErrorCode.UNKNOWN_STYLE:
    case ErrorCode.FRAME_ABANDONED:
    case ErrorCode.FRAME_FAILED:
      return undefined;
    case ErrorCode.TOO_LARGE:
      return WsClose.MESSAGE_TOO_BIG;
    case ErrorCode.FLOOD:
    case ErrorCode.TOO_SLOW:
    case ErrorCode.FORBIDDEN:
      return WsClose.POLICY_VIOLATION;
    case ErrorCode.BUSY:
    case ErrorCode.REDIS_UNAVAILABLE:
    case ErrorCode.REDIS_FULL:
      return WsClose.TRY_AGAIN_LATER;
    default:
      return WsClose.INTERNAL_ERROR;
  }
}
