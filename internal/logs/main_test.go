package logs

import (
	"testing"

	"go.uber.org/goleak"
)

// LumberjackMill is the goroutine each lumberjack.Logger starts and never
// stops; File keeps one Logger for its lifetime.
const LumberjackMill = "gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction(LumberjackMill))
}
