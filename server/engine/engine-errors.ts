/**
 * The errors the engine throws, each with a stable `code`. The engine imports nothing of the
 * server, so these do not extend the server's StylizeError; server/errors.ts re-exports them,
 * counts them as StylizeErrors (its `instanceof` takes them in) and keeps the one table from a
 * code to an exit status, an HTTP status and a WebSocket close code.
 */
export const EngineErrorCode = {
  BAD_INPUT: 'BAD_INPUT',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  WEIGHTS_INVALID: 'WEIGHTS_INVALID',
  WEIGHTS_MISSING: 'WEIGHTS_MISSING',
  DOWNLOAD_FAILED: 'DOWNLOAD_FAILED',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  DISPOSED: 'DISPOSED',
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The user gave something we cannot use (a flag value, a file of the wrong kind). */
export class BadInputError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EngineErrorCode.BAD_INPUT, message, options);
  }
}

export class FileNotFoundError extends EngineError {
  constructor(path: string) {
    super(EngineErrorCode.FILE_NOT_FOUND, `no such file: ${path}`);
  }
}

export class WeightsError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EngineErrorCode.WEIGHTS_INVALID, message, options);
  }
}

export class WeightsMissingError extends EngineError {
  constructor(message: string) {
    super(EngineErrorCode.WEIGHTS_MISSING, message);
  }
}

export class DownloadError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EngineErrorCode.DOWNLOAD_FAILED, message, options);
  }
}

export class ChecksumError extends EngineError {
  /** `advice` ends the message: what the file is and how to get a good one. */
  constructor(file: string, expected: string, actual: string, advice?: string) {
    super(EngineErrorCode.CHECKSUM_MISMATCH, `${file}: checksum ${actual} does not match the expected ${expected}${advice ? `; ${advice}` : ''}`);
  }
}

export class BackendUnavailableError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EngineErrorCode.BACKEND_UNAVAILABLE, message, options);
  }
}

export class DisposedError extends EngineError {
  constructor(what: string) {
    super(EngineErrorCode.DISPOSED, `${what} was used after dispose()`);
  }
}
