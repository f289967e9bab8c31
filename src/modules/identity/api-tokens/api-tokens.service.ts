import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { roleAtLeast } from 'src/common/auth/access.decorator';
import { type Principal, principalLabel, type PrincipalRole } from 'src/common/auth/principal';
import { isUniqueViolation } from 'src/common/database/db-errors';
import { IdentityError } from 'src/modules/identity/identity.errors';
import { ApiToken, ApiTokenRepository, TokenRole } from './api-token.repository';

/** Recognisable prefix: secret scanners and log redaction can spot a leaked token. */
export const API_TOKEN_PREFIX = 'gft_';
const TOKEN_PATTERN = /^gft_[A-Za-z0-9_-]{43}$/;

export const hashApiToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

export interface NewApiToken {
  readonly name: string;
  readonly role: TokenRole;
  readonly expiresInDays: number;
}

@Injectable()
export class ApiTokensService {
  private readonly logger = new Logger(ApiTokensService.name);

  constructor(private readonly tokens: ApiTokenRepository) {}

  /**
   * Creates a token for the tenant; the returned `token` is the only time the
   * secret exists outside the caller. Its role may not exceed the creator's.
   */
  async create(
    tenantId: string,
    creator: Principal,
    creatorRole: PrincipalRole,
    input: NewApiToken,
  ): Promise<{ token: string; apiToken: ApiToken }> {
    if (creator.kind === 'token') {
      throw new IdentityError(
        'TokensCannotMintTokens',
        'An API token cannot create API tokens; sign in as a tenant owner',
      );
    }
    if (!roleAtLeast(creatorRole, input.role)) {
      throw new IdentityError(
        'RoleTooHigh',
        `A token cannot carry the ${input.role} role: you hold ${creatorRole}`,
      );
    }
    // 32 random bytes: 256 bits, so a plain SHA-256 (no slow hash) is enough at rest.
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    try {
      const apiToken = await this.tokens.insert({
        id: randomUUID(),
        tenantId,
        name: input.name,
        role: input.role,
        tokenHash: hashApiToken(token),
        tokenPrefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
        createdBy: principalLabel(creator),
        expiresAt: new Date(Date.now() + input.expiresInDays * 86_400_000),
      });
      return { token, apiToken };
    } catch (error) {
      if (isUniqueViolation(error, 'UQ_tenant_api_token_name')) {
        throw new IdentityError(
          'ApiTokenNameTaken',
          `An API token named "${input.name}" already exists`,
        );
      }
      throw error;
    }
  }

  list(tenantId: string): Promise<ApiToken[]> {
    return this.tokens.listForTenant(tenantId);
  }

  async revoke(tenantId: string, name: string): Promise<void> {
    if (!(await this.tokens.delete(tenantId, name))) {
      throw new IdentityError('ApiTokenNotFound', `API token "${name}" not found`);
    }
  }

  /** The principal of a valid, unexpired token; undefined for anything else. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (!TOKEN_PATTERN.test(token)) {
      return undefined;
    }
    const found = await this.tokens.findValidByHash(hashApiToken(token));
    if (found === undefined) {
      return undefined;
    }
    this.tokens.touch(found.id).catch((error: unknown) =>
      this.logger.warn({
        msg: 'could not record API token use',
        tokenId: found.id,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
    return {
      kind: 'token',
      name: `${found.tenantName}/${found.name}`,
      tokenId: found.id,
      tenantId: found.tenantId,
      tenantName: found.tenantName,
      role: found.role,
    };
  }
}
