import { Errors } from 'test/support/kube-sim/errors';
import type { Dict } from 'test/support/kube-sim/types';

/**
 * kubectl sends some built-in requests (e.g. `auth can-i`) as Kubernetes protobuf.
 * The simulator decodes only the review kinds; everything else must be JSON.
 */
type Fields = Map<number, (Buffer | number)[]>;

function varint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      return [result, pos];
    }
    shift += 7;
  }
}

function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    let key: number;
    [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: Buffer | number;
    if (wire === 0) {
      [value, pos] = varint(buf, pos);
    } else if (wire === 2) {
      let len: number;
      [len, pos] = varint(buf, pos);
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      value = 0;
      pos += 8;
    } else if (wire === 5) {
      value = 0;
      pos += 4;
    } else {
      throw Errors.badRequest('unsupported protobuf wire type');
    }
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

function str(f: Fields, n: number): string | undefined {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) && v.length ? v.toString('utf8') : undefined;
}

function msg(f: Fields, n: number): Fields | undefined {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? decode(v) : undefined;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function isProtobuf(contentType: string): boolean {
  return contentType.startsWith('application/vnd.kubernetes.protobuf');
}

/** Decodes a protobuf-encoded review request into its JSON shape. */
export function decodeReview(body: Buffer): Dict {
  if (!body.subarray(0, 4).equals(MAGIC)) {
    throw Errors.badRequest('invalid protobuf envelope');
  }
  const unknown = decode(body.subarray(4));
  const typeMeta = msg(unknown, 1);
  const kind = typeMeta ? str(typeMeta, 2) : undefined;
  const raw = msg(unknown, 2) ?? new Map();
  const spec = msg(raw, 2) ?? new Map();
  if (kind === 'SelfSubjectAccessReview') {
    const out: Dict = {};
    const ra = msg(spec, 1);
    if (ra) {
      const names = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
      const attrs: Dict = {};
      names.forEach((n, i) => {
        const v = str(ra, i + 1);
        if (v !== undefined) {
          attrs[n] = v;
        }
      });
      out.resourceAttributes = attrs;
    }
    const nra = msg(spec, 2);
    if (nra) {
      out.nonResourceAttributes = { path: str(nra, 1), verb: str(nra, 2) };
    }
    return { spec: out };
  }
  if (kind === 'SelfSubjectRulesReview') {
    return { spec: { namespace: str(spec, 1) ?? '' } };
  }
  return { spec: {} };
}
