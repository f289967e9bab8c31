import type { ApiToken } from './api-token.repository';
import type { ApiTokenDto } from './dto/api-token.dto';

export const toApiTokenDto = (t: ApiToken): ApiTokenDto => ({
  name: t.name,
  role: t.role,
  tokenPrefix: t.tokenPrefix,
  createdBy: t.createdBy,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  lastUsedAt: t.lastUsedAt,
});
