// Package auth decides who may send through the reference SMS gateway:
// applications and their secrets, signed requests, replay protection,
// per-application templates and quotas, and the audit log.
//
// # Applications
//
// An application has an id, one to four secrets (two during a rotation:
// both are accepted until the old one is removed from the file), the
// templates it may use (or all), whether it may send free text, and its
// quotas. They are listed in the applications file (gateway -apps FILE or
// SMS_APPS), in the gateway's config syntax; see LoadApps. Every secret is
// a file of its own, private to the service user (mode 600 or 400, refused
// otherwise), named by the applications file. The file is read at start:
// to rotate, add the new secret file, reload the gateway (node-agent's
// rolling reload fails no request), move the callers to the new secret
// (the audit log's "key" shows which one each call used), remove the old
// one from the file and reload again.
//
// With no applications file, the first start creates the application
// "default" (every template, free text, no quota): the first worker
// stores a new 256-bit secret in the gateway's store (so that every worker
// on every host sharing the store gets the same one), and each worker
// writes it to DATA_DIR/app-default.secret, mode 0600, and logs that path.
//
// Sign names are not the caller's choice in this gateway: the provider
// config binds each template to its approved sign name, so allowing a
// template is allowing its sign name.
//
// # Signed requests
//
// Every /api/sms/* request — sends, reads, and any method a route will
// take, such as a DELETE — carries
//
//	Authorization: SMS-HMAC-SHA256 Credential=APP, Timestamp=UNIX, Nonce=NONCE, Signature=HEX
//
// where Signature is the lowercase hex HMAC-SHA256, keyed with the
// application's secret, of these lines joined by "\n" (StringToSign):
//
//	SMS-HMAC-SHA256
//	APP
//	UNIX                 the Timestamp, decimal seconds
//	NONCE                16 to 128 letters, digits, '_' or '-'; fresh for every request
//	METHOD               POST
//	TARGET               /api/sms/send (the escaped path, then "?" and the query if any)
//	BODYHASH             lowercase hex SHA-256 of the body (of "" without one)
//
// The exceptions are /healthz and the providers' receipt pushes
// (/api/sms/receipts/*, authenticated by their own token). The check is a
// middleware in front of the whole API (Guard.Protect), not a per-handler
// call, so a route added later is covered.
//
// A missing, malformed or wrong signature, an unknown application, a
// Timestamp more than MaxSkew (5 minutes) from the gateway's clock, or a
// nonce the application used before is answered 401 with a JSON error
// ({"error": "...", "field": "Authorization"}) and WWW-Authenticate. The
// nonces live in the gateway's store (Store.UseNonce), for NonceTTL (11
// minutes: the width of the timestamp window, plus a minute), so a
// request replayed to any worker on any host is refused. A client that
// retries signs each attempt anew (new nonce and timestamp) and keeps the
// Idempotency-Key, which makes the message unique. Beware of transports
// that resend by themselves: Go's http.Transport resends a request with
// an Idempotency-Key (and any GET) when its connection closes before the
// answer — same bytes, same nonce — and the gateway refuses that copy with
// 401 although the first may have been accepted. Sign in the retry loop
// and leave the signed request's GetBody nil (the transport then leaves
// retrying to the loop), or take a 401 "Nonce already used" after a lost
// connection as "retry, signed again": the Idempotency-Key then answers
// with the first message's id.
//
// Why HMAC-SHA256 over the request, and not a JWT: it is the scheme of
// the providers' own APIs (Aliyun's and Tencent's TC3 shape), a signature
// binds the body, so a captured request cannot be altered and, with the
// nonce, not replayed — a bearer JWT can be replayed with any body until
// it expires — and it needs no token endpoint or token lifetime to manage.
// Its cost is that the gateway must hold the key itself: an HMAC secret
// cannot be stored hashed. The secrets are therefore kept in files only
// the service user can read, held in memory as provider.Secret (which
// prints as [redacted] in fmt, JSON and slog), compared in constant time,
// and never logged, exported or echoed; the audit log names the secret's
// file, not the secret.
//
// # Templates and quotas
//
// After the API has validated a send, Guard.Admit answers 403 for a
// template (or free text) the application may not use, and takes one
// message from its quotas: a token bucket (per_second, burst) and a count
// per UTC day (per_day). Both live in the store next to the per-phone
// limit, decided atomically there (a transaction of the embedded SQLite
// store on the host's clock; a Lua script on Redis's clock for Redis), so
// they hold across workers and hosts. An exceeded quota is 429 with
// Retry-After (when the next token comes, or the next UTC day). A message
// the store then refuses anyway (per-phone limit, replayed
// Idempotency-Key, full queue, store error) gives its quota back. The
// quota is checked before the store looks the Idempotency-Key up, so while
// it is spent the repeat of an accepted message is answered 429 too; after
// Retry-After the repeat gets the first answer (202, same id) and its
// quota back.
//
// # Audit and metrics
//
// One "audit" log record per accepted send, cancelled message (a DELETE
// answered 2xx) and rejected call, with the application, the secret's
// file name, method, path, status, reason (bad_signature, stale_timestamp,
// replayed_nonce, template_not_allowed, quota_per_day, phone_rate_limit,
// invalid_request…), the message id and the remote address. Message texts
// and phone numbers are not logged; successful reads are not audited.
// The counters sms.app.ID.accepted, .rejected, .cancelled and
// .quotaRefused, and sms.auth.rejected for calls that named no known
// application, reach the agent as container properties; their names come
// from the configured applications only, so there are as many as
// applications.
//
// # Turning it off
//
// SMS_AUTH=off turns the checks off for local experiments and load
// tests. The gateway refuses it (one line, exit code 2) unless it listens
// on a loopback address only, and logs a warning at every start.
package auth
