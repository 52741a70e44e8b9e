/**
 * `latestWins(project, onDrop)`: run `project` on one value at a time; while it runs, keep only
 * the newest arrival (older pending values are dropped and reported). Real time drops frames,
 * it never queues them. When the source completes, the value in hand and the pending one (if
 * any) still finish, then the output completes. Unsubscribing tears the running inner down.
 */
import { Observable, type ObservableInput, type OperatorFunction, from, type Subscription } from 'rxjs';

export function latestWins<T, R>(
  project: (value: T) => ObservableInput<R>,
  onDrop: (dropped: T) => void = () => undefined,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let inner: Subscription | undefined;
      let pending: { value: T } | undefined;
      let sourceDone = false;

      const run = (value: T): void => {
        busy = true;
        const subscription = from(project(value)).subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            busy = false;
            inner = undefined;
            const next = pending;
            pending = undefined;
            if (next) run(next.value);
            else if (sourceDone) subscriber.complete();
          },
        });
        // Work that finished synchronously (or started the next value) already moved on.
        if (busy && inner === undefined) inner = subscription;
      };

      const outer = source.subscribe({
        next: (value) => {
          if (!busy) {
            run(value);
            return;
          }
          if (pending) onDrop(pending.value);
          pending = { value };
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) subscriber.complete();
        },
      });

      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
        if (pending) onDrop(pending.value);
        pending = undefined;
      };
    });
}
