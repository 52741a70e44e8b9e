/** Test clips made with ffmpeg's lavfi sources, and ffprobe facts about outputs. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function makeClip(file: string, args: string[]): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-y', ...args, file]);
  return file;
}

export interface StreamFacts {
  frames: number;
  fps: number;
  durationS: number;
  width: number;
  height: number;
  codec: string;
  pixFmt: string;
  audio: { codec: string; channels: number } | undefined;
}

export async function probe(file: string): Promise<StreamFacts> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file]);
  const data = JSON.parse(stdout) as {
    streams: { codec_type: string; codec_name: string; nb_read_frames?: string; r_frame_rate: string; width?: number; height?: number; pix_fmt?: string; channels?: number }[];
    format: { duration: string };
  };
  const v = data.streams.find((s) => s.codec_type === 'video')!;
  const a = data.streams.find((s) => s.codec_type === 'audio');
  const [n, d] = v.r_frame_rate.split('/').map(Number);
  return {
    frames: Number(v.nb_read_frames),
    fps: n! / (d || 1),
    durationS: Number(data.format.duration),
    width: v.width!,
    height: v.height!,
    codec: v.codec_name,
    pixFmt: v.pix_fmt ?? '',
    audio: a ? { codec: a.codec_name, channels: a.channels ?? 0 } : undefined,
  };
}
