"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in Tools/api-fuzz/run.

1. Works around a CPython 3.11 bug: `ast.parse` called deep in the stack can raise
   "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, fixed in
   later releases). Hypothesis calls `ast.parse` only to *describe* a lambda in a strategy's
   repr, which happens while it draws deeply nested JSON values for this API's free-form
   fields; the error then aborts that operation's test run. Describing such a lambda by its
   plain name instead changes no generated input and no check.

2. In the `browser` mode (QUIVER_FUZZ_MODE=browser) every request is made to look like one a web
   page in a browser on the same machine could send to a server without a token: a foreign
   `Origin`, a `Host` naming another site (DNS rebinding), a `text/plain` body (a "simple"
   cross-origin request, sent without a preflight), or several of these. The check
   `browser_requests_are_refused` then requires that none of them is answered 2xx, whatever the
   route and body: a browser is not a client unless the server is configured to take it.

3. In the `none` and `browser` modes the server has no token, so the document's bearer
   security ("required only when the server has a token") does not apply: it is taken out of
   the document as loaded, and requests without a token are expected to be served.
"""

import os
import random

import hypothesis.internal.lambda_sources as lambda_sources
import schemathesis

_describe = lambda_sources.lambda_description


def _describe_without_crashing(f):
    try:
        return _describe(f)
    except SystemError:
        return getattr(f, "__name__", "lambda")


lambda_sources.lambda_description = _describe_without_crashing

MODE = os.environ.get("QUIVER_FUZZ_MODE", "full")
SERVER = os.environ.get("QUIVER_URL", "http://127.0.0.1").split("//", 1)[-1]
FOREIGN_ORIGINS = ["http://evil.example", "null", "http://127.0.0.1.evil.example", "https://localhost.evil.example:7070",
                   f"http://{SERVER}.evil.example"]
FOREIGN_HOSTS = ["attacker.example", f"attacker.example:{SERVER.rsplit(':', 1)[-1]}", "127.0.0.1.nip.io",
                 "localhost.evil.example", "evil.example:80"]
_choices = random.Random(int(os.environ.get("QUIVER_FUZZ_SEED", "1")))


def _browser_headers():
    """Headers of one cross-origin or rebinding request: at least one foreign element."""
    headers = {}
    kinds = _choices.sample(["origin", "host", "text"], k=_choices.randint(1, 3))
    if "host" in kinds:
        host = _choices.choice(FOREIGN_HOSTS)
        headers["Host"] = host
        # After DNS rebinding the page is same-origin with the name it was served from.
        if _choices.random() < 0.5:
            headers["Origin"] = f"http://{host}"
    if "origin" in kinds:
        headers["Origin"] = _choices.choice(FOREIGN_ORIGINS)
    if "text" in kinds:
        headers["Content-Type"] = _choices.choice(["text/plain", "text/plain;charset=UTF-8",
                                                   "application/x-www-form-urlencoded", "multipart/form-data"])
        headers.setdefault("Origin", _choices.choice(FOREIGN_ORIGINS))
    return headers


if MODE in ("none", "browser"):
    @schemathesis.hook
    def before_load_schema(context, raw_schema):
        raw_schema.pop("security", None)
        for operations in raw_schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation.pop("security", None)


if MODE == "browser":
    # At the call rather than when a case is generated, so the document's examples and the
    # stateful phase's requests are sent as a browser would send them too.
    @schemathesis.hook
    def before_call(context, case, kwargs):
        # The transport sends the case's headers (and refuses a second `headers` argument).
        case.headers = {**(case.headers or {}), **_browser_headers()}


@schemathesis.check
def browser_requests_are_refused(ctx, response, case):
    """In the browser mode, no request is answered 2xx (GET /health aside, which says only
    that the server is up)."""
    if MODE != "browser" or (case.method.upper() in ("GET", "HEAD") and case.path == "/health"):
        return None
    if 200 <= response.status_code < 300:
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() in ("origin", "host", "content-type")}
        raise AssertionError(f"a browser-like request was answered {response.status_code}: {case.method} {case.path} with {sent}")
    return None
