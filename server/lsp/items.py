"""A /complete answer as LSP results: what the plug-ins would do with it, for editors that show
completions inline or only in a menu.

inlineCompletion: the completion, as a plug-in inserts it when the policy is sure (nothing when
it is not). completion: a menu, best first: the completion when there is one, then the ranked
choices (the plug-ins' menu), each with its probability as the detail (client.js menuItems) and
the model that answered as its label's description.
Menus filter their items by the word before the cursor, so each item carries that word too, in
its filter text and in an edit that replaces it: "sys.ex" with the choice "it(" offers "exit(",
which survives a filter on "ex" and goes in as "sys.exit(".
"""
import re

from lsprotocol import types

WORD_BEFORE = re.compile(r"\w*\Z")


def percent(probability):
    """A probability as the menus show it: whole percent, "<1%" below half a percent."""
    whole = int(probability * 100 + 0.5)
    return "<1%" if whole < 1 else f"{whole}%"


def word_before(line_prefix):
    """The identifier characters right before the cursor, which a menu filters by."""
    return WORD_BEFORE.search(line_prefix).group()


def inline_items(answer, position):
    """The completion as one inline item at the cursor; none for an empty completion."""
    if not answer["completion"]:
        return []
    return [types.InlineCompletionItem(insert_text=answer["completion"], range=types.Range(position, position))]


def menu_entries(answer):
    """(text, detail) best first: the completion (with its probability when it is also a
    choice), then the other choices."""
    choices = [(c["text"], percent(c["probability"])) for c in answer["choices"] if c["text"]]
    completion = answer["completion"]
    if not completion:
        return choices
    detail = next((d for text, d in choices if text == completion), "tabcomplete")
    return [(completion, detail)] + [(text, d) for text, d in choices if text != completion]


def menu(answer, word, start, position):
    """The CompletionList of an answer. word: the identifier characters before the cursor, which
    run from `start` to `position` (the cursor) and which each item replaces by word + its text."""
    items = []
    for rank, (text, detail) in enumerate(menu_entries(answer)):
        new_text = word + text
        items.append(types.CompletionItem(
            label=new_text.replace("\r\n", "\u23ce").replace("\n", "\u23ce"), detail=detail,
            label_details=types.CompletionItemLabelDetails(description=answer.get("model")),
            kind=types.CompletionItemKind.Text, sort_text=f"{rank:02d}", filter_text=new_text,
            insert_text=new_text, text_edit=types.TextEdit(types.Range(start, position), new_text),
            preselect=rank == 0))
    # Incomplete: the list is for this cursor; the next keystroke asks again rather than filtering it.
    return types.CompletionList(is_incomplete=True, items=items)
