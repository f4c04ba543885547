package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys of the store, all under redisPrefix.
const (
	redisPrefix  = "sms:"
	redisStream  = redisPrefix + "queue"  // the delivery queue: one entry {id} per message due or leased
	redisDue     = redisPrefix + "due"    // sorted set of message ids waiting for a time (send_at, retry), by due time (Unix ms)
	redisGroup   = "senders"              // the consumer group every worker reads the stream in
	redisMsg     = redisPrefix + "msg:"   // + id: the message record, JSON
	redisRate    = redisPrefix + "rate:"  // + phone digits: sorted set of accepted times (µs)
	redisIdem    = redisPrefix + "idem:"  // + key: "id fingerprint", with the key's TTL
	redisNoIdem  = redisPrefix + "idem:-" // placeholder key when a request has no idempotency key
	redisTimeout = 2 * time.Second        // bound of one command round trip
)

// RedisStore is the store for a gateway spread over several hosts: every
// worker of every host connects to one Redis.
//
//   - records are JSON strings, sms:msg:<id>;
//   - the per-phone limit is a sorted set of accept times per phone, decided
//     in a Lua script with Redis's clock, so it holds across hosts whatever
//     their clocks say;
//   - the queue is the stream sms:queue read by the consumer group
//     "senders": XREADGROUP hands an entry to one worker (its consumer name
//     is the lease owner), the owner renews its lease by re-claiming the
//     entry (which resets its idle time), XAUTOCLAIM takes over entries idle
//     longer than the lease, and a final status XACKs and XDELs the entry;
//   - messages waiting for a time (send_at, or the next attempt of a retry)
//     are not in the stream but in the sorted set sms:due, scored by that
//     time; Claim first moves the due ones into the stream (promoteScript,
//     at most every 50 ms per process), judging "due" by Redis's clock.
//
// Every move between the two is one script, so a worker that dies at any
// point leaves each message in exactly one of them: accepting adds to
// one; a retry acknowledges its entry and adds the message to sms:due; the
// promotion removes it from sms:due and adds an entry. Cancelling marks
// the record (compare-and-set on the whole record) and removes it from
// sms:due; an entry still in the stream for a cancelled record is dropped
// by the Claim that reads it, since claiming checks the record's status in
// the same script that leases it.
//
// Accepting is one Lua script (idempotency key, limit, record, XADD), so a
// message is either fully accepted or not at all. A 202 means Redis has
// applied it; how durable that is on Redis's side is Redis's persistence
// setting (appendonly yes with appendfsync always for no loss at all).
type RedisStore struct {
	url string // without the password
	rdb *redis.Client

	mu          sync.Mutex
	lastSweep   time.Time // last XAUTOCLAIM pass of this process
	lastPromote time.Time // last promoteScript run of this process (monotonic clock)
}

// OpenRedis connects to rawURL (redis://[user:password@]host:port/db),
// checks that Redis answers, and creates the consumer group if missing.
func OpenRedis(ctx context.Context, rawURL string) (*RedisStore, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis store %s: %w", redactURL(rawURL), err)
	}
	opt.DialTimeout = redisTimeout
	opt.ReadTimeout = redisTimeout
	opt.WriteTimeout = redisTimeout
	opt.MaxRetries = -1 // a script is never sent twice: a retried Accept could count twice
	opt.PoolSize = 16
	s := &RedisStore{url: redactURL(rawURL), rdb: redis.NewClient(opt)}
	err = s.rdb.XGroupCreateMkStream(ctx, redisStream, redisGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		s.rdb.Close()
		return nil, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	return s, nil
}

// SilenceRedisLogs stops go-redis from printing its own copy of errors the
// store already returns (and the gateway logs once): "connection pool:
// failed to dial" and the like. It changes go-redis's process-wide logger,
// so main calls it, once.
func SilenceRedisLogs() { redis.SetLogger(silentRedisLog{}) }

type silentRedisLog struct{}

func (silentRedisLog) Printf(context.Context, string, ...any) {}

// redactURL drops the password from a store URL, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "redis://(unparsable URL)"
	}
	return u.Redacted()
}

// String names the store.
func (s *RedisStore) String() string { return s.url }

// Close closes the connections.
func (s *RedisStore) Close() error { return s.rdb.Close() }

// acceptScript: KEYS idem, rate, msg, stream, due; ARGV limit, window ms,
// record, id, fingerprint, key TTL ms, has key (1/0), max depth (0: none),
// due time ms (0: at once). Returns {"replay", "id fp"}, {"full", ""},
// {"limited", retry-after µs} or {"ok", id}.
var acceptScript = redis.NewScript(`
if ARGV[7] == '1' then
  local v = redis.call('GET', KEYS[1])
  if v then return {'replay', v} end
end
if tonumber(ARGV[8]) > 0 and redis.call('XLEN', KEYS[4]) + redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[8]) then
  return {'full', ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local win = tonumber(ARGV[2]) * 1000
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - win)
local n = redis.call('ZCARD', KEYS[2])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[2], n - limit, n - limit, 'WITHSCORES')
  return {'limited', tostring(tonumber(oldest[2]) + win - now)}
end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
if ARGV[9] == '0' then
  redis.call('XADD', KEYS[4], '*', 'id', ARGV[4])
else
  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[4])
end
if ARGV[7] == '1' then redis.call('SET', KEYS[1], ARGV[4] .. ' ' .. ARGV[5], 'PX', ARGV[6]) end
return {'ok', ARGV[4]}
`)

// Accept implements Store.
func (s *RedisStore) Accept(ctx context.Context, req AcceptRequest) (AcceptResult, error) {
	m := req.Message
	m.Status, m.UpdatedAt, m.NextAttemptAt = StatusQueued, m.CreatedAt, m.SendAt
	rec, err := json.Marshal(m)
	if err != nil {
		return AcceptResult{}, fmt.Errorf("redis store: %w", err)
	}
	idem, hasKey := redisNoIdem, "0"
	if req.IdempotencyKey != "" {
		idem, hasKey = redisIdem+req.IdempotencyKey, "1"
	}
	keys := []string{idem, redisRate + req.PhoneKey, redisMsg + m.ID, redisStream, redisDue}
	v, err := acceptScript.Run(ctx, s.rdb, keys, req.RateLimit, req.RateWindow.Milliseconds(), rec, m.ID,
		req.Fingerprint, req.KeyTTL.Milliseconds(), hasKey, req.MaxDepth, dueScore(m.NextAttemptAt)).StringSlice()
	if err != nil {
		return AcceptResult{}, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	if len(v) != 2 {
		return AcceptResult{}, fmt.Errorf("redis store %s: accept script returned %q", s.url, v)
	}
	switch v[0] {
	case "replay":
		id, fp, _ := strings.Cut(v[1], " ")
		if fp != req.Fingerprint {
			return AcceptResult{}, ErrIdempotencyConflict
		}
		return AcceptResult{ID: id, Replayed: true}, nil
	case "full":
		return AcceptResult{Full: true}, nil
	case "limited":
		us, _ := strconv.ParseInt(v[1], 10, 64)
		return AcceptResult{RetryAfter: max(time.Duration(us)*time.Microsecond, time.Nanosecond)}, nil
	}
	return AcceptResult{ID: v[1]}, nil
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, id string) (Message, error) {
	if !validID(id) {
		return Message{}, ErrNotFound
	}
	data, err := s.rdb.Get(ctx, redisMsg+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("redis store %s: record %s: %w", s.url, id, err)
	}
	return m, nil
}

// dueScore is a due time as the score of sms:due: Unix ms rounded up, so
// that a message is never promoted before its time; 0 for nil.
func dueScore(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	ms := (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	return max(ms, 1)
}

// promoteScript: KEYS due, stream; ARGV max. Moves up to max messages whose
// due time has come (by Redis's clock) from sms:due into the stream, each
// removal and its entry together. Returns how many it moved.
var promoteScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'id', id)
end
return #ids
`)

// promoteBatch bounds the messages one promotion moves into the stream;
// promoteEvery is how often one process runs it at most, so that a busy
// worker's many claims do not each pay a round trip for it.
const (
	promoteBatch = 1000
	promoteEvery = 50 * time.Millisecond
)

// Claim implements Store: first the due messages of sms:due move into the
// stream (at most every promoteEvery per process), then entries whose lease
// expired are taken over (XAUTOCLAIM, at most every quarter lease per
// process), then new ones read (XREADGROUP).
func (s *RedisStore) Claim(ctx context.Context, c ClaimRequest) ([]Lease, error) {
	s.mu.Lock()
	sweep := c.Now.Sub(s.lastSweep) >= c.Lease/4
	if sweep {
		s.lastSweep = c.Now
	}
	promote := time.Since(s.lastPromote) >= promoteEvery
	if promote {
		s.lastPromote = time.Now()
	}
	s.mu.Unlock()
	if promote {
		if err := promoteScript.Run(ctx, s.rdb, []string{redisDue, redisStream}, promoteBatch).Err(); err != nil {
			return nil, fmt.Errorf("redis store %s: %w", s.url, err)
		}
	}
	var entries []redis.XMessage
	takeovers := map[string]bool{}
	if sweep {
		msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: redisStream, Group: redisGroup, Consumer: c.Owner,
			MinIdle: c.Lease, Start: "0-0", Count: int64(c.Max),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("redis store %s: %w", s.url, err)
		}
		for _, e := range msgs {
			takeovers[e.ID] = true
		}
		entries = append(entries, msgs...)
	}
	if n := c.Max - len(entries); n > 0 {
		streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: redisGroup, Consumer: c.Owner, Streams: []string{redisStream, ">"}, Count: int64(n), Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redis store %s: %w", s.url, err)
		}
		for _, st := range streams {
			entries = append(entries, st.Messages...)
		}
	}
	var leases []Lease
	for _, e := range entries {
		id, _ := e.Values["id"].(string)
		m, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) { // a malformed entry: nothing to deliver
			s.rdb.XAck(ctx, redisStream, redisGroup, e.ID)
			s.rdb.XDel(ctx, redisStream, e.ID)
			continue
		}
		if err != nil {
			return leases, err // the rest stay pending with us and come back by XAUTOCLAIM
		}
		leased := claimTransition(&m, c.Now, c.GiveUpAfter)
		l := Lease{Message: m, Entry: e.ID, Takeover: takeovers[e.ID]}
		held, err := s.put(ctx, c.Owner, l, m, putClaim)
		if err != nil {
			return leases, err
		}
		if held && leased {
			leases = append(leases, l)
		}
	}
	return leases, nil
}

// updateScript: KEYS stream, msg, due; ARGV group, consumer, entry,
// record, id, final (1/0), release (1/0), claim (1/0), due time ms (0: at
// once). Writes the record only if consumer holds the entry; a claim also
// only if the stored record is still queued or sending (not cancelled),
// else the entry is dropped. A final status acks and deletes the entry; a
// release does too and re-queues the message: as a new entry, or in
// sms:due until its due time. Returns 1 if held, 0 if not, 2 if dropped.
var updateScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[8] == '1' then
  local cur = redis.call('GET', KEYS[2])
  local st = cur and cjson.decode(cur)['status']
  if st ~= 'queued' and st ~= 'sending' then
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
    redis.call('XDEL', KEYS[1], ARGV[3])
    return 2
  end
end
redis.call('SET', KEYS[2], ARGV[4])
if ARGV[6] == '1' or ARGV[7] == '1' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
end
if ARGV[7] == '1' then
  if ARGV[9] == '0' then
    redis.call('XADD', KEYS[1], '*', 'id', ARGV[5])
  else
    redis.call('ZADD', KEYS[3], ARGV[9], ARGV[5])
  end
end
return 1
`)

// putKind is what put does besides writing the record.
type putKind int

const (
	putUpdate  putKind = iota // the lease goes on, or ends with a final status
	putRelease                // the message goes back: to the stream, or to sms:due
	putClaim                  // Claim's first write: only if the record is still deliverable
)

// Update implements Store.
func (s *RedisStore) Update(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	return s.put(ctx, owner, l, m, putUpdate)
}

// Release implements Store: the entry is acknowledged and the message
// added again — a new entry, or to sms:due when m.NextAttemptAt is set —
// in one script, so the message is never out of the queue.
func (s *RedisStore) Release(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	m.Status = StatusQueued
	return s.put(ctx, owner, l, m, putRelease)
}

func (s *RedisStore) put(ctx context.Context, owner string, l Lease, m Message, kind putKind) (bool, error) {
	rec, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("redis store: %w", err)
	}
	n, err := updateScript.Run(ctx, s.rdb, []string{redisStream, redisMsg + m.ID, redisDue},
		redisGroup, owner, l.Entry, rec, m.ID, flag(m.Status.Final()), flag(kind == putRelease), flag(kind == putClaim),
		dueScore(m.NextAttemptAt)).Int()
	if err != nil {
		return false, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	return n == 1, nil
}

// cancelScript: KEYS msg, due; ARGV expected record, new record, id. Writes
// the new record only if the stored one is still the expected one
// (compare-and-set), and takes the id out of sms:due. Returns 1 if written.
var cancelScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
`)

// cancelRetries bounds how often Cancel reads the record again after a
// concurrent change (a claim, a receipt) won the compare-and-set.
const cancelRetries = 8

// Cancel implements Store. A cancelled message's entry, if it is in the
// stream already, is dropped by the next Claim that reads it.
func (s *RedisStore) Cancel(ctx context.Context, id string, now time.Time) (Message, bool, error) {
	if !validID(id) {
		return Message{}, false, ErrNotFound
	}
	for range cancelRetries {
		old, err := s.rdb.Get(ctx, redisMsg+id).Result()
		if errors.Is(err, redis.Nil) {
			return Message{}, false, ErrNotFound
		}
		if err != nil {
			return Message{}, false, fmt.Errorf("redis store %s: %w", s.url, err)
		}
		var m Message
		if err := json.Unmarshal([]byte(old), &m); err != nil {
			return Message{}, false, fmt.Errorf("redis store %s: record %s: %w", s.url, id, err)
		}
		switch m.Status {
		case StatusCancelled:
			return m, false, nil
		case StatusQueued:
		default:
			return m, false, ErrNotCancellable
		}
		m.Status, m.UpdatedAt, m.NextAttemptAt = StatusCancelled, now, nil
		rec, err := json.Marshal(m)
		if err != nil {
			return Message{}, false, fmt.Errorf("redis store: %w", err)
		}
		n, err := cancelScript.Run(ctx, s.rdb, []string{redisMsg + id, redisDue}, old, rec, id).Int()
		if err != nil {
			return Message{}, false, fmt.Errorf("redis store %s: %w", s.url, err)
		}
		if n == 1 {
			return m, true, nil
		}
	}
	return Message{}, false, fmt.Errorf("redis store %s: message %s kept changing while being cancelled", s.url, id)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// renewScript: KEYS stream; ARGV group, consumer, entries…; re-claims each
// entry the consumer still holds (resetting its idle time) and returns the
// entries it no longer holds.
var renewScript = redis.NewScript(`
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 0 or p[1][2] ~= ARGV[2] then
    table.insert(lost, ARGV[i])
  else
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  end
end
return lost
`)

// Renew implements Store. The lease length is the same for every worker:
// XAUTOCLAIM's min-idle time; renewing resets the idle time.
func (s *RedisStore) Renew(ctx context.Context, owner string, leases []Lease, _ time.Duration) ([]Lease, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	args := []any{redisGroup, owner}
	byEntry := make(map[string]Lease, len(leases))
	for _, l := range leases {
		args = append(args, l.Entry)
		byEntry[l.Entry] = l
	}
	entries, err := renewScript.Run(ctx, s.rdb, []string{redisStream}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	lost := make([]Lease, 0, len(entries))
	for _, e := range entries {
		lost = append(lost, byEntry[e])
	}
	return lost, nil
}

// Stats implements Store: the stream and sms:due hold the messages not yet
// final (and, briefly, entries of cancelled ones that no Claim has read
// yet); the stream's first entry is the oldest due one.
func (s *RedisStore) Stats(ctx context.Context) (StoreStats, error) {
	pipe := s.rdb.Pipeline()
	n := pipe.XLen(ctx, redisStream)
	waiting := pipe.ZCard(ctx, redisDue)
	first := pipe.XRangeN(ctx, redisStream, "-", "+", 1)
	if _, err := pipe.Exec(ctx); err != nil {
		return StoreStats{}, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	st := StoreStats{Depth: int(n.Val() + waiting.Val())}
	if e := first.Val(); len(e) > 0 {
		ms, _, _ := strings.Cut(e[0].ID, "-")
		if v, err := strconv.ParseInt(ms, 10, 64); err == nil {
			st.Oldest = time.UnixMilli(v)
		}
	}
	return st, nil
}

// FlushRedis deletes the gateway's keys and recreates the consumer group, so
// a benchmark run starts from an empty Redis store. st must be a RedisStore.
func FlushRedis(ctx context.Context, st Store) error {
	s, ok := st.(*RedisStore)
	if !ok {
		return fmt.Errorf("FlushRedis: %s is not a Redis store", st)
	}
	if err := s.rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("redis store %s: %w", s.url, err)
	}
	return s.rdb.XGroupCreateMkStream(ctx, redisStream, redisGroup, "0").Err()
}
