import { ApiError } from 'test/support/kube-sim/errors';
import type { Dict } from 'test/support/kube-sim/types';

/**
 * Response content negotiation for resource GET / LIST / WATCH, the subset of
 * the apiserver's (apiserver/pkg/endpoints/handlers/negotiation, response.go)
 * that clients of this server rely on.
 *
 * The Accept header's clauses are tried in order of `q` (then as written):
 * - `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` and
 *   `…;as=PartialObjectMetadataList;…` are honoured: the object (or every list
 *   item, or every watch event object) is reduced to its metadata with kind
 *   `PartialObjectMetadata`, apiVersion `meta.k8s.io/v1`. Like the real server,
 *   the choice is made before it is known whether the answer is a list: asking
 *   for the item kind on a list (or the list kind on a single object) is 406.
 *   A watch reduces each event object under the item kind only; under the list
 *   kind it sends the whole object, as the apiserver does.
 * - `as=Table` is answered with the plain object or list (a known deviation:
 *   kubectl prints `NAME AGE` from it).
 * - a plain JSON type, `application/*` or `*\/*` is the plain object; protobuf
 *   is answered with JSON (this server speaks JSON only).
 * - any other conversion (another `as`, group or version) is skipped; when no
 *   clause is left the answer is 406 NotAcceptable.
 */
export type MetadataTransform = 'PartialObjectMetadata' | 'PartialObjectMetadataList';

export interface Negotiated {
  readonly transform?: MetadataTransform;
}

interface Clause {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  readonly q: number;
  readonly order: number;
}

const SERVED_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
];

function parseAccept(header: string): Clause[] {
  return header
    .split(',')
    .map((raw, order): Clause | undefined => {
      const [type, ...rest] = raw.split(';').map((s) => s.trim());
      if (type === undefined || type === '') {
        return undefined;
      }
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) {
          params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
        }
      }
      const q = params.q === undefined ? 1 : Number(params.q);
      return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, order };
    })
    .filter((c): c is Clause => c !== undefined && c.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
}

/** The first honourable clause's conversion, or 406 when there is none. */
export function negotiate(accept: string | undefined): Negotiated {
  if (accept === undefined || accept.trim() === '') {
    return {};
  }
  for (const c of parseAccept(accept)) {
    const json = c.type === 'application/json' || c.type === 'application/*' || c.type === '*/*';
    if (c.type === 'application/vnd.kubernetes.protobuf' || c.type === 'application/yaml') {
      if (c.params.as === undefined) {
        return {};
      }
      continue;
    }
    if (!json) {
      continue;
    }
    const as = c.params.as;
    if (as === undefined) {
      return {};
    }
    if (as === 'Table') {
      return {};
    }
    if (
      (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') &&
      c.params.g === 'meta.k8s.io' &&
      c.params.v === 'v1'
    ) {
      return { transform: as };
    }
  }
  throw new ApiError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: ${SERVED_TYPES.join(', ')}`,
  );
}

/** The response Content-Type for a negotiated conversion. */
export function contentTypeOf(n: Negotiated): string {
  return n.transform === undefined
    ? 'application/json'
    : `application/json;as=${n.transform};g=meta.k8s.io;v=v1`;
}

export function partialObjectMetadata(obj: Dict): Dict {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: obj.metadata ?? {},
  };
}

/** The negotiated form of a single object (GET). */
export function transformObject(n: Negotiated, obj: Dict): Dict {
  if (n.transform === undefined) {
    return obj;
  }
  if (n.transform === 'PartialObjectMetadataList') {
    throw new ApiError(
      406,
      'NotAcceptable',
      'you requested PartialObjectMetadataList, but the requested object is not a list (*v1.PartialObjectMetadata)',
    );
  }
  return partialObjectMetadata(obj);
}

/** The negotiated form of a list (LIST). */
export function transformList(n: Negotiated, list: Dict, items: Dict[]): Dict {
  if (n.transform === undefined) {
    return { ...list, items };
  }
  if (n.transform === 'PartialObjectMetadata') {
    throw new ApiError(
      406,
      'NotAcceptable',
      'you requested PartialObjectMetadata, but the requested object is a list (*v1.PartialObjectMetadataList)',
    );
  }
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: list.metadata,
    items: items.map(partialObjectMetadata),
  };
}

/**
 * The negotiated form of a watch event object (errors pass unchanged). Each event
 * carries one object, so only the item kind applies: asked for the list kind, the
 * apiserver's watch encoder fails the conversion and sends the object as it is,
 * data included (client-go's metadata client watches with `as=PartialObjectMetadata`).
 */
export function transformEventObject(n: Negotiated, type: string, obj: Dict): Dict {
  return n.transform !== 'PartialObjectMetadata' || type === 'ERROR'
    ? obj
    : partialObjectMetadata(obj);
}
