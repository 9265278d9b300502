import { ActivityFailure } from '@temporalio/workflow';

/**
 * Puts alerts on the queue a page at a time (each page one activity with the queue's retry budget);
 * when the queue stays down, the rest are marked 'failed' for the failed-alert schedule instead.
 */
export async function sendAlertPages(
  enqueuePage: (afterSeq: number) => Promise<{ queued: number; lastSeq: number; done: boolean }>,
  markRestFailed: () => Promise<number>,
): Promise<{ queued: number; failed: number }> {
  let queued = 0;
  let afterSeq = 0;
  try {
    for (;;) {
      const page = await enqueuePage(afterSeq);
      queued += page.queued;
      afterSeq = page.lastSeq;
      if (page.done) return { queued, failed: 0 };
    }
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { queued, failed: await markRestFailed() };
  }
}
