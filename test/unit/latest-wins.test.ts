/** Marble tests for the latest-frame-wins operator. */
import { finalize, map, mergeMap, of, throwError, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { latestWins } from '../../server/live/latest-wins.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A fake stylizer that takes `ms` frames of virtual time and upper-cases its input. */
const slow = (ms: number) => (v: string): Observable<string> => timer(ms).pipe(map(() => v.toUpperCase()));

describe('latestWins', () => {
  it('passes values through when nothing overlaps', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold(' a----b----c|');
      expectObservable(source.pipe(latestWins(slow(2)))).toBe('--A----B----(C|)');
    });
  });

  it('keeps only the newest value that arrives while busy, and counts drops', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const dropped: string[] = [];
      // a starts at 0 and takes 4; b, c, d arrive meanwhile: b and c are dropped, d runs next.
      const source = cold(' abcd--------e|');
      expectObservable(source.pipe(latestWins(slow(4), (v) => dropped.push(v)))).toBe('----A---D-------(E|)');
      flush();
      expect(dropped).toEqual(['b', 'c']);
    });
  });

  it('keeps order: outputs follow inputs', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold(' ab-c-d-e|');
      // a(0–2) → b pending → b(2–4); c at 3 pending → c(4–6); d at 5 pending → d(6–8); e(8–10).
      expectObservable(source.pipe(latestWins(slow(2)))).toBe('--A-B-C-D-(E|)');
    });
  });

  it('finishes the value in hand and the pending one after the source completes', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold(' ab|').pipe(latestWins(slow(3)))).toBe('---A--(B|)');
    });
  });

  it('tears down the running work on unsubscribe and reports the pending value as dropped', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const torn: string[] = [];
      const dropped: string[] = [];
      const project = (v: string) => timer(5).pipe(map(() => v), finalize(() => torn.push(v)));
      const source = cold(' ab-------');
      expectObservable(source.pipe(latestWins(project, (v) => dropped.push(v))), '^--!').toBe('----');
      flush();
      expect(torn).toEqual(['a']);
      expect(dropped).toEqual(['b']);
    });
  });

  it('handles work that completes synchronously', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold(' a-b-c|').pipe(latestWins((v: string) => of(v.toUpperCase())))).toBe('A-B-C|');
    });
  });

  it('propagates errors from the work', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const project = (v: string): Observable<string> =>
        v === 'b' ? timer(1).pipe(mergeMap(() => throwError(() => new Error('boom')))) : of(v);
      expectObservable(cold(' a-b-c').pipe(latestWins(project))).toBe('a--#', undefined, new Error('boom'));
    });
  });

  it('with a gate: waits for it, then takes the newest value (older ones are dropped meanwhile)', async () => {
    const { Subject, from } = await import('rxjs');
    const input = new Subject<number>();
    const dropped: number[] = [];
    const ran: number[] = [];
    let open: ((ticket: string) => void) | undefined;
    const released: string[] = [];
    const gate = {
      acquire: () => new Promise<string>((resolve) => (open = resolve)),
      release: (ticket: string) => released.push(ticket),
    };
    const out: number[] = [];
    const done = new Promise<void>((resolve) =>
      input
        .pipe(latestWins((v: number, ticket: string) => from(Promise.resolve(v * 10).then((r) => (ran.push(v), gate.release(ticket), r))), (v) => dropped.push(v), gate))
        .subscribe({ next: (v) => out.push(v), complete: resolve }),
    );
    input.next(1);
    input.next(2);
    input.next(3); // all three arrive while the stream waits for its turn
    open!('t1');
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual([3]);
    expect(dropped).toEqual([1, 2]);
    input.next(4);
    input.complete();
    open!('t2');
    await done;
    expect(out).toEqual([30, 40]);
    expect(released).toEqual(['t1', 't2']);
  });
});
