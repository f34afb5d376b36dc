/** What a (re)started query does first. */
export type RestartDecision =
  | { readonly kind: 'fresh'; readonly batchId: 0 }
  /** offsets/N exists without commits/N: run batch N again with the same offsets, watermark and timestamp. */
  | { readonly kind: 'rerun'; readonly batchId: number }
  /** commits/N exists: the next batch is N+1, starting at offsets/N. */
  | { readonly kind: 'next'; readonly batchId: number };

/** Raised when the commit log is ahead of the offset log: the checkpoint was edited or mixed up. */
export class InconsistentCheckpointError extends Error {
  override readonly name = 'InconsistentCheckpointError';
}

/**
 * Decides how a query resumes from its checkpoint, from the newest offsets/N and commits/M (Spark's
 * populateStartOffsets). Pure: no I/O.
 *
 * @example
 * decideRestart(null, null); // { kind: 'fresh', batchId: 0 }
 * decideRestart(4, 3); // { kind: 'rerun', batchId: 4 }
 * decideRestart(4, 4); // { kind: 'next', batchId: 5 }
 */
export function decideRestart(latestOffsets: number | null, latestCommit: number | null): RestartDecision {
  if (latestOffsets === null) {
    if (latestCommit !== null) {
      throw new InconsistentCheckpointError(
        `The checkpoint has commits/${latestCommit} but no offsets: it is damaged. Restore it or use a new checkpointLocation.`,
      );
    }
    return { kind: 'fresh', batchId: 0 };
  }
  if (latestCommit === null || latestCommit < latestOffsets) {
    // Commits lagging by more than one batch cannot happen with sluice's write order; Spark only warns, so do we.
    return { kind: 'rerun', batchId: latestOffsets };
  }
  if (latestCommit === latestOffsets) return { kind: 'next', batchId: latestOffsets + 1 };
  throw new InconsistentCheckpointError(
    `The checkpoint has commits/${latestCommit} but offsets only up to ${latestOffsets}: it is damaged. ` +
      `Restore it or use a new checkpointLocation.`,
  );
}
