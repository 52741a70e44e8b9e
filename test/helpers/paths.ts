import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Real photos, paintings and clips kept in the repository (provenance: fixtures/SOURCES.md). */
export const FIXTURES = path.join(ROOT, 'fixtures');
export const CAT = path.join(FIXTURES, 'content/chelsea_cat.jpg');
export const ASTRONAUT = path.join(FIXTURES, 'content/astronaut_eileen_collins.jpg');
export const WAVE = path.join(FIXTURES, 'styles/wave.jpg');
export const STARRY_NIGHT = path.join(FIXTURES, 'styles/starry_night.jpg');
/** Big Buck Bunny, 5 s, H.264 + AAC (has an audio track). */
export const BBB_MP4 = path.join(FIXTURES, 'video/bbb_320x180_5s_h264_aac.mp4');
/** Big Buck Bunny, 10 s, VP9 WebM, no audio. */
export const BBB_WEBM = path.join(FIXTURES, 'video/bbb_320x180_10s_vp9.webm');
/** A real camera clip of a cockatoo, 6 s, 640×360, 20 fps. */
export const COCKATOO = path.join(FIXTURES, 'video/cockatoo_640x360_6s_h264.mp4');
/** The ImageNet VGG19 blocks 1–3 shipped in git (float16, our store format). */
export const SHIPPED_VGG19 = path.join(ROOT, 'models/vgg19-blocks1-3');

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'stylize-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}
