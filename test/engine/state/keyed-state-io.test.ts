import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StateTable } from '../../../engine/physical/partitions/keyed-operator.js';
import { checkTableNames, InvalidStateTableNameError, tableDir } from '../../../engine/state/keyed-state-io.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';

const table = (name: string): StateTable => ({
  name,
  schema: schemaOf([field('k', 'string')]),
  keyCount: 1,
  partitionKeyColumns: [0],
  ttlMs: null,
  role: 'value',
});

describe('Named state tables on disk', () => {
  it("keep the table named '' in the partition folder itself and every other table in its own subfolder", () => {
    expect(tableDir(join('ckpt', 'state', '0', '1'), '')).toBe(join('ckpt', 'state', '0', '1'));
    expect(tableDir(join('ckpt', 'state', '0', '1'), 'fails')).toBe(join('ckpt', 'state', '0', '1', 'fails'));
    expect(tableDir('p', '$timers')).toBe(join('p', '$timers'));
  });

  it('refuse a name that is not one safe folder name, and a name declared twice', () => {
    for (const bad of ['..', '.', 'a/b', 'a\\b', '3.delta', 'x y', 'é', 'a'.repeat(65)]) {
      expect(() => tableDir('ckpt/state/0/1', bad), bad).toThrow(InvalidStateTableNameError);
    }
    expect(() => tableDir('ckpt/state/0/1', '../up')).toThrow(/"\.\.\/up" cannot be a folder under ckpt\/state\/0\/1: use 1 to 64 letters, digits/);
    expect(() => checkTableNames([table(''), table('fails'), table('fails')])).toThrow(/"fails" is declared twice/);
    expect(() => checkTableNames([table(''), table('fails'), table('$timers')])).not.toThrow();
  });
});
