import { describe, expect, it } from 'vitest';
import { returningRows } from './returning-rows';

describe('returningRows', () => {
  it('unwraps the [rows, affected] pair of UPDATE/DELETE … RETURNING', () => {
    expect(returningRows<{ id: string }>([[{ id: 'a' }], 1])).toEqual([{ id: 'a' }]);
    expect(returningRows([[], 0])).toEqual([]);
  });

  it('passes plain rows of INSERT … RETURNING and SELECT through', () => {
    expect(returningRows([{ id: 'a' }, { id: 'b' }])).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(returningRows([{ id: 'a' }, 2])).toEqual([{ id: 'a' }, 2]);
  });
});
