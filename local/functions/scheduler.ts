/**
 * Cloud Scheduler for the local stack: it calls the reconciler function on a timer, as the
 * installer's scheduler job does every minute on Google Cloud.
 */

/** Calls the reconciler every `seconds`, as Cloud Scheduler does; a run still going is not started again. */
export function scheduleReconcile(url: string, seconds: number, log: (line: string) => void): {stop(): Promise<void>} {
  if (seconds <= 0) return {stop: () => Promise.resolve()};
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= fetch(url, {method: 'POST'})
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) log(`scheduler: the reconcile run answered ${res.status}`);
      })
      .catch((err: unknown) => log(`scheduler: the reconcile run failed: ${(err as Error).message}`))
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
