import { describe, expect, it } from 'vitest';
import {
  BOUNDED_DNS_LABEL_PATTERN,
  BOUNDED_DNS_SUBDOMAIN_PATTERN,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  isDnsLabel,
  isDnsSubdomain,
} from './names';

describe('DNS-1123 names', () => {
  it.each(['a', 'web', 'my-app-1', '0abc', 'a'.repeat(63)])('accepts label %s', (name) => {
    expect(isDnsLabel(name)).toBe(true);
    expect(BOUNDED_DNS_LABEL_PATTERN.test(name)).toBe(true);
    expect(DNS_LABEL_PATTERN.test(name)).toBe(true);
  });

  it.each(['', '-a', 'a-', 'A', 'a_b', 'a.b', 'ä'])('refuses label %j', (name) => {
    expect(isDnsLabel(name)).toBe(false);
    expect(BOUNDED_DNS_LABEL_PATTERN.test(name)).toBe(false);
    expect(DNS_LABEL_PATTERN.test(name)).toBe(false);
  });

  it('bounds labels at 63 characters, the shape pattern alone does not', () => {
    const long = 'a'.repeat(64);
    expect(isDnsLabel(long)).toBe(false);
    expect(BOUNDED_DNS_LABEL_PATTERN.test(long)).toBe(false);
    expect(DNS_LABEL_PATTERN.test(long)).toBe(true);
  });

  it('accepts subdomains of labels joined by dots, at most 253 characters', () => {
    for (const name of ['a', 'prod.eu-1', 'a.b.c']) {
      expect(isDnsSubdomain(name)).toBe(true);
      expect(BOUNDED_DNS_SUBDOMAIN_PATTERN.test(name)).toBe(true);
    }
    for (const name of ['', '.a', 'a.', 'a..b', 'A.b', 'a.-b']) {
      expect(isDnsSubdomain(name)).toBe(false);
      expect(DNS_SUBDOMAIN_PATTERN.test(name)).toBe(false);
    }
    const long = `${'a'.repeat(63)}.`.repeat(4) + 'a'.repeat(2);
    expect(long.length).toBe(258);
    expect(isDnsSubdomain(long)).toBe(false);
    expect(BOUNDED_DNS_SUBDOMAIN_PATTERN.test(long)).toBe(false);
    expect(DNS_SUBDOMAIN_PATTERN.test(long)).toBe(true);
  });
});
