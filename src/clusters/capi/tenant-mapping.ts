import type { AppConfig } from 'src/common/config/config';

/** Who owns the Clusters of a management-cluster namespace. */
export type TenantDecision =
  | { readonly kind: 'tenant'; readonly tenant: string; readonly from: 'config' | 'label' }
  | { readonly kind: 'platform' }
  | { readonly kind: 'ignore' };

export type TenantMappingConfig = Pick<
  AppConfig,
  'capiTenantNamespaces' | 'capiTenantNamespaceLabel' | 'capiUnmappedNamespaces'
>;

/**
 * The configured mapping wins over the namespace label (an operator's
 * decision beats whoever may label namespaces); a namespace mapped by neither
 * holds platform clusters or is ignored, as configured.
 */
export function decideTenant(
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>>,
  config: TenantMappingConfig,
): TenantDecision {
  const configured = config.capiTenantNamespaces[namespace];
  if (configured !== undefined) {
    return { kind: 'tenant', tenant: configured, from: 'config' };
  }
  const labelled = namespaceLabels[config.capiTenantNamespaceLabel];
  if (labelled !== undefined && labelled !== '') {
    return { kind: 'tenant', tenant: labelled, from: 'label' };
  }
  return config.capiUnmappedNamespaces === 'platform' ? { kind: 'platform' } : { kind: 'ignore' };
}

/** Whether the mapping needs the namespace's labels at all. */
export function needsNamespaceLabels(namespace: string, config: TenantMappingConfig): boolean {
  return config.capiTenantNamespaces[namespace] === undefined;
}
