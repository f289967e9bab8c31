import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { AuditService } from './audit.service';
import { AuditEntryListDto, ListAuditQueryDto } from './dto/audit.dto';
import { toAuditEntryDto } from './audit.mapper';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
@Access({ kind: 'admin' })
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'List audit entries, newest first' })
  @ApiErrorResponses({ 400: 'ValidationFailed' })
  async list(@Query() q: ListAuditQueryDto): Promise<AuditEntryListDto> {
    const { limit, continue: token, ...filter } = q;
    const page = await this.audit.list(filter, { limit, continue: token });
    return {
      items: page.items.map(toAuditEntryDto),
      ...(page.continue ? { continue: page.continue } : {}),
    };
  }
}
