package wire

import (
	"log/slog"
	"strconv"
	"strings"
)

// AppendAttr renders a log record's attribute as both ends of the channel
// write it after the message: " key=value", a group's attributes as
// " group.key=value", a value that is empty or holds blanks, quotes or '='
// quoted. group is the prefix of the keys ("g." or "").
func AppendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			AppendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := a.Value.String()
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}
