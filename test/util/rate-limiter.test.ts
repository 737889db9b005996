import assert from 'node:assert/strict';
import { RateLimiter } from '../../lib/util/rate-limiter.js';

describe('RateLimiter', () => {
  it('counts events per key and says when a key used up its limit', () => {
    const limiter = new RateLimiter({ limit: 3, windowMs: 1_000 });
    assert.deepEqual([1, 2, 3].map(() => limiter.hit('a', 0)), [1, 2, 3]);
    assert.equal(limiter.isLimited('a', 10), true);
    assert.equal(limiter.isLimited('b', 10), false);
    assert.equal(limiter.hit('a', 20), 4);
  });

  it('starts a key over once its window ended', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1_000 });
    limiter.hit('a', 0);
    assert.equal(limiter.isLimited('a', 999), true);
    assert.equal(limiter.retryAfterMs('a', 400), 600);
    assert.equal(limiter.isLimited('a', 1_000), false);
    assert.equal(limiter.hit('a', 1_000), 1);
  });

  it('tracks at most maxKeys keys, however many an attacker makes up', () => {
    const limiter = new RateLimiter({ limit: 5, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.hit(`address-${i}`, i);
    assert.equal(limiter.size, 100);
    // The newest keys are the ones kept.
    assert.equal(limiter.hit('address-9999', 10_000), 2);
  });

  it('sweeps windows that ended when new keys arrive', () => {
    const limiter = new RateLimiter({ limit: 5, windowMs: 1_000 });
    for (let i = 0; i < 50; i++) limiter.hit(`old-${i}`, 0);
    limiter.hit('new', 5_000);
    assert.equal(limiter.size, 1);
  });

  it('throws on a limit or window that is not positive', () => {
    assert.throws(() => new RateLimiter({ limit: 0, windowMs: 1 }), /"limit" must be a positive integer, got 0/);
    assert.throws(() => new RateLimiter({ limit: 1, windowMs: -1 }), /"windowMs" must be a positive number, got -1/);
  });
});
