/**
 * The style panel: the gallery of styles (GET /api/styles) with one selected, and "Upload your
 * own…" (POST /api/styles), which says what it is doing — uploading, added, or the server's
 * reason for refusing — because a style takes a moment to arrive and a refusal was silent before.
 * An uploaded style learns its live painter in the server's background: its tile says so
 * ("learning…", then "painter ready"), re-read every few seconds while any is learning.
 */

export interface StyleGallery {
  /** The chosen style's id; undefined until the list has loaded. */
  selected(): string | undefined;
  /** Reloads the list, then selects `select` (or keeps the current choice, or takes the first). */
  load(select?: string): Promise<void>;
}

interface PainterStatus {
  state: 'waiting' | 'learning' | 'ready' | 'failed' | 'dropped';
  steps?: number;
  reason?: string;
}

interface StyleEntry {
  id: string;
  name: string;
  url: string;
  /** Uploads only: how far the background training of its live painter is. */
  painter?: PainterStatus;
}

const BADGE: Record<PainterStatus['state'], { text: string; title: string }> = {
  waiting: { text: 'painter queued', title: 'Its live painter starts learning once the styles before it have learnt theirs.' },
  learning: { text: 'learning…', title: 'The optimiser is painting keyframes in this style and the server is teaching its live painter to copy them (a few minutes, in the background). Until then a stream in it is painted by the optimiser; once ready, the painter paints every frame at full size.' },
  ready: { text: 'painter ready', title: 'A live painter has learnt this style: a stream in it paints at full size from its first frame.' },
  failed: { text: '', title: '' },
  dropped: { text: 'painter not learnt', title: 'Too many styles were waiting to learn their live painter, so this one was skipped: the optimiser paints a stream in it.' },
};
/** While a painter learns, the list is re-read this often (at most this many times). */
const TRAINING_POLL_MS = 5000;
const TRAINING_POLLS = 120;

type UploadState = 'uploading' | 'done' | 'error';

/** How long "added" stays up; an error stays until the next upload. */
const DONE_MESSAGE_MS = 5000;

export function setUpStyleGallery(onChoose: (id: string) => void): StyleGallery {
  const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  const gallery = $('gallery');
  const input = $<HTMLInputElement>('style-upload');
  const button = $('style-upload-button');
  const label = $('style-upload-label');
  const status = $('style-upload-status');
  const idleLabel = label.textContent ?? '';
  let selected: string | undefined;
  let doneTimer: number | undefined;
  let pollTimer: number | undefined;
  let polls = 0;

  function choose(id: string | undefined): void {
    if (!id) return;
    selected = id;
    for (const b of gallery.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-selected', String(b.dataset.style === id));
    onChoose(id);
  }

  async function load(select?: string): Promise<void> {
    const styles = (await (await fetch('/api/styles')).json()) as StyleEntry[];
    gallery.replaceChildren(...styles.map(styleButton));
    choose(select ?? selected ?? styles[0]?.id);
    watchTraining(styles);
  }

  /** Badges follow the server's training without rebuilding the gallery (the choice stays). */
  function watchTraining(styles: StyleEntry[]): void {
    window.clearTimeout(pollTimer);
    const learning = styles.some((s) => s.painter?.state === 'waiting' || s.painter?.state === 'learning');
    if (!learning || polls >= TRAINING_POLLS) return;
    pollTimer = window.setTimeout(async () => {
      polls++;
      // A failed read (server restarting, network away) keeps the badges and tries again later.
      const latest = await fetch('/api/styles')
        .then((r) => r.json() as Promise<StyleEntry[]>)
        .catch(() => styles);
      for (const s of latest) {
        const tile = gallery.querySelector<HTMLButtonElement>(`button[data-style="${CSS.escape(s.id)}"]`);
        if (tile) setBadge(tile, s.painter);
      }
      watchTraining(latest);
    }, TRAINING_POLL_MS);
  }

  function setBadge(tile: HTMLButtonElement, painter: PainterStatus | undefined): void {
    tile.querySelector('.painter-badge')?.remove();
    const badge = painter ? BADGE[painter.state] : undefined;
    if (!painter || !badge?.text) return;
    const span = document.createElement('span');
    span.className = 'painter-badge';
    span.dataset.state = painter.state;
    span.textContent = badge.text;
    span.title = painter.reason ? `${badge.title} ${painter.reason}.` : badge.title;
    tile.append(span);
  }

  function styleButton(style: StyleEntry): HTMLButtonElement {
    const b = document.createElement('button');
    b.type = 'button';
    b.title = style.name;
    b.setAttribute('role', 'option');
    b.dataset.style = style.id;
    const img = document.createElement('img');
    img.src = style.url;
    img.alt = style.name;
    img.loading = 'lazy';
    b.append(img);
    setBadge(b, style.painter);
    b.addEventListener('click', () => choose(style.id));
    return b;
  }

  function show(state: UploadState, message: string): void {
    window.clearTimeout(doneTimer);
    const busy = state === 'uploading';
    input.disabled = busy;
    button.setAttribute('aria-disabled', String(busy));
    label.textContent = busy ? 'Uploading…' : idleLabel;
    status.dataset.state = state;
    status.setAttribute('role', state === 'error' ? 'alert' : 'status');
    const text = document.createElement('span');
    text.textContent = message;
    if (busy) {
      const spinner = document.createElement('span');
      spinner.className = 'spinner';
      spinner.setAttribute('aria-hidden', 'true');
      status.replaceChildren(spinner, text);
    } else {
      status.replaceChildren(text);
    }
    status.hidden = false;
    if (state === 'done') doneTimer = window.setTimeout(() => (status.hidden = true), DONE_MESSAGE_MS);
  }

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    show('uploading', `Uploading ${file.name}…`);
    try {
      const { id, painter } = await uploadStyle(file);
      polls = 0;
      await load(id);
      const learning = painter?.state === 'waiting' || painter?.state === 'learning';
      show('done', `Added ${file.name} and selected it.${learning ? ' Its live painter is learning in the background.' : ''}`);
    } catch (error) {
      show('error', `Not added: ${(error as Error).message}`);
    } finally {
      // Lets the same file be chosen again (after fixing it, or to retry).
      input.value = '';
    }
  });

  return { selected: () => selected, load };
}

/** POST /api/styles; resolves with the new style's id (and its painter's training), or rejects with the server's own message. */
async function uploadStyle(file: File): Promise<{ id: string; painter?: PainterStatus }> {
  const form = new FormData();
  form.append('image', file);
  let response: Response;
  try {
    response = await fetch('/api/styles', { method: 'POST', body: form });
  } catch (error) {
    throw new Error(`the server could not be reached (${(error as Error).message})`);
  }
  // Errors come as {"error":{"code","message"}}; a proxy in between may answer something else.
  const body = (await response.json().catch(() => undefined)) as { id?: string; painter?: PainterStatus; error?: { message?: string } } | undefined;
  if (!response.ok || !body?.id) throw new Error(body?.error?.message ?? `the upload failed (HTTP ${response.status})`);
  return { id: body.id, ...(body.painter ? { painter: body.painter } : {}) };
}
