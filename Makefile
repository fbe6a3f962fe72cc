# duban — two commands on a fresh machine:  make run   |   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DUBAN_DB ?= sqlite:///var/duban.db

.PHONY: run test install bench clean demo-reset

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: initialise the embedded database with the sample ledger, run a sweep, print the ledger.
run: $(STAMP)
	@mkdir -p var
	@if [ ! -f var/duban.db ]; then $(BIN)/duban init --sample; else echo "已有数据库 var/duban.db（make demo-reset 可重建）"; fi
	$(BIN)/duban sweep
	$(BIN)/duban outbox send
	$(BIN)/duban list
	@echo "通知邮件已写入 var/mail/（未配置 SMTP）。查看某个问题：$(BIN)/duban show WT-…；启动调度器：$(BIN)/duban scheduler"

demo-reset:
	rm -f var/duban.db var/duban.db-wal var/duban.db-shm

## make test: the whole suite (unit, integration, acceptance).
test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/transitions_bench.py
	$(BIN)/python bench/notices.py

clean:
	rm -rf $(VENV) var .pytest_cache
