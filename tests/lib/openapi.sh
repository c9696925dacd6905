# tests/lib/openapi.sh: records every answer the fixture's `http` helper
# receives, so tests/it/99-openapi.sh can check each one against
# docs/openapi.yaml (tests/lib/openapi-check.py) and list which routes and
# statuses the suite exercised.  Sourced by tests/lib/fixture.sh.
#
# One line per answer in $FIX_DIR/openapi-answers.tsv, tab-separated:
#   case number, case function, method, request target, then base64 of
#   the response header block(s), of the response body and of the request
#   body (empty when none was sent).
# Cases run in subshells, so a file (not a variable) collects the lines;
# no case calls `http` from two processes at once.

OPENAPI_ANSWERS=""

# openapi_record METHOD TARGET BODY_FILE HEADER_FILE [curl args...]
openapi_record() {
	local method=$1 target=$2 body=$3 hdrs=$4 sent="" fn case_fn=""
	[ -n "$FIX_DIR" ] && [ -d "$FIX_DIR" ] || return 0
	OPENAPI_ANSWERS=$FIX_DIR/openapi-answers.tsv
	shift 4
	# the request body is the argument of the last data option
	while [ $# -gt 0 ]; do
		case $1 in
		-d|--data|--data-binary|--data-raw) sent=$2; shift ;;
		esac
		shift
	done
	for fn in "${FUNCNAME[@]}"; do
		case $fn in t_*) case_fn=$fn; break ;; esac
	done
	{
		printf '%s\t%s\t%s\t%s\t' "$IT_N" "${case_fn:--}" "$method" "$target"
		base64 -w0 <"$hdrs"
		printf '\t'
		base64 -w0 <"$body"
		printf '\t'
		case $sent in
		@*) base64 -w0 <"${sent#@}" 2>/dev/null ;;
		*) printf '%s' "$sent" | base64 -w0 ;;
		esac
		printf '\n'
	} >>"$OPENAPI_ANSWERS"
}
