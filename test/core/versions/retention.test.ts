import assert from 'node:assert/strict';
import { ConfigurationError, type VersionInfo } from '../../../lib/index.js';
import { checkRetention, defaultVersionRetention, versionsToThin } from '../../../lib/core/versions/retention.js';
import { createVersionId } from '../../../lib/core/versions/version-id.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const now = Date.UTC(2026, 10, 30, 12, 0, 0);

function version(ageMs: number, kind: VersionInfo['kind'] = 'auto'): VersionInfo {
  const createdAt = new Date(now - ageMs);
  return { id: createVersionId(createdAt), room: 'r', createdAt, kind, bytes: 1 };
}

describe('the version retention policy', () => {
  it('keeps every version of the last hour', () => {
    const versions = [1, 2, 3, 30, 59].map((minutes) => version(minutes * MINUTE));
    assert.deepEqual(versionsToThin(versions, defaultVersionRetention, now), []);
  });

  it('keeps the newest version of each hour for a day', () => {
    // 12:00 now; 10:50, 10:40 and 10:10 fall in the 10:00–11:00 window, 09:30 in the one before.
    const newest = version(70 * MINUTE);
    const older = [version(80 * MINUTE), version(110 * MINUTE)];
    const previousHour = version(150 * MINUTE);
    const thinned = versionsToThin([newest, ...older, previousHour], defaultVersionRetention, now);
    assert.deepEqual(new Set(thinned), new Set(older.map((v) => v.id)));
  });

  it('keeps the newest version of each day for 30 days and drops older ones', () => {
    const dayOld = [version(2 * DAY + HOUR), version(2 * DAY + 2 * HOUR)];
    const tooOld = version(31 * DAY);
    const thinned = versionsToThin([...dayOld, tooOld], defaultVersionRetention, now);
    assert.deepEqual(new Set(thinned), new Set([dayOld[1].id, tooOld.id]));
  });

  it('never thins named versions', () => {
    const named = [version(5 * HOUR + 1, 'named'), version(5 * HOUR + 2, 'named'), version(400 * DAY, 'named')];
    assert.deepEqual(versionsToThin(named, defaultVersionRetention, now), []);
  });

  it('follows a configured policy, whatever the order of its rules', () => {
    const rules = checkRetention([{ withinMs: HOUR, everyMs: 10 * MINUTE }, { withinMs: 10 * MINUTE, everyMs: 0 }]);
    const recent = [version(MINUTE), version(2 * MINUTE)];
    const sameWindow = [version(21 * MINUTE), version(22 * MINUTE)];
    const thinned = versionsToThin([...recent, ...sameWindow, version(2 * HOUR)], rules, now);
    assert.equal(thinned.length, 2);
    assert.ok(thinned.includes(sameWindow[1].id));
  });

  it('refuses a malformed policy with an exact message', () => {
    assert.throws(() => checkRetention([]), new ConfigurationError('"versions.retention" must be a non-empty array of { withinMs, everyMs }'));
    assert.throws(
      () => checkRetention([{ withinMs: HOUR, everyMs: -1 }]),
      new ConfigurationError('"versions.retention[0]" must have a positive integer "withinMs" and a non-negative integer "everyMs"'),
    );
  });
});
