import { describe, expect, it } from 'vitest';
import { RenderCache } from './render-cache';

describe(RenderCache.name, () => {
  it('detects a chart once per artifact directory and path, and retries a failed check', async () => {
    const sut = new RenderCache();
    let checks = 0;
    const detect = (): Promise<boolean> => {
      checks++;
      return Promise.resolve(true);
    };

    expect(await sut.chartDetected('/artifacts/a', 'charts/web', detect)).toBe(true);
    expect(await sut.chartDetected('/artifacts/a', 'charts/web', detect)).toBe(true);
    expect(checks).toBe(1);
    await sut.chartDetected('/artifacts/b', 'charts/web', detect);
    await sut.chartDetected('/artifacts/a', 'apps', detect);
    expect(checks).toBe(3);

    const failing = (): Promise<boolean> => Promise.reject(new Error('EIO'));
    await expect(sut.chartDetected('/artifacts/c', 'x', failing)).rejects.toThrow('EIO');
    expect(await sut.chartDetected('/artifacts/c', 'x', detect)).toBe(true);
  });
});
