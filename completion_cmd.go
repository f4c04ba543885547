package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Completion scripts: the shell asks node-agent itself what may follow
// (urfave/cli's --generate-bash-completion), so they never go stale.
const bashCompletion = `# bash completion for node-agent: eval "$(node-agent completion bash)"
_node_agent_complete() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    words=$("${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    words=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  [[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
  return 0
}
complete -o filenames -F _node_agent_complete node-agent
`

const zshCompletion = `#compdef node-agent
# zsh completion for node-agent: eval "$(node-agent completion zsh)"
_node_agent() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'node-agent' opts
  else
    _files
  fi
}
compdef _node_agent node-agent
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the bash or zsh completion script",
		UsageText: "node-agent completion bash|zsh   (eval \"$(node-agent completion bash)\" in ~/.bashrc)",
		BashComplete: func(c *cli.Context) {
			fmt.Fprintln(c.App.Writer, "bash")
			fmt.Fprintln(c.App.Writer, "zsh")
		},
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			default:
				return usagef("completion", "want bash or zsh")
			}
			return nil
		},
	}
}
