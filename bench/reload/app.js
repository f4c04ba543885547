// The PM2 side of the reload benchmark (bench/reload): the Node.js
// equivalent of the SMS gateway's GET /healthz, run in PM2 cluster mode
// (pm2 start app.js -i N). Every answer is
// {"status":"ok","worker":ID,"pid":PID} with X-Worker-Id and X-Worker-Pid,
// as the gateway's. Other paths are 404. The port is $PORT.
//
// Graceful stop as PM2's documentation recommends: on SIGINT (what
// `pm2 reload` and `pm2 stop` send), stop accepting and exit once the
// server has closed; PM2 SIGKILLs the worker after kill_timeout (1600 ms by
// default) if it has not exited by then.
'use strict';
const http = require('http');

const pid = String(process.pid);
const id = String(process.env.NODE_APP_INSTANCE || process.env.pm_id || 0);
const body = JSON.stringify({ status: 'ok', worker: Number(id), pid: process.pid });
const port = Number(process.env.PORT);
if (!port) {
  console.error('PORT is not set');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.url !== '/healthz') {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"no such endpoint"}');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'X-Worker-Id': id, 'X-Worker-Pid': pid });
  res.end(body);
});
server.listen(port, '127.0.0.1');

process.on('SIGINT', () => server.close(() => process.exit(0)));
