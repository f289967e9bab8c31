/** Who a verified OIDC token names. Groups are empty when the token carries no groups claim. */
export interface OidcIdentity {
  readonly username: string;
  readonly groups: readonly string[];
  /** `exp` of the token (seconds since the epoch). */
  readonly expiresAt: number;
}

/** Why a token was refused: logged (never the token), answered as a plain 401. */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejected';
  }
}
