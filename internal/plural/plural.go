// Package plural words counts for people: "1 worker", "3 workers".
package plural

import "strconv"

// Count returns n and the noun that goes with it: one for 1, many for
// any other number (0 workers, 2 workers).
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Workers is Count for workers, the noun the agent counts most.
func Workers(n int) string { return Count(n, "worker", "workers") }
