/**
 * Splitting a video into chunks that workers stylize independently. Each chunk starts decoding a
 * few "burn-in" frames early: they are stylized (warm-starting one from the next) and thrown
 * away, so the first kept frame of a chunk is warm-started like any other and no seam shows.
 */
export interface Chunk {
  index: number;
  /** First frame whose output is kept. */
  start: number;
  /** One past the last frame. */
  end: number;
  /** First frame decoded and stylized (≤ start): start − burn-in, or 0. */
  decodeFrom: number;
}

export interface ChunkPlanOptions {
  /** Frames per chunk (the last may be shorter). */
  chunkFrames: number;
  /** Frames decoded before each chunk but the first, output discarded. */
  burnIn: number;
}

export function planChunks(totalFrames: number, { chunkFrames, burnIn }: ChunkPlanOptions): Chunk[] {
  if (!(totalFrames > 0)) return [];
  const size = Math.max(1, Math.floor(chunkFrames));
  const chunks: Chunk[] = [];
  for (let start = 0, index = 0; start < totalFrames; start += size, index++) {
    chunks.push({ index, start, end: Math.min(totalFrames, start + size), decodeFrom: Math.max(0, start - burnIn) });
  }
  return chunks;
}

/** About two seconds a chunk, at least four times the burn-in, so the overhead stays small. */
export function defaultChunkFrames(fps: number, burnIn: number): number {
  return Math.max(4 * burnIn, Math.round(2 * fps));
}

/**
 * At most `longest` frames a chunk, and a chunk count that is a multiple of the workers, so no
 * worker idles while another paints the last chunk alone.
 */
export function balancedChunkFrames(totalFrames: number, workers: number, longest: number): number {
  const rounds = Math.max(1, Math.ceil(totalFrames / (workers * longest)));
  return Math.max(1, Math.ceil(totalFrames / (workers * rounds)));
}
