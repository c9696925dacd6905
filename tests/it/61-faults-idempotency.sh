# 61-faults-idempotency.sh: one Idempotency-Key never yields two orders,
# whatever happens to the request's database link.
#
# The key is held by a named lock (GET_LOCK) on one link; db.c replaces a
# dead link and db_tx reruns an order on the new one, so a request can go on
# without its lock while a client retry with the same key takes the key over.
# The key row's owner_token fences that (idempotency.h).  Each case kills
# the first request's link at one step -- waiting to insert the key row,
# waiting for a product's row lock inside the order, waiting to record the
# answer, or idle between requests -- while a retry with the same key runs,
# then checks: exactly one order for the key, every answer 201, 409 or 503,
# and one more retry replays that very order.  A session of the test holds
# the row lock the request waits on, so each step is reached for sure.
# shellcheck source=../lib/faults.sh
. "$top_srcdir/tests/lib/faults.sh"

FI_J='Content-Type: application/json'
FI_PRODUCT=24

sql "UPDATE products SET stock = 100000 WHERE id = $FI_PRODUCT" >/dev/null

# fi_post KEY EMAIL OUT: posts the order with KEY in the background; OUT
# gets "STATUS BODY".  Sets FI_PID.
fi_post() {
	(
		b=$(curl -s -w '\n%{http_code}' --max-time 30 -X POST -H "$FI_J" \
		    -H "Idempotency-Key: $1" --data-binary \
		    "{\"email\":\"$2\",\"items\":[{\"product_id\":$FI_PRODUCT,\"quantity\":1}]}" \
		    "$CATALOG_URL/api/orders")
		printf '%s %s\n' "${b##*$'\n'}" "${b%$'\n'*}" >"$3"
	) &
	FI_PID=$!
}

# fi_hold NAME SQL...: an administrator session runs SQL (which takes a row
# lock) and then sleeps up to 30 s holding it; FI_HOLD_<NAME> is its
# connection id once it holds the lock.  fi_release ends it, at the latest
# when the case ends.
fi_hold() {
	local name=$1 conn _
	shift
	mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N -B "$MYSQL_DATABASE" -e \
	    "START TRANSACTION; $*; SELECT SLEEP(30) AS fi_hold_$name; ROLLBACK;" \
	    >/dev/null 2>&1 &
	for _ in $(seq 1 100); do
		conn=$(sql "SELECT id FROM information_schema.processlist
		  WHERE info LIKE '%fi_hold_$name%' AND id <> CONNECTION_ID()")
		if [ -n "$conn" ]; then
			eval "FI_HOLD_$name=$conn"
			it_defer "fi_release $name"
			return 0
		fi
		sleep 0.05
	done
	fail "the test session $name did not take its lock"
}

# fi_release NAME: ends that session (its transaction rolls back).
fi_release() {
	local conn
	eval "conn=\$FI_HOLD_$1"
	[ -z "$conn" ] || sql_try "KILL $conn" 2>/dev/null	# gone after a release
	return 0
}

# fi_waiting PATTERN: the app's link whose statement matches PATTERN and
# waits (<= 5 s), printed; fails the case if none does.
fi_waiting() {
	local conn _
	for _ in $(seq 1 100); do
		conn=$(sql "SELECT id FROM information_schema.processlist
		  WHERE user = 'catalog' AND info LIKE '$1' LIMIT 1")
		[ -n "$conn" ] && { echo "$conn"; return 0; }
		sleep 0.05
	done
	fail "no request of the app waited on: $1"
}

# fi_check KEY EMAIL FILE...: one order for EMAIL; each answer in FILE is
# 201, 409 or 503 and a 201 names that order; one more post with KEY
# replays it.
fi_check() {
	local key=$1 email=$2 f id st n
	shift 2
	n=$(sql "SELECT COUNT(*) FROM orders WHERE email = '$email'")
	expect_eq "orders for the key" "$n" 1
	id=$(sql "SELECT id FROM orders WHERE email = '$email'")
	for f in "$@"; do
		st=$(cut -d' ' -f1 <"$f")
		case $st in
		201) grep -q "^201 {\"id\":$id," "$f" ||
			fail "a 201 names another order: $(cat "$f")" ;;
		409|503) ;;
		*) fail "answer $st: $(cat "$f")" ;;
		esac
	done
	http POST /api/orders -H "$FI_J" -H "Idempotency-Key: $key" --data-binary \
	    "{\"email\":\"$email\",\"items\":[{\"product_id\":$FI_PRODUCT,\"quantity\":1}]}"
	expect_eq "one more retry" "$STATUS $(json_try 'j["id"]' 2>/dev/null)" "201 $id"
	expect_eq "replayed" "$(header idempotent-replayed)" true
	expect_eq "one job for the order" "$(sql "SELECT COUNT(*) FROM jobs
	  WHERE idempotency_key = 'order-confirmation-$id'")" 1
	sql "DELETE FROM jobs WHERE idempotency_key = 'order-confirmation-$id';
	  DELETE FROM orders WHERE id = $id;
	  DELETE FROM idempotency_keys WHERE idem_key = '$key'"
}

FI_RUN=$$.$RANDOM

# 1. The first request waits to insert its key row (a test session inserted
# the same key and has not committed); its link is killed there.
t_fi_claim() {
	local key="fi-claim-$FI_RUN" email="fi-claim-$FI_RUN@example.com"
	local a="$FIX_DIR/fi1.a" b="$FIX_DIR/fi1.b" pa pb conn
	fi_hold claim "INSERT INTO idempotency_keys (idem_key, request_hash,
	  state, expires_at) VALUES ('$key', UNHEX(REPEAT('00', 32)),
	  'in_progress', NOW(6) + INTERVAL 1 HOUR)"
	fi_post "$key" "$email" "$a"; pa=$FI_PID
	conn=$(fi_waiting 'INSERT INTO idempotency_keys%')
	sql "KILL CONNECTION $conn"
	fi_post "$key" "$email" "$b"; pb=$FI_PID
	sleep 0.5
	fi_release claim
	wait "$pa" || fail "the first client exited $?"
	wait "$pb" || fail "the retrying client exited $?"
	fi_check "$key" "$email" "$a" "$b"
}
it_case "Idempotency-Key: link killed while inserting the key row, retry meanwhile: one order" t_fi_claim

# 2. The first request waits for the product's row lock inside its order
# transaction; its link is killed there, db_tx reruns the order on a new
# link (the named lock is gone with the old one), and a retry with the same
# key takes the key over and waits for the same row.  Both go on once the
# row is free: only the one that owns the key can record it.
t_fi_order() {
	local key="fi-order-$FI_RUN" email="fi-order-$FI_RUN@example.com"
	local a="$FIX_DIR/fi2.a" b="$FIX_DIR/fi2.b" pa pb conn
	fi_hold order "SELECT id FROM products WHERE id = $FI_PRODUCT FOR UPDATE"
	fi_post "$key" "$email" "$a"; pa=$FI_PID
	conn=$(fi_waiting '%FROM products%FOR UPDATE%')
	sql "KILL CONNECTION $conn"
	sleep 0.3
	fi_post "$key" "$email" "$b"; pb=$FI_PID
	sleep 0.5
	fi_release order
	wait "$pa" || fail "the first client exited $?"
	wait "$pb" || fail "the retrying client exited $?"
	fi_check "$key" "$email" "$a" "$b"
	grep -q 'event=idempotency_takeover' "$FIX_DIR/log/app.log" ||
	    fail "the retry never took the key over: the case did not reach its race"
}
it_case "Idempotency-Key: link killed inside the order, the order rerun while a retry takes the key over: one order" t_fi_order

# 3. The first request waits to record its answer (a test session holds the
# key row); its link is killed there and the order reruns; a retry takes
# the key over meanwhile.
t_fi_record() {
	local key="fi-record-$FI_RUN" email="fi-record-$FI_RUN@example.com"
	local a="$FIX_DIR/fi3.a" b="$FIX_DIR/fi3.b" pa pb conn _
	fi_hold rprod "SELECT id FROM products WHERE id = $FI_PRODUCT FOR UPDATE"
	fi_post "$key" "$email" "$a"; pa=$FI_PID
	fi_waiting '%FROM products%FOR UPDATE%' >/dev/null
	fi_hold rkey "SELECT idem_key FROM idempotency_keys WHERE idem_key = '$key' FOR UPDATE"
	fi_release rprod
	conn=$(fi_waiting 'UPDATE idempotency_keys SET state%')
	sql "KILL CONNECTION $conn"
	sleep 0.3
	fi_post "$key" "$email" "$b"; pb=$FI_PID
	sleep 0.5
	fi_release rkey
	wait "$pa" || fail "the first client exited $?"
	wait "$pb" || fail "the retrying client exited $?"
	fi_check "$key" "$email" "$a" "$b"
}
it_case "Idempotency-Key: link killed while recording the answer, retry meanwhile: one order" t_fi_record

# 4. Every link of the app killed while idle, then the request and its
# retry at once.
t_fi_idle() {
	local key="fi-idle-$FI_RUN" email="fi-idle-$FI_RUN@example.com"
	local a="$FIX_DIR/fi4.a" b="$FIX_DIR/fi4.b" pa pb c
	for c in $(sql "SELECT id FROM information_schema.processlist
	    WHERE user = 'catalog'"); do
		sql_try "KILL CONNECTION $c" 2>/dev/null	# may have ended
	done
	fi_post "$key" "$email" "$a"; pa=$FI_PID
	fi_post "$key" "$email" "$b"; pb=$FI_PID
	wait "$pa" || fail "the first client exited $?"
	wait "$pb" || fail "the retrying client exited $?"
	fi_check "$key" "$email" "$a" "$b"
}
it_case "Idempotency-Key: every link killed while idle, request and retry at once: one order" t_fi_idle
