# 50-ops-metrics.sh: GET /metrics is valid Prometheus text, loopback only,
# and its counters are totals across all workers.

# ops_metric_sum REGEX: sum of the samples of /metrics whose series (name
# and labels) matches the awk REGEX; fails when /metrics cannot be read.
ops_metric_sum() {
	curl -sS --max-time 10 "$CATALOG_URL/metrics" |
	    awk -v re="$1" '!/^#/ && $1 ~ re { s += $2 } END { printf "%d\n", s }' ||
	    fail "GET /metrics failed"
}

# ops_worker_io: "pid rchar" of each worker (child of the app master).
ops_worker_io() {
	local master pid
	master=$(cat "$FIX_DIR/run/app.pid")
	for pid in $(ps -o pid= --ppid "$master"); do
		echo "$pid $(awk '$1 == "rchar:" { print $2 }' "/proc/$pid/io")"
	done
}

# ops_busy_workers: how many workers read more between the two snapshots.
ops_busy_workers() {
	awk 'NR == FNR { before[$1] = $2; next }
	    ($1 in before) && $2 > before[$1] + 10000 { n++ }
	    END { print n + 0 }' "$FIX_DIR/ops-io.before" "$FIX_DIR/ops-io.after"
}

t_ops_promtool() {
	local out
	command -v promtool >/dev/null || fail "promtool not installed (scripts/deps installs prometheus)"
	http GET /metrics
	expect_eq status "$STATUS" 200
	case $(header content-type) in
	text/plain*"version=0.0.4"*) ;;
	*) fail "content-type: $(header content-type)" ;;
	esac
	# at least one series of each family the issue asks for
	for m in catalog_cache_requests_total catalog_cache_errors_total \
	    catalog_db_errors_total catalog_http_requests_total \
	    catalog_http_request_duration_seconds_bucket \
	    catalog_cache_stampede_waits_total catalog_jobs \
	    catalog_jobs_oldest_due_age_seconds catalog_dead_letters; do
		grep -q "^$m[{ ]" <<<"$BODY" || fail "no $m"
	done
	out=$(printf '%s\n' "$BODY" | promtool check metrics 2>&1) ||
	    fail "promtool check metrics: $out"
	# promtool exits 0 on lint problems in some versions; it prints them
	[ -z "$out" ] || fail "promtool: $out"
}
it_case "promtool check metrics accepts GET /metrics" t_ops_promtool

# The stack's nginx listens on 127.0.0.1:PORT only, but the whole of
# 127.0.0.0/8 is local on Linux: a connection from source address
# 127.0.0.2 to 127.0.0.1 reaches the same listener, and nginx sees
# $remote_addr = 127.0.0.2, which is not in `allow 127.0.0.1; allow ::1;`.
# So the deny rule itself is exercised (not a stand-in), and /healthz from
# the same address proves the source address works and the 403 is the
# rule's.  The rendered configuration is also checked with `nginx -T`, so a
# rule removed from catalog-locations.conf fails even if the request test
# were somehow satisfied another way.
t_ops_metrics_loopback_only() {
	local code conf
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
	    --interface 127.0.0.2 "$CATALOG_URL/healthz") || code=000
	expect_eq "/healthz from 127.0.0.2" "$code" 200
	http GET /metrics --interface 127.0.0.2
	expect_eq "/metrics from 127.0.0.2" "$STATUS" 403
	expect_eq type "$(header content-type)" application/problem+json
	expect_eq problem "$(json 'j["status"]')" 403
	grep -q '^127\.0\.0\.2 .*"GET /metrics HTTP/[0-9.]*" 403 ' \
	    "$FIX_DIR/log/nginx-access.log" || fail "no 403 for 127.0.0.2 in the access log"
	http GET /metrics
	expect_eq "/metrics from 127.0.0.1" "$STATUS" 200
	conf=$(nginx -T -q -c "$FIX_DIR/nginx/nginx.conf" -p "$FIX_DIR/nginx/" \
	    -e "$FIX_DIR/log/nginx-error.log" 2>&1) || fail "nginx -T: $conf"
	printf '%s\n' "$conf" | awk '
	    /location = \/metrics *\{/ { inside = 1; next }
	    inside && /\}/ { exit }
	    inside { gsub(/^[ \t]+|[ \t]+$/, ""); print }' >"$FIX_DIR/metrics-rule"
	for want in 'allow 127.0.0.1;' 'allow ::1;' 'deny  all;'; do
		grep -qxF "$want" "$FIX_DIR/metrics-rule" ||
		    fail "location = /metrics lacks '$want': $(cat "$FIX_DIR/metrics-rule")"
	done
	# the deny must come after the allows (nginx applies the first match)
	[ "$(tail -n +1 "$FIX_DIR/metrics-rule" | grep -n 'deny' | cut -d: -f1)" -gt \
	    "$(grep -n 'allow ::1' "$FIX_DIR/metrics-rule" | cut -d: -f1)" ] ||
	    fail "deny all before the allow lines"
}
it_case "/metrics is 403 for a non-loopback client (127.0.0.2), 200 for 127.0.0.1" t_ops_metrics_loopback_only

# N requests with concurrency 32 to a cached route: the shared counters
# must grow by exactly N, whichever of the app.workers workers served them.
t_ops_counters_add_up() {
	local n=2000 cache0 http0 cache1 http1 codes i cfg
	cfg="$FIX_DIR/ops-parallel.curl"
	: >"$cfg"
	for ((i = 0; i < n; i++)); do
		# a few distinct products, so hits and misses both happen
		printf 'url = "%s/api/products/%d"\noutput = "/dev/null"\n' \
		    "$CATALOG_URL" $((i % 7 + 1)) >>"$cfg"
	done
	ops_worker_io >"$FIX_DIR/ops-io.before"
	cache0=$(ops_metric_sum '^catalog_cache_requests_total')
	http0=$(ops_metric_sum '^catalog_http_requests_total\{route="product",')
	codes=$(curl -sS --max-time 60 --parallel --parallel-max 32 \
	    --parallel-immediate -K "$cfg" -w '%{http_code}\n' | sort | uniq -c)
	expect_eq "status codes" "$(echo $codes)" "$n 200"
	ops_worker_io >"$FIX_DIR/ops-io.after"
	cache1=$(ops_metric_sum '^catalog_cache_requests_total')
	http1=$(ops_metric_sum '^catalog_http_requests_total\{route="product",')
	expect_eq "catalog_cache_requests_total growth" $((cache1 - cache0)) "$n"
	expect_eq "catalog_http_requests_total{route=product} growth" \
	    $((http1 - http0)) "$n"
	# ... and more than one worker served them, else this proves nothing
	# about sharing: a worker's rchar (bytes read by syscalls, sockets
	# included) grows with every request it serves.
	[ "$(ops_busy_workers)" -ge 2 ] || fail "fewer than 2 workers served requests"
}
it_case "metrics counters add up across workers under load (2000 requests, 32 at once)" t_ops_counters_add_up
