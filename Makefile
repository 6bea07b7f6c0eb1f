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

# The reliability run (bench/reliability.py) judges RELIABILITY_N submissions per scenario and
# database, several minutes each at 1000; RELIABILITY_N=0 skips it.
RELIABILITY_N ?= 1000

# The tar reader against Go's archive/tar: TAR_CASES archives (CI's test runs 3,000).
TAR_CASES ?= 100000

bench: setup
	$(V)/python -m bench.run --write docs/benchmarks.md
	$(V)/python -m bench.cli_speed --write docs/benchmarks.md
	$(V)/python -m bench.tar_differential --cases $(TAR_CASES) --write docs/benchmarks.md
	$(V)/python -m bench.corpus_sizes --write docs/benchmarks.md
	$(V)/python -m bench.runtimes --write docs/benchmarks.md
	$(V)/python -m bench.scale --write docs/benchmarks.md
	$(V)/python -m bench.watch_scale --write docs/benchmarks.md
ifneq ($(RELIABILITY_N),0)
	$(V)/python -m bench.reliability --n $(RELIABILITY_N) --write docs/reliability.md
endif

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis
