package logs

import (
	"strconv"
	"time"
)

// Record is one log line before formatting.
type Record struct {
	Time  time.Time
	PID   int
	Level string
	// File and Line locate the call site; File "" omits them.
	File    string
	Line    int
	Message string
}

// AppendFormat appends r in the TARS line format, with a trailing newline.
func AppendFormat(b []byte, r Record) []byte {
	b = r.Time.AppendFormat(b, "2006-01-02 15:04:05")
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(r.PID), 10)
	b = append(b, '|')
	b = append(b, r.Level...)
	b = append(b, '|')
	if r.File != "" {
		b = append(b, r.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(r.Line), 10)
		b = append(b, '|')
	}
	b = append(b, r.Message...)
	return append(b, '\n')
}
