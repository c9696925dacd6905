# 50-ops-docs.sh: the documentation says what the code does: every key of
# common/conf.c's table is in docs/CONFIGURATION.md, catalog.conf(5) and
# the config example, with its range; the man pages render cleanly.

# ops_conf_table: "key kind lo hi" per row of conf.c's conf_keys[] (U rows
# carry their bounds; S rows print "- -").  Rows may span lines.
ops_conf_table() {
	sed -n '/^static const struct conf_key conf_keys\[\] = {/,/^};/p' \
	    "$top_srcdir/common/conf.c" | tr '\n\t' '  ' |
	    grep -oE '[US]\("[a-z_]+\.[a-z_]+",[^)]*\)' |
	    sed -E 's/^U\("([^"]+)", *[a-z_]+, *([0-9]+), *([0-9]+)\)$/\1 U \2 \3/;
	        s/^S\("([^"]+)".*/\1 S - -/'
}

t_ops_keys_documented() {
	local key kind lo hi n=0 missing="" doc="$top_srcdir/docs/CONFIGURATION.md"
	local man="$top_srcdir/man/catalog.conf.5" ex="$top_srcdir/dist/catalog.conf.example"
	while read -r key kind lo hi; do
		n=$((n + 1))
		# a table row of its own in CONFIGURATION.md
		grep -q "^| \`$key\` |" "$doc" || missing="$missing CONFIGURATION.md:$key"
		# an .It entry in the man page
		grep -q "^\.It Cm $key\( \|$\)" "$man" || missing="$missing catalog.conf.5:$key"
		grep -q "^#$key =" "$ex" || missing="$missing catalog.conf.example:$key"
		if [ "$kind" = U ]; then
			grep "^| \`$key\` |" "$doc" | grep -q "$lo\.\.$hi" ||
			    missing="$missing CONFIGURATION.md:$key:range=$lo..$hi"
			# the range within the key's entry (up to the next .It)
			awk -v k="$key" '$0 ~ "^\\.It Cm " k "( |$)" { on = 1; next }
			    on && /^\.(It|El)/ { exit } on' "$man" |
			    grep -q "$lo\.\.$hi" ||
			    missing="$missing catalog.conf.5:$key:range=$lo..$hi"
		fi
	done < <(ops_conf_table)
	[ "$n" -ge 20 ] || fail "parsed only $n keys from common/conf.c"
	[ -z "$missing" ] || fail "undocumented:$missing"
	# and nothing documented that the code does not have
	for key in $(grep -oE '^\| `[a-z_]+\.[a-z_]+` \|' "$doc" | tr -d '|` '); do
		ops_conf_table | grep -q "^$key " || fail "CONFIGURATION.md documents unknown key $key"
	done
}
it_case "every key of common/conf.c is in CONFIGURATION.md, catalog.conf(5) and the example, with its range" t_ops_keys_documented

# Integer defaults: conf_defaults() assigns `c->field = N;`; the key's row
# in CONFIGURATION.md must show `N` as its default, and the example
# `#key = N`.
t_ops_defaults_documented() {
	local key field value bad="" doc="$top_srcdir/docs/CONFIGURATION.md"
	local ex="$top_srcdir/dist/catalog.conf.example"
	while read -r field value; do
		key=$(sed -n '/^static const struct conf_key conf_keys/,/^};/p' \
		    "$top_srcdir/common/conf.c" | tr '\n\t' '  ' |
		    grep -oE "U\(\"[a-z_.]+\", *$field," | sed -E 's/U\("([^"]+)".*/\1/')
		[ -n "$key" ] || continue
		grep "^| \`$key\` |" "$doc" | awk -F'|' '{ print $4 }' |
		    grep -q "\`$value\`" || bad="$bad CONFIGURATION.md:$key=$value"
		grep -q "^#$key = $value\$" "$ex" || bad="$bad example:$key=$value"
	done < <(sed -n '/^conf_defaults(/,/^}/p' "$top_srcdir/common/conf.c" |
	    sed -nE 's/^[[:space:]]*c->([a-z_]+) = ([0-9]+);.*/\1 \2/p')
	[ -z "$bad" ] || fail "defaults differ from conf_defaults():$bad"
}
it_case "integer defaults in CONFIGURATION.md and the example match conf_defaults()" t_ops_defaults_documented

# man -l (man-db + groff, with groff's warnings on) must print nothing on
# stderr; mandoc -T lint, when installed, must find no warning or error.
# mandoc is not a build or test dependency (scripts/deps does not install
# it), so its absence only skips that half.
t_ops_man_render() {
	local page out
	command -v man >/dev/null || fail "man not installed (scripts/deps installs man-db)"
	for page in catalog-fcgi.8 job-runner.8 catalog.conf.5; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 \
		    -l "$top_srcdir/man/$page" 2>&1 >/dev/null) ||
		    fail "man -l $page failed: $out"
		[ -z "$out" ] || fail "man -l $page: $out"
		LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$top_srcdir/man/$page" 2>/dev/null |
		    grep -q 'SYNOPSIS\|DESCRIPTION' || fail "man -l $page rendered no sections"
		if command -v mandoc >/dev/null; then
			out=$(mandoc -T lint -W warning "$top_srcdir/man/$page" 2>&1) ||
			    fail "mandoc -T lint $page: $out"
		fi
	done
	command -v mandoc >/dev/null || echo "# mandoc not installed: lint not run"
}
it_case "man -l renders each man page without warnings" t_ops_man_render

# The docs link each other and the README links them.
t_ops_readme_links() {
	local f
	for f in API CONFIGURATION DEPLOYMENT JOBS OPERATIONS; do
		grep -q "(docs/$f.md)" "$top_srcdir/README.md" || fail "README.md does not link docs/$f.md"
	done
}
it_case "README.md links every document in docs/" t_ops_readme_links
