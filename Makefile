# The README's two commands:  make serve   (complete code with the shipped default model)
#                             make test    (every test)
# Both set up what they need on a fresh machine first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
MODEL  ?= model/pretrained/python

.PHONY: install serve test sample clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Until the server lands, the main job completes a line of code with the default model.
serve: install
	$(PY) -m model.sample --model $(MODEL) --prime 'import os\n\n\ndef list_python_files(root):\n    for name in os.listdir(root):\n        if name.endswith(".py"):\n            yield os.path.join(root, '

sample: serve

test: install
	$(PY) -m pytest tests -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
