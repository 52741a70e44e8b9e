/**
 * `latestWins(project, onDrop, gate?)`: run `project` on one value at a time; while it runs, keep
 * only the newest arrival (older pending values are dropped and reported). Real time drops frames,
 * it never queues them. When the source completes, the value in hand and the pending one (if
 * any) still finish, then the output completes. Unsubscribing tears the running inner down.
 *
 * With a `gate` (a stream's turn at the painter), each run first waits for the gate and only then
 * takes the newest value: frames that arrive while the stream waits for its turn replace each
 * other too, so the painter always gets the freshest frame. The gate's ticket is handed to
 * `project`, which must release it.
 */
import { Observable, type ObservableInput, type OperatorFunction, from, type Subscription } from 'rxjs';

export function latestWins<T, R, G = undefined>(
  project: (value: T, ticket: G) => ObservableInput<R>,
  onDrop: (dropped: T) => void = () => undefined,
  gate?: { acquire: () => Promise<G>; release: (ticket: G) => void },
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let inner: Subscription | undefined;
      let pending: { value: T } | undefined;
      let sourceDone = false;
      let closed = false;

      const finishOne = (): void => {
        busy = false;
        inner = undefined;
        if (pending) start();
        else if (sourceDone) subscriber.complete();
      };

      const run = (value: T, ticket: G): void => {
        busy = true;
        const subscription = from(project(value, ticket)).subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: finishOne,
        });
        // Work that finished synchronously (or started the next value) already moved on.
        if (busy && inner === undefined) inner = subscription;
      };

      /** Takes the pending value: at once without a gate, else once the gate opens. */
      const start = (): void => {
        busy = true;
        if (!gate) {
          const next = pending!;
          pending = undefined;
          run(next.value, undefined as G);
          return;
        }
        gate.acquire().then(
          (ticket) => {
            if (closed || !pending) {
              gate.release(ticket);
              busy = false;
              if (!closed && sourceDone) subscriber.complete();
              return;
            }
            const next = pending;
            pending = undefined;
            run(next.value, ticket);
          },
          (error: unknown) => {
            if (!closed) subscriber.error(error);
          },
        );
      };

      const outer = source.subscribe({
        next: (value) => {
          if (pending) onDrop(pending.value);
          pending = { value };
          if (!busy) start();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) subscriber.complete();
        },
      });

      return () => {
        closed = true;
        outer.unsubscribe();
        inner?.unsubscribe();
        if (pending) onDrop(pending.value);
        pending = undefined;
      };
    });
}
