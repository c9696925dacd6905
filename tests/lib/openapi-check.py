#!/usr/bin/env python3
"""tests/lib/openapi-check.py: holds docs/openapi.yaml true against the
answers the integration suite received (tests/lib/openapi.sh records them).

  openapi-check.py DESCRIPTION ANSWERS validate
      Every answer must be one the description allows: its route and method
      (or x-unrouted for a request that matches no operation), its status,
      the response's required headers and the schemas of those present,
      its media type and body schema (a problem's `status` member equal to
      the HTTP status; no body where none is described).  The request body
      of a 2xx answer must match the operation's requestBody schema: what
      the server accepted, the description must allow.
  openapi-check.py DESCRIPTION ANSWERS coverage [--report-only]
      Prints every (route, method, status) the description lists with how
      many answers exercised it, and fails when one was never exercised
      unless its response carries `x-untested-reason` (printed); a response
      with that mark that was exercised after all fails too (the mark is
      stale).  Responses marked `x-coverage: any-route` are nginx's own,
      the same for every location: they count once, whichever route.

Python with Debian's python3-yaml and python3-jsonschema (scripts/deps).
"""
import json
import re
import sys
import warnings

import yaml

try:
    import jsonschema
except ImportError:
    sys.exit("openapi-check: python3-jsonschema is missing "
             "(scripts/deps installs it)")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNROUTED = "(no route)"


class Description:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.routes = [self._route(t, item)
                       for t, item in self.doc["paths"].items()]

    def deref(self, node):
        """(the object a $ref chain ends at, the last component name)."""
        name = None
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $refs are supported: {ref}")
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            name = ref.rsplit("/", 1)[1]
        return node, name

    def errors(self, instance, schema):
        """Schema violations of instance, as 'where: what' strings."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
            return ["$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]"
                                  for p in e.absolute_path) + ": " + e.message
                    for e in v.iter_errors(instance)]

    def _route(self, template, item):
        """(template, regex, {param: schema}, path item)."""
        params = {}
        for p in item.get("parameters", []) + [
                p for m in METHODS if m in item
                for p in item[m].get("parameters", [])]:
            p, _ = self.deref(p)
            if p["in"] == "path":
                params[p["name"]] = p["schema"]
        rx, pos = "^", 0
        for m in re.finditer(r"\{([^}]+)\}", template):
            rx += re.escape(template[pos:m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
            pos = m.end()
        rx += re.escape(template[pos:]) + "$"
        return template, re.compile(rx), params, item

    def _param_ok(self, value, schema):
        schema, _ = self.deref(schema)
        if schema.get("type") == "integer":
            # the canonical decimal only: "007" names no resource
            if not re.fullmatch(r"0|-?[1-9][0-9]*", value):
                return False
            value = int(value)
        return not self.errors(value, schema)

    def match(self, method, target):
        """(template, operation or None, responses) for a request."""
        path = target.split("?", 1)[0]
        for template, rx, params, item in self.routes:
            m = rx.match(path)
            if not m or not all(self._param_ok(v, params[k])
                                for k, v in m.groupdict().items()):
                continue
            op = item.get("get" if method == "head" else method)
            if op is not None:
                return template, op, op["responses"]
            break
        return UNROUTED, None, self.doc["x-unrouted"]["responses"]

    def unit(self, template, method, status, response):
        """The coverage unit of one listed response, and its label."""
        resolved, name = self.deref(response)
        if resolved.get("x-coverage") == "any-route":
            return ("any-route", name, status), \
                f"{status} {name} (nginx's, any route)"
        method = "*" if template == UNROUTED else method.upper()
        return (method, template, status), f"{method} {template} {status}"

    def units(self):
        """Every coverage unit: key -> [label, untested reason or None]."""
        out = {}
        listed = [(t, m, item[m]["responses"])
                  for t, _, _, item in self.routes for m in METHODS if m in item]
        listed.append((UNROUTED, "*", self.doc["x-unrouted"]["responses"]))
        for template, method, responses in listed:
            for status, response in responses.items():
                key, label = self.unit(template, method, status, response)
                resolved, _ = self.deref(response)
                reason = (response.get("x-untested-reason") or
                          resolved.get("x-untested-reason"))
                out.setdefault(key, [label, reason])
        return out


ESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}


def unescape(field):
    """Undoes tests/lib/openapi.sh's escaping of one field (bytes)."""
    return re.sub(rb"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)),
                  field)


class Answer:
    """One recorded line of tests/lib/openapi.sh (bytes)."""

    def __init__(self, line):
        f = line.rstrip(b"\n").split(b"\t")
        while len(f) < 7:
            f.append(b"")
        self.case, self.case_fn, method, self.target = (
            x.decode("utf-8", "replace") for x in f[:4])
        self.method = method.lower()
        raw = unescape(f[4]).decode("latin-1")
        self.body = unescape(f[5])
        self.sent = unescape(f[6]) if f[6] else None
        self.status, self.headers = None, {}
        # the last header block (after any 100 Continue)
        blocks = [b for b in re.split(r"\r?\n\r?\n", raw) if b.startswith("HTTP/")]
        if blocks:
            lines = blocks[-1].splitlines()
            self.status = lines[0].split()[1]
            for h in lines[1:]:
                name, _, value = h.partition(":")
                self.headers.setdefault(name.strip().lower(), value.strip())

    def where(self):
        return (f"case {self.case} ({self.case_fn}): "
                f"{self.method.upper()} {self.target[:100]} -> {self.status}")


def check_answer(d, a):
    """The ways answer a breaks the description (empty: it conforms)."""
    template, op, responses = d.match(a.method, a.target)
    route = f"{a.method.upper()} {template}"
    if a.status not in responses:
        return [f"{route} does not list status {a.status}"]
    response, _ = d.deref(responses[a.status])
    errs = []
    for name, header in (response.get("headers") or {}).items():
        header, _ = d.deref(header)
        value = a.headers.get(name.lower())
        if value is None:
            if header.get("required"):
                errs.append(f"header {name} missing")
        else:
            errs += [f"header {name}: {e}" for e in d.errors(value, header["schema"])]
    content = response.get("content")
    ctype = a.headers.get("content-type", "")
    media = ctype.split(";")[0].strip().lower()
    if not content:
        if a.body:
            errs.append(f"a body ({len(a.body)} bytes) where none is described")
    elif media not in content:
        errs.append(f"Content-Type {ctype or '(none)'} is not one of "
                    f"{', '.join(content)}")
    elif a.method != "head":
        schema = content[media].get("schema", {})
        if media == "application/json" or media.endswith("+json"):
            try:
                body = json.loads(a.body)
            except ValueError as e:
                return errs + [f"body is not JSON ({e}): {a.body[:80]!r}"]
            errs += d.errors(body, schema)
            if (media == "application/problem+json" and isinstance(body, dict)
                    and str(body.get("status")) != a.status):
                errs.append(f"problem status member {body.get('status')!r}")
        else:
            errs += d.errors(a.body.decode("utf-8", "replace"), schema)
    if op is not None and a.status.startswith("2") and a.sent is not None \
            and "requestBody" in op:
        rb, _ = d.deref(op["requestBody"])
        schema = rb["content"]["application/json"]["schema"]
        try:
            errs += [f"accepted request body: {e}"
                     for e in d.errors(json.loads(a.sent), schema)]
        except ValueError:
            errs.append("accepted a request body that is not JSON")
    return errs


def load_answers(path):
    with open(path, "rb") as f:
        return [Answer(line) for line in f if line.strip()]


def validate(d, answers):
    bad = 0
    heard = [a for a in answers if a.status]
    for a in heard:
        errs = check_answer(d, a)
        if errs:
            bad += 1
            if bad <= 40:
                print(f"{a.where()}\n    " + "\n    ".join(errs[:5]))
                if a.body:
                    print(f"    body: {a.body[:200]!r}")
    print(f"{len(heard)} answers checked against the description, {bad} "
          f"not allowed ({len(answers) - len(heard)} requests got no answer)")
    return bad == 0


def coverage(d, answers, report_only):
    units = d.units()
    counts = dict.fromkeys(units, 0)
    for a in answers:
        if not a.status:
            continue
        template, _, responses = d.match(a.method, a.target)
        if a.status in responses:
            key, _ = d.unit(template, a.method if a.method != "head" else "get",
                            a.status, responses[a.status])
            counts[key] = counts.get(key, 0) + 1
    missing = stale = 0
    print("coverage of docs/openapi.yaml (answers per route and status):")
    for key, (label, reason) in units.items():
        n = counts[key]
        if n and reason:
            stale += 1
            print(f"  STALE    {n:5d}  {label}: exercised, but marked "
                  "x-untested-reason")
        elif n:
            print(f"  ok       {n:5d}  {label}")
        elif reason:
            print(f"  untested        {label}: "
                  + " ".join(reason.split()))
        else:
            missing += 1
            print(f"  MISSING         {label}: no test exercised it")
    print(f"{len(units)} listed, {missing} never exercised, "
          f"{sum(1 for _, r in units.values() if r)} marked untested, "
          f"{stale} marked but exercised")
    if report_only:
        print("(a subset of the suite ran: coverage reported, not enforced)")
        return True
    return missing == 0 and stale == 0


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[2] not in ("validate", "coverage"):
        sys.exit(__doc__)
    d = Description(args[0])
    answers = load_answers(args[1])
    if not answers:
        print("no answers were recorded")
        return 1
    if args[2] == "validate":
        ok = validate(d, answers)
    else:
        ok = coverage(d, answers, "--report-only" in args[3:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
