import { describe, expect, it } from 'vitest';
import { truncateMessage } from './conditions';

describe('truncateMessage', () => {
  it('keeps a message within the cap as it is', () => {
    expect(truncateMessage('short message', 20)).toBe('short message');
  });

  it('cuts at the last space within the cap, never inside a word', () => {
    expect(truncateMessage('Deployment.apps/apps/web: forbidden by RBAC', 30)).toBe(
      'Deployment.apps/apps/web:…',
    );
  });

  it('cuts one huge token at the cap, where no word boundary is near', () => {
    expect(truncateMessage(`${'x'.repeat(50)} tail`, 40)).toBe(`${'x'.repeat(40)}…`);
  });
});
