package logs

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxRecord is the longest formatted record, newline included: a longer
// message is cut so that the record, CutMark included, fits.
const MaxRecord = 1 << 20

// CutMark ends a message that was cut to fit MaxRecord.
const CutMark = "…[cut]"

// timeLayout is the TARS time stamp: local time, to the second.
const timeLayout = "2006-01-02 15:04:05"

// Record is one log line before formatting.
type Record struct {
	Time  time.Time
	PID   int
	Level Level
	// File and Line locate the call site; File "" omits them.
	File    string
	Line    int
	Message string
}

// AppendFormat appends r in the TARS line format,
//
//	YYYY-MM-DD HH:MM:SS|PID|LEVEL|FILE:LINE|MESSAGE
//
// with a trailing newline, in r.Time's location. The message is written
// verbatim (a multi-line message stays one record); one that would make the
// record longer than MaxRecord is cut and ends with CutMark.
func AppendFormat(b []byte, r Record) []byte {
	start := len(b)
	b = r.Time.AppendFormat(b, timeLayout)
	b = appendHeader(b, r.PID, r.Level)
	if r.File != "" {
		b = append(b, r.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(r.Line), 10)
		b = append(b, '|')
	}
	return appendMessage(b, start, r.Message)
}

// appendHeader appends "|PID|LEVEL|", what follows the time stamp.
func appendHeader(b []byte, pid int, l Level) []byte {
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, '|')
	b = append(b, l.String()...)
	return append(b, '|')
}

// appendMessage appends msg and a newline to a record that began at
// b[start], cutting msg at a character boundary so that the record is at
// most MaxRecord bytes.
func appendMessage[T string | []byte](b []byte, start int, msg T) []byte {
	room := MaxRecord - 1 - (len(b) - start)
	if len(msg) <= room {
		b = append(b, msg...)
		return append(b, '\n')
	}
	n := max(room-len(CutMark), 0)
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	b = append(b, msg[:n]...)
	b = append(b, CutMark...)
	return append(b, '\n')
}
