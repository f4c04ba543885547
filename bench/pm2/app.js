// The PM2 side of the benchmarks in BENCHMARKS.md: the equivalent of
// bench/worker, run in PM2 cluster mode (pm2 start app.js -i N). Every
// request is answered with the pid (header X-Worker-Pid and body
// "pid=PID start=UNIXNANO\n", start being the wall-clock time this script
// began). The port is $PORT. When BENCH_READY_ADDR (HOST:PORT) is set, the
// pid is sent in a UDP datagram to it once the server listens. GET /grow?mb=N
// holds N MiB more of touched memory and answers "grown pid=PID rss=BYTES".
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

const ballast = [];
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'X-Worker-Pid': pid, 'Content-Type': 'text/plain' });
  if (req.url.startsWith('/grow')) {
    // The memory-restart benchmark: hold N MiB more of touched memory.
    const mb = Number(new URL(req.url, 'http://x').searchParams.get('mb')) || 0;
    ballast.push(Buffer.alloc(mb << 20, 1));
    res.end('grown pid=' + pid + ' rss=' + process.memoryUsage().rss + '\n');
    return;
  }
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
