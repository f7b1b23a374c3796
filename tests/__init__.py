"""datong's tests: unit/, integration/, faults/ and deploy/, and support/ for what they share."""

import pytest

# pytest rewrites the asserts of test modules and conftest.py files only: the helpers' asserts
# (a hub process's exit code, a converged view) explain their failures the same way.
pytest.register_assert_rewrite("tests.support")
