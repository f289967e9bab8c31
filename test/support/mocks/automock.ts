import { type Mock, vi } from 'vitest';

type Method = (...args: never[]) => unknown;

/**
 * A dependency whose methods are `vi.fn` mocks: still usable as the dependency
 * (the subject's constructor takes it), and each method mockable and assertable
 * (`deps.applier.apply.mockResolvedValue(…)`, `toHaveBeenCalledWith`).
 */
export type Mocked<T> = T & {
  [K in keyof T as T[K] extends Method ? K : never]: T[K] extends (...args: infer A) => infer R
    ? Mock<(...args: A) => R>
    : never;
};

/**
 * A mock of `T`: every method, read the first time, becomes a `vi.fn()` that
 * answers undefined until told otherwise. Plain values (options objects) are
 * passed to {@link automock} instead.
 */
export function mockOf<T>(values: Partial<T> = {}): Mocked<T> {
  const fns = new Map<PropertyKey, Mock>();
  const own: Record<PropertyKey, unknown> = { ...values };
  return new Proxy(Object.create(null), {
    get(_target, property) {
      if (property in own) {
        return own[property];
      }
      // Not a thenable: an awaited or resolved mock is the mock itself.
      if (property === 'then' || typeof property === 'symbol') {
        return undefined;
      }
      let fn = fns.get(property);
      if (fn === undefined) {
        fn = vi.fn();
        fns.set(property, fn);
      }
      return fn;
    },
    set(_target, property, value) {
      own[property] = value;
      return true;
    },
  });
}

type Constructor = new (...args: never[]) => unknown;
type Params<C extends Constructor> = ConstructorParameters<C>;

/** The mocked dependencies by the names given to {@link automock}. */
export type MockedDeps<C extends Constructor, N extends readonly string[]> = {
  [I in keyof N & `${number}` as N[I] & string]: Mocked<Params<C>[I & keyof Params<C>]>;
};

/** Values given instead of mocks (options, a real collaborator), by name. */
export type ProvidedDeps<C extends Constructor, N extends readonly string[]> = {
  [I in keyof N & `${number}` as N[I] & string]?: Params<C>[I & keyof Params<C>];
};

/**
 * Builds `cls` with every constructor dependency replaced by a typed mock,
 * named (in constructor order) by `names`, so tests assert by name:
 *
 *   const { sut, deps } = automock(ApplyStep, ['snapshots', 'applier']);
 *   expect(deps.applier.apply).toHaveBeenCalledWith(…);
 */
export function automock<C extends Constructor, const N extends readonly string[]>(
  cls: C,
  names: N & { length: Params<C>['length'] },
  provided: ProvidedDeps<C, N> = {},
): { sut: InstanceType<C>; deps: MockedDeps<C, N> } {
  if (cls.length !== names.length) {
    throw new Error(`${cls.name} takes ${cls.length} dependencies, ${names.length} were named`);
  }
  // Built untyped (names are only known at run time), checked by the signature above.
  const given = new Map<string, unknown>(Object.entries(provided));
  const deps = Object.create(null);
  for (const name of names) {
    deps[name] = given.has(name) ? given.get(name) : mockOf();
  }
  const sut = Reflect.construct(
    cls,
    names.map((name) => deps[name]),
  );
  return { sut, deps };
}
