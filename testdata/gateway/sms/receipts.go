package sms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// StatusUndelivered: the provider's receipt says the handset did not get
// the message (switched off, number out of service …); Delivery tells why.
const StatusUndelivered Status = "undelivered"

// Delivery is the delivery receipt of a sent message, in its record once the
// provider has reported (status delivered or undelivered).
type Delivery struct {
	Provider   string    `json:"provider"`    // configured provider name that sent it
	ProviderID string    `json:"provider_id"` // the provider's id (Aliyun BizId, Tencent SerialNo)
	Code       string    `json:"code"`        // the provider's status code, such as DELIVERED or DELIVRD
	At         time.Time `json:"at"`          // when the receipt says it happened
}

// ReceiptStore is the part of a Store that takes delivery receipts; both
// stores implement it. RecordProvider notes which provider accepted message
// id under which provider id, before the message is recorded sent; receipts
// name that provider id. ApplyReceipt (provider.ReceiptSink) moves a sent
// message to delivered or undelivered once: a receipt for a message that
// already has one is a Duplicate, and one that arrives before the message
// is recorded sent is an error (the provider pushes it again later). A
// receipt naming no recorded provider id is matched by its MessageID
// (Aliyun echoes the message id as out_id), which also covers a receipt
// that overtakes RecordProvider; without one (Tencent) it is Unknown.
type ReceiptStore interface {
	RecordProvider(ctx context.Context, id, provider, providerID string) error
	provider.ReceiptSink
}

// ReceiptStore returns the gateway's store as a ReceiptStore.
func (g *Gateway) ReceiptStore() (ReceiptStore, bool) {
	rs, ok := g.store.(ReceiptStore)
	return rs, ok
}

// errReceiptEarly is the error of a receipt for a message not yet recorded sent.
var errReceiptEarly = errors.New("receipt for a message not yet recorded as sent; push it again later")

func receiptStatus(r provider.Receipt) Status {
	if r.Delivered {
		return StatusDelivered
	}
	return StatusUndelivered
}

// RecordProvider implements ReceiptStore.
func (s *SQLiteStore) RecordProvider(ctx context.Context, id, prov, providerID string) error {
	return s.do(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT OR IGNORE INTO deliveries (provider, provider_id, id, status, code, at) VALUES (?, ?, ?, '', '', 0)`, prov, providerID, id)
		return err
	})
}

// ApplyReceipt implements provider.ReceiptSink.
func (s *SQLiteStore) ApplyReceipt(ctx context.Context, r provider.Receipt) (provider.ReceiptOutcome, error) {
	var outcome provider.ReceiptOutcome
	err := s.do(ctx, func(tx *wtx) error {
		var id, done string
		err := tx.QueryRow(`SELECT id, status FROM deliveries WHERE provider = ? AND provider_id = ?`, r.Provider, r.ProviderID).Scan(&id, &done)
		switch {
		case errors.Is(err, sql.ErrNoRows) && r.MessageID != "":
			id = r.MessageID // matched by the echoed message id, below
		case errors.Is(err, sql.ErrNoRows):
			outcome = provider.Unknown
			return nil
		case err != nil:
			return err
		case done != "":
			outcome = provider.Duplicate
			return nil
		}
		var status Status
		err = tx.QueryRow(`SELECT status FROM messages WHERE id = ?`, id).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = provider.Unknown
			return nil
		case err != nil:
			return err
		case status == StatusDelivered || status == StatusUndelivered:
			outcome = provider.Duplicate
			return nil
		case status != StatusSent && status != StatusFailed:
			return errReceiptEarly
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO deliveries (provider, provider_id, id, status, code, at) VALUES (?, ?, ?, '', '', 0)`, r.Provider, r.ProviderID, id); err != nil {
			return err
		}
		st := receiptStatus(r)
		now := time.Now().UnixNano()
		if _, err := tx.Exec(`UPDATE deliveries SET status = ?, code = ?, at = ? WHERE provider = ? AND provider_id = ?`, st, r.Code, r.At.UnixNano(), r.Provider, r.ProviderID); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE messages SET status = ?, updated_at = ? WHERE id = ?`, st, now, id); err != nil {
			return err
		}
		outcome = provider.Applied
		return nil
	})
	if errors.Is(err, errReceiptEarly) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite store: %w", err)
	}
	return outcome, nil
}

// delivery reads the receipt of message id.
func (s *SQLiteStore) delivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	var at int64
	err := s.read.QueryRowContext(ctx, `SELECT provider, provider_id, code, at FROM deliveries WHERE id = ? AND status != '' LIMIT 1`, id).Scan(&d.Provider, &d.ProviderID, &d.Code, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.At = time.Unix(0, at).UTC()
	return &d, nil
}

// Redis keys of the receipts.
const (
	redisProv    = redisPrefix + "prov:" // + provider + ":" + provider id: the message id
	redisProvTTL = 7 * 24 * time.Hour    // receipts come within hours; the providers stop trying after 3 days
)

// RecordProvider implements ReceiptStore.
func (s *RedisStore) RecordProvider(ctx context.Context, id, prov, providerID string) error {
	if err := s.rdb.Set(ctx, redisProv+prov+":"+providerID, id, redisProvTTL).Err(); err != nil {
		return fmt.Errorf("redis store %s: %w", s.url, err)
	}
	return nil
}

// receiptScript: KEYS prov; ARGV msg prefix, new status, delivery JSON,
// updated_at, the receipt's message id (empty if none), prov TTL ms. Returns
// {outcome, id}: unknown, duplicate, early or applied.
var receiptScript = redis.NewScript(`
local id = redis.call('GET', KEYS[1])
if not id then
  if ARGV[5] == '' then return {'unknown', ''} end
  id = ARGV[5]
end
local key = ARGV[1] .. id
local raw = redis.call('GET', key)
if not raw then return {'unknown', id} end
local rec = cjson.decode(raw)
if rec.status == 'delivered' or rec.status == 'undelivered' then return {'duplicate', id} end
if rec.status ~= 'sent' and rec.status ~= 'failed' then return {'early', id} end
rec.status = ARGV[2]
rec.delivery = cjson.decode(ARGV[3])
rec.updated_at = ARGV[4]
redis.call('SET', key, cjson.encode(rec))
redis.call('SET', KEYS[1], id, 'PX', ARGV[6])
return {'applied', id}
`)

// ApplyReceipt implements provider.ReceiptSink.
func (s *RedisStore) ApplyReceipt(ctx context.Context, r provider.Receipt) (provider.ReceiptOutcome, error) {
	d, err := json.Marshal(Delivery{Provider: r.Provider, ProviderID: r.ProviderID, Code: r.Code, At: r.At})
	if err != nil {
		return 0, err
	}
	now, _ := time.Now().MarshalText()
	v, err := receiptScript.Run(ctx, s.rdb, []string{redisProv + r.Provider + ":" + r.ProviderID},
		redisMsg, string(receiptStatus(r)), d, string(now), r.MessageID, redisProvTTL.Milliseconds()).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("redis store %s: %w", s.url, err)
	}
	switch v[0] {
	case "unknown":
		return provider.Unknown, nil
	case "duplicate":
		return provider.Duplicate, nil
	case "early":
		return 0, errReceiptEarly
	}
	return provider.Applied, nil
}
