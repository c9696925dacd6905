# tests/lib/openapi.sh: records every answer the fixture's `http` helper
# receives, so tests/it/99-openapi.sh can check each one against
# docs/openapi.yaml (tests/lib/openapi-check.py) and list which routes and
# statuses the suite exercised.  Sourced by tests/lib/fixture.sh.
#
# One line per answer in $FIX_DIR/openapi-answers.tsv, tab-separated:
#   case number, case function, method, request target, the response
#   header block(s), the response body, the request body (empty when none
#   was sent); in the last three \ tab LF and CR are written \\ \t \n \r.
# Bash builtins only (no fork per answer: the suite makes hundreds).  A NUL
# byte cannot live in a shell variable and is dropped, which matters only
# for a request body with one: the bad-input tables send such bodies, and
# the server refuses them, and only accepted bodies are checked.
# Cases run in subshells, so a file (not a variable) collects the lines;
# no case calls `http` from two processes at once.

# openapi_escape TEXT: TEXT with \ tab LF CR escaped, in OPENAPI_ESC.
openapi_escape() {
	local v=$1
	v=${v//\\/\\\\}
	v=${v//$'\t'/\\t}
	v=${v//$'\n'/\\n}
	OPENAPI_ESC=${v//$'\r'/\\r}
}

# openapi_file FILE: the file's bytes, escaped, in OPENAPI_ESC.
openapi_file() {
	local v=""
	IFS= read -r -d '' v <"$1" 2>/dev/null
	openapi_escape "$v"
}

# openapi_record METHOD TARGET BODY_FILE HEADER_FILE [curl args...]
openapi_record() {
	local method=$1 target=$2 body=$3 hdrs=$4 sent="" fn case_fn="" h b
	[ -n "$FIX_DIR" ] && [ -d "$FIX_DIR" ] || return 0
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
	openapi_file "$hdrs"; h=$OPENAPI_ESC
	openapi_file "$body"; b=$OPENAPI_ESC
	case $sent in
	@*) openapi_file "${sent#@}" ;;
	*) openapi_escape "$sent" ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$IT_N" "${case_fn:--}" "$method" \
	    "$target" "$h" "$b" "$OPENAPI_ESC" >>"$FIX_DIR/openapi-answers.tsv"
}
