// Package provider connects the reference SMS gateway to real SMS
// providers: Alibaba Cloud (Aliyun) Dysmsapi and Tencent Cloud SMS, with a
// simulated provider as the zero-credential default. It fails over between
// them with a circuit breaker per provider, computes retry backoff, takes
// the providers' delivery receipts, and reads the gateway's config file.
//
// # Sending
//
// A Provider sends one Message (id, phone, template name and ordered
// params) and returns the provider's id for it (Aliyun BizId, Tencent
// SerialNo). The message id travels as Aliyun OutId / Tencent
// SessionContext. Errors are *Error values with a Class:
//
//	Temporary  5xx, timeout, network, isp.SYSTEM_ERROR, Throttling.*, RequestLimitExceeded, InternalError.*
//	           → try the next provider now; counts against this provider; retry later
//	Account    bad key or signature, unknown key, stale timestamp, no balance, sign/template not approved
//	           → like Temporary (an operator must fix this provider; the others carry the traffic)
//	Throttled  per-recipient limits: isv.BUSINESS_LIMIT_CONTROL, isv.DAY_LIMIT_CONTROL, LimitExceeded.PhoneNumber*
//	           → retry later, no failover (another provider would defeat the limit); provider healthy
//	Permanent  isv.MOBILE_NUMBER_ILLEGAL, InvalidParameterValue.IncorrectPhoneNumber, blacklisted,
//	           parameters refused, free text to a real provider → never retried
//
// IsRetryable(err) is false only for Permanent.
//
// Aliyun goes through the official SDK (github.com/aliyun/alibaba-cloud-sdk-go,
// services/dysmsapi), which signs with RPC signature v1 (HMAC-SHA1, fresh
// SignatureNonce and Timestamp per call). Tencent goes through the SDK's
// common client (tencentcloud/common), which signs with TC3-HMAC-SHA256.
// The SDKs' own retries and breakers are off: the Router decides.
// Endpoints are configurable, which is how the tests point them at the
// loopback fakes of package providertest.
//
// # Failover
//
// Router.Send tries the providers in the configured order. A provider's
// Breaker opens after BreakerPolicy.Failures consecutive Temporary or
// Account errors (a call exceeding RetryPolicy.AttemptTimeout is one), or
// when timeouts reach BreakerPolicy.TimeoutRate of its last TimeoutWindow
// calls (defaults: half of the last 20), successes in between or not — a
// provider that hangs on every other call costs each of those messages a
// full attempt timeout without ever failing twice in a row. Open, it skips
// the provider for CoolDown, then lets one probe message through: success
// closes it (fresh count and window), failure reopens it. So in an outage of the first provider, at most
// Failures messages pay a failed call before traffic moves to the second,
// one probe per cool-down tests the first, and traffic returns within a
// cool-down of its recovery. Router.Stats gives per-provider counters
// (calls, sent, failures, timeouts, throttled, rejected, skipped, latency
// sum and max, breaker state and opens) for the gateway's metrics;
// RouterOptions.Observe reports each call as it happens.
//
// Delivery is at least once: a call that times out may have been accepted
// just before the deadline, and the message then goes out again through
// the next provider (or the next attempt). Keep AttemptTimeout well above
// the providers' normal latency.
//
// RetryPolicy.Backoff(attempt, draw) is the wait after a failed attempt:
// 1 s, 2 s, 4 s … capped at 60 s, each shortened by up to Jitter (0.2) of
// itself; RetryPolicy.WithDefaults fills a policy's zero fields (8
// attempts, DefaultMaxAttempts, with a config file or without). Deliver
// runs the whole bounded loop for callers that keep no state between
// attempts; the gateway's deliverer instead records each wait in its store
// as the message's next attempt time.
//
// # Delivery receipts
//
// ReceiptHandler serves POST /api/sms/receipts/{provider}: Aliyun's
// SmsReport HTTP push (JSON array of phone_number, send_time, report_time,
// success, err_code, err_msg, biz_id, out_id) and Tencent's status
// callback (JSON array of user_receive_time, nationcode, mobile,
// report_status, errmsg, description, sid). Neither provider signs these
// pushes, so each provider is given a secret token that is part of the
// callback URL configured in its console:
//
//	https://sms.example.com/api/sms/receipts/aliyun?token=TOKEN
//
// A push without the right token (or to a provider with no token) gets 401
// and changes nothing. A receipt whose provider id the store has not noted
// yet is matched by the message id Aliyun echoes (out_id); Tencent's carry
// none, so one arriving within the milliseconds before the gateway notes
// the send is counted unknown (real receipts follow a carrier round trip).
// Neither provider is known to deduplicate by OutId / SessionContext: a
// worker lost between the provider's acceptance and the store's update
// makes the next worker send again (the chaos test counts such second
// sends). The token is compared in constant time and never
// logged; keep the query string out of any access log in front of the
// gateway, and serve the endpoint over HTTPS. Each receipt goes to a ReceiptSink, which applies it
// idempotently (the durable store; providertest.MemorySink in tests).
//
// # Config file
//
// The gateway reads -config FILE or $SMS_CONFIG, a small TOML subset (see
// testdata/full.toml): providers = [...] in failover order, one
// [provider.NAME] section each (type aliyun, tencent or simulated;
// endpoint, region, sdk_app_id; credentials_file or id_env/secret_env/
// receipt_token_env), [template.NAME] params order and one
// [template.NAME.PROVIDER] section per real provider (template_code,
// sign_name), [retry] (max_attempts, first_backoff, max_backoff, jitter,
// attempt_timeout), [breaker] (failures, cool_down, timeout_window,
// timeout_rate), [rate_limit]. Any mistake is one
// *ParseError "FILE:LINE: KEY: problem". Without a file the gateway uses
// DefaultConfig: one simulated provider.
//
// Credentials come from the environment (defaults
// ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, TENCENTCLOUD_SECRET_ID/_KEY) or from a
// credentials file (id, secret, receipt_token) that must be owned by the
// service user with mode 600 or 400. They are held as Secret values, which
// print as [redacted] in every format, JSON and slog.
package provider
