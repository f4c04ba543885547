package config

import (
	"errors"
	"strings"
)

// CheckOption validates text as the value of the agent option name (a long
// name of SPEC §2) exactly as the agent reads it from a manifest or the
// command line, leaving out what depends on the host the agent will run
// on: whether a config file or log dir exists there, whether a user or
// group is known there. deploy --set and deploy verify use it, so that a
// bad value fails at packaging time rather than on the target host. The
// error is a *UsageError naming the option.
func CheckOption(name, text string) error {
	o, ok := lookupOption(name)
	if !ok {
		return usagef("%q is not an option of node-agent", name)
	}
	v := value{text: text, where: "--" + name, dir: "/"}
	switch name {
	case "config", "log", "run-as-user", "run-as-group":
		if strings.TrimSpace(text) == "" {
			return v.errorf(errors.New("empty value"))
		}
		return nil
	}
	return o.apply(&builder{cfg: defaultConfig()}, v)
}
