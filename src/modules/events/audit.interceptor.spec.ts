import { CallHandler, ExecutionContext, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { firstValueFrom, Observable } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineErrors } from 'src/common/errors/app-error';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { Audited } from './audit.decorator';
import { AuditInterceptor, changeSummary } from './audit.interceptor';
import type { AuditRepository, NewAuditEntry } from './audit.repository';
import { AuditService } from './audit.service';

const ClusterError = defineErrors('ClusterError', { ClusterNotFound: 404 });

class Routes {
  @Audited({ action: 'cluster.register', objectKind: 'Cluster', redacted: ['kubeconfig'] })
  register(): void {}
}

/** A repository whose writes wait until the test lets them finish, or fail a given number of times. */
function fakeRepository(failures = 0) {
  const writes: { id: string; entry: NewAuditEntry }[] = [];
  let finish: () => void = () => undefined;
  let hold = false;
  let failuresLeft = failures;
  const repository = {
    insert: (id: string, entry: NewAuditEntry): Promise<void> => {
      if (failuresLeft > 0) {
        failuresLeft--;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      writes.push({ id, entry });
      return hold ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve();
    },
  };
  return {
    repository: repository as unknown as AuditRepository,
    writes,
    holdWrites: () => (hold = true),
    finishWrite: () => finish(),
  };
}

function setup(failures = 0) {
  const repo = fakeRepository(failures);
  const metrics = new MetricsService();
  const audit = new AuditService(repo.repository, metrics);
  const sut = new AuditInterceptor(new Reflector(), audit);
  const req = {
    params: {},
    query: {},
    body: { name: 'prod-eu', kubeconfig: 'secret-canary' },
    headers: {},
  } as unknown as Request;
  const res = { statusCode: 201 } as Response;
  const context = {
    getType: () => 'http',
    getHandler: () => Routes.prototype.register,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
  const failuresCounted = async (): Promise<string> =>
    (await metrics.registry.getSingleMetricAsString('gitfleet_audit_write_failures_total'))
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  return { sut, context, res, ...repo, failuresCounted };
}

const handler = (body: () => Promise<unknown>): CallHandler => ({
  handle: () =>
    new Observable(
      (s) =>
        void body().then(
          (v) => (s.next(v), s.complete()),
          (e: unknown) => s.error(e),
        ),
    ),
});

describe('AuditInterceptor', () => {
  afterEach(() => vi.restoreAllMocks());

  it('holds the response until the entry of a successful change is written', async () => {
    const { sut, context, writes, holdWrites, finishWrite } = setup();
    holdWrites();
    let answered = false;
    const response = firstValueFrom(
      sut.intercept(
        context,
        handler(() => Promise.resolve({ name: 'prod-eu' })),
      ),
    ).then((v) => {
      answered = true;
      return v;
    });
    await vi.waitFor(() => expect(writes).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    finishWrite();
    expect(await response).toEqual({ name: 'prod-eu' });
    expect(writes[0].entry).toMatchObject({
      action: 'cluster.register',
      objectName: 'prod-eu',
      outcome: 'success',
      statusCode: 201,
      errorCode: null,
      changes: { kubeconfig: '[REDACTED]' },
    });
  });

  it('records the status a handler set itself (202 of a cascading delete)', async () => {
    const { sut, context, res, writes } = setup();
    await firstValueFrom(
      sut.intercept(
        context,
        handler(() => {
          res.statusCode = 202;
          return Promise.resolve(undefined);
        }),
      ),
    );
    expect(writes[0].entry).toMatchObject({ outcome: 'success', statusCode: 202 });
  });

  it('records a failure with the status and code the client is answered with, then rethrows', async () => {
    const { sut, context, writes } = setup();
    const error = new ClusterError('ClusterNotFound', 'no such cluster');
    await expect(
      firstValueFrom(
        sut.intercept(
          context,
          handler(() => Promise.reject(error)),
        ),
      ),
    ).rejects.toBe(error);
    expect(writes.map((w) => w.entry)).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        statusCode: 404,
        errorCode: 'ClusterNotFound',
      }),
    ]);
  });

  it('maps a unique violation as the exception filter does (409 AlreadyExists)', async () => {
    const { sut, context, writes } = setup();
    const duplicate = Object.assign(new Error('duplicate key'), { driverError: { code: '23505' } });
    await expect(
      firstValueFrom(
        sut.intercept(
          context,
          handler(() => Promise.reject(duplicate)),
        ),
      ),
    ).rejects.toBe(duplicate);
    expect(writes[0].entry).toMatchObject({ statusCode: 409, errorCode: 'AlreadyExists' });
  });
});

describe('changeSummary', () => {
  it('keeps no credentials written into a URL, in the body or the query', () => {
    const summary = changeSummary(
      {
        action: 'source.create',
        objectKind: 'Source',
        changes: ['url', 'refs'],
        queryChanges: ['from'],
      },
      {
        params: {},
        query: { from: 'https://ci:q-canary@example.com/x' },
        body: {
          url: 'https://user:token-canary@git.example.com/org/repo.git',
          refs: [{ mirror: 'https://token-canary2@mirror.example.com/repo' }],
        },
        result: undefined,
      },
    );
    expect(summary).toEqual({
      url: 'https://***@git.example.com/org/repo.git',
      refs: [{ mirror: 'https://***@mirror.example.com/repo' }],
      from: 'https://***@example.com/x',
    });
  });
});

describe('AuditService', () => {
  afterEach(() => vi.restoreAllMocks());

  it('retries a failed write under the same id, so a retry cannot store it twice', async () => {
    const { sut, context, writes, failuresCounted } = setup(2);
    await firstValueFrom(
      sut.intercept(
        context,
        handler(() => Promise.resolve({})),
      ),
    );
    expect(writes).toHaveLength(1);
    expect(await failuresCounted()).toBe('gitfleet_audit_write_failures_total 0');
  });

  it('logs and counts an entry it cannot write, without failing the change it records', async () => {
    const errors = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { sut, context, writes, failuresCounted } = setup(3);
    expect(
      await firstValueFrom(
        sut.intercept(
          context,
          handler(() => Promise.resolve({ ok: true })),
        ),
      ),
    ).toEqual({ ok: true });
    expect(writes).toEqual([]);
    expect(await failuresCounted()).toBe('gitfleet_audit_write_failures_total 1');
    expect(errors).toHaveBeenCalledWith(
      expect.objectContaining({
        auditEntry: expect.objectContaining({
          id: expect.any(String),
          action: 'cluster.register',
          outcome: 'success',
          changes: { kubeconfig: '[REDACTED]' },
        }),
      }),
    );
    expect(JSON.stringify(errors.mock.calls)).not.toContain('secret-canary');
  });
});
