// A fake TARS control node made of real @tars/rpc servers (notify/interop_test.go):
//   node tarsnode.js [CONFIG_DIR]
// serves, each on its own free loopback port,
//   tars.tarsnode.ServerObj     (NodeF ServerF: keepAlive, reportVersion → 0)
//   tars.tarsnotify.NotifyObj   (Notify: reportNotifyInfo)
//   tars.tarsconfig.ConfigObj   (ConfigF: loadConfigByInfo → the file of that
//                                name in CONFIG_DIR, read at each call; -1
//                                when there is none)
//   tars.tarsregistry.QueryObj  (QueryF: findObjectById,
//                                findObjectByIdInSameGroup and
//                                findObjectByIdInSameSet → the NotifyObj or
//                                ConfigObj endpoint)
// prints {"ports": {"node": N, "notify": N, "config": N, "query": N}} on its
// first line, then one JSON line per call received: {"servant", "fn", "t"
// (ms), "args", "context" (the request's context, when not empty)}, and
// exits when its standard input closes.
'use strict';
const T = require('@tars/stream');
const HeroServer = require('@tars/rpc').server;

// Structs, shaped like tars2node output: [tag, name, proto, require, default].
function struct(name, fields) {
  const C = function () {
    for (const [, n, p, , d] of fields) this[n] = d !== undefined ? d : (p === T.String ? '' : 0);
    this._classname = name;
  };
  C._classname = name;
  C._write = (os, tag, v) => os.writeStruct(tag, v);
  C._read = (is, tag, def) => is.readStruct(tag, true, def);
  C._readFrom = (is) => {
    const t = new C();
    for (const [tag, n, p, req, d] of fields) {
      t[n] = p === T.String ? is.readString(tag, req, d === undefined ? '' : d) : is.readInt32(tag, req, d === undefined ? 0 : d);
    }
    return t;
  };
  C.prototype._writeTo = function (os) {
    for (const [tag, n, p] of fields) (p === T.String ? os.writeString(tag, this[n]) : os.writeInt32(tag, this[n]));
  };
  C.prototype.toObject = function () { const o = {}; for (const [, n] of fields) o[n] = this[n]; return o; };
  return C;
}

const ServerInfo = struct('tars.ServerInfo', [[0, 'application', T.String, true], [1, 'serverName', T.String, true],
  [2, 'pid', T.Int32, true], [3, 'adapter', T.String, false]]);
const ReportInfo = struct('tars.ReportInfo', [[1, 'eType', T.Int32, true], [2, 'sApp', T.String, true],
  [3, 'sSet', T.String, true], [4, 'sContainer', T.String, true], [5, 'sServer', T.String, true],
  [6, 'sMessage', T.String, true], [7, 'sThreadId', T.String, false], [8, 'eLevel', T.Int32, false],
  [9, 'sNodeName', T.String, false]]);
const EndpointF = struct('tars.EndpointF', [[0, 'host', T.String, true], [1, 'port', T.Int32, true],
  [2, 'timeout', T.Int32, true], [3, 'istcp', T.Int32, true], [4, 'grid', T.Int32, true]]);

const ports = {};
const configDir = process.argv[2];

function record(servant, fn, args, current) {
  const line = { servant, fn, t: Date.now(), args };
  const ctx = current && current.getContext();
  if (ctx && ctx.size && ctx.size() > 0) {
    line.context = {};
    ctx.forEach((k, v) => { line.context[k] = v; });
  }
  process.stdout.write(JSON.stringify(line) + '\n');
}

function reply(current, write) {
  const os = new T.TarsOutputStream();
  if (write) write(os);
  current.doResponse(os.getBinBuffer());
}

function imp(servant, dispatch) {
  const C = function () { this._name = undefined; this._worker = undefined; };
  C.prototype.initialize = function () {};
  C.prototype.onDispatch = function (current, fn, buf) {
    const is = new T.TarsInputStream(buf);
    if (fn === 'tars_ping') { reply(current, (os) => os.writeInt32(0, 0)); return 0; }
    return dispatch(current, fn, is);
  };
  return C;
}

const ServerObj = imp('tars.tarsnode.ServerObj', (current, fn, is) => {
  switch (fn) {
    case 'keepAlive':
      record('tars.tarsnode.ServerObj', fn, is.readStruct(1, true, ServerInfo).toObject());
      reply(current, (os) => os.writeInt32(0, 0));
      return 0;
    case 'reportVersion':
      record('tars.tarsnode.ServerObj', fn, { app: is.readString(1, true, ''), serverName: is.readString(2, true, ''), version: is.readString(3, true, '') });
      reply(current, (os) => os.writeInt32(0, 0));
      return 0;
  }
  return -3; // TARSSERVERNOFUNCERR
});

const NotifyObj = imp('tars.tarsnotify.NotifyObj', (current, fn, is) => {
  if (fn !== 'reportNotifyInfo') return -3;
  record('tars.tarsnotify.NotifyObj', fn, is.readStruct(1, true, ReportInfo).toObject());
  reply(current);
  return 0;
});

// ConfigInfo (ConfigF.tars): appname 0, servername 1, filename 2, bAppOnly 3
// (bool), host 4, setdivision 5, containername 6.
function readConfigInfo(is) {
  const C = function () {};
  C._classname = 'tars.ConfigInfo';
  C._readFrom = (s) => ({
    appname: s.readString(0, true, ''), servername: s.readString(1, true, ''), filename: s.readString(2, true, ''),
    bAppOnly: s.readBoolean(3, true, false), host: s.readString(4, false, ''), setdivision: s.readString(5, false, ''),
    containername: s.readString(6, false, ''),
  });
  return is.readStruct(1, true, C);
}

const ConfigObj = imp('tars.tarsconfig.ConfigObj', (current, fn, is) => {
  if (fn !== 'loadConfigByInfo') return -3;
  const info = readConfigInfo(is);
  record('tars.tarsconfig.ConfigObj', fn, info, current);
  let text = null;
  const name = require('path').basename(info.filename);
  if (configDir && name === info.filename) {
    try { text = require('fs').readFileSync(require('path').join(configDir, name), 'utf8'); } catch (e) { text = null; }
  }
  reply(current, (os) => { os.writeInt32(0, text === null ? -1 : 0); os.writeString(2, text === null ? '' : text); });
  return 0;
});

function endpointsOf(id) {
  const l = T.List(EndpointF);
  const port = { 'tars.tarsnotify.NotifyObj': ports.notify, 'tars.tarsconfig.ConfigObj': ports.config }[id];
  if (port) {
    const ep = new EndpointF();
    Object.assign(ep, { host: '127.0.0.1', port, timeout: 60000, istcp: 1 });
    l.push(ep);
  }
  return l;
}

const QueryObj = imp('tars.tarsregistry.QueryObj', (current, fn, is) => {
  const id = is.readString(1, true, '');
  const args = { id };
  if (fn === 'findObjectByIdInSameSet') args.setId = is.readString(2, true, '');
  record('tars.tarsregistry.QueryObj', fn, args, current);
  const eps = endpointsOf(id);
  switch (fn) {
    case 'findObjectById':
      reply(current, (os) => os.writeList(0, eps));
      return 0;
    case 'findObjectByIdInSameGroup':
      reply(current, (os) => { os.writeInt32(0, 0); os.writeList(2, eps); os.writeList(3, T.List(EndpointF)); });
      return 0;
    case 'findObjectByIdInSameSet':
      reply(current, (os) => { os.writeInt32(0, 0); os.writeList(3, eps); os.writeList(4, T.List(EndpointF)); });
      return 0;
  }
  return -3;
});

function serve(name, servant, Imp) {
  return new Promise((resolve, reject) => {
    const svr = new HeroServer();
    svr.start({ endpoint: 'tcp -h 127.0.0.1 -p 0 -t 60000', name: servant + 'Adapter', servant, maxconns: 1024,
      protocolName: 'tars', handleImp: Imp });
    const ln = svr._adapters[0]._netthread._listener;
    ln.on('error', reject);
    ln.on('listening', () => { ports[name] = ln.address().port; resolve(svr); });
  });
}

async function main() {
  const servers = [
    await serve('node', 'tars.tarsnode.ServerObj', ServerObj),
    await serve('notify', 'tars.tarsnotify.NotifyObj', NotifyObj),
    await serve('config', 'tars.tarsconfig.ConfigObj', ConfigObj),
    await serve('query', 'tars.tarsregistry.QueryObj', QueryObj),
  ];
  process.stdout.write(JSON.stringify({ ports }) + '\n');
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => { servers.forEach((s) => s.stop()); process.exit(0); });
}
main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
