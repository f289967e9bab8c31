/**
 * What releases need from the sources context: resolve a source name within a
 * tenant and back. Bound to SourcesService in ReleasesModule.
 */
export interface ReleaseSourceLookup {
  /** Throws the sources context's 404 error when the tenant has no such source. */
  idOf(tenantId: string, name: string): Promise<string>;
  namesByIds(tenantId: string, ids: readonly string[]): Promise<Map<string, string>>;
}

export const RELEASE_SOURCE_LOOKUP = Symbol('RELEASE_SOURCE_LOOKUP');
