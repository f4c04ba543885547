// The PM2 side of the benchmarks in BENCHMARKS.md: the equivalent of
// bench/worker, run in PM2 cluster mode (pm2 start app.js -i N). Every
// request is answered with the pid (header X-Worker-Pid and body
// "pid=PID start=UNIXNANO\n", start being the wall-clock time this script
// began). The port is $PORT. When BENCH_READY_ADDR (HOST:PORT) is set, the
// pid is sent in a UDP datagram to it once the server listens.
'use strict';
const dgram = require('dgram');
const http = require('http');
const { performance } = require('perf_hooks');

const start = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const pid = String(process.pid);
const body = 'pid=' + pid + ' start=' + start.toString() + '\n';
const port = Number(process.env.PORT);
if (!port) {
  console.error('PORT is not set');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'X-Worker-Pid': pid, 'Content-Type': 'text/plain' });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => {
  const addr = process.env.BENCH_READY_ADDR;
  if (!addr) return;
  const i = addr.lastIndexOf(':');
  const sock = dgram.createSocket('udp4');
  sock.send(pid, Number(addr.slice(i + 1)), addr.slice(0, i), () => sock.close());
});

process.on('SIGINT', () => server.close(() => process.exit(0)));
