import { describe, expect, it } from 'vitest';
import { SecretScrubber, scrubUrlUserinfo } from 'src/common/redaction/secret-scrubber';

describe('SecretScrubber', () => {
  it('removes URL userinfo wherever it appears', () => {
    expect(
      scrubUrlUserinfo("fatal: unable to access 'https://bob:hunter2@git.example.com/x.git/'"),
    ).toBe("fatal: unable to access 'https://***@git.example.com/x.git/'");
  });

  it('removes the secret in plain, URL-encoded and base64 forms', () => {
    const sut = new SecretScrubber(['p@ss word', undefined, '']);
    const text = `a p@ss word b p%40ss%20word c ${Buffer.from('p@ss word').toString('base64')}`;
    expect(sut.scrub(text)).toBe('a *** b *** c ***');
  });

  it('removes lines of a private key', () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';
    const sut = new SecretScrubber([key]);
    expect(sut.scrub('Load key: b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ failed')).not.toContain(
      'b3BlbnNzaC1rZXkt',
    );
  });
});
