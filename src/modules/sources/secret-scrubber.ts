const REDACTED = '***';

// scheme://user:password@host → scheme://***@host, wherever it appears in a message.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]+@/gi;

/** Removes userinfo from every URL inside a piece of text. */
export function scrubUrlUserinfo(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`);
}

/**
 * Removes known secrets (and their URL-encoded and base64 forms, which git and HTTP
 * libraries may print) from text that is about to leave the fetch engine.
 */
export class SecretScrubber {
  private readonly needles: string[];

  constructor(secrets: ReadonlyArray<string | undefined>) {
    const needles = new Set<string>();
    for (const secret of secrets) {
      if (secret === undefined || secret === '') {
        continue;
      }
      needles.add(secret);
      needles.add(encodeURIComponent(secret));
      needles.add(Buffer.from(secret).toString('base64'));
      // A private key may be echoed line by line.
      for (const line of secret.split(/\r?\n/)) {
        if (line.trim().length >= 16) {
          needles.add(line.trim());
        }
      }
    }
    // Longest first so that a secret containing another is removed whole.
    this.needles = [...needles].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let result = scrubUrlUserinfo(text);
    for (const needle of this.needles) {
      result = result.split(needle).join(REDACTED);
    }
    return result;
  }
}
