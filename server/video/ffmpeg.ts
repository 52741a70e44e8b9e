/**
 * The only module that talks to ffmpeg (through fluent-ffmpeg): find the binaries, probe, decode
 * to raw RGB, encode raw RGB to H.264, and put the final MP4 together with the original audio.
 * Inputs are files only (`-protocol_whitelist file`), the demuxer is forced to the probed one,
 * and no user text ever becomes an argument: paths are ours, numbers are validated.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { LIMITS, readEnv } from '../config.js';
import { ErrorCode, FileNotFoundError, StylizeError } from '../errors.js';

export class VideoError extends StylizeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BAD_INPUT, message, options);
  }
}

/**
 * ffmpeg failed on a file we already accepted. The message is for users and says what failed;
 * ffmpeg's own last stderr lines (paths, versions, internals) are kept in `detail`, for the log.
 */
export class FfmpegError extends StylizeError {
  readonly detail: string;
  constructor(what: string, stderr: string, options?: { cause?: unknown }) {
    super(ErrorCode.INTERNAL, `${what} failed (ffmpeg could not process the video)`, options);
    this.detail = stderr.trim().split('\n').slice(-3).join(' | ');
  }
}

// ---- binaries -------------------------------------------------------------------------------

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  /** Where they came from: 'env', 'PATH' or 'npm'. */
  source: string;
}

let binaries: FfmpegBinaries | undefined;

/** FFMPEG_PATH/FFPROBE_PATH, else `ffmpeg`/`ffprobe` on PATH, else the optional npm packages. */
export function findFfmpeg(): FfmpegBinaries {
  if (binaries) return binaries;
  const env = readEnv();
  const onPath = (name: string): string | undefined =>
    env.searchPath.split(path.delimiter).map((dir) => path.join(dir, name)).find((file) => existsSync(file));
  let found: FfmpegBinaries | undefined;
  if (env.ffmpegPath && env.ffprobePath) found = { ffmpeg: env.ffmpegPath, ffprobe: env.ffprobePath, source: 'env' };
  else {
    const ff = onPath('ffmpeg');
    const fp = onPath('ffprobe');
    if (ff && fp) found = { ffmpeg: ff, ffprobe: fp, source: 'PATH' };
  }
  if (!found) {
    try {
      const require = createRequire(import.meta.url);
      const ff = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
      const fp = (require('@ffprobe-installer/ffprobe') as { path: string }).path;
      found = { ffmpeg: ff, ffprobe: fp, source: 'npm' };
    } catch (error) {
      throw new StylizeError(ErrorCode.INTERNAL, 'ffmpeg not found: install it (apt-get install ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH', {
        cause: error,
      });
    }
  }
  ffmpeg.setFfmpegPath(found.ffmpeg);
  ffmpeg.setFfprobePath(found.ffprobe);
  binaries = found;
  return found;
}

// ---- probe ----------------------------------------------------------------------------------

/** Containers we accept (ffprobe format names) and the demuxer we force when decoding them. */
const ALLOWED_FORMATS: Record<string, string> = {
  'mov,mp4,m4a,3gp,3g2,mj2': 'mov',
  'matroska,webm': 'matroska',
  avi: 'avi',
  mpegts: 'mpegts',
  ogg: 'ogg',
};
/** Audio codecs an MP4 can carry as they are; others are re-encoded to AAC. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus']);

export interface VideoLimits {
  maxDurationS: number;
  maxPixels: number;
}

/** The longest side of a video may be at most this many times its shortest (the one bound, config.ts LIMITS: live frames share it). */
export const MAX_ASPECT_RATIO = LIMITS.maxAspectRatio;

export const DEFAULT_VIDEO_LIMITS: VideoLimits = { maxDurationS: 600, maxPixels: 3840 * 2160 };

export interface VideoInfo {
  /** As displayed (rotation applied). */
  width: number;
  height: number;
  /** Frame rate as a rational string for ffmpeg ("30000/1001") and as a number. */
  rate: string;
  fps: number;
  durationS: number;
  frames: number;
  demuxer: string;
  audio: { codec: string; channels: number } | undefined;
  rotation: number;
  /**
   * The file's index of the video stream that was probed: decoding maps exactly this one (a
   * file can carry a small stream 0 beside an 8K stream 1). Absent in jobs stored before it
   * was recorded: the first video stream.
   */
  stream?: number;
  /**
   * Seconds from the file's start to the video stream's first frame (the audio can start
   * earlier): a seek to frame n goes to n / fps plus this.
   */
  startOffsetS?: number;
  /**
   * Variable frame rate: the frames are resampled to the constant `rate` (the stream's average),
   * which keeps the video's duration beside its audio. Such files are decoded from the start.
   */
  vfr?: boolean;
}

/** Containers whose index lets a decode start at a frame exactly (tested frame for frame). */
const SEEKABLE_DEMUXERS = new Set(['mov', 'matroska']);

/**
 * Counted frames against the duration at the nominal rate: fewer than this share of the frames
 * the nominal rate would give (and at least 2 fewer) makes a stream variable-rate.
 */
const VFR_FRAME_SHARE = 0.9;

/** `name`: how to call the file in messages (the user's own path); default "the file". */
export function probeVideo(file: string, limits: VideoLimits = DEFAULT_VIDEO_LIMITS, name?: string): Promise<VideoInfo> {
  findFfmpeg();
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, ['-protocol_whitelist', 'file', '-count_packets'], (error, data) => {
      if (error) {
        if (!existsSync(file)) return reject(new FileNotFoundError(name ?? file));
        return reject(new VideoError('not a video file that can be read (ffprobe could not open it)', { cause: error }));
      }
      const formatName = data.format.format_name ?? '';
      const demuxer = ALLOWED_FORMATS[formatName];
      if (!demuxer && isImageFormat(formatName)) {
        return reject(new VideoError(`${name ?? 'the file'} is an image, not a video: give a video file (MP4/MOV, WebM/MKV, AVI, MPEG-TS, Ogg)`));
      }
      if (!demuxer) return reject(new VideoError(`"${formatName}" is not an accepted video container (MP4/MOV, WebM/MKV, AVI, MPEG-TS, Ogg)`));
      const video = data.streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
      if (!video?.width || !video.height) return reject(new VideoError('the file has no video stream'));
      const declaredS = Number(data.format.duration ?? video.duration ?? 0);
      // Frames are counted from the stream's packets, never taken from the container's word:
      // a Duration field can say 10 s over an hour of frames.
      const counted = Number((video as { nb_read_packets?: string }).nb_read_packets ?? Number.NaN);
      const declared = Number(video.nb_frames ?? Number.NaN);
      // Truncated before variable-rate: a cut file also has fewer frames than its duration promises.
      const present = Number.isFinite(counted) && counted > 0 ? counted : undefined;
      if (present !== undefined && Number.isFinite(declared) && declared > present + 1) {
        return reject(new VideoError(`the file is truncated: ${present} of ${declared} frames are present`));
      }
      const timing = frameTiming(video, declaredS, counted);
      if (typeof timing === 'string') return reject(new VideoError(timing));
      const { rate, fps, frames, vfr } = timing;
      const durationS = Math.max(declaredS, frames / fps);
      if (!(frames > 0)) return reject(new VideoError('the video stream has no frames'));
      if (Number.isFinite(declared) && declared > frames + 1) {
        return reject(new VideoError(`the file is truncated: ${frames} of ${declared} frames are present`));
      }
      if (durationS > limits.maxDurationS) return reject(new VideoError(`video is ${Math.round(durationS)} s long; the limit is ${limits.maxDurationS} s`));
      const rotation = rotationOf(video);
      const swap = Math.abs(rotation) % 180 === 90;
      const width = swap ? video.height : video.width;
      const height = swap ? video.width : video.height;
      if (width * height > limits.maxPixels) return reject(new VideoError(`video is ${width}×${height}; the limit is ${limits.maxPixels} pixels`));
      if (Math.max(width, height) > MAX_ASPECT_RATIO * Math.min(width, height)) {
        return reject(new VideoError(`video is ${width}×${height}: its longest side may be at most ${MAX_ASPECT_RATIO} times its shortest`));
      }
      const audioStream = data.streams.find((s) => s.codec_type === 'audio');
      resolve({
        width,
        height,
        rate,
        fps,
        durationS,
        frames,
        demuxer,
        audio: audioStream ? { codec: audioStream.codec_name ?? 'unknown', channels: audioStream.channels ?? 0 } : undefined,
        rotation,
        stream: video.index,
        startOffsetS: startOffset(video.start_time, data.format.start_time),
        ...(vfr ? { vfr } : {}),
      });
    });
  });
}

interface FrameTiming {
  rate: string;
  fps: number;
  frames: number;
  vfr: boolean;
}

/**
 * The rate frames are decoded at and how many there are; a message when the rate is unusable.
 * A variable-rate stream (fewer frames than its nominal rate over its duration: a phone's VFR
 * recording, a stream with dropped frames) is resampled to its average rate, so a 5 s video
 * of 36 frames stays 5 s long instead of playing them at the nominal 24 fps in 1.5 s.
 */
function frameTiming(video: ffmpeg.FfprobeStream, declaredS: number, counted: number): FrameTiming | string {
  const nominal = video.r_frame_rate && video.r_frame_rate !== '0/0' ? video.r_frame_rate : (video.avg_frame_rate ?? '0/1');
  const nominalFps = parseRate(nominal);
  if (!(nominalFps > 0 && nominalFps <= 240)) return `unusable frame rate ${nominal}`;
  const haveCount = Number.isFinite(counted) && counted > 0;
  const frames = haveCount ? counted : Math.round(declaredS * nominalFps);
  const streamS = Number(video.duration ?? declaredS) || declaredS;
  const expected = streamS * nominalFps;
  if (!haveCount || !(frames < expected * VFR_FRAME_SHARE && frames < expected - 2) || !(streamS > 0)) {
    return { rate: nominal, fps: nominalFps, frames, vfr: false };
  }
  const average = video.avg_frame_rate && video.avg_frame_rate !== '0/0' ? video.avg_frame_rate : `${frames * 1000}/${Math.round(streamS * 1000)}`;
  const fps = parseRate(average);
  if (!(fps > 0 && fps <= 240)) return `unusable frame rate ${average}`;
  return { rate: average, fps, frames: Math.max(1, Math.round(streamS * fps)), vfr: true };
}

function startOffset(videoStart: string | number | undefined, fileStart: string | number | undefined): number {
  const offset = Number(videoStart ?? 0) - Number(fileStart ?? 0);
  return Number.isFinite(offset) && offset > 0 ? offset : 0;
}

/** ffprobe's still-image demuxers: image2, image2pipe, jpeg_pipe, png_pipe, webp_pipe, gif, … */
function isImageFormat(formatName: string): boolean {
  return /^(image2|image2pipe|gif|apng|ico|jpegxl_anim)$|_pipe$/.test(formatName);
}

function parseRate(rate: string): number {
  const [n, d] = rate.split('/').map(Number);
  return d ? n! / d : (n ?? 0);
}

function rotationOf(stream: ffmpeg.FfprobeStream): number {
  const tag = Number((stream.tags as Record<string, string> | undefined)?.rotate ?? Number.NaN);
  if (Number.isFinite(tag)) return tag;
  // fluent-ffmpeg flattens the display-matrix side data into the stream's own keys.
  const flat = Number((stream as { rotation?: number | string }).rotation ?? Number.NaN);
  if (Number.isFinite(flat)) return flat;
  const side = (stream as { side_data_list?: { rotation?: number }[] }).side_data_list?.find((s) => s.rotation !== undefined);
  return side?.rotation ?? 0;
}

// ---- decode ---------------------------------------------------------------------------------

/**
 * Frames [start, end) as packed RGB at width×height, in order, none dropped or duplicated.
 * ffmpeg applies the rotation; the child process is killed if the consumer stops early.
 */
export async function* decodeRgbFrames(
  file: string,
  info: VideoInfo,
  size: { width: number; height: number },
  range: { start: number; end: number } = { start: 0, end: info.frames },
): AsyncGenerator<Uint8Array> {
  findFfmpeg();
  const frameBytes = size.width * size.height * 3;
  let stderr = '';
  const plan = decodePlan(info, range);
  const command = ffmpeg(file)
    .inputOptions([...plan.seek, '-protocol_whitelist', 'file', '-f', info.demuxer])
    .noAudio()
    .videoFilters([...plan.filters, 'setpts=PTS-STARTPTS', `scale=${size.width}:${size.height}:flags=area`])
    .outputOptions(['-map', info.stream === undefined ? '0:v:0' : `0:${info.stream}`, '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24'])
    .on('stderr', (line: string) => {
      stderr = `${stderr}\n${line}`.slice(-4000);
    });
  // The output stream can end before fluent-ffmpeg reports the failure: wait for its verdict.
  const exited = new Promise<void>((resolve, reject) => {
    command.on('end', () => resolve()).on('error', (error: Error) => reject(new FfmpegError('decoding', stderr, { cause: error })));
  });
  exited.catch(() => undefined); // a consumer that stops early kills ffmpeg; that is no failure
  const stream = command.pipe() as PassThrough;
  // Each frame is filled piece by piece in its own buffer: one copy per byte, whatever the pipe's chunking.
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  let finished = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length; ) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          yield frame;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
    await exited;
    finished = true;
  } finally {
    if (!finished) command.kill('SIGKILL');
  }
}

/**
 * How a decode reaches frames [start, end). Where the container's index allows (MP4/MOV,
 * MKV/WebM) it seeks to half a frame before `start` — ffmpeg's accurate seek decodes from the
 * keyframe before it and drops what precedes, so the first frame out is frame `start` — and
 * takes `end − start` frames: a chunk's decode costs the same wherever it lies in the video. Other
 * containers (MPEG-TS seeks by byte and can land mid-GOP, AVI, Ogg) and variable-rate streams
 * are decoded from the start and trimmed by frame number, which is exact whatever the file.
 */
export function decodePlan(info: Pick<VideoInfo, 'demuxer' | 'fps' | 'rate' | 'startOffsetS' | 'vfr'>, range: { start: number; end: number }): { seek: string[]; filters: string[] } {
  const count = Math.max(0, range.end - range.start);
  if (info.vfr) {
    // The resampled stream can end a frame short of the count the duration promised: repeat the last.
    return { seek: [], filters: [`fps=${info.rate}`, 'tpad=stop_mode=clone:stop=2', `trim=start_frame=${range.start}:end_frame=${range.end}`] };
  }
  if (range.start > 0 && SEEKABLE_DEMUXERS.has(info.demuxer)) {
    const seekS = (range.start - 0.5) / info.fps + (info.startOffsetS ?? 0);
    return { seek: ['-ss', seekS.toFixed(6)], filters: [`trim=end_frame=${count}`] };
  }
  return { seek: [], filters: [`trim=start_frame=${range.start}:end_frame=${range.end}`] };
}

// ---- encode ---------------------------------------------------------------------------------

export interface FrameSink {
  /** Resolves when ffmpeg has taken the frame (backpressure). */
  write(rgb: Uint8Array): Promise<void>;
  /** Ends the input and waits for the file to be complete. */
  finish(): Promise<void>;
  /** Stops ffmpeg; the output is incomplete. Safe to call twice. */
  abort(): void;
}

/** An H.264 (yuv420p) video-only MP4 from raw RGB frames at `rate`, scaled to `outSize`. */
export function encodeH264(
  output: string,
  info: Pick<VideoInfo, 'rate'>,
  inSize: { width: number; height: number },
  outSize: { width: number; height: number },
): FrameSink {
  findFfmpeg();
  const input = new PassThrough({ highWaterMark: inSize.width * inSize.height * 3 * 2 });
  let stderr = '';
  const command = ffmpeg(input);
  const done = new Promise<void>((resolve, reject) => {
    command
      .inputFormat('rawvideo')
      .inputOptions(['-pix_fmt', 'rgb24', '-s', `${inSize.width}x${inSize.height}`, '-r', info.rate])
      .videoFilters(`scale=${outSize.width}:${outSize.height}:flags=lanczos`)
      .outputOptions(['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-r', info.rate, '-an', '-f', 'mp4'])
      .on('stderr', (line: string) => {
        stderr = `${stderr}\n${line}`.slice(-4000);
      })
      .on('error', (error: Error) => reject(new FfmpegError('encoding', stderr, { cause: error })))
      .on('end', () => resolve())
      .save(output);
  });
  done.catch(() => undefined);
  // If ffmpeg dies, its input is no longer read and 'drain' never comes: a write fails instead.
  const died = done.then(() => {
    throw new Error('ffmpeg stopped before taking every frame');
  });
  died.catch(() => undefined);
  let aborted = false;
  return {
    write: (rgb) => Promise.race([writeWithBackpressure(input, rgb), died]),
    async finish() {
      input.end();
      await done;
    },
    abort() {
      if (aborted) return;
      aborted = true;
      input.destroy();
      command.kill('SIGKILL');
    },
  };
}

function writeWithBackpressure(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(data, (error) => {
      if (error) reject(error);
    });
    if (ok) resolve();
    else stream.once('drain', () => resolve());
  });
}

/**
 * The final MP4: the video segments back to back (stream copy), the source's audio copied when
 * MP4 can hold it (else AAC), faststart.
 */
export async function assembleMp4(segments: string[], source: string, info: VideoInfo, output: string): Promise<void> {
  findFfmpeg();
  const list = `${output}.segments.txt`;
  await writeFile(list, segments.map((s) => `file '${path.resolve(s).replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const command = ffmpeg()
      .input(list)
      .inputOptions(['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file'])
      .input(source)
      .inputOptions(['-protocol_whitelist', 'file', '-f', info.demuxer])
      .outputOptions(['-map', '0:v:0', '-c:v', 'copy']);
    if (info.audio) {
      command.outputOptions(['-map', '1:a:0', '-c:a', MP4_AUDIO.has(info.audio.codec) ? 'copy' : 'aac']);
    }
    command
      .outputOptions(['-movflags', '+faststart', '-f', 'mp4'])
      .on('stderr', (line: string) => {
        stderr = `${stderr}\n${line}`.slice(-4000);
      })
      .on('error', (error: Error) => reject(new FfmpegError('assembling the MP4', stderr, { cause: error })))
      .on('end', () => resolve())
      .save(output);
  });
}
