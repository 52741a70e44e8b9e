/**
 * The publisher's side of the live protocol: capture frames from a <video> at the chosen size,
 * send them (never queueing: a frame is skipped while the socket is still busy), draw the
 * stylized frames that come back, and report stats.
 */
import type { MotionMode, PainterMode } from '../../server/config.js';
import type { ConfigMessage, ServerMessage, StatsMessage } from '../../server/live/protocol.js';
import { nowMs, readHeader, withHeader } from './frame-header.js';

export interface LiveClientEvents {
  onStatus(state: 'connecting' | 'live' | 'closed' | 'error', text: string): void;
  onStats(stats: StatsMessage, latencyMs: number | undefined): void;
  onError(message: string): void;
  /** The server's settings in force, to show on the controls, and its limits on them. */
  onReady(model: string, config: LiveConfig, limits: { maxSize: number; maxSteps: number } | undefined): void;
  /** The server clamped settings we asked for (what was asked, what is used). */
  onLimited(limited: Record<string, { asked: number; used: number }>): void;
}

// The server's own types (type-only imports: nothing of the server is bundled).
export type { MotionMode, PainterMode };

/** Any subset of the live settings: what a config message carries (server/live/protocol.ts). */
export type LiveConfig = Omit<ConfigMessage, 'type'>;

const CAPTURE_FPS = 15;

export class LiveClient {
  private socket: WebSocket | undefined;
  private timer: number | undefined;
  private seq = 0;
  private latency: number | undefined;
  /** Short side frames are sent at: the server's setting, known from `ready` (or a size we ask for). */
  private size: number | undefined;
  private readonly canvas = document.createElement('canvas');

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly output: HTMLCanvasElement,
    private readonly events: LiveClientEvents,
  ) {}

  connect(room: string, token: string, config: LiveConfig): void {
    this.disconnect();
    const url = new URL(`/ws?room=${encodeURIComponent(room)}&role=publish&token=${encodeURIComponent(token)}`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.events.onStatus('connecting', 'connecting…');
    socket.onopen = () => {
      this.configure(config);
      this.events.onStatus('live', 'live');
      this.timer = window.setInterval(() => void this.capture(), 1000 / CAPTURE_FPS);
    };
    socket.onmessage = (event) => this.receive(event.data as ArrayBuffer | string);
    socket.onclose = (event) => {
      if (this.socket !== socket) return; // an earlier connection, replaced by connect()
      this.stopCapture();
      this.events.onStatus(event.code === 1000 || event.code === 1001 ? 'closed' : 'error', event.reason || `closed (${event.code})`);
    };
  }

  configure(config: LiveConfig): void {
    if (config.size) this.size = config.size;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'config', ...config }));
  }

  disconnect(): void {
    this.stopCapture();
    this.socket?.close(1000, 'bye');
    this.socket = undefined;
  }

  private stopCapture(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
  }

  private async capture(): Promise<void> {
    const socket = this.socket;
    const { videoWidth, videoHeight } = this.video;
    if (!socket || socket.readyState !== WebSocket.OPEN || videoWidth === 0 || this.video.paused || this.size === undefined) return;
    // Latest frame wins on this side too: skip while the last one is still being sent.
    if (socket.bufferedAmount > 0) return;
    const scale = this.size / Math.min(videoWidth, videoHeight);
    const [width, height] = [Math.round((videoWidth * scale) / 2) * 2, Math.round((videoHeight * scale) / 2) * 2];
    // Setting a canvas's size reallocates it, even to the same size: only when it changes.
    if (this.canvas.width !== width || this.canvas.height !== height) [this.canvas.width, this.canvas.height] = [width, height];
    this.canvas.getContext('2d')!.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', 0.85));
    if (!blob || socket.readyState !== WebSocket.OPEN) return;
    socket.send(withHeader(this.seq++, nowMs(), await blob.arrayBuffer()));
  }

  private receive(data: ArrayBuffer | string): void {
    if (typeof data === 'string') {
      const message = JSON.parse(data) as ServerMessage;
      if (message.type === 'stats') this.events.onStats(message, this.latency);
      else if (message.type === 'error') this.events.onError(`${message.code}: ${message.message}`);
      else if (message.type === 'ready') {
        this.size = message.config.size;
        this.events.onReady(message.model, { ...message.config, style: message.config.style ?? undefined }, message.limits);
      } else if (message.type === 'settings') {
        this.size = message.config.size;
        if (Object.keys(message.limited).length > 0) this.events.onLimited(message.limited);
      }
      return;
    }
    const frame = readHeader(data);
    this.latency = (nowMs() - frame.timestampMs) >>> 0;
    void createImageBitmap(frame.jpeg).then((bitmap) => {
      if (this.output.width !== bitmap.width || this.output.height !== bitmap.height) {
        this.output.width = bitmap.width;
        this.output.height = bitmap.height;
      }
      this.output.getContext('2d')!.drawImage(bitmap, 0, 0);
      bitmap.close();
      this.output.dataset.frames = String(Number(this.output.dataset.frames ?? 0) + 1);
    });
  }
}
