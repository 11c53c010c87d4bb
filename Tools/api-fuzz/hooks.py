"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in Tools/api-fuzz/run.

Works around a CPython 3.11 bug: `ast.parse` called deep in the stack can raise
"SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, fixed in
later releases). Hypothesis calls `ast.parse` only to *describe* a lambda in a strategy's
repr, which happens while it draws deeply nested JSON values for this API's free-form
fields; the error then aborts that operation's test run. Describing such a lambda by its
plain name instead changes no generated input and no check.
"""

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources.lambda_description


def _describe_without_crashing(f):
    try:
        return _describe(f)
    except SystemError:
        return getattr(f, "__name__", "lambda")


lambda_sources.lambda_description = _describe_without_crashing
