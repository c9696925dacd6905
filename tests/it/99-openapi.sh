# 99-openapi.sh: docs/openapi.yaml holds true both ways.  Runs last: every
# answer the cases before received through `http` (recorded by
# tests/lib/openapi.sh) must be one the description allows, and every route
# and status the description lists must have been exercised by some case
# (or carry an x-untested-reason).  tests/lib/openapi-check.py does the
# checking; its reports, the coverage list among them, are printed (as TAP
# comments) pass or fail.

OA_REPORT="$FIX_DIR/openapi-report"

# oa_check MODE [ARGS]: the checker over this run's answers; its report
# goes to OA_REPORT, and to the case's output when it fails.
oa_check() {
	local rc=0
	[ -s "$FIX_DIR/openapi-answers.tsv" ] || fail "no answers were recorded"
	"${PYTHON3:-python3}" "$top_srcdir/tests/lib/openapi-check.py" \
	    "$top_srcdir/docs/openapi.yaml" "$FIX_DIR/openapi-answers.tsv" \
	    "$@" >"$OA_REPORT.$1" 2>&1 || rc=$?
	[ $rc = 0 ] || cat "$OA_REPORT.$1"
	return $rc
}

t_oa_answers_conform() {
	oa_check validate
}
it_case "every answer the suite received is allowed by docs/openapi.yaml" t_oa_answers_conform

t_oa_coverage() {
	# a subset run (IT_ONLY) cannot cover everything: report only
	case ${IT_ONLY:-*} in
	'*') oa_check coverage ;;
	*) oa_check coverage --report-only ;;
	esac
}
it_case "every route and status in docs/openapi.yaml was exercised" t_oa_coverage
cat "$OA_REPORT.validate" "$OA_REPORT.coverage" 2>/dev/null | sed 's/^/# /'
rm -f "$OA_REPORT.validate" "$OA_REPORT.coverage"
