/**
 * The server's handle on one stream process: start it, send it frames one at a time, and kill
 * it — when its stream ends, when a frame overruns the hard limit (the only way to stop a tfjs
 * step in progress), or when the server closes. `kill()` is safe twice.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, StylizeError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import type { FromStreamProcess, StreamProcessInfo, StreamProcessInit, PaintedReport, PaintRequest } from './stream-process/stream-process-protocol.js';

/** Compiled entry (npm install builds it; tests build it in their global setup). */
export const STREAM_PROCESS_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server', 'live', 'stream-process', 'stream-process-main.js');

export const StreamProcessState = {
  STARTING: 'starting',
  READY: 'ready',
  /** Killed (or exited): it takes no more frames, even before its exit is reported. */
  DEAD: 'dead',
} as const;
export type StreamProcessState = (typeof StreamProcessState)[keyof typeof StreamProcessState];

export class FrameAbandonedError extends StylizeError {
  constructor(limitMs: number) {
    super(ErrorCode.FRAME_ABANDONED, `the frame took longer than ${limitMs} ms and was given up; the next frames get a cheaper plan`);
  }
}

export class StreamProcessGoneError extends StylizeError {
  constructor(reason: string) {
    super(ErrorCode.INTERNAL, `the painter stopped (${reason})`);
  }
}

export interface StreamProcess {
  readonly pid: number | undefined;
  readonly state: StreamProcessState;
  /** Resolves once the backend and network are loaded; rejects with the painter's own error. */
  readonly ready: Promise<StreamProcessInfo>;
  /** Paints one frame; rejects with FrameAbandonedError (and kills the painter) after `hardLimitMs`. */
  paint(request: Omit<PaintRequest, 'type' | 'id'>, hardLimitMs: number): Promise<PaintedReport>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /**
   * At background priority (true) while it works past its turn, so the stream that has the turn
   * gets the CPU; back to normal (false) once it answered. Only where the system let the process
   * come back from its start-up priority (else every painter stays lowered alike).
   */
  background(on: boolean): void;
  kill(): void;
}

/**
 * While it loads (backend, network, warm-up: about a CPU-second), a painter runs at a lower CPU
 * priority, so streams already painting do not slow down while another starts; once ready it
 * paints at normal priority (where the system lets us raise it back; otherwise it stays lowered,
 * like every other painter started here).
 */
const STARTING_NICENESS = 10;
/** A painter working past its turn (the lowest priority: it gets what the others leave). */
const BACKGROUND_NICENESS = 19;

/** Whether the niceness was set. */
function setNiceness(child: ChildProcess, value: number): boolean {
  try {
    if (child.pid === undefined) return false;
    os.setPriority(child.pid, value);
    return true;
  } catch {
    // Not permitted (raising priority needs CAP_SYS_NICE): it stays as it is.
    return false;
  }
}

/** What a stream process's handle knows: its state, the frame in flight, the ready promise to settle. */
interface Handle {
  state: StreamProcessState;
  pending: { id: number; resolve: (r: PaintedReport) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  settleReady: { resolve: (info: StreamProcessInfo) => void; reject: (e: Error) => void } | undefined;
  /** Why it died, if it said (a fatal message); else 'killed'. */
  exitReason: string;
  /** Whether its priority could be raised back after start-up (then it can go to the background and back). */
  canRaise: boolean;
}

export function startStreamProcess(init: Omit<StreamProcessInit, 'type'>): StreamProcess {
  const child: ChildProcess = fork(STREAM_PROCESS_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  setNiceness(child, STARTING_NICENESS);
  const handle: Handle = { state: StreamProcessState.STARTING, pending: undefined, settleReady: undefined, exitReason: 'killed', canRaise: false };
  let nextId = 1;
  const ready = new Promise<StreamProcessInfo>((resolve, reject) => {
    handle.settleReady = { resolve, reject };
  });
  ready.catch(() => undefined); // the pool reports it where it waits

  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      handle.state = StreamProcessState.DEAD;
      const reason = signal ? `signal ${signal}` : `exit ${code}`;
      handle.settleReady?.reject(new StreamProcessGoneError(reason));
      failPending(handle, new StreamProcessGoneError(handle.exitReason === 'killed' ? reason : handle.exitReason));
      resolve();
    });
  });
  child.on('error', () => undefined); // a failed spawn also ends in 'exit'
  child.on('message', (message: FromStreamProcess) => onMessage(child, handle, message));

  const painter: StreamProcess = {
    get pid() {
      return child.pid;
    },
    get state() {
      return handle.state;
    },
    ready,
    exited,
    paint(request, hardLimitMs) {
      if (handle.state === StreamProcessState.DEAD) return Promise.reject(new StreamProcessGoneError('not running'));
      if (handle.pending) return Promise.reject(new Error('paint() is already running; frames go one at a time'));
      const id = nextId++;
      return new Promise<PaintedReport>((resolve, reject) => {
        const timer = setTimeout(() => {
          failPending(handle, new FrameAbandonedError(hardLimitMs));
          painter.kill();
        }, hardLimitMs);
        handle.pending = { id, resolve, reject, timer };
        child.send({ type: 'paint', id, ...request } satisfies PaintRequest);
      });
    },
    background(on) {
      if (handle.state === StreamProcessState.DEAD || !handle.canRaise) return;
      setNiceness(child, on ? BACKGROUND_NICENESS : 0);
    },
    kill() {
      if (handle.state === StreamProcessState.DEAD) return;
      handle.state = StreamProcessState.DEAD;
      handle.settleReady?.reject(new StreamProcessGoneError('killed'));
      handle.settleReady = undefined;
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGKILL: a tfjs step cannot be interrupted any other way, and there is nothing to save.
      child.kill('SIGKILL');
    },
  };
  child.send({ type: 'init', ...init } satisfies StreamProcessInit);
  return painter;
}

function failPending(handle: Handle, error: Error): void {
  if (!handle.pending) return;
  const { reject, timer } = handle.pending;
  clearTimeout(timer);
  handle.pending = undefined;
  reject(error);
}

function onMessage(child: ChildProcess, handle: Handle, message: FromStreamProcess): void {
  switch (message.type) {
    case 'ready':
      handle.canRaise = setNiceness(child, 0);
      handle.state = StreamProcessState.READY;
      handle.settleReady?.resolve({ backend: message.backend, threads: message.threads, model: message.model, description: message.description });
      handle.settleReady = undefined;
      return;
    case 'fatal':
      handle.exitReason = message.message;
      handle.settleReady?.reject(new StylizeError(message.code as ErrorCode, message.message));
      handle.settleReady = undefined;
      return;
    case 'painted':
    case 'failed': {
      if (!handle.pending || handle.pending.id !== message.id) return; // an answer to a frame already given up
      const { resolve, reject, timer } = handle.pending;
      clearTimeout(timer);
      handle.pending = undefined;
      if (message.type === 'painted') resolve(message.frame);
      else reject(new StylizeError(message.code as ErrorCode, message.message));
    }
  }
}
