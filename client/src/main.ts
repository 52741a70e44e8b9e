/**
 * The page: pick a source (camera or a video file), a style and the painting settings; see the
 * stylized stream beside the source, with live stats.
 */
import { LiveClient, type LiveConfig, type MotionMode, type PainterMode } from './live-client.js';
import type { PageConfig } from '../../server/http/page-config.js';
import type { StatsMessage } from '../../server/live/protocol.js';
import { setUpStyleGallery } from './style-gallery.js';
import { setUpVideoJobs } from './video-job.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const video = $<HTMLVideoElement>('source');
const output = $<HTMLCanvasElement>('output');
const status = $('status');
const toast = $('toast');
let toastTimer: number | undefined;
/** Who can reach this server (GET /api/config); until it is known, the share note says nothing. */
let network: PageConfig['network'] | undefined;

function showError(message: string): void {
  toast.textContent = message;
  toast.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (toast.hidden = true), 6000);
}

const client = new LiveClient(video, output, {
  onStatus(state, text) {
    status.dataset.state = state === 'live' ? 'live' : state === 'error' ? 'error' : 'idle';
    status.textContent = text;
    if (state === 'error') showError(`Connection closed: ${text}`);
  },
  onReady(model, config, limits) {
    $('model').textContent = `· ${model}`;
    // The sliders go no further than this server allows.
    if (limits) {
      $<HTMLInputElement>('size').max = String(limits.maxSize);
      $<HTMLInputElement>('steps').max = String(limits.maxSteps);
    }
    showConfig(config);
  },
  onLimited(limited) {
    const said = Object.entries(limited).map(([field, { asked, used }]) => `${field} ${asked} is over this server's limit; using ${used}`);
    showError(said.join('; '));
  },
  onStats(stats, latency) {
    $('stat-out').textContent = stats.outputFps.toFixed(1);
    $('stat-in').textContent = stats.inputFps.toFixed(1);
    $('stat-latency').textContent = latency === undefined ? '–' : String(latency);
    $('stat-dropped').textContent = String(stats.framesDropped);
    $('stat-steps').textContent = String(stats.stepsPerFrame);
    $('stat-size').textContent = stats.width ? `${stats.width}×${stats.height}` : '–';
    $('stat-viewers').textContent = String(stats.viewers);
    const painter = describePainter(stats.painter);
    $('stat-painter').textContent = painter.state;
    $('stat-painter-detail').textContent = painter.detail;
    $('stat-painter').parentElement!.title = painterLosses(stats.painter) || PAINTER_TITLE;
  },
  onError: showError,
});

// Sliders: weights move on a log scale (10^x), the rest as they are. Their ranges and starting
// values are the server's (GET /api/config, then `ready`): the page keeps no copy of them.
type SliderKey = keyof PageConfig['ranges'];
interface Slider {
  id: string;
  key: SliderKey;
  map: (v: number) => number;
  unmap: (v: number) => number;
  show: (v: number) => string;
}
const identity = { map: (v: number) => v, unmap: (v: number) => v };
// 0 on a weight's slider is 10^0 = 1; on the temporal weight's, off.
const logScale = { map: (v: number) => Number((10 ** v).toPrecision(2)), unmap: (v: number) => (v > 0 ? Math.log10(v) : 0) };
const sliders: Slider[] = [
  { id: 'steps', key: 'steps', ...identity, show: String },
  { id: 'size', key: 'size', ...identity, show: String },
  // Log-scaled on the server's side (engine/style-strength.ts): even steps here look even.
  { id: 'strength', key: 'styleStrength', ...identity, show: (v) => `${Math.round(v * 100)} %` },
  { id: 'fps', key: 'targetFps', ...identity, show: (v) => (v === 0 ? 'off' : String(v)) },
  { id: 'temporal', key: 'temporalWeight', ...logScale, map: (v) => (v === 0 ? 0 : logScale.map(v)), show: (v) => (v === 0 ? 'off' : v.toExponential(0)) },
];

/** Words for the menus' choices (a choice the page has no words for shows its name). */
const CHOICE_LABELS: Record<string, string> = {
  flow: 'Optical flow (steadiest)',
  residual: 'Content change only (cheaper)',
  none: "Don't (fastest; moving things smear)",
  off: 'Off (the optimiser alone)',
  keyframes: "The style's stroke painter, taught by the optimiser's keyframes (full size, fastest)",
  learned: 'Learn the style from my frames, then paint at full size (experimental)',
};

/** The server's ranges and choices on the controls, then its defaults (GET /api/config). */
function showPageConfig(page: PageConfig): void {
  for (const s of sliders) {
    const input = $<HTMLInputElement>(s.id);
    const range = page.ranges[s.key];
    input.min = String(s.unmap(range.min));
    input.max = String(s.unmap(range.max));
  }
  fillChoices($<HTMLSelectElement>('motion'), page.choices.motion);
  fillChoices($<HTMLSelectElement>('painter'), page.choices.painter);
  $<HTMLInputElement>('job-painter').checked = page.video.painter === 'learned';
  network = page.network;
  showShareNote();
  showConfig(page);
}

/**
 * Under the share link: whether others can open it. On loopback (the default --host) only this
 * computer can, and the note says how to share on a network; opened as localhost on a server that
 * does listen on the network, the link needs this computer's address instead.
 */
function showShareNote(): void {
  const note = $('share-note');
  const onThisMachine = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  const code = (text: string): HTMLElement => Object.assign(document.createElement('code'), { textContent: text });
  if (network?.loopbackOnly) {
    note.replaceChildren(
      'Only this computer can open it: the server listens on 127.0.0.1. To share it on your network, start it with ',
      code('npm start -- --host 0.0.0.0'),
      " and put this computer's network address in the link.",
    );
  } else if (network && onThisMachine) {
    note.replaceChildren("Others on your network open it with this computer's network address in place of ", code(location.hostname), '.');
  } else {
    note.replaceChildren();
  }
  note.hidden = note.childNodes.length === 0;
}

function fillChoices(select: HTMLSelectElement, choices: readonly string[]): void {
  select.replaceChildren(...choices.map((choice) => new Option(CHOICE_LABELS[choice] ?? choice, choice)));
}

/** Puts the server's settings on the controls (a server started with --size 96 shows 96). */
function showConfig(config: Omit<LiveConfig, 'style'>): void {
  for (const s of sliders) {
    const value = config[s.key];
    if (typeof value !== 'number' && value !== null) continue;
    const input = $<HTMLInputElement>(s.id);
    input.value = String(s.unmap(value ?? 0));
    input.dispatchEvent(new Event('input'));
  }
  if (typeof config.preserveColors === 'boolean') $<HTMLInputElement>('preserve').checked = config.preserveColors;
  if (config.motion) $<HTMLSelectElement>('motion').value = config.motion;
  if (config.painter) $<HTMLSelectElement>('painter').value = config.painter;
}

/** The painter tile's own words, kept for when there are no losses to show instead. */
const PAINTER_TITLE = $('stat-painter').parentElement!.title;

/**
 * The painter's state as the tile's value ("learning", "painting" or "off") and its progress as
 * the line under the label ("151 steps · 265 frames"): the value stays one short word, so the
 * stats row never grows with the numbers.
 */
function describePainter(painter: StatsMessage['painter']): { state: string; detail: string } {
  if (!painter) return { state: 'off', detail: '' };
  return { state: painter.state === 'ready' ? 'painting' : 'learning', detail: `${painter.steps} steps · ${painter.framesSeen} frames` };
}

/** How the painter's last judged loss compares with the pictures the stream showed (lower is better). */
function painterLosses(painter: StatsMessage['painter']): string {
  if (!painter || painter.loss === null) return '';
  const shown = painter.shownLoss === null ? '' : `; the pictures shown for the same frames: ${painter.shownLoss.toExponential(2)}`;
  return `Its loss on the newest frame (the style and content costs it learns by): ${painter.loss.toExponential(2)}${shown}`;
}

const styles = setUpStyleGallery((id) => client.configure({ style: id }));

/** What each slider says now, in the setting's own units. */
function sliderValues(): Record<SliderKey, number> {
  return Object.fromEntries(sliders.map((s) => [s.key, s.map(Number($<HTMLInputElement>(s.id).value))])) as Record<SliderKey, number>;
}

function currentConfig(): LiveConfig {
  const values = sliderValues();
  const config: LiveConfig = {
    ...values,
    // A target rate of 0 is none.
    targetFps: values.targetFps === 0 ? null : values.targetFps,
    preserveColors: $<HTMLInputElement>('preserve').checked,
    motion: $<HTMLSelectElement>('motion').value as MotionMode,
    painter: $<HTMLSelectElement>('painter').value as PainterMode,
  };
  const style = styles.selected();
  if (style) config.style = style;
  return config;
}

for (const s of sliders) {
  const input = $<HTMLInputElement>(s.id);
  const show = (): void => {
    $(`${s.id}-value`).textContent = s.show(s.map(Number(input.value)));
  };
  // Shown once the server's values are on it (showConfig sends 'input').
  input.addEventListener('input', show);
  input.addEventListener('change', () => client.configure({ [s.key]: currentConfig()[s.key] }));
}
$<HTMLSelectElement>('motion').addEventListener('change', (e) => client.configure({ motion: (e.target as HTMLSelectElement).value as MotionMode }));
$<HTMLSelectElement>('painter').addEventListener('change', (e) => client.configure({ painter: (e.target as HTMLSelectElement).value as PainterMode }));
$<HTMLInputElement>('preserve').addEventListener('change', (e) => client.configure({ preserveColors: (e.target as HTMLInputElement).checked }));

/** The room this page publishes to: created once (POST /api/rooms), then reused. */
let grant: { room: string; publishToken: string; viewUrl: string } | undefined;

async function start(): Promise<void> {
  const wanted = $<HTMLInputElement>('room').value.trim();
  if (!grant || (wanted && wanted !== grant.room)) {
    const response = await fetch('/api/rooms', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(wanted ? { room: wanted } : {}),
    });
    const body = (await response.json()) as typeof grant & { error?: { message: string } };
    if (!response.ok || !body) return showError(body?.error?.message ?? `could not create the room (${response.status})`);
    grant = body;
    $<HTMLInputElement>('room').value = grant.room;
    const link = new URL(grant.viewUrl, location.href).href;
    const share = $<HTMLAnchorElement>('share-link');
    share.href = link;
    share.textContent = link;
    $('share').hidden = false;
    showShareNote();
  }
  // Only the chosen style: the other settings start as the server has them (see onReady).
  const style = styles.selected();
  client.connect(grant.room, grant.publishToken, style ? { style } : {});
  $<HTMLButtonElement>('stop').disabled = false;
}

$('copy-link').addEventListener('click', () => {
  void navigator.clipboard?.writeText($<HTMLAnchorElement>('share-link').href);
});

$('start-camera').addEventListener('click', async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 } }, audio: false });
    releaseSource();
    video.srcObject = stream;
    await video.play();
    await start();
  } catch (error) {
    showError(`Camera unavailable: ${(error as Error).message}`);
  }
});

$<HTMLInputElement>('video-file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  releaseSource();
  video.src = URL.createObjectURL(file);
  video.loop = true;
  await video.play();
  await start();
});

$('stop').addEventListener('click', () => {
  client.disconnect();
  video.pause();
  releaseSource();
  $<HTMLButtonElement>('stop').disabled = true;
});

/** Turns the camera off and frees a played file's object URL: the source being replaced or stopped. */
function releaseSource(): void {
  (video.srcObject as MediaStream | null)?.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  if (video.src.startsWith('blob:')) URL.revokeObjectURL(video.src);
  video.removeAttribute('src');
}

void fetch('/api/config')
  .then((r) => r.json() as Promise<PageConfig>)
  .then(showPageConfig)
  .catch(() => undefined);
void styles.load().catch((error: unknown) => showError(`Could not load styles: ${(error as Error).message}`));

setUpVideoJobs(() => {
  const values = sliderValues();
  return {
    style: styles.selected(),
    size: values.size,
    stepsPerFrame: values.steps,
    styleStrength: values.styleStrength,
    preserveColors: $<HTMLInputElement>('preserve').checked,
    motion: $<HTMLSelectElement>('motion').value as MotionMode,
    temporalWeight: values.temporalWeight,
  };
}, showError);
