"""tabcomplete as a language server, for every editor that speaks LSP (docs/editors.md).

    python -m server.lsp                                  # stdio; the models loaded in this process
    python -m server.lsp --url http://127.0.0.1:8000 --token T   # forward to a running server
    python -m server.lsp --tcp 127.0.0.1:2087

textDocument/inlineCompletion answers what a plug-in's Tab would insert; textDocument/completion
the completion and the ranked choices as a menu. Modules: server (pygls and its handlers),
documents (the open documents, synced incrementally), settings (initializationOptions and
didChangeConfiguration), backend (the completion: the models here, or a server's /complete),
items (an answer as LSP items).
"""
