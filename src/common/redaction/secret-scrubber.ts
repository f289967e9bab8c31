import { SecretRedactor } from './secret-redactor';

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
  // Any non-empty secret counts here: source credentials are never ordinary words.
  private readonly redactor = new SecretRedactor({ placeholder: REDACTED, minLength: 1 });

  constructor(secrets: ReadonlyArray<string | undefined>) {
    for (const secret of secrets) {
      if (secret === undefined || secret === '') {
        continue;
      }
      this.redactor.addExact(secret);
      this.redactor.addExact(encodeURIComponent(secret));
      this.redactor.addExact(Buffer.from(secret).toString('base64'));
      // A private key may be echoed line by line.
      for (const line of secret.split(/\r?\n/)) {
        if (line.trim().length >= 16) {
          this.redactor.addExact(line.trim());
        }
      }
    }
  }

  scrub(text: string): string {
    // Overlapping matches are merged, so a secret containing another is removed whole.
    return this.redactor.redact(scrubUrlUserinfo(text));
  }
}
