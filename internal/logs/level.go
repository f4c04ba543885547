package logs

import (
	"fmt"
	"strings"
)

// Level is the severity of a record, in the order DEBUG < INFO < WARN <
// ERROR. LevelNone is above every record: a sink at LevelNone writes
// nothing.
type Level int32

// The levels, lowest first.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
	LevelNone
)

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR", "NONE"}

// String returns the level's TARS name: DEBUG, INFO, WARN, ERROR or NONE.
func (l Level) String() string {
	if l < LevelDebug || l > LevelNone {
		return fmt.Sprintf("Level(%d)", int32(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name, in any case and with surrounding blanks.
func ParseLevel(s string) (Level, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	for i, n := range levelNames {
		if n == name {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q: want DEBUG, INFO, WARN, ERROR or NONE", s)
}
