# 33-empty-catalog.sh: a fresh install is filled through HTTP alone.  A
# second private stack starts with no seed at all (scripts/stack up
# --products 0: no categories, no products), and the admin API creates the
# categories, then the products; the public reads and an order then work on
# what was created.  The stack is stopped and removed however the case ends.

EMPTY_J='Content-Type: application/json'

t_empty_fill_over_http() {
	local dir port auth slug n id
	dir=$(mktemp -d "${CATALOG_TEST_TMPDIR:-/tmp}/catalog-empty.XXXXXX") ||
	    fail "mktemp"
	it_defer "'$top_srcdir/scripts/stack' down --dir '$dir' >/dev/null 2>&1; rm -rf '$dir' '$dir.up.log'"
	port=$(fixture_free_port) || fail "no free port"
	FIX_DB_PORT=$(fixture_free_port) || fail "no free port"
	fixture_stack up --dir "$dir" --port "$port" --no-runner --products 0 \
	    >"$dir.up.log" 2>&1 || fail "stack up --products 0: $(tail -n 5 "$dir.up.log")"
	# this case talks to the new stack only
	. "$dir/env"
	auth="Authorization: Bearer $CATALOG_ADMIN_TOKEN"
	expect_eq "no categories in the database" \
	    "$(mariadb -uroot --socket="$MYSQL_UNIX_PORT" -N "$MYSQL_DATABASE" \
	    -e 'SELECT (SELECT COUNT(*) FROM categories) + (SELECT COUNT(*) FROM products)')" 0
	http GET /api/categories
	expect_eq "empty list" "$BODY" '{"items":[]}'
	http POST /api/products -H "$auth" -H "$EMPTY_J" --data-binary \
	    '{"sku":"E-0","name":"Nowhere","category":"tools","price_cents":1,"stock":1}'
	expect_eq "a product before its category" "$STATUS" 422
	for slug in tools garden; do
		http POST /api/categories -H "$auth" -H "$EMPTY_J" \
		    --data-binary "{\"slug\":\"$slug\",\"name\":\"${slug^}\"}"
		expect_eq "category $slug" "$STATUS" 201
	done
	for n in 1 2 3; do
		http POST /api/products -H "$auth" -H "$EMPTY_J" --data-binary \
		    "{\"sku\":\"E-$n\",\"name\":\"Item $n\",\"category\":\"tools\",\"price_cents\":$((n * 100)),\"stock\":5}"
		expect_eq "product $n" "$STATUS" 201
	done
	id=$(json 'j["id"]')
	http GET /api/categories
	expect_eq "the list" "$(json '[(c["slug"], c["product_count"]) for c in j["items"]]')" \
	    "[('garden', 0), ('tools', 3)]"
	http GET "/api/products?category=tools&sort=-price"
	expect_eq "the products" "$(json '[p["sku"] for p in j["items"]]')" \
	    "['E-3', 'E-2', 'E-1']"
	http POST /api/orders -H "$EMPTY_J" --data-binary \
	    "{\"email\":\"first@example.com\",\"items\":[{\"product_id\":$id,\"quantity\":2}]}"
	expect_eq "an order" "$STATUS" 201
	expect_eq "its total" "$(json 'j["total_cents"]')" 600
	http DELETE /api/categories/garden -H "$auth"
	expect_eq "an unused category removed" "$STATUS" 204
}
it_case "a fresh install (no seed) is filled through HTTP alone: categories, products, an order" t_empty_fill_over_http
