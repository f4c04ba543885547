package logs

import (
	"fmt"
	"time"
)

// episode follows a run of failing writes to one destination, so that a
// full disk produces two lines on the report writer (start and end), not
// one per lost record.
type episode struct {
	name string // what is written to, for the report
	opts Options

	failing bool
	cause   error
	lost    uint64 // records lost in this episode
	bytes   uint64
}

// fail records a failed write of n records (size bytes) and reports the
// first failure of an episode.
func (e *episode) fail(err error, n, size int) {
	if !e.failing {
		e.failing, e.cause = true, err
		fmt.Fprintf(e.opts.Report, "node-agent: writing %s: %v (log records are lost until writing works again)\n", e.name, err)
	}
	e.lost += uint64(n)
	e.bytes += uint64(size)
}

// recovered ends an episode after a successful write. It reports the end
// and returns a record to append to the destination about the loss; nil
// when no episode was running.
func (e *episode) recovered() []byte {
	if !e.failing {
		return nil
	}
	fmt.Fprintf(e.opts.Report, "node-agent: writing %s works again; %d records (%d bytes) were lost\n", e.name, e.lost, e.bytes)
	r := AppendFormat(nil, Record{Time: time.Now(), PID: e.opts.PID, Level: LevelWarn,
		Message: fmt.Sprintf("node-agent: %d records (%d bytes) lost here while writing failed: %v", e.lost, e.bytes, e.cause)})
	e.failing, e.cause, e.lost, e.bytes = false, nil, 0, 0
	return r
}
