// Interop peer for the Go tars package tests (tars/interop_test.go).
// Uses the real @tars/stream and @tars/rpc codecs from npm (see package.json).
//
//   node peer.js encode     print {case: hex} for values encoded by @tars/stream
//   node peer.js roundtrip  read [{schema, hex}] on stdin; decode each with
//                           @tars/stream, re-encode it, print [{hex, value} | {error}]
// Required as a module (bench.js), it exports its struct definitions.
'use strict';
const T = require('@tars/stream');
const RequestF = require('@tars/rpc/core/rpc-tars/RequestF.js').tars;
const RpcClient = require('@tars/rpc/core/rpc-tars/tars-client.js');
const RpcServer = require('@tars/rpc/core/rpc-tars/tars-server.js');

// ---- struct definitions, shaped like tars2node output --------------------
// field: [tag, name, proto, require, default]
const READ = new Map([[T.Boolean, 'readBoolean'], [T.Int8, 'readInt8'], [T.Int16, 'readInt16'], [T.Int32, 'readInt32'],
  [T.Int64, 'readInt64'], [T.Float, 'readFloat'], [T.Double, 'readDouble'], [T.String, 'readString'], [T.UInt32, 'readUInt32']]);
const WRITE = new Map([[T.Boolean, 'writeBoolean'], [T.Int8, 'writeInt8'], [T.Int16, 'writeInt16'], [T.Int32, 'writeInt32'],
  [T.Int64, 'writeInt64'], [T.Float, 'writeFloat'], [T.Double, 'writeDouble'], [T.String, 'writeString'], [T.UInt32, 'writeUInt32']]);

function initial(proto, def) {
  if (def !== undefined) return def;
  if (proto === T.String) return '';
  if (proto === T.Boolean) return false;
  if (READ.has(proto)) return 0;
  if (proto === T.BinBuffer) return new T.BinBuffer();
  if (proto._isStruct) return new proto();
  if (proto._kproto) return T.Map(proto._kproto, proto._vproto);
  return T.List(proto._proto);
}

function readField(is, proto, tag, req, def) {
  if (READ.has(proto)) return is[READ.get(proto)](tag, req, initial(proto, def));
  if (proto === T.BinBuffer) return is.readBytes(tag, req, T.BinBuffer);
  if (proto._isStruct) return is.readStruct(tag, req, proto);
  if (proto._kproto) return is.readMap(tag, req, proto);
  return is.readList(tag, req, proto);
}

function writeField(os, proto, tag, v) {
  if (WRITE.has(proto)) return os[WRITE.get(proto)](tag, v);
  if (proto === T.BinBuffer) return os.writeBytes(tag, v);
  if (proto._isStruct) return os.writeStruct(tag, v);
  if (proto._kproto) return os.writeMap(tag, v);
  return os.writeList(tag, v);
}

function struct(name, fields) {
  const C = function () { for (const [, n, p, , d] of fields) this[n] = initial(p, d); this._classname = name; };
  C._isStruct = true;
  C._classname = name;
  C._write = (os, tag, v) => os.writeStruct(tag, v);
  C._read = (is, tag, def) => is.readStruct(tag, true, def);
  C._readFrom = (is) => { const t = new C(); for (const [tag, n, p, req, d] of fields) t[n] = readField(is, p, tag, req, d); return t; };
  C.prototype._writeTo = function (os) { for (const [tag, n, p] of fields) writeField(os, p, tag, this[n]); };
  C.prototype._genKey = function () { return JSON.stringify(plain(this)); };
  C.prototype._equal = function (o) { return this._genKey() === o._genKey(); };
  C._fields = fields;
  return C;
}

const ServerInfo = struct('tars.ServerInfo', [[0, 'application', T.String, true], [1, 'serverName', T.String, true],
  [2, 'pid', T.Int32, true], [3, 'adapter', T.String, false]]);
const StatMicMsgHead = struct('tars.StatMicMsgHead', [[0, 'masterName', T.String, true], [1, 'slaveName', T.String, true],
  [2, 'interfaceName', T.String, true], [3, 'masterIp', T.String, true], [4, 'slaveIp', T.String, true],
  [5, 'slavePort', T.Int32, true], [6, 'returnValue', T.Int32, true], [7, 'slaveSetName', T.String, false],
  [8, 'slaveSetArea', T.String, false], [9, 'slaveSetID', T.String, false], [10, 'tarsVersion', T.String, false]]);
const StatMicMsgBody = struct('tars.StatMicMsgBody', [[0, 'count', T.Int32, true], [1, 'timeoutCount', T.Int32, true],
  [2, 'execCount', T.Int32, true], [3, 'intervalCount', T.Map(T.Int32, T.Int32), true], [4, 'totalRspTime', T.Int64, true],
  [5, 'maxRspTime', T.Int32, true], [6, 'minRspTime', T.Int32, true]]);
const StatPropMsgHead = struct('tars.StatPropMsgHead', [[0, 'moduleName', T.String, true], [1, 'ip', T.String, true],
  [2, 'propertyName', T.String, true], [3, 'setName', T.String, false], [4, 'setArea', T.String, false],
  [5, 'setID', T.String, false], [6, 'sContainer', T.String, false], [7, 'iPropertyVer', T.Int32, false, 1]]);
const StatPropInfo = struct('tars.StatPropInfo', [[0, 'policy', T.String, true], [1, 'value', T.String, true]]);
const StatPropMsgBody = struct('tars.StatPropMsgBody', [[0, 'vInfo', T.List(StatPropInfo), true]]);
const ReportInfo = struct('tars.ReportInfo', [[1, 'eType', T.Int32, true], [2, 'sApp', T.String, true],
  [3, 'sSet', T.String, true], [4, 'sContainer', T.String, true], [5, 'sServer', T.String, true],
  [6, 'sMessage', T.String, true], [7, 'sThreadId', T.String, false], [8, 'eLevel', T.Int32, false],
  [9, 'sNodeName', T.String, false]]);
const EndpointF = struct('tars.EndpointF', [[0, 'host', T.String, true], [1, 'port', T.Int32, true],
  [2, 'timeout', T.Int32, true], [3, 'istcp', T.Int32, true], [4, 'grid', T.Int32, true],
  [5, 'groupworkid', T.Int32, false], [6, 'grouprealid', T.Int32, false], [7, 'setId', T.String, false],
  [8, 'qos', T.Int32, false], [9, 'bakFlag', T.Int32, false], [11, 'weight', T.Int32, false],
  [12, 'weightType', T.Int32, false], [13, 'authType', T.Int32, false], [14, 'nodeName', T.String, false]]);

// Argument and result buffers: bare fields, numbered from 1 (ret at 0).
const SCHEMAS = {
  ServerInfo: ServerInfo,
  EndpointF: EndpointF,
  KeepAliveArgs: struct('KeepAliveArgs', [[1, 'serverInfo', ServerInfo, true]]),
  ReportVersionArgs: struct('ReportVersionArgs', [[1, 'app', T.String, true], [2, 'serverName', T.String, true], [3, 'version', T.String, true]]),
  NotifyArgs: struct('NotifyArgs', [[1, 'command', T.String, true]]),
  StringResult: struct('StringResult', [[0, 'ret', T.String, true]]),
  ReportMicMsgArgs: struct('ReportMicMsgArgs', [[1, 'msg', T.Map(StatMicMsgHead, StatMicMsgBody), true], [2, 'bFromClient', T.Boolean, true]]),
  ReportPropMsgArgs: struct('ReportPropMsgArgs', [[1, 'statmsg', T.Map(StatPropMsgHead, StatPropMsgBody), true]]),
  ReportNotifyInfoArgs: struct('ReportNotifyInfoArgs', [[1, 'info', ReportInfo, true]]),
  FindObjectsResult: struct('FindObjectsResult', [[0, 'ret', T.Int32, true], [2, 'activeEp', T.List(EndpointF), true], [3, 'inactiveEp', T.List(EndpointF), true]]),
  RequestPacket: RequestF.RequestPacket,
  ResponsePacket: RequestF.ResponsePacket,
};

// plain converts decoded @tars/stream values to JSON.
function plain(v) {
  if (v === null || v === undefined || typeof v !== 'object') return v;
  if (v instanceof T.BinBuffer) return v.toNodeBuffer().toString('hex');
  if (v._proto && Array.isArray(v.value)) return v.value.map(plain);                 // List
  if (v._kproto && v.keys) { const out = []; v.forEach((k, x) => { out.push([plain(k), plain(x)]); }); return out; } // MultiMap
  if (v._kproto) { const out = {}; for (const k of Object.keys(v.value)) out[k] = plain(v.value[k]); return out; } // HeroMap
  const out = {};
  for (const k of Object.keys(v)) if (!k.startsWith('_')) out[k] = plain(v[k]);
  return out;
}

function hexOf(write) {
  const os = new T.TarsOutputStream();
  write(os);
  return os.getBinBuffer().toNodeBuffer().toString('hex');
}

function fill(C, obj) { const t = new C(); Object.assign(t, obj); return t; }

function stringMap(obj) { const m = new T.Map(T.String, T.String); for (const k of Object.keys(obj)) m.insert(k, obj[k]); return m; }

function tupFrame(version, cmd) {
  const tup = new T.Tup();
  tup.tupVersion = version;
  tup.servantName = 'App.Server.AdminObj';
  tup.funcName = 'notify';
  tup.requestId = 7;
  tup.writeString('command', cmd);
  return tup.encode().toNodeBuffer().toString('hex');
}

function encodeCases() {
  const c = {};
  // scalars at their boundaries
  const ints = [0, 1, -1, 127, -128, 128, -129, 32767, -32768, 32768, -32769, 2147483647, -2147483648];
  c.int32s = hexOf((os) => ints.forEach((v, i) => os.writeInt32(i, v)));
  c.int64s = hexOf((os) => [2147483648, -2147483649, 9007199254740991, -9007199254740991].forEach((v, i) => os.writeInt64(i, v)));
  c.int8_16 = hexOf((os) => { os.writeInt8(0, -128); os.writeInt8(1, 127); os.writeInt16(2, -32768); os.writeInt16(3, 32767); os.writeUInt8(4, 255); os.writeUInt16(5, 65535); os.writeUInt32(6, 4294967295); });
  c.bools = hexOf((os) => { os.writeBoolean(3, true); os.writeBoolean(4, false); });
  c.floats = hexOf((os) => { os.writeFloat(0, 1.5); os.writeFloat(1, 0); os.writeDouble(2, -2.25); os.writeDouble(3, 0); os.writeDouble(4, 1e300); });
  c.tags = hexOf((os) => { os.writeInt32(14, 5); os.writeInt32(15, 5); os.writeInt32(200, 5); os.writeString(255, 'max'); });
  c.strings = hexOf((os) => { os.writeString(0, ''); os.writeString(1, 'abc'); os.writeString(2, 'a'.repeat(255)); os.writeString(3, 'a'.repeat(256)); os.writeString(4, 'é'.repeat(200)); os.writeString(5, 'x'.repeat(3000)); });
  c.containers = hexOf((os) => {
    const li = T.List(T.Int32); [1, 300, -70000].forEach((x) => li.push(x)); os.writeList(0, li);
    os.writeList(1, T.List(T.String));
    os.writeBytes(2, new T.BinBuffer(Buffer.from([1, 2, 3])));
    os.writeMap(3, stringMap({ a: '1', b: '' }));
    const mm = T.Map(T.String, T.List(ServerInfo));
    const l = T.List(ServerInfo); l.push(fill(ServerInfo, { application: 'A', serverName: 'B', pid: 1, adapter: 'x' })); l.push(new ServerInfo());
    mm.insert('empty', T.List(ServerInfo)); mm.insert('k', l);
    os.writeMap(4, mm);
  });
  c.ServerInfo = hexOf((os) => os.writeStruct(1, fill(ServerInfo, { application: 'App', serverName: 'Srv', pid: 1234 })));

  const mic = new SCHEMAS.ReportMicMsgArgs();
  mic.bFromClient = true;
  for (let i = 0; i < 3; i++) {
    const ic = T.Map(T.Int32, T.Int32);
    [5, 10, 50, 100, 200, 500, 1000, 2000, 3000].forEach((p, j) => ic.insert(p, i * j));
    mic.msg.insert(fill(StatMicMsgHead, { masterName: 'http_client', slaveName: 'App.Server', interfaceName: '/api/' + i,
      masterIp: '10.0.0.5', slaveIp: '', slavePort: 0, returnValue: -i }),
    fill(StatMicMsgBody, { count: i, timeoutCount: 1, execCount: 2, intervalCount: ic, totalRspTime: 4398046511104, maxRspTime: 3000, minRspTime: 0 }));
  }
  c.ReportMicMsgArgs = hexOf((os) => mic._writeTo(os));

  const prop = new SCHEMAS.ReportPropMsgArgs();
  const vi = T.List(StatPropInfo);
  vi.push(fill(StatPropInfo, { policy: 'Max', value: '100' })); vi.push(fill(StatPropInfo, { policy: 'Avg', value: '1.5' }));
  prop.statmsg.insert(fill(StatPropMsgHead, { moduleName: 'App.Server', ip: '10.0.0.5', propertyName: 'App.Server.rss', iPropertyVer: 2 }),
    fill(StatPropMsgBody, { vInfo: vi }));
  c.ReportPropMsgArgs = hexOf((os) => prop._writeTo(os));

  c.ReportNotifyInfoArgs = hexOf((os) => fill(SCHEMAS.ReportNotifyInfoArgs, { info: fill(ReportInfo, { eType: 0, sApp: 'Test', sServer: 'Toy',
    sMessage: '[alarm] worker exit unexpected', sThreadId: '4242', eLevel: 2 }) })._writeTo(os));

  const act = T.List(EndpointF);
  act.push(fill(EndpointF, { host: '10.0.0.1', port: 17890, timeout: 60000, istcp: 1, weight: 100, nodeName: 'n1' }));
  c.FindObjectsResult = hexOf((os) => fill(SCHEMAS.FindObjectsResult, { ret: 0, activeEp: act, inactiveEp: T.List(EndpointF) })._writeTo(os));

  // Packets as @tars/rpc's own client and server codecs frame them.
  const client = new RpcClient();
  const args = hexOf((os) => fill(SCHEMAS.KeepAliveArgs, { serverInfo: fill(ServerInfo, { application: 'App', serverName: 'Srv', pid: 1234 }) })._writeTo(os));
  c.rpcRequest = client.compose({ iRequestId: 1, iTimeout: 3000, sServantName: 'tars.tarsnode.ServerObj', sFuncName: 'keepAlive',
    appBuffer: new T.BinBuffer(Buffer.from(args, 'hex')), property: { context: { node_name: '10.0.0.5' } } }).toString('hex');
  c.rpcOneway = client.compose({ iRequestId: 2, sServantName: 'tars.tarsstat.StatObj', sFuncName: 'reportMicMsg',
    appBuffer: new T.BinBuffer(Buffer.from(c.ReportMicMsgArgs, 'hex')), property: { packetType: 1 } }).toString('hex');
  const server = new RpcServer();
  const ret = hexOf((os) => os.writeString(0, 'ok'));
  c.rpcResponse = server.compose({ origin: { iVersion: 1, iMessageType: 0, iRequestId: 9 }, iResultCode: 0, sResultDesc: '',
    appBuffer: new T.BinBuffer(Buffer.from(ret, 'hex')) }).toString('hex');
  c.rpcErrorResponse = server.compose({ origin: { iVersion: 1, iMessageType: 0, iRequestId: 10 }, iResultCode: -3, sResultDesc: 'no such function' }).toString('hex');
  c.tupV3Notify = tupFrame(T.Tup.TUP_SIMPLE, 'tars.viewstatus');
  c.tupV2Notify = tupFrame(T.Tup.TUP_COMPLEX, 'tars.viewstatus');
  return c;
}

function decodeFrame(hex, version) {
  // Feed a framed Go reply to @tars/rpc's client parser, as a real client would.
  const client = new RpcClient();
  client._version = version;
  let msg;
  client.on('message', (m) => { msg = m; });
  const buf = Buffer.from(hex, 'hex');
  for (let i = 0; i < buf.length; i += 7) client.feed(buf.slice(i, i + 7)); // split across reads
  if (!msg) throw new Error('no message parsed');
  const out = { iRequestId: msg.iRequestId, iResultCode: msg.iResultCode, sResultDesc: msg.sResultDesc };
  if (msg.origin.tup) out.ret = msg.origin.tup.readString('');
  else out.sBuffer = msg.origin.sBuffer.toNodeBuffer().toString('hex');
  return out;
}

function decodeServerFrame(hex) {
  // Feed a framed Go request to @tars/rpc's server parser.
  const server = new RpcServer();
  const msgs = [];
  server.on('message', (m) => msgs.push(m));
  server.on('error', (e) => { throw e; });
  server.feed(Buffer.from(hex, 'hex'));
  return msgs.map((m) => ({ sFuncName: m.sFuncName, iRequestId: m.origin.iRequestId, cPacketType: m.origin.cPacketType,
    iTimeout: m.origin.iTimeout, context: plain(m.origin.context), sBuffer: m.origin.sBuffer.toNodeBuffer().toString('hex') }));
}

function roundtrip(items) {
  return items.map(({ schema, hex }) => {
    try {
      if (schema === 'frame:response') return { value: decodeFrame(hex, 1) };
      if (schema === 'frame:tup3') return { value: decodeFrame(hex, 3) };
      if (schema === 'frame:tup2') return { value: decodeFrame(hex, 2) };
      if (schema === 'frame:request') return { value: decodeServerFrame(hex) };
      const C = SCHEMAS[schema];
      if (!C) throw new Error('unknown schema ' + schema);
      const is = new T.TarsInputStream(new T.BinBuffer(Buffer.from(hex, 'hex')));
      const v = C._readFrom(is);
      return { hex: hexOf((os) => v._writeTo(os)), value: plain(v) };
    } catch (e) {
      return { error: String(e && e.message || e) };
    }
  });
}

module.exports = { T, RequestF, SCHEMAS };

if (require.main === module) {
  const mode = process.argv[2];
  if (mode === 'encode') {
    process.stdout.write(JSON.stringify(encodeCases()));
  } else if (mode === 'roundtrip') {
    let input = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => { input += d; });
    process.stdin.on('end', () => process.stdout.write(JSON.stringify(roundtrip(JSON.parse(input)))));
  } else {
    process.stderr.write('usage: node peer.js encode|roundtrip\n');
    process.exit(2);
  }
}
