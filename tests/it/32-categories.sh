# 32-categories.sh: category writes through nginx (POST /api/categories,
# GET/PATCH/DELETE /api/categories/{slug}): the bad-input table (nothing
# changes), tokens, 404/409, and freshness: once a write is answered the
# list, the category and its product lists show it, also when they were
# cached just before.  Slugs carry the run's number: the stack may be reused.

CAT_J='Content-Type: application/json'
CAT_RUN=$$$RANDOM

cat_auth() { echo "Authorization: Bearer $CATALOG_ADMIN_TOKEN"; }

# cat_post SLUG NAME: POST /api/categories.
cat_post() {
	http POST /api/categories -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"slug\":\"$1\",\"name\":\"$2\"}"
}

# cat_in_list SLUG: the category's name in GET /api/categories, or "-".
cat_in_list() {
	http GET /api/categories
	expect_eq "list status" "$STATUS" 200
	json "([c['name'] for c in j['items'] if c['slug'] == '$1'] + ['-'])[0]"
}

# What the categories table holds, to prove a refused write changed nothing.
cat_table() {
	sql "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT(slug, '|', name))), 0)
	    FROM categories"
}

t_cat_create() {
	local s=c-$CAT_RUN-a body
	http GET "/api/categories/$s"
	expect_eq "before" "$STATUS" 404
	cat_in_list "$s" >/dev/null
	http GET /api/categories
	expect_eq "list cached" "$(header x-cache)" HIT
	cat_post "$s" "Garden & Patio é"
	expect_eq status "$STATUS" 201
	expect_eq location "$(header location)" "/api/categories/$s"
	expect_eq type "$(header content-type)" application/json
	body=$BODY
	expect_eq body "$body" "{\"slug\":\"$s\",\"name\":\"Garden & Patio é\",\"product_count\":0}"
	http GET "/api/categories/$s"
	expect_eq "GET status" "$STATUS" 200
	expect_eq "GET shows the same" "$BODY" "$body"
	expect_eq "in the list at once" "$(cat_in_list "$s")" "Garden & Patio é"
	http GET "/api/products?category=$s"
	expect_eq "its product list" "$STATUS" 200
	expect_eq "empty" "$(json 'j["total"]')" 0
	cat_post "$s" "Again"
	expect_eq "duplicate slug" "$STATUS" 409
	expect_eq "duplicate is a problem" "$(header content-type)" application/problem+json
	expect_eq "name kept" "$(cat_in_list "$s")" "Garden & Patio é"
}
it_case "categories: create is 201 + Location, in the list at once; duplicate 409" t_cat_create

# STATUS|BODY for POST /api/categories (printf formats: \xff is a byte).
CAT_BAD=(
	'400|{"slug":"x-1","name":"n"'
	'400|[]'
	'400|"x"'
	'400|{"slug":"x-1","name":"n"} x'
	'400|{"slug":5,"name":"n"}'
	'400|{"slug":"x-1","name":true}'
	'400|{"slug":"x-1","name":null}'
	'400|{"slug":"x-1","name":["n"]}'
	'400|{"slug":"x-1","name":{"a":1}}'
	'400|{"name":"n"}'
	'400|{"slug":"x-1"}'
	'400|{}'
	'400|{"slug":"x-1","name":"n","product_count":0}'
	'400|{"slug":"x-1","name":"n","Slug":"x-2"}'
	'400|{"slug":"SLUG65","name":"n"}'
	'400|{"slug":"","name":"n"}'
	'400|{"slug":"Tools","name":"n"}'
	'400|{"slug":"caf\xc3\xa9","name":"n"}'
	'400|{"slug":"caf\\u00e9","name":"n"}'
	'400|{"slug":"a b","name":"n"}'
	'400|{"slug":"a_b","name":"n"}'
	'400|{"slug":"-ab","name":"n"}'
	'400|{"slug":"ab-","name":"n"}'
	'400|{"slug":"a/b","name":"n"}'
	'400|{"slug":"a\\u0000b","name":"n"}'
	'400|{"slug":"x-1","name":""}'
	'400|{"slug":"x-1","name":"NAME101"}'
	'400|{"slug":"x-1","name":"WIDE101"}'
	'400|{"slug":"x-1","name":"a\\u0000b"}'
	'400|{"slug":"x-1","name":"a\x00b"}'
	'400|{"slug":"x-1","name":"a\\u0001b"}'
	'400|{"slug":"x-1","name":"a\\ud800b"}'
	'400|{"slug":"x-1","name":"a\\udc00"}'
	'400|{"slug":"x-1","name":"\\ud83d\\u0041"}'
	'400|{"slug":"x-1","name":"a\\nb"}'
	'400|{"slug":"x-1","name":"a\xffb"}'
)

# cat_bad_table METHOD PATH ROWS...: each row's body must answer its status
# as a problem; prints the rows that did not (the caller fails).
cat_bad_table() {
	local method=$1 path=$2 row want spec file bad=0
	shift 2
	file=$(mktemp)
	for row in "$@"; do
		want=${row%%|*}
		spec=${row#*|}
		spec=${spec//x-1/c-$CAT_RUN-bad}
		spec=${spec//SLUG65/$(printf '%.0ss' $(seq 1 65))}
		spec=${spec//NAME101/$(printf '%.0sn' $(seq 1 101))}
		spec=${spec//WIDE101/$(printf '%.0s\\xc3\\xa9' $(seq 1 101))}
		printf "$spec" >"$file"
		http "$method" "$path" -H "$(cat_auth)" -H "$CAT_J" \
		    --data-binary "@$file"
		if [ "$STATUS" != "$want" ] ||
		    [ "$(header content-type)" != application/problem+json ]; then
			echo "row ${row:0:80}: got $STATUS ${BODY:0:120}"
			bad=1
		fi
	done
	rm -f "$file"
	return $bad
}

t_cat_create_bad() {
	local before bad=0 h
	before=$(cat_table)
	cat_bad_table POST /api/categories "${CAT_BAD[@]}" || bad=1
	for h in 'Content-Type: text/plain' 'Content-Type: application/x-www-form-urlencoded' \
	    'Content-Type: application/jsonx'; do
		http POST /api/categories -H "$(cat_auth)" -H "$h" \
		    --data-binary "{\"slug\":\"c-$CAT_RUN-ct\",\"name\":\"n\"}"
		[ "$STATUS" = 415 ] || { echo "$h: got $STATUS, want 415"; bad=1; }
	done
	expect_eq "nothing created" "$(cat_table)" "$before"
	[ "$bad" = 0 ] || fail "bad category bodies answered wrongly (above)"
}
it_case "categories: every bad POST body is a 4xx problem (table), nothing created" t_cat_create_bad

t_cat_bounds() {
	local s64 n100 w100 e100
	s64=$(printf 'c%s%s' "$CAT_RUN" "$(printf '%.0s9' $(seq 1 64))" | cut -c1-64)
	n100=$(printf '%.0sn' $(seq 1 100))
	w100=$(printf '%.0sé' $(seq 1 100))
	e100=$(printf '%.0s😀' $(seq 1 100))
	cat_post "$s64" "$n100"
	expect_eq "64-char slug, 100-char name" "$STATUS" 201
	expect_eq "location" "$(header location)" "/api/categories/$s64"
	http PATCH "/api/categories/$s64" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"name\":\"$w100\"}"
	expect_eq "100 two-byte characters" "$STATUS" 200
	expect_eq "stored as sent" "$(json 'j["name"]')" "$w100"
	http PATCH "/api/categories/$s64" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"name\":\"$e100\"}"
	expect_eq "100 four-byte characters" "$STATUS" 200
	http GET "/api/categories/$s64"
	expect_eq "read back" "$(json 'j["name"]')" "$e100"
	# the same characters as surrogate-pair escapes
	http PATCH "/api/categories/$s64" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"name\":\"$(printf '%.0s\\ud83d\\ude00' $(seq 1 100))\"}"
	expect_eq "100 escaped pairs" "$STATUS" 200
	expect_eq "decoded as sent" "$(json 'j["name"]')" "$e100"
	http DELETE "/api/categories/$s64" -H "$(cat_auth)"
	expect_eq cleanup "$STATUS" 204
}
it_case "categories: 64-char slug, 100 characters of 1, 2 and 4 bytes are accepted" t_cat_bounds

t_cat_patch() {
	local s=c-$CAT_RUN-p before
	cat_post "$s" "Before"
	expect_eq created "$STATUS" 201
	http GET "/api/categories/$s"; http GET "/api/categories/$s"
	expect_eq "category cached" "$(header x-cache)" HIT
	cat_in_list "$s" >/dev/null
	http PATCH "/api/categories/$s" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary '{"name":"After ü"}'
	expect_eq status "$STATUS" 200
	expect_eq answer "$BODY" "{\"slug\":\"$s\",\"name\":\"After ü\",\"product_count\":0}"
	http GET "/api/categories/$s"
	expect_eq "GET sees it" "$(json 'j["name"]')" "After ü"
	expect_eq "list sees it" "$(cat_in_list "$s")" "After ü"
	before=$(cat_table)
	cat_bad_table PATCH "/api/categories/$s" \
	    '400|{}' '400|{"slug":"other"}' '400|{"name":"n","slug":"x"}' \
	    '400|{"name":""}' '400|{"name":5}' '400|{"name":"NAME101"}' \
	    '400|{"name":"WIDE101"}' '400|{"name":"a\\u0000b"}' '400|{"name":"a\x00b"}' \
	    '400|{"name":"x"' '400|[]' ||
	    fail "bad PATCH bodies answered wrongly (above)"
	http PATCH "/api/categories/$s" -H "$(cat_auth)" -H 'Content-Type: text/plain' \
	    --data-binary '{"name":"x"}'
	expect_eq "not JSON" "$STATUS" 415
	expect_eq "nothing changed" "$(cat_table)" "$before"
	http PATCH "/api/categories/no-such-$CAT_RUN" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary '{"name":"x"}'
	expect_eq "unknown slug" "$STATUS" 404
	expect_eq "unknown slug problem" "$(json 'j["detail"]')" "no such category"
}
it_case "categories: rename is 200 and visible at once; bad bodies 400, 415; unknown 404" t_cat_patch

# The writing host's own reads see a rename at once, not one poll later:
# each round warms the category and the list, renames, and reads both back
# on the same connection a few ms after the 200 (the poller, every 100 ms,
# would rarely land in that gap, and never 20 times).
t_cat_rename_rounds() {
	local s=c-$CAT_RUN-r i out stale=0 rounds=20
	cat_post "$s" "R0"
	expect_eq created "$STATUS" 201
	for i in $(seq 1 $rounds); do
		out=$(curl -s --max-time 10 -o /dev/null "$CATALOG_URL/api/categories/$s" \
		    --next -s -o /dev/null "$CATALOG_URL/api/categories" \
		    --next -s --max-time 10 -X PATCH -H "$(cat_auth)" -H "$CAT_J" \
		    --data-binary "{\"name\":\"R$i\"}" -w '%{http_code}\n' -o /dev/null \
		    "$CATALOG_URL/api/categories/$s" \
		    --next -s -w '\n' "$CATALOG_URL/api/categories/$s" \
		    --next -s -w '\n' "$CATALOG_URL/api/categories")
		# three lines: the status, the category, the list
		if [ "$(printf '%s\n' "$out" | head -1)" != 200 ] ||
		    [ "$(printf '%s\n' "$out" | grep -o "\"slug\":\"$s\",\"name\":\"R$i\"" | wc -l)" != 2 ]; then
			stale=$((stale + 1))
			[ $stale -le 3 ] && echo "# round $i: ${out:0:300}"
		fi
	done
	expect_eq "stale reads in $rounds rounds" "$stale" 0
	http DELETE "/api/categories/$s" -H "$(cat_auth)"
	expect_eq deleted "$STATUS" 204
}
it_case "categories: a rename is visible at once on the writing host, category and list (20 rounds)" t_cat_rename_rounds

# Product writes change the category's product_count, cached or not, and
# a rename does not change its products (they show the slug only).
t_cat_counts() {
	local s=c-$CAT_RUN-n other id before
	other=$(sql "SELECT slug FROM categories ORDER BY id LIMIT 1")
	cat_post "$s" "Counted"
	http GET "/api/categories/$s"; http GET "/api/categories/$s"
	expect_eq "cached" "$(header x-cache)" HIT
	http POST /api/products -H "$(cat_auth)" -H "$CAT_J" --data-binary \
	    "{\"sku\":\"C-$CAT_RUN-n\",\"name\":\"In it\",\"category\":\"$s\",\"price_cents\":5,\"stock\":1}"
	expect_eq "product created" "$STATUS" 201
	id=$(json 'j["id"]')
	http GET "/api/categories/$s"
	expect_eq "count after create" "$(json 'j["product_count"]')" 1
	http GET "/api/products/$id"; http GET "/api/products/$id"
	before=$BODY
	http PATCH "/api/categories/$s" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary '{"name":"Renamed"}'
	expect_eq "rename" "$(json '(j["name"], j["product_count"])')" "('Renamed', 1)"
	http GET "/api/products/$id"
	expect_eq "product unchanged by a rename" "$BODY" "$before"
	http DELETE "/api/categories/$s" -H "$(cat_auth)"
	expect_eq "delete non-empty" "$STATUS" 409
	expect_eq "problem" "$(json 'j["detail"]')" "the category still has products; move or delete them first"
	http GET "/api/categories/$s"
	expect_eq "still there" "$(json 'j["product_count"]')" 1
	http PATCH "/api/products/$id" -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"category\":\"$other\"}"
	expect_eq "moved out" "$STATUS" 200
	http GET "/api/categories/$s"
	expect_eq "count after the move" "$(json 'j["product_count"]')" 0
	http DELETE "/api/categories/$s" -H "$(cat_auth)"
	expect_eq "delete empty" "$STATUS" 204
	http DELETE "/api/products/$id" -H "$(cat_auth)"
	expect_eq "product cleanup" "$STATUS" 204
}
it_case "categories: product writes move product_count at once; delete while non-empty 409" t_cat_counts

t_cat_delete() {
	local s=c-$CAT_RUN-d
	cat_post "$s" "Doomed"
	http GET "/api/categories/$s"; http GET "/api/categories/$s"
	http GET "/api/products?category=$s"; http GET "/api/products?category=$s"
	expect_eq "list cached" "$(header x-cache)" HIT
	cat_in_list "$s" >/dev/null
	http DELETE "/api/categories/$s" -H "$(cat_auth)"
	expect_eq status "$STATUS" 204
	[ -z "$BODY" ] || fail "204 with a body"
	http GET "/api/categories/$s"
	expect_eq "GET after" "$STATUS" 404
	http GET "/api/products?category=$s"
	expect_eq "its product list after" "$STATUS" 404
	expect_eq "gone from the list" "$(cat_in_list "$s")" -
	http DELETE "/api/categories/$s" -H "$(cat_auth)"
	expect_eq "second delete" "$STATUS" 404
	http GET "/api/categories/NoSuch"
	expect_eq "not a slug" "$STATUS" 404
	http GET "/api/categories/$(printf '%.0sa' $(seq 1 65))"
	expect_eq "slug too long" "$STATUS" 404
	http PUT "/api/categories/$s"
	expect_eq "PUT" "$STATUS" 405
	expect_eq "Allow" "$(header allow)" "GET, HEAD, PATCH, DELETE"
}
it_case "categories: delete is 204, then 404 everywhere; bad path slugs 404; PUT 405" t_cat_delete

t_cat_401() {
	local h m before
	before=$(cat_table)
	for h in "" "Authorization: Bearer wrong" \
	    "Authorization: Bearer ${CATALOG_ADMIN_TOKEN}x" \
	    "Authorization: Basic $CATALOG_ADMIN_TOKEN"; do
		for m in "POST /api/categories" "PATCH /api/categories/lighting" \
		    "DELETE /api/categories/lighting"; do
			http "${m%% *}" "${m#* }" ${h:+-H "$h"} -H "$CAT_J" \
			    --data-binary "{\"slug\":\"c-$CAT_RUN-t\",\"name\":\"x\"}"
			if [ "$STATUS" != 401 ] ||
			    [ "$(header www-authenticate | cut -d' ' -f1)" != Bearer ]; then
				fail "$m with '${h:0:30}': $STATUS"
			fi
		done
	done
	expect_eq "nothing changed" "$(cat_table)" "$before"
}
it_case "categories: writes without or with a wrong token are 401, nothing changes" t_cat_401

# A product created into a category while the category is deleted: the
# database decides, so exactly one of them wins, every round.
cat_race_round() {
	local s=$1 i=$2 dir p d
	dir=$(mktemp -d)
	curl -s -o /dev/null -w '%{http_code}' -X POST -H "$(cat_auth)" -H "$CAT_J" \
	    --data-binary "{\"sku\":\"R-$CAT_RUN-$i\",\"name\":\"r\",\"category\":\"$s\",\"price_cents\":1,\"stock\":1}" \
	    "$CATALOG_URL/api/products" >"$dir/p" &
	curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$(cat_auth)" \
	    "$CATALOG_URL/api/categories/$s" >"$dir/d"
	wait
	p=$(cat "$dir/p") d=$(cat "$dir/d")
	rm -rf "$dir"
	echo "$p,$d"
}
t_cat_delete_race() {
	local i s r bad=0 won_p=0 won_d=0
	for i in $(seq 1 15); do
		s=c-$CAT_RUN-r$i
		cat_post "$s" "Race $i"
		expect_eq "round $i created" "$STATUS" 201
		r=$(cat_race_round "$s" "$i")
		case $r in
		201,409) won_p=$((won_p + 1)) ;;
		422,204) won_d=$((won_d + 1)) ;;
		*) echo "round $i: product,delete = $r"; bad=1 ;;
		esac
	done
	echo "# product first: $won_p rounds, delete first: $won_d rounds"
	[ "$bad" = 0 ] || fail "not exactly one of product and deletion won"
	expect_eq "no product without its category" "$(sql "SELECT COUNT(*)
	    FROM products p LEFT JOIN categories c ON c.id = p.category_id
	    WHERE c.id IS NULL")" 0
}
it_case "categories: create-product vs delete-category race: exactly one wins (15 rounds)" t_cat_delete_race
