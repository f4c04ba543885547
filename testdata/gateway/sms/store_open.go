package sms

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// OpenStore opens the store named by spec (Config.Store, $SMS_STORE):
//
//	""  or "sqlite"             the embedded store, dataDir/sms.db
//	"sqlite:PATH"               the embedded store in the database file PATH
//	"redis://[user:pw@]HOST:PORT/DB"   the Redis store (rediss:// for TLS)
//
// An unreachable Redis is an error naming the URL (password removed).
func OpenStore(ctx context.Context, spec, dataDir string) (Store, error) {
	switch {
	case spec == "" || spec == "sqlite":
		return OpenSQLite(filepath.Join(dataDir, SQLiteFile))
	case strings.HasPrefix(spec, "sqlite:"):
		return OpenSQLite(strings.TrimPrefix(spec, "sqlite:"))
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		return OpenRedis(ctx, spec)
	}
	return nil, fmt.Errorf("store %q: want sqlite, sqlite:PATH or redis://HOST:PORT/DB", spec)
}
