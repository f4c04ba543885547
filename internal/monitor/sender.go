package monitor

import (
	"context"
	"sync"

	"github.com/nodeagent/node-agent/tars"
)

// ClientSender is the Sender of the agent: one tars.Client per servant
// proxy, made at its first call and kept (connections, locator answers)
// until Close. A bare servant name is resolved through the locator.
type ClientSender struct {
	opts    tars.ClientOptions
	mu      sync.Mutex
	clients map[string]*tars.Client
}

// NewClientSender returns a ClientSender whose clients use opts: bare
// servant names are resolved through opts.Locator (<client>locator; ""
// when every proxy names endpoints), in opts.Set when the config enables
// sets, with opts.NodeName as the locator calls' node_name.
func NewClientSender(opts tars.ClientOptions) *ClientSender {
	return &ClientSender{opts: opts, clients: map[string]*tars.Client{}}
}

// Invoke calls fn on obj; see Sender.
func (s *ClientSender) Invoke(ctx context.Context, obj, fn string, args tars.Struct, oneway bool) error {
	s.mu.Lock()
	c, ok := s.clients[obj]
	if !ok {
		var err error
		if c, err = tars.NewClient(obj, s.opts); err != nil {
			s.mu.Unlock()
			return err
		}
		s.clients[obj] = c
	}
	s.mu.Unlock()
	if oneway {
		return c.InvokeOneway(ctx, fn, args)
	}
	return c.Invoke(ctx, fn, args, nil)
}

// Close closes every client.
func (s *ClientSender) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.clients {
		c.Close()
		delete(s.clients, k)
	}
}
