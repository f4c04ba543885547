package wire

import "strconv"

// Kind identifies the message a frame carries.
type Kind uint8

// Message kinds. W→A is sent by the worker, A→W by the agent.
const (
	// KindHello (W→A, Hello) is the first frame of a worker using the library.
	KindHello Kind = 1
	// KindReady (W→A, empty) says the worker serves requests.
	KindReady Kind = 2
	// KindHeartbeat (W→A, empty) says the worker is alive.
	KindHeartbeat Kind = 3
	// KindListen (W→A, Listen) asks for a shared listening socket.
	KindListen Kind = 4
	// KindListenResult (A→W, ListenResult) answers KindListen; on success
	// it carries the listening socket as its only descriptor.
	KindListenResult Kind = 5
	// KindStop (A→W, empty) asks the worker to stop gracefully.
	KindStop Kind = 6
	// KindCommand (A→W, Command) is an admin command for the worker.
	KindCommand Kind = 7
	// KindReply (W→A, Reply) answers a KindCommand.
	KindReply Kind = 8
	// KindLog (W→A, Log) is a record of the worker's logger.
	KindLog Kind = 9
	// KindStats (W→A, Stats) carries the worker's HTTP request statistics
	// since its previous KindStats frame: deltas, so the agent adds them up.
	KindStats Kind = 10
	// KindProperties (W→A, Properties) carries the worker's custom
	// properties since its previous KindProperties frame, and a sample of
	// its Go runtime usage.
	KindProperties Kind = 11
	// KindAddConfig (W→A, AddConfig) asks the agent to pull a config file
	// from the TARS config center into the base path.
	KindAddConfig Kind = 20
	// KindAddConfigResult (A→W, AddConfigResult) answers KindAddConfig.
	KindAddConfigResult Kind = 21
)

// IsMonitoring reports whether k is one of the monitoring kinds (10–19),
// which the agent hands to its monitor (package monitor) unread.
func (k Kind) IsMonitoring() bool { return k >= 10 && k <= 19 }

// String names the kind for logs and errors.
func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindReady:
		return "ready"
	case KindHeartbeat:
		return "heartbeat"
	case KindListen:
		return "listen"
	case KindListenResult:
		return "listen-result"
	case KindStop:
		return "stop"
	case KindCommand:
		return "command"
	case KindReply:
		return "reply"
	case KindLog:
		return "log"
	case KindStats:
		return "stats"
	case KindProperties:
		return "properties"
	case KindAddConfig:
		return "add-config"
	case KindAddConfigResult:
		return "add-config-result"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Hello is the body of KindHello.
type Hello struct {
	// Version is the protocol version of the worker library.
	Version int `json:"version"`
	// PID is the worker's process id, as the worker sees it.
	PID int `json:"pid"`
}

// Listen is the body of KindListen.
type Listen struct {
	// ID matches the ListenResult to the request.
	ID uint64 `json:"id"`
	// Network is "tcp", "tcp4", "tcp6" or "unix".
	Network string `json:"network"`
	// Address is what to listen on; "" means the service's http address
	// (--http-address).
	Address string `json:"address,omitempty"`
}

// ListenResult is the body of KindListenResult.
type ListenResult struct {
	ID uint64 `json:"id"`
	// Address is the bound address, for logs.
	Address string `json:"address,omitempty"`
	// Error is the reason the agent could not provide the socket; when it
	// is set the frame carries no descriptor.
	Error string `json:"error,omitempty"`
	// NoAddress answers a Listen for "" when the service has no http
	// address: not a failure, the worker picks its own address and asks
	// for that one. The frame carries no descriptor.
	NoAddress bool `json:"noAddress,omitempty"`
}

// Command is the body of KindCommand.
type Command struct {
	ID   uint64 `json:"id"`
	Cmd  string `json:"cmd"`
	Data string `json:"data,omitempty"`
}

// Reply is the body of KindReply. A command that failed carries its reason
// in Error (and usually no Text); the agent answers the admin caller with
// an error (SPEC §10). Workers of an older library never set Error.
type Reply struct {
	ID    uint64 `json:"id"`
	Text  string `json:"text"`
	Error string `json:"error,omitempty"`
}

// AddConfig is the body of KindAddConfig.
type AddConfig struct {
	// ID matches the AddConfigResult to the request.
	ID uint64 `json:"id"`
	// Name is the config file's name in the config center: a plain file
	// name, without a directory.
	Name string `json:"name"`
}

// Codes of an AddConfigResult that failed for a reason the worker library
// turns into a typed error.
const (
	// ConfigNoCenter: the agent has no config center (no TARS config, or
	// one without <server>config).
	ConfigNoCenter = "no-config-center"
	// ConfigBadName: the name is not a plain file name.
	ConfigBadName = "bad-name"
)

// AddConfigResult is the body of KindAddConfigResult.
type AddConfigResult struct {
	ID uint64 `json:"id"`
	// Path is the absolute path of the file written, when Error is "".
	Path string `json:"path,omitempty"`
	// Error is why the file could not be pulled; Code is one of the
	// Config* codes, or "" for another failure (the config center
	// unreachable or without the file, the file not writable).
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// Log is the body of KindLog: one record of the worker library's logger.
type Log struct {
	// Time is the record's time in Unix milliseconds.
	Time int64 `json:"time"`
	// Level is DEBUG, INFO, WARN or ERROR.
	Level string `json:"level"`
	// File and Line locate the call site; File is a base name, "" if unknown.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Message is the message with its attributes rendered as key=value.
	Message string `json:"msg"`
}
