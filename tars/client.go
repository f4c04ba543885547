package tars

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Client defaults.
const (
	// DefaultCallTimeout bounds a call whose context has no earlier
	// deadline (TarsCpp's sync-invoke-timeout).
	DefaultCallTimeout = 3 * time.Second
	// DefaultRefreshInterval is how long a locator answer is used before it
	// is asked again (TarsCpp's refresh-endpoint-interval).
	DefaultRefreshInterval = 60 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait before an
	// endpoint that refused a connection is dialled again; the wait doubles
	// with each failure in a row.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// ClientOptions configure a Client. The zero value is usable for a proxy
// that names its endpoints.
type ClientOptions struct {
	// Locator is the registry's proxy ("tars.tarsregistry.QueryObj@tcp -h …
	// -p 17890", the config's <client>locator). It is needed only when the
	// proxy is a bare servant name; the Client then asks it with
	// QueryF.findObjectById and caches the answer for RefreshInterval.
	Locator string
	// Timeout bounds each call when the context has no earlier deadline
	// (0: DefaultCallTimeout). It is also sent as the request's iTimeout.
	Timeout time.Duration
	// RefreshInterval is how long a locator answer is kept (0:
	// DefaultRefreshInterval). A failed lookup keeps the previous answer.
	RefreshInterval time.Duration
	// MinBackoff and MaxBackoff bound the reconnect backoff of an endpoint
	// (0: DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Context is sent with every request.
	Context map[string]string
	// Set is the caller's set division ("name.area.group") when its
	// config enables sets: a bare servant name is then resolved with
	// QueryF.findObjectByIdInSameSet, as TarsGo and TarsCpp do.
	Set string
	// NodeName is sent as the "node_name" context of locator calls, as
	// TarsGo sends it; "" sends none.
	NodeName string
	// MaxPacketSize bounds a reply frame (0: DefaultMaxPacketSize).
	MaxPacketSize int
}

// Client calls one servant (one Proxy) over plain TARS (iVersion 1): every
// endpoint gets one lazily dialled TCP connection shared by all calls, with
// replies matched to calls by request id, so concurrent calls are fine.
// Calls rotate over the endpoints (round robin) and fail over to the next
// one when an endpoint cannot be reached; an endpoint that refused waits
// out a doubling backoff before it is dialled again. A proxy without
// endpoints (a bare servant name) is resolved through the locator. Only tcp
// endpoints are used.
//
//	c, err := tars.NewClient("tars.tarsnode.ServerObj@tcp -h 127.0.0.1 -p 19386", tars.ClientOptions{})
//	var res tars.IntResult
//	err = c.Invoke(ctx, tars.FuncKeepAlive, &tars.KeepAliveArgs{ServerInfo: info}, &res)
//	…
//	c.Close()
type Client struct {
	servant string
	opts    ClientOptions
	locator *Client // nil for a direct proxy
	nextID  atomic.Uint32

	mu          sync.Mutex
	eps         map[string]*endpointConn // by endpointKey
	order       []*endpointConn          // the current endpoint list
	rr          int                      // round-robin position
	closed      bool
	resolveMu   sync.Mutex // one locator lookup at a time
	nextResolve time.Time
	resolveErr  error
	resolveFail int

	wg sync.WaitGroup // connection readers
}

// NewClient returns a Client for proxy ("Servant@tcp -h H -p P[:tcp …]" or a
// bare "Servant" with opts.Locator set). Nothing is dialled until the first
// call. Errors: a proxy or locator string that does not parse (ErrEndpoint),
// a bare servant name without a locator.
func NewClient(proxy string, opts ClientOptions) (*Client, error) {
	p, err := ParseProxy(proxy)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultCallTimeout
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	c := &Client{servant: p.Servant, opts: opts, eps: map[string]*endpointConn{}}
	if p.Direct() {
		c.setEndpoints(p.Endpoints)
		return c, nil
	}
	if opts.Locator == "" {
		return nil, fmt.Errorf("tars: proxy %q names no endpoint and no locator is configured: %w", proxy, ErrEndpoint)
	}
	lopts := opts
	lopts.Locator = ""
	if opts.NodeName != "" {
		lopts.Context = maps.Clone(opts.Context)
		if lopts.Context == nil {
			lopts.Context = map[string]string{}
		}
		lopts.Context["node_name"] = opts.NodeName
	}
	if c.locator, err = NewClient(opts.Locator, lopts); err != nil {
		return nil, fmt.Errorf("tars: locator: %w", err)
	}
	if !c.locator.direct() {
		return nil, fmt.Errorf("tars: locator %q names no endpoint: %w", opts.Locator, ErrEndpoint)
	}
	return c, nil
}

// Servant returns the servant name calls are addressed to.
func (c *Client) Servant() string { return c.servant }

func (c *Client) direct() bool { return c.locator == nil }

// Invoke calls fn with args and decodes the reply's sBuffer into result
// (nil for a void function). The call ends at ctx's deadline or after
// ClientOptions.Timeout, whichever is first.
//
// Errors: a *RemoteError when the server answered an error code; one
// wrapping ErrUnavailable when no endpoint could be connected to (nothing
// was sent); ErrConnLost when the connection broke after the request was
// sent; context.DeadlineExceeded or Canceled from ctx; ErrClosed after
// Close; a codec error when the reply does not decode into result.
func (c *Client) Invoke(ctx context.Context, fn string, args, result Struct) error {
	resp, err := c.call(ctx, fn, args, false)
	if err != nil {
		return err
	}
	if resp.IRet != ServerSuccess {
		return &RemoteError{Func: c.servant + "." + fn, Code: resp.IRet, Desc: resp.SResultDesc}
	}
	if result != nil {
		if err := Unmarshal(resp.SBuffer, result); err != nil {
			return fmt.Errorf("tars: %s.%s: reply: %w", c.servant, fn, err)
		}
	}
	return nil
}

// InvokeOneway sends a one-way call (CPacketType PacketOneway): the server
// sends no reply, so success means only that the request was written.
func (c *Client) InvokeOneway(ctx context.Context, fn string, args Struct) error {
	_, err := c.call(ctx, fn, args, true)
	return err
}

func (c *Client) call(ctx context.Context, fn string, args Struct, oneway bool) (*ResponsePacket, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	req := &RequestPacket{
		IVersion:     VersionTARS,
		IRequestID:   c.newID(),
		SServantName: c.servant,
		SFuncName:    fn,
		SBuffer:      Marshal(args),
		ITimeout:     int32(max(time.Until(deadline).Milliseconds(), 1)),
		Context:      c.opts.Context,
	}
	if oneway {
		req.CPacketType = PacketOneway
	}
	// A connection that broke while idle may not be known as broken yet:
	// when writing to it fails, nothing was sent, so try once more on a
	// fresh one.
	for attempt := 0; ; attempt++ {
		cn, err := c.conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("tars: %s.%s: %w", c.servant, fn, err)
		}
		resp, err := cn.roundTrip(ctx, req, oneway)
		var we *writeError
		if errors.As(err, &we) && attempt == 0 && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tars: %s.%s via %s: %w", c.servant, fn, cn.remote, err)
		}
		return resp, nil
	}
}

// newID returns the next request id: positive, never 0 (0 is what a TarsGo
// server uses for its unsolicited "_reconnect_" notice).
func (c *Client) newID() int32 {
	for {
		if id := int32(c.nextID.Add(1) & 0x7fffffff); id != 0 {
			return id
		}
	}
}

// conn returns a live connection to one endpoint, starting at the next one
// in round-robin order and failing over to the others.
func (c *Client) conn(ctx context.Context) (*clientConn, error) {
	eps, err := c.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var last error
	for _, e := range eps {
		cn, err := e.get(ctx, c)
		if err == nil {
			return cn, nil
		}
		last = err
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, last)
}

// endpoints returns the endpoint list rotated to the round-robin position,
// asking the locator first when its answer is due for a refresh.
func (c *Client) endpoints(ctx context.Context) ([]*endpointConn, error) {
	if c.locator != nil {
		c.resolve(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("client %w", ErrClosed)
	}
	n := len(c.order)
	if n == 0 {
		if c.resolveErr != nil {
			return nil, fmt.Errorf("%w: the locator lookup failed: %w", ErrUnavailable, c.resolveErr)
		}
		return nil, fmt.Errorf("%w: the locator knows no endpoint of %s", ErrUnavailable, c.servant)
	}
	start := c.rr % n
	c.rr = (c.rr + 1) % n
	return append(append(make([]*endpointConn, 0, n), c.order[start:]...), c.order[:start]...), nil
}

// resolve asks the locator for the servant's endpoints when the cached
// answer is older than RefreshInterval (or after a failed lookup, once its
// backoff has passed). A failure keeps the previous list.
func (c *Client) resolve(ctx context.Context) {
	c.resolveMu.Lock()
	defer c.resolveMu.Unlock()
	c.mu.Lock()
	due := !time.Now().Before(c.nextResolve)
	c.mu.Unlock()
	if !due {
		return
	}
	found, err := c.lookup(ctx)
	if err == nil && len(found) == 0 {
		err = fmt.Errorf("the locator knows no active endpoint of %s", c.servant)
	}
	if err != nil {
		c.mu.Lock()
		c.resolveFail++
		c.resolveErr = err
		c.nextResolve = time.Now().Add(backoff(c.resolveFail, c.opts.MinBackoff, c.opts.MaxBackoff))
		c.mu.Unlock()
		return
	}
	eps := make([]Endpoint, len(found))
	for i, f := range found {
		eps[i] = EndpointFromF(f)
	}
	c.mu.Lock()
	c.resolveFail, c.resolveErr = 0, nil
	c.nextResolve = time.Now().Add(c.opts.RefreshInterval)
	c.mu.Unlock()
	c.setEndpoints(eps)
}

// lookup asks the locator for the servant's active endpoints: with
// findObjectByIdInSameSet when a set is configured, else findObjectById.
func (c *Client) lookup(ctx context.Context) ([]EndpointF, error) {
	if c.opts.Set == "" {
		var res FindObjectByIDResult
		err := c.locator.Invoke(ctx, FuncFindObjectByID, &FindObjectByIDArgs{ID: c.servant}, &res)
		return res.Ret, err
	}
	res := FindObjectsResult{OutTag: 3}
	err := c.locator.Invoke(ctx, FuncFindObjectByIDInSameSet, &FindObjectByIDInSameSetArgs{ID: c.servant, SetID: c.opts.Set}, &res)
	if err == nil && res.Ret < 0 {
		err = fmt.Errorf("the locator answered %d to findObjectByIdInSameSet(%s, %s)", res.Ret, c.servant, c.opts.Set)
	}
	return res.ActiveEp, err
}

// setEndpoints replaces the endpoint list, keeping the connections of the
// endpoints that stay and closing the others.
func (c *Client) setEndpoints(list []Endpoint) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	old := c.eps
	c.eps = make(map[string]*endpointConn, len(list))
	c.order = c.order[:0]
	for _, ep := range list {
		k := endpointKey(ep)
		if _, dup := c.eps[k]; dup {
			continue
		}
		e := old[k]
		if e == nil {
			e = &endpointConn{ep: ep}
		}
		delete(old, k)
		c.eps[k] = e
		c.order = append(c.order, e)
	}
	c.mu.Unlock()
	for _, e := range old {
		e.close(fmt.Errorf("endpoint %s left the locator's list", e.ep))
	}
}

func endpointKey(ep Endpoint) string { return ep.Protocol + " " + ep.Address() }

// Close closes every connection (calls in flight fail with ErrClosed) and
// waits for the client's goroutines. Calls after Close fail with
// ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	eps := make([]*endpointConn, 0, len(c.eps))
	for _, e := range c.eps {
		eps = append(eps, e)
	}
	c.mu.Unlock()
	if first {
		for _, e := range eps {
			e.close(fmt.Errorf("client %w", ErrClosed))
		}
	}
	c.wg.Wait()
	if first && c.locator != nil {
		c.locator.Close()
	}
	return nil
}

// backoff returns the wait after n failures in a row: min doubled n-1
// times, at most max.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
