package notify

import "strings"

// DefaultApp is the application name reported for a service name without
// a dot, as node-agent does.
const DefaultApp = "DEFAULT_APP"

// SplitName splits a service name "App.Server" at its first dot into the
// application and server names TARS reports use. A name without a dot is
// the server name of DefaultApp.
func SplitName(name string) (app, server string) {
	if app, server, ok := strings.Cut(name, "."); ok {
		return app, server
	}
	return DefaultApp, name
}
