import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { CreateSourceDto, UpdateSourceDto } from 'src/modules/sources/dto/source.dto';
import { newSourceFromDto, sourcePatchFromDto } from 'src/modules/sources/source.mapper';

// The same options as the global pipe (createValidationPipe).
async function problems(cls: new () => object, body: unknown): Promise<string[]> {
  const dto = plainToInstance(cls, body);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  const flatten = (list: typeof errors, prefix = ''): string[] =>
    list.flatMap((e) => [
      ...Object.keys(e.constraints ?? {}).map(() => `${prefix}${e.property}`),
      ...flatten(e.children ?? [], `${prefix}${e.property}.`),
    ]);
  return [...new Set(flatten(errors))];
}

const valid = { name: 'apps', kind: 'git', url: 'https://git.example.com/org/apps.git' };

describe('CreateSourceDto', () => {
  it('accepts a minimal git source and fills in the defaults', async () => {
    expect(await problems(CreateSourceDto, valid)).toEqual([]);
    expect(newSourceFromDto(plainToInstance(CreateSourceDto, valid))).toMatchObject({
      reference: { kind: 'branch', name: 'main' },
      intervalSeconds: 300,
      timeoutSeconds: 60,
      ignore: [],
      suspended: false,
      credentials: null,
    });
  });

  it('names each bad field', async () => {
    expect(
      await problems(CreateSourceDto, {
        name: 'Not_A_Label',
        kind: 'svn',
        url: '',
        intervalSeconds: 1,
        timeoutSeconds: 1.5,
        ignore: [3],
        extra: true,
      }),
    ).toEqual(
      expect.arrayContaining([
        'name',
        'kind',
        'url',
        'intervalSeconds',
        'timeoutSeconds',
        'ignore',
        'extra',
      ]),
    );
  });

  it('requires known_hosts with an SSH key, and a password with basic auth', async () => {
    expect(
      await problems(CreateSourceDto, {
        ...valid,
        credentials: { kind: 'ssh', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n' },
      }),
    ).toEqual(['credentials.knownHosts']);
    expect(
      await problems(CreateSourceDto, { ...valid, credentials: { kind: 'basic', username: 'u' } }),
    ).toEqual(['credentials.password']);
    expect(
      await problems(CreateSourceDto, { ...valid, credentials: { kind: 'token', token: 't' } }),
    ).toEqual([]);
  });

  it('accepts exactly one reference field', async () => {
    const dto = plainToInstance(CreateSourceDto, {
      ...valid,
      reference: { branch: 'main', tag: 'v1' },
    });
    expect(() => newSourceFromDto(dto)).toThrow(/exactly one of branch, tag, semver, commit/);
    expect(
      newSourceFromDto(plainToInstance(CreateSourceDto, { ...valid, reference: { semver: '^1' } }))
        .reference,
    ).toEqual({ kind: 'semver', range: '^1' });
    expect(await problems(CreateSourceDto, { ...valid, reference: { commit: 'abc' } })).toEqual([
      'reference.commit',
    ]);
  });

  it('refuses a reference on a helm source', () => {
    const dto = plainToInstance(CreateSourceDto, {
      ...valid,
      kind: 'helm',
      reference: { branch: 'main' },
    });
    expect(() => newSourceFromDto(dto)).toThrow(/helm sources have no reference/);
  });
});

describe('UpdateSourceDto', () => {
  it('keeps absent fields and removes credentials given as null', async () => {
    expect(await problems(UpdateSourceDto, { credentials: null })).toEqual([]);
    expect(sourcePatchFromDto(plainToInstance(UpdateSourceDto, { credentials: null }))).toEqual({
      credentials: null,
    });
    expect(sourcePatchFromDto(plainToInstance(UpdateSourceDto, {}))).toEqual({});
  });

  it('refuses to rename or change the kind', async () => {
    expect(await problems(UpdateSourceDto, { name: 'x', kind: 'helm' })).toEqual(['name', 'kind']);
  });
});
