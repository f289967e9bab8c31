import { importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** Injectable time source, so small tests drive the refetch rate limit without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type JwksFetcher = () => Promise<JSONWebKeySet>;

interface CachedKey {
  readonly jwk: JWK;
  readonly imported: Map<string, CryptoKey | Uint8Array>;
}

/**
 * The issuer's signing keys, cached. A key id the cache does not know triggers
 * one refetch (key rotation), but at most once per `minRefreshMs`: a flood of
 * tokens with forged key ids costs the issuer one request per interval, and
 * concurrent misses share the fetch in flight.
 */
export class JwksCache {
  private keys = new Map<string, CachedKey>();
  private lastFetch = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly fetchJwks: JwksFetcher,
    private readonly minRefreshMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Number of successful or failed fetches so far (for metrics and tests). */
  fetches = 0;

  /** The verification key for a token header, or undefined when none matches even after a refetch. */
  async keyFor(kid: string | undefined, alg: string): Promise<CryptoKey | Uint8Array | undefined> {
    let found = this.match(kid, alg);
    if (found === undefined && this.mayRefetch()) {
      await this.refresh();
      found = this.match(kid, alg);
    }
    if (found === undefined) {
      return undefined;
    }
    let key = found.imported.get(alg);
    if (key === undefined) {
      key = await importJWK(found.jwk, alg);
      found.imported.set(alg, key);
    }
    return key;
  }

  private mayRefetch(): boolean {
    return this.inFlight !== undefined || this.clock.now() - this.lastFetch >= this.minRefreshMs;
  }

  private refresh(): Promise<void> {
    this.inFlight ??= (async () => {
      this.lastFetch = this.clock.now();
      this.fetches += 1;
      try {
        const set = await this.fetchJwks();
        const next = new Map<string, CachedKey>();
        set.keys.forEach((jwk, index) => {
          // Only public signing keys; symmetric ("oct") keys never verify a token.
          if (jwk.kty === 'oct' || (jwk.use !== undefined && jwk.use !== 'sig')) {
            return;
          }
          next.set(jwk.kid ?? `#${index}`, { jwk: publicPart(jwk), imported: new Map() });
        });
        this.keys = next;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  private match(kid: string | undefined, alg: string): CachedKey | undefined {
    const fits = (k: CachedKey): boolean =>
      (k.jwk.alg === undefined || k.jwk.alg === alg) && ktyFits(k.jwk.kty, alg);
    if (kid !== undefined) {
      const key = this.keys.get(kid);
      return key !== undefined && fits(key) ? key : undefined;
    }
    // No key id: only unambiguous when exactly one key fits the algorithm.
    const candidates = [...this.keys.values()].filter(fits);
    return candidates.length === 1 ? candidates[0] : undefined;
  }
}

function ktyFits(kty: string | undefined, alg: string): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    return kty === 'RSA';
  }
  if (alg.startsWith('ES')) {
    return kty === 'EC';
  }
  if (alg === 'EdDSA') {
    return kty === 'OKP';
  }
  return false;
}

/** Private members are dropped: a JWKS that (wrongly) publishes them must not turn into a signing key here. */
function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, k: _k, oth: _oth, ...pub } = jwk;
  return pub;
}
