import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { AuditService } from './audit.service';
import { AuditEntryDto, AuditEntryListDto, ListAuditQueryDto } from './dto/audit.dto';

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
    return { items: page.items.map(toDto), ...(page.continue ? { continue: page.continue } : {}) };
  }
}

function toDto(r: AuditEntryDto & { timeText?: string }): AuditEntryDto {
  return {
    id: r.id,
    time: r.time,
    actor: r.actor,
    action: r.action,
    objectKind: r.objectKind,
    objectName: r.objectName,
    tenantId: r.tenantId,
    requestId: r.requestId,
    outcome: r.outcome,
    statusCode: r.statusCode,
    errorCode: r.errorCode,
    changes: r.changes,
  };
}
