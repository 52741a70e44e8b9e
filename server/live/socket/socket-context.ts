/**
 * What every part of the live socket server shares: its dependencies, the frame bus to other
 * gateways, this gateway's name, and the `ready` message each client gets first.
 */
import type WebSocket from 'ws';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { TrustFunction } from '../../security/client-address.js';
import type { OriginPolicy } from '../../security/origin-policy.js';
import type { StyleLibrary } from '../../styles/style-library.js';
import type { FrameBus } from '../frame-bus.js';
import type { FrameProcessor } from '../frame-processor.js';
import type { LiveLimits } from '../live-session.js';
import type { LiveSettings } from '../live-settings.js';
import { publicConfig } from '../protocol.js';
import type { RoomDirectory } from '../room-directory.js';
import type { Room } from '../room.js';

export interface SocketServerDeps {
  processor: FrameProcessor;
  styles: StyleLibrary;
  metrics: Metrics;
  log: Logger;
  defaults: LiveSettings;
  limits: LiveLimits;
  maxFrameBytes: number;
  directory: RoomDirectory;
  origins: OriginPolicy;
  trustProxy: TrustFunction;
  maxConnectionsPerIp: number;
  maxPublishFps: number;
  viewerStallMs: number;
  /** Other gateways' frames (default: none, a lone server). */
  bus?: FrameBus;
  /** This gateway's name in the shared directory (default 'local'). */
  gateway?: string;
}

export type Role = 'publish' | 'view';

/** One client's connection, as the publisher and viewer handlers see it. */
export interface Client {
  ws: WebSocket;
  room: Room;
  log: Logger;
  /** The client address, for the log. */
  address: string;
  /** Sends an error; one whose code closes the connection also closes it. */
  error: (code: string, message: string) => void;
}

export interface SocketContext {
  deps: SocketServerDeps;
  bus: FrameBus;
  gateway: string;
}

/** The first message on every connection: who it is, and what this server paints with. */
export function readyMessage(context: SocketContext, role: Role, room: string, settings: LiveSettings) {
  const { processor, limits } = context.deps;
  return {
    type: 'ready' as const,
    role,
    room,
    model: processor.model,
    backend: processor.backend,
    config: publicConfig(settings),
    limits: { maxSize: limits.maxSize, maxSteps: limits.maxSteps },
  };
}

/** Swallows a shared-directory call's failure: it only keeps counts, and they heal on the next report. */
export function quietly(result: unknown): void {
  void Promise.resolve(result).catch(() => undefined);
}
