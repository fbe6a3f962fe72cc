# duban — two commands on a fresh machine:  make run   |   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DUBAN_DB ?= sqlite:///var/duban.db

.PHONY: run test unit lint types suite install bench clean demo-reset

# uv installs the pinned packages in seconds where pip takes half a minute (the CI budget is five minutes).
# --compile-bytecode: where Python runs with PYTHONDONTWRITEBYTECODE=1 (this CI does), no process ever
# saves what it compiled, and each of the suite's processes would compile every library it imports again.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: initialise the embedded database with the sample ledger, sweep, print the ledger, then serve
## the web workspace (with the scheduler in-process) on http://127.0.0.1:8000 until Ctrl-C.
run: $(STAMP)
	@mkdir -p var
	@if [ ! -f var/duban.db ]; then $(BIN)/duban init --sample; else echo "已有数据库 var/duban.db（make demo-reset 可重建）"; fi
	$(BIN)/duban sweep
	$(BIN)/duban --as admin list
	@echo "示例账号（演示密码 duban-demo-2024）：admin 管理员、zhang.dcs 督查室、wang.fxz 县级领导、zhao.zrzy 自然资源局分管领导、sun.zrzy 自然资源局工作人员"
	@echo "通知邮件写入 var/mail/（未配置 SMTP 时）。"
	$(BIN)/duban serve --host 127.0.0.1 --port 8000

demo-reset:
	rm -f var/duban.db var/duban.db-wal var/duban.db-shm

## make test: lint, types, then the whole suite in parallel (tiers and the inner loop: README "Tests").
# Workers: on the 2-core VM the suite is bound by CPU (the tests' own processes and PostgreSQL included), and
# two workers finish first — measured on one checkout, one after the other: 262 s with two, 294 s with three,
# 313 s with four. --dist worksteal keeps them busy to the end (module fixtures are built at most once per
# worker). TEST_WORKERS=0 runs serially; PYTEST_ARGS passes more (e.g. PYTEST_ARGS='-m "not load"').
TEST_WORKERS ?= 2
PYTEST_ARGS  ?=
test: lint types suite

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The cache lives outside the checkout, so that a fresh clone (CI) checks only what changed: mypy compares
# each file's hash with the cached one, so a stale entry is never trusted.
MYPY_CACHE_DIR ?= $(HOME)/.cache/duban-mypy
types: $(STAMP)
	$(BIN)/mypy --cache-dir $(MYPY_CACHE_DIR) workflow models service

# The project's own modules compiled first, for the same reason (compileall writes whatever that variable
# says): two workers and hundreds of CLI, server and scheduler subprocesses import them. 308 → 256 s measured
# for the suite with both compiled, on a clone whose processes could not save bytecode.
SOURCES := workflow models service web notifications reports commands migrations tests bench cli.py
suite: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 $(SOURCES) > /dev/null
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## make unit: the inner loop — pure logic only, no database, network or subprocess; a few seconds.
# tests/unit only, so that pytest does not import the web and browser test modules just to deselect them
# (four times the CPU); `pytest -m unit` finds unit tests anywhere.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -m unit tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/transitions_bench.py
	$(BIN)/python bench/notices.py

clean:
	rm -rf $(VENV) var .pytest_cache
