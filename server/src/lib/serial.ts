/**
 * `step`, one call at a time: a call made while an earlier one runs starts once that one has
 * settled (whether it resolved or rejected), and answers its own result. So a caller that runs a
 * step by hand sees the work of the step a loop had under way.
 */
export function serial<T>(step: () => Promise<T>): () => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return () => {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  };
}
