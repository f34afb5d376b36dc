import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CorruptCheckpointError, listIfExists, readIfExists, writeReplace } from './atomic-file.js';

/**
 * How many partitions wrote each version of one stateful operator's state, kept beside the state itself
 * (`state/<op>/_metadata/partitions/<v>`), so that a restart can rebuild a version even when the commit that also
 * records it (`commits/N.statePartitions`) is missing or damaged. Only changes are written: entry `v` holding `P`
 * means "versions from `v` on were written by `P` partitions, until the next entry"; no entry means one partition.
 * An entry is written before the state files of its version (a version's layout is on disk before any of its
 * files). A version written again rewrites the entry an earlier attempt left, even when it then repeats the layout
 * before it: an entry at or below a version says the log was kept when that version was written (see `knows`).
 *
 * ```
 * state/0/_metadata/partitions/7     2     (versions 7… were written by two worker partitions)
 * state/0/_metadata/partitions/12    1     (versions 12… inline again)
 * ```
 *
 * @example
 * const log = new PartitionLayoutLog('ckpt/state/0/_metadata/partitions');
 * await log.record(7, 2);
 * await log.partitionsOf(9); // 2
 */
export class PartitionLayoutLog {
  /** Entries on disk (version → partitions), read on first use; kept in step with every write. */
  private entries: Map<number, number> | null = null;

  constructor(readonly dir: string) {}

  private file(version: number): string {
    return join(this.dir, String(version));
  }

  private async load(): Promise<Map<number, number>> {
    if (this.entries) return this.entries;
    const entries = new Map<number, number>();
    const names = await listIfExists(this.dir);
    for (const n of names) {
      if (!/^\d+$/.test(n)) continue;
      const file = this.file(Number(n));
      const text = (await readIfExists(file))?.toString('utf8') ?? '';
      const p = Number(text.trim());
      if (!/^\d+\n$/.test(text) || !Number.isInteger(p) || p < 1) {
        throw new CorruptCheckpointError(
          `${file} should hold the number of state partitions that wrote version ${n} and a newline, but holds ` +
            `${JSON.stringify(text.slice(0, 20))}. Restore the checkpoint from a backup, or use a new checkpointLocation.`,
        );
      }
      entries.set(Number(n), p);
    }
    this.entries = entries;
    return entries;
  }

  /** The number of partitions that wrote `version` (1 when no entry covers it). */
  async partitionsOf(version: number): Promise<number> {
    let best = -1;
    let partitions = 1;
    for (const [v, p] of await this.load()) {
      if (v <= version && v > best) {
        best = v;
        partitions = p;
      }
    }
    return partitions;
  }

  /**
   * The most partitions that wrote any version from `fromVersion` on (1 when no entry says more): a partition folder
   * at or beyond it holds nothing a retained version needs.
   *
   * @example
   * await log.maxPartitionsFrom(5); // 2 when version 5 or a later one was written by two partitions
   */
  async maxPartitionsFrom(fromVersion: number): Promise<number> {
    let most = await this.partitionsOf(fromVersion);
    for (const [v, p] of await this.load()) if (v > fromVersion && p > most) most = p;
    return most;
  }

  /** Notes that `version` is being written by `partitions` partitions; call before writing its state files. */
  async record(version: number, partitions: number): Promise<void> {
    const entries = await this.load();
    // Entries past this version belong to an abandoned attempt (the batches that wrote them are being run again).
    for (const v of [...entries.keys()]) {
      if (v > version) {
        entries.delete(v);
        await fs.unlink(this.file(v)).catch(() => {});
      }
    }
    const own = entries.get(version);
    entries.delete(version);
    const before = await this.partitionsOf(version - 1);
    if (partitions !== before) {
      entries.set(version, partitions);
      if (own !== partitions) await writeReplace(this.file(version), `${partitions}\n`);
    } else if (own !== undefined) {
      // An earlier attempt at this version wrote another layout (and maybe files in partitions this one does not
      // write): the entry stays, saying the layout it had before.
      entries.set(version, partitions);
      await writeReplace(this.file(version), `${partitions}\n`);
    }
  }

  /**
   * Whether the log was kept when `version` was written: an entry at or below it is on disk. A checkpoint written
   * before the log, or one whose state never left one partition, has none; its versions' layout is the commits'.
   *
   * @example
   * await log.knows(9); // true once any version ≤ 9 was recorded as a change
   */
  async knows(version: number): Promise<boolean> {
    for (const v of (await this.load()).keys()) if (v <= version) return true;
    return false;
  }

  /** Removes entries not needed to answer for versions ≥ `minVersion` (the newest entry ≤ it stays). */
  async purge(minVersion: number): Promise<void> {
    const entries = await this.load();
    let keep = -1;
    for (const v of entries.keys()) if (v <= minVersion && v > keep) keep = v;
    for (const v of [...entries.keys()]) {
      if (v < keep) {
        entries.delete(v);
        await fs.unlink(this.file(v)).catch(() => {});
      }
    }
  }
}
