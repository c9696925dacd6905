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
# stderr, and mandoc -T lint must find no warning or error (both from
# scripts/deps).  Known slips stay fixed: an option glued to the "-" of
# standard input, a reference to a page Debian does not have, the wrong
# default path.
t_ops_man_render() {
	local page out
	command -v man >/dev/null || fail "man not installed (scripts/deps installs man-db)"
	command -v mandoc >/dev/null || fail "mandoc not installed (scripts/deps installs it)"
	for page in catalog-fcgi.8 job-runner.8 catalog.conf.5; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 \
		    -l "$top_srcdir/man/$page" 2>&1 >/dev/null) ||
		    fail "man -l $page failed: $out"
		[ -z "$out" ] || fail "man -l $page: $out"
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$top_srcdir/man/$page" 2>/dev/null)
		grep -q 'SYNOPSIS\|DESCRIPTION' <<<"$out" || fail "man -l $page rendered no sections"
		! grep -n -- '-\[' <<<"$out" || fail "$page renders an option glued to '-'"
		out=$(mandoc -T lint -W warning "$top_srcdir/man/$page" 2>&1) ||
		    fail "mandoc -T lint $page: $out"
		[ -z "$out" ] || fail "mandoc -T lint $page: $out"
	done
	! grep -n 'Xr sysexits 3\|/etc/catalog\.conf\b' "$top_srcdir"/man/*.[58] ||
	    fail "a man page names sysexits(3) or /etc/catalog.conf"
}
it_case "man -l and mandoc -T lint: each man page renders without warnings" t_ops_man_render

# The docs link each other and the README links them.
t_ops_readme_links() {
	local f
	for f in API CONFIGURATION DEPLOYMENT JOBS OPERATIONS; do
		grep -q "(docs/$f.md)" "$top_srcdir/README.md" || fail "README.md does not link docs/$f.md"
	done
}
it_case "README.md links every document in docs/" t_ops_readme_links

# The queue's recording and alerting rules in docs/OPERATIONS.md (the
# yaml block that starts "# catalog-queue.rules.yml") are valid, and do
# what the page says with two app hosts exporting the same database-wide
# gauges (counted once: max, not sum) and two runner hosts, one of which
# stops.
t_ops_alert_rules() {
	local d out
	command -v promtool >/dev/null || fail "promtool not installed (scripts/deps installs prometheus)"
	d=$(mktemp -d) || fail mktemp
	it_defer "rm -rf '$d'"
	awk '/^# catalog-queue.rules.yml$/ { on = 1 } on && /^```$/ { exit } on' \
	    "$top_srcdir/docs/OPERATIONS.md" >"$d/rules.yml"
	grep -q 'alert: CatalogQueueStalled' "$d/rules.yml" ||
	    fail "no rules block found in docs/OPERATIONS.md"
	out=$(promtool check rules "$d/rules.yml" 2>&1) || fail "promtool check rules: $out"
	cat >"$d/test.yml" <<'YAML'
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'catalog_dead_letters{instance="app1:80",job="catalog"}'
        values: '2x15 3x15'
      - series: 'catalog_dead_letters{instance="app2:80",job="catalog"}'
        values: '2x15 3x15'
      - series: 'catalog_jobs_oldest_due_age_seconds{instance="app1:80",job="catalog"}'
        values: '0x5 400x25'
      - series: 'catalog_jobs_oldest_due_age_seconds{instance="app2:80",job="catalog"}'
        values: '0x5 400x25'
      - series: 'catalog_jobs{instance="app1:80",job="catalog",status="pending"}'
        values: '5x30'
      - series: 'catalog_jobs{instance="app2:80",job="catalog",status="pending"}'
        values: '5x30'
      - series: 'job_runner_jobs_done_total{instance="run1:9100",job="node"}'
        values: '10x30'
      - series: 'job_runner_jobs_done_total{instance="run2:9100",job="node"}'
        values: '7x30'
      - series: 'job_runner_last_run_timestamp_seconds{instance="run1:9100",job="node"}'
        values: '0+60x30'
      - series: 'job_runner_last_run_timestamp_seconds{instance="run2:9100",job="node"}'
        values: '0+60x5 300x25'
    promql_expr_test:
      - expr: catalog:dead_letters:max
        eval_time: 5m
        exp_samples:
          - labels: 'catalog:dead_letters:max{job="catalog"}'
            value: 2
      - expr: catalog:jobs:max
        eval_time: 5m
        exp_samples:
          - labels: 'catalog:jobs:max{job="catalog",status="pending"}'
            value: 5
    alert_rule_test:
      - eval_time: 5m
        alertname: CatalogQueueOldestDueAge
      - eval_time: 10m
        alertname: CatalogQueueOldestDueAge
        exp_alerts:
          - exp_labels: {job: catalog, severity: page}
            exp_annotations: {summary: 'the oldest due job has waited 6m 40s'}
      - eval_time: 10m
        alertname: CatalogQueueStalled
        exp_alerts:
          - exp_labels: {job: catalog, status: pending, severity: page}
            exp_annotations: {summary: 'jobs pending, none done anywhere for 10 minutes'}
      - eval_time: 6m
        alertname: CatalogRunnerNotRunning
      - eval_time: 10m
        alertname: CatalogRunnerNotRunning
        exp_alerts:
          - exp_labels: {instance: 'run2:9100', job: node, severity: ticket}
            exp_annotations: {summary: 'job-runner on run2:9100 has not run for 2 minutes'}
      - eval_time: 10m
        alertname: CatalogDeadLettersGrowing
      - eval_time: 20m
        alertname: CatalogDeadLettersGrowing
        exp_alerts:
          - exp_labels: {job: catalog, severity: ticket}
            exp_annotations: {summary: '3 dead letters, more than 15 minutes ago'}
YAML
	out=$(cd "$d" && promtool test rules test.yml 2>&1) || fail "promtool test rules: $out"
}
it_case "the queue alerts in docs/OPERATIONS.md pass promtool check and test rules (2 app hosts, 2 runners)" t_ops_alert_rules
