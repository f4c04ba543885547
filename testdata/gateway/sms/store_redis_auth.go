package sms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/redis/go-redis/v9"
)

// Redis keys of package auth's shared state.
const (
	redisNonce  = redisPrefix + "auth:nonce:"  // + app + ":" + nonce, with the nonce's TTL
	redisQuota  = redisPrefix + "auth:quota:"  // + app: hash tokens, refilled (µs), day, count
	redisSecret = redisPrefix + "auth:secret:" // + app: the default application's secret
)

var _ auth.Store = (*RedisStore)(nil)

// UseNonce implements auth.Store: SET NX with the TTL.
func (s *RedisStore) UseNonce(ctx context.Context, app, nonce string, _ time.Time, ttl time.Duration) (bool, error) {
	first, err := s.rdb.SetNX(ctx, redisNonce+app+":"+nonce, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis store %s: nonce: %w", s.url, err)
	}
	return first, nil
}

// takeQuotaScript: KEYS quota; ARGV per second, burst, per day. The rules
// of auth.Quota.Take on Redis's clock, so that they hold across hosts
// whatever their clocks say. Returns {"ok", ""} or {LIMIT, retry-after µs}.
var takeQuotaScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local day = math.floor(tonumber(t[1]) / 86400)
local rate, burst, perday = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'refilled', 'day', 'count')
local tokens = tonumber(v[1]) or burst
local refilled = tonumber(v[2]) or now
local count = tonumber(v[4]) or 0
if tonumber(v[3]) ~= day then count = 0 end
if perday > 0 and count >= perday then
  return {'per_day', string.format('%.0f', (day + 1) * 86400000000 - now)}
end
if rate > 0 then
  tokens = math.min(burst, tokens + math.max(0, now - refilled) * rate / 1000000)
  if tokens < 1 then
    return {'per_second', string.format('%.0f', math.ceil((1 - tokens) * 1000000 / rate))}
  end
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens), 'refilled', string.format('%.0f', now),
  'day', string.format('%.0f', day), 'count', string.format('%.0f', count + 1))
redis.call('PEXPIRE', KEYS[1], 172800000)
return {'ok', ''}
`)

// returnQuotaScript: KEYS quota; ARGV per second, burst. auth.Quota.Return.
var returnQuotaScript = redis.NewScript(`
local t = redis.call('TIME')
local day = math.floor(tonumber(t[1]) / 86400)
local v = redis.call('HMGET', KEYS[1], 'tokens', 'day', 'count')
if not v[1] then return 0 end
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', math.min(tonumber(ARGV[2]), tonumber(v[1]) + 1)))
end
if tonumber(v[2]) == day and tonumber(v[3]) > 0 then
  redis.call('HSET', KEYS[1], 'count', string.format('%.0f', tonumber(v[3]) - 1))
end
return 1
`)

// TakeQuota implements auth.Store.
func (s *RedisStore) TakeQuota(ctx context.Context, app string, q auth.Quota, _ time.Time) (auth.QuotaResult, error) {
	v, err := takeQuotaScript.Run(ctx, s.rdb, []string{redisQuota + app}, q.PerSecond, q.Burst, q.PerDay).StringSlice()
	if err != nil {
		return auth.QuotaResult{}, fmt.Errorf("redis store %s: quota: %w", s.url, err)
	}
	if len(v) != 2 {
		return auth.QuotaResult{}, fmt.Errorf("redis store %s: quota script returned %q", s.url, v)
	}
	if v[0] == "ok" {
		return auth.QuotaResult{Allowed: true}, nil
	}
	us, _ := strconv.ParseInt(v[1], 10, 64)
	return auth.QuotaResult{Limit: v[0], RetryAfter: max(time.Duration(us)*time.Microsecond, time.Nanosecond)}, nil
}

// ReturnQuota implements auth.Store.
func (s *RedisStore) ReturnQuota(ctx context.Context, app string, q auth.Quota, _ time.Time) error {
	if err := returnQuotaScript.Run(ctx, s.rdb, []string{redisQuota + app}, q.PerSecond, q.Burst).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis store %s: quota: %w", s.url, err)
	}
	return nil
}

// InitSecret implements auth.Store: SET NX, then GET the winner's.
func (s *RedisStore) InitSecret(ctx context.Context, app, secret string) (string, error) {
	if err := s.rdb.SetNX(ctx, redisSecret+app, secret, 0).Err(); err != nil {
		return "", fmt.Errorf("redis store %s: application secret: %w", s.url, err)
	}
	stored, err := s.rdb.Get(ctx, redisSecret+app).Result()
	if err != nil {
		return "", fmt.Errorf("redis store %s: application secret: %w", s.url, err)
	}
	return stored, nil
}
