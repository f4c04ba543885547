package sms

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
)

var phoneSeq atomic.Int64

// BenchmarkSQLiteAccept is Accept of one process's concurrent requests
// (group commit), synchronous=FULL.
func BenchmarkSQLiteAccept(b *testing.B) {
	st, err := OpenSQLite(filepath.Join(b.TempDir(), "sms.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := newMessage("+49151" + itoa(10000000+int(phoneSeq.Add(1))))
			if _, err := st.Accept(context.Background(), acceptReq(m, "")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
