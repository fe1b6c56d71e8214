# The README's quick start. Each target installs what it needs into .venv first.
# GPU users: install your own torch build into .venv first (or pass TORCH='torch==<version>'); the default is the
# CPU wheel that this project is tested with.
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install reproduce test paper wheelhouse install-offline mutants

# pip compiles every installed module to bytecode one file at a time (half of the install's 2 minutes here); one
# compileall over the environment on every core does the same work in parallel. A file that does not compile stays
# without bytecode, as pip leaves it.
COMPILE := $(BIN)/python -c "import compileall, sysconfig; \
	compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=2, workers=0)"
$(BIN)/xcrl: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q --no-compile "$(TORCH)"
	$(BIN)/pip install -q --no-compile -e '.[test]'
	$(COMPILE)
	touch $@

install: $(BIN)/xcrl

# An install with no network: `make wheelhouse` where there is one (WHEEL_PYTHON, WHEEL_PLATFORMS, WHEEL_TORCH name
# another machine: scripts/wheelhouse.sh), then `make install-offline` on the machine, from the copied folder.
WHEELHOUSE ?= wheelhouse
wheelhouse: install
	WHEELHOUSE=$(WHEELHOUSE) WHEEL_TORCH=$${WHEEL_TORCH-$(TORCH)} scripts/wheelhouse.sh

install-offline:
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/pip install -q --no-compile --no-index --find-links $(WHEELHOUSE) "$(TORCH)"
	$(BIN)/pip install -q --no-compile --no-index --find-links $(WHEELHOUSE) -r $(WHEELHOUSE)/requirements.txt
	$(BIN)/pip install -q --no-compile --no-index --find-links $(WHEELHOUSE) --no-deps -e .
	$(COMPILE)
	touch $(BIN)/xcrl

reproduce: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	@echo "Tables 2-4 and Figure 3: data/report/report.md (table2.md, table3.md, table4.md, figure3.png)"

# The suite in TEST_WORKERS processes (pytest-xdist), a whole test file to each at a time, as the end-to-end files
# share one reproduced project between their tests: most tests keep one core busy, so 2 use a 2-core machine whole.
TEST_WORKERS ?= 2
test: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Mutation testing of the maths core (docs/reliability.md, "Mutation testing"; not part of `make test`). Always from
# scratch: mutmut's cache keeps a mutant's verdict when only the tests change, so a survivor a new test kills, or a
# kill a weakened test no longer makes, would go unseen.
mutants: install
	rm -rf mutants
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/mutmut run --max-children $${MUTANT_JOBS:-2}
	$(BIN)/python scripts/mutants_score.py

paper: install
	export PATH="$(abspath $(BIN)):$$PATH"; eval "dvc exp run -n paper $$(xcrl preset paper)"
