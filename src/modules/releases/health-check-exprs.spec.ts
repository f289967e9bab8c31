import { describe, expect, it } from 'vitest';
import { exprProblems, HealthExprEvaluator } from './health-check-exprs';

const sealedSecret = {
  apiVersion: 'bitnami.com/v1alpha1',
  kind: 'SealedSecret',
  // The example of Flux's kustomizations.md (health check expressions).
  failed: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
  current: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
};

const withSynced = (status: string): Record<string, unknown> => ({
  apiVersion: 'bitnami.com/v1alpha1',
  kind: 'SealedSecret',
  metadata: { name: 's', generation: 2 },
  status: { observedGeneration: 2, conditions: [{ type: 'Synced', status, message: 'm' }] },
});

describe('exprProblems', () => {
  it('accepts Flux examples, optional field access and integer comparisons', () => {
    expect(exprProblems(sealedSecret)).toEqual([]);
    expect(
      exprProblems({
        current:
          "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')",
        inProgress: 'status.observedGeneration != metadata.generation',
      }),
    ).toEqual([]);
  });

  it('names the field, the expression and the compile error', () => {
    expect(exprProblems({ current: "status.conditions.exists(e, e.type == 'Ready'" })).toEqual([
      {
        field: 'current',
        expression: "status.conditions.exists(e, e.type == 'Ready'",
        message: 'Expected RPAREN, got EOF',
      },
    ]);
    expect(exprProblems({ current: 'true', failed: '1 +' })).toEqual([
      { field: 'failed', expression: '1 +', message: 'Unexpected token: EOF' },
    ]);
  });

  it('requires current and refuses an expression that can never be a bool', () => {
    expect(exprProblems({ failed: 'false' })).toEqual([
      { field: 'current', expression: '', message: 'is required' },
    ]);
    expect(exprProblems({ current: "'ready'" })).toEqual([
      { field: 'current', expression: "'ready'", message: 'must return a bool, returns string' },
    ]);
  });
});

describe(HealthExprEvaluator.name, () => {
  it('evaluates failed before current, as Flux orders them', () => {
    const sut = new HealthExprEvaluator(sealedSecret);
    expect(sut.evaluate(withSynced('False'))).toEqual({
      status: 'Failed',
      message: `healthCheckExprs failed "${sealedSecret.failed}" is true`,
    });
    expect(sut.evaluate(withSynced('True')).status).toBe('Current');
  });

  it('evaluates inProgress first: it wins over a true current', () => {
    const sut = new HealthExprEvaluator({
      ...sealedSecret,
      inProgress: 'status.conditions.size() > 0',
      current: 'true',
    });
    expect(sut.evaluate(withSynced('True')).status).toBe('InProgress');
  });

  it('is InProgress when no expression is true', () => {
    const sut = new HealthExprEvaluator({ ...sealedSecret, failed: 'false', current: 'false' });
    expect(sut.evaluate(withSynced('True'))).toEqual({
      status: 'InProgress',
      message: 'no healthCheckExprs expression is true yet',
    });
  });

  it('keeps waiting, naming the error, when a field does not exist yet', () => {
    const sut = new HealthExprEvaluator(sealedSecret);
    const verdict = sut.evaluate({
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: {},
      status: {},
    });
    expect(verdict.status).toBe('InProgress');
    expect(verdict.message).toContain('could not be evaluated: No such key: conditions');
  });

  it('compares JSON integers as CEL ints', () => {
    const sut = new HealthExprEvaluator({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      current: 'status.availableReplicas >= 2 && spec.replicas == status.availableReplicas',
    });
    expect(sut.evaluate({ spec: { replicas: 2 }, status: { availableReplicas: 2 } }).status).toBe(
      'Current',
    );
  });

  it('never quotes a Secret value in an evaluation error (canary)', () => {
    const canary = 'c2VjcmV0LWNhbmFyeS12YWx1ZQ==';
    const sut = new HealthExprEvaluator({
      apiVersion: 'v1',
      kind: 'Secret',
      current: 'data[data.token] == "x"',
      failed: 'duration(data.token) > duration("1s")',
    });
    const verdict = sut.evaluate({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {},
      data: { token: canary },
    });
    expect(verdict.status).toBe('InProgress');
    expect(verdict.message).not.toContain(canary);
    expect(verdict.message).toContain(
      'could not be evaluated: the error is not shown for a Secret',
    );
  });
});
