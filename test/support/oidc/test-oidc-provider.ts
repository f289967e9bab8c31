import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import Provider from 'oidc-provider';

/** A client of the test provider: a machine identity whose access tokens carry these claims. */
export interface TestPrincipal {
  /** Becomes the token's `sub` and the client id. */
  readonly name: string;
  /** Absent: the token carries no groups claim at all. */
  readonly groups?: readonly string[];
}

interface SigningKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly publicPem: string;
  readonly privateKey: CryptoKey;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `k-${randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateJwk, publicJwk, publicPem: await exportSPKI(publicKey), privateKey };
}

/**
 * A real OpenID provider (npm `oidc-provider`) for tests, on loopback HTTP.
 * Real access tokens come from the client-credentials grant: each
 * `TestPrincipal` is a client whose JWT access tokens carry `sub` and, if set,
 * `groups`. For the refusal cases (`expired`, wrong `iss`, …) `sign` mints
 * tokens with the provider's own current key. `rotate` replaces the signing
 * key (the old one stays published); JWKS downloads are counted.
 */
export class TestOidcProvider {
  readonly audience = `https://gitfleet.test/api/${randomBytes(3).toString('hex')}`;
  jwksRequests = 0;
  private provider!: Provider;
  private keys: SigningKey[] = [];
  private readonly principals = new Map<string, TestPrincipal & { secret: string }>();

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(principals: readonly TestPrincipal[] = []): Promise<TestOidcProvider> {
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    const server = createServer((req, res) => handler(req, res));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    const sut = new TestOidcProvider(server, `http://127.0.0.1:${port}`);
    for (const p of principals) {
      sut.principals.set(p.name, { ...p, secret: randomBytes(16).toString('hex') });
    }
    sut.keys = [await newSigningKey()];
    sut.rebuild();
    handler = (req, res) => {
      if ((req.url ?? '').split('?')[0] === '/jwks') {
        sut.jwksRequests += 1;
      }
      sut.provider.callback()(req, res);
    };
    return sut;
  }

  get currentKey(): SigningKey {
    return this.keys[0];
  }

  /** A new signing key signs from now on; the previous one is still published. */
  async rotate(): Promise<void> {
    this.keys = [await newSigningKey(), ...this.keys].slice(0, 2);
    this.rebuild();
  }

  addPrincipal(p: TestPrincipal): void {
    this.principals.set(p.name, { ...p, secret: randomBytes(16).toString('hex') });
    this.rebuild();
  }

  /** A real access token from the token endpoint (client credentials grant). */
  async accessToken(name: string): Promise<string> {
    const p = this.principals.get(name);
    if (p === undefined) {
      throw new Error(`no test principal ${name}`);
    }
    const res = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: p.name,
        client_secret: p.secret,
        resource: this.audience,
        scope: 'api',
      }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!res.ok || body.access_token === undefined) {
      throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
    }
    return body.access_token;
  }

  /** Test-only issuance with the provider's current key (or `key`), for refusal cases. */
  async sign(
    claims: JWTPayload,
    options: { kid?: string; key?: CryptoKey; expiresIn?: number; notBefore?: number } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: this.issuer,
      aud: this.audience,
      iat: now,
      exp: now + (options.expiresIn ?? 300),
      ...(options.notBefore === undefined ? {} : { nbf: options.notBefore }),
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? this.currentKey.kid, typ: 'at+jwt' })
      .sign(options.key ?? this.currentKey.privateKey);
  }

  close(): Promise<void> {
    return new Promise((ok) => {
      this.server.closeAllConnections();
      this.server.close(() => ok());
    });
  }

  private rebuild(): void {
    const principals = this.principals;
    const audience = this.audience;
    this.provider = new Provider(this.issuer, {
      clients: [...principals.values()].map((p) => ({
        client_id: p.name,
        client_secret: p.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      })),
      jwks: { keys: this.keys.map((k) => k.privateJwk) },
      ttl: { ClientCredentials: 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => audience,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'api',
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      extraTokenClaims: (_ctx, token) => {
        const p = principals.get(String((token as { clientId?: string }).clientId));
        return p?.groups === undefined ? {} : { groups: [...p.groups] };
      },
    });
  }
}
