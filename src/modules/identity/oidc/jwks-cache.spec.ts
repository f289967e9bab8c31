import { exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { JwksCache } from './jwks-cache';

async function publicJwk(kid: string) {
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
}

describe('JwksCache', () => {
  async function setup() {
    let now = 0;
    let set: JSONWebKeySet = { keys: [await publicJwk('k1')] };
    const sut = new JwksCache(() => Promise.resolve(set), 30_000, { now: () => now });
    return {
      sut,
      advance: (ms: number) => (now += ms),
      publish: (next: JSONWebKeySet) => (set = next),
    };
  }

  it('fetches once and serves known key ids from the cache', async () => {
    const { sut } = await setup();
    expect(await sut.keyFor('k1', 'RS256')).toBeDefined();
    expect(await sut.keyFor('k1', 'RS256')).toBeDefined();
    expect(sut.fetches).toBe(1);
  });

  it('refetches on an unknown key id (rotation) once the minimum interval passed', async () => {
    const { sut, advance, publish } = await setup();
    await sut.keyFor('k1', 'RS256');
    publish({ keys: [await publicJwk('k2'), await publicJwk('k1')] });
    // Too soon after the last fetch: the unknown kid is refused without a request.
    expect(await sut.keyFor('k2', 'RS256')).toBeUndefined();
    expect(sut.fetches).toBe(1);
    advance(30_000);
    expect(await sut.keyFor('k2', 'RS256')).toBeDefined();
    expect(sut.fetches).toBe(2);
  });

  it('does not hammer the issuer with forged key ids: one fetch per interval, shared by concurrent misses', async () => {
    const { sut, advance } = await setup();
    await sut.keyFor('k1', 'RS256');
    advance(60_000);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sut.keyFor(`forged-${i}`, 'RS256')),
    );
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(sut.fetches).toBe(2);
    for (let i = 0; i < 50; i++) {
      await sut.keyFor(`forged-again-${i}`, 'RS256');
    }
    expect(sut.fetches).toBe(2);
  });

  it('never matches a key to an algorithm of another family, nor symmetric keys', async () => {
    const { sut, publish, advance } = await setup();
    expect(await sut.keyFor('k1', 'ES256')).toBeUndefined();
    expect(await sut.keyFor('k1', 'HS256')).toBeUndefined();
    publish({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'sym', alg: 'HS256' }] });
    advance(30_000);
    expect(await sut.keyFor('sym', 'HS256')).toBeUndefined();
  });

  it('without a key id, only uses the single key that fits', async () => {
    const { sut, publish, advance } = await setup();
    expect(await sut.keyFor(undefined, 'RS256')).toBeDefined();
    publish({ keys: [await publicJwk('a'), await publicJwk('b')] });
    advance(30_000);
    await sut.keyFor('b', 'RS256');
    expect(await sut.keyFor(undefined, 'RS256')).toBeUndefined();
  });
});
