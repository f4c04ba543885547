// A real @tars/rpc client calling AdminF on a Go server (tars/interop_admin_test.go).
//   node admin-client.js "tcp -h 127.0.0.1 -p PORT -t 3000" CMD...
// Calls notify(CMD) for each CMD, then an unknown function, getPid(),
// tars_ping() and shutdown(), and prints [{ret} | {code, message}] as JSON.
'use strict';
const T = require('@tars/stream');
const Tars = require('@tars/rpc').client;

// AdminF proxy, shaped like tars2node output.
const AdminFProxy = function () { this._name = undefined; this._worker = undefined; };
AdminFProxy.prototype.setTimeout = function (t) { this._worker.timeout = t; };
AdminFProxy.prototype.getTimeout = function () { return this._worker.timeout; };
function call(proxy, fn, args, decode) {
  return proxy._worker.tars_invoke(fn, args, undefined).then(
    (data) => ({ ret: decode(new T.TarsInputStream(data.response.sBuffer)) }),
    (data) => {
      // A transport error carries response.error; a server error the
      // ResponsePacket itself (iRet, sResultDesc).
      const resp = (data && data.response) || {};
      if (resp.error) return { code: resp.error.code, message: resp.error.message };
      return { code: resp.iRet, message: resp.sResultDesc };
    });
}
const noArgs = () => new T.TarsOutputStream().getBinBuffer();
AdminFProxy.prototype.notify = function (command) {
  const os = new T.TarsOutputStream();
  os.writeString(1, command);
  return call(this, 'notify', os.getBinBuffer(), (is) => is.readString(0, true));
};
AdminFProxy.prototype.shutdown = function () { return call(this, 'shutdown', noArgs(), () => null); };
AdminFProxy.prototype.nosuch = function () { return call(this, 'nosuch', noArgs(), () => null); };
AdminFProxy.prototype.getPid = function () { return call(this, 'getPid', noArgs(), (is) => is.readInt64(0, true)); };
AdminFProxy.prototype.tars_ping = function () { return call(this, 'tars_ping', noArgs(), (is) => is.readInt32(0, true)); };

async function main() {
  const [endpoint, ...cmds] = process.argv.slice(2);
  const prx = Tars.stringToProxy(AdminFProxy, 'AdminObj@' + endpoint);
  const out = [];
  for (const c of cmds) out.push(await prx.notify(c));
  out.push(await prx.nosuch());
  out.push(await prx.getPid());
  out.push(await prx.tars_ping());
  out.push(await prx.shutdown());
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}
main().catch((e) => { process.stderr.write(String(e && e.stack || JSON.stringify(e)) + '\n'); process.exit(1); });
