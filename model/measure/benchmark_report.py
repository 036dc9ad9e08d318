"""The unseen-code benchmark's report: a markdown table of each model through the server's
defaults beside the baselines, and a plot of precision against keystroke savings."""
from model.serving.policy import PRECISION_TARGET


def table(results):
    """A markdown table: each model through the server's defaults, its old gate, the baselines."""
    def f(x, digits=3):
        return "" if x is None else f"{x:.{digits}f}"

    def change(c, figure):  # from versus_first(): only a later model's two server-default columns have one
        d = c.get("versus_first", {}).get(figure)
        return "" if d is None else f"{d[0]:+.3f} ({d[1]:+.3f} to {d[2]:+.3f})"

    cols = []
    for r in results:
        versus = r.get("versus_first", {})
        cols.append((f"{r['name']} (server defaults)", {**r["server_defaults"], "versus_first": versus.get(
            "server_defaults", {})}, r))
        cols.append((f"{r['name']} (server defaults, with files)", {**r["with_files"], "versus_first": versus.get(
            "with_files", {})}, None))
        cols.append((f"{r['name']} (gate {r['old_gate']['min_prob']})", r["old_gate"], None))
    base = results[0].get("baselines")
    rows = [("identifier exact (top 1)", lambda c, r: f(c["ident_exact"])),
            ("line precision", lambda c, r: f(c["line_precision"])),
            ("line answered", lambda c, r: f(c["answered"], 2)),
            ("keystroke savings", lambda c, r: f(c["keystroke_savings"])),
            ("savings of the best possible cut", lambda c, r: f(c.get("cut_ceiling_savings"))),
            ("p50 / p95 ms", lambda c, r: f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f}"),
            ("bits/char: network / Completer", lambda c, r: f"{r['network']['bpc']:.3f} / {r['completer']['bpc']:.3f}"
             if r else ""),
            ("next-char accuracy: network", lambda c, r: f(r["network"]["accuracy"]) if r else "")]
    if len(results) > 1:  # the later models against the first, on the same positions
        rows[5:5] = [(f"savings - {results[0]['name']}'s (95% paired interval)",
                      lambda c, r: change(c, "keystroke_savings")),
                     (f"line precision - {results[0]['name']}'s", lambda c, r: change(c, "line_precision"))]
    tool = (base or {}).get("tool")
    head = ["", *[c[0] for c in cols]] + (["buffer words", tool["name"] if tool else "(no language tool)", "xz"]
                                          if base else [])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, get in rows:
        cells = [get(c, r) for _, c, r in cols]
        if base:
            bw = base["buffer_words"]
            extra = {"identifier exact (top 1)": (f(bw["ident_exact"]), f(tool["ident_exact"]) if tool else "", ""),
                     "line precision": (f(bw["line_precision"]), "", ""),
                     "line answered": (f(bw["answered"], 2), "", ""),
                     "keystroke savings": (f(bw["keystroke_savings"]), "", ""),
                     "bits/char: network / Completer": ("", "", f(base["xz_bpc"]))}.get(label, ("", "", ""))
            cells += list(extra)
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines) + "\n"


def tabs_table(results):
    """A markdown table of what a Tab gives the user with choices, per model: as the server is asked
    without files (results' "tabs") and with the package's other files ("tabs_with_files")."""
    def f(x):
        return "" if x is None else f"{x:.3f}"

    rows = [("useful Tabs: inserted right or a right choice in the top 3", "useful"),
            ("inserted and right", "inserted_right"), ("inserted and wrong", "inserted_wrong"),
            ("a right choice in the top 3", "choice_right"), ("choices, none right", "choices_wrong"),
            ("nothing offered", "nothing"), ("precision of what is inserted", "inserted_precision"),
            ("keystrokes saved, with menu picks", "savings_with_picks")]
    runs = (("tabs", ""), ("tabs_with_files", ", with files"))
    cols = [(f"{r['name']}{label}: {kind} positions", r[run][kind])
            for r in results for run, label in runs if run in r for kind in ("line", "ident")]
    words = (results[0].get("baselines") or {}).get("buffer_words_menu") if results else None
    if words:  # the baseline: an editor's word list shows a menu inside a name, and inserts nothing
        cols.append(("editor's word list as a menu: ident positions", words["ident"]))
    lines = ["| " + " | ".join([""] + [name for name, _ in cols]) + " |", "|" + " --- |" * (len(cols) + 1)]
    for label, key in rows:
        lines.append("| " + " | ".join([label] + [f(tabs.get(key)) for _, tabs in cols]) + " |")
    for r in results:  # over both kinds of position, and against the first model on the same ones
        for run, label in runs:
            if run not in r:
                continue
            d = r.get("versus_first", {}).get(run, {}).get("keystroke_savings")
            versus = "" if d is None else f" ({d[0]:+.3f}, {d[1]:+.3f} to {d[2]:+.3f} against {results[0]['name']})"
            lines.append(f"\n{r['name']}{label}: keystrokes saved with menu picks {r[run]['savings_with_picks']:.3f}"
                         f"{versus}")
    return "\n".join(lines) + "\n" if cols else ""


def frontier(rows):
    """The rows no other row beats on both savings and line precision, by savings."""
    rows = [r for r in rows if r["line_precision"] is not None]
    best = [r for r in rows if not any(o["keystroke_savings"] > r["keystroke_savings"]
                                       and o["line_precision"] > r["line_precision"] for o in rows)]
    return sorted(best, key=lambda r: r["keystroke_savings"])


def plot(results, path):
    """Line precision against keystroke savings: the per-character gate's sweep, the policy's
    best trade-offs (its sweep's frontier; with the package's other files too), and where the
    server's defaults and the old gate land."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    for r in results:
        g = [row for row in r["gate_sweep"] if row["line_precision"] is not None]
        ax.plot([x["keystroke_savings"] for x in g], [x["line_precision"] for x in g], "o--", alpha=0.7,
                label=f"{r['name']}: per-character gate (min_prob {g[0]['min_prob']}..{g[-1]['min_prob']})")
        for key, style, what in (("policy_sweep", "s-", "policy"), ("files_policy_sweep", "^:", "policy, with files")):
            p = frontier(r[key])
            ax.plot([x["keystroke_savings"] for x in p], [x["line_precision"] for x in p], style, alpha=0.8,
                    label=f"{r['name']}: {what} (best of {len(r[key])} floor settings)")
        d, o = r["server_defaults"], r["old_gate"]
        if d["line_precision"] is not None:  # None: no line answered at all
            ax.plot([d["keystroke_savings"]], [d["line_precision"]], "k*", markersize=14)
            ax.annotate(f"{r['name']}: server default", (d["keystroke_savings"], d["line_precision"]),
                        textcoords="offset points", xytext=(6, -12), fontsize=8)
        if o["line_precision"] is not None:
            ax.plot([o["keystroke_savings"]], [o["line_precision"]], "rx", markersize=10)
    ax.axhline(PRECISION_TARGET, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("keystroke savings (identifier and line positions)")
    ax.set_ylabel("line precision (answers that are right)")
    ax.set_title("Unseen code: precision against savings (x: old gate 0.75)")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
