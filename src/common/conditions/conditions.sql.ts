import type { ConditionUpdate } from './conditions';

/**
 * The same setter as {@link setCondition}, as a SQL expression over a jsonb
 * array column, for statements that set a condition without reading the row
 * first (a queue claim marking its rows Reconciling). The condition is a
 * constant of the code, never user input; it is quoted all the same.
 */
export function setConditionSql(column: string, condition: ConditionUpdate): string {
  const type = literal(condition.type);
  const status = literal(condition.status);
  const kept = `(SELECT c->>'lastTransitionTime' FROM jsonb_array_elements(${column}) AS c
      WHERE c->>'type' = ${type} AND c->>'status' = ${status} LIMIT 1)`;
  const now = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return `(${removeConditionSql(column, condition.type)} || jsonb_build_array(jsonb_build_object(
      'type', ${type}, 'status', ${status}, 'reason', ${literal(condition.reason)},
      'message', ${literal(condition.message)}, 'lastTransitionTime', COALESCE(${kept}, ${now}))))`;
}

/** `column` without the conditions of `type`, the others in their order. */
export function removeConditionSql(column: string, type: string): string {
  return `(SELECT COALESCE(jsonb_agg(e.c ORDER BY e.i), '[]'::jsonb)
      FROM jsonb_array_elements(${column}) WITH ORDINALITY AS e(c, i)
      WHERE e.c->>'type' <> ${literal(type)})`;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
