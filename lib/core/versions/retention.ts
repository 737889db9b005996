import { ConfigurationError } from '../errors.js';
import type { VersionInfo, VersionRetentionRule } from './version-types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Every version of the last hour, one per hour for a day, one per day for 30 days (reasons at `VersionOptions.retention`). */
export const defaultVersionRetention: readonly VersionRetentionRule[] = Object.freeze([
  Object.freeze({ withinMs: HOUR_MS, everyMs: 0 }),
  Object.freeze({ withinMs: DAY_MS, everyMs: HOUR_MS }),
  Object.freeze({ withinMs: 30 * DAY_MS, everyMs: DAY_MS }),
]);

/** Checks a retention policy and returns its rules sorted by `withinMs`, youngest first. */
export function checkRetention(rules: unknown): VersionRetentionRule[] {
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new ConfigurationError('"versions.retention" must be a non-empty array of { withinMs, everyMs }');
  }
  for (const [index, rule] of rules.entries()) {
    const { withinMs, everyMs } = (rule ?? {}) as Partial<VersionRetentionRule>;
    if (!Number.isSafeInteger(withinMs) || (withinMs as number) <= 0 || !Number.isSafeInteger(everyMs) || (everyMs as number) < 0) {
      throw new ConfigurationError(`"versions.retention[${index}]" must have a positive integer "withinMs" and a non-negative integer "everyMs"`);
    }
  }
  return [...(rules as VersionRetentionRule[])].sort((a, b) => a.withinMs - b.withinMs);
}

/**
 * The automatic versions a retention policy drops at `nowMs`: each version falls under the first
 * rule (youngest first) whose `withinMs` exceeds its age; under a rule with `everyMs > 0`, only
 * the newest version of each `everyMs` window (aligned to the epoch, so windows do not shift as
 * time passes) is kept; a version older than every rule is dropped. Named versions are kept.
 */
export function versionsToThin(versions: readonly VersionInfo[], rules: readonly VersionRetentionRule[], nowMs: number): string[] {
  const sorted = [...rules].sort((a, b) => a.withinMs - b.withinMs);
  const newestFirst = [...versions].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  const keptWindows = new Set<string>();
  const thinned: string[] = [];
  for (const version of newestFirst) {
    if (version.kind !== 'auto') continue;
    const createdAtMs = version.createdAt.getTime();
    const ageMs = nowMs - createdAtMs;
    if (ageMs < 0) continue;
    const ruleIndex = sorted.findIndex((rule) => ageMs < rule.withinMs);
    if (ruleIndex === -1) {
      thinned.push(version.id);
      continue;
    }
    const { everyMs } = sorted[ruleIndex];
    if (everyMs === 0) continue;
    const window = `${ruleIndex}:${Math.floor(createdAtMs / everyMs)}`;
    if (keptWindows.has(window)) thinned.push(version.id);
    else keptWindows.add(window);
  }
  return thinned;
}
