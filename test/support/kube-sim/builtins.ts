import { defaultHpa, validateHpa } from 'test/support/kube-sim/autoscaling';
import type { FieldError } from 'test/support/kube-sim/errors';
import { FieldErrors } from 'test/support/kube-sim/errors';
import type { NameRule, ResourceType } from 'test/support/kube-sim/schema';
import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { deepEqual, ensureDict, getPath, isDict } from 'test/support/kube-sim/types';

const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

export function validateName(rule: NameRule, name: string, field = 'metadata.name'): FieldError[] {
  switch (rule) {
    case 'subdomain':
    case 'crd':
      if (name.length > 253) {
        return [FieldErrors.invalid(field, name, 'must be no more than 253 characters')];
      }
      return SUBDOMAIN_RE.test(name) ? [] : [FieldErrors.invalid(field, name, SUBDOMAIN_MSG)];
    case 'label':
      if (name.length > 63) {
        return [FieldErrors.invalid(field, name, 'must be no more than 63 characters')];
      }
      return LABEL_RE.test(name) ? [] : [FieldErrors.invalid(field, name, LABEL_MSG)];
    case 'dns1035':
      if (name.length > 63) {
        return [FieldErrors.invalid(field, name, 'must be no more than 63 characters')];
      }
      return DNS1035_RE.test(name) ? [] : [FieldErrors.invalid(field, name, DNS1035_MSG)];
    case 'path':
      if (name === '.' || name === '..') {
        return [FieldErrors.invalid(field, name, `may not be '${name}'`)];
      }
      return /[/%]/.test(name)
        ? [FieldErrors.invalid(field, name, `may not contain '${name.includes('/') ? '/' : '%'}'`)]
        : [];
  }
}

function validateQualifiedKey(key: string, field: string): FieldError[] {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1] : parts[0];
  const errs: FieldError[] = [];
  if (parts.length > 2 || (parts.length === 2 && !SUBDOMAIN_RE.test(parts[0]))) {
    errs.push(FieldErrors.invalid(field, key, 'prefix part ' + SUBDOMAIN_MSG));
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_RE.test(name)) {
    errs.push(
      FieldErrors.invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  return errs;
}

/** ObjectMeta validation shared by every kind. */
export function validateMeta(rt: ResourceType, obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const m = obj.metadata;
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    errs.push(...validateQualifiedKey(k, 'metadata.labels'));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE_RE.test(v)) {
      errs.push(
        FieldErrors.invalid(
          'metadata.labels',
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  let size = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    errs.push(...validateQualifiedKey(k, 'metadata.annotations'));
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024) {
    errs.push({
      field: 'metadata.annotations',
      reason: 'FieldValueTooLong',
      message: `Too long: may not be more than 262144 bytes`,
    });
  }
  for (const f of m.finalizers ?? []) {
    if (!['kubernetes', 'orphan', 'foregroundDeletion'].includes(f) && !f.includes('/')) {
      errs.push(
        FieldErrors.invalid(
          'metadata.finalizers',
          f,
          'name is neither a standard finalizer name nor is it fully qualified',
        ),
      );
    }
  }
  if (rt.kind === 'CustomResourceDefinition') {
    const want = `${String(getPath(obj, 'spec', 'names', 'plural'))}.${String(getPath(obj, 'spec', 'group'))}`;
    if (m.name !== want) {
      errs.push(
        FieldErrors.invalid('metadata.name', m.name, `must be spec.names.plural+"."+spec.group`),
      );
    }
  }
  return errs;
}

// ---- defaulting ----

function defaultContainer(c: Dict): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const last = c.image.split('/').pop() ?? '';
    const tagged = last.includes(':') && !last.endsWith(':latest');
    c.imagePullPolicy = tagged || c.image.includes('@') ? 'IfNotPresent' : 'Always';
  }
  if (Array.isArray(c.ports)) {
    for (const p of c.ports) {
      if (isDict(p)) {
        p.protocol ??= 'TCP';
      }
    }
  }
  c.resources ??= {};
}

export function defaultPodSpec(spec: Dict): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const key of ['containers', 'initContainers']) {
    const list = spec[key];
    if (Array.isArray(list)) {
      for (const c of list) {
        if (isDict(c)) {
          defaultContainer(c);
        }
      }
    }
  }
}

function defaultTemplate(spec: Dict): void {
  const tpl = spec.template;
  if (isDict(tpl)) {
    tpl.metadata ??= {};
    if (isDict(tpl.spec)) {
      defaultPodSpec(tpl.spec);
    }
  }
}

export interface DefaultingContext {
  allocateClusterIP(): string;
}

/** Server-side defaulting for the built-in kinds (so drift detection sees stored values). */
export function applyDefaults(rt: ResourceType, obj: KubeObject, ctx: DefaultingContext): void {
  if (rt.crd) {
    return;
  }
  const spec = isDict(obj.spec) ? obj.spec : undefined;
  switch (rt.kind) {
    case 'Deployment':
      if (spec) {
        spec.replicas ??= 1;
        spec.strategy ??= { type: 'RollingUpdate' };
        const st = spec.strategy as Dict;
        if (st.type === 'RollingUpdate') {
          st.rollingUpdate ??= {};
          const ru = st.rollingUpdate as Dict;
          ru.maxSurge ??= '25%';
          ru.maxUnavailable ??= '25%';
        }
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        defaultTemplate(spec);
      }
      break;
    case 'StatefulSet':
      if (spec) {
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= 'OrderedReady';
        spec.updateStrategy ??= { type: 'RollingUpdate' };
        const us = spec.updateStrategy as Dict;
        if (us.type === 'RollingUpdate') {
          us.rollingUpdate ??= { partition: 0 };
        }
        spec.revisionHistoryLimit ??= 10;
        spec.persistentVolumeClaimRetentionPolicy ??= {
          whenDeleted: 'Retain',
          whenScaled: 'Retain',
        };
        defaultTemplate(spec);
      }
      break;
    case 'DaemonSet':
      if (spec) {
        spec.updateStrategy ??= { type: 'RollingUpdate' };
        const us = spec.updateStrategy as Dict;
        if (us.type === 'RollingUpdate') {
          us.rollingUpdate ??= { maxUnavailable: 1, maxSurge: 0 };
        }
        spec.revisionHistoryLimit ??= 10;
        defaultTemplate(spec);
      }
      break;
    case 'ReplicaSet':
      if (spec) {
        spec.replicas ??= 1;
        defaultTemplate(spec);
      }
      break;
    case 'Job':
      if (spec) {
        spec.completions ??= 1;
        spec.parallelism ??= 1;
        spec.backoffLimit ??= 6;
        spec.completionMode ??= 'NonIndexed';
        spec.suspend ??= false;
        spec.manualSelector ??= undefined;
        const uid = obj.metadata.uid ?? '';
        if (spec.selector === undefined && uid) {
          spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
          const tpl = ensureDict(spec, 'template', 'metadata');
          tpl.labels = {
            ...(isDict(tpl.labels) ? tpl.labels : {}),
            'batch.kubernetes.io/controller-uid': uid,
            'batch.kubernetes.io/job-name': obj.metadata.name ?? '',
            'controller-uid': uid,
            'job-name': obj.metadata.name ?? '',
          };
        }
        if (spec.manualSelector === undefined) {
          delete spec.manualSelector;
        }
        defaultTemplate(spec);
      }
      break;
    case 'CronJob':
      if (spec) {
        spec.concurrencyPolicy ??= 'Allow';
        spec.suspend ??= false;
        spec.successfulJobsHistoryLimit ??= 3;
        spec.failedJobsHistoryLimit ??= 1;
        const jt = getPath(spec, 'jobTemplate', 'spec');
        if (isDict(jt)) {
          defaultTemplate(jt);
        }
      }
      break;
    case 'Pod':
      if (spec) {
        defaultPodSpec(spec);
      }
      break;
    case 'Service': {
      const s = ensureDict(obj, 'spec');
      s.type ??= 'ClusterIP';
      if (s.type !== 'ExternalName') {
        if (s.clusterIP === undefined || s.clusterIP === '') {
          s.clusterIP = ctx.allocateClusterIP();
        }
        s.clusterIPs ??= [s.clusterIP];
        s.ipFamilies ??= ['IPv4'];
        s.ipFamilyPolicy ??= 'SingleStack';
        s.internalTrafficPolicy ??= 'Cluster';
      }
      s.sessionAffinity ??= 'None';
      if (Array.isArray(s.ports)) {
        for (const p of s.ports) {
          if (isDict(p)) {
            p.protocol ??= 'TCP';
            p.targetPort ??= p.port;
          }
        }
      }
      obj.status ??= { loadBalancer: {} };
      break;
    }
    case 'Namespace': {
      const s = ensureDict(obj, 'spec');
      s.finalizers ??= ['kubernetes'];
      const st = ensureDict(obj, 'status');
      st.phase ??= 'Active';
      obj.metadata.labels = {
        ...(obj.metadata.labels ?? {}),
        'kubernetes.io/metadata.name': obj.metadata.name ?? '',
      };
      break;
    }
    case 'Secret':
      obj.type ??= 'Opaque';
      break;
    case 'PersistentVolumeClaim':
      if (spec) {
        spec.volumeMode ??= 'Filesystem';
      }
      obj.status ??= { phase: 'Pending' };
      break;
    case 'HorizontalPodAutoscaler':
      if (spec) {
        defaultHpa(spec);
      }
      break;
    default:
      break;
  }
}

// ---- validation ----

function selectorMatches(selector: unknown, labels: unknown): boolean {
  if (!isDict(selector)) {
    return false;
  }
  const ml = isDict(selector.matchLabels) ? selector.matchLabels : {};
  const l = isDict(labels) ? labels : {};
  return Object.entries(ml).every(([k, v]) => l[k] === v);
}

export function validateKind(rt: ResourceType, obj: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isDict(obj.spec) ? obj.spec : {};
  const oldSpec = old && isDict(old.spec) ? old.spec : undefined;
  switch (rt.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet': {
      if (spec.selector === undefined) {
        errs.push(FieldErrors.required('spec.selector', ''));
      } else if (!selectorMatches(spec.selector, getPath(spec, 'template', 'metadata', 'labels'))) {
        errs.push(
          FieldErrors.invalid(
            'spec.template.metadata.labels',
            getPath(spec, 'template', 'metadata', 'labels') ?? {},
            '`selector` does not match template `labels`',
          ),
        );
      }
      const containers = getPath(spec, 'template', 'spec', 'containers');
      if (!Array.isArray(containers) || containers.length === 0) {
        errs.push(FieldErrors.required('spec.template.spec.containers', ''));
      }
      if (oldSpec && !deepEqual(oldSpec.selector, spec.selector)) {
        errs.push(FieldErrors.invalid('spec.selector', spec.selector, 'field is immutable'));
      }
      break;
    }
    case 'Job': {
      const rp = getPath(spec, 'template', 'spec', 'restartPolicy');
      if (rp !== 'Never' && rp !== 'OnFailure') {
        errs.push(
          FieldErrors.notSupported('spec.template.spec.restartPolicy', rp ?? '', [
            'OnFailure',
            'Never',
          ]),
        );
      }
      if (oldSpec && !deepEqual(oldSpec.template, spec.template)) {
        errs.push(FieldErrors.invalid('spec.template', spec.template, 'field is immutable'));
      }
      if (oldSpec && !deepEqual(oldSpec.selector, spec.selector)) {
        errs.push(FieldErrors.invalid('spec.selector', spec.selector, 'field is immutable'));
      }
      break;
    }
    case 'Service':
      if (oldSpec && oldSpec.clusterIP && spec.clusterIP !== oldSpec.clusterIP) {
        errs.push(
          FieldErrors.invalid('spec.clusterIP', spec.clusterIP ?? '', 'field is immutable'),
        );
      }
      break;
    case 'ConfigMap':
    case 'Secret':
      if (old && old.immutable === true) {
        if (!deepEqual(old.data, obj.data) || !deepEqual(old.binaryData, obj.binaryData)) {
          errs.push(FieldErrors.forbidden('data', 'field is immutable when `immutable` is set'));
        }
      }
      if (rt.kind === 'Secret' && old && old.type !== obj.type) {
        errs.push(FieldErrors.invalid('type', obj.type, 'field is immutable'));
      }
      break;
    case 'HorizontalPodAutoscaler':
      errs.push(...validateHpa(spec));
      break;
    default:
      break;
  }
  return errs;
}

/** Whether `generation` must increase for this change. */
export function generationChanged(rt: ResourceType, old: KubeObject, next: KubeObject): boolean {
  switch (rt.generation) {
    case 'none':
      return false;
    case 'spec':
      return !deepEqual(old.spec, next.spec);
    case 'specOrAnnotations':
      return (
        !deepEqual(old.spec, next.spec) ||
        !deepEqual(old.metadata.annotations ?? {}, next.metadata.annotations ?? {})
      );
    case 'cr':
    case 'crNoStatus': {
      const strip = (o: KubeObject): Dict => {
        const c: Dict = { ...o };
        delete c.metadata;
        delete c.apiVersion;
        delete c.kind;
        if (rt.generation === 'cr') {
          delete c.status;
        }
        return c;
      };
      return !deepEqual(strip(old), strip(next));
    }
  }
}
