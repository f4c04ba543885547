// Package containertest runs a worker's code against a fake agent, in the
// test's own process, so service authors can test admin handlers, readiness
// and graceful stop without starting node-agent:
//
//	func TestStatus(t *testing.T) {
//		a := containertest.New(t)
//		w := a.Worker()
//		w.Handle("app.status", func(string) string { return "fine" })
//		if got := a.Command("app.status", ""); got != "fine" {
//			t.Fatal(got)
//		}
//	}
//
// The fake agent speaks the real protocol over a real socket pair: Listen
// gets a socket the fake agent bound (on 127.0.0.1:0 for the address ""),
// Stop closes the worker's Done channel, log records are kept for Logs,
// AddConfig is answered from Options.Configs.
package containertest
