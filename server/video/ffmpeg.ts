/**
 * The only module that talks to ffmpeg (through fluent-ffmpeg): probing and decoding video into
 * raw RGB frames. Only file inputs, with the protocol whitelist pinned to `file`.
 */
import type { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { StylizeError, ErrorCode } from '../errors.js';

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  durationS: number;
  frames: number | undefined;
  hasAudio: boolean;
  format: string;
}

export class VideoError extends StylizeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BAD_INPUT, message, options);
  }
}

function parseRate(rate: string | undefined): number {
  const [n, d] = (rate ?? '0/1').split('/').map(Number);
  return d ? n! / d : n!;
}

export function probeVideo(file: string): Promise<VideoInfo> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, ['-protocol_whitelist', 'file'], (error, data) => {
      if (error) return reject(new VideoError(`${file}: not a video ffprobe can read`, { cause: error }));
      const video = data.streams.find((s) => s.codec_type === 'video');
      if (!video?.width || !video.height) return reject(new VideoError(`${file}: no video stream`));
      resolve({
        width: video.width,
        height: video.height,
        fps: parseRate(video.r_frame_rate) || parseRate(video.avg_frame_rate),
        durationS: Number(data.format.duration ?? video.duration ?? 0),
        frames: video.nb_frames && video.nb_frames !== 'N/A' ? Number(video.nb_frames) : undefined,
        hasAudio: data.streams.some((s) => s.codec_type === 'audio'),
        format: data.format.format_name ?? 'unknown',
      });
    });
  });
}

/**
 * Decodes every frame as packed RGB at width×height (scaled by ffmpeg), in order. The child
 * process is killed if the consumer stops early.
 */
export async function* decodeRgbFrames(file: string, width: number, height: number): AsyncGenerator<Uint8Array> {
  const frameBytes = width * height * 3;
  const command = ffmpeg(file)
    .inputOptions(['-protocol_whitelist', 'file'])
    .noAudio()
    .videoFilters(`scale=${width}:${height}`)
    .outputOptions(['-f', 'rawvideo', '-pix_fmt', 'rgb24']);
  const failed: { error?: Error } = {};
  command.on('error', (error: Error) => {
    failed.error = error;
  });
  const stream = command.pipe() as PassThrough;
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream) {
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
      while (pending.length >= frameBytes) {
        yield new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
      }
    }
    if (failed.error && !/SIGKILL/.test(failed.error.message)) throw new VideoError(`decoding ${file} failed: ${failed.error.message}`, { cause: failed.error });
  } finally {
    command.kill('SIGKILL');
  }
}
