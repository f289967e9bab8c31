import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BearerAuthenticator } from 'src/common/auth/auth.ports';
import type { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { API_TOKEN_PREFIX, ApiTokensService } from './api-tokens/api-tokens.service';
import { TokenRejected } from './oidc/identity.types';
import { OidcVerifier } from './oidc/oidc-verifier';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Bearer tokens other than the admin token: tenant API tokens (`gft_…`) and
 * OIDC JWTs. Refusals are logged with their reason, never with the token.
 */
@Injectable()
export class BearerAuthenticatorService implements BearerAuthenticator {
  private readonly logger = new Logger(BearerAuthenticatorService.name);
  private readonly adminGroups: ReadonlySet<string>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly apiTokens: ApiTokensService,
    private readonly oidc: OidcVerifier,
  ) {
    this.adminGroups = new Set(config.adminGroups);
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const principal = await this.apiTokens.authenticate(token);
      if (principal === undefined) {
        this.logger.log({ msg: 'authentication refused', reason: 'unknown or expired API token' });
      }
      return principal;
    }
    if (!this.oidc.enabled || !JWT_SHAPE.test(token)) {
      this.logger.log({ msg: 'authentication refused', reason: 'not a recognised token' });
      return undefined;
    }
    try {
      const identity = await this.oidc.verify(token);
      return {
        kind: 'user',
        name: identity.username,
        groups: identity.groups,
        platformAdmin: identity.groups.some((g) => this.adminGroups.has(g)),
      };
    } catch (error) {
      if (error instanceof TokenRejected) {
        this.logger.log({ msg: 'authentication refused', reason: error.reason });
        return undefined;
      }
      throw error;
    }
  }
}
