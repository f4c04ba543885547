package plural

import "testing"

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 workers", 1: "1 worker", 2: "2 workers", -1: "-1 workers"} {
		if got := Workers(n); got != want {
			t.Errorf("Workers(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Count(1, "restart", "restarts"); got != "1 restart" {
		t.Errorf("Count(1) = %q", got)
	}
}
