/**
 * Round 3 (issue 20) attacks on the jobs side. 20.11: a stranger who knows a job's id tries to
 * cancel and delete it (no token, a wrong one); only the owner token the submit answered works.
 */
import { readFile } from 'node:fs/promises';
import { answerKey, answerWithin, count, postMultipart, request, type AttackResult, type Bounds, type Target } from './http.js';

/** 20.11: DELETE /api/jobs/:id without the owner token, with a wrong one, then with the right one. */
export async function jobDeleteByStranger(target: Target, { video, ...bounds }: Bounds & { video: string }): Promise<AttackResult> {
  const answers = {};
  const timeoutMs = answerWithin(bounds);
  const from = target.from ? { from: target.from } : {};
  const submit = await postMultipart(`${target.baseUrl}/api/jobs`, [{ name: 'video', filename: 'clip.mp4', contentType: 'video/mp4', data: await readFile(video) }, { name: 'size', data: '32' }], { timeoutMs, ...from });
  count(answers, `submit: ${answerKey(submit)}`);
  if (submit.status !== 202) return { attack: 'delete a job by its id alone', answers, observed: { submit: submit.body.slice(0, 200) } };
  const { id, ownerToken } = JSON.parse(submit.body) as { id: string; ownerToken?: string };
  const del = (headers: Record<string, string>) => request(`${target.baseUrl}/api/jobs/${id}`, { method: 'DELETE', headers, timeoutMs, ...from });
  const stranger = await del({});
  count(answers, `DELETE without a token: ${answerKey(stranger)}`);
  const wrong = await del({ authorization: 'Bearer not-the-token' });
  count(answers, `DELETE with a wrong token: ${answerKey(wrong)}`);
  const after = JSON.parse((await request(`${target.baseUrl}/api/jobs/${id}`, { timeoutMs, ...from })).body) as { status?: string };
  const owner = ownerToken ? await del({ authorization: `Bearer ${ownerToken}` }) : undefined;
  if (owner) count(answers, `DELETE with the owner token: ${answerKey(owner)}`);
  return {
    attack: 'delete a job by its id alone',
    answers,
    observed: { ownerTokenGiven: ownerToken !== undefined, statusAfterStranger: after.status, ownerDelete: owner ? (JSON.parse(owner.body) as { status?: string }).status : undefined },
  };
}

/**
 * 20.4: client A (the attacker's address) submits two long jobs; then client B (the default
 * address) submits a short one. Observed: B's seconds from submit to done, and whether A's jobs
 * were still going when B's ended (before: B waited for A's jobs to end).
 */
export async function queueHogging(target: Target, { video, shortVideo, ...bounds }: Bounds & { video: string; shortVideo: string }): Promise<AttackResult> {
  const answers = {};
  const timeoutMs = answerWithin(bounds);
  const fields = [{ name: 'size', data: '32' }, { name: 'stepsPerFrame', data: '2' }];
  const post = async (file: string, from: Target['from']) =>
    postMultipart(`${target.baseUrl}/api/jobs`, [{ name: 'video', filename: 'clip.mp4', contentType: 'video/mp4', data: await readFile(file) }, ...fields], { timeoutMs, ...(from ? { from } : {}) });
  const hogs: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const res = await post(video, target.from);
    count(answers, `A submit: ${answerKey(res)}`);
    if (res.status === 202) hogs.push((JSON.parse(res.body) as { id: string }).id);
  }
  const started = Date.now();
  const short = await post(shortVideo, undefined);
  count(answers, `B submit: ${answerKey(short)}`);
  if (short.status !== 202) return { attack: 'one client holds the job queue', answers, observed: {} };
  const id = (JSON.parse(short.body) as { id: string }).id;
  const statusOf = async (job: string): Promise<string> => ((JSON.parse((await request(`${target.baseUrl}/api/jobs/${job}`, { timeoutMs })).body) as { status?: string }).status ?? '?');
  let status = 'queued';
  const until = started + Math.max(bounds.durationMs, 240_000);
  while (!['done', 'failed', 'canceled'].includes(status) && Date.now() < until && !bounds.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 500));
    status = await statusOf(id);
  }
  const hogStates = await Promise.all(hogs.map(statusOf));
  return {
    attack: 'one client holds the job queue',
    answers,
    observed: { bStatus: status, bSeconds: Math.round((Date.now() - started) / 100) / 10, aJobsWhenBEnded: hogStates.join(',') },
  };
}
