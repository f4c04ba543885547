// A StatF and PropertyF server built on @tars/rpc, for the Go monitor tests
// (monitor/*_test.go): what tarsstat and tarsproperty receive.
//
//   node stat-peer.js
//
// Starts a @tars/rpc server (HeroServer) with two adapters on 127.0.0.1,
// one for tars.tarsstat.StatObj and one for tars.tarsproperty.PropertyObj,
// on ports the system picks, and prints one JSON line per event on stdout:
//
//   {"stat": PORT, "property": PORT}                  once, when listening
//   {"servant", "func", "oneway", "msg": [...]}      per call received
//
// msg lists the decoded map entries: reportMicMsg as [{head, body,
// fromClient}], reportPropMsg as [{head, body}], decoded by the structs
// @tars/monitor itself generated from StatF.tars and PropertyF.tars.
// A normal (not one-way) call is answered with 0. The process exits when
// its stdin closes.
'use strict';
const TarsStream = require('@tars/stream');
const Tars = require('@tars/rpc');
const StatF = require('@tars/monitor/stat/StatFProxy.js').tars;
const PropertyF = require('@tars/monitor/property/PropertyFProxy.js').tars;

function emit(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function entries(map) {
  const out = [];
  map.forEach((k, v) => out.push([k.toObject(), v.toObject()]));
  return out;
}

// decode reads the arguments of a call with @tars/stream.
function decode(funcName, buf) {
  const is = new TarsStream.TarsInputStream(buf);
  switch (funcName) {
    case 'reportMicMsg': {
      const msg = is.readMap(1, true, TarsStream.Map(StatF.StatMicMsgHead, StatF.StatMicMsgBody));
      const fromClient = is.readBoolean(2, true, false);
      return entries(msg).map(([head, body]) => ({ head, body, fromClient }));
    }
    case 'reportPropMsg': {
      const msg = is.readMap(1, true, TarsStream.Map(PropertyF.StatPropMsgHead, PropertyF.StatPropMsgBody));
      return entries(msg).map(([head, body]) => ({ head, body }));
    }
  }
  throw new Error('unexpected function ' + funcName);
}

// servant returns a handler class for the servant name, shaped like
// tars2node's server output (initialize + onDispatch).
function servant(name) {
  const Imp = function () { this._name = undefined; this._worker = undefined; };
  Imp.prototype.initialize = function () {};
  Imp.prototype.onDispatch = function (current, funcName, binBuffer) {
    let msg;
    try {
      msg = decode(funcName, binBuffer);
    } catch (e) {
      emit({ servant: name, func: funcName, error: String(e && e.message || e) });
      return -1;
    }
    emit({ servant: name, func: funcName, oneway: current._origin.cPacketType === 1, msg });
    const os = new TarsStream.TarsOutputStream();
    os.writeInt32(0, 0);
    current.doResponse(os.getBinBuffer()); // no reply is sent for a one-way call
    return 0;
  };
  return Imp;
}

function listen(name) {
  const svr = new Tars.server();
  const opt = new Tars.server.BindAdapterOption();
  opt.endpoint = 'tcp -h 127.0.0.1 -p 0 -t 60000';
  opt.servant = name;
  opt.name = name + 'Adapter';
  opt.protocolName = 'tars';
  opt.handleImp = servant(name);
  svr.start(opt);
  const ln = svr._adapters[0]._netthread._listener;
  return new Promise((resolve) => ln.on('listening', () => resolve(ln.address().port)));
}

Promise.all([listen('tars.tarsstat.StatObj'), listen('tars.tarsproperty.PropertyObj')]).then(([stat, property]) => {
  emit({ stat, property });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
