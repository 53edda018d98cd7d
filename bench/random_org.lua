-- wrk script: every request goes to a random organisation, with that organisation's own API key.
--
--   wrk ... -s bench/random_org.lua http://127.0.0.1:PORT -- KEYS_FILE list|detail|list-bearer
--
-- KEYS_FILE has one line per organisation: `org_id<TAB>key` (what `seed-demo --keys-file` writes) or
-- `org_id<TAB>key<TAB>connection_id` (what bench/run.py writes for the detail endpoint). For list-bearer the
-- key is a bearer token (a JWT) with a role in that organisation, sent as `Authorization: Bearer …`.
-- `done` prints one line, `WRK_RESULT {json}`, that bench/run.py parses.

local BASE = "/api/v1/organisations/%s/integrations/warehouse-connections/"

local paths = {}
local headers = {}
local count = 0

local function load(file, mode)
  local handle = assert(io.open(file, "r"), "cannot open keys file " .. tostring(file))
  for line in handle:lines() do
    local org, key, connection = line:match("^(%d+)\t([^\t]+)\t?([^\t]*)$")
    if org then
      local path = BASE:format(org)
      if mode == "detail" then
        assert(connection ~= "", "detail mode needs org<TAB>key<TAB>connection_id lines")
        path = path .. connection .. "/"
      end
      count = count + 1
      paths[count] = path
      headers[count] = (mode == "list-bearer" and "Bearer " or "Api-Key ") .. key
    end
  end
  handle:close()
  assert(count > 0, "no org<TAB>key lines in " .. file)
end

local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function init(args)
  load(args[1], args[2] or "list")
  -- Each thread its own sequence; the id comes from setup().
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

local request_headers = { ["Authorization"] = "" }

function request()
  local n = math.random(count)
  request_headers["Authorization"] = headers[n]
  return wrk.format("GET", paths[n], request_headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
