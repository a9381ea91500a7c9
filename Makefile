# The two commands a fresh machine needs are `make demo` and `make test`; both are idempotent.
.PHONY: setup demo test lint format bench

setup:
	scripts/setup.sh

demo: setup
	.venv/bin/coproduce demo

test: setup
	scripts/test.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
