import { Inject, Injectable, Logger } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { APP_CONFIG, AppConfig, issuerProblem } from 'src/common/config/config';
import { Clock, JwksCache, systemClock } from './jwks-cache';
import { OidcIdentity, TokenRejected } from './identity.types';

/** Issuer metadata gitfleet needs: where the keys are. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwksUri: string;
}

/** The network side of OIDC, injectable: discovery (openid-client) and JWKS download. */
export interface OidcTransport {
  discover(issuerUrl: string): Promise<IssuerMetadata>;
  fetchJwks(jwksUri: string): Promise<JSONWebKeySet>;
}

export const OIDC_TRANSPORT = Symbol('OIDC_TRANSPORT');
export const OIDC_CLOCK = Symbol('OIDC_CLOCK');

const MAX_JWKS_BYTES = 512 * 1024;
const DISCOVERY_RETRY_MS = 10_000;

/** openid-client discovery (validates that the metadata's issuer is the configured one) and a bounded JWKS fetch. */
export class HttpOidcTransport implements OidcTransport {
  constructor(
    private readonly audience: string,
    private readonly allowInsecure: boolean,
  ) {}

  async discover(issuerUrl: string): Promise<IssuerMetadata> {
    const config = await oidc.discovery(new URL(issuerUrl), this.audience, undefined, undefined, {
      execute: this.allowInsecure ? [oidc.allowInsecureRequests] : [],
      timeout: 10,
    });
    const metadata = config.serverMetadata();
    if (metadata.jwks_uri === undefined) {
      throw new Error('the issuer publishes no jwks_uri');
    }
    const problem = issuerProblem(metadata.jwks_uri, this.allowInsecure);
    if (problem !== undefined) {
      throw new Error(`the issuer's jwks_uri ${problem}`);
    }
    return { issuer: metadata.issuer, jwksUri: metadata.jwks_uri };
  }

  async fetchJwks(jwksUri: string): Promise<JSONWebKeySet> {
    const res = await fetch(jwksUri, {
      redirect: 'error',
      signal: AbortSignal.timeout(10_000),
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (!res.ok) {
      throw new Error(`JWKS request answered ${res.status}`);
    }
    const text = await res.text();
    if (text.length > MAX_JWKS_BYTES) {
      throw new Error('JWKS document is too large');
    }
    const body = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(body.keys)) {
      throw new Error('JWKS document has no keys array');
    }
    return body as JSONWebKeySet;
  }
}

/**
 * Verifies bearer JWTs (access or ID tokens) of the configured issuer:
 * signature against the issuer's JWKS with pinned asymmetric algorithms,
 * `iss`, `aud`, `exp`/`nbf` with a bounded clock skew. Discovery happens on
 * first use and is retried (not more than every 10 s) while the issuer is down.
 */
@Injectable()
export class OidcVerifier {
  private readonly logger = new Logger(OidcVerifier.name);
  private metadata: Promise<{ meta: IssuerMetadata; jwks: JwksCache }> | undefined;
  private lastDiscoveryFailure = Number.NEGATIVE_INFINITY;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OIDC_TRANSPORT) private readonly transport: OidcTransport,
    @Inject(OIDC_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  get enabled(): boolean {
    return this.config.oidcIssuerUrl !== undefined;
  }

  /** JWKS downloads so far (tests assert that forged key ids do not hammer the issuer). */
  get jwksFetches(): number {
    return this.current?.fetches ?? 0;
  }

  private current: JwksCache | undefined;

  async verify(token: string): Promise<OidcIdentity> {
    if (!this.enabled) {
      throw new TokenRejected('OIDC is not configured');
    }
    const { meta, jwks } = await this.discovered();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await jwks.keyFor(header.kid, header.alg);
          if (key === undefined) {
            throw new TokenRejected('no issuer key matches the token header');
          }
          return key;
        },
        {
          issuer: meta.issuer,
          audience: this.config.oidcAudience,
          algorithms: [...this.config.oidcAllowedAlgorithms],
          clockTolerance: this.config.oidcClockSkewSeconds,
          currentDate: new Date(this.clock.now()),
          requiredClaims: ['exp'],
        },
      ));
    } catch (error) {
      throw toRejection(error);
    }
    return this.identityOf(payload);
  }

  private identityOf(payload: JWTPayload): OidcIdentity {
    const username = payload[this.config.oidcUsernameClaim];
    if (typeof username !== 'string' || username === '') {
      throw new TokenRejected(`the ${this.config.oidcUsernameClaim} claim is missing`);
    }
    const raw = payload[this.config.oidcGroupsClaim];
    // No (or a malformed) groups claim: no group-derived access, never a default.
    const groups = Array.isArray(raw)
      ? raw.filter((g): g is string => typeof g === 'string' && g !== '')
      : [];
    return { username, groups, expiresAt: payload.exp ?? 0 };
  }

  private discovered(): Promise<{ meta: IssuerMetadata; jwks: JwksCache }> {
    if (this.metadata !== undefined) {
      return this.metadata;
    }
    if (this.clock.now() - this.lastDiscoveryFailure < DISCOVERY_RETRY_MS) {
      return Promise.reject(new TokenRejected('the issuer is unavailable'));
    }
    const issuerUrl = this.config.oidcIssuerUrl!;
    const attempt = (async () => {
      const meta = await this.transport.discover(issuerUrl);
      const jwks = new JwksCache(
        () => this.transport.fetchJwks(meta.jwksUri),
        this.config.oidcJwksMinRefreshSeconds * 1000,
        this.clock,
      );
      this.current = jwks;
      this.logger.log({ msg: 'OIDC issuer discovered', issuer: meta.issuer });
      return { meta, jwks };
    })();
    this.metadata = attempt;
    attempt.catch((error: unknown) => {
      this.metadata = undefined;
      this.lastDiscoveryFailure = this.clock.now();
      this.logger.warn({
        msg: 'OIDC discovery failed',
        issuer: issuerUrl,
        error: error instanceof Error ? error.message : String(error),
      });
    });
    return attempt.catch(() => {
      throw new TokenRejected('the issuer is unavailable');
    });
  }
}

function toRejection(error: unknown): TokenRejected {
  if (error instanceof TokenRejected) {
    return error;
  }
  if (error instanceof joseErrors.JWTExpired) {
    return new TokenRejected('expired');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenRejected(`claim ${error.claim} failed: ${error.reason}`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenRejected('algorithm not allowed');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenRejected('bad signature');
  }
  if (error instanceof joseErrors.JOSEError) {
    return new TokenRejected(error.code);
  }
  // A JWKS fetch failure or a bug: refused, never accepted.
  return new TokenRejected(error instanceof Error ? error.message : 'verification failed');
}
