# The README's two commands:  make serve   (complete code with the shipped default model)
#                             make test    (every test)
# Both set up what they need on a fresh machine first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
MODEL  ?= model/pretrained/python
MODELS ?= models
MINUTES ?= 10
# What make serve serves: the shipped models, and the project models make learn writes in $(MODELS)/.
SERVED ?= model/pretrained:$(MODELS)

# Debian packages the tests drive: a real browser, real editors, and what code-server builds with.
SYSTEM_PACKAGES := chromium chromium-driver neovim curl ripgrep universal-ctags emacs-nox elpa-eglot build-essential openjdk-17-jre-headless \
                   libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-serve system-deps node-deps serve test sample learn clean-venv

# Two installs into one venv: serving's (server/requirements.txt: numpy, numba, h5py, flask,
# gunicorn... no TensorFlow, Spark or test tools), and the full set (requirements.txt) that
# training, sweeps and the tests need. Either installs the project itself (pyproject.toml),
# editable, so `python -m model...`, `server` and the tests import it from anywhere.
install: $(VENV)/.installed
install-serve: $(VENV)/.installed-serve

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-serve: server/requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r server/requirements.txt
	$(PY) -m pip install -qq --no-deps -e .
	touch $@

$(VENV)/.installed: requirements.txt server/requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install -qq --no-deps -e .
	touch $@

# Serve completions with the shipped default model (model/pretrained/) on 127.0.0.1:$(PORT), and
# with the project models make learn wrote in $(MODELS)/ (none at first) for the files under their
# projects; gunicorn prints the URL when the workers are ready, and the kill -HUP that serves a
# model learned meanwhile. Open the URL for the playground page. TABCOMPLETE_MODELS, when set,
# names the models dirs instead.
serve: install-serve
	@mkdir -p $(MODELS)
	TABCOMPLETE_MODELS="$${TABCOMPLETE_MODELS:-$(SERVED)}" $(VENV)/bin/gunicorn -c server/gunicorn.conf.py --bind 127.0.0.1:$(PORT)

# One completion on the command line, no server.
sample: install-serve
	$(PY) -m model.serving.completer --model $(MODEL) --prime 'import os\n\n\ndef list_python_files(root):\n    for name in os.listdir(root):\n        if name.endswith(".py"):\n            yield os.path.join(root, '

# Fine-tune the shipped model of the project's main language (or MODEL=...) on your project: make learn PROJECT=~/code/app [MINUTES=10]
# writes $(MODELS)/<project name>, which make serve serves beside the default model.
learn: install
	@test -n "$(PROJECT)" || { echo "usage: make learn PROJECT=path/to/your/project [MINUTES=10] [MODELS=models]"; exit 2; }
	$(PY) -m model.training.learn "$(PROJECT)" --out "$(MODELS)/$(notdir $(abspath $(PROJECT)))" $(if $(filter file,$(origin MODEL)),,--base "$(MODEL)") --max-minutes $(MINUTES)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# @vscode/vsce packages the extension; code-server + playwright-core run it in real VS Code.
node-deps: editor-plugin/vscode/node_modules/.installed editor-plugin/atom/node_modules/.installed \
           editor-plugin/e2e/node_modules/.installed

editor-plugin/vscode/node_modules/.installed: editor-plugin/vscode/package-lock.json
	cd editor-plugin/vscode && npm ci --no-audit --no-fund
	touch $@

# Pulsar's real TextBuffer (@pulsar-edit/text-buffer) for the Pulsar plug-in's tests. It builds
# native modules with node-gyp, which needs Node's headers (npm's nodedir, or a download from
# nodejs.org): where that fails, the Pulsar tests on the real buffer skip and say why.
editor-plugin/atom/node_modules/.installed: editor-plugin/atom/package-lock.json
	cd editor-plugin/atom && npm ci --no-audit --no-fund || \
	  echo "warning: npm ci in editor-plugin/atom failed: the Pulsar tests on the real TextBuffer will skip"
	@test -d editor-plugin/atom/node_modules/@pulsar-edit/text-buffer && touch $@ || true

editor-plugin/e2e/node_modules/.installed: editor-plugin/e2e/package.json editor-plugin/e2e/install.sh
	editor-plugin/e2e/install.sh
	touch $@

test: install system-deps node-deps
	node --test editor-plugin/
	$(PY) -m pytest tests -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
