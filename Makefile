# Two commands for a fresh machine (both install first; the install is skipped when done):
#   make demo   - install, then run the main job: the CPU distillation demo (tools/demo.py)
#   make test   - install, then run the test suite
# DEMO_ARGS passes options to the demo, e.g. make demo DEMO_ARGS=--quick
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_ARGS ?=

.PHONY: install demo test

install:
	VENV=$(VENV) bash scripts/install.sh

demo: install
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

test: install
	$(PYTHON) -m pytest tests -q -p no:cacheprovider
