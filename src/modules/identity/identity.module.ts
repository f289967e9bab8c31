import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { BEARER_AUTHENTICATOR, TENANT_ROLE_RESOLVER } from 'src/common/auth/auth.ports';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import { ClustersModule } from 'src/clusters/clusters.module';
import { ClustersService } from 'src/clusters/clusters.service';
import { ClusterApiPool } from 'src/modules/reconciler/cluster-api.pool';
import { GrantsModule } from 'src/tenants/grants/grants.module';
import { EventsModule } from 'src/modules/events/events.module';
import { ReleasesModule } from 'src/modules/releases/releases.module';
import { SourcesModule } from 'src/modules/sources/sources.module';
import { TenantsModule } from 'src/tenants/tenants.module';
import { ApiTokenRepository } from './api-tokens/api-token.repository';
import { ApiTokensController } from './api-tokens/api-tokens.controller';
import { ApiTokensService } from './api-tokens/api-tokens.service';
import { BearerAuthenticatorService } from './bearer-authenticator.service';
import { MeController } from './me.controller';
import { systemClock } from './oidc/jwks-cache';
import { HttpOidcTransport, OIDC_CLOCK, OIDC_TRANSPORT, OidcVerifier } from './oidc/oidc-verifier';
import { GrantIndexRepository } from './onboarding/grant-index.repository';
import {
  CLUSTER_KUBE_API,
  type ClusterKubeApi,
  GrantOnboardingService,
} from './onboarding/grant-onboarding.service';
import { TenantDeletionService } from './onboarding/tenant-deletion.service';
import { TenantAccessService } from './tenant-access.service';
import { TenantMembershipRepository } from './tenant-membership.repository';
import { TenantSelfServiceController } from './tenant-self-service.controller';
import { TenantSelfService } from './tenant-self.service';

const IDENTITY_PROVIDERS: Provider[] = [
  {
    provide: OIDC_TRANSPORT,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) =>
      new HttpOidcTransport(config.oidcAudience ?? '', config.oidcAllowInsecureIssuer),
  },
  { provide: OIDC_CLOCK, useValue: systemClock },
  OidcVerifier,
  ApiTokenRepository,
  ApiTokensService,
  TenantMembershipRepository,
  TenantAccessService,
  TenantSelfService,
  BearerAuthenticatorService,
  {
    // The reconciler's pool: one connection per cluster, rebuilt on kubeconfig rotation.
    provide: CLUSTER_KUBE_API,
    inject: [ClusterApiPool, ClustersService],
    useFactory:
      (pool: ClusterApiPool, clusters: ClustersService): ClusterKubeApi =>
      async (clusterId: string) => {
        const cluster = await clusters.getById(clusterId);
        return pool.clientFor(cluster.id, cluster.kubeconfigVersion, cluster.name);
      },
  },
  GrantIndexRepository,
  GrantOnboardingService,
  TenantDeletionService,
  { provide: BEARER_AUTHENTICATOR, useExisting: BearerAuthenticatorService },
  { provide: TENANT_ROLE_RESOLVER, useExisting: TenantAccessService },
];

/**
 * Who is calling and what they may do: OIDC sign-in, tenant API tokens, role
 * resolution from the tenants' role bindings, and tenant self-service.
 * Provides the AccessGuard's ports. Onboards tenants in workload clusters and
 * offboards them when a tenant is deleted (hence releases and sources).
 */
@Module({})
export class IdentityModule {
  /**
   * `clusterConnections`: the app's reconcile engine module (the very instance
   * the app imports, so one pool serves both), whose ClusterApiPool onboarding
   * connects through.
   */
  static forRoot(clusterConnections: DynamicModule): DynamicModule {
    return {
      module: IdentityModule,
      imports: [
        TenantsModule,
        ClustersModule,
        GrantsModule,
        EventsModule,
        ReleasesModule,
        SourcesModule,
        clusterConnections,
      ],
      controllers: [MeController, ApiTokensController, TenantSelfServiceController],
      providers: IDENTITY_PROVIDERS,
      exports: [
        BEARER_AUTHENTICATOR,
        TENANT_ROLE_RESOLVER,
        OidcVerifier,
        ApiTokensService,
        GrantOnboardingService,
      ],
    };
  }
}
