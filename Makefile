# Convenience targets; the README's two commands are scripts/demo.sh and scripts/test.sh.
V := .venv/bin

.PHONY: setup demo test lint bench clean

setup:
	scripts/setup.sh

demo: setup
	$(V)/imagegolf demo

test:
	scripts/test.sh

lint: setup
	$(V)/ruff check src tests bench
	$(V)/mypy src
	$(V)/lint-imports

bench: setup
	$(V)/python -m bench.run --write docs/benchmarks.md

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis
