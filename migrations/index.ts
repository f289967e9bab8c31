import { CreateLeases1764240000000 } from './1764240000000-CreateLeases';

/** Applied in this order. Never edit a landed migration; add a new one. */
export const MIGRATIONS = [CreateLeases1764240000000];
