// The PM2 side of the log benchmark (bench/logs): the equivalent of
// bench/logs/worker. Writes $BENCH_LINES lines of exactly 100 bytes to
// stdout in 64 KiB chunks, then stays up. Just before the first line it
// writes its wall-clock start (Unix ns) to $BENCH_STAMP_DIR/PID. The
// instance number is $NODE_APP_INSTANCE (set by PM2 with -i), else 0.
'use strict';
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

const n = Number(process.env.BENCH_LINES);
const id = Number(process.env.NODE_APP_INSTANCE || 0);

const prefix = 'w' + id + ' ';
const fills = [];
for (let c = 0; c < 26; c++) {
  fills.push(String.fromCharCode(97 + c).repeat(99 - prefix.length - 8) + '\n');
}
function line(i) {
  return prefix + String(i).padStart(7, '0') + ' ' + fills[(i + id) % 26];
}

const start = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
if (process.env.BENCH_STAMP_DIR) {
  fs.writeFileSync(path.join(process.env.BENCH_STAMP_DIR, String(process.pid)), start.toString());
}

let i = 0;
function write() {
  while (i < n) {
    let chunk = '';
    while (chunk.length < 65536 && i < n) chunk += line(i++);
    // A pipe (fork mode) is written synchronously on Linux; PM2's cluster
    // mode replaces process.stdout.write, which returns undefined.
    if (process.stdout.write(chunk) === false) {
      process.stdout.once('drain', write);
      return;
    }
  }
}
write();
setInterval(() => {}, 1 << 30);
