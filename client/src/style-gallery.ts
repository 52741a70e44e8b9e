/**
 * The style panel: the gallery of styles (GET /api/styles) with one selected, and "Upload your
 * own…" (POST /api/styles), which says what it is doing — uploading, added, or the server's
 * reason for refusing — because a style takes a moment to arrive and a refusal was silent before.
 */

export interface StyleGallery {
  /** The chosen style's id; undefined until the list has loaded. */
  selected(): string | undefined;
  /** Reloads the list, then selects `select` (or keeps the current choice, or takes the first). */
  load(select?: string): Promise<void>;
}

interface StyleEntry {
  id: string;
  name: string;
  url: string;
}

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
      const id = await uploadStyle(file);
      await load(id);
      show('done', `Added ${file.name} and selected it.`);
    } catch (error) {
      show('error', `Not added: ${(error as Error).message}`);
    } finally {
      // Lets the same file be chosen again (after fixing it, or to retry).
      input.value = '';
    }
  });

  return { selected: () => selected, load };
}

/** POST /api/styles; resolves with the new style's id, or rejects with the server's own message. */
async function uploadStyle(file: File): Promise<string> {
  const form = new FormData();
  form.append('image', file);
  let response: Response;
  try {
    response = await fetch('/api/styles', { method: 'POST', body: form });
  } catch (error) {
    throw new Error(`the server could not be reached (${(error as Error).message})`);
  }
  // Errors come as {"error":{"code","message"}}; a proxy in between may answer something else.
  const body = (await response.json().catch(() => undefined)) as { id?: string; error?: { message?: string } } | undefined;
  if (!response.ok || !body?.id) throw new Error(body?.error?.message ?? `the upload failed (HTTP ${response.status})`);
  return body.id;
}
