package testtool

import "testing"

func TestRequireFindsAProgramOnPath(t *testing.T) {
	if got := Require(t, "sh", "apt-get install dash"); got == "" {
		t.Fatal("Require returned no path for sh")
	}
}
