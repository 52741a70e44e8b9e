/**
 * The viewer page /watch/<room>: the painted stream fills the window (letterboxed by CSS, which
 * reads the stream's aspect ratio from --ratio), with the room, status and stats over it.
 */
import type { ServerMessage } from '../../server/live/protocol.js';
import { readHeader } from './frame-header.js';

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const canvas = $('output') as HTMLCanvasElement;
const room = decodeURIComponent(location.pathname.split('/').pop() ?? '');
const token = new URLSearchParams(location.search).get('token');
$('room-name').textContent = room;
document.title = `${room} · stylize-live`;

setUpFullscreen($('fullscreen') as HTMLButtonElement);

function connect(): void {
  const url = new URL(`/ws?room=${encodeURIComponent(room)}&role=view${token ? `&token=${encodeURIComponent(token)}` : ''}`, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    $('status').textContent = 'connected';
    $('status').dataset.state = 'live';
  };
  socket.onmessage = (event) => {
    if (typeof event.data === 'string') {
      const message = JSON.parse(event.data) as ServerMessage;
      if (message.type === 'stats') {
        $('stat-out').textContent = message.outputFps.toFixed(1);
        $('stat-latency').textContent = message.latencyMs > 0 ? String(message.latencyMs) : '–';
        $('stat-viewers').textContent = String(message.viewers);
        $('stat-skipped').textContent = String(message.skipped ?? 0);
        $('stat-model').textContent = message.model;
      }
      return;
    }
    $('waiting').hidden = true;
    void createImageBitmap(readHeader(event.data as ArrayBuffer).jpeg).then((bitmap) => {
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.style.setProperty('--ratio', String(bitmap.width / bitmap.height));
      }
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      bitmap.close();
      canvas.dataset.frames = String(Number(canvas.dataset.frames ?? 0) + 1);
    });
  };
  socket.onclose = (event) => {
    $('status').textContent = event.reason || 'disconnected';
    $('status').dataset.state = 'error';
    // The painter may come back: try again in a few seconds.
    setTimeout(connect, 3000);
  };
}

/** A full-screen toggle (the button, or a double-click on the stream), where the browser allows it. */
function setUpFullscreen(button: HTMLButtonElement): void {
  if (!document.fullscreenEnabled) return;
  const toggle = (): void => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void document.documentElement.requestFullscreen();
  };
  button.hidden = false;
  button.addEventListener('click', toggle);
  canvas.addEventListener('dblclick', toggle);
  document.addEventListener('fullscreenchange', () => {
    button.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
  });
}

connect();
