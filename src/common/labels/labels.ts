import type { FieldProblem } from 'src/common/errors/app-error';
import { isDnsSubdomain } from 'src/common/validation/names';

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const MAX_LABELS = 64;

/** Problem with a label key (`[prefix/]name`), or undefined. Never echoes the value. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix === '' || !isDnsSubdomain(prefix))) {
    return 'label key prefix must be a DNS subdomain (lower case, at most 253 characters)';
  }
  if (name === '' || name.length > 63 || !NAME.test(name)) {
    return 'label key name must be at most 63 characters of letters, digits, -, _ and ., beginning and ending with a letter or digit';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') {
    return undefined;
  }
  if (value.length > 63 || !NAME.test(value)) {
    return 'label value must be empty or at most 63 characters of letters, digits, -, _ and ., beginning and ending with a letter or digit';
  }
  return undefined;
}

/** Validates a label map; problems name `field.key` (keys are not secret, values are not echoed). */
export function labelProblems(labels: unknown, field = 'labels'): FieldProblem[] {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return [{ field, message: 'must be an object of string keys to string values' }];
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  if (entries.length > MAX_LABELS) {
    problems.push({ field, message: `at most ${MAX_LABELS} labels` });
  }
  for (const [key, value] of entries) {
    const keyProblem = labelKeyProblem(key);
    const shownKey = key.length > 100 ? `${key.slice(0, 100)}…` : key;
    if (keyProblem !== undefined) {
      problems.push({ field: `${field}.${shownKey}`, message: keyProblem });
      continue;
    }
    if (typeof value !== 'string') {
      problems.push({ field: `${field}.${shownKey}`, message: 'label value must be a string' });
      continue;
    }
    const valueProblem = labelValueProblem(value);
    if (valueProblem !== undefined) {
      problems.push({ field: `${field}.${shownKey}`, message: valueProblem });
    }
  }
  return problems;
}
