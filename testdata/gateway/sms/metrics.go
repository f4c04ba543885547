package sms

// Metrics receives the gateway's business metrics. main reports them as
// container properties, so they reach the agent's /metrics and TARS
// PropertyF; tests may record them. Implementations must be safe for
// concurrent use.
type Metrics interface {
	// Add counts n events of a counter metric (policy Sum).
	Add(name string, n float64)
	// Observe records one sample of a gauge or distribution metric.
	Observe(name string, v float64)
}

// The metric names.
const (
	MetricQueueDepth      = "sms.queueDepth"      // messages queued or sending, store-wide (sampled)
	MetricOldestQueued    = "sms.oldestQueuedSec" // age of the oldest of them, seconds (sampled)
	MetricSent            = "sms.sent"            // messages this worker delivered
	MetricFailed          = "sms.failed"          // messages this worker gave up on
	MetricRetried         = "sms.retried"         // failed attempts this worker retried
	MetricTakeovers       = "sms.takeovers"       // messages taken over from a lost worker
	MetricProviderLatency = "sms.providerMs"      // one provider call, milliseconds
	MetricAccepted        = "sms.accepted"        // 202 answers with a new message
	MetricCancelled       = "sms.cancelled"       // queued messages cancelled by DELETE /api/sms/{id}
)

// NoMetrics discards everything.
type NoMetrics struct{}

// Add does nothing.
func (NoMetrics) Add(string, float64) {}

// Observe does nothing.
func (NoMetrics) Observe(string, float64) {}
