package tars

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: servers and
// clients wait for their own goroutines in Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
