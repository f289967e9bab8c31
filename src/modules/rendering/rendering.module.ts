import { Module, type DynamicModule } from '@nestjs/common';
import { PolicyService } from './policy.service';
import { ProcessRunner } from 'src/common/process/process-runner';
import { ToolRunner } from './tool-runner';
import {
  defaultRenderingOptions,
  RENDERING_OPTIONS,
  type RenderingOptions,
} from './rendering.options';
import { RenderingService } from './rendering.service';

/**
 * Rendering and policy: pure services, no database. Import `RenderingModule`
 * for defaults, or `RenderingModule.forRoot(options)` with options built from
 * the validated config.
 */
@Module({
  providers: [
    { provide: RENDERING_OPTIONS, useFactory: (): RenderingOptions => defaultRenderingOptions() },
    ProcessRunner,
    ToolRunner,
    RenderingService,
    PolicyService,
  ],
  exports: [RenderingService, PolicyService],
})
export class RenderingModule {
  static forRoot(options: Partial<RenderingOptions> = {}): DynamicModule {
    return {
      module: RenderingModule,
      providers: [{ provide: RENDERING_OPTIONS, useValue: defaultRenderingOptions(options) }],
      exports: [RenderingService, PolicyService],
    };
  }
}
