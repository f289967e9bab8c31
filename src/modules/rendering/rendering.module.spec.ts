import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { PolicyService } from './policy.service';
import { RenderingModule } from './rendering.module';
import { RENDERING_OPTIONS, type RenderingOptions } from './rendering.options';
import { RenderingService } from './rendering.service';

describe('RenderingModule', () => {
  it('wires the services with default options pointing at the bundled binaries', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [RenderingModule] }).compile();
    expect(moduleRef.get(RenderingService)).toBeInstanceOf(RenderingService);
    expect(moduleRef.get(PolicyService)).toBeInstanceOf(PolicyService);
    const options = moduleRef.get<RenderingOptions>(RENDERING_OPTIONS);
    expect(options.kubectlPath).toMatch(/\.tools\/bin\/kubectl$/);
    expect(options.allowRemoteBases).toBe(false);
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('takes overrides through forRoot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RenderingModule.forRoot({ helmPath: '/opt/helm', maxObjects: 7 })],
    }).compile();
    const options = moduleRef.get<RenderingOptions>(RENDERING_OPTIONS);
    expect(options).toMatchObject({ helmPath: '/opt/helm', maxObjects: 7 });
  });
});
