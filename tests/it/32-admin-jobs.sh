# 32-admin-jobs.sh: the job queue over HTTP (GET /api/admin/jobs, GET
# /api/admin/jobs/{id}, POST /api/admin/jobs/{id}/replay, GET
# /api/admin/stats): the token, the bad-input table, the answers against
# the database, replay = `job-runner dead replay` (409 unless dead).
# The rows are made by SQL with keys of this run (aj-<run>-*) and deleted
# when each case ends; no runner runs during these cases.

AJ_RUN=$$$RANDOM

aj_auth() { echo "Authorization: Bearer $CATALOG_ADMIN_TOKEN"; }

# aj_job STATUS ATTEMPTS ERROR: inserts a job of this run, prints its id.
# A dead one gets its dead letter as queue.c writes it.
aj_job() {
	local id
	id=$(sql "INSERT INTO jobs (type, payload, idempotency_key, status,
	    attempts, max_attempts, last_error) VALUES ('aj_test',
	    '{\"n\": $RANDOM, \"s\": \"x\"}', 'aj-$AJ_RUN-$RANDOM$RANDOM', '$1',
	    $2, 5, $3); SELECT LAST_INSERT_ID()")
	if [ "$1" = dead ]; then
		sql "INSERT INTO dead_letter_jobs (job_id, type, payload, attempts,
		    last_error) SELECT id, type, payload, attempts, last_error
		    FROM jobs WHERE id = $id"
	fi
	echo "$id"
}

aj_cleanup() {
	sql "DELETE FROM dead_letter_jobs WHERE job_id IN
	    (SELECT id FROM jobs WHERE idempotency_key LIKE 'aj-$AJ_RUN-%')"
	sql "DELETE FROM jobs WHERE idempotency_key LIKE 'aj-$AJ_RUN-%'"
}

t_aj_401() {
	local h r
	for h in "" "Authorization: Bearer wrong" \
	    "Authorization: Bearer ${CATALOG_ADMIN_TOKEN}x" \
	    "Authorization: Basic $CATALOG_ADMIN_TOKEN"; do
		for r in "GET /api/admin/jobs" "GET /api/admin/jobs/1" \
		    "POST /api/admin/jobs/1/replay" "GET /api/admin/stats"; do
			http "${r%% *}" "${r#* }" ${h:+-H "$h"}
			if [ "$STATUS" != 401 ] ||
			    [ "$(header www-authenticate | cut -d' ' -f1)" != Bearer ]; then
				fail "$r with '${h:0:24}': $STATUS"
			fi
		done
	done
}
it_case "admin jobs: every route is 401 + WWW-Authenticate without the token" t_aj_401

# QUERY|STATUS for GET /api/admin/jobs (K192: a 192-character key).
AJ_BAD=(
	'status=bogus|400' 'status=|400' 'status=DEAD|400' 'status=dead&status=done|400'
	'status=%zz|400' 'status=dead%00|400'
	'type=Bad%20Type|400' 'type=T65|400' 'type=a/b|400'
	'key=K192|400' 'key=a%20b|400' 'key=<x>|400'
	'page=0|400' 'page=-1|400' 'page=1.5|400' 'page=abc|400' 'page=1000001|400'
	'per_page=0|400' 'per_page=101|400' 'per_page=|400' 'per_page=1e2|400'
	'page=1000000&per_page=100|200' 'status=done&type=no-such-type|200'
	'key=no-such-key|200' 'color=red|200'
)

t_aj_bad_input() {
	local row q want bad=0 before
	before=$(sql "SELECT COUNT(*), COALESCE(SUM(attempts), 0) FROM jobs")
	for row in "${AJ_BAD[@]}"; do
		q=${row%|*} want=${row##*|}
		q=${q//T65/$(printf '%.0st' $(seq 1 65))}
		q=${q//K192/$(printf '%.0sk' $(seq 1 192))}
		http GET "/api/admin/jobs?$q" -H "$(aj_auth)"
		if [ "$STATUS" != "$want" ]; then
			echo "?${q:0:60}: got $STATUS, want $want: ${BODY:0:100}"
			bad=1
		elif [ "$want" = 400 ] &&
		    [ "$(header content-type)" != application/problem+json ]; then
			echo "?${q:0:60}: 400 but not a problem"
			bad=1
		fi
	done
	# ids in paths: anything but 1..2^63-1 is an unknown path
	for q in /api/admin/jobs/0 /api/admin/jobs/01 /api/admin/jobs/abc \
	    /api/admin/jobs/9223372036854775808 /api/admin/jobs/-1 \
	    /api/admin/jobs/1/replay/x /api/admin/jobs//replay \
	    /api/admin/jobs/0/replay /api/admin/statsx; do
		http POST "$q" -H "$(aj_auth)"
		[ "$STATUS" = 404 ] || { echo "POST $q: got $STATUS, want 404"; bad=1; }
	done
	http GET /api/admin/jobs/1/replay -H "$(aj_auth)"
	expect_eq "GET replay" "$STATUS $(header allow)" "405 POST"
	http POST /api/admin/stats -H "$(aj_auth)"
	expect_eq "POST stats" "$STATUS $(header allow)" "405 GET, HEAD"
	http DELETE /api/admin/jobs/1 -H "$(aj_auth)"
	expect_eq "DELETE job" "$STATUS" 405
	expect_eq "nothing changed" \
	    "$(sql "SELECT COUNT(*), COALESCE(SUM(attempts), 0) FROM jobs")" "$before"
	[ "$bad" = 0 ] || fail "bad input answered wrongly (above)"
}
it_case "admin jobs: the bad-input table is 400 problems (404/405 in paths), nothing changes" t_aj_bad_input

t_aj_list() {
	local dead pending n want
	it_defer aj_cleanup
	dead=$(aj_job dead 5 "'boom'")
	pending=$(aj_job pending 2 NULL)
	http GET "/api/admin/jobs?type=aj_test" -H "$(aj_auth)"
	expect_eq status "$STATUS" 200
	expect_eq cache-control "$(header cache-control)" no-store
	expect_eq "newest first" "$(json '[i["id"] for i in j["items"]]')" \
	    "[$pending, $dead]"
	expect_eq "page" "$(json '(j["page"], j["per_page"], j["total"])')" "(1, 20, 2)"
	expect_eq "one job" "$(json 'sorted(j["items"][1].keys())')" \
	    "['attempts', 'id', 'idempotency_key', 'last_error', 'max_attempts', 'run_at', 'status', 'type', 'updated_at']"
	expect_eq "the dead one" "$(json '[j["items"][1][k] for k in ("status", "attempts", "max_attempts", "last_error")]')" \
	    "['dead', 5, 5, 'boom']"
	expect_eq "null error" "$(json 'j["items"][0]["last_error"]')" None
	http GET "/api/admin/jobs?type=aj_test&status=dead" -H "$(aj_auth)"
	expect_eq "status filter" "$(json '[i["id"] for i in j["items"]], j["total"]')" "([$dead], 1)"
	http GET "/api/admin/jobs?type=aj_test&per_page=1&page=2" -H "$(aj_auth)"
	expect_eq "page 2" "$(json '[i["id"] for i in j["items"]], j["total"]')" "([$dead], 2)"
	http GET "/api/admin/jobs?key=$(sql "SELECT idempotency_key FROM jobs WHERE id = $dead")" -H "$(aj_auth)"
	expect_eq "by key" "$(json '[i["id"] for i in j["items"]], j["total"]')" "([$dead], 1)"
	http GET "/api/admin/jobs?key=$(sql "SELECT idempotency_key FROM jobs WHERE id = $dead")&status=pending" -H "$(aj_auth)"
	expect_eq "by key, other status" "$(json 'j["items"], j["total"]')" "([], 0)"
	for want in pending dead done running; do
		n=$(sql "SELECT COUNT(*) FROM jobs WHERE status = '$want'")
		http GET "/api/admin/jobs?status=$want&per_page=1" -H "$(aj_auth)"
		expect_eq "total $want" "$(json 'j["total"]')" "$n"
	done
}
it_case "admin jobs: the list is newest first, filtered, paginated, equal to the table" t_aj_list

t_aj_get() {
	local dead pending
	it_defer aj_cleanup
	dead=$(aj_job dead 5 "'<b>markup</b>\\nline 2'")
	pending=$(aj_job pending 0 NULL)
	http GET "/api/admin/jobs/$dead" -H "$(aj_auth)"
	expect_eq status "$STATUS" 200
	expect_eq "payload is a value" "$(json 'j["payload"]["s"]')" x
	expect_eq "dead letter" "$(json 'sorted(j["dead_letter"].keys()), j["dead_letter"]["replayed_at"], j["dead_letter"]["last_error"]')" \
	    "(['failed_at', 'last_error', 'replayed_at'], None, '<b>markup</b>\\nline 2')"
	http GET "/api/admin/jobs/$pending" -H "$(aj_auth)"
	expect_eq "never dead" "$(json '"dead_letter" in j, j["status"]')" "(False, 'pending')"
	sql "UPDATE jobs SET payload = 'not json {' WHERE id = $pending"
	http GET "/api/admin/jobs/$pending" -H "$(aj_auth)"
	expect_eq "not JSON: a string" "$(json 'j["payload"]')" "not json {"
	http GET /api/admin/jobs/9000000000000000000 -H "$(aj_auth)"
	expect_eq missing "$STATUS" 404
}
it_case "admin jobs: one job with its payload value and its dead letter; 404" t_aj_get

t_aj_replay() {
	local dead pending
	it_defer aj_cleanup
	dead=$(aj_job dead 5 "'smtp 554'")
	pending=$(aj_job pending 1 NULL)
	http POST "/api/admin/jobs/$pending/replay" -H "$(aj_auth)"
	expect_eq "pending: 409" "$STATUS" 409
	expect_eq "untouched" "$(sql "SELECT status, attempts FROM jobs WHERE id = $pending")" "pending	1"
	http POST "/api/admin/jobs/$dead/replay" -H "$(aj_auth)"
	expect_eq status "$STATUS" 200
	expect_eq answer "$(json 'j["id"], j["status"], j["attempts"], j["dead_letter"]["replayed_at"] is not None')" \
	    "($dead, 'pending', 0, True)"
	# exactly what `job-runner dead replay` leaves
	expect_eq "in the database" "$(sql "SELECT status, attempts, locked_by IS NULL,
	    run_at <= NOW(6) FROM jobs WHERE id = $dead")" "pending	0	1	1"
	expect_eq "letter stamped" "$(sql "SELECT COUNT(*) FROM dead_letter_jobs
	    WHERE job_id = $dead AND replayed_at IS NOT NULL")" 1
	http POST "/api/admin/jobs/$dead/replay" -H "$(aj_auth)"
	expect_eq "twice: 409" "$STATUS" 409
	http POST /api/admin/jobs/9000000000000000000/replay -H "$(aj_auth)"
	expect_eq "missing: 404" "$STATUS" 404
	# the runner's command refuses the same job for the same reason
	"$RUNNER" --config "$CATALOG_CONF" dead replay "$dead" >/dev/null 2>&1 &&
	    fail "job-runner dead replay accepted a pending job"
	true
}
it_case "admin jobs: replay is dead -> pending as job-runner dead replay; 409 unless dead, 404" t_aj_replay

t_aj_stats() {
	local want got
	it_defer aj_cleanup
	aj_job dead 5 "'x'" >/dev/null
	sql "UPDATE jobs SET status = 'done' WHERE id = $(aj_job pending 1 NULL)"
	aj_job pending 1 "'retry later'" >/dev/null
	http GET /api/admin/stats -H "$(aj_auth)"
	expect_eq status "$STATUS" 200
	expect_eq members "$(json 'sorted(j.keys()), sorted(j["jobs"].keys()), sorted(j["cache"].keys())')" \
	    "(['cache', 'dead_letters', 'jobs', 'oldest_due_age_seconds', 'throughput'], ['dead', 'done', 'pending', 'running'], ['bypass', 'hits', 'misses'])"
	got=$(json '" ".join(str(j["jobs"][s]) for s in ("pending", "running", "done", "dead")) + " " + str(j["dead_letters"])')
	want=$(sql "SELECT CONCAT_WS(' ', SUM(status = 'pending'), SUM(status = 'running'),
	    SUM(status = 'done'), SUM(status = 'dead'), (SELECT COUNT(*) FROM
	    dead_letter_jobs WHERE replayed_at IS NULL)) FROM jobs")
	expect_eq "counts = the tables" "$got" "$want"
	expect_eq "throughput: 60 minutes, one apart, ours in the last two" \
	    "$(json 'len(j["throughput"]), all(__import__("datetime").datetime.fromisoformat(b["minute"][:-1]).timestamp() - __import__("datetime").datetime.fromisoformat(a["minute"][:-1]).timestamp() == 60 for a, b in zip(j["throughput"], j["throughput"][1:])), all(sum(x[k] for x in j["throughput"][-2:]) >= 1 for k in ("done", "retried", "dead"))')" \
	    "(60, True, True)"
	# the cache counters are /metrics' own
	got=$(json '(j["cache"]["hits"], j["cache"]["misses"])')
	http GET /metrics
	want=$(printf '%s\n' "$BODY" | awk -F'[ ]' '/^catalog_cache_requests_total\{result="hit"\}/ { h = $2 }
	    /^catalog_cache_requests_total\{result="miss"\}/ { m = $2 } END { print "(" h ", " m ")" }')
	expect_eq "cache = /metrics" "$got" "$want"
}
it_case "admin stats: counts equal the tables, 60 minutes of throughput, cache = /metrics" t_aj_stats
