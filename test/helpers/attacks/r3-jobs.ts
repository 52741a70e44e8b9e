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
