// Times @tars/stream (and @tars/rpc's framing) doing what the Go benchmark
// in bench/tars does, on the very same bytes:
//   echo '{"stat": HEX, "request": HEX, "reps": 5, "ms": 400}' | node bench.js
// stat: a ReportMicMsgArgs (StatF batch) — one op = encode it + decode it;
// request: a framed RequestPacket — one op = frame it as @tars/rpc's client
// does + decode it as @tars/rpc's server does.
// Prints {"stat": {"nsPerOp": median, "reps": [...]}, "request": {...}, "node": version}.
'use strict';
const { T, RequestF, SCHEMAS } = require('./peer.js');

function bin(hex) { return new T.BinBuffer(Buffer.from(hex, 'hex')); }

function statOp(hex) {
  const args = SCHEMAS.ReportMicMsgArgs._readFrom(new T.TarsInputStream(bin(hex)));
  return () => {
    const os = new T.TarsOutputStream();
    args._writeTo(os);
    return SCHEMAS.ReportMicMsgArgs._readFrom(new T.TarsInputStream(os.getBinBuffer()));
  };
}

function requestOp(hex) {
  const frame = Buffer.from(hex, 'hex');
  const req = RequestF.RequestPacket._readFrom(new T.TarsInputStream(new T.BinBuffer(frame.slice(4))));
  return () => {
    const os = new T.TarsOutputStream();
    os.setHeaderLength(0);
    req._writeTo(os);
    os.setHeaderLength(os.getBinBuffer().length);
    const b = os.getBinBuffer().toNodeBuffer();
    return RequestF.RequestPacket._readFrom(new T.TarsInputStream(new T.BinBuffer(b.slice(4, b.readUInt32BE(0)))));
  };
}

// measure runs op for about ms milliseconds per repetition and returns the
// median time per op, in ns.
function measure(op, reps, ms) {
  const warm = process.hrtime.bigint() + BigInt(ms) * 1000000n;
  while (process.hrtime.bigint() < warm) op();
  const out = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(ms) * 1000000n;
    let t = t0;
    while (t < end) {
      for (let i = 0; i < 100; i++) op();
      n += 100;
      t = process.hrtime.bigint();
    }
    out.push(Number(t - t0) / n);
  }
  const sorted = [...out].sort((a, b) => a - b);
  return { nsPerOp: sorted[Math.floor(sorted.length / 2)], reps: out };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const { stat, request, reps = 5, ms = 400 } = JSON.parse(input);
  const result = { node: process.version };
  if (stat) result.stat = measure(statOp(stat), reps, ms);
  if (request) result.request = measure(requestOp(request), reps, ms);
  process.stdout.write(JSON.stringify(result) + '\n');
});
