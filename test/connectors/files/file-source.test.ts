import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileNotFoundError, Session } from '../../../engine/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-file-source-'));

function streamFrom(session: Session, path: string, options: Record<string, string | boolean> = {}) {
  let reader = session.readStream.format('jsonl').schema({ v: 'int' });
  for (const [k, v] of Object.entries(options)) reader = reader.option(k, v);
  return reader.load(path).writeStream.format('memory').queryName(`q${Math.random().toString(36).slice(2)}`);
}

describe('FileStreamSource on a path that does not exist', () => {
  it('is refused at start() with a FileNotFoundError that names the path and the fix', () => {
    const missing = join(tmp(), 'incoming');
    const session = new Session();
    let error: unknown;
    try {
      streamFrom(session, missing).start();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FileNotFoundError);
    expect((error as FileNotFoundError).path).toBe(missing);
    expect((error as Error).message).toContain(`'${missing}'`);
    expect((error as Error).message).toContain('waitForPath');
    expect(session.streams.active).toEqual([]);
  });

  it('refuses a glob whose leading folder does not exist, and accepts one that matches nothing yet', () => {
    const dir = tmp();
    const session = new Session();
    expect(() => streamFrom(session, join(dir, 'nope', '*.jsonl')).start()).toThrow(/the folder '.*nope' that the glob/);
    const q = streamFrom(session, join(dir, '*.jsonl')).start();
    expect(q.isActive).toBe(true);
    return q.stop();
  });

  it("with waitForPath starts anyway and reads the folder's files once it appears", async () => {
    const missing = join(tmp(), 'incoming');
    const session = new Session();
    const q = streamFrom(session, missing, { waitForPath: true }).queryName('waiting').start();
    await q.processAllAvailable();
    // No batch ran: the only progress is the idle trigger's (batch -1, nothing read).
    expect(q.recentProgress.map((p) => [p.batchId, p.numInputRows])).toEqual([[-1, 0]]);
    mkdirSync(missing);
    writeFileSync(join(missing, 'a.jsonl'), '{"v":1}\n{"v":2}\n');
    await q.processAllAvailable();
    expect((await session.table('waiting').collect()).map((r) => r['v'])).toEqual([1, 2]);
    await q.stop();
  });

  it("rejects a waitForPath that is not 'true' or 'false'", () => {
    expect(() => streamFrom(new Session(), tmp(), { waitForPath: 'yes' })).toThrow(/Option 'waitForPath' must be 'true' or 'false'/);
  });
});
