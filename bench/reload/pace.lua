-- wrk script of the reload benchmark (bench/reload): paced, keep-alive or
-- close-per-request load on GET /healthz, and one machine-readable result
-- line.
--
-- wrk has no rate option. delay() is called after each answer and makes
-- that connection wait before its next request, so each of the C
-- connections sends one request every C*1000/RATE ms and the total is
-- about RATE requests per second (a little less: the wait starts when the
-- answer arrived). wrk starts its latency clock when a request is written,
-- so the wait is not counted as latency. It is closed-loop pacing: a slow
-- answer delays that connection's next request.
--
-- Environment: WRK_RATE (requests/s, default 1000), WRK_CONNS (must equal
-- wrk's -c, default 32), WRK_CLOSE=1 to send "Connection: close" (a new
-- connection for every request).
local rate = tonumber(os.getenv("WRK_RATE") or "1000")
local conns = tonumber(os.getenv("WRK_CONNS") or "32")
local interval = conns * 1000 / rate

wrk.path = "/healthz"
if os.getenv("WRK_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

local req
function init(args)
  req = wrk.format()
end

function request()
  return req
end

function delay()
  return interval
end

-- RESULT line: counts, and latency in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
