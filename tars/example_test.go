package tars_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nodeagent/node-agent/tars"
)

// A keepAlive call to tarsnode, framed for the wire, and decoded again as a
// server would.
func Example() {
	frame := tars.Frame(&tars.RequestPacket{
		IVersion:     tars.VersionTARS,
		IRequestID:   1,
		SServantName: tars.ServantNode,
		SFuncName:    tars.FuncKeepAlive,
		SBuffer:      tars.Marshal(&tars.KeepAliveArgs{ServerInfo: tars.ServerInfo{Application: "App", ServerName: "Srv", Pid: 1234}}),
		ITimeout:     3000,
	})

	body, err := tars.ReadPacket(bytes.NewReader(frame), 0)
	if err != nil {
		panic(err)
	}
	req, err := tars.DecodeRequestPacket(body)
	if err != nil {
		panic(err)
	}
	var args tars.KeepAliveArgs
	if err := tars.Unmarshal(req.SBuffer, &args); err != nil {
		panic(err)
	}
	fmt.Println(len(frame), req.SServantName, req.SFuncName, args.ServerInfo.Pid)
	// Output: 74 tars.tarsnode.ServerObj keepAlive 1234
}

func ExampleParseProxy() {
	p, err := tars.ParseProxy("tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890:tcp -h 10.0.0.2 -p 17890")
	if err != nil {
		panic(err)
	}
	for _, e := range p.Endpoints {
		fmt.Println(p.Servant, e.Network(), e.Address(), e.TimeoutOrDefault())
	}
	// Output:
	// tars.tarsregistry.QueryObj tcp 10.0.0.1:17890 3s
	// tars.tarsregistry.QueryObj tcp 10.0.0.2:17890 3s
}

func ExampleParseConfig() {
	c, err := tars.ParseConfig([]byte(`
<tars>
  <application>
    <server>
      app=App
      <App.Server.ObjAdapter>
        protocol=tars
      </App.Server.ObjAdapter>
      <App.Server.WebAdapter>
        endpoint=tcp -h 0.0.0.0 -p 8080
        protocol=not_tars
      </App.Server.WebAdapter>
    </server>
  </application>
</tars>`))
	if err != nil {
		panic(err)
	}
	app, _ := c.Lookup("/tars/application/server<app>")
	for _, a := range c.Domain("/tars/application/server").Children() {
		if p, _ := a.Get("protocol"); p == "not_tars" {
			ep, _ := a.Get("endpoint")
			fmt.Println(app, a.Name, ep)
			break
		}
	}
	// Output: App App.Server.WebAdapter tcp -h 0.0.0.0 -p 8080
}

// Decoding an AdminF.notify request, whichever protocol version the caller
// used.
func ExampleNotifyCommand() {
	req := &tars.RequestPacket{IVersion: tars.VersionTARS, SFuncName: tars.FuncNotify,
		SBuffer: tars.Marshal(&tars.NotifyArgs{Command: "tars.setloglevel INFO"})}
	cmd, err := tars.NotifyCommand(req)
	fmt.Println(cmd, err)
	// Output: tars.setloglevel INFO <nil>
}

// An AdminF server and a client calling it, as `node-agent ctl` does.
func ExampleNewAdminServer() {
	srv := tars.NewAdminServer(tars.AdminFuncs{
		OnShutdown: func() { fmt.Println("shutting down") },
		OnNotify: func(_ context.Context, command string) (string, error) {
			return "you said " + command, nil
		},
	}, tars.ServerOptions{})
	if err := srv.Listen("tcp -h 127.0.0.1 -p 0 -t 3000"); err != nil {
		panic(err)
	}
	go srv.Serve()
	defer srv.Close()

	c, err := tars.NewClient(tars.ServantAdmin+"@"+srv.Endpoint(), tars.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var reply tars.StringResult
	if err := c.Invoke(context.Background(), tars.FuncNotify, &tars.NotifyArgs{Command: "tars.viewstatus"}, &reply); err != nil {
		panic(err)
	}
	fmt.Println(reply.Ret)
	if err := c.Invoke(context.Background(), tars.FuncShutdown, &tars.NoArgs{}, nil); err != nil {
		panic(err)
	}
	err = c.Invoke(context.Background(), "nosuch", &tars.NoArgs{}, nil)
	var remote *tars.RemoteError
	fmt.Println(errors.As(err, &remote), remote.Code == tars.ServerNoFuncErr)
	// Output:
	// you said tars.viewstatus
	// shutting down
	// true true
}
